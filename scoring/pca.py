"""Principal-component satisfaction index (主成分分析法).

The indicators are standardised, sampling adequacy is checked (KMO, Bartlett's test of
sphericity), the correlation matrix is eigen-decomposed, the leading components are kept,
oriented so that higher means more satisfied, and combined into one composite score per
respondent weighted by their share of the kept variance. :func:`pca_index` is the entry
point; :func:`kmo` and :func:`bartlett_sphericity` are usable on their own.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.stats
from threadpoolctl import ThreadpoolController

from scoring._results import Result, parameters_of
from scoring._validation import (
    check_choice,
    check_columns,
    check_frame,
    check_min_rows,
    check_numeric,
    check_scale,
    column_floats,
    count_not_applicable,
    not_applicable_mask,
    py_label,
)
from scoring.errors import (
    DataError,
    InsufficientDataError,
    NegativeWeightError,
    NegativeWeights,
    NoDimensionScoresError,
    SingularMatrixError,
    SpecificationError,
)

__all__ = ["KmoResult", "PcaResult", "bartlett_sphericity", "kmo", "pca_index"]

Retain = Literal["kaiser", "cumulative", "fixed"]
ScoreConvention = Literal["eigenvector", "unit_variance"]
MissingPca = Literal["listwise", "item_mean"]

KMO_MIN = 0.6
BARTLETT_ALPHA = 0.05
# Smallest eigenvalue of R (whose eigenvalues sum to p) below which R counts as singular.
SINGULAR_TOL = 1e-10


# ------------------------------------------------------------------------- adequacy


@dataclass(frozen=True, slots=True, kw_only=True)
class KmoResult(Result):
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        KMO over all items.
    items : pandas.Series
        KMO (MSA) per item.
    label : str
        Kaiser's (1974) wording: marvelous (≥ 0.9), meritorious (≥ 0.8), middling
        (≥ 0.7), mediocre (≥ 0.6), miserable (≥ 0.5), unacceptable (< 0.5).
    """

    overall: float
    items: pd.Series
    label: str

    def summary(self) -> pd.DataFrame:
        """One row per item with its KMO, and a last row ``"overall"``."""
        s = pd.concat([self.items, pd.Series({"overall": self.overall})])
        out: pd.DataFrame = s.rename("kmo").rename_axis("item").reset_index()
        return out


def _kaiser_label(value: float) -> str:
    for bound, label in ((0.9, "marvelous"), (0.8, "meritorious"), (0.7, "middling")):
        if value >= bound:
            return label
    for bound, label in ((0.6, "mediocre"), (0.5, "miserable")):
        if value >= bound:
            return label
    return "unacceptable"


def _check_corr(r: np.ndarray, items: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending) and vectors of R; SingularMatrixError when singular."""
    vals, vecs = np.linalg.eigh(r)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    if vals[-1] <= SINGULAR_TOL * len(items):
        null = vecs[:, -1]
        involved = [py_label(items[int(j)]) for j in np.flatnonzero(np.abs(null) > 0.1)]
        msg = (
            f"the correlation matrix of the items is singular (smallest eigenvalue "
            f"{vals[-1]:.3g}): items {involved} are linearly dependent (one is a copy, a "
            "sum or a rescaling of the others). Drop one of them."
        )
        raise SingularMatrixError(msg)
    return vals, vecs


def _kmo_from_corr(r: np.ndarray, items: Sequence[str]) -> KmoResult:
    inv = scipy.linalg.inv(r)
    d = np.sqrt(np.diag(inv))
    partial = -inv / np.outer(d, d)
    off = ~np.eye(len(items), dtype=bool)
    r2 = np.where(off, r**2, 0.0)
    p2 = np.where(off, partial**2, 0.0)
    per_item = r2.sum(axis=0) / (r2.sum(axis=0) + p2.sum(axis=0))
    overall = float(r2.sum() / (r2.sum() + p2.sum()))
    return KmoResult(
        overall=overall,
        items=pd.Series(per_item, index=list(items), name="kmo"),
        label=_kaiser_label(overall),
    )


def _bartlett_from_corr(r: np.ndarray, n: int) -> tuple[float, int, float]:
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:  # pragma: no cover - _check_corr refuses singular matrices first
        msg = "the correlation matrix is not positive definite; Bartlett's test is undefined."
        raise SingularMatrixError(msg)
    chi2 = -(n - 1 - (2 * p + 5) / 6) * float(logdet)
    df = p * (p - 1) // 2
    return chi2, df, float(scipy.stats.chi2.sf(chi2, df))


def _prepare(
    data: Any, items: Sequence[str] | None, missing: str, exclude: Sequence[str] = ()
) -> tuple[pd.DataFrame, list[str], np.ndarray, np.ndarray]:
    """Frame, item names, the (n, p) float matrix after the missing rule, and kept rows."""
    check_choice("missing", missing, ("listwise", "item_mean"))
    df = check_frame(data)
    cols = [c for c in df.columns if c not in exclude] if items is None else list(items)
    check_columns(df, cols)
    # Two passes over the columns (views where they are float64 already): find the
    # missing cells, then copy only the rows used into one Fortran-ordered matrix.
    n = len(df)
    # a not-applicable cell is not missing (listwise keeps it, item_mean does not fill
    # it), but the components need complete rows: its row is left out
    na = not_applicable_mask(df, cols)
    keep = np.ones(n, dtype=bool) if na is None else np.logical_not(np.any(na, axis=1))
    empty = []
    for j, c in enumerate(cols):
        v = column_floats(df, c)
        finite = np.isfinite(v)
        if finite.all():
            continue
        inf = np.isinf(v)
        if inf.any():
            r = int(np.flatnonzero(inf)[0])
            msg = (
                f"data column {c!r} row {py_label(df.index[r])!r} holds {v[r]}; indicators "
                "must be finite numbers. Clean the data or leave the cell empty."
            )
            raise DataError(msg)
        if not finite.any():
            empty.append(c)
        elif missing == "listwise":
            keep &= finite if na is None else finite | na[:, j]
    if empty:
        msg = f"data column(s) {empty} have no answers at all; drop them or collect data."
        raise InsufficientDataError(msg)
    all_rows = bool(keep.all())
    rows = None if all_rows else np.flatnonzero(keep)
    x = np.empty((n if rows is None else rows.size, len(cols)), dtype="float64", order="F")
    for j, c in enumerate(cols):
        v = column_floats(df, c)
        if rows is None:
            x[:, j] = v
        else:
            np.take(v, rows, out=x[:, j])  # a gather: several times faster than v[keep]
        if missing == "item_mean":
            col = x[:, j]
            col[np.isnan(col)] = np.nanmean(col)
    return df, cols, x, keep


@functools.cache
def _blas_threads() -> ThreadpoolController:
    """The process's thread pools, found once (a fresh scan on every call costs ms)."""
    return ThreadpoolController()


def _one_blas_thread() -> Any:
    """Context manager: BLAS on one thread inside it, restored on exit.

    On a shared machine OpenBLAS's extra threads compete for busy cores: the tall
    products here swing from 0.04 s to 1 s with them and take ~0.03 s without.
    """
    return _blas_threads().limit(limits=1, user_api="blas")


# Rows per block of the cross-product: a block of 22 float64 indicators stays in the
# core's cache between centring it and adding its product.
_BLOCK_BYTES = 1 << 20


def _correlation(x: np.ndarray, cols: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Centre ``x`` in place; return the correlation matrix and the means and sds.

    ``x`` keeps its scale: the standardised data are ``x / sd`` (ddof=1).
    """
    n, p = x.shape
    check_min_rows(n, p + 1, f"a PCA of {p} indicators (more respondents than indicators)")
    mean = x.mean(axis=0)
    # Centred cross-products C = sum over row blocks of B^T B: each block is centred in
    # place while in cache, and BLAS runs on one thread (see _one_blas_thread).
    cross = np.zeros((p, p))
    step = max(256, _BLOCK_BYTES // (8 * p))
    with _one_blas_thread():
        for start in range(0, n, step):
            block = x[start : start + step]
            block -= mean
            cross += block.T @ block
    sd = np.sqrt(np.diag(cross) / (n - 1))
    scale = np.abs(mean) + 1.0
    const = sd <= 1e-12 * scale
    if const.any():
        c = cols[int(np.flatnonzero(const)[0])]
        msg = (
            f"data column {c!r} is constant ({mean[const][0]:g} for every used respondent), "
            "so it cannot be standardised; drop it from items."
        )
        raise DataError(msg)
    # R = Z^T Z / (n - 1) with Z = (X - mean) / sd, i.e. C_ij / ((n - 1) sd_i sd_j)
    r = cross / ((n - 1) * np.outer(sd, sd))
    np.fill_diagonal(r, 1.0)
    return r, np.column_stack([mean, sd])


def kmo(data: pd.DataFrame, *, items: Sequence[str] | None = None) -> KmoResult:
    """Kaiser–Meyer–Olkin measure of sampling adequacy (complete rows only).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent.
    items : sequence of str, optional
        Indicator columns (default: all columns).

    Returns
    -------
    KmoResult

    Raises
    ------
    SingularMatrixError
        The correlation matrix cannot be inverted.

    Notes
    -----
    With r_ij the correlations and q_ij = −(R⁻¹)_ij / √((R⁻¹)_ii (R⁻¹)_jj) the partial
    correlations, KMO_j = Σ_{i≠j} r_ij² / (Σ_{i≠j} r_ij² + Σ_{i≠j} q_ij²) and the overall
    KMO sums over all i ≠ j. At least 0.6 is usually required for a PCA (Kaiser 1974).

    References
    ----------
    .. [1] Kaiser, H. F. (1970). A second generation little jiffy. Psychometrika, 35(4),
       401-415.
    .. [2] Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1),
       31-36.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.pca import kmo
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> df = pd.DataFrame(f + rng.normal(size=(200, 4)), columns=list("abcd"))
    >>> round(kmo(df).overall, 3), kmo(df).label
    (0.793, 'middling')
    """
    _, cols, x, _ = _prepare(data, items, "listwise")
    r, _ = _correlation(x, cols)
    _check_corr(r, cols)
    return _kmo_from_corr(r, cols)


def bartlett_sphericity(
    data: pd.DataFrame, *, items: Sequence[str] | None = None
) -> tuple[float, int, float]:
    """Bartlett's test of sphericity: (χ², df, p-value), on complete rows.

    Notes
    -----
    χ² = −(n − 1 − (2p + 5)/6) · ln|R| with df = p(p − 1)/2; H0: R = I (the items are
    uncorrelated, so a PCA has nothing to summarise). p < 0.05 is required.

    References
    ----------
    .. [1] Bartlett, M. S. (1950). Tests of significance in factor analysis. British
       Journal of Psychology, Statistical Section, 3(2), 77-85.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.pca import bartlett_sphericity
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(200, 1))
    >>> chi2, df, p = bartlett_sphericity(pd.DataFrame(f + rng.normal(size=(200, 4))))
    >>> df, p < 0.05
    (6, True)
    """
    _, cols, x, _ = _prepare(data, items, "listwise")
    r, _ = _correlation(x, cols)
    _check_corr(r, cols)
    return _bartlett_from_corr(r, x.shape[0])


# -------------------------------------------------------------------------------- index


@dataclass(frozen=True, slots=True, kw_only=True)
class PcaResult(Result):
    """Result of :func:`pca_index`.

    Attributes
    ----------
    components : pandas.DataFrame
        Scree data, one row per component: ``component`` (1..p), ``eigenvalue``,
        ``share`` (λ_k/p), ``cumulative``, ``kept``.
    eigenvectors : pandas.DataFrame
        Unit eigenvectors u_k of the kept components (items x "PC1".."PCk"), oriented.
    loadings : pandas.DataFrame
        Component loadings u_jk·√λ_k (correlations of item j with component k).
    weights : pandas.DataFrame
        One row per item: ``coefficient`` c_j (F = Σ_j c_j z_j), ``weight``
        c_j / Σ c_j, ``rank`` (1 = largest weight).
    scores : pandas.DataFrame
        One row per respondent used (original index): F1..Fk, ``F`` (composite) and
        ``rank`` (1 = most satisfied; ties share the lowest rank).
    composite : pandas.Series
        ``F`` per respondent.
    segments : pandas.DataFrame or None
        One row per segment: ``segment``, ``n``, ``F`` (mean composite), ``rank``.
    kmo : KmoResult
    bartlett_chi2, bartlett_df, bartlett_p : float, int, float
    adequate : bool
        KMO ≥ 0.6 and Bartlett p < 0.05.
    verdict : str
        One sentence stating both checks.
    means, sds : pandas.Series
        The standardisation used (sd with n − 1).
    n : int
        Respondents used.
    n_dropped : int
        Rows of ``data`` left out by the missing-data rule (or without a composite), and
        rows with an indicator not applicable to the respondent.
    n_not_applicable : int
        Rows left out because an indicator did not apply to the respondent (a display
        condition hid it): the components need complete rows, but such a row is not
        missing data and is never imputed (see :func:`scoring._validation.apply_missing_rule`).
    n_components : int
    retain : str
    score_convention : str
    missing : str
    dimensions : dict or None
        Dimension -> its items, as given to :func:`pca_index` (for
        :meth:`dimension_scores`).
    scale : tuple of float or None
        The items' rating scale ``(min, max)``, as given.
    negative_weights : str
        The rule for negative item weights (``"refuse"`` or ``"allow"``).
    interpretable : bool
        False when an item weight is negative (kept by ``negative_weights="allow"``): the
        composite then falls as that item rises and the dimension scores can leave 0-100;
        ``verdict`` says so.
    """

    components: pd.DataFrame
    eigenvectors: pd.DataFrame
    loadings: pd.DataFrame
    weights: pd.DataFrame
    scores: pd.DataFrame
    composite: pd.Series
    segments: pd.DataFrame | None
    kmo: KmoResult
    bartlett_chi2: float
    bartlett_df: int
    bartlett_p: float
    adequate: bool
    verdict: str
    means: pd.Series
    sds: pd.Series
    n: int
    n_components: int
    retain: str
    score_convention: str
    missing: str
    dimensions: dict[str, list[str]] | None = None
    scale: tuple[float, float] | None = None
    negative_weights: str = "refuse"
    interpretable: bool = True
    n_dropped: int = 0
    n_not_applicable: int = 0

    def dimension_scores(self) -> pd.Series:
        """Dimension -> PCA-weighted mean of its items on 0-100.

        ``100 · (Σ w_j x̄_j / Σ w_j − min) / (max − min)`` over the dimension's items with
        their index weights ``w_j``; needs ``dimensions`` and ``scale`` given to
        :func:`pca_index`. A dimension whose weights do not sum to a positive number is
        left out.
        """
        if self.dimensions is None or self.scale is None:
            msg = (
                "PcaResult has no dimension scores: give pca_index dimensions= and scale= "
                "to score dimensions."
            )
            raise NoDimensionScoresError(msg)
        lo, hi = self.scale
        w = self.weights.set_index("item")["weight"]
        out: dict[str, float] = {}
        for dim, cols in self.dimensions.items():
            used = [c for c in cols if c in w.index]
            ww = w.loc[used].to_numpy(dtype="float64")
            mm = self.means.loc[used].to_numpy(dtype="float64")
            if used and ww.sum() > 0:
                out[dim] = float((ww @ mm / ww.sum() - lo) / (hi - lo) * 100)
        return pd.Series(out, dtype="float64", name="pca").rename_axis("dimension")

    @property
    def n_used(self) -> int:
        """Respondents used (see ``missing``)."""
        return int(self.n)

    @property
    def parameters(self) -> dict[str, Any]:
        """``retain``, ``n_components``, ``score_convention`` and ``negative_weights``."""
        return parameters_of(
            self, ("retain", "n_components", "score_convention", "negative_weights")
        )

    def summary(self) -> pd.DataFrame:
        """The scree table (``components``)."""
        return self.components

    def to_frame(self) -> pd.DataFrame:
        """Per-respondent component scores, composite and rank (``scores``)."""
        return self.scores

    def adequacy(self) -> pd.DataFrame:
        """KMO and Bartlett's test as a table: statistic, df, p-value, threshold, passed."""
        return pd.DataFrame(
            {
                "test": ["kmo", "bartlett"],
                "statistic": [self.kmo.overall, self.bartlett_chi2],
                "df": [np.nan, float(self.bartlett_df)],
                "p_value": [np.nan, self.bartlett_p],
                "threshold": [KMO_MIN, BARTLETT_ALPHA],
                "passed": [self.kmo.overall >= KMO_MIN, self.bartlett_p < BARTLETT_ALPHA],
            }
        )


def _n_keep(vals: np.ndarray, retain: str, cumulative: float, n_components: int | None) -> int:
    p = len(vals)
    if retain == "kaiser":
        return max(1, int(np.count_nonzero(vals > 1.0)))
    if retain == "cumulative":
        if not 0 < cumulative <= 1:
            msg = f"cumulative must be a share in (0, 1]; got {cumulative!r}."
            raise SpecificationError(msg)
        cum = np.cumsum(vals) / vals.sum()
        return min(p, int(np.searchsorted(cum, cumulative - 1e-12)) + 1)
    if n_components is None or not 1 <= n_components <= p:
        msg = f"retain='fixed' needs n_components between 1 and {p}; got {n_components!r}."
        raise SpecificationError(msg)
    return int(n_components)


def pca_index(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    retain: Retain = "kaiser",
    cumulative: float = 0.85,
    n_components: int | None = None,
    scores: ScoreConvention = "eigenvector",
    missing: MissingPca = "listwise",
    segment: str | None = None,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    scale: tuple[float, float] | None = None,
    negative_weights: NegativeWeights = "refuse",
) -> PcaResult:
    """Principal-component satisfaction index (主成分分析法).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per indicator, coded so that higher
        means more satisfied (reverse-code negatively worded items first).
    items : sequence of str, optional
        Indicator columns; default every column except ``segment``.
    retain : {"kaiser", "cumulative", "fixed"}, default "kaiser"
        Keep the components with eigenvalue > 1 (at least one); the fewest whose
        cumulative variance share reaches ``cumulative``; or ``n_components``.
    cumulative : float, default 0.85
        Share for ``retain="cumulative"``.
    n_components : int, optional
        Number for ``retain="fixed"``.
    scores : {"eigenvector", "unit_variance"}, default "eigenvector"
        Component-score convention: F_k = Z·u_k (variance λ_k; the usual one in Chinese
        textbooks) or F_k = Z·u_k/√λ_k (unit variance; SPSS-style component scores).
    missing : {"listwise", "item_mean"}, default "listwise"
        Drop respondents with any missing indicator, or fill each missing cell with the
        item mean. (Pairwise deletion is not offered: scores need complete rows.)
    segment : str, optional
        Column of segment labels; ``segments`` gives the mean composite per segment,
        ranked.
    dimensions : mapping of str to sequence of str, optional
        Dimension -> its item columns; ``items`` defaults to all of them. Only used by
        :meth:`PcaResult.dimension_scores`.
    scale : tuple of float, optional
        The items' rating scale ``(min, max)``, for the 0-100 dimension scores.
    negative_weights : {"refuse", "allow"}, default "refuse"
        A negative item weight (see Notes) is refused with
        :class:`~scoring.errors.NegativeWeightError` naming the item and its dimension;
        ``allow`` keeps the index and flags it (``interpretable``, ``verdict``).

    Returns
    -------
    PcaResult

    Raises
    ------
    DataError
        Non-numeric cells (naming column and row), a constant indicator, answers off
        ``scale`` (``99`` or ``4.5`` on 1-7) when it is given.
    InsufficientDataError
        Not more respondents than indicators (so n = 1, n = 2 and fewer rows than items
        are refused); an indicator with no answers.
    SingularMatrixError
        A singular correlation matrix (naming the dependent items).
    NegativeWeightError
        A negative item weight (the item is probably worded against the others and not
        reverse-coded), unless ``negative_weights="allow"``.
    ValueError
        Bad ``retain`` / ``cumulative`` / ``n_components`` / ``scores``.

    Notes
    -----
    Z = (X − x̄)/s with s the sample standard deviation (n − 1, as R's ``prcomp(scale =
    TRUE)``). The correlation matrix R = ZᵀZ/(n − 1) is decomposed with
    ``numpy.linalg.eigh``: R u_k = λ_k u_k, λ_1 ≥ … ≥ λ_p. The sign of an eigenvector is
    arbitrary; each kept u_k is oriented so that Σ_j u_jk > 0 (the component rises with
    the items on balance, so higher = more satisfied when items are coded that way).
    Component scores F_k = Z u_k (or Z u_k/√λ_k), composite
    F = Σ_k (λ_k / Σ_{kept} λ) F_k. Since F = Z c with
    c = Σ_k (λ_k/Σλ) u_k (or u_k/√λ_k), the indicator weights are w_j = c_j / Σ_j c_j
    (negative for an item that loads against the rest: refused unless
    ``negative_weights="allow"``, as the composite then falls when that item rises and
    the dimension scores leave 0-100). Loadings are
    u_jk √λ_k. KMO ≥ 0.6 (Kaiser 1974) and Bartlett's p < 0.05 are reported as the
    verdict, not enforced: the index is still computed when they fail.

    References
    ----------
    .. [1] Hotelling, H. (1933). Analysis of a complex of statistical variables into
       principal components. Journal of Educational Psychology, 24(6), 417-441.
    .. [2] Jolliffe, I. T. (2002). Principal Component Analysis (2nd ed.). Springer.
    .. [3] Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39(1),
       31-36.
    .. [4] Bartlett, M. S. (1950). Tests of significance in factor analysis. British
       Journal of Psychology, Statistical Section, 3(2), 77-85.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.pca import pca_index
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> df = pd.DataFrame(f + 0.8 * rng.normal(size=(300, 5)), columns=list("abcde"))
    >>> df["store"] = rng.choice(["north", "south"], size=300)
    >>> res = pca_index(df, segment="store")
    >>> res.n_components, res.adequate
    (1, True)
    >>> res.components[["component", "eigenvalue", "kept"]].round(3).head(2)
       component  eigenvalue   kept
    0          1       3.288   True
    1          2       0.480  False
    >>> res.weights["weight"].round(3).tolist()
    [0.197, 0.198, 0.204, 0.203, 0.197]
    """
    check_choice("retain", retain, ("kaiser", "cumulative", "fixed"))
    check_choice("scores", scores, ("eigenvector", "unit_variance"))
    dims = None if dimensions is None else {str(d): list(c) for d, c in dimensions.items()}
    if dims is not None and items is None:
        items = [c for cols in dims.values() for c in cols]
    if segment is not None:
        check_columns(check_frame(data), [segment])
        if items is not None and segment in items:
            msg = f"segment column {segment!r} is also listed in items; remove it from items."
            raise SpecificationError(msg)
    df, cols, x, keep = _prepare(data, items, missing, exclude=[segment] if segment else [])
    if scale is not None:
        check_scale(check_numeric(df, cols), scale)
    r, ms = _correlation(x, cols)  # x is now centred: Z = x / sd
    n, p = x.shape
    vals, vecs = _check_corr(r, cols)
    k = _n_keep(vals, retain, cumulative, n_components)
    u = vecs[:, :k].copy()
    sums = u.sum(axis=0)
    largest = u[np.argmax(np.abs(u), axis=0), np.arange(k)]
    flip = np.where(np.abs(sums) > 1e-12, sums < 0, largest < 0)
    u[:, flip] *= -1.0
    lam = vals[:k]
    comp_scale = np.sqrt(lam) if scores == "unit_variance" else np.ones(k)
    share_kept = lam / lam.sum()
    per_comp = u / comp_scale  # F_k = Z @ per_comp[:, k]
    coef = per_comp @ share_kept
    # (n, k + 1): F1..Fk and F; Z @ M = x @ (M / sd) with x centred
    with _one_blas_thread():
        f = x @ (np.column_stack([per_comp, coef]) / ms[:, 1:2])
    names = [f"PC{i + 1}" for i in range(k)]
    index = df.index[keep]
    composite = pd.Series(f[:, -1], index=index, name="F")
    score_frame = pd.DataFrame(f, index=index, columns=[f"F{i + 1}" for i in range(k)] + ["F"])
    score_frame["rank"] = _rank_desc(f[:, -1])

    kmo_res = _kmo_from_corr(r, cols)
    chi2, bdf, bp = _bartlett_from_corr(r, n)
    adequate = kmo_res.overall >= KMO_MIN and bp < BARTLETT_ALPHA
    verdict = (
        f"KMO = {kmo_res.overall:.3f} ({kmo_res.label}; "
        f"{'meets' if kmo_res.overall >= KMO_MIN else 'below'} the 0.6 minimum); "
        f"Bartlett chi2 = {chi2:.2f}, df = {bdf}, p = {bp:.3g} "
        f"({'significant' if bp < BARTLETT_ALPHA else 'not significant'} at 0.05): "
        f"{'suitable' if adequate else 'NOT suitable'} for a principal-component index."
    )
    total = vals.sum()
    components = pd.DataFrame(
        {
            "component": np.arange(1, p + 1),
            "eigenvalue": vals,
            "share": vals / total,
            "cumulative": np.cumsum(vals) / total,
            "kept": np.arange(p) < k,
        }
    )
    weight = coef / coef.sum() if coef.sum() != 0 else np.full(p, np.nan)
    dim_of = {c: d for d, dc in (dims or {}).items() for c in dc}
    flagged = NegativeWeightError.check(
        dict(zip(map(str, cols), weight.tolist(), strict=True)),
        {str(c): dim_of.get(c, "composite") for c in cols},
        index="PCA composite",
        option=negative_weights,
    )
    if flagged:
        verdict += (
            f" Negative item weights in {flagged}: the index is not interpretable as a "
            "weighted mean of the answers."
        )
    weights = pd.DataFrame({"item": cols, "coefficient": coef, "weight": weight})
    weights["rank"] = _rank_desc(weight)
    segments = None
    if segment is not None:
        segments = _segment_table(df[segment].to_numpy()[keep], f[:, -1])
    return PcaResult(
        components=components,
        eigenvectors=pd.DataFrame(u, index=cols, columns=names),
        loadings=pd.DataFrame(u * np.sqrt(lam), index=cols, columns=names),
        weights=weights,
        scores=score_frame,
        composite=composite,
        segments=segments,
        kmo=kmo_res,
        bartlett_chi2=chi2,
        bartlett_df=bdf,
        bartlett_p=bp,
        adequate=adequate,
        verdict=verdict,
        means=pd.Series(ms[:, 0], index=cols, name="mean"),
        sds=pd.Series(ms[:, 1], index=cols, name="sd"),
        n=n,
        n_components=k,
        retain=retain,
        score_convention=scores,
        missing=missing,
        dimensions=dims,
        scale=None if scale is None else (float(scale[0]), float(scale[1])),
        negative_weights=negative_weights,
        interpretable=not flagged,
        n_dropped=len(df) - n,
        n_not_applicable=count_not_applicable(not_applicable_mask(df, cols)),
    )


def _rank_desc(values: np.ndarray) -> np.ndarray:
    """Ranks with 1 = largest; ties share the smallest rank (pandas' method="min").

    One ``numpy.argsort`` instead of ``Series.rank``, which is several times slower on a
    million respondents. NaN (an undefined weight) ranks last.
    """
    neg = -np.asarray(values, dtype="float64")
    order = np.argsort(neg)
    s = neg[order]
    n = len(s)
    starts = np.ones(n, dtype=bool)
    if n > 1:
        starts[1:] = s[1:] != s[:-1]
    first = np.where(starts, np.arange(n), 0)
    np.maximum.accumulate(first, out=first)
    ranks = np.empty(n, dtype=np.int64)
    ranks[order] = first + 1
    return ranks


def _segment_table(labels: np.ndarray, f: np.ndarray) -> pd.DataFrame:
    """Mean composite per segment (rows without a segment are left out), ranked."""
    codes, uniq = pd.factorize(labels, sort=True)
    ok = codes >= 0
    cnt = np.bincount(codes[ok], minlength=len(uniq))
    tot = np.bincount(codes[ok], weights=f[ok], minlength=len(uniq))
    out = pd.DataFrame({"segment": [py_label(u) for u in uniq], "n": cnt, "F": tot / cnt})
    out["rank"] = _rank_desc(out["F"].to_numpy())
    return out
