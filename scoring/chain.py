"""The service-profit chain across units: staff satisfaction → customer satisfaction →
retention, per branch or store (Heskett et al., 1994).

- :func:`multilevel_model`: a linear mixed model with a random intercept per group
  (statsmodels ``MixedLM``, REML), its fixed effects with intervals, the two variance
  components and the share of the variance that lies between groups.
- :func:`service_profit_chain`: customer and staff surveys (and, where known, retention)
  linked by a unit column: per-unit staff satisfaction, customer satisfaction and
  retention; their unit-level correlations with intervals; and the multilevel model of
  customer satisfaction on the unit's staff satisfaction, which says how much of the
  customer variance lies between units and how much of that the staff explain.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from scoring._results import Result
from scoring._validation import check_columns, check_frame, check_numeric, py_label
from scoring.errors import (
    ConvergenceWarning,
    DataError,
    InsufficientDataError,
    SingularMatrixError,
)
from scoring.inference import mean_interval
from scoring.loyalty import _binary, wilson_interval

__all__ = [
    "ChainResult",
    "MultilevelResult",
    "multilevel_model",
    "service_profit_chain",
]

#: Fewest units with both staff and customer answers the chain needs: with two units a
#: correlation is ±1 and a between-unit variance cannot be told from noise.
MIN_UNITS = 3


@dataclass(frozen=True, slots=True, kw_only=True)
class MultilevelResult(Result):
    """Result of :func:`multilevel_model`.

    Attributes
    ----------
    fixed_effects : pandas.DataFrame
        Index ``term`` (``const`` first): ``coef, se, z, p, ci_low, ci_high``.
    group_variance, residual_variance : float
        Variance of the random intercepts (τ²) and of the residuals (σ²).
    icc : float
        ``τ² / (τ² + σ²)``: the share of the (remaining) variance that lies between
        groups.
    outcome, group : str
    predictors : tuple of str
    n_used, n_groups : int
        Observations and groups fitted.
    log_likelihood : float
        REML log-likelihood.
    converged : bool
    confidence : float
    """

    fixed_effects: pd.DataFrame
    group_variance: float
    residual_variance: float
    icc: float
    outcome: str
    group: str
    predictors: tuple[str, ...]
    n_used: int
    n_groups: int
    log_likelihood: float
    converged: bool
    confidence: float

    def summary(self) -> pd.DataFrame:
        """Fixed effects plus the variance components as rows ``group_var``, ``scale``."""
        extra = pd.DataFrame(
            {"coef": [self.group_variance, self.residual_variance]},
            index=pd.Index(["group_var", "scale"], name="term"),
        )
        return pd.concat([self.fixed_effects, extra])


def multilevel_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    predictors: Sequence[str],
    group: str,
    confidence: float = 0.95,
) -> MultilevelResult:
    """Random-intercept linear mixed model ``y_ij = x_ij β + u_j + e_ij``.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per observation (customer).
    outcome : str
        Numeric outcome column.
    predictors : sequence of str
        Numeric fixed-effect columns (may be empty: the null model, whose ICC is the
        share of the outcome's variance between groups).
    group : str
        Group column (the unit).
    confidence : float, default 0.95

    Returns
    -------
    MultilevelResult

    Raises
    ------
    InsufficientDataError
        Fewer than two groups, or fewer rows than parameters plus two.
    SingularMatrixError
        Collinear predictors.

    Warns
    -----
    ConvergenceWarning
        statsmodels' optimiser did not converge, or τ² sits on the boundary 0.

    Notes
    -----
    statsmodels ``MixedLM(y, [1, X], groups).fit(reml=True)``; ``u_j ~ N(0, τ²)``,
    ``e_ij ~ N(0, σ²)``; Wald intervals for β. Rows missing any model column are left
    out. ICC ``= τ² / (τ² + σ²)`` (Raudenbush & Bryk, 2002).

    References
    ----------
    .. [1] Raudenbush, S. W., & Bryk, A. S. (2002). Hierarchical Linear Models (2nd ed.).
       Sage.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> unit = np.repeat(np.arange(20), 30)
    >>> y = 5 + rng.normal(0, 1, 20)[unit] + rng.normal(0, 2, unit.size)
    >>> r = multilevel_model(pd.DataFrame({"y": y, "unit": unit}), outcome="y",
    ...                      predictors=[], group="unit")
    >>> 0.1 < r.icc < 0.4
    True
    """
    frame = check_frame(data)
    predictors = list(predictors)
    check_columns(frame, [outcome, *predictors, group])
    num = check_numeric(frame, [outcome, *predictors])
    groups = frame[group]
    ok = num.notna().all(axis=1) & groups.notna()
    num, groups = num[ok], groups[ok]
    n, n_groups = len(num), int(groups.nunique())
    if n_groups < 2:
        msg = (
            f"multilevel_model needs at least 2 groups in {group!r}; got {n_groups} "
            f"({list(groups.unique()[:3])}). A between-group variance needs several groups."
        )
        raise InsufficientDataError(msg)
    if n < len(predictors) + 3:
        msg = f"multilevel_model needs at least {len(predictors) + 3} complete rows; got {n}."
        raise InsufficientDataError(msg)
    design = np.column_stack([np.ones(n), num[predictors].to_numpy(dtype="float64")])
    if np.linalg.matrix_rank(design) < design.shape[1]:
        msg = f"multilevel_model: the predictors {predictors} are constant or collinear; drop one."
        raise SingularMatrixError(msg)
    # lazy: statsmodels takes seconds to import; `import scoring` stays fast
    from statsmodels.regression.mixed_linear_model import MixedLM

    codes = pd.factorize(groups)[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fit = MixedLM(num[outcome].to_numpy(dtype="float64"), design, groups=codes).fit(reml=True)
    for w in caught:
        if fit.converged and "converge" in str(w.message).lower() or "Retrying" in str(w.message):
            continue  # statsmodels retried with another optimiser, which converged
        msg = f"multilevel_model ({outcome} by {group}): {w.message}"
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    k = design.shape[1]
    params = np.asarray(fit.fe_params)
    se = np.asarray(fit.bse_fe)
    zq = float(special.ndtri(0.5 + confidence / 2))
    z = params / se
    fixed = pd.DataFrame(
        {
            "coef": params,
            "se": se,
            "z": z,
            "p": 2 * special.ndtr(-np.abs(z)),
            "ci_low": params - zq * se,
            "ci_high": params + zq * se,
        },
        index=pd.Index(["const", *predictors][:k], name="term"),
    )
    tau2 = float(np.asarray(fit.cov_re)[0, 0])
    sigma2 = float(fit.scale)
    return MultilevelResult(
        fixed_effects=fixed,
        group_variance=tau2,
        residual_variance=sigma2,
        icc=tau2 / (tau2 + sigma2) if tau2 + sigma2 > 0 else math.nan,
        outcome=outcome,
        group=group,
        predictors=tuple(predictors),
        n_used=n,
        n_groups=n_groups,
        log_likelihood=float(fit.llf),
        converged=bool(fit.converged),
        confidence=float(confidence),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChainResult(Result):
    """Result of :func:`service_profit_chain`.

    Attributes
    ----------
    units : pandas.DataFrame
        Index ``unit``: ``staff_n, staff_satisfaction, staff_ci_low, staff_ci_high``,
        (``intent_n, intent_to_stay, intent_ci_low, intent_ci_high``), ``customer_n,
        customer_satisfaction, customer_ci_low, customer_ci_high`` and, with retention,
        ``retention_n, retention, retention_ci_low, retention_ci_high`` (Wilson).
    associations : pandas.DataFrame
        One row per pair of unit-level measures: ``x, y, units, r, ci_low, ci_high, p``
        (Pearson over units; Fisher-z interval from four units on).
    model : MultilevelResult
        Customer satisfaction on the unit's mean staff satisfaction, unit random
        intercept.
    null_model : MultilevelResult
        Customer satisfaction with a unit random intercept only.
    between_unit_share : float
        ICC of the null model: the share of customer-satisfaction variance between units.
    explained_by_staff : float
        ``1 - τ²(model) / τ²(null)``: the share of the between-unit variance that the
        units' staff satisfaction accounts for (negative values mean none).
    units_without_staff, units_without_customers : tuple of str
        Units on one side only: shown in ``units``, left out of the associations and
        the model.
    unit : str
    confidence : float
    """

    units: pd.DataFrame
    associations: pd.DataFrame
    model: MultilevelResult
    null_model: MultilevelResult
    between_unit_share: float
    explained_by_staff: float
    units_without_staff: tuple[str, ...]
    units_without_customers: tuple[str, ...]
    unit: str
    confidence: float

    def summary(self) -> pd.DataFrame:
        """The per-unit table."""
        return self.units

    def to_frame(self) -> pd.DataFrame:
        """The per-unit table (CSV)."""
        return self.units


def _unit_means(
    frame: pd.DataFrame, unit: str, column: str, name: str, short: str, confidence: float
) -> pd.DataFrame:
    values = check_numeric(frame, [column])[column]
    rows = {}
    for u, part in values.groupby(frame[unit].astype("string"), sort=True):
        m = mean_interval(part.to_numpy(), confidence=confidence)
        rows[str(u)] = {
            f"{short}_n": m.n,
            name: m.mean,
            f"{short}_ci_low": m.ci_low,
            f"{short}_ci_high": m.ci_high,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def _correlation(x: pd.Series, y: pd.Series, confidence: float) -> dict[str, float]:
    ok = x.notna() & y.notna()
    xs, ys = x[ok].to_numpy(dtype="float64"), y[ok].to_numpy(dtype="float64")
    out = {"units": int(ok.sum()), "r": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    out["p"] = math.nan
    if xs.size < 3 or np.ptp(xs) == 0 or np.ptp(ys) == 0:
        return out
    res = stats.pearsonr(xs, ys)
    out["r"], out["p"] = float(res.statistic), float(res.pvalue)
    if xs.size >= 4:
        ci = res.confidence_interval(confidence_level=confidence)
        out["ci_low"], out["ci_high"] = float(ci.low), float(ci.high)
    return out


def service_profit_chain(
    customers: pd.DataFrame,
    staff: pd.DataFrame,
    *,
    unit: str,
    customer_score: str,
    staff_score: str,
    intent_to_stay: str | None = None,
    retention: str | None = None,
    churned: str | None = None,
    confidence: float = 0.95,
) -> ChainResult:
    """Staff satisfaction, customer satisfaction and retention across units.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer: ``unit``, ``customer_score`` and optionally ``retention``
        (0/1, 1 = retained; outcomes joined beforehand).
    staff : pandas.DataFrame
        One row per staff member: ``unit``, ``staff_score``, optionally
        ``intent_to_stay``.
    unit : str
        The unit column (branch, store) in both frames; compared as text.
    customer_score, staff_score : str
        Satisfaction score columns.
    intent_to_stay : str, optional
        Staff intent-to-stay score column.
    retention : str, optional
        Customers' 0/1 retention column (1 = retained).
    churned : str, optional
        Or a 0/1 churn column (1 = lost): retention is ``1 - churned``.
    confidence : float, default 0.95

    Returns
    -------
    ChainResult

    Raises
    ------
    InsufficientDataError
        Fewer than three units with both staff and customer answers (one unit cannot
        show a chain).
    DataError
        A missing or non-numeric column, retention not 0/1.

    Notes
    -----
    Unit means are unweighted means over the unit's respondents (t intervals); retention
    per unit is a share with a Wilson interval. Associations are Pearson correlations of
    the unit means (each unit counts once), with Fisher-z intervals. The multilevel model
    regresses each customer's satisfaction on the mean staff satisfaction of the
    customer's unit with a unit random intercept (:func:`multilevel_model`); the null
    model's ICC is the share of customer variance between units, and ``1 - τ²_model /
    τ²_null`` the part of it the staff account for (Snijders & Bosker, 2012, ch. 7).

    References
    ----------
    .. [1] Heskett, J. L., Jones, T. O., Loveman, G. W., Sasser, W. E., & Schlesinger,
       L. A. (1994). Putting the service-profit chain to work. Harvard Business Review,
       72(2), 164-174.
    .. [2] Snijders, T. A. B., & Bosker, R. J. (2012). Multilevel Analysis (2nd ed.).
       Sage.
    """
    cust = check_frame(customers, "customers")
    stf = check_frame(staff, "staff")
    if retention and churned:
        msg = "give retention or churned, not both."
        raise DataError(msg)
    outcome = retention or churned
    check_columns(cust, [unit, customer_score, *([outcome] if outcome else [])], "customers")
    check_columns(stf, [unit, staff_score, *([intent_to_stay] if intent_to_stay else [])], "staff")
    for name, df in (("customers", cust), ("staff", stf)):
        empty = df[unit].isna()
        if empty.any():
            row = py_label(df.index[empty.to_numpy()][0])
            msg = (
                f"{name} column {unit!r} is empty in row {row!r} ({int(empty.sum())} row(s)): "
                "every respondent needs a unit."
            )
            raise DataError(msg)
    parts = [_unit_means(stf, unit, staff_score, "staff_satisfaction", "staff", confidence)]
    if intent_to_stay:
        parts.append(_unit_means(stf, unit, intent_to_stay, "intent_to_stay", "intent", confidence))
    parts.append(
        _unit_means(cust, unit, customer_score, "customer_satisfaction", "customer", confidence)
    )
    if outcome:
        kept = _binary(cust, outcome, "customers")
        if churned:
            kept = 1.0 - kept
        grouped = kept.groupby(cust[unit].astype("string"), sort=True)
        k = grouped.sum()
        nn = grouped.count()
        lo, hi = wilson_interval(k.to_numpy(), nn.to_numpy(), confidence=confidence)
        with np.errstate(invalid="ignore", divide="ignore"):
            share = k.to_numpy(dtype="float64") / nn.to_numpy(dtype="float64")
        parts.append(
            pd.DataFrame(
                {
                    "retention_n": nn.to_numpy(),
                    "retention": share,
                    "retention_ci_low": lo,
                    "retention_ci_high": hi,
                },
                index=k.index.astype(str),
            )
        )
    units = pd.concat(parts, axis=1).sort_index()
    units.index.name = "unit"
    staff_units = set(stf[unit].astype("string"))
    cust_units = set(cust[unit].astype("string"))
    both = sorted(staff_units & cust_units)
    if len(both) < MIN_UNITS:
        msg = (
            f"the service-profit chain needs at least {MIN_UNITS} units with both staff and "
            f"customer answers in {unit!r}; got {len(both)} ({both}). One or two units cannot "
            "show a link between units: add units or analyse them one by one."
        )
        raise InsufficientDataError(msg)
    linked = units.loc[both]
    measures = [
        c
        for c in ("staff_satisfaction", "intent_to_stay", "customer_satisfaction", "retention")
        if c in linked.columns
    ]
    associations = pd.DataFrame(
        [
            {"x": a, "y": b, **_correlation(linked[a], linked[b], confidence)}
            for a, b in combinations(measures, 2)
        ],
        columns=["x", "y", "units", "r", "ci_low", "ci_high", "p"],
    )
    cu = cust[unit].astype("string")
    model_frame = pd.DataFrame(
        {
            "customer_satisfaction": check_numeric(cust, [customer_score])[
                customer_score
            ].to_numpy(),
            "staff_satisfaction": cu.map(linked["staff_satisfaction"]).to_numpy(
                dtype="float64", na_value=np.nan
            ),
            "unit": cu.to_numpy(),
        }
    )
    model_frame = model_frame[model_frame["unit"].isin(both)]
    kwargs: dict[str, Any] = {
        "outcome": "customer_satisfaction",
        "group": "unit",
        "confidence": confidence,
    }
    null = multilevel_model(model_frame, predictors=[], **kwargs)
    model = multilevel_model(model_frame, predictors=["staff_satisfaction"], **kwargs)
    explained = (
        1 - model.group_variance / null.group_variance if null.group_variance > 0 else math.nan
    )
    return ChainResult(
        units=units,
        associations=associations,
        model=model,
        null_model=null,
        between_unit_share=null.icc,
        explained_by_staff=explained,
        units_without_staff=tuple(sorted(cust_units - staff_units)),
        units_without_customers=tuple(sorted(staff_units - cust_units)),
        unit=unit,
        confidence=float(confidence),
    )
