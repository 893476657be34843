"""Partial least squares path modelling (PLS-PM) as in R's plspm.

The engine follows Lohmöller's (1989) formulation of Wold's algorithm exactly as the R
package plspm (Sanchez, Trinchera & Russolillo) implements it, so that the numbers agree
with plspm to machine precision. Every step of the iteration is written in terms of the
item covariance matrix ``S = X'X / n`` (``X`` centred, optionally scaled), which is
algebraically identical to plspm's data-matrix version but needs one pass over the data:
a 1,000,000-row model costs one matrix product, and a bootstrap is a stack of covariance
matrices solved together. ``consistent=True`` adds Dijkstra and Henseler's (2015)
consistent PLS (PLSc), which corrects the path coefficients of reflective (mode A) blocks
for measurement error.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from scoring import pls_assess as pa
from scoring import pls_predict as pp
from scoring._results import Result
from scoring._validation import (
    apply_missing_rule,
    check_choice,
    check_frame,
    check_mapping,
    check_min_rows,
    check_numeric,
    not_applicable_mask,
)
from scoring.errors import ConvergenceWarning, DataError, SingularMatrixError, SpecificationError
from scoring.pls_predict import PlsPrediction

__all__ = ["HeywoodCaseError", "PlsBootstrap", "PlsResult", "fit_pls"]

Mode = Literal["A", "B"]
Scheme = Literal["centroid", "factorial", "path"]
Interval = Literal["percentile", "bca"]
PlsMissing = Literal["listwise", "item_mean"]

Array = NDArray[Any]

SCHEMES: tuple[str, ...] = ("centroid", "factorial", "path")
MODES: tuple[str, ...] = ("A", "B")
INTERVALS: tuple[str, ...] = ("percentile", "bca")
# Rows of the bootstrap count matrix processed at once (memory: chunk * n * 8 bytes).
_CHUNK_CELLS = 4_000_000
# Slack for rounding when PLSc checks reliabilities and loadings against 1 and the
# corrected latent correlation matrix for positive semi-definiteness.
_HEYWOOD_SLACK = 1e-10
# HTMT thresholds of the one-sided bootstrap test (Henseler, Ringle & Sarstedt 2015).
HTMT_THRESHOLDS = (0.85, 0.90)
INADMISSIBLE = ("refuse", "flag")


class HeywoodCaseError(DataError):
    """Consistent PLS (``consistent=True``) gave an inadmissible solution.

    Raised when a mode-A block's reliability ρ_A is not in (0, 1] or the disattenuated
    latent correlation matrix is not positive semi-definite (e.g. a corrected
    correlation beyond ±1): the measurement-error correction does not describe the data
    (Dijkstra & Henseler 2015).
    """


# --------------------------------------------------------------------------------------
# model specification
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    """Validated model: latents in causal order, items grouped by latent."""

    latents: tuple[str, ...]
    items: tuple[str, ...]
    slices: tuple[slice, ...]
    odm: Array  # items x latents, 1 where the item belongs to the latent
    adj: Array  # adj[to, from] = 1 for each path (plspm's path_matrix)
    modes: tuple[str, ...]
    scheme: str
    edges: tuple[tuple[int, int], ...]  # (from, to) in causal order
    preds: tuple[tuple[int, ...], ...]
    reach: tuple[tuple[int, int], ...]  # (from, to) pairs joined by a directed path
    chains: tuple[tuple[int, ...], ...] = ()  # directed paths of two or more edges

    def chain_labels(self) -> list[str]:
        return [" -> ".join(self.latents[i] for i in c) for c in self.chains]

    @property
    def endogenous(self) -> list[int]:
        return [k for k, p in enumerate(self.preds) if p]

    def edge_labels(self) -> list[str]:
        return [f"{self.latents[a]} -> {self.latents[b]}" for a, b in self.edges]

    def reach_labels(self) -> list[str]:
        return [f"{self.latents[a]} -> {self.latents[b]}" for a, b in self.reach]


def _causal_order(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    """Stable topological order (Kahn); raise naming an edge of the first cycle found."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    indeg = dict.fromkeys(names, 0)
    for a, b in edges:
        succ[a].append(b)
        indeg[b] += 1
    order: list[str] = []
    ready = [n for n in names if indeg[n] == 0]
    while ready:
        node = min(ready, key=names.index)
        ready.remove(node)
        order.append(node)
        for b in succ[node]:
            indeg[b] -= 1
            if indeg[b] == 0:
                ready.append(b)
    if len(order) == len(names):
        return order
    # Walk back along unresolved predecessors until a node repeats: that is a cycle.
    left = {n for n in names if n not in order}
    pred = {b: a for a, b in edges if a in left and b in left}
    node = next(iter(sorted(left, key=names.index)))
    seen: list[str] = []
    while node not in seen:
        seen.append(node)
        node = pred[node]
    cycle = seen[seen.index(node) :][::-1]  # in edge direction
    ring = [(cycle[i], cycle[(i + 1) % len(cycle)]) for i in range(len(cycle))]
    # Name the cycle's edge listed last in ``paths``: usually the one just added.
    last = max(range(len(ring)), key=lambda i: edges.index(ring[i]))
    start = ring[(last + 1) % len(ring)][0]
    k = cycle.index(start)
    cycle = cycle[k:] + cycle[:k]
    closing = f"{ring[last][0]} -> {ring[last][1]}"
    shown = " -> ".join([*cycle, cycle[0]])
    msg = (
        f"paths contain a cycle {shown}; PLS path models must be recursive. "
        f"Remove the edge {closing!r} (or another edge of the cycle)."
    )
    raise SpecificationError(msg)


def _build_spec(
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[Sequence[str]],
    modes: Mapping[str, str] | str | None,
    scheme: str,
) -> _Spec:
    check_choice("scheme", scheme, SCHEMES)
    blk = check_mapping(blocks, "blocks")
    names = list(blk)
    if len(names) < 2:
        msg = f"blocks must define at least two latent variables; got {names}."
        raise SpecificationError(msg)
    if isinstance(paths, str) or not isinstance(paths, Sequence) or not paths:
        msg = f"paths must be a non-empty list of [from, to] pairs; got {paths!r}."
        raise SpecificationError(msg)
    edges: list[tuple[str, str]] = []
    for e in paths:
        if isinstance(e, str) or len(e) != 2:
            msg = f"paths: each path must be a [from, to] pair; got {e!r}."
            raise SpecificationError(msg)
        a, b = str(e[0]), str(e[1])
        unknown = [x for x in (a, b) if x not in blk]
        if unknown:
            msg = (
                f"paths: {a!r} -> {b!r} names latent(s) {unknown} that are not in blocks; "
                f"blocks has {names}."
            )
            raise SpecificationError(msg)
        if a == b:
            msg = f"paths: {a!r} -> {b!r} is a self-loop; a latent cannot cause itself."
            raise SpecificationError(msg)
        if (a, b) in edges:
            msg = f"paths: {a!r} -> {b!r} is given twice; list each path once."
            raise SpecificationError(msg)
        edges.append((a, b))
    linked = {x for e in edges for x in e}
    loose = [n for n in names if n not in linked]
    if loose:
        msg = (
            f"latent(s) {loose} have items in blocks but no path; a disconnected latent has "
            "no inner estimate. Add a path to or from it, or drop it from blocks."
        )
        raise SpecificationError(msg)
    order = _causal_order(names, edges)
    pos = {n: i for i, n in enumerate(order)}

    if modes is None:
        mode_of = dict.fromkeys(order, "A")
    elif isinstance(modes, str):
        check_choice("modes", modes, MODES)
        mode_of = dict.fromkeys(order, modes)
    else:
        bad = [k for k in modes if k not in blk]
        if bad:
            msg = f"modes names latent(s) {bad} that are not in blocks {names}."
            raise SpecificationError(msg)
        mode_of = {n: str(modes.get(n, "A")) for n in order}
        for n, m in mode_of.items():
            check_choice(f"modes[{n!r}]", m, MODES)

    items: list[str] = []
    slices: list[slice] = []
    for n in order:
        slices.append(slice(len(items), len(items) + len(blk[n])))
        items.extend(blk[n])
    L, p = len(order), len(items)
    odm = np.zeros((p, L))
    for j, sl in enumerate(slices):
        odm[sl, j] = 1.0
    adj = np.zeros((L, L))
    cedges = sorted((pos[a], pos[b]) for a, b in edges)
    for src, dst in cedges:
        adj[dst, src] = 1.0
    preds = tuple(tuple(int(i) for i in np.flatnonzero(adj[k])) for k in range(L))
    total = np.linalg.inv(np.eye(L) - adj) - np.eye(L)  # counts directed paths
    reach = tuple((a, b) for a in range(L) for b in range(L) if total[b, a] > 0)
    return _Spec(
        chains=tuple(_chains(adj)),
        latents=tuple(order),
        items=tuple(items),
        slices=tuple(slices),
        odm=odm,
        adj=adj,
        modes=tuple(mode_of[n] for n in order),
        scheme=scheme,
        edges=tuple(cedges),
        preds=preds,
        reach=reach,
    )


def _chains(adj: Array) -> list[tuple[int, ...]]:
    """Every directed path of two or more edges (a specific indirect effect), by start."""
    out: list[tuple[int, ...]] = []

    def walk(path: tuple[int, ...]) -> None:
        if len(path) > 2:
            out.append(path)
        for nxt in np.flatnonzero(adj[:, path[-1]]):
            walk((*path, int(nxt)))

    for start in range(adj.shape[0]):
        walk((start,))
    return out


# --------------------------------------------------------------------------------------
# batched numerical core: every array has a leading resample axis
# --------------------------------------------------------------------------------------
def _col_var(S: Array, W: Array) -> Array:
    """diag(W' S W) for each stack entry: variance of the composites X W."""
    out: Array = np.einsum("bpl,bpl->bl", W, S @ W)
    return out


def _solve(A: Array, b: Array, what: str) -> Array:
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError:
        msg = (
            f"{what} is singular (perfectly collinear variables); remove a redundant "
            "item or latent variable."
        )
        raise SingularMatrixError(msg) from None


def _inner_weights(C: Array, spec: _Spec) -> Array:
    """Inner weights E (plspm): centroid, factorial or path scheme."""
    A = spec.adj + spec.adj.T
    E: Array
    if spec.scheme == "centroid":
        E = np.sign(C * A)
        return E
    if spec.scheme == "factorial":
        E = C * A
        return E
    E = np.zeros_like(C)
    for k, pr in enumerate(spec.preds):
        if pr:  # regression of LV k on its predecessors (lm without intercept)
            P = list(pr)
            sub = C[:, P][:, :, P]
            E[:, P, k] = _solve(sub, C[:, P, k][..., None], "path scheme regression")[..., 0]
        fo = list(np.flatnonzero(spec.adj[:, k]))
        if fo:  # correlation of LV k with its followers
            E[:, fo, k] = C[:, fo, k]
    return E


def _outer_weights(
    S: Array, spec: _Spec, tol: float, max_iter: int
) -> tuple[Array, NDArray[np.int64], NDArray[np.bool_]]:
    """Lohmöller iterations on a stack of covariance matrices (plspm ``get_weights``).

    Returns weights scaled so that every composite has unit (population) variance, the
    iteration count and a convergence flag per stack entry.
    """
    B = S.shape[0]
    odm = np.broadcast_to(spec.odm, (B, *spec.odm.shape))
    W = odm / np.sqrt(_col_var(S, odm))[:, None, :]
    w_old = W.sum(axis=2)
    n_iter = np.zeros(B, dtype=np.int64)
    converged = np.zeros(B, dtype=bool)
    active = np.arange(B)
    for it in range(1, max_iter + 1):
        Sa, Wa = S[active], W[active]
        Wn = Wa / np.sqrt(_col_var(Sa, Wa))[:, None, :]  # Y = scale(X W)
        SWn = Sa @ Wn
        C = np.swapaxes(Wn, 1, 2) @ SWn  # cor(Y)
        G = SWn @ _inner_weights(C, spec)  # X'Z / n with Z = Y E
        new = np.zeros_like(Wa)
        for j, sl in enumerate(spec.slices):
            if spec.modes[j] == "A":
                new[:, sl, j] = G[:, sl, j]
            else:  # mode B: OLS of Z_j on the block's items
                rhs = G[:, sl, j][..., None]
                new[:, sl, j] = _solve(Sa[:, sl, sl], rhs, f"block {spec.latents[j]!r}")[..., 0]
        w_new = new.sum(axis=2)
        dif = ((np.abs(w_old[active]) - np.abs(w_new)) ** 2).sum(axis=1)
        W[active] = new
        w_old[active] = w_new
        n_iter[active] = it
        done = dif < tol
        converged[active[done]] = True
        active = active[~done]
        if active.size == 0:
            break
    W = W / np.sqrt(_col_var(S, W))[:, None, :]
    return W, n_iter, converged


@dataclass
class _Stats:
    """Estimates for a stack of covariance matrices (leading axis = resample)."""

    weights: Array  # (B, L) per item -> (B, p)
    crossloadings: Array  # (B, p, L)
    loadings: Array  # (B, p)
    lv_cor: Array  # (B, L, L)
    path: Array  # (B, L, L): path[to, from]
    r2: Array  # (B, L)
    total: Array  # (B, L, L)
    W: Array  # (B, p, L)
    rho_a: Array  # (B, L): Dijkstra-Henseler rho_A (1 for mode B and single items)
    admissible: Array  # (B,) bool: False for a PLSc Heywood case (always True for PLS)
    f2: Array  # (B, L, L): f²[to, from]
    vif: Array  # (B, L, L): inner VIF[to, from]
    htmt: Array  # (B, L, L)
    fit: Array  # (B, 6): SRMR, d_ULS, d_G of the saturated then the estimated model
    implied: Array  # (B, p, p): item correlations implied by the estimated model


def _rho_a(S: Array, W: Array, sd_x: Array, spec: _Spec) -> tuple[Array, Array]:
    """ρ_A per block and consistent loadings ĉ·w (Dijkstra & Henseler 2015a, eq. 7 and 10).

    Works in the metric the weights were estimated in (``S`` on the analysis scale:
    correlations when scaled, covariances of the centred items otherwise), where mode-A
    weights are proportional to the loadings and the composite ``Xw`` has unit variance.
    Loadings are returned standardized (divided by the item SD). Mode-B blocks get NaN
    loadings (they have no consistent loadings) and ρ_A = 1, as seminr reports it (a
    composite is its own construct); single items get ρ_A = 1 and loading ±1.
    """
    B, p, L = W.shape
    rho = np.ones((B, L))
    lam = np.full((B, p), np.nan)
    for j, sl in enumerate(spec.slices):
        if spec.modes[j] != "A":
            continue
        w = W[:, sl, j]
        if w.shape[1] == 1:
            lam[:, sl] = np.sign(w)
            continue
        Sb = S[:, sl, sl]
        ww = (w * w).sum(axis=1)
        diag = np.einsum("bii->bi", Sb)
        off = np.einsum("bi,bij,bj->b", w, Sb, w) - (diag * w * w).sum(axis=1)  # w'(S - diag S)w
        den = ww**2 - (w**4).sum(axis=1)  # w'(ww' - diag(ww'))w
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = off / den  # squared correction factor ĉ²
            rho[:, j] = ww**2 * c2
            lam[:, sl] = w * np.sqrt(c2)[:, None] / sd_x[:, sl]
    return rho, lam


def _disattenuate(C: Array, rho: Array, spec: _Spec, keep: bool = False) -> tuple[Array, Array]:
    """Corrected latent correlations C_ij/√(ρ_i ρ_j) and an admissibility flag per entry.

    Inadmissible entries get identity placeholders unless ``keep`` (the full-sample fit
    with ``inadmissible="flag"``, where every ρ_A is positive).
    """
    B, L, _ = C.shape
    mode_a = np.array([m == "A" for m in spec.modes])
    rel = np.where(mode_a, rho, 1.0)  # mode B: the composite is the construct
    ok = np.all((rel > 0) & (rel <= 1 + _HEYWOOD_SLACK), axis=1)  # False for NaN too
    q = np.sqrt(np.where(ok[:, None] | (keep & (rel > 0)), rel, 1.0))
    Cc = C / q[:, :, None] / q[:, None, :]
    Cc[:, np.arange(L), np.arange(L)] = 1.0
    if ok.any():
        low = np.linalg.eigvalsh(Cc[ok])[:, 0]
        ok[np.flatnonzero(ok)] = low >= -_HEYWOOD_SLACK
    if not keep:
        Cc[~ok] = np.eye(L)  # placeholders: inadmissible entries are dropped or refused
    return Cc, ok


def _statistics(
    S: Array,
    W: Array,
    spec: _Spec,
    consistent: bool = False,
    htmt_absolute: bool = True,
    keep_inadmissible: bool = False,
) -> _Stats:
    B, p, L = W.shape
    sd_x = np.sqrt(np.einsum("bii->bi", S))
    xl = (S @ W) / sd_x[:, :, None]  # cor(X, LV): composites have unit variance
    # plspm get_scores: flip a latent whose items mostly correlate negatively with it
    signs = np.empty((B, L))
    for j, sl in enumerate(spec.slices):
        s = np.sign(np.sign(xl[:, sl, j]).sum(axis=1))
        signs[:, j] = np.where(s <= 0, -1.0, 1.0)
    W = W * signs[:, None, :]
    xl = xl * signs[:, None, :]
    mask = spec.odm.astype(bool)
    weights = W[:, mask]
    loadings = xl[:, mask]
    C = np.swapaxes(W, 1, 2) @ S @ W
    rho, lam = _rho_a(S, W, sd_x, spec)
    admissible = np.ones(B, dtype=bool)
    if consistent:
        # PLSc: disattenuate the composite correlations, then regress on them.
        C, admissible = _disattenuate(C, rho, spec, keep_inadmissible)
        loadings = np.where(np.isnan(lam), loadings, lam)
    path = np.zeros((B, L, L))
    r2 = np.zeros((B, L))
    for k, pr in enumerate(spec.preds):
        if not pr:
            continue
        P = list(pr)
        rhs = C[:, P, k][..., None]
        beta = _solve(C[:, P][:, :, P], rhs, f"regression of {spec.latents[k]!r}")[..., 0]
        path[:, k, P] = beta
        r2[:, k] = (beta * C[:, P, k]).sum(axis=1)
    eye = np.eye(L)
    total = np.linalg.inv(eye - path) - eye
    R = S / sd_x[:, :, None] / sd_x[:, None, :]
    common = np.array(
        [
            consistent and m == "A" and sl.stop - sl.start > 1
            for m, sl in zip(spec.modes, spec.slices, strict=True)
        ]
    )
    fit = []
    for Phi in (C, pa.implied_construct_cor(C, path, spec.preds)):
        Sigma = pa.implied_indicator_cor(R, xl[:, mask], loadings, Phi, spec.odm, common)
        fit.append(pa.distances(R, Sigma))
    return _Stats(
        weights,
        xl,
        loadings,
        C,
        path,
        r2,
        total,
        W,
        rho,
        admissible,
        f2=pa.effect_sizes(C, spec.preds),
        vif=pa.inner_vif(C, spec.preds),
        htmt=pa.htmt(R, spec.odm, absolute=htmt_absolute),
        fit=np.stack([fit[0][0], fit[1][0], fit[0][1], fit[1][1], fit[0][2], fit[1][2]], axis=1),
        implied=Sigma,
    )


def _stat_vectors(st: _Stats, spec: _Spec) -> dict[str, Array]:
    """Flatten the bootstrapped quantities into (B, k) arrays with known labels."""
    ends = spec.endogenous
    L = len(spec.latents)
    pairs = [(i, j) for i in range(L) for j in range(i + 1, L)]
    B = st.path.shape[0]
    chains = [
        np.prod([st.path[:, c[i + 1], c[i]] for i in range(len(c) - 1)], axis=0)
        for c in spec.chains
    ]
    return {
        "weights": st.weights,
        "loadings": st.loadings,
        "paths": np.stack([st.path[:, b, a] for a, b in spec.edges], axis=1),
        "effects": np.stack([st.total[:, b, a] for a, b in spec.reach], axis=1),
        "indirect_effects": np.stack(
            [st.total[:, b, a] - st.path[:, b, a] for a, b in spec.reach], axis=1
        ),
        "specific_indirect": np.stack(chains, axis=1) if chains else np.zeros((B, 0)),
        "r_squared": st.r2[:, ends],
        "f_squared": np.stack([st.f2[:, b, a] for a, b in spec.edges], axis=1),
        "htmt": np.stack([st.htmt[:, i, j] for i, j in pairs], axis=1),
        "model_fit": st.fit,
    }


# --------------------------------------------------------------------------------------
# resampling
# --------------------------------------------------------------------------------------
def _resample_cov(Xc: Array, counts: Array, scaled: bool) -> tuple[Array, Array, Array]:
    """Covariance stacks for case-weight vectors ``counts`` (rows sum to n).

    Returns (S, mean shift, sd) with S on the analysis scale (correlations when scaled).
    """
    n, p = Xc.shape
    B = counts.shape[0]
    moments = np.zeros((B, p * p))
    step = max(1, _CHUNK_CELLS // (p * p))
    for start in range(0, n, step):
        rows = Xc[start : start + step]
        outer = (rows[:, :, None] * rows[:, None, :]).reshape(len(rows), p * p)
        moments += counts[:, start : start + step] @ outer
    m = counts @ Xc / n
    S = moments.reshape(B, p, p) / n - m[:, :, None] * m[:, None, :]
    sd = np.sqrt(np.einsum("bii->bi", S))
    if scaled:
        S = S / sd[:, :, None] / sd[:, None, :]
    return S, m, sd


def _bootstrap_counts(n: int, size: int, rng: np.random.Generator) -> Array:
    """Case counts of ``size`` resamples of n rows drawn with replacement."""
    idx = rng.integers(0, n, size=(size, n))
    flat = (idx + n * np.arange(size)[:, None]).ravel()
    return np.bincount(flat, minlength=size * n).reshape(size, n).astype(np.float64)


def _jackknife_cov(Xc: Array, scaled: bool) -> tuple[Array, Array, Array]:
    """Delete-one covariance stacks by rank-one downdates (for BCa acceleration)."""
    n, p = Xc.shape
    total = Xc.T @ Xc
    m = -Xc / (n - 1)  # column means of Xc are 0, so leaving row i out shifts them so
    S = (total[None] - Xc[:, :, None] * Xc[:, None, :]) / (n - 1) - m[:, :, None] * m[:, None, :]
    sd = np.sqrt(np.einsum("bii->bi", S))
    if scaled:
        S = S / sd[:, :, None] / sd[:, None, :]
    return S, m, sd


def _bca_bounds(orig: Array, reps: Array, jack: Array, level: float) -> tuple[Array, Array]:
    """Bias-corrected and accelerated interval bounds (Efron 1987), column-wise."""
    alpha = (1 - level) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        prop = (reps < orig).mean(axis=0) + 0.5 * (reps == orig).mean(axis=0)
        z0 = stats.norm.ppf(np.clip(prop, 1e-10, 1 - 1e-10))
        d = jack.mean(axis=0) - jack
        a = (d**3).sum(axis=0) / (6 * ((d**2).sum(axis=0)) ** 1.5)
        a = np.nan_to_num(a)
        out = []
        for q in (alpha, 1 - alpha):
            z = stats.norm.ppf(q)
            adj = stats.norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))
            out.append(
                np.array(
                    [
                        np.quantile(reps[:, i], adj[i]) if np.isfinite(adj[i]) else np.nan
                        for i in range(reps.shape[1])
                    ]
                )
            )
    return out[0], out[1]


def _interval_table(
    labels: Sequence[str],
    orig: Array,
    reps: Array,
    jack: Array | None,
    level: float,
    interval: str,
    df: int,
) -> pd.DataFrame:
    """Original, bootstrap mean, SE, t, p and interval per statistic (one row each)."""
    se = reps.std(axis=0, ddof=1) if reps.shape[0] > 1 else np.full(orig.shape, np.nan)
    if interval == "bca" and jack is not None:
        lo, hi = _bca_bounds(orig, reps, jack, level)
    else:
        alpha = (1 - level) / 2
        lo, hi = np.quantile(reps, [alpha, 1 - alpha], axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = orig / se
    return pd.DataFrame(
        {
            "original": orig,
            "mean": reps.mean(axis=0),
            "std_error": se,
            "t": t,
            "p_value": 2 * stats.t.sf(np.abs(t), df),
            "lower": lo,
            "upper": hi,
        },
        index=pd.Index(list(labels), name="name"),
    )


# --------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class PlsBootstrap(Result):
    """Bootstrap of a PLS path model (:func:`fit_pls` with ``bootstrap > 0``).

    Attributes
    ----------
    n_resamples : int
        Resamples used (those whose iterations converged and, for PLSc, whose solution
        is admissible).
    n_obs : int
        Rows of the data resampled (the p-values use ``n_obs − 1`` degrees of freedom).
    n_discarded : int
        Resamples dropped because the iterations did not converge or (PLSc) the
        solution was a Heywood case (what :class:`HeywoodCaseError` refuses in the full
        sample); each kind emits a warning with its count.
    seed : int or None
        Seed of :func:`numpy.random.default_rng` that drew the resamples.
    level : float
        Confidence level of the intervals.
    interval : {"percentile", "bca"}
        Interval method of ``lower``/``upper``.
    weights, loadings, paths, effects, indirect_effects, specific_indirect : DataFrame
        See below.
    r_squared, f_squared, htmt, model_fit : DataFrame
        One row per statistic with columns ``original``, ``mean``, ``std_error``
        (bootstrap SD, ddof 1), ``t`` (original / std_error), ``p_value`` (two-sided,
        Student's t on ``n_obs − 1`` df, as cSEM and SmartPLS report it), ``lower``,
        ``upper`` (percentile or BCa interval at ``level``). Rows: items (weights,
        loadings); ``"FROM -> TO"`` paths (paths, f²); total and total indirect effects
        for every pair joined by a directed path; every specific indirect effect
        (``"A -> M -> B"``, the product of its path coefficients); endogenous latents
        (R²); latent pairs ``"A <-> B"`` (HTMT); :data:`FIT_LABELS` (SRMR, d_ULS, d_G of
        the saturated and estimated models). ``htmt`` adds ``upper_one_sided`` (the
        ``level`` quantile of the resampled HTMT: discriminant validity is supported at
        that level when it is below the threshold) and ``p_below_0.85`` /
        ``p_below_0.90``, the one-sided bootstrap p-value of H0: HTMT ≥ threshold
        against HTMT < threshold (the share of resamples at or above it; Franke &
        Sarstedt 2019). The ``model_fit`` rows are the statistics' own bootstrap
        distribution (their sampling variability), not a test of exact fit.
        Sign changes: no sign-change correction is applied to the resamples (cSEM's
        ``.sign_change_option = "none"``, seminr's practice); each resample's latents are
        oriented by the same rule as the full sample (a latent is flipped when most of
        its items correlate negatively with it), which keeps weights, loadings and paths
        on a common orientation.
    fit_test : DataFrame or None
        With ``fit_test=True``: the bootstrap test of exact overall model fit (Beran &
        Srivastava 1985; Dijkstra & Henseler 2015; cSEM's ``testOMF()``), one row per
        distance of the estimated model (``srmr``, ``d_uls``, ``d_g``) with
        ``statistic``, ``critical_value`` (the ``level`` quantile of its distribution
        under H0: Σ = Σ̂), ``p_value`` (share of resamples at or above the statistic)
        and ``reject`` (statistic above the critical value). The data are first
        transformed to ``X̃ = X S^{-1/2} Σ̂^{1/2}`` so that their covariance is the
        model-implied one; the ``n_resamples`` resamples of ``X̃`` are refitted.
    replicates : dict of str to DataFrame
        The resampled values (one row per resample) of the tables above and of
        ``item_means`` and ``item_sds`` (raw item scale, population SD), so that
        derived quantities (e.g. satisfaction indices) can be bootstrapped on the same
        resamples.
    jackknife : dict of str to DataFrame or None
        Delete-one jackknife values of the same quantities (only for ``"bca"``).
    """

    n_resamples: int
    n_discarded: int
    n_obs: int
    seed: int | None
    level: float
    interval: str
    weights: pd.DataFrame
    loadings: pd.DataFrame
    paths: pd.DataFrame
    effects: pd.DataFrame
    indirect_effects: pd.DataFrame
    specific_indirect: pd.DataFrame
    r_squared: pd.DataFrame
    f_squared: pd.DataFrame
    htmt: pd.DataFrame
    model_fit: pd.DataFrame
    fit_test: pd.DataFrame | None = None
    replicates: dict[str, pd.DataFrame] = field(repr=False)
    jackknife: dict[str, pd.DataFrame] | None = field(default=None, repr=False)

    def summary(self) -> pd.DataFrame:
        """Path coefficients with their bootstrap standard errors and intervals."""
        return self.paths.reset_index()

    def interval_table(
        self, original: pd.Series, replicates: pd.DataFrame, jackknife: pd.DataFrame | None = None
    ) -> pd.DataFrame:
        """Summarise replicates of a derived statistic like the built-in tables.

        ``replicates`` holds one row per resample and one column per statistic,
        ``original`` the full-sample values (indexed by the same column names).
        """
        jack = None if jackknife is None else jackknife.to_numpy(dtype=float)
        return _interval_table(
            list(map(str, replicates.columns)),
            original.reindex(replicates.columns).to_numpy(dtype=float),
            replicates.to_numpy(dtype=float),
            jack,
            self.level,
            self.interval,
            self.n_obs - 1,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlsResult(Result):
    """Result of :func:`fit_pls`.

    Attributes
    ----------
    outer_model : DataFrame
        One row per item (index ``name``): ``block``, ``weight`` (outer weight; scores
        are ``X @ weight`` on the centred, or standardized when ``scaled``, items),
        ``loading`` (PLSc: the consistent loading for mode-A blocks), ``communality``
        (loading²), ``redundancy`` (communality × R² of the block's latent).
    crossloadings : DataFrame
        Correlation of every item with every latent, plus the item's ``block``.
    paths : DataFrame
        One row per path (index ``"FROM -> TO"``): ``from``, ``to``, ``estimate``,
        ``std_error``, ``t``, ``p_value`` of the OLS of each endogenous latent on its
        predecessors (plspm's ``inner_model``). PLSc: the estimates come from the
        disattenuated correlations; ``std_error`` is the bootstrap SD (NaN without a
        bootstrap), ``t = estimate / std_error`` and ``p_value`` is two-sided on
        ``n − k − 1`` df.
    path_matrix : DataFrame
        Path coefficients, rows = to, columns = from.
    inner_summary : DataFrame
        Per latent: ``type`` (Exogenous/Endogenous), ``mode``, ``r_squared``,
        ``adj_r_squared``, ``block_communality``, ``mean_redundancy``, ``ave``.
    effects : DataFrame
        ``from``, ``to``, ``direct``, ``indirect``, ``total`` for every ordered pair of
        latents joined by a directed path.
    unidim : DataFrame
        Per block: ``mode``, ``mvs``, ``cronbach_alpha`` (standardized),
        ``dillon_goldstein_rho``, ``composite_reliability`` (from the reported
        loadings), ``rho_a`` (Dijkstra–Henseler ρ_A from the outer weights; 1 for a
        single item and for mode B, as seminr reports it; computed for either
        estimator), ``eig_1st``, ``eig_2nd`` (eigenvalues of the block's correlation
        matrix). For mode-B blocks ``composite_reliability`` is computed from the
        loadings like mode A (seminr's ρC); α and Dillon–Goldstein ρ stay NaN.
    htmt : DataFrame
        Heterotrait–monotrait ratios between latents (see
        :func:`scoring.pls_assess.htmt`; ``htmt_absolute`` says the convention).
    f_squared : DataFrame
        Cohen's f² of each path, predictor (rows) × dependent (columns), NaN where
        there is no path (:func:`scoring.pls_assess.effect_sizes`).
    inner_vif : DataFrame
        VIF of each predictor in each structural equation, predictor × dependent
        (:func:`scoring.pls_assess.inner_vif`).
    item_vif : DataFrame
        Per item: ``block``, ``mode``, ``vif`` on the other items of its block
        (:func:`scoring.pls_assess.item_vif`).
    model_fit : DataFrame
        Rows ``srmr``, ``d_uls``, ``d_g``; columns ``saturated`` (the latent
        correlation matrix ``latent_correlations`` taken as is) and ``estimated`` (the
        one implied by the paths, :func:`scoring.pls_assess.implied_construct_cor`).
        Model-implied item correlations: PLS treats every block as a composite
        (within-block correlations observed; between blocks ``λ_i Φ_ij λ_jᵀ`` with
        ``λ`` the PLS loadings); PLSc treats multi-item mode-A blocks as common factors
        (``λλᵀ`` within, consistent loadings) and mode-B blocks as composites, as cSEM
        does (:func:`scoring.pls_assess.implied_indicator_cor`,
        :func:`scoring.pls_assess.distances`). SmartPLS builds the implied matrix from
        the loadings of every block, so its SRMR of a composite model differs.
    fornell_larcker : DataFrame
        Latent correlations with √AVE on the diagonal.
    latent_correlations : DataFrame
        Correlations between latent scores (PLSc: disattenuated, the matrix the paths
        are estimated from).
    scores : DataFrame
        Latent scores (mean 0, population variance 1), indexed like the rows used.
    gof : float
        Goodness of fit (plspm's definition).
    n_obs, n_iter : int
        Rows used and iterations of the outer estimation.
    converged : bool
        Whether the iterations met ``tol`` before ``max_iter``.
    scheme : str
    scaled : bool
    modes : dict of str to str
    blocks : dict of str to list of str
    item_means, item_sds : Series
        Raw-scale mean and population SD of each item (rows used).
    bootstrap : PlsBootstrap or None
    estimator : {"pls", "plsc"}
        ``"plsc"`` when fitted with ``consistent=True``.
    htmt_absolute : bool
        Whether ``htmt`` uses absolute correlations.
    prediction : PlsPrediction or None
        PLSpredict results (``predict_folds > 0``): RMSE, MAE and Q²_predict per item
        of an endogenous latent against the linear-model benchmark.
    admissible : bool
        False only for a PLSc fit with ``inadmissible="flag"`` whose solution is a
        Heywood case (the estimates are returned but do not describe a valid model).
    """

    outer_model: pd.DataFrame
    crossloadings: pd.DataFrame
    paths: pd.DataFrame
    path_matrix: pd.DataFrame
    inner_summary: pd.DataFrame
    effects: pd.DataFrame
    unidim: pd.DataFrame
    htmt: pd.DataFrame
    fornell_larcker: pd.DataFrame
    latent_correlations: pd.DataFrame
    scores: pd.DataFrame = field(repr=False)
    gof: float
    n_obs: int
    n_iter: int
    converged: bool
    scheme: str
    scaled: bool
    modes: dict[str, str]
    blocks: dict[str, list[str]]
    item_means: pd.Series
    item_sds: pd.Series
    f_squared: pd.DataFrame
    inner_vif: pd.DataFrame
    item_vif: pd.DataFrame
    model_fit: pd.DataFrame
    bootstrap: PlsBootstrap | None = None
    estimator: str = "pls"
    htmt_absolute: bool = True
    admissible: bool = True
    prediction: PlsPrediction | None = None

    def summary(self) -> pd.DataFrame:
        """Path coefficients with R² of the target and, if run, bootstrap intervals."""
        out = self.paths.copy()
        out["r_squared"] = self.inner_summary.loc[out["to"], "r_squared"].to_numpy()
        if self.bootstrap is not None:
            b = self.bootstrap.paths
            out["boot_std_error"] = b["std_error"]
            out["lower"] = b["lower"]
            out["upper"] = b["upper"]
        return out.reset_index()

    def to_frame(self) -> pd.DataFrame:
        """The outer model (weights, loadings, communality, redundancy) as one table."""
        return self.outer_model.reset_index()

    def path_assessment(self) -> pd.DataFrame:
        """Per path: ``estimate``, ``f_squared``, ``vif`` and, with a bootstrap, its
        ``std_error``, ``p_value``, ``lower``, ``upper`` (one table, index ``name``)."""
        out = self.paths[["from", "to", "estimate"]].copy()
        out["f_squared"] = [
            self.f_squared.loc[a, b] for a, b in zip(out["from"], out["to"], strict=True)
        ]
        out["vif"] = [self.inner_vif.loc[a, b] for a, b in zip(out["from"], out["to"], strict=True)]
        if self.bootstrap is not None:
            b = self.bootstrap.paths
            for col in ("std_error", "p_value", "lower", "upper"):
                out[col] = b[col]
        else:
            out[["std_error", "p_value"]] = self.paths[["std_error", "p_value"]]
        return out

    def reliability_validity(self) -> pd.DataFrame:
        """Per latent: ``mode``, ``cronbach_alpha``, ``rho_a``, ``rho_c``, ``ave``,
        ``r_squared`` and ``htmt_max`` (its largest HTMT with another latent)."""
        u = self.unidim
        return pd.DataFrame(
            {
                "mode": u["mode"],
                "cronbach_alpha": u["cronbach_alpha"],
                "rho_a": u["rho_a"],
                "rho_c": u["composite_reliability"],
                "ave": self.inner_summary["ave"],
                "r_squared": self.inner_summary["r_squared"],
                "htmt_max": self.htmt.max(axis=1),
            }
        ).rename_axis("latent")


# --------------------------------------------------------------------------------------
# descriptive blocks: unidimensionality, HTMT
# --------------------------------------------------------------------------------------
def _unidim(R: Array, loadings: Array, rho_a: Array, spec: _Spec) -> pd.DataFrame:
    rows = []
    for j, sl in enumerate(spec.slices):
        Rb = R[sl, sl]
        k = Rb.shape[0]
        ev = np.sort(np.linalg.eigvalsh(Rb))[::-1]
        lam = loadings[sl]
        cr = lam.sum() ** 2 / (lam.sum() ** 2 + (1 - lam**2).sum())
        if k == 1:
            alpha = rho = cr = 1.0
        elif spec.modes[j] == "B":
            alpha = rho = np.nan  # ρC from the loadings, as seminr reports it
        else:
            alpha = k / (k - 1) * (Rb.sum() - k) / Rb.sum()
            vec = np.linalg.eigh(Rb)[1][:, -1]
            pc = vec * np.sqrt(ev[0])  # correlations of items with the first component
            rho = pc.sum() ** 2 / (pc.sum() ** 2 + k - (pc**2).sum())
        rows.append(
            {
                "mode": spec.modes[j],
                "mvs": k,
                "cronbach_alpha": alpha,
                "dillon_goldstein_rho": rho,
                "composite_reliability": cr,
                "rho_a": rho_a[j],
                "eig_1st": ev[0],
                "eig_2nd": ev[1] if k > 1 else 0.0,
            }
        )
    return pd.DataFrame(rows, index=pd.Index(spec.latents, name="latent"))


# --------------------------------------------------------------------------------------
# public entry point
# --------------------------------------------------------------------------------------
_ROW_CHUNK = 65_536  # rows per block of the cross-product: small temporaries, cache-friendly


def _centred_cross_product(A: Array, mean: Array) -> Array:
    """``(A − mean)'(A − mean)``, accumulated over row blocks without copying ``A``."""
    p = A.shape[1]
    out = np.zeros((p, p))
    for start in range(0, A.shape[0], _ROW_CHUNK):
        block = A[start : start + _ROW_CHUNK] - mean
        out += block.T @ block
    return out


def _prepare(
    data: Any, spec: _Spec, missing: str
) -> tuple[pd.DataFrame, Array, Array, Array, Array]:
    """Rows used, their item matrix (not centred), means, population SDs and S = X'X/n."""
    check_choice("missing", missing, ("listwise", "item_mean"))
    frame = check_frame(data)
    na = not_applicable_mask(frame, spec.items)  # rows with one are left out
    raw = apply_missing_rule(
        check_numeric(frame, spec.items), missing, not_applicable=na, complete=True
    )
    A = raw.to_numpy(dtype=np.float64)
    mean = A.mean(axis=0)
    S = _centred_cross_product(A, mean) / A.shape[0]
    sd = np.sqrt(np.diag(S))
    const = [
        c for c, s, m in zip(spec.items, sd, mean, strict=True) if not s > 1e-12 * max(1, abs(m))
    ]
    if const:
        c = const[0]
        msg = (
            f"data column {c!r} is constant (every used answer is {float(raw[c].iloc[0]):g}); a "
            "constant item carries no information and has no correlation. Drop it from "
            f"its block (constant column(s): {const})."
        )
        raise DataError(msg)
    return raw, A, mean, sd, S


def _min_rows(spec: _Spec) -> int:
    need = max(len(p) for p in spec.preds) + 2  # OLS of each endogenous latent with df > 0
    for j, sl in enumerate(spec.slices):
        if spec.modes[j] == "B":
            need = max(need, sl.stop - sl.start + 1)
    return max(need, 3)


def fit_pls(
    data: pd.DataFrame,
    *,
    blocks: Mapping[str, Sequence[str]],
    paths: Sequence[Sequence[str]],
    modes: Mapping[str, Mode] | Mode | None = None,
    scheme: Scheme = "centroid",
    scaled: bool = True,
    missing: PlsMissing = "listwise",
    tol: float = 1e-6,
    max_iter: int = 100,
    bootstrap: int = 0,
    seed: int | None = None,
    level: float = 0.95,
    interval: Interval = "percentile",
    consistent: bool = False,
    progress: Callable[[int, int], None] | None = None,
    htmt_absolute: bool = True,
    inadmissible: Literal["refuse", "flag"] = "refuse",
    f_squared: Literal["scores", "reestimate"] = "scores",
    fit_test: bool = False,
    predict_folds: int = 0,
    predict_repeats: int = 1,
) -> PlsResult:
    """Fit a PLS path model (Wold/Lohmöller algorithm, as R's plspm), optionally PLSc.

    Parameters
    ----------
    data : DataFrame
        One row per response; must hold every item named in ``blocks`` (other columns
        are ignored).
    blocks : mapping of str to list of str
        Latent variable -> its items (manifest variables). An item belongs to one block.
    paths : sequence of (from, to) pairs
        The inner (structural) model; must be acyclic and touch every latent.
    modes : "A", "B", mapping of latent to "A"/"B", or None
        Outer mode per latent: ``"A"`` reflective (weights = covariances with the inner
        estimate), ``"B"`` formative (weights = OLS of the inner estimate on the items).
        None means all ``"A"``; latents missing from a mapping are ``"A"``.
    scheme : {"centroid", "factorial", "path"}
        Inner weighting scheme.
    scaled : bool
        Standardize items (population SD) before fitting; ``False`` only centres them,
        so items keep their own units (plspm's ``scaled``).
    missing : {"listwise", "item_mean"}
        Rule for missing answers (see :func:`scoring._validation.apply_missing_rule`).
    tol : float
        Convergence criterion ``Σ(|w_old| − |w_new|)² < tol``.
    max_iter : int
        Iteration limit; reaching it emits :class:`scoring.errors.ConvergenceWarning`.
    bootstrap : int
        Number of bootstrap resamples (0: none).
    seed : int or None
        Seed for the bootstrap resamples (``numpy.random.default_rng(seed)``).
    level : float
        Confidence level of the bootstrap intervals.
    interval : {"percentile", "bca"}
        Percentile or bias-corrected and accelerated intervals (BCa's acceleration
        comes from a delete-one jackknife).
    consistent : bool
        Consistent PLS (PLSc): correct the latent correlations, paths, R², effects and
        loadings of mode-A blocks for measurement error (see Notes). The weights,
        scores and indices built on them are those of PLS.
    progress : callable, optional
        Called as ``progress(done, total)`` after each batch of bootstrap resamples (a
        batch is at most 1 % of them); an exception it raises stops the fit and
        propagates (a caller's cancellation or time budget). The resamples are the
        same with or without it; only the batch size of the stacked fits changes, so
        the results agree to floating-point rounding (about 1e-15).
    htmt_absolute : bool
        HTMT from absolute item correlations (default; seminr's, SmartPLS's and cSEM's
        convention) or from signed ones (``False``; Henseler et al.'s definition). A
        single-item block's monotrait correlation is 1 either way (seminr's rule).
    f_squared : {"scores", "reestimate"}
        How ``R²_excluded`` of Cohen's f² is obtained: ``"scores"`` (default; cSEM's and
        SmartPLS's convention, also bootstrapped) regresses the dependent on its other
        predictors with the latent scores of the full model; ``"reestimate"`` (seminr's
        convention) fits the model again without the path (same scheme, modes and
        estimator; a latent left without any path is dropped, and a dependent left
        without predictors has ``R²_excluded = 0``). The bootstrap always uses
        ``"scores"``.
    fit_test : bool
        With ``bootstrap > 0``, also run the bootstrap test of exact overall fit
        (``bootstrap.fit_test``; as many resamples again, drawn from a seed derived
        from ``seed``).
    predict_folds, predict_repeats : int
        PLSpredict (``prediction``): k-fold cross-validated predictions of the
        endogenous latents' items with ``predict_folds ≥ 2`` folds, repeated
        ``predict_repeats`` times with partitions drawn from ``seed`` (0: none). Always
        from PLS estimates (PLSc does not change the weights the predictions use, and
        the direct-antecedent prediction uses the PLS paths). See
        :class:`scoring.pls_predict.PlsPrediction`.
    inadmissible : {"refuse", "flag"}
        What a PLSc Heywood case does: ``"refuse"`` (default) raises
        :class:`HeywoodCaseError`; ``"flag"`` returns the inadmissible solution with
        ``admissible=False`` and a warning naming the problem (a block with ρ_A ≤ 0,
        whose correction is undefined, is refused either way). Bootstrap resamples in
        that state are dropped and counted in both cases.

    Returns
    -------
    PlsResult
        ``estimator`` says which estimator was used (``"pls"`` or ``"plsc"``).

    Raises
    ------
    SpecificationError
        Empty block, item in two blocks, unknown latent, self-loop, cycle (the message
        names an edge to remove) or a latent without any path.
    DataError
        Missing, non-numeric or constant item.
    InsufficientDataError
        Fewer rows than the regressions need.
    SingularMatrixError
        Perfectly collinear items in a mode-B block or collinear latents.
    HeywoodCaseError
        ``consistent=True`` and the corrected solution is inadmissible: a mode-A ρ_A
        outside (0, 1] or a disattenuated latent correlation matrix that is not
        positive semi-definite (e.g. a correlation beyond ±1). The message names the
        block or the pair of latents.

    Notes
    -----
    With ``X`` the centred (scaled) items and ``S = X'X/n``, each iteration
    standardizes the outer estimates ``Y = XW``, forms the inner estimates
    ``Z = Y E`` with ``E`` from the scheme (centroid: ``sign(cor)``; factorial:
    ``cor``; path: regression weights on predecessors and correlations with
    followers, over adjacent latents) and updates ``w_j = X_j'Z_j/n`` (mode A) or
    ``w_j = (X_j'X_j)^{-1}X_j'Z_j`` (mode B), until ``Σ(|w_old| − |w_new|)² < tol``.
    Weights are then rescaled so that each score has population variance 1 and a
    score is sign-flipped when most of its items correlate negatively with it (plspm
    ``get_scores``; unlike plspm the reported weights are flipped too, so that scores
    are always ``X @ weights``). Paths are OLS coefficients of the standardized scores,
    with ``t = b/SE`` on ``n − k − 1`` df. Effects: ``total = (I − B)^{-1} − I``.
    Communality = loading², redundancy = communality × R², AVE = Σλ²/(Σλ² + Σ(1 − λ²))
    (mode A only). Standardized Cronbach's α = ``k/(k − 1)·(1 − k/ΣR)``; Dillon–
    Goldstein ρ = ``(Σc)²/((Σc)² + k − Σc²)`` with ``c`` the items' correlations with
    the block's first principal component (plspm; not truncated at 0); composite
    reliability uses the PLS loadings instead. HTMT is the mean heterotrait
    correlation over the geometric mean of the mean monotrait correlations
    (Henseler, Ringle & Sarstedt 2015; NaN for single-item blocks). GoF =
    ``sqrt(mean communality of items in multi-item blocks × mean R² of endogenous
    latents)``. Bootstrap resamples are drawn as row counts and fitted together on
    their covariance stacks; resamples that do not converge are dropped and counted.

    Consistent PLS (``consistent=True``; Dijkstra & Henseler 2015a, b) starts from the
    converged PLS weights ``w`` of each mode-A block, scaled as in the paper so that
    the composite has unit variance (``w'Sw = 1``), and computes

    ``ρ_A = (w'w)² · w'(S − diag S)w / w'(ww' − diag(ww'))w``

    and the consistent loadings ``λ = ĉ·w = w·√ρ_A / (w'w)`` (``ĉ² = ρ_A / (w'w)²``;
    reported standardized, divided by the item SD). ``S`` is the block's item matrix
    on the analysis scale: the correlation matrix when ``scaled`` (the paper's setting)
    and the covariance matrix of the centred items when ``scaled=False``, because only
    in the metric the weights were estimated in are mode-A weights proportional to the
    loadings, which makes ``ρ_A`` consistent. A single-item block has ``ρ_A = 1`` (its
    measurement error is not estimable: the item is taken as the construct); mode-B
    blocks are composites and are not corrected (reliability 1, PLS loadings kept). The
    composite correlations ``r_ij`` are disattenuated to ``r_ij / √(ρ_A,i ρ_A,j)``;
    each endogenous latent is regressed by OLS on that matrix (``β = R_PP⁻¹ r_Pk``,
    ``R² = β'r_Pk``) and effects follow from these paths. Communality, redundancy, AVE,
    composite reliability and GoF use the consistent loadings and R²; weights, scores,
    cross-loadings and HTMT stay those of PLS. The OLS standard errors do not apply to
    corrected paths, so ``paths.std_error`` is the bootstrap SD when ``bootstrap > 0``
    and NaN otherwise. Heywood rule: when a mode-A ``ρ_A`` falls outside (0, 1] or the
    disattenuated latent correlation matrix is not positive semi-definite (rounding
    slack 1e-10; this covers corrected correlations beyond ±1 and R² above 1) the fit
    raises :class:`HeywoodCaseError`, and bootstrap resamples in that state are dropped
    and counted in ``n_discarded`` with a warning (as cSEM's default
    ``.handle_inadmissibles = "drop"``). A consistent loading beyond ±1 only warns: the
    paths do not use the loadings.

    References
    ----------
    .. [1] Lohmöller, J.-B. (1989). *Latent Variable Path Modeling with Partial Least
       Squares*. Heidelberg: Physica.
    .. [2] Tenenhaus, M., Esposito Vinzi, V., Chatelin, Y.-M., & Lauro, C. (2005). PLS
       path modeling. *Computational Statistics & Data Analysis*, 48(1), 159-205.
    .. [3] Sanchez, G., Trinchera, L., & Russolillo, G. (2017). plspm: Tools for Partial
       Least Squares Path Modeling. R package version 0.4.9.
    .. [4] Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for
       assessing discriminant validity in variance-based structural equation modeling.
       *Journal of the Academy of Marketing Science*, 43(1), 115-135.
    .. [5] Efron, B. (1987). Better bootstrap confidence intervals. *Journal of the
       American Statistical Association*, 82(397), 171-185.
    .. [6] Dijkstra, T. K., & Henseler, J. (2015a). Consistent partial least squares
       path modeling. *Management Information Systems Quarterly* (MISQ), 39(2), 297-316.
    .. [7] Dijkstra, T. K., & Henseler, J. (2015b). Consistent and asymptotically
       normal PLS estimators for linear structural equations. *Computational
       Statistics & Data Analysis*, 81, 10-23.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.pls import fit_pls
    >>> rng = np.random.default_rng(0)
    >>> quality = rng.normal(size=300)
    >>> sat = 0.6 * quality + 0.8 * rng.normal(size=300)
    >>> df = pd.DataFrame({f"q{i}": quality + 0.5 * rng.normal(size=300) for i in (1, 2, 3)}
    ...                   | {f"s{i}": sat + 0.5 * rng.normal(size=300) for i in (1, 2, 3)})
    >>> res = fit_pls(df, blocks={"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2", "s3"]},
    ...               paths=[("QUAL", "SAT")])
    >>> res.paths.loc["QUAL -> SAT", ["estimate", "std_error"]].round(3).tolist()
    [0.602, 0.046]
    >>> round(float(res.inner_summary.loc["SAT", "r_squared"]), 3)
    0.362

    The items measure their latents with error (loadings about 0.89), so the PLS path
    is attenuated; PLSc corrects it to near the latents' own sample correlation
    (``np.corrcoef(quality, sat)[0, 1]`` is 0.637):

    >>> plsc = fit_pls(df, blocks={"QUAL": ["q1", "q2", "q3"], "SAT": ["s1", "s2", "s3"]},
    ...                paths=[("QUAL", "SAT")], consistent=True)
    >>> plsc.estimator, round(float(plsc.paths.loc["QUAL -> SAT", "estimate"]), 3)
    ('plsc', 0.651)
    >>> plsc.unidim["rho_a"].round(3).tolist()
    [0.931, 0.919]
    """
    spec = _build_spec(blocks, paths, modes, scheme)
    if not (isinstance(tol, int | float) and tol > 0):
        msg = f"tol must be a positive number; got {tol!r}."
        raise SpecificationError(msg)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        msg = f"max_iter must be a positive integer; got {max_iter!r}."
        raise SpecificationError(msg)
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, int) or bootstrap < 0:
        msg = f"bootstrap must be a non-negative integer (number of resamples); got {bootstrap!r}."
        raise SpecificationError(msg)
    if not 0 < level < 1:
        msg = f"level must lie strictly between 0 and 1; got {level!r}."
        raise SpecificationError(msg)
    check_choice("interval", interval, INTERVALS)
    check_choice("inadmissible", inadmissible, INADMISSIBLE)
    check_choice("f_squared", f_squared, ("scores", "reestimate"))
    if not isinstance(htmt_absolute, bool | np.bool_):
        msg = f"htmt_absolute must be True or False; got {htmt_absolute!r}."
        raise SpecificationError(msg)
    if not isinstance(consistent, bool | np.bool_):
        msg = f"consistent must be True or False; got {consistent!r}."
        raise SpecificationError(msg)

    raw, A, mean, sd, S_raw = _prepare(data, spec, missing)
    n = A.shape[0]
    check_min_rows(n, _min_rows(spec), "fit_pls (the largest regression of the model)")
    R = S_raw / np.outer(sd, sd)  # item correlations
    S = (R if scaled else S_raw)[None]
    W, n_iter, conv = _outer_weights(S, spec, tol, max_iter)
    if not conv[0]:
        msg = (
            f"fit_pls: the outer weights did not converge in max_iter={max_iter} iterations "
            f"(tol={tol:g}); results are those of the last iteration. Raise max_iter, or "
            "check for blocks whose items are nearly uncorrelated."
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    flag = inadmissible == "flag"
    st = _statistics(S, W, spec, bool(consistent), bool(htmt_absolute), flag)
    if not st.admissible[0]:
        mode_a = np.array([m == "A" for m in spec.modes])
        message = _heywood_message(spec, st, S[0], st.W[0])
        if not flag or np.any(mode_a & ~(st.rho_a[0] > 0)):
            raise HeywoodCaseError(message)
        warnings.warn(message + " Returned with admissible=False.", UserWarning, stacklevel=2)
    if consistent:
        _warn_loadings_beyond_one(spec, st)

    boot = None
    if bootstrap:
        boot = _run_bootstrap(
            A - mean,
            spec,
            st,
            bootstrap,
            seed,
            tol,
            max_iter,
            scaled,
            level,
            interval,
            mean,
            sd,
            bool(consistent),
            progress,
            bool(htmt_absolute),
            bool(fit_test),
        )
    prediction = None
    if predict_folds:
        prediction = _predict(
            A, spec, predict_folds, predict_repeats, seed, tol, max_iter, scaled, raw.index
        )
    if f_squared == "reestimate":
        st.f2 = _f2_reestimate(S, spec, st, tol, max_iter, bool(consistent))
    result_parts = _assemble(spec, st, A, mean, R, raw, n, sd, scaled, boot, bool(consistent))
    return PlsResult(
        **result_parts,
        gof=_gof(spec, st),
        n_obs=n,
        n_iter=int(n_iter[0]),
        converged=bool(conv[0]),
        scheme=scheme,
        scaled=bool(scaled),
        modes=dict(zip(spec.latents, spec.modes, strict=True)),
        blocks={lv: list(spec.items[sl]) for lv, sl in zip(spec.latents, spec.slices, strict=True)},
        item_means=pd.Series(mean, index=list(spec.items), name="mean"),
        item_sds=pd.Series(sd, index=list(spec.items), name="sd"),
        bootstrap=boot,
        estimator="plsc" if consistent else "pls",
        htmt_absolute=bool(htmt_absolute),
        admissible=bool(st.admissible[0]),
        prediction=prediction,
    )


def _predict(
    A: Array,
    spec: _Spec,
    folds: int,
    repeats: int,
    seed: int | None,
    tol: float,
    max_iter: int,
    scaled: bool,
    index: pd.Index,
) -> PlsPrediction:
    """PLSpredict: the folds of each repetition fitted together on a covariance stack."""
    n = A.shape[0]
    pp.check_prediction(n, folds, repeats, spec, _min_rows(spec))
    rng = np.random.default_rng(seed)
    mean = A.mean(axis=0)
    Xc = A - mean
    total = Xc.T @ Xc
    mask = spec.odm.astype(bool)
    reps = []
    for _ in range(repeats):
        fold = np.empty(n, dtype=np.int64)
        fold[rng.permutation(n)] = pp.fold_of_position(n, folds)
        # training moments = all rows minus the held-out fold: one pass over the data
        cov = np.empty((folds, A.shape[1], A.shape[1]))
        tmean = np.empty((folds, A.shape[1]))
        for f in range(folds):
            held = Xc[fold == f]
            m = n - len(held)
            shift = -held.sum(axis=0) / m  # training mean of the centred items
            cov[f] = (total - held.T @ held) / m - np.outer(shift, shift)
            tmean[f] = mean + shift
        tsd = np.sqrt(np.einsum("fii->fi", cov))
        Sb = cov / tsd[:, :, None] / tsd[:, None, :] if scaled else cov
        W, _, conv = _outer_weights(Sb, spec, tol, max_iter)
        if not conv.all():
            msg = (
                f"PLSpredict: the fit of {int((~conv).sum())} training fold(s) did not "
                f"converge in max_iter={max_iter} iterations; their predictions use the "
                "last iteration."
            )
            warnings.warn(msg, ConvergenceWarning, stacklevel=3)
        st = _statistics(Sb, W, spec)
        cols = [
            i for k in spec.endogenous for i in range(spec.slices[k].start, spec.slices[k].stop)
        ]
        out = [np.empty((n, len(cols))) for _ in range(3)]
        for f in range(folds):
            test = fold == f
            preds = pp.predict_fold(
                spec,
                A[test],
                (tmean[f], tsd[f], cov[f]),
                st.W[f],
                st.path[f],
                st.crossloadings[f][mask],
                scaled,
            )
            for o, v in zip(out, preds, strict=True):
                o[test] = v
        reps.append((out[0], out[1], out[2]))
    return pp.assemble(spec, A, index, folds, repeats, seed, reps)


def _f2_reestimate(
    S: Array, spec: _Spec, st: _Stats, tol: float, max_iter: int, consistent: bool
) -> Array:
    """f² with R²_excluded from a refit of the model without each path (seminr)."""
    lat = spec.latents
    f2 = np.full_like(st.f2, np.nan)
    for a, b in spec.edges:
        rest = [e for e in spec.edges if e != (a, b)]
        r2_full = st.r2[0, b]
        r2_excl = 0.0
        if any(e[1] == b for e in rest):
            linked = sorted({x for e in rest for x in e})
            sub = _build_spec(
                {lat[i]: list(spec.items[spec.slices[i]]) for i in linked},
                [(lat[x], lat[y]) for x, y in rest],
                {lat[i]: spec.modes[i] for i in linked},
                spec.scheme,
            )
            idx = [spec.items.index(it) for it in sub.items]
            Ss = S[:, idx][:, :, idx]
            W, _, _ = _outer_weights(Ss, sub, tol, max_iter)
            r2_excl = float(_statistics(Ss, W, sub, consistent).r2[0, sub.latents.index(lat[b])])
        f2[0, b, a] = (r2_full - r2_excl) / (1 - r2_full)
    return f2


def _warn_loadings_beyond_one(spec: _Spec, st: _Stats) -> None:
    """PLSc loadings beyond ±1: the paths stand, the block's factor model is doubtful."""
    lam = st.loadings[0]
    big = [i for i in range(len(lam)) if abs(lam[i]) > 1 + _HEYWOOD_SLACK]
    if big:
        shown = ", ".join(f"{spec.items[i]!r} {lam[i]:.4g}" for i in big)
        msg = (
            f"fit_pls(consistent=True): consistent loading(s) beyond ±1 ({shown}), a "
            "Heywood case in the measurement model (negative error variance). Paths and "
            "R² use only rho_A and are not affected; check the block's items (an item "
            "whose weight comes mostly from other blocks' latents inflates its loading)."
        )
        warnings.warn(msg, UserWarning, stacklevel=3)


def _heywood_message(spec: _Spec, st: _Stats, S: Array, W: Array) -> str:
    """Name what makes the PLSc solution inadmissible (first problem found)."""
    lat = spec.latents
    rho = st.rho_a[0]
    head = "fit_pls(consistent=True): Heywood case, "
    fix = (
        " The correction for measurement error does not fit these data: check the block(s) "
        "named (too few, weakly or unevenly correlated items; see unidim['rho_a'] of a "
        "consistent=False fit), or fit with consistent=False."
    )
    for j, m in enumerate(spec.modes):
        if m == "A" and not 0 < rho[j] <= 1 + _HEYWOOD_SLACK:
            return (
                f"{head}block {lat[j]!r} has reliability rho_A = {rho[j]:.4g}, outside (0, 1]."
                + fix
            )
    C = np.swapaxes(W, 0, 1) @ S @ W
    q = np.sqrt(np.where(np.array([m == "A" for m in spec.modes]), rho, 1.0))
    Cc = C / np.outer(q, q)
    np.fill_diagonal(Cc, 0.0)
    a, b = np.unravel_index(int(np.argmax(np.abs(Cc))), Cc.shape)
    if abs(Cc[a, b]) > 1:
        return (
            f"{head}the corrected correlation of latents {lat[a]!r} and {lat[b]!r} is "
            f"{Cc[a, b]:.4g} (composite correlation {C[a, b]:.4g} / sqrt(rho_A "
            f"{q[a] ** 2:.4g} x {q[b] ** 2:.4g})), beyond ±1." + fix
        )
    return (
        f"{head}the corrected latent correlation matrix is not positive semi-definite "
        "(no set of latent variables has these correlations)." + fix
    )


def _gof(spec: _Spec, st: _Stats) -> float:
    comm = st.loadings[0] ** 2
    multi = np.concatenate(
        [np.arange(sl.start, sl.stop) for sl in spec.slices if sl.stop - sl.start > 1]
        or [np.array([], dtype=int)]
    )
    r2 = st.r2[0, spec.endogenous]
    return float(np.sqrt(comm[multi].mean() * r2.mean())) if multi.size else float("nan")


def _assemble(
    spec: _Spec,
    st: _Stats,
    A: Array,
    mean: Array,
    R: Array,
    raw: pd.DataFrame,
    n: int,
    sd: Array,
    scaled: bool,
    boot: PlsBootstrap | None,
    consistent: bool,
) -> dict[str, Any]:
    lat = list(spec.latents)
    items = list(spec.items)
    block_of = [
        spec.latents[j] for j, sl in enumerate(spec.slices) for _ in range(sl.start, sl.stop)
    ]
    r2 = st.r2[0]
    comm = st.loadings[0] ** 2
    redund = comm * (spec.odm @ r2)
    outer = pd.DataFrame(
        {
            "block": block_of,
            "weight": st.weights[0],
            "loading": st.loadings[0],
            "communality": comm,
            "redundancy": redund,
        },
        index=pd.Index(items, name="name"),
    )
    cross = pd.DataFrame(st.crossloadings[0], index=pd.Index(items, name="name"), columns=lat)
    cross.insert(0, "block", block_of)

    C = st.lv_cor[0]
    boot_se = None if boot is None else boot.paths["std_error"]
    rows = []
    for k, pr in enumerate(spec.preds):
        if not pr:
            continue
        P = list(pr)
        df_res = n - len(P) - 1
        if consistent:  # OLS standard errors ignore the correction: bootstrap or nothing
            se = np.array(
                [np.nan if boot_se is None else float(boot_se[f"{lat[j]} -> {lat[k]}"]) for j in P]
            )
        else:
            inv = np.linalg.inv(C[np.ix_(P, P)])
            se = np.sqrt((1 - r2[k]) / df_res * np.diag(inv))
        for i, j in enumerate(P):
            est = st.path[0, k, j]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = est / se[i]
            rows.append(
                {
                    "name": f"{lat[j]} -> {lat[k]}",
                    "from": lat[j],
                    "to": lat[k],
                    "estimate": est,
                    "std_error": se[i],
                    "t": t,
                    "p_value": 2 * stats.t.sf(abs(t), df_res),
                }
            )
    path_tab = pd.DataFrame(rows).set_index("name")
    order = spec.edge_labels()
    path_tab = path_tab.loc[order]

    summ = []
    for j, sl in enumerate(spec.slices):
        k = len(spec.preds[j])
        c = comm[sl]
        summ.append(
            {
                "type": "Endogenous" if k else "Exogenous",
                "mode": spec.modes[j],
                "r_squared": r2[j],
                "adj_r_squared": 1 - (1 - r2[j]) * (n - 1) / (n - k - 1) if k else 0.0,
                "block_communality": c.mean(),
                "mean_redundancy": redund[sl].mean(),
                "ave": c.sum() / (c.sum() + (1 - c).sum()) if spec.modes[j] == "A" else np.nan,
            }
        )
    inner = pd.DataFrame(summ, index=pd.Index(lat, name="latent"))

    direct = st.path[0]
    total = st.total[0]
    eff = pd.DataFrame(
        [
            {
                "name": f"{lat[a]} -> {lat[b]}",
                "from": lat[a],
                "to": lat[b],
                "direct": direct[b, a],
                "indirect": total[b, a] - direct[b, a],
                "total": total[b, a],
            }
            for a, b in spec.reach
        ]
    ).set_index("name")

    lv_cor = pd.DataFrame(C, index=lat, columns=lat)
    fl_values = C.copy()
    fl_values[np.diag_indices(len(lat))] = np.sqrt(inner["ave"].to_numpy())
    fl = pd.DataFrame(fl_values, index=lat, columns=lat)
    W = st.W[0] / sd[:, None] if scaled else st.W[0]  # weights per centred raw unit
    scores = pd.DataFrame(A @ W - mean @ W, index=raw.index, columns=lat)
    return {
        "outer_model": outer,
        "crossloadings": cross,
        "paths": path_tab,
        "path_matrix": pd.DataFrame(direct, index=lat, columns=lat),
        "inner_summary": inner,
        "effects": eff,
        "unidim": _unidim(R, st.loadings[0], st.rho_a[0], spec),
        "htmt": pd.DataFrame(st.htmt[0], index=lat, columns=lat),
        "f_squared": _by_path(st.f2[0], spec),
        "inner_vif": _by_path(st.vif[0], spec),
        "item_vif": pd.DataFrame(
            {
                "block": block_of,
                "mode": [spec.modes[int(np.argmax(spec.odm[i]))] for i in range(len(items))],
                "vif": pa.item_vif(R[None], spec.slices)[0],
            },
            index=pd.Index(items, name="name"),
        ),
        "model_fit": pd.DataFrame(
            st.fit[0].reshape(3, 2),
            index=pd.Index(["srmr", "d_uls", "d_g"], name="measure"),
            columns=["saturated", "estimated"],
        ),
        "fornell_larcker": fl,
        "latent_correlations": lv_cor,
        "scores": scores,
    }


FIT_LABELS = (
    "srmr_saturated",
    "srmr_estimated",
    "d_uls_saturated",
    "d_uls_estimated",
    "d_g_saturated",
    "d_g_estimated",
)
# Bootstrapped tables of PlsBootstrap, in the order of its fields.
BOOT_TABLES = (
    "weights",
    "loadings",
    "paths",
    "effects",
    "indirect_effects",
    "specific_indirect",
    "r_squared",
    "f_squared",
    "htmt",
    "model_fit",
)


def _pair_labels(spec: _Spec) -> list[str]:
    lat = spec.latents
    return [f"{lat[i]} <-> {lat[j]}" for i in range(len(lat)) for j in range(i + 1, len(lat))]


def _by_path(values: Array, spec: _Spec) -> pd.DataFrame:
    """A (to, from) matrix as predictor (rows) × dependent (columns), NaN off the paths."""
    lat = list(spec.latents)
    preds = [lat[j] for j in range(len(lat)) if spec.adj[:, j].any()]
    deps = [lat[k] for k in spec.endogenous]
    full = pd.DataFrame(values.T, index=lat, columns=lat)
    return full.loc[preds, deps].rename_axis(index="predictor", columns="dependent")


def _frames(vecs: dict[str, Array], spec: _Spec) -> dict[str, pd.DataFrame]:
    labels = {
        "weights": list(spec.items),
        "loadings": list(spec.items),
        "paths": spec.edge_labels(),
        "effects": spec.reach_labels(),
        "indirect_effects": spec.reach_labels(),
        "specific_indirect": spec.chain_labels(),
        "r_squared": [spec.latents[k] for k in spec.endogenous],
        "f_squared": spec.edge_labels(),
        "htmt": _pair_labels(spec),
        "model_fit": list(FIT_LABELS),
        "item_means": list(spec.items),
        "item_sds": list(spec.items),
    }
    return {k: pd.DataFrame(v, columns=labels[k]) for k, v in vecs.items()}


def _run_bootstrap(
    X: Array,
    spec: _Spec,
    st: _Stats,
    size: int,
    seed: int | None,
    tol: float,
    max_iter: int,
    scaled: bool,
    level: float,
    interval: str,
    mean: Array,
    sd: Array,
    consistent: bool,
    progress: Callable[[int, int], None] | None = None,
    htmt_absolute: bool = True,
    fit_test: bool = False,
) -> PlsBootstrap:
    n = X.shape[0]
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    if progress is not None:  # about 100 reports; the stream of draws is the same
        chunk = min(chunk, max(1, size // 100))
    parts: list[dict[str, Array]] = []
    n_bad = n_heywood = 0
    for start in range(0, size, chunk):
        counts = _bootstrap_counts(n, min(chunk, size - start), rng)
        Sb, mb, sdb = _resample_cov(X, counts, scaled)
        part, bad, heywood = _fit_stack(
            Sb, mb, sdb, spec, tol, max_iter, mean, consistent, htmt_absolute=htmt_absolute
        )
        parts.append(part)
        n_bad += bad
        n_heywood += heywood
        if progress is not None:
            progress(min(start + chunk, size), size)
    reps = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    if n_bad:
        msg = (
            f"fit_pls bootstrap: {n_bad} of {size} resamples did not converge in "
            f"max_iter={max_iter} iterations and were dropped."
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=3)
    if n_heywood:
        msg = (
            f"fit_pls bootstrap (consistent=True): {n_heywood} of {size} resamples were "
            "inadmissible (Heywood case: rho_A outside (0, 1] or corrected latent "
            "correlations not positive semi-definite) and were dropped."
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
    if not reps["weights"].shape[0]:
        msg = (
            f"fit_pls bootstrap: none of the {size} resamples gave a usable fit; "
            "see the warnings above."
        )
        raise DataError(msg)
    jack = None
    if interval == "bca":
        Sj, mj, sdj = _jackknife_cov(X, scaled)
        jack = _fit_stack(
            Sj,
            mj,
            sdj,
            spec,
            tol,
            max_iter,
            mean,
            consistent,
            keep_all=True,
            htmt_absolute=htmt_absolute,
        )[0]
    orig = _stat_vectors(st, spec)
    orig["item_means"] = mean[None]
    orig["item_sds"] = sd[None]
    tables = {
        k: _interval_table(
            list(_frames({k: orig[k]}, spec)[k].columns),
            orig[k][0],
            reps[k],
            None if jack is None else jack[k],
            level,
            interval,
            n - 1,
        )
        for k in BOOT_TABLES
    }
    omf = None
    if fit_test:
        omf = _fit_test(X, spec, st, size, seed, tol, max_iter, scaled, level, mean, consistent)
    ht = reps["htmt"]
    with np.errstate(invalid="ignore"):
        tables["htmt"]["upper_one_sided"] = np.quantile(ht, level, axis=0)
        for c in HTMT_THRESHOLDS:
            tables["htmt"][f"p_below_{c:.2f}"] = (ht >= c).mean(axis=0)
    return PlsBootstrap(
        n_resamples=int(reps["weights"].shape[0]),
        n_discarded=n_bad + n_heywood,
        n_obs=n,
        seed=seed,
        level=level,
        interval=interval,
        **tables,
        fit_test=omf,
        replicates=_frames(reps, spec),
        jackknife=None if jack is None else _frames(jack, spec),
    )


def _fit_test(
    X: Array,
    spec: _Spec,
    st: _Stats,
    size: int,
    seed: int | None,
    tol: float,
    max_iter: int,
    scaled: bool,
    level: float,
    mean: Array,
    consistent: bool,
) -> pd.DataFrame:
    """Bootstrap test of exact fit on data rotated to the model-implied covariance."""
    n = X.shape[0]
    S = X.T @ X / n
    sd = np.sqrt(np.diag(S))
    target = st.implied[0] * np.outer(sd, sd)  # implied covariance of the items

    def root(M: Array, inverse: bool) -> Array:
        val, vec = np.linalg.eigh(M)
        if val[0] <= 1e-12 * val[-1]:
            what = "item covariance" if not inverse else "model-implied item"
            msg = (
                f"fit_pls(fit_test=True): the {what} matrix is not positive definite, so "
                "the data cannot be rotated to it; the exact-fit test is not available "
                "for this model (the distances themselves are still reported)."
            )
            raise SingularMatrixError(msg)
        power = -0.5 if inverse else 0.5
        out: Array = (vec * val**power) @ vec.T
        return out

    Xt = X @ root(S, True) @ root(target, False)
    rng = np.random.default_rng(None if seed is None else [seed, 1])
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    fits = []
    dropped = 0
    for start in range(0, size, chunk):
        counts = _bootstrap_counts(n, min(chunk, size - start), rng)
        Sb, mb, sdb = _resample_cov(Xt, counts, scaled)
        part, bad, heywood = _fit_stack(Sb, mb, sdb, spec, tol, max_iter, mean, consistent)
        fits.append(part["model_fit"])
        dropped += bad + heywood
    if dropped:
        msg = (
            f"fit_pls fit test: {dropped} of {size} resamples of the model-implied data did "
            "not converge or were inadmissible and were dropped."
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
    reps = np.concatenate(fits)[:, 1::2]  # the estimated model: srmr, d_uls, d_g
    orig = st.fit[0, 1::2]
    with np.errstate(invalid="ignore"):
        crit = np.nanquantile(reps, level, axis=0)
        pval = (reps >= orig).mean(axis=0)
    return pd.DataFrame(
        {"statistic": orig, "critical_value": crit, "p_value": pval, "reject": orig > crit},
        index=pd.Index(["srmr", "d_uls", "d_g"], name="measure"),
    )


def _fit_stack(
    S: Array,
    m: Array,
    sd: Array,
    spec: _Spec,
    tol: float,
    max_iter: int,
    mean: Array,
    consistent: bool,
    *,
    keep_all: bool = False,
    htmt_absolute: bool = True,
) -> tuple[dict[str, Array], int, int]:
    """Fit a stack of resampled covariance matrices.

    Drops entries that did not converge and (PLSc) inadmissible ones; returns the
    statistics and the two counts. With ``keep_all`` nothing is dropped, and the
    statistics of inadmissible entries are NaN.
    """
    ok = np.all(sd > 0, axis=1)  # a resample can make an item constant
    W = np.zeros((S.shape[0], S.shape[1], len(spec.latents)))
    conv = np.zeros(S.shape[0], dtype=bool)
    if ok.any():
        W[ok], _, conv[ok] = _outer_weights(S[ok], spec, tol, max_iter)
    rows = np.arange(len(conv)) if keep_all else np.flatnonzero(conv)
    st = _statistics(S[rows], W[rows], spec, consistent, htmt_absolute)
    adm = st.admissible
    out = _stat_vectors(st, spec)
    if keep_all:
        for v in out.values():
            v[~adm] = np.nan
        n_conv = n_adm = 0
    else:
        out = {k: v[adm] for k, v in out.items()}
        rows = rows[adm]
        n_conv, n_adm = int((~conv).sum()), int((~adm).sum())
    out["item_means"] = m[rows] + mean
    out["item_sds"] = sd[rows]
    return out, n_conv, n_adm
