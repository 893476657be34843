"""Multi-group comparison of a PLS path model between two segments, with MICOM.

:func:`compare_groups` fits the model in two groups of respondents (e.g. two branches)
and tests every path difference by a permutation test and by Henseler's PLS-MGA, and
checks measurement invariance of the composites (MICOM steps 2 and 3) first, since a
path difference means little if the latents are not measured alike. Permutations are
fitted together as stacks of covariance matrices, like the bootstrap of
:func:`scoring.pls.fit_pls`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from scoring._results import Result, parameters_of
from scoring._validation import check_columns, check_frame
from scoring.errors import InsufficientDataError, SpecificationError
from scoring.pls import (
    Mode,
    PlsMissing,
    Scheme,
    _build_spec,
    _min_rows,
    _outer_weights,
    _prepare,
    _resample_cov,
    _Spec,
    _statistics,
    fit_pls,
)

Array = NDArray[Any]

__all__ = ["MgaResult", "compare_groups"]

_CHUNK = 200  # permutations fitted per stack


@dataclass(frozen=True, slots=True, kw_only=True)
class MgaResult(Result):
    """Result of :func:`compare_groups`.

    Attributes
    ----------
    groups : list of str
        The two groups compared, ``[a, b]``; differences are ``a − b``.
    n : dict of str to int
        Rows used per group.
    paths : DataFrame
        One row per path ``"FROM -> TO"``: ``estimate_a``, ``estimate_b``,
        ``difference``, ``p_permutation`` (two-sided permutation test), ``p_mga``
        (Henseler's PLS-MGA, one-sided for H1: path_a > path_b, as seminr reports it)
        and ``p_mga_two_sided`` (``2·min(p, 1 − p)``).
    compositional_invariance : DataFrame
        MICOM step 2 per latent: ``c`` (correlation of the composite built with group
        a's weights and with group b's, on the pooled standardized items),
        ``quantile_5`` (5 % quantile of ``c`` under permutation), ``p_value`` (share of
        permutations with ``c`` at or below the observed) and ``invariant``
        (``c ≥ quantile_5``).
    means_variances : DataFrame
        MICOM step 3 per latent, on the composite scores of the pooled fit:
        ``mean_difference`` (a − b, in pooled SD units), its permutation interval
        ``mean_lower``/``mean_upper`` (2.5 %, 97.5 %) and ``mean_p``;
        ``log_variance_ratio`` (ln var_a − ln var_b), ``variance_lower``/
        ``variance_upper`` and ``variance_p``; ``equal`` (both inside their intervals:
        full invariance, so the groups' data may be pooled).
    permutations, bootstrap : int
        Permutations and bootstrap resamples per group used.
    seed : int or None
    """

    groups: list[str]
    n: dict[str, int]
    paths: pd.DataFrame
    compositional_invariance: pd.DataFrame
    means_variances: pd.DataFrame
    permutations: int
    bootstrap: int
    seed: int | None

    def summary(self) -> pd.DataFrame:
        """The path comparison table."""
        return self.paths.reset_index()

    @property
    def n_used(self) -> int:
        """Rows used in both groups."""
        return sum(self.n.values())

    @property
    def parameters(self) -> dict[str, Any]:
        """``groups``, ``permutations``, ``bootstrap``, ``seed``."""
        return parameters_of(self, ("groups", "permutations", "bootstrap", "seed"))


def _henseler_p(a: Array, b: Array) -> float:
    """PLS-MGA p-value: 1 − share of pairs with bias-corrected a above b (Henseler 2009)."""
    left = 2 * a.mean() - a - 2 * b.mean()
    return float(1 - ((left[:, None] + b[None, :]) > 0).mean())


def _group_fits(
    Xc: Array, member: Array, spec: _Spec, scaled: bool, tol: float, max_iter: int
) -> tuple[Array, Array, Array]:
    """Paths (P, edges) and standardized-scale weights (P, p, L) of the rows in ``member``."""
    n = Xc.shape[0]
    counts = member * (n / member.sum(axis=1, keepdims=True))
    S, _, sd = _resample_cov(Xc, counts, scaled)
    W, _, _ = _outer_weights(S, spec, tol, max_iter)
    st = _statistics(S, W, spec)
    Wstd = st.W if scaled else st.W * sd[:, :, None]  # weights per standardized item
    paths = np.stack([st.path[:, b, a] for a, b in spec.edges], axis=1)
    return paths, Wstd, st.admissible


def _composite_cor(R: Array, Wa: Array, Wb: Array, spec: _Spec) -> Array:
    """cor(Z w_a, Z w_b) per block on pooled standardized items ``Z`` (cor matrix ``R``)."""
    out = np.empty((Wa.shape[0], len(spec.latents)))
    for j, sl in enumerate(spec.slices):
        a, b = Wa[:, sl, j], Wb[:, sl, j]
        Rb = R[sl, sl]
        num = np.einsum("pi,ij,pj->p", a, Rb, b)
        den = np.sqrt(np.einsum("pi,ij,pj->p", a, Rb, a) * np.einsum("pi,ij,pj->p", b, Rb, b))
        out[:, j] = num / den
    return out


def _mean_var(scores: Array, member: Array) -> tuple[Array, Array]:
    """Mean difference and log-variance ratio (a − b) of the scores, per labelling."""
    na = member.sum(axis=1, keepdims=True)
    nb = member.shape[1] - na
    ma = member @ scores / na
    mb = (~member) @ scores / nb
    va = member @ scores**2 / na - ma**2
    vb = (~member) @ scores**2 / nb - mb**2
    return ma - mb, np.log(va) - np.log(vb)


def compare_groups(
    data: pd.DataFrame,
    *,
    group: str,
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[Sequence[str]],
    groups: Sequence[Any] | None = None,
    modes: Mapping[str, Mode] | Mode | None = None,
    scheme: Scheme = "centroid",
    scaled: bool = True,
    missing: PlsMissing = "listwise",
    permutations: int = 1000,
    bootstrap: int = 1000,
    seed: int | None = None,
    tol: float = 1e-6,
    max_iter: int = 100,
) -> MgaResult:
    """Compare the paths of a PLS path model between two groups; MICOM steps 2 and 3.

    Parameters
    ----------
    data : DataFrame
        One row per response, with the items of ``blocks`` and the ``group`` column.
    group : str
        Column whose values define the groups (e.g. a branch or segment).
    blocks, paths, modes, scheme, scaled, missing, tol, max_iter
        The model, as for :func:`scoring.pls.fit_pls`.
    groups : pair of values, optional
        The two values of ``group`` to compare (``a``, ``b``); required when the column
        has more than two values.
    permutations : int
        Random relabellings for the permutation test and MICOM (≥ 20).
    bootstrap : int
        Bootstrap resamples per group for PLS-MGA (≥ 20).
    seed : int or None
        Group a is bootstrapped with ``seed``, group b with ``seed + 1`` (each as
        :func:`scoring.pls.fit_pls` draws resamples), the permutations with
        ``seed + 2``.

    Returns
    -------
    MgaResult

    Raises
    ------
    SpecificationError
        ``group`` with other than two values and no ``groups``, unknown values, too
        few permutations or resamples.
    InsufficientDataError
        A group with fewer rows than the model needs.

    Notes
    -----
    *Permutation test* (Chin & Dibbern 2010): the observed difference ``β_a − β_b`` is
    compared with its distribution when the group labels are shuffled (group sizes
    kept); ``p = share of |Δ_perm| ≥ |Δ_obs|``. *PLS-MGA* (Henseler, Ringle &
    Sinkovics 2009): with bootstrap estimates ``β_a,j`` and ``β_b,k`` and means
    ``μ``, ``p = 1 − J⁻² Σ_j Σ_k Θ(2μ_a − β_a,j − 2μ_b + β_b,k)`` (Θ the unit step),
    the probability that ``β_a ≤ β_b``. *MICOM* (Henseler, Ringle & Sarstedt 2016):
    step 1 (configural invariance) holds by construction (same model, items and
    settings); step 2 compares the composites built with each group's weights
    (``c = cor(Z w_a, Z w_b)`` on the pooled standardized items) with the 5 %
    quantile of ``c`` under permutation; step 3 compares the groups' mean and log
    variance of the pooled fit's composite scores with their permutation intervals.
    Permuted fits that yield a singular system are not possible for these models
    (the same checks as the full fits apply).

    References
    ----------
    .. [1] Chin, W. W., & Dibbern, J. (2010). An introduction to a permutation based
       procedure for multi-group PLS analysis. In *Handbook of Partial Least Squares*
       (pp. 171-193). Springer.
    .. [2] Henseler, J., Ringle, C. M., & Sinkovics, R. R. (2009). The use of partial
       least squares path modeling in international marketing. *Advances in
       International Marketing*, 20, 277-319.
    .. [3] Henseler, J., Ringle, C. M., & Sarstedt, M. (2016). Testing measurement
       invariance of composites using partial least squares. *International
       Marketing Review*, 33(3), 405-431.
    """
    frame = check_frame(data)
    check_columns(frame, [group])
    for name, value in (("permutations", permutations), ("bootstrap", bootstrap)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 20:
            msg = f"{name} must be an integer of at least 20; got {value!r}."
            raise SpecificationError(msg)
    present = list(pd.unique(frame[group].dropna()))
    if groups is None:
        if len(present) != 2:
            msg = (
                f"column {group!r} has {len(present)} value(s) {present[:10]}; name the two "
                "to compare with groups=(a, b)."
            )
            raise SpecificationError(msg)
        pair = present
    else:
        pair = list(groups)
        missing_values = [g for g in pair if g not in present]
        if len(pair) != 2 or pair[0] == pair[1] or missing_values:
            msg = (
                f"groups must name two different values of column {group!r}; got {groups!r} "
                f"(values present: {present[:10]})."
            )
            raise SpecificationError(msg)
    spec = _build_spec(blocks, paths, modes, scheme)
    sub = frame[frame[group].isin(pair)]
    raw, A, mean, sd, S_raw = _prepare(sub, spec, missing)
    labels = sub.loc[raw.index, group].to_numpy()
    is_a = labels == pair[0]
    fit_kw: dict[str, Any] = {
        "blocks": blocks,
        "paths": paths,
        "modes": modes,
        "scheme": scheme,
        "scaled": scaled,
        "missing": missing,
        "tol": tol,
        "max_iter": max_iter,
    }
    fits = []
    for k, mask in enumerate((is_a, ~is_a)):
        part = raw[mask]
        if len(part) < _min_rows(spec):
            msg = (
                f"group {pair[k]!r} of column {group!r} has {len(part)} usable row(s); the "
                f"model needs at least {_min_rows(spec)} in each group."
            )
            raise InsufficientDataError(msg)
        s = None if seed is None else seed + k
        fits.append(fit_pls(part, bootstrap=bootstrap, seed=s, **fit_kw))
    pooled = fit_pls(raw, **fit_kw)

    Xc = A - mean
    R = S_raw / np.outer(sd, sd)
    obs_member = is_a[None, :]
    obs_paths, obs_W, _ = _group_fits(Xc, np.vstack([is_a, ~is_a]), spec, scaled, tol, max_iter)
    diff_obs = obs_paths[0] - obs_paths[1]
    c_obs = _composite_cor(R, obs_W[:1], obs_W[1:], spec)[0]
    Z = Xc / sd
    Wp = pooled.outer_model["weight"].to_numpy()
    if not scaled:
        Wp = Wp * sd
    scores = np.column_stack([Z[:, sl] @ Wp[sl] for sl in spec.slices])
    md_obs, lv_obs = (v[0] for v in _mean_var(scores, obs_member))

    rng = np.random.default_rng(None if seed is None else seed + 2)
    diffs, cs, mds, lvs = [], [], [], []
    for start in range(0, permutations, _CHUNK):
        size = min(_CHUNK, permutations - start)
        member = np.array([rng.permutation(is_a) for _ in range(size)])
        pa, Wa, _ = _group_fits(Xc, member, spec, scaled, tol, max_iter)
        pb, Wb, _ = _group_fits(Xc, ~member, spec, scaled, tol, max_iter)
        diffs.append(pa - pb)
        cs.append(_composite_cor(R, Wa, Wb, spec))
        md, lv = _mean_var(scores, member)
        mds.append(md)
        lvs.append(lv)
    D, C, M, V = (np.concatenate(x) for x in (diffs, cs, mds, lvs))

    edge_labels = spec.edge_labels()
    boot = [f.bootstrap.replicates["paths"] for f in fits if f.bootstrap is not None]
    p_mga = np.array(
        [_henseler_p(boot[0][e].to_numpy(), boot[1][e].to_numpy()) for e in edge_labels]
    )
    est = [f.paths.loc[edge_labels, "estimate"].to_numpy() for f in fits]
    path_tab = pd.DataFrame(
        {
            "estimate_a": est[0],
            "estimate_b": est[1],
            "difference": est[0] - est[1],
            "p_permutation": (np.abs(D) >= np.abs(diff_obs) - 1e-12).mean(axis=0),
            "p_mga": p_mga,
            "p_mga_two_sided": 2 * np.minimum(p_mga, 1 - p_mga),
        },
        index=pd.Index(edge_labels, name="name"),
    )
    lat = pd.Index(list(spec.latents), name="latent")
    q5 = np.quantile(C, 0.05, axis=0)
    comp = pd.DataFrame(
        {
            "c": c_obs,
            "quantile_5": q5,
            "p_value": (C <= c_obs + 1e-12).mean(axis=0),
            "invariant": c_obs >= q5,
        },
        index=lat,
    )
    m_lo, m_hi = np.quantile(M, [0.025, 0.975], axis=0)
    v_lo, v_hi = np.quantile(V, [0.025, 0.975], axis=0)
    mv = pd.DataFrame(
        {
            "mean_difference": md_obs,
            "mean_lower": m_lo,
            "mean_upper": m_hi,
            "mean_p": (np.abs(M) >= np.abs(md_obs) - 1e-12).mean(axis=0),
            "log_variance_ratio": lv_obs,
            "variance_lower": v_lo,
            "variance_upper": v_hi,
            "variance_p": (np.abs(V) >= np.abs(lv_obs) - 1e-12).mean(axis=0),
        },
        index=lat,
    )
    mv["equal"] = (
        (mv["mean_difference"].between(m_lo, m_hi)) & (mv["log_variance_ratio"].between(v_lo, v_hi))
    ).to_numpy()
    names = [str(g) for g in pair]
    return MgaResult(
        groups=names,
        n={names[0]: int(is_a.sum()), names[1]: int((~is_a).sum())},
        paths=path_tab,
        compositional_invariance=comp,
        means_variances=mv,
        permutations=permutations,
        bootstrap=bootstrap,
        seed=seed,
    )
