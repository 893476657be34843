"""Driver analysis: what moves overall satisfaction, and what to fix first.

OLS of overall satisfaction on attribute ratings or dimension scores (HC3 robust errors,
standardized betas), relative importance (Johnson's relative weights and the Shapley /
LMG decomposition of R²), ordered logit and probit for an ordinal satisfaction item, and
the importance–performance table that turns importance and performance into priorities.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats

from scoring._results import Result, parameters_of
from scoring._validation import (
    apply_missing_rule,
    check_choice,
    check_columns,
    check_frame,
    check_min_rows,
    check_numeric,
    check_scale,
    count_not_applicable,
    not_applicable_mask,
    shown,
)
from scoring.errors import (
    ConvergenceWarning,
    DataError,
    SingularMatrixError,
    SpecificationError,
)

__all__ = [
    "DriverResult",
    "OrdinalResult",
    "driver_analysis",
    "importance_performance",
    "ordinal_drivers",
    "relative_weights",
    "shapley_importance",
]

Cut = Literal["mean", "median"]
Link = Literal["logit", "probit"]
DriverMissing = Literal["listwise", "item_mean"]
Array = NDArray[Any]

QUADRANTS = {
    (True, False): "concentrate here",
    (True, True): "keep up the good work",
    (False, False): "low priority",
    (False, True): "possible overkill",
}


def _cut_value(values: pd.Series, cut: Cut | float, name: str) -> float:
    if isinstance(cut, str):
        check_choice(name, cut, ("mean", "median"))
        return float(values.mean() if cut == "mean" else values.median())
    return float(cut)


def importance_performance(
    importance: Mapping[str, float] | pd.Series,
    performance: Mapping[str, float] | pd.Series,
    *,
    performance_max: float = 100.0,
    importance_cut: Cut | float = "mean",
    performance_cut: Cut | float = "mean",
) -> pd.DataFrame:
    """Importance–performance table ordered by what to fix first.

    Parameters
    ----------
    importance : mapping or Series
        Driver -> importance (a total effect, a standardized beta, a relative weight).
    performance : mapping or Series
        Driver -> performance on a 0–``performance_max`` scale (an index, a mean).
    performance_max : float
        Best possible performance (100 for an index).
    importance_cut, performance_cut : {"mean", "median"} or float
        Where the quadrant lines are drawn (Martilla & James use the grand means).

    Returns
    -------
    DataFrame
        One row per driver (index ``driver``), sorted by ``priority``: ``importance``,
        ``performance``, ``quadrant``, ``potential`` and ``priority`` (1 = fix first).

    Raises
    ------
    SpecificationError
        When the two mappings name different drivers or are empty.

    Notes
    -----
    Quadrants (Martilla & James, 1977): high importance and low performance =
    "concentrate here"; high/high = "keep up the good work"; low/low = "low priority";
    low importance, high performance = "possible overkill". Within and across quadrants
    drivers are ranked by the improvement potential
    ``potential = importance × (performance_max − performance) / performance_max``, the
    gain in the outcome if the driver were raised to the top of its scale — the
    ACSI "impact × room to improve" reading of the priority map.

    References
    ----------
    .. [1] Martilla, J. A., & James, J. C. (1977). Importance-performance analysis.
       *Journal of Marketing*, 41(1), 77-79.
    .. [2] Fornell, C., Johnson, M. D., Anderson, E. W., Cha, J., & Bryant, B. E. (1996).
       The American Customer Satisfaction Index: Nature, purpose, and findings.
       *Journal of Marketing*, 60(4), 7-18.

    Examples
    --------
    >>> from scoring.drivers import importance_performance
    >>> t = importance_performance({"price": 0.5, "staff": 0.2, "speed": 0.4},
    ...                            {"price": 60, "staff": 85, "speed": 80})
    >>> t["priority"].to_dict()
    {'price': 1, 'speed': 2, 'staff': 3}
    >>> t["quadrant"].tolist()
    ['concentrate here', 'keep up the good work', 'possible overkill']
    """
    imp = pd.Series(importance, dtype="float64")
    perf = pd.Series(performance, dtype="float64")
    if imp.empty or set(imp.index) != set(perf.index):
        msg = (
            "importance and performance must name the same, non-empty set of drivers; "
            f"got {sorted(map(str, imp.index))} and {sorted(map(str, perf.index))}."
        )
        raise SpecificationError(msg)
    perf = perf.reindex(imp.index)
    ic = _cut_value(imp, importance_cut, "importance_cut")
    pc = _cut_value(perf, performance_cut, "performance_cut")
    quad = [QUADRANTS[(bool(i >= ic), bool(p >= pc))] for i, p in zip(imp, perf, strict=True)]
    out = pd.DataFrame(
        {
            "importance": imp,
            "performance": perf,
            "quadrant": quad,
            "potential": imp * (performance_max - perf) / performance_max,
        }
    )
    out.index = pd.Index([str(i) for i in imp.index], name="driver")
    out = out.sort_values("potential", ascending=False, kind="stable")
    out["priority"] = np.arange(1, len(out) + 1)
    return out


# --------------------------------------------------------------------------------------
# relative importance from a correlation matrix
# --------------------------------------------------------------------------------------
def _corr_parts(corr: pd.DataFrame, outcome: str) -> tuple[list[str], Array, Array]:
    names = [str(c) for c in corr.columns if c != outcome]
    R = corr.loc[names, names].to_numpy(dtype=float)
    r = corr.loc[names, outcome].to_numpy(dtype=float)
    return names, R, r


def _r2(R: Array, r: Array, subset: Sequence[int]) -> float:
    if not subset:
        return 0.0
    idx = list(subset)
    beta = np.linalg.solve(R[np.ix_(idx, idx)], r[idx])
    return float(beta @ r[idx])


def relative_weights(corr: pd.DataFrame, outcome: str) -> pd.Series:
    """Johnson's (2000) relative weights of the predictors of ``outcome``.

    Parameters
    ----------
    corr : DataFrame
        Correlation matrix of the outcome and its predictors (labelled both ways).
    outcome : str
        Label of the outcome in ``corr``.

    Returns
    -------
    Series
        Raw relative weight per predictor; they sum to the model R².

    Raises
    ------
    SingularMatrixError
        When the predictors are perfectly collinear.

    Notes
    -----
    With ``R_xx = V Λ V'`` and ``Λ* = V Λ^{1/2} V'`` (the correlations of the predictors
    with their closest orthogonal counterparts), ``β = Λ*^{-1} r_xy`` and
    ``ε_j = Σ_k Λ*_{jk}² β_k²``.

    References
    ----------
    .. [1] Johnson, J. W. (2000). A heuristic method for estimating the relative weight
       of predictor variables in multiple regression. *Multivariate Behavioral
       Research*, 35(1), 1-19.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.drivers import relative_weights
    >>> c = pd.DataFrame([[1, .5, .6], [.5, 1, .3], [.6, .3, 1]],
    ...                  index=["y", "a", "b"], columns=["y", "a", "b"])
    >>> relative_weights(c, "y").round(4).to_dict()
    {'a': 0.1813, 'b': 0.2913}
    """
    names, R, r = _corr_parts(corr, outcome)
    lam, vec = np.linalg.eigh(R)
    if lam.min() <= 1e-12 * max(1.0, lam.max()):
        msg = (
            f"relative_weights: the predictors {names} are perfectly collinear (smallest "
            "eigenvalue of their correlation matrix is 0); drop a redundant predictor."
        )
        raise SingularMatrixError(msg)
    half = vec @ np.diag(np.sqrt(lam)) @ vec.T
    beta = np.linalg.solve(half, r)
    return pd.Series((half**2) @ (beta**2), index=names, name="relative_weight")


SHAPLEY_MAX = 15


def shapley_importance(corr: pd.DataFrame, outcome: str) -> pd.Series:
    """Shapley value (LMG) decomposition of R² among the predictors of ``outcome``.

    Parameters
    ----------
    corr : DataFrame
        Correlation matrix of the outcome and at most 15 predictors.
    outcome : str
        Label of the outcome in ``corr``.

    Returns
    -------
    Series
        Each predictor's average gain in R² over all orders of entry; sums to R².

    Raises
    ------
    SpecificationError
        With more than 15 predictors (2^p subsets); use :func:`relative_weights`.

    Notes
    -----
    ``LMG_j = Σ_{S ⊆ P∖{j}} |S|!(p − |S| − 1)!/p! · (R²(S ∪ {j}) − R²(S))``, every
    R² computed from the correlation matrix.

    References
    ----------
    .. [1] Lindeman, R. H., Merenda, P. F., & Gold, R. Z. (1980). *Introduction to
       Bivariate and Multivariate Analysis*. Glenview, IL: Scott, Foresman.
    .. [2] Grömping, U. (2006). Relative importance for linear regression in R: the
       package relaimpo. *Journal of Statistical Software*, 17(1), 1-27.

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.drivers import shapley_importance
    >>> c = pd.DataFrame([[1, .5, .6], [.5, 1, .3], [.6, .3, 1]],
    ...                  index=["y", "a", "b"], columns=["y", "a", "b"])
    >>> shapley_importance(c, "y").round(4).to_dict()  # (0.25 + 0.4725 - 0.36) / 2 for a
    {'a': 0.1813, 'b': 0.2913}
    """
    names, R, r = _corr_parts(corr, outcome)
    p = len(names)
    if p > SHAPLEY_MAX:
        msg = (
            f"shapley_importance handles at most {SHAPLEY_MAX} predictors (2^p subsets); "
            f"got {p}. Use relative_weights, which scales to any number."
        )
        raise SpecificationError(msg)
    try:
        r2 = {s: _r2(R, r, s) for k in range(p + 1) for s in combinations(range(p), k)}
    except np.linalg.LinAlgError:
        msg = f"shapley_importance: the predictors {names} are perfectly collinear."
        raise SingularMatrixError(msg) from None
    out = np.zeros(p)
    for s, value in r2.items():
        k = len(s)
        w = math.factorial(k) * math.factorial(p - k - 1) / math.factorial(p) if k < p else 0
        for j in range(p):
            if j not in s:
                out[j] += w * (r2[tuple(sorted((*s, j)))] - value)
    return pd.Series(out, index=names, name="shapley")


# --------------------------------------------------------------------------------------
# OLS drivers
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class DriverResult(Result):
    """Result of :func:`driver_analysis`.

    Attributes
    ----------
    outcome : str
    coefficients : DataFrame
        Per term (``const`` first): ``estimate``, ``std_error`` (HC3 unless asked
        otherwise), ``t``, ``p_value``, ``ci_lower``, ``ci_upper``, ``std_beta``.
    importance : DataFrame
        Per driver: ``std_beta``, ``relative_weight`` and its ``relative_weight_share``
        (% of R²), ``shapley`` and ``shapley_share`` (when ≤ 15 drivers), ``mean``,
        ``performance`` (0–100), ``rank`` (by relative weight).
    importance_performance : DataFrame
        Relative-weight share vs. performance, ordered by what to fix first.
    r_squared, adj_r_squared : float
    n_obs : int
    cov_type : str
    driver_scores : DataFrame
        The driver values used (dimension means when drivers were grouped).
    n_not_applicable : int
        Respondents left out because the outcome or a driver item did not apply to
        them (a display condition hid it): not missing, never imputed.
    """

    outcome: str
    coefficients: pd.DataFrame
    importance: pd.DataFrame
    importance_performance: pd.DataFrame
    r_squared: float
    adj_r_squared: float
    n_obs: int
    cov_type: str
    driver_scores: pd.DataFrame = field(repr=False)
    n_not_applicable: int = 0

    @property
    def n_used(self) -> int:
        """Respondents in the regression."""
        return int(self.n_obs)

    @property
    def parameters(self) -> dict[str, Any]:
        """``cov_type`` and ``outcome``."""
        return parameters_of(self, ("cov_type", "outcome"))

    def summary(self) -> pd.DataFrame:
        """Coefficients joined with the importance measures, one row per driver."""
        return self.coefficients.join(self.importance.drop(columns="std_beta")).reset_index()


def _driver_frame(
    frame: pd.DataFrame,
    outcome: str,
    drivers: Sequence[str] | Mapping[str, Sequence[str]],
    missing: str,
    scale: tuple[float, float] | None = None,
) -> tuple[pd.Series, pd.DataFrame, int]:
    """Outcome and driver columns (dimension means for grouped items), missing rule applied,
    and how many rows were left out as not applicable; the driver items' answers are
    checked against ``scale`` first."""
    if isinstance(drivers, str):
        drivers = [drivers]
    if isinstance(drivers, Mapping):
        groups = {str(k): [str(c) for c in v] for k, v in drivers.items()}
        empty = [k for k, v in groups.items() if not v]
        if empty:
            msg = f"drivers[{empty[0]!r}] has no items; give each dimension at least one."
            raise SpecificationError(msg)
    else:
        groups = {str(c): [str(c)] for c in drivers}
    if not groups:
        msg = "drivers must name at least one column or dimension; got none."
        raise SpecificationError(msg)
    cols = [outcome, *dict.fromkeys(c for v in groups.values() for c in v)]
    if outcome in cols[1:]:
        msg = f"outcome {outcome!r} is also listed as a driver; a variable cannot explain itself."
        raise SpecificationError(msg)
    check_choice("missing", missing, ("listwise", "item_mean"))
    raw = check_numeric(frame, cols)
    check_scale(raw[cols[1:]], scale)
    na = not_applicable_mask(frame, cols)
    raw = apply_missing_rule(raw, missing, not_applicable=na, complete=True)
    scores = pd.DataFrame({k: raw[v].mean(axis=1) for k, v in groups.items()}, index=raw.index)
    const = [c for c in [outcome] if raw[c].nunique() < 2] + [
        c for c in scores.columns if scores[c].nunique() < 2
    ]
    if const:
        msg = (
            f"{const[0]!r} is constant in the rows used; it cannot enter a regression. "
            "Drop it or collect more varied answers."
        )
        raise DataError(msg)
    return raw[outcome], scores, count_not_applicable(na)


def _performance(
    means: pd.Series, scale: tuple[float, float] | None, observed: pd.DataFrame
) -> pd.Series:
    lo, hi = (
        scale if scale is not None else (float(observed.min().min()), float(observed.max().max()))
    )
    if not hi > lo:
        msg = f"scale must be (min, max) with max > min; got {(lo, hi)}."
        raise SpecificationError(msg)
    return 100 * (means - lo) / (hi - lo)


def driver_analysis(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str] | Mapping[str, Sequence[str]],
    cov_type: Literal["HC3", "HC1", "nonrobust"] = "HC3",
    scale: tuple[float, float] | None = None,
    missing: DriverMissing = "listwise",
    level: float = 0.95,
) -> DriverResult:
    """OLS driver analysis of overall satisfaction with robust errors and importance.

    Parameters
    ----------
    data : DataFrame
        One row per response.
    outcome : str
        Overall satisfaction column.
    drivers : list of str or mapping of str to list of str
        Attribute columns, or dimension -> items (a dimension's score is the mean of
        its items per respondent).
    cov_type : {"HC3", "HC1", "nonrobust"}
        Covariance of the coefficients (statsmodels); HC3 by default.
    scale : (min, max), optional
        Answer scale of the drivers, for performance on 0–100 (default: the observed
        range of the driver columns).
    missing : {"listwise", "item_mean"}
        Missing-answer rule.
    level : float
        Confidence level of the coefficient intervals.

    Returns
    -------
    DriverResult

    Raises
    ------
    SpecificationError
        No drivers, an empty dimension, or the outcome among the drivers.
    DataError
        Missing or non-numeric column, constant outcome or driver, a driver answer off
        ``scale`` (``99`` or ``4.5`` on 1-7) when it is given.
    InsufficientDataError
        Fewer rows than drivers + 2 (so n = 1, n = 2 and fewer rows than drivers are
        refused).
    SingularMatrixError
        Perfectly collinear drivers.

    Notes
    -----
    ``y = b₀ + Σ b_j x_j + e`` by OLS; HC3 errors use
    ``(X'X)⁻¹ X' diag(e_i²/(1 − h_ii)²) X (X'X)⁻¹`` (MacKinnon & White 1985) with
    t-based p-values on ``n − k − 1`` df. Standardized betas are ``b_j·s_j/s_y``.
    Importance: Johnson's relative weights and the Shapley/LMG shares of R²
    (:func:`relative_weights`, :func:`shapley_importance`). Performance is the
    driver's mean on 0–100; the importance–performance table uses the relative-weight
    share.

    References
    ----------
    .. [1] MacKinnon, J. G., & White, H. (1985). Some heteroskedasticity-consistent
       covariance matrix estimators with improved finite sample properties. *Journal of
       Econometrics*, 29(3), 305-325.
    .. [2] Johnson, J. W. (2000). A heuristic method for estimating the relative weight
       of predictor variables in multiple regression. *Multivariate Behavioral
       Research*, 35(1), 1-19.
    .. [3] Martilla, J. A., & James, J. C. (1977). Importance-performance analysis.
       *Journal of Marketing*, 41(1), 77-79.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.drivers import driver_analysis
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame(rng.integers(1, 8, size=(200, 3)), columns=["price", "staff", "speed"])
    >>> df["overall"] = (0.6 * df["price"] + 0.3 * df["speed"] + rng.normal(size=200)).round()
    >>> res = driver_analysis(df, outcome="overall", drivers=["price", "staff", "speed"],
    ...                       scale=(1, 7))
    >>> res.importance["rank"].to_dict()
    {'price': 1, 'staff': 3, 'speed': 2}
    """
    import statsmodels.api as sm

    frame = check_frame(data)
    check_choice("cov_type", cov_type, ("HC3", "HC1", "nonrobust"))
    if not 0 < level < 1:
        msg = f"level must lie strictly between 0 and 1; got {level!r}."
        raise SpecificationError(msg)
    y, X, n_na = _driver_frame(frame, outcome, drivers, missing, scale)
    n, k = X.shape
    check_min_rows(n, k + 2, f"driver_analysis with {k} driver(s)")
    design = sm.add_constant(X, has_constant="add")
    if np.linalg.matrix_rank(design.to_numpy()) < k + 1:
        msg = (
            f"driver_analysis: the drivers {list(X.columns)} are perfectly collinear; "
            "drop a redundant driver or merge them into one dimension."
        )
        raise SingularMatrixError(msg)
    fit = sm.OLS(y, design).fit(cov_type=cov_type, use_t=True)
    ci = fit.conf_int(alpha=1 - level)
    sd = X.std()
    coef = pd.DataFrame(
        {
            "estimate": fit.params,
            "std_error": fit.bse,
            "t": fit.tvalues,
            "p_value": fit.pvalues,
            "ci_lower": ci[0],
            "ci_upper": ci[1],
            "std_beta": (fit.params * sd / y.std()).reindex(fit.params.index),
        }
    )
    coef.index.name = "term"
    corr = pd.concat([y, X], axis=1).corr()
    rw = relative_weights(corr, outcome)
    imp = pd.DataFrame(
        {
            "std_beta": coef.loc[X.columns, "std_beta"],
            "relative_weight": rw,
            "relative_weight_share": 100 * rw / rw.sum(),
        }
    )
    if k <= SHAPLEY_MAX:
        sh = shapley_importance(corr, outcome)
        imp["shapley"] = sh
        imp["shapley_share"] = 100 * sh / sh.sum()
    means = X.mean()
    imp["mean"] = means
    imp["performance"] = _performance(means, scale, X)
    imp["rank"] = imp["relative_weight"].rank(ascending=False, method="min").astype(int)
    imp.index.name = "driver"
    ipa = importance_performance(imp["relative_weight_share"], imp["performance"])
    return DriverResult(
        outcome=outcome,
        coefficients=coef,
        importance=imp,
        importance_performance=ipa,
        r_squared=float(fit.rsquared),
        adj_r_squared=float(fit.rsquared_adj),
        n_obs=int(n),
        cov_type=cov_type,
        driver_scores=X,
        n_not_applicable=n_na,
    )


# --------------------------------------------------------------------------------------
# ordinal drivers
# --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class OrdinalResult(Result):
    """Result of :func:`ordinal_drivers`.

    Attributes
    ----------
    outcome : str
    link : str
    categories : list
        Outcome categories, lowest first.
    coefficients : DataFrame
        Per driver: ``estimate``, ``std_error``, ``z``, ``p_value``, ``odds_ratio``
        (logit only; NaN for probit).
    thresholds : DataFrame
        Cut points between adjacent categories (index ``"a|b"``): ``estimate`` and
        ``std_error`` on the cut-point scale (R ``polr``'s ``zeta``).
    log_likelihood, aic, bic, pseudo_r_squared : float
        ``pseudo_r_squared`` is McFadden's ``1 − LL/LL₀``.
    n_obs, n_iter : int
    converged : bool
    """

    outcome: str
    link: str
    categories: list[Any]
    coefficients: pd.DataFrame
    thresholds: pd.DataFrame
    log_likelihood: float
    aic: float
    bic: float
    pseudo_r_squared: float
    n_obs: int
    n_iter: int
    converged: bool

    def summary(self) -> pd.DataFrame:
        """Coefficients then thresholds in one table (column ``kind``)."""
        a = self.coefficients[["estimate", "std_error"]].assign(kind="coefficient")
        b = self.thresholds.assign(kind="threshold")
        return pd.concat([a, b]).rename_axis("term").reset_index()


def _ordered_outcome(s: pd.Series, order: Sequence[Any] | None, name: str) -> pd.Categorical:
    if order is not None:
        order = list(order)
        bad = sorted(set(s.dropna().unique()) - set(order), key=str)
        if bad:
            msg = (
                f"data column {name!r} holds value(s) {shown(bad[:5])} that are not in order "
                f"{order}; add them to order or recode the column."
            )
            raise DataError(msg)
        return pd.Categorical(s, categories=order, ordered=True)
    if isinstance(s.dtype, pd.CategoricalDtype) and s.dtype.ordered:
        return pd.Categorical(s, categories=list(s.dtype.categories), ordered=True)
    if pd.api.types.is_numeric_dtype(s.dtype):
        return pd.Categorical(s, categories=sorted(s.dropna().unique()), ordered=True)
    msg = (
        f"data column {name!r} is text without an order; pass order=[lowest, ..., highest] "
        f"(values seen: {sorted(map(str, s.dropna().unique()))[:6]})."
    )
    raise DataError(msg)


def ordinal_drivers(
    data: pd.DataFrame,
    *,
    outcome: str,
    drivers: Sequence[str],
    link: Link = "logit",
    order: Sequence[Any] | None = None,
    max_iter: int = 200,
) -> OrdinalResult:
    """Ordered logit or probit of an ordinal satisfaction item on its drivers.

    Parameters
    ----------
    data : DataFrame
        One row per response; rows with a missing outcome or driver are dropped.
    outcome : str
        The ordinal satisfaction column (numbers, an ordered categorical, or text with
        ``order``).
    drivers : list of str
        Numeric driver columns (no constant: the thresholds play its part).
    link : {"logit", "probit"}
        Link function.
    order : sequence, optional
        Outcome categories from lowest to highest.
    max_iter : int
        Newton iterations before a :class:`scoring.errors.ConvergenceWarning`.

    Returns
    -------
    OrdinalResult

    Raises
    ------
    DataError
        Unordered text outcome, values outside ``order``, non-numeric drivers, or
        fewer than two outcome categories observed.
    InsufficientDataError
        Fewer rows than parameters + 1.

    Notes
    -----
    ``P(y ≤ j | x) = F(θ_j − x'β)`` with ``F`` logistic or normal (the sign convention
    of R's ``polr``). statsmodels' ``OrderedModel`` estimates the first threshold and
    then the logs of the increments, ``θ_j = θ_{j−1} + exp(δ_j)``, which keeps the
    thresholds ordered; the table reports the thresholds ``θ_j`` themselves, with
    standard errors by the delta method (``J Σ J'`` with ``J = ∂θ/∂(θ₁, δ)``).
    Fitted by Newton's method on the analytic score and a numerical Hessian.

    References
    ----------
    .. [1] McCullagh, P. (1980). Regression models for ordinal data. *Journal of the
       Royal Statistical Society B*, 42(2), 109-142.
    .. [2] Venables, W. N., & Ripley, B. D. (2002). *Modern Applied Statistics with S*
       (4th ed.), section 7.3 (``polr``). New York: Springer.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from scoring.drivers import ordinal_drivers
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=500)
    >>> y = np.digitize(1.0 * x + rng.logistic(size=500), [-1, 1]) + 1
    >>> res = ordinal_drivers(pd.DataFrame({"x": x, "sat": y}), outcome="sat", drivers=["x"])
    >>> res.categories
    [1, 2, 3]
    >>> round(float(res.coefficients.loc["x", "estimate"]), 2)
    0.99
    """
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    frame = check_frame(data)
    check_choice("link", link, ("logit", "probit"))
    drivers = [drivers] if isinstance(drivers, str) else [str(d) for d in drivers]
    if not drivers:
        msg = "drivers must name at least one column; got none."
        raise SpecificationError(msg)
    check_columns(frame, [outcome, *drivers])
    X = check_numeric(frame, drivers)
    y = _ordered_outcome(frame[outcome], order, outcome)
    keep = X.notna().all(axis=1).to_numpy() & ~pd.isna(np.asarray(y))
    X = X[keep]
    y = y[keep]
    cats = list(y.categories)
    used = [c for c in cats if (y == c).any()]
    if len(used) < 2:
        msg = f"data column {outcome!r} needs at least two observed categories; got {shown(used)}."
        raise DataError(msg)
    if len(used) < len(cats):
        msg = (
            f"data column {outcome!r}: categories {shown([c for c in cats if c not in used])} are "
            "never observed; their thresholds are not identified. Merge them or drop them "
            "from order."
        )
        raise DataError(msg)
    n_par = len(drivers) + len(cats) - 1
    check_min_rows(len(X), n_par + 1, "ordinal_drivers")
    const = [c for c in drivers if X[c].nunique() < 2]
    if const:
        msg = f"driver {const[0]!r} is constant in the rows used; drop it."
        raise DataError(msg)
    model = OrderedModel(pd.Series(y, index=X.index, name=outcome), X, distr=link)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' own warnings; ours follows below
        fit = model.fit(method="newton", maxiter=max_iter, disp=False)
    converged = bool(fit.mle_retvals.get("converged", False))
    if not converged:
        msg = (
            f"ordinal_drivers: Newton iterations did not converge in max_iter={max_iter}; "
            "estimates may be unreliable (check for categories separated by a driver)."
        )
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    params = np.asarray(fit.params, dtype=float)
    cov = np.asarray(fit.cov_params(), dtype=float)
    k = len(drivers)
    beta, se_beta = params[:k], np.sqrt(np.diag(cov)[:k])
    z = beta / se_beta
    coef = pd.DataFrame(
        {
            "estimate": beta,
            "std_error": se_beta,
            "z": z,
            "p_value": 2 * stats.norm.sf(np.abs(z)),
            "odds_ratio": np.exp(beta) if link == "logit" else np.nan,
        },
        index=pd.Index(drivers, name="term"),
    )
    # thresholds: theta_1 = d_1, theta_j = theta_{j-1} + exp(d_j)
    raw = params[k:]
    steps = np.concatenate([[raw[0]], np.exp(raw[1:])])
    theta = np.cumsum(steps)
    jac = np.tril(np.ones((len(raw), len(raw)))) * steps[None, :]
    jac[:, 0] = 1.0
    tcov = jac @ cov[k:, k:] @ jac.T
    labels = [f"{a}|{b}" for a, b in zip(cats[:-1], cats[1:], strict=True)]
    thr = pd.DataFrame(
        {"estimate": theta, "std_error": np.sqrt(np.diag(tcov))},
        index=pd.Index(labels, name="term"),
    )
    freq = np.bincount(np.asarray(y.codes), minlength=len(cats)) / len(y)
    ll0 = float(len(y) * (freq[freq > 0] * np.log(freq[freq > 0])).sum())
    return OrdinalResult(
        outcome=outcome,
        link=link,
        categories=[c.item() if hasattr(c, "item") else c for c in cats],
        coefficients=coef,
        thresholds=thr,
        log_likelihood=float(fit.llf),
        aic=float(fit.aic),
        bic=float(fit.bic),
        pseudo_r_squared=1 - float(fit.llf) / ll0,
        n_obs=len(y),
        n_iter=int(fit.mle_retvals.get("iterations", 0)),
        converged=converged,
    )
