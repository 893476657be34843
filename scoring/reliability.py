"""Reliability of multi-item scales: Cronbach's alpha, composite reliability and AVE.

Public functions:

- :func:`cronbach_alpha` -- raw and standardized alpha with Feldt's confidence interval,
  alpha if item deleted and the corrected item-total correlation of each item;
- :func:`one_factor_loadings` -- standardized loadings of a one-factor solution (one-factor
  MINRES, the unweighted least squares solution of psych and factor_analyzer);
- :func:`composite_reliability` and :func:`average_variance_extracted` from loadings;
- :func:`reliability` -- all of the above per dimension, with flags for weak dimensions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from scoring._results import Result, parameters_of
from scoring._validation import (
    MissingRule,
    apply_missing_rule,
    check_choice,
    check_frame,
    check_mapping,
    check_min_rows,
    check_numeric,
    check_scale,
    count_not_applicable,
    not_applicable_mask,
)
from scoring.errors import (
    ConvergenceWarning,
    InsufficientDataError,
    SingularMatrixError,
    SmallSampleWarning,
    SpecificationError,
)
from scoring.pls_assess import htmt

__all__ = [
    "alpha_from_covariance",
    "AlphaResult",
    "ReliabilityResult",
    "average_variance_extracted",
    "composite_reliability",
    "cronbach_alpha",
    "one_factor_loadings",
    "reliability",
]


_MAX_ITER = 1000

Loadings = Mapping[str, float] | pd.Series | Sequence[float] | np.ndarray


def alpha_from_covariance(cov: np.ndarray) -> float:
    """Cronbach's alpha from an items' covariance (or, for standardized alpha, correlation)
    matrix: ``k/(k-1) * (1 - trace(C) / sum(C))`` (Cronbach, 1951).

    NaN for fewer than two items or a non-positive total variance. Lets a caller that
    already has the covariance matrix of many scales (e.g. one per data set) compute each
    scale's alpha from its block without another pass over the data.

    >>> import numpy as np
    >>> round(alpha_from_covariance(np.array([[1.0, 0.5], [0.5, 1.0]])), 4)
    0.6667
    """
    k = cov.shape[0]
    total = float(cov.sum())
    if k < 2 or total <= 0.0:
        return math.nan
    return float(k / (k - 1) * (1.0 - float(np.trace(cov)) / total))


def feldt_interval(alpha: float, n: int, k: int, confidence: float) -> tuple[float, float]:
    """Feldt's (1965; Feldt, Woodruff & Salih, 1987) interval for coefficient alpha.

    ``(1 - alpha)`` divided by ``(1 - population alpha)`` follows F(n-1, (n-1)(k-1)).
    """
    tail = (1.0 - confidence) / 2.0
    df1, df2 = n - 1, (n - 1) * (k - 1)
    if df1 < 1 or df2 < 1 or math.isnan(alpha):
        return math.nan, math.nan
    low = 1.0 - (1.0 - alpha) * float(stats.f.isf(tail, df1, df2))
    high = 1.0 - (1.0 - alpha) * float(stats.f.isf(1.0 - tail, df1, df2))
    return low, high


@dataclass(frozen=True, slots=True, kw_only=True)
class AlphaResult(Result):
    """Result of :func:`cronbach_alpha`.

    Attributes
    ----------
    alpha : float
        Raw coefficient alpha (from the covariance matrix).
    alpha_standardized : float
        Standardized alpha (from the correlation matrix).
    ci_low, ci_high : float
        Feldt's confidence interval of the raw alpha.
    confidence : float
        Level of the interval.
    n : int
        Number of rows used (all rows under ``pairwise``, as in pingouin and psych).
    k : int
        Number of items.
    missing : str
        Missing-data rule applied.
    items : pandas.DataFrame
        One row per item: ``item, n, mean, sd, item_total_r, alpha_if_deleted``.
    """

    alpha: float
    alpha_standardized: float
    ci_low: float
    ci_high: float
    confidence: float
    n: int
    k: int
    missing: str
    items: pd.DataFrame

    def summary(self) -> pd.DataFrame:
        """One row: ``n, k, alpha, alpha_standardized, ci_low, ci_high``."""
        return pd.DataFrame(
            [
                {
                    "n": self.n,
                    "k": self.k,
                    "alpha": self.alpha,
                    "alpha_standardized": self.alpha_standardized,
                    "ci_low": self.ci_low,
                    "ci_high": self.ci_high,
                }
            ]
        )

    def to_frame(self) -> pd.DataFrame:
        """The item table (alpha if item deleted, corrected item-total correlation)."""
        return self.items


def _numeric_items(
    data: Any, items: Sequence[str] | None, missing: str, name: str = "data"
) -> pd.DataFrame:
    df = check_frame(data, name)
    cols = list(df.columns) if items is None else list(items)
    values = check_numeric(df, cols, name)
    # alpha and the factor model need complete rows: rows with an item that did not
    # apply to the respondent are left out (not imputed, not counted as missing)
    na = not_applicable_mask(df, cols)
    return apply_missing_rule(values, missing, name, not_applicable=na, complete=True)


def _alpha_core(values: pd.DataFrame, confidence: float, missing: str) -> AlphaResult:
    k = values.shape[1]
    if k < 2:
        msg = f"Cronbach's alpha needs at least 2 items; got {list(values.columns)}."
        raise SpecificationError(msg)
    n = int(values.shape[0])
    # two rows fix every covariance up to one difference: alpha is then an artefact
    # (-0.667 for three items is typical), so three rows are the minimum
    check_min_rows(n, 3, f"Cronbach's alpha of {list(map(str, values.columns))}")
    cov_frame = values.cov()
    cov = cov_frame.to_numpy()
    if np.isnan(cov).any():
        i, j = (int(a[0]) for a in np.nonzero(np.isnan(cov)))
        msg = (
            f"items {values.columns[i]!r} and {values.columns[j]!r} are answered together "
            "by fewer than 2 respondents, so their covariance is undefined; "
            "use missing='listwise' or drop one of them."
        )
        raise InsufficientDataError(msg)
    if cov.sum() <= 0.0:
        msg = (
            f"the total score over {list(values.columns)} has zero variance "
            "(every respondent gave the same total); alpha is undefined."
        )
        raise SingularMatrixError(msg)
    alpha = alpha_from_covariance(cov)
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = values.corr().to_numpy()
        alpha_std = alpha_from_covariance(corr)
    low, high = feldt_interval(alpha, n, k, confidence)
    rows = []
    for i, item in enumerate(values.columns):
        rest = np.delete(np.arange(k), i)
        var_rest = float(cov[np.ix_(rest, rest)].sum())
        cov_rest = float(cov[i, rest].sum())
        denom = math.sqrt(cov[i, i] * var_rest) if cov[i, i] > 0 and var_rest > 0 else math.nan
        rows.append(
            {
                "item": str(item),
                "n": int(values[item].notna().sum()),
                "mean": float(values[item].mean()),
                "sd": float(math.sqrt(cov[i, i])),
                # corrected item-total r: item against the sum of the *other* items
                "item_total_r": cov_rest / denom,
                "alpha_if_deleted": alpha_from_covariance(cov[np.ix_(rest, rest)]),
            }
        )
    return AlphaResult(
        alpha=alpha,
        alpha_standardized=alpha_std,
        ci_low=low,
        ci_high=high,
        confidence=confidence,
        n=n,
        k=k,
        missing=missing,
        items=pd.DataFrame(rows),
    )


def cronbach_alpha(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
) -> AlphaResult:
    """Cronbach's coefficient alpha of a multi-item scale.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per item.
    items : sequence of str, optional
        Columns to use (default: every column).
    missing : {'pairwise', 'listwise', 'item_mean'}
        ``pairwise`` (default) computes each covariance from the rows that answered both
        items and, as pingouin and R's ``psych::alpha(use="pairwise")`` do, counts every
        row in ``n`` for the interval; ``listwise`` drops incomplete rows; ``item_mean``
        fills missing cells with the item mean.
    confidence : float
        Level of Feldt's interval.

    Returns
    -------
    AlphaResult

    Raises
    ------
    SpecificationError
        Fewer than two items.
    InsufficientDataError
        Fewer than three rows (with two, alpha is an artefact of one difference per
        item), or two items never answered together.
    SingularMatrixError
        The total score has zero variance.
    DataError
        Missing columns or non-numeric cells.

    Notes
    -----
    With C the k x k item covariance matrix, ``alpha = k/(k-1) * (1 - tr(C) / 1'C1)``.
    Standardized alpha applies the same formula to the correlation matrix, i.e.
    ``k r / (1 + (k-1) r)`` with r the mean inter-item correlation. The corrected
    item-total correlation of item i is its correlation with the sum of the other items,
    ``sum_j C_ij / sqrt(C_ii * sum_{j,l != i} C_jl)``, computed from C so that it uses the
    same missing-data rule as alpha. Feldt's interval:
    ``1 - (1 - alpha) F_{tail}(n-1, (n-1)(k-1))``.

    References
    ----------
    .. [1] Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
       Psychometrika, 16(3), 297-334.
    .. [2] Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for
       coefficient alpha. Applied Psychological Measurement, 11(1), 93-103.
    .. [3] Vallat, R. (2018). Pingouin: statistics in Python. JOSS 3(31), 1026
       (``pingouin.cronbach_alpha``, whose conventions are followed here).

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.reliability import cronbach_alpha
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 3, 5, 5], "c": [1, 3, 3, 4, 4]})
    >>> res = cronbach_alpha(df)
    >>> round(res.alpha, 4), res.n, res.k
    (0.9538, 5, 3)
    """
    check_choice("missing", missing, ("pairwise", "listwise", "item_mean"))
    values = _numeric_items(data, items, missing)
    return _alpha_core(values, confidence, missing)


def _one_factor_fit(reduced: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(reduced)
    return np.asarray(vecs[:, -1] * math.sqrt(max(float(vals[-1]), 0.0)))


def _minres_one_factor(corr: np.ndarray, max_iter: int, tol: float) -> np.ndarray:
    """One-factor MINRES: minimise the squared residuals over the uniquenesses psi."""
    k = corr.shape[0]
    try:
        # start from 1 - squared multiple correlation, as psych::fa and factor_analyzer
        start = 1.0 / np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        start = np.full(k, 0.5)
    start = np.clip(np.nan_to_num(start, nan=0.5), 0.005, 1.0)

    def objective(psi: np.ndarray) -> float:
        reduced = corr.copy()
        np.fill_diagonal(reduced, 1.0 - psi)
        lam = _one_factor_fit(reduced)
        return float(np.sum((reduced - np.outer(lam, lam)) ** 2))

    # uniquenesses bounded in [0.005, 1] (factor_analyzer's bounds) so that a Heywood
    # case ends at a loading just below 1 instead of diverging
    res = optimize.minimize(
        objective,
        start,
        method="L-BFGS-B",
        bounds=[(0.005, 1.0)] * k,
        options={"maxiter": max_iter, "ftol": tol},
    )
    if not res.success:
        warnings.warn(
            f"one-factor MINRES did not converge: {res.message}",
            ConvergenceWarning,
            stacklevel=3,
        )
    reduced = corr.copy()
    np.fill_diagonal(reduced, 1.0 - res.x)
    loadings = _one_factor_fit(reduced)
    # the sign of an eigenvector is arbitrary: orient so most loadings are positive
    return loadings if loadings.sum() >= 0 else -loadings


def _one_factor(values: pd.DataFrame, max_iter: int, tol: float) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = values.corr().to_numpy()
    if np.isnan(corr).any():
        bad = [str(c) for c, v in zip(values.columns, np.isnan(corr).any(axis=0), strict=True) if v]
        msg = (
            f"correlations of {bad} are undefined (a constant item, or items never answered "
            "together); drop those items or use another missing rule."
        )
        raise SingularMatrixError(msg)
    return _minres_one_factor(corr, max_iter, tol)


def one_factor_loadings(
    data: pd.DataFrame,
    *,
    items: Sequence[str] | None = None,
    missing: MissingRule = "pairwise",
    max_iter: int = _MAX_ITER,
    tol: float = 1e-9,
) -> pd.Series:
    """Standardized loadings of a one-factor model (MINRES / unweighted least squares).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per item.
    items : sequence of str, optional
        Columns to use (default: all).
    missing : {'pairwise', 'listwise', 'item_mean'}
        Rule for the correlation matrix (``pairwise``: each correlation from the rows
        answering both items).
    max_iter, tol : int, float
        Iteration limit and relative tolerance of the optimiser; a
        :class:`~scoring.errors.ConvergenceWarning` is emitted at the limit.

    Returns
    -------
    pandas.Series
        Loading per item, oriented so that their sum is positive.

    Notes
    -----
    For uniquenesses psi, the reduced correlation matrix R* (diagonal 1 - psi) gives the
    loadings l = sqrt(lambda_1) v_1 from its first eigenpair; psi minimises
    sum (R* - l l')^2 by L-BFGS-B with psi in [0.005, 1], starting from 1 - SMC. This is
    the MINRES solution, the default of ``psych::fa`` and of the factor_analyzer package
    (same objective, start and bounds), to which iterated principal axis factoring also
    converges.

    References
    ----------
    .. [1] Harman, H. H., & Jones, W. H. (1966). Factor analysis by minimizing residuals
       (minres). Psychometrika, 31(3), 351-368.
    .. [2] Revelle, W. psych: Procedures for Psychological, Psychometric, and Personality
       Research (``fa(fm="minres")``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.reliability import one_factor_loadings
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=2000)
    >>> df = pd.DataFrame({f"x{i}": 0.8 * f + 0.6 * rng.normal(size=2000) for i in range(4)})
    >>> one_factor_loadings(df).round(1).tolist()
    [0.8, 0.8, 0.8, 0.8]
    """
    check_choice("missing", missing, ("pairwise", "listwise", "item_mean"))
    values = _numeric_items(data, items, missing)
    if values.shape[1] < 2:
        msg = f"a one-factor solution needs at least 2 items; got {list(values.columns)}."
        raise SpecificationError(msg)
    check_min_rows(int(values.shape[0]), 3, "one_factor_loadings")
    loadings = _one_factor(values, max_iter, tol)
    return pd.Series(loadings, index=[str(c) for c in values.columns], name="loading")


def _loadings_array(loadings: Loadings) -> np.ndarray:
    vals = loadings.values() if isinstance(loadings, Mapping) else loadings
    arr = np.asarray(list(vals), dtype="float64")
    if arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(np.abs(arr) > 1.0):
        msg = (
            "loadings must be finite standardized loadings in [-1, 1], at least one; "
            f"got {arr.tolist()}."
        )
        raise SpecificationError(msg)
    return arr


def composite_reliability(loadings: Loadings) -> float:
    """Composite (construct) reliability from standardized loadings.

    Notes
    -----
    ``CR = (sum l)^2 / ((sum l)^2 + sum (1 - l^2))`` (Werts, Linn & Joreskog, 1974;
    Fornell & Larcker, 1981), with error variances 1 - l^2 of standardized indicators.

    References
    ----------
    .. [1] Werts, C. E., Linn, R. L., & Joreskog, K. G. (1974). Intraclass reliability
       estimates. Educational and Psychological Measurement, 34(1), 25-33.
    .. [2] Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models
       with unobservable variables and measurement error. Journal of Marketing Research,
       18(1), 39-50.

    Examples
    --------
    >>> from scoring.reliability import composite_reliability
    >>> round(composite_reliability([0.7, 0.8, 0.9]), 4)
    0.8446
    """
    arr = _loadings_array(loadings)
    s = float(arr.sum()) ** 2
    return s / (s + float(np.sum(1.0 - arr**2)))


def average_variance_extracted(
    loadings: Loadings,
) -> float:
    """Average variance extracted: the mean squared standardized loading.

    Notes
    -----
    ``AVE = sum l^2 / k`` (Fornell & Larcker, 1981); 0.5 is the usual threshold.

    References
    ----------
    .. [1] Fornell, C., & Larcker, D. F. (1981). Journal of Marketing Research, 18(1),
       39-50.

    Examples
    --------
    >>> from scoring.reliability import average_variance_extracted
    >>> round(average_variance_extracted([0.7, 0.8, 0.9]), 4)
    0.6467
    """
    arr = _loadings_array(loadings)
    return float(np.mean(arr**2))


@dataclass(frozen=True, slots=True, kw_only=True)
class ReliabilityResult(Result):
    """Result of :func:`reliability`.

    Attributes
    ----------
    dimensions : pandas.DataFrame
        One row per dimension: ``dimension, k, n, n_not_applicable, alpha,
        alpha_standardized, ci_low, ci_high, composite_reliability, ave, weak_alpha,
        weak_cr, weak_ave, weak``. ``n_not_applicable`` counts the respondents left out
        because an item of the dimension did not apply to them (alpha needs complete
        rows; such a cell is not missing and is never imputed).
    items : pandas.DataFrame
        One row per item: ``dimension, item, n, mean, sd, item_total_r,
        alpha_if_deleted, loading``.
    loadings_source : str
        ``"one_factor_minres"`` (estimated per dimension) or ``"given"``.
    thresholds : dict
        The flag thresholds used (``alpha``, ``cr``, ``ave``).
    missing : str
        Missing-data rule applied within each dimension.
    confidence : float
        Level of the alpha intervals.
    htmt : pandas.DataFrame or None
        Heterotrait-monotrait ratios between the dimensions (dimension x dimension, NaN
        on the diagonal) from the pairwise item correlations, with absolute
        correlations (seminr's and SmartPLS's convention; see
        :func:`scoring.pls_assess.htmt`); None with a single dimension.
    """

    dimensions: pd.DataFrame
    items: pd.DataFrame
    loadings_source: str
    thresholds: dict[str, float]
    missing: str
    confidence: float
    htmt: pd.DataFrame | None = None

    @property
    def n_used(self) -> int:
        """The most respondents any dimension used (each follows ``missing``)."""
        return int(self.dimensions["n"].max()) if len(self.dimensions) else 0

    @property
    def parameters(self) -> dict[str, Any]:
        """``loadings_source`` and ``thresholds``."""
        return parameters_of(self, ("loadings_source", "thresholds"))

    def summary(self) -> pd.DataFrame:
        """The dimension table."""
        return self.dimensions


def _warn_small(dim: str, ar: AlphaResult) -> None:
    """The small-sample warnings of :func:`reliability` (see its docstring)."""
    if ar.n < ar.k:
        warnings.warn(
            f"dimension {dim!r}: alpha rests on {ar.n} rows for {ar.k} items (fewer rows "
            "than items): the covariance matrix is singular and alpha, its interval and "
            "the loadings are unstable. Collect more answers.",
            SmallSampleWarning,
            stacklevel=3,
        )
    constant = ar.items.loc[ar.items["sd"] <= 0.0, "item"].tolist()
    if constant:
        warnings.warn(
            f"dimension {dim!r}: item(s) {constant} are constant (every respondent gave the "
            "same answer): the standardized alpha and their item-total correlations are "
            "undefined (NaN). Drop them from the scale or collect more varied answers.",
            SmallSampleWarning,
            stacklevel=3,
        )


def _htmt(df: pd.DataFrame, dims: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """HTMT between dimensions from the pairwise correlations of their items."""
    cols = [c for items in dims.values() for c in items]
    unique = list(dict.fromkeys(cols))
    corr = check_numeric(df, unique).corr().to_numpy(dtype=float)
    pos = {c: k for k, c in enumerate(unique)}
    take = [pos[c] for c in cols]
    R = corr[np.ix_(take, take)]
    odm = np.zeros((len(cols), len(dims)))
    start = 0
    for j, items in enumerate(dims.values()):
        odm[start : start + len(items), j] = 1.0
        start += len(items)
    names = list(dims)
    ratios = htmt(R[None], odm, absolute=True)[0]
    return pd.DataFrame(ratios, index=pd.Index(names, name="dimension"), columns=names)


def reliability(
    data: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]],
    loadings: Mapping[str, float] | None = None,
    scale: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
    min_alpha: float = 0.7,
    min_cr: float = 0.7,
    min_ave: float = 0.5,
) -> ReliabilityResult:
    """Reliability of each dimension: alpha, composite reliability, AVE and weak flags.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one numeric column per item.
    dimensions : mapping of str to sequence of str
        Dimension -> item columns (at least 2 items per dimension).
    loadings : mapping of str to float, optional
        Standardized loadings per item (e.g. from a CFA or a PLS outer model). When
        omitted they are estimated per dimension by :func:`one_factor_loadings`.
    scale : (min, max) or mapping of str to (min, max), optional
        The items' rating scale, or dimension -> its scale: an answer off the scale or
        between its whole-number points (``99`` or ``4.5`` on 1-7) raises
        :class:`~scoring.errors.DataError`. ``None`` (the default, or a dimension absent
        from the mapping) skips the check.
    missing : {'pairwise', 'listwise', 'item_mean'}
        Applied to each dimension's items separately.
    confidence : float
        Level of Feldt's interval for alpha.
    min_alpha, min_cr, min_ave : float
        A dimension is flagged weak when alpha < min_alpha (Nunnally, 1978), CR < min_cr
        or AVE < min_ave (Fornell & Larcker, 1981).

    Returns
    -------
    ReliabilityResult

    Raises
    ------
    SpecificationError
        A dimension with fewer than 2 items, or ``loadings`` missing an item.
    DataError
        Non-numeric answers, or answers off ``scale``.
    InsufficientDataError
        A dimension with fewer than 3 usable rows (n = 1 or n = 2).
    SingularMatrixError
        A constant item when the loadings are estimated (their correlations are undefined).

    Warns
    -----
    SmallSampleWarning
        Fewer rows than items in a dimension; a constant item (given ``loadings``); or
        estimated loadings outside [-1, 1] (a Heywood case, common in small samples), for
        which CR and AVE are reported as NaN.

    Notes
    -----
    See :func:`cronbach_alpha`, :func:`composite_reliability` and
    :func:`average_variance_extracted` for the formulas.

    References
    ----------
    .. [1] Nunnally, J. C. (1978). Psychometric Theory (2nd ed.). McGraw-Hill.
    .. [2] Fornell, C., & Larcker, D. F. (1981). Journal of Marketing Research, 18(1),
       39-50.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.reliability import reliability
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> df = pd.DataFrame(np.round(4 + f + rng.normal(size=(300, 4))), columns=list("abcd"))
    >>> res = reliability(df, dimensions={"d1": ["a", "b"], "d2": ["c", "d"]})
    >>> res.dimensions["k"].tolist()
    [2, 2]
    """
    check_choice("missing", missing, ("pairwise", "listwise", "item_mean"))
    dims = check_mapping(dimensions, "dimensions")
    df = check_frame(data)
    dim_rows, item_rows = [], []
    for dim, cols in dims.items():
        if len(cols) < 2:
            msg = f"dimensions[{dim!r}] has {len(cols)} item; reliability needs at least 2."
            raise SpecificationError(msg)
        dim_scale = scale.get(dim) if isinstance(scale, Mapping) else scale
        values = check_scale(check_numeric(df, cols), dim_scale)
        na = not_applicable_mask(df, cols)
        values = apply_missing_rule(
            values, missing, f"dimension {dim!r}", not_applicable=na, complete=True
        )
        ar = _alpha_core(values, confidence, missing)
        _warn_small(dim, ar)
        if loadings is None:
            lam = _one_factor(values, _MAX_ITER, 1e-9)
        else:
            absent = [c for c in cols if c not in loadings]
            if absent:
                msg = f"loadings has no value for item(s) {absent} of dimension {dim!r}."
                raise SpecificationError(msg)
            lam = np.asarray([float(loadings[c]) for c in cols])
        valid = bool(np.all(np.isfinite(lam)) and np.all(np.abs(lam) <= 1.0))
        if not valid:
            warnings.warn(
                f"dimension {dim!r}: the loadings {np.round(lam, 3).tolist()} are not all in "
                "[-1, 1] (a Heywood case, common in small samples), so its composite "
                "reliability and AVE are reported as NaN. Collect more answers or give "
                "loadings from a CFA.",
                SmallSampleWarning,
                stacklevel=2,
            )
        cr = composite_reliability(lam) if valid else math.nan
        ave = average_variance_extracted(lam) if valid else math.nan
        dim_rows.append(
            {
                "dimension": dim,
                "k": ar.k,
                "n": ar.n,
                "n_not_applicable": count_not_applicable(na),
                "alpha": ar.alpha,
                "alpha_standardized": ar.alpha_standardized,
                "ci_low": ar.ci_low,
                "ci_high": ar.ci_high,
                "composite_reliability": cr,
                "ave": ave,
                "weak_alpha": not ar.alpha >= min_alpha,
                "weak_cr": not cr >= min_cr,
                "weak_ave": not ave >= min_ave,
            }
        )
        items = ar.items.assign(loading=lam)
        items.insert(0, "dimension", dim)
        item_rows.append(items)
    table = pd.DataFrame(dim_rows)
    table["weak"] = table[["weak_alpha", "weak_cr", "weak_ave"]].any(axis=1)
    return ReliabilityResult(
        htmt=_htmt(df, dims) if len(dims) > 1 else None,
        dimensions=table,
        items=pd.concat(item_rows, ignore_index=True),
        loadings_source="one_factor_minres" if loadings is None else "given",
        thresholds={"alpha": min_alpha, "cr": min_cr, "ave": min_ave},
        missing=missing,
        confidence=confidence,
    )
