"""From satisfaction to loyalty: outcomes joined to responses, the satisfaction–loyalty
curve, the churn model and value-weighted satisfaction.

The source texts put satisfaction inside a chain (顾客满意 → 顾客忠诚 → 利润): this module
links survey scores to what customers did afterwards, taken from a behaviour file
(retained or churned within a period, repurchases, referrals, complaints, revenue, a value
tier) that the caller has read. Nothing here reads a file: :func:`join_outcomes` takes two
DataFrames.

- :func:`join_outcomes`: responses and outcomes matched on a customer key; keys without a
  partner on either side are *reported*, never dropped silently; duplicate keys refused.
- :func:`loyalty_curve`: the share retained / repurchasing / recommending at each level of
  a satisfaction score, with Wilson intervals, and the zones of defection, indifference
  and affection (Jones & Sasser, 1995) located where the curve bends.
- :func:`churn_model`: logistic regression of churn on scores and controls
  (statsmodels ``Logit``): odds ratios, average marginal effects, AUC in-sample and
  cross-validated, a calibration table; refuses perfect separation and fewer than 10
  events per predictor (Peduzzi et al., 1996).
- :func:`value_weighted`: every score also weighted by customer value, broken down by
  value tier (the customer pyramid: top 20 %, next 30 %, rest), tiers compared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import special, stats

from scoring._results import Result
from scoring._validation import (
    check_columns,
    check_frame,
    check_mapping,
    check_numeric,
    check_scale,
    column_floats,
    py_label,
)
from scoring.errors import (
    DataError,
    InsufficientDataError,
    ScoringError,
    SpecificationError,
)
from scoring.inference import mean_interval, welch_anova, welch_test

__all__ = [
    "ChurnResult",
    "LoyaltyCurve",
    "OutcomeJoin",
    "PerfectSeparationError",
    "TooFewEventsError",
    "ValueResult",
    "churn_model",
    "join_outcomes",
    "loyalty_curve",
    "respondent_scores",
    "roc_auc",
    "value_weighted",
    "wilson_interval",
]

Array = NDArray[Any]

#: Events per predictor below which :func:`churn_model` refuses to fit (Peduzzi et al.,
#: 1996: with fewer, logistic coefficients are biased and their intervals too narrow).
MIN_EVENTS_PER_VARIABLE = 10

#: Zone labels of the satisfaction–loyalty curve, lowest satisfaction first.
ZONES = ("defection", "indifference", "affection")

#: Default value tiers of the customer pyramid: the top 20 % by value, the next 30 %,
#: the rest.
PYRAMID = (("top", 0.2), ("middle", 0.3), ("rest", 0.5))
PYRAMID_SHARES = tuple(share for _, share in PYRAMID)


class PerfectSeparationError(ScoringError):
    """A predictor (or combination) separates churners from stayers perfectly: the
    maximum-likelihood odds ratio is infinite and no interval exists."""


class TooFewEventsError(InsufficientDataError):
    """Fewer than :data:`MIN_EVENTS_PER_VARIABLE` events (or non-events, whichever is
    rarer) per predictor of a logistic model."""


# ---------------------------------------------------------------------------- helpers


def wilson_interval(k: Any, n: Any, *, confidence: float = 0.95) -> tuple[Array, Array]:
    """Wilson (1927) score interval of the proportions ``k / n`` (element-wise).

    Computed by statsmodels' ``proportion_confint(method="wilson")``; NaN where ``n`` is 0.

    Examples
    --------
    >>> lo, hi = wilson_interval([30], [200])
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)
    (0.1071, 0.2061)
    """
    # lazy: statsmodels takes seconds to import; `import scoring` stays fast
    from statsmodels.stats.proportion import proportion_confint

    kk = np.asarray(k, dtype="float64")
    nn = np.asarray(n, dtype="float64")
    safe = np.where(nn > 0, nn, 1.0)
    lo, hi = proportion_confint(kk, safe, alpha=1 - confidence, method="wilson")
    lo = np.where(nn > 0, lo, np.nan)
    hi = np.where(nn > 0, hi, np.nan)
    return np.atleast_1d(lo), np.atleast_1d(hi)


def roc_auc(y: Any, score: Any) -> float:
    """Area under the ROC curve of ``score`` for the binary outcome ``y`` (1 = event).

    The Mann–Whitney form: ``(R₁ - n₁(n₁+1)/2) / (n₁ n₀)`` with ``R₁`` the sum of the
    events' mid-ranks of ``score``, so ties count one half (as scikit-learn's
    ``roc_auc_score``). NaN when either class is empty.

    Examples
    --------
    >>> roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    """
    yy = np.asarray(y, dtype="float64")
    ss = np.asarray(score, dtype="float64")
    n1 = float(yy.sum())
    n0 = float(yy.size - n1)
    if n1 == 0 or n0 == 0:
        return math.nan
    ranks = stats.rankdata(ss)
    r1 = float(ranks[yy == 1].sum())
    return (r1 - n1 * (n1 + 1) / 2) / (n1 * n0)


def _binary(df: pd.DataFrame, column: str, name: str) -> pd.Series:
    """``df[column]`` as float 0/1 (NaN missing); anything else names its row."""
    values = check_numeric(df, [column], name)[column]
    bad = values.notna() & ~values.isin((0.0, 1.0))
    if bad.any():
        row = bad[bad].index[0]
        msg = (
            f"{name} column {column!r} must hold 0 or 1 (1 = the event: retained, churned, "
            f"recommended ...); row {py_label(row)!r} holds {py_label(df[column].loc[row])!r} "
            f"({int(bad.sum())} such cell(s)). Recode it as 0/1."
        )
        raise DataError(msg)
    return values


def _key_strings(s: pd.Series) -> pd.Series:
    """Keys as comparable text: ``123``, ``123.0`` and ``"123"`` all become ``"123"``
    (a spreadsheet turns an id column into numbers in one file and keeps text in the
    other); leading zeros of text keys are kept."""

    def one(v: Any) -> Any:
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
            return None
        if isinstance(v, float | np.floating) and float(v).is_integer():
            return str(int(v))
        text = str(v).strip()
        return text or None

    return s.astype(object).map(one)


def _duplicates(keys: pd.Series, name: str, column: str) -> None:
    dup = keys.notna() & keys.duplicated(keep=False)
    if dup.any():
        first = keys[dup].iloc[0]
        rows = [py_label(r) for r in keys.index[(keys == first).to_numpy()]][:5]
        msg = (
            f"{name} column {column!r} holds key {first!r} more than once (rows {rows}; "
            f"{int(keys[dup].nunique())} duplicated key(s) in all): each customer needs one "
            "row. Keep one row per customer (e.g. the latest wave) and run again."
        )
        raise DataError(msg)


# ---------------------------------------------------------------------------- join


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeJoin(Result):
    """Result of :func:`join_outcomes`.

    Attributes
    ----------
    data : pandas.DataFrame
        The matched responses with the outcome columns appended (index of ``responses``).
        Not part of :meth:`to_dict` (it is the data, not a result).
    key, outcome_key : str
        Key column in the responses and in the outcomes.
    outcome_columns : tuple of str
        Columns the outcomes added.
    n_responses, n_outcomes, n_matched : int
        Rows on each side and rows matched.
    unmatched_responses : tuple of str
        Keys of responses without an outcome row (``"row N"`` for a response without a
        key): they are left out of every analysis of outcomes.
    unmatched_outcomes : tuple of str
        Keys of outcome rows without a response: customers who never answered.
    """

    data: pd.DataFrame
    key: str
    outcome_key: str
    outcome_columns: tuple[str, ...]
    n_responses: int
    n_outcomes: int
    n_matched: int
    unmatched_responses: tuple[str, ...]
    unmatched_outcomes: tuple[str, ...]

    def summary(self) -> pd.DataFrame:
        """Counts of the join, one row each (what a user must see before the results)."""
        rows = [
            ("responses", self.n_responses),
            ("outcomes", self.n_outcomes),
            ("matched", self.n_matched),
            ("responses without outcome", len(self.unmatched_responses)),
            ("outcomes without response", len(self.unmatched_outcomes)),
        ]
        return pd.DataFrame(rows, columns=["count", "n"]).set_index("count")

    def to_dict(self) -> dict[str, Any]:
        """The join report, JSON-safe (the matched data are left out)."""
        out: dict[str, Any] = {"type": type(self).__name__}
        out.update(
            {
                "key": self.key,
                "outcome_key": self.outcome_key,
                "outcome_columns": list(self.outcome_columns),
                "n_responses": self.n_responses,
                "n_outcomes": self.n_outcomes,
                "n_matched": self.n_matched,
                "unmatched_responses": list(self.unmatched_responses),
                "unmatched_outcomes": list(self.unmatched_outcomes),
            }
        )
        return out

    def warnings(self) -> list[str]:
        """One sentence per kind of unmatched key (empty when everything matched)."""
        out = []
        if self.unmatched_responses:
            shown = ", ".join(self.unmatched_responses[:5])
            out.append(
                f"{len(self.unmatched_responses)} response(s) have no outcome row (keys "
                f"{shown}{', ...' if len(self.unmatched_responses) > 5 else ''}) and are "
                "left out of the outcome analyses."
            )
        if self.unmatched_outcomes:
            shown = ", ".join(self.unmatched_outcomes[:5])
            out.append(
                f"{len(self.unmatched_outcomes)} outcome row(s) belong to customers who did "
                f"not answer (keys {shown}{', ...' if len(self.unmatched_outcomes) > 5 else ''})."
            )
        return out


def join_outcomes(
    responses: pd.DataFrame,
    outcomes: pd.DataFrame,
    *,
    key: str,
    outcome_key: str | None = None,
    names: tuple[str, str] = ("responses", "outcomes"),
    binary: Sequence[str] = (),
    nonnegative: Sequence[str] = (),
    required: Sequence[str] = (),
) -> OutcomeJoin:
    """Match behaviour outcomes to survey responses on a customer key.

    Parameters
    ----------
    responses : pandas.DataFrame
        One row per response; ``key`` identifies the customer (the invitation's customer
        id carried as a segment column, or ``response_id``).
    outcomes : pandas.DataFrame
        One row per customer: retained/churned, repurchases, referrals, complaints,
        revenue, a value tier ...
    key : str
        Key column of ``responses``.
    outcome_key : str, optional
        Key column of ``outcomes`` (default: ``key``).
    names : (str, str), default ("responses", "outcomes")
        How messages name the two frames (the CLI passes the file names).
    binary, nonnegative, required : sequence of str, optional
        Outcome columns checked before the join, so that a message names the row of the
        outcome file: 0/1 events, non-negative numbers (customer value), and columns
        every row must fill (a value tier).

    Returns
    -------
    OutcomeJoin
        The matched rows and the report of what did not match.

    Raises
    ------
    DataError
        A key column is missing, a key occurs twice on one side (the row numbers are
        named), an outcome column has the name of a response column, a ``binary`` column
        holds something else than 0/1, a ``nonnegative`` one a negative number, or
        nothing matches.

    Notes
    -----
    Keys are compared as text (``123``, ``123.0`` and ``"123"`` are one key). Unmatched
    keys on either side are listed in the result, never dropped silently. The key is
    read from the caller's files at scoring time and never stored in the survey tables.

    Examples
    --------
    >>> r = pd.DataFrame({"cid": ["a", "b", "c"], "sat": [5, 3, 4]})
    >>> o = pd.DataFrame({"cid": ["a", "b", "z"], "retained": [1, 0, 1]})
    >>> j = join_outcomes(r, o, key="cid")
    >>> j.n_matched, j.unmatched_responses, j.unmatched_outcomes
    (2, ('c',), ('z',))
    """
    responses = check_frame(responses, "responses")
    outcomes = check_frame(outcomes, "outcomes")
    okey = outcome_key or key
    rname, oname = names
    check_columns(responses, [key], rname)
    check_columns(outcomes, [okey], oname)
    rkeys = _key_strings(responses[key])
    okeys = _key_strings(outcomes[okey])
    empty = okeys.isna()
    if empty.any():
        row = py_label(okeys.index[empty.to_numpy()][0])
        msg = (
            f"{oname} column {okey!r} is empty in row {row!r} ({int(empty.sum())} row(s) "
            "without a key): every outcome row needs the customer's key."
        )
        raise DataError(msg)
    _duplicates(rkeys, rname, key)
    _duplicates(okeys, oname, okey)
    check_columns(outcomes, [*binary, *nonnegative, *required], oname)
    for c in required:
        empty = outcomes[c].isna() | (outcomes[c].astype("string").str.strip() == "")
        if empty.any():
            row = py_label(outcomes.index[empty.to_numpy()][0])
            msg = (
                f"{oname} column {c!r} is empty in row {row!r} ({int(empty.sum())} such "
                "row(s)); fill it in for every customer."
            )
            raise DataError(msg)
    for c in binary:
        _binary(outcomes, c, oname)
    for c in nonnegative:
        v = check_numeric(outcomes, [c], oname)[c]
        bad = v < 0
        if bad.any():
            row = py_label(v.index[bad.to_numpy()][0])
            msg = (
                f"{oname} column {c!r} must not be negative (a customer value); row {row!r} "
                f"holds {py_label(outcomes[c].loc[row])!r} ({int(bad.sum())} such row(s))."
            )
            raise DataError(msg)
    added = [c for c in outcomes.columns if c != okey]
    clash = [c for c in added if c in responses.columns]
    if clash:
        msg = (
            f"{oname} column(s) {clash} have the name of a column of {rname}; rename them "
            "in the outcome file."
        )
        raise DataError(msg)
    table = outcomes[added].set_axis(okeys.to_numpy(), axis=0)
    matched = rkeys.isin(table.index)
    if not matched.any():
        msg = (
            f"no response key in {key!r} matches an outcome key in {okey!r} (e.g. "
            f"{rkeys.dropna().iloc[:2].tolist()} vs {okeys.iloc[:2].tolist()}); check that "
            "both files use the same customer ids."
        )
        raise DataError(msg)
    joined = responses.loc[matched.to_numpy()].copy()
    right = table.loc[rkeys[matched].to_numpy()]
    for c in added:
        joined[c] = right[c].to_numpy()
    unmatched_r = tuple(
        k if isinstance(k, str) else f"row {py_label(i)}" for i, k in rkeys[~matched].items()
    )
    answered = set(rkeys.dropna())
    unmatched_o = tuple(k for k in okeys if k not in answered)
    return OutcomeJoin(
        data=joined,
        key=key,
        outcome_key=okey,
        outcome_columns=tuple(map(str, added)),
        n_responses=len(responses),
        n_outcomes=len(outcomes),
        n_matched=int(matched.sum()),
        unmatched_responses=unmatched_r,
        unmatched_outcomes=unmatched_o,
    )


# ---------------------------------------------------------------------------- scores


def respondent_scores(
    data: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]],
    scale: tuple[float, float] | Mapping[str, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Each respondent's dimension scores and ``overall``, to link to what they did.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent; reverse-coded items already recoded.
    dimensions : mapping of str to sequence of str
        Dimension -> item columns.
    scale : (min, max) or mapping of column to (min, max), optional
        Rating scale (one for every column, or per column), checked when given: an
        answer off its scale is a :class:`DataError` naming column and row.

    Returns
    -------
    pandas.DataFrame
        Index of ``data``; one column per dimension (the mean of the items the respondent
        answered in it, NaN with none) and ``overall`` (the mean of the respondent's
        dimension scores: dimensions weigh equally, as in
        :func:`scoring.index.questionnaire_index`).

    Examples
    --------
    >>> df = pd.DataFrame({"a1": [5, 4], "a2": [3, None], "b1": [2, 2]})
    >>> respondent_scores(df, dimensions={"a": ["a1", "a2"], "b": ["b1"]})["overall"].tolist()
    [3.0, 3.0]
    """
    frame = check_frame(data)
    dims = check_mapping(dimensions, "dimensions")
    cols = [c for items in dims.values() for c in items]
    values = check_numeric(frame, cols)
    if isinstance(scale, Mapping):
        for c in cols:
            if c in scale:
                check_scale(values[[c]], scale[c])
    else:
        check_scale(values, scale)
    out = pd.DataFrame({d: values[items].mean(axis=1) for d, items in dims.items()})
    out["overall"] = out.mean(axis=1)
    return out


# ---------------------------------------------------------------------------- curve


@dataclass(frozen=True, slots=True, kw_only=True)
class LoyaltyCurve(Result):
    """Result of :func:`loyalty_curve`.

    Attributes
    ----------
    curve : pandas.DataFrame
        One row per driver, outcome and level: ``driver, outcome, level, n, k, share,
        ci_low, ci_high, zone`` (``zone`` empty where the zones could not be located).
    zones : pandas.DataFrame
        One row per driver, outcome and zone: ``driver, outcome, zone, from_level,
        to_level, n, share, slope`` (the slope of the fitted segment, share per level).
    bin_width : float
        Width of the levels of a driver that is not whole-numbered.
    confidence : float
        Level of the Wilson intervals.
    """

    curve: pd.DataFrame
    zones: pd.DataFrame
    bin_width: float
    confidence: float

    def summary(self) -> pd.DataFrame:
        """The curve, one row per driver, outcome and level."""
        return self.curve


def _levels(x: Array, bin_width: float) -> Array:
    """Whole-numbered scores are their own levels; others are rounded to the nearest
    multiple of ``bin_width`` (a dimension gap averaged over items, say)."""
    finite = x[~np.isnan(x)]
    if finite.size and np.all(finite == np.round(finite)):
        return x
    # + 0.0 turns the -0.0 that rounding gives for small negative gaps into 0.0.
    return np.round(x / bin_width) * bin_width + 0.0


def _bends(level: Array, share: Array, n: Array) -> tuple[int, int, Array] | None:
    """Indices of the two knots of the best continuous three-piece linear fit.

    Knots are tried at every pair of interior levels (``0 < i < j < L-1``); the fit is
    weighted least squares with weights ``n`` on the basis ``1, x, (x-x_i)+, (x-x_j)+``.
    Returns the knot indices and the three segment slopes, or None with fewer than four
    levels.
    """
    m = level.size
    if m < 4:
        return None
    w = np.sqrt(n)
    best: tuple[float, int, int, Array] | None = None
    for i in range(1, m - 2):
        for j in range(i + 1, m - 1):
            basis = np.column_stack(
                [
                    np.ones(m),
                    level,
                    np.maximum(level - level[i], 0.0),
                    np.maximum(level - level[j], 0.0),
                ]
            )
            coef, *_ = np.linalg.lstsq(basis * w[:, None], share * w, rcond=None)
            sse = float(np.sum(n * (basis @ coef - share) ** 2))
            if best is None or sse < best[0] - 1e-12:
                slopes = np.array([coef[1], coef[1] + coef[2], coef[1] + coef[2] + coef[3]])
                best = (sse, i, j, slopes)
    assert best is not None  # m >= 4 gives at least one pair of knots
    return best[1], best[2], best[3]


def loyalty_curve(
    data: pd.DataFrame,
    *,
    drivers: Sequence[str],
    outcomes: Sequence[str],
    bin_width: float = 1.0,
    confidence: float = 0.95,
) -> LoyaltyCurve:
    """The satisfaction–loyalty curve: share of each outcome per satisfaction level.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer (responses joined to outcomes, see :func:`join_outcomes`).
    drivers : sequence of str
        Satisfaction columns: the overall item, dimension scores or dimension gaps.
    outcomes : sequence of str
        0/1 columns, 1 = the loyal behaviour (retained, repurchased, recommended).
    bin_width : float, default 1.0
        Level width for a driver with fractional values (a gap averaged over items).
    confidence : float, default 0.95
        Level of the Wilson intervals.

    Returns
    -------
    LoyaltyCurve

    Raises
    ------
    DataError
        A column is missing, a driver is not numeric, an outcome not 0/1.
    InsufficientDataError
        No customer has both a driver value and an outcome.

    Notes
    -----
    Share ``k/n`` per level with Wilson's (1927) score interval. Customers missing the
    driver or the outcome are left out of that curve (pairwise).

    **Zones** (Jones & Sasser, 1995). The curve is fitted, weighted by the customers per
    level, by a continuous three-piece linear function whose two knots are at observed
    interior levels; the pair of knots with the least weighted squared error wins (the
    lower pair on a tie). The levels up to and including the lower knot are the
    *defection* zone, those after it up to and including the upper knot the
    *indifference* zone, those above the upper knot the *affection* zone; the slope of
    each piece is reported, so a reader can see whether the middle is indeed flatter.
    With fewer than four levels no zones are located (``zone`` is empty).

    References
    ----------
    .. [1] Jones, T. O., & Sasser, W. E. (1995). Why satisfied customers defect.
       Harvard Business Review, 73(6), 88-99.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA, 22(158), 209-212.

    Examples
    --------
    >>> df = pd.DataFrame({"sat": [1, 1, 2, 3, 4, 5, 5, 5], "kept": [0, 0, 0, 1, 1, 1, 1, 0]})
    >>> r = loyalty_curve(df, drivers=["sat"], outcomes=["kept"])
    >>> r.curve["share"].round(3).tolist()
    [0.0, 0.0, 1.0, 1.0, 0.667]
    """
    frame = check_frame(data)
    drivers, outcomes = list(drivers), list(outcomes)
    if not drivers or not outcomes:
        msg = "loyalty_curve needs at least one driver and one outcome column."
        raise SpecificationError(msg)
    if not bin_width > 0:
        msg = f"bin_width must be positive; got {bin_width!r}."
        raise SpecificationError(msg)
    check_columns(frame, [*drivers, *outcomes])
    x_all = check_numeric(frame, drivers)
    y_all = {o: _binary(frame, o, "data") for o in outcomes}
    rows: list[dict[str, Any]] = []
    zone_rows: list[dict[str, Any]] = []
    for d in drivers:
        x = _levels(x_all[d].to_numpy(), bin_width)
        for o in outcomes:
            y = y_all[o].to_numpy()
            ok = ~np.isnan(x) & ~np.isnan(y)
            if not ok.any():
                msg = f"no customer has both {d!r} and {o!r}; check the join and the columns."
                raise InsufficientDataError(msg)
            grouped = pd.DataFrame({"level": x[ok], "y": y[ok]}).groupby("level")["y"]
            level = grouped.size().index.to_numpy(dtype="float64")
            n = grouped.size().to_numpy(dtype="float64")
            k = grouped.sum().to_numpy(dtype="float64")
            share = k / n
            lo, hi = wilson_interval(k, n, confidence=confidence)
            zone = np.full(level.size, "", dtype=object)
            bends = _bends(level, share, n)
            if bends is not None:
                i, j, slopes = bends
                cuts = [(0, i + 1), (i + 1, j + 1), (j + 1, level.size)]
                for z, (a, b), slope in zip(ZONES, cuts, slopes, strict=True):
                    zone[a:b] = z
                    zone_rows.append(
                        {
                            "driver": d,
                            "outcome": o,
                            "zone": z,
                            "from_level": level[a],
                            "to_level": level[b - 1],
                            "n": int(n[a:b].sum()),
                            "share": float(k[a:b].sum() / n[a:b].sum()),
                            "slope": float(slope),
                        }
                    )
            rows.extend(
                {
                    "driver": d,
                    "outcome": o,
                    "level": level[t],
                    "n": int(n[t]),
                    "k": int(k[t]),
                    "share": share[t],
                    "ci_low": lo[t],
                    "ci_high": hi[t],
                    "zone": zone[t],
                }
                for t in range(level.size)
            )
    zone_cols = ["driver", "outcome", "zone", "from_level", "to_level", "n", "share", "slope"]
    return LoyaltyCurve(
        curve=pd.DataFrame(rows),
        zones=pd.DataFrame(zone_rows, columns=zone_cols),
        bin_width=float(bin_width),
        confidence=float(confidence),
    )


# ---------------------------------------------------------------------------- churn


@dataclass(frozen=True, slots=True, kw_only=True)
class ChurnResult(Result):
    """Result of :func:`churn_model`.

    Attributes
    ----------
    coefficients : pandas.DataFrame
        Index ``term`` (``const`` first): ``coef, se, z, p, ci_low, ci_high, odds_ratio,
        or_low, or_high`` (the odds ratio ``exp(coef)`` and its interval).
    marginal_effects : pandas.DataFrame
        Index ``term``: average marginal effect on the churn probability ``ame, se, z, p,
        ci_low, ci_high`` (delta method; a dummy's is the discrete change 0 → 1).
    calibration : pandas.DataFrame
        Groups of predicted risk (deciles): ``group, n, predicted, observed, ci_low,
        ci_high`` (observed rate with its Wilson interval).
    auc, cv_auc : float
        In-sample AUC and the pooled out-of-fold AUC of ``folds``-fold cross-validation.
    cv_auc_folds : tuple of float
        AUC of each held-out fold.
    hosmer_lemeshow, hosmer_lemeshow_df, hosmer_lemeshow_p : float
        Hosmer–Lemeshow statistic over the calibration groups, df = groups - 2.
    pseudo_r2, llr_p : float
        McFadden's R² and the likelihood-ratio test against the constant-only model.
    outcome : str
        The event column (1 = churned).
    predictors, controls : tuple of str
        The columns entered (controls: numeric ones as they are, text ones as dummies).
    n_used, events, n_dropped : int
        Rows fitted, events among them, rows left out for a missing value.
    events_per_variable : float
        ``min(events, non-events) / predictors`` (constant excluded).
    folds, seed : int
        Cross-validation folds and their seed.
    confidence : float
    """

    coefficients: pd.DataFrame
    marginal_effects: pd.DataFrame
    calibration: pd.DataFrame
    auc: float
    cv_auc: float
    cv_auc_folds: tuple[float, ...]
    hosmer_lemeshow: float
    hosmer_lemeshow_df: float
    hosmer_lemeshow_p: float
    pseudo_r2: float
    llr_p: float
    outcome: str
    predictors: tuple[str, ...]
    controls: tuple[str, ...]
    n_used: int
    events: int
    n_dropped: int
    events_per_variable: float
    folds: int
    seed: int
    confidence: float

    def summary(self) -> pd.DataFrame:
        """Odds ratios and average marginal effects side by side, one row per term."""
        me = self.marginal_effects.add_prefix("ame_").rename(columns={"ame_ame": "ame"})
        return self.coefficients.join(me, how="left")

    def fit_statistics(self) -> pd.DataFrame:
        """n, events, EPV, AUC, cross-validated AUC, pseudo R², Hosmer–Lemeshow."""
        values = {
            "n_used": self.n_used,
            "events": self.events,
            "events_per_variable": self.events_per_variable,
            "auc": self.auc,
            "cv_auc": self.cv_auc,
            "pseudo_r2": self.pseudo_r2,
            "llr_p": self.llr_p,
            "hosmer_lemeshow": self.hosmer_lemeshow,
            "hosmer_lemeshow_p": self.hosmer_lemeshow_p,
        }
        return pd.DataFrame({"value": pd.Series(values, dtype="float64")})


def _design(
    frame: pd.DataFrame, predictors: list[str], controls: list[str]
) -> list[tuple[str, Array]]:
    """The model's columns as float arrays (NaN for missing): numeric predictors and
    controls as they are (a float64 column without a copy), a text control as dummies
    against its first level in sorted order. A text control whose cells are numbers but
    for a few (at least 90 % numeric) is a number column with bad cells: the
    :class:`DataError` names the first."""
    numeric_controls = [
        c
        for c in controls
        if pd.api.types.is_numeric_dtype(frame[c].dtype)
        and not pd.api.types.is_bool_dtype(frame[c].dtype)
    ]
    for c in controls:
        if c in numeric_controls:
            continue
        text = frame[c].astype("string").str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        answered = text.notna() & (text != "")
        if answered.any() and numbers[answered].notna().mean() >= 0.9:
            # a number column with a few text cells ("n/a"): refuse rather than fit
            # one dummy per distinct number
            check_numeric(frame, [c])
            numeric_controls.append(c)
    out = [(c, column_floats(frame, c)) for c in predictors + numeric_controls]
    for c in controls:
        if c in numeric_controls:
            continue
        codes, levels = pd.factorize(frame[c].astype("string"), sort=True)
        for i, level in enumerate(levels[1:], start=1):
            col = (codes == i).astype("float64")
            col[codes < 0] = np.nan
            out.append((f"{c}[{level}]", col))
    return out


def _folds(y: Array, folds: int, seed: int) -> Array:
    """Stratified fold labels: each class is shuffled (``default_rng(seed)``) and dealt
    round-robin into ``folds`` folds, so every fold holds nearly the same share of
    events."""
    rng = np.random.default_rng(seed)
    out = np.empty(y.size, dtype=np.int64)
    for cls in (0.0, 1.0):
        idx = np.flatnonzero(y == cls)
        out[rng.permutation(idx)] = np.arange(idx.size) % folds
    return out


def _fit_logit(y: Array, x: Array, start: Array | None = None, *, fold: bool = False) -> Any:
    """statsmodels ``Logit(y, x).fit`` (Newton), statsmodels' warnings turned into our
    named errors. The caller has checked the rank of ``x`` (on ``x'x``, cheap), so
    statsmodels' own QR rank check of the n-row matrix is skipped (``check_rank=False``)."""
    # lazy: statsmodels takes seconds to import; `import scoring` stays fast
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning as SmConvergenceWarning,
    )
    from statsmodels.tools.sm_exceptions import (
        HessianInversionWarning,
        PerfectSeparationWarning,
    )
    from statsmodels.tools.sm_exceptions import (
        PerfectSeparationError as SmPerfectSeparationError,
    )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = sm.Logit(y, x, check_rank=False, hasconst=True)
            # a fold's refit starts at the full fit, whose separation was checked: it
            # skips statsmodels' per-iteration prediction check (a public callback)
            fit = model.fit(
                disp=0, start_params=start, maxiter=100, callback=_no_check if fold else None
            )
        except (SmPerfectSeparationError, np.linalg.LinAlgError) as exc:
            raise PerfectSeparationError(_separation_message()) from exc
    kinds = {w.category for w in caught}
    if PerfectSeparationWarning in kinds:
        raise PerfectSeparationError(_separation_message())
    if kinds & {SmConvergenceWarning, HessianInversionWarning}:
        p = fit.predict()
        certain = ((p < 1e-10) & (y == 0)) | ((p > 1 - 1e-10) & (y == 1))
        if certain.any():
            raise PerfectSeparationError(_separation_message(int(certain.sum())))
    for w in caught:
        if not issubclass(w.category, SmConvergenceWarning | HessianInversionWarning):
            warnings.warn(w.message, w.category, stacklevel=3)
    return fit


def _no_check(*_args: Any) -> None:
    """Newton callback of a cross-validation refit (see :func:`_fit_logit`)."""


def _marginal_effects(x: Array, params: Array, cov: Array, p: Array) -> tuple[Array, Array]:
    """Average marginal effects of a logit and their delta-method covariance.

    A column whose values are 0 and 1 only (as statsmodels' ``dummy=True`` decides) gets
    the discrete change ``mean(Λ(η₁) - Λ(η₀))`` with the column set to 1 and to 0; any
    other the derivative ``β_j mean(Λ'(η))``. The Jacobian is analytic (statsmodels
    differentiates numerically, one pass over the data per coefficient, which dominates
    the time on a million customers); the two agree to rounding. Column 0 is the
    constant.
    """
    n, k = x.shape
    f = p * (1.0 - p)
    eta = x @ params
    mean_f = float(f.mean())
    g = (f * (1.0 - 2.0 * p)) @ x / n  # d mean(Λ'(η)) / dβ
    ame = np.empty(k - 1)
    jac = np.empty((k - 1, k))
    for j in range(1, k):
        col = x[:, j]
        dummy = col.min() == 0 and col.max() == 1 and np.all(col % 1.0 == 0)
        if dummy:
            eta1 = eta + params[j] * (1.0 - col)
            eta0 = eta - params[j] * col
            p1 = special.expit(eta1)
            p0 = special.expit(eta0)
            f1, f0 = p1 * (1 - p1), p0 * (1 - p0)
            ame[j - 1] = float(np.mean(p1 - p0))
            row = (f1 - f0) @ x / n
            row[j] = float(f1.mean())
            jac[j - 1] = row
        else:
            ame[j - 1] = params[j] * mean_f
            jac[j - 1] = params[j] * g
            jac[j - 1, j] += mean_f
    return ame, jac @ cov @ jac.T


def _separation_message(rows: int | None = None) -> str:
    some = f" ({rows} customer(s) predicted with certainty)" if rows else ""
    return (
        "churn_model: a predictor, or a combination of them, separates churners from "
        f"stayers perfectly{some}: the odds ratio is infinite and no interval exists. Drop "
        "or merge the control that does it (often a segment with no churner, or none who "
        "stayed), or collect more data."
    )


def _calibration(
    y: Array, p: Array, groups: int, confidence: float
) -> tuple[pd.DataFrame, float, float, float]:
    bins = pd.qcut(pd.Series(p), groups, labels=False, duplicates="drop").to_numpy()
    table = (
        pd.DataFrame({"g": bins, "y": y, "p": p})
        .groupby("g")
        .agg(n=("y", "size"), k=("y", "sum"), expected=("p", "sum"), predicted=("p", "mean"))
    )
    n = table["n"].to_numpy(dtype="float64")
    k = table["k"].to_numpy(dtype="float64")
    e = table["expected"].to_numpy(dtype="float64")
    lo, hi = wilson_interval(k, n, confidence=confidence)
    cal = pd.DataFrame(
        {
            "group": np.arange(1, len(table) + 1),
            "n": n.astype(np.int64),
            "predicted": table["predicted"].to_numpy(),
            "observed": k / n,
            "ci_low": lo,
            "ci_high": hi,
        }
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        hl = float(np.nansum((k - e) ** 2 / (e * (1 - e / n))))
    df = float(len(table) - 2)
    p_hl = float(special.chdtrc(df, hl)) if df > 0 else math.nan
    return cal, hl, df, p_hl


def churn_model(
    data: pd.DataFrame,
    *,
    outcome: str,
    predictors: Sequence[str],
    controls: Sequence[str] = (),
    event: int = 1,
    folds: int = 5,
    seed: int = 0,
    calibration_groups: int = 10,
    confidence: float = 0.95,
) -> ChurnResult:
    """Which score predicts churn: logistic regression with odds ratios and AME.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer (responses joined to outcomes).
    outcome : str
        0/1 column, 1 = churned (lost within the period).
    predictors : sequence of str
        Scores: the overall satisfaction item or the dimension gaps.
    controls : sequence of str, optional
        Further columns: numeric ones (tenure) enter as they are, text ones (segment) as
        dummies against their first level in sorted order.
    event : {1, 0}, default 1
        The value of ``outcome`` that means churn: 0 for a ``retained`` column.
    folds : int, default 5
        Folds of the cross-validated AUC (at least 2).
    seed : int, default 0
        Seed of the fold assignment.
    calibration_groups : int, default 10
        Groups of predicted risk in the calibration table (quantiles; fewer when
        predictions tie).
    confidence : float, default 0.95

    Returns
    -------
    ChurnResult

    Raises
    ------
    TooFewEventsError
        Fewer than 10 events per predictor (no churner at all included): the rarer of
        churners and stayers, divided by the number of terms besides the constant.
    PerfectSeparationError
        A predictor or combination separates churners from stayers perfectly.
    DataError
        Missing or non-numeric columns, an outcome not 0/1.

    Notes
    -----
    ``logit P(churn) = β₀ + Σ βⱼ xⱼ`` by maximum likelihood (statsmodels ``Logit``,
    Newton); odds ratio ``exp(βⱼ)`` with interval ``exp(βⱼ ∓ z·seⱼ)``. Average marginal
    effects as statsmodels' ``get_margeff(at="overall", dummy=True)`` defines them
    (``βⱼ·mean(p(1-p))``; a 0/1 column's discrete change), with an analytic delta-method
    Jacobian instead of its numerical one (equal to rounding, one pass over the data
    instead of one per coefficient). McFadden's ``1 - llf/llnull`` and the LR test use
    the closed-form constant-only log-likelihood. Rows missing any
    model column are left out (listwise; counted in ``n_dropped``). AUC is the
    Mann–Whitney area (:func:`roc_auc`); the cross-validated AUC refits the model on
    ``folds - 1`` stratified folds, predicts the held-out fold and pools the out-of-fold
    predictions. Hosmer–Lemeshow: ``Σ (O_g - E_g)² / (E_g (1 - E_g/n_g))`` on
    ``groups - 2`` df. The events-per-variable floor of 10 follows Peduzzi et al. (1996).

    References
    ----------
    .. [1] Peduzzi, P., Concato, J., Kemper, E., Holford, T. R., & Feinstein, A. R.
       (1996). A simulation study of the number of events per variable in logistic
       regression analysis. Journal of Clinical Epidemiology, 49(12), 1373-1379.
    .. [2] Hosmer, D. W., & Lemeshow, S. (2000). Applied Logistic Regression (2nd ed.).
       Wiley.
    .. [3] Hanley, J. A., & McNeil, B. J. (1982). The meaning and use of the area under
       a receiver operating characteristic (ROC) curve. Radiology, 143(1), 29-36.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> sat = rng.integers(1, 6, size=2000)
    >>> churned = (rng.random(2000) < 1 / (1 + np.exp(-(1.5 - 0.8 * sat)))).astype(int)
    >>> r = churn_model(pd.DataFrame({"sat": sat, "churned": churned}),
    ...                 outcome="churned", predictors=["sat"])
    >>> round(float(r.coefficients.loc["sat", "coef"]), 1)
    -0.8
    """
    frame = check_frame(data)
    predictors, controls = list(predictors), list(controls)
    if not predictors:
        msg = "churn_model needs at least one predictor column."
        raise SpecificationError(msg)
    if isinstance(folds, bool) or not isinstance(folds, int) or folds < 2:
        msg = f"folds must be a whole number of at least 2; got {folds!r}."
        raise SpecificationError(msg)
    check_columns(frame, [outcome, *predictors, *controls])
    if event not in (0, 1):
        msg = (
            f"event must be 1 (the outcome counts churn) or 0 (it counts retention); got {event!r}."
        )
        raise SpecificationError(msg)
    y_all = _binary(frame, outcome, "data")
    if event == 0:
        y_all = 1.0 - y_all
    columns = _design(frame, predictors, controls)
    terms = [name for name, _ in columns]
    complete = y_all.notna().to_numpy(copy=True)
    for _, col in columns:
        complete &= ~np.isnan(col)
    y = y_all.to_numpy()[complete]
    # one float64 matrix [1, X] of the complete rows: the only copy the fits work on
    design = np.empty((int(complete.sum()), len(terms) + 1))
    design[:, 0] = 1.0
    for j, (_, col) in enumerate(columns, start=1):
        design[:, j] = col[complete]
    del columns
    n = y.size
    events = int(y.sum())
    rarer = min(events, n - events)
    epv = rarer / len(terms)
    if epv < MIN_EVENTS_PER_VARIABLE:
        what = (
            "no customer churned"
            if events == 0
            else "every customer churned"
            if events == n
            else f"{rarer} {'churner' if events <= n - events else 'stayer'}(s)"
        )
        msg = (
            f"churn_model: {what} among {n} customer(s) for {len(terms)} predictor(s) "
            f"({epv:.1f} events per predictor; at least {MIN_EVENTS_PER_VARIABLE} are "
            "needed for trustworthy odds ratios). Use fewer predictors or controls, or a "
            "longer period with more churners."
        )
        raise TooFewEventsError(msg)
    constant = [c for j, c in enumerate(terms, start=1) if np.ptp(design[:, j]) == 0]
    if constant:
        msg = (
            f"churn_model: column(s) {constant} take one value only among the customers "
            "fitted; drop them."
        )
        raise DataError(msg)
    names = ["const", *terms]
    if np.linalg.matrix_rank(design.T @ design) < design.shape[1]:
        msg = (
            f"churn_model: the columns {terms} are perfectly collinear; drop a redundant "
            "predictor or control."
        )
        raise DataError(msg)
    fit = _fit_logit(y, design)
    params = np.asarray(fit.params)
    cov = np.asarray(fit.cov_params())
    se = np.sqrt(np.diag(cov))
    zq = float(special.ndtri(0.5 + confidence / 2))
    z = params / se
    coef = pd.DataFrame(
        {
            "coef": params,
            "se": se,
            "z": z,
            "p": 2 * special.ndtr(-np.abs(z)),
            "ci_low": params - zq * se,
            "ci_high": params + zq * se,
        },
        index=pd.Index(names, name="term"),
    )
    coef["odds_ratio"] = np.exp(coef["coef"])
    coef["or_low"] = np.exp(coef["ci_low"])
    coef["or_high"] = np.exp(coef["ci_high"])
    p_hat = np.asarray(fit.predict())
    ame, ame_cov = _marginal_effects(design, params, cov, p_hat)
    ame_se = np.sqrt(np.diag(ame_cov))
    me = pd.DataFrame(
        {
            "ame": ame,
            "se": ame_se,
            "z": ame / ame_se,
            "p": 2 * special.ndtr(-np.abs(ame / ame_se)),
            "ci_low": ame - zq * ame_se,
            "ci_high": ame + zq * ame_se,
        },
        index=pd.Index(terms, name="term"),
    )
    # the constant-only model has the closed form llnull = n (ȳ log ȳ + (1-ȳ) log(1-ȳ))
    ybar = events / n
    llnull = n * (ybar * math.log(ybar) + (1 - ybar) * math.log(1 - ybar))
    llf = float(fit.llf)
    fold = _folds(y, folds, seed)
    oof = np.empty(n)
    per_fold: list[float] = []
    for f in range(folds):
        test = fold == f
        part = _fit_logit(y[~test], design[~test], start=params, fold=True)
        oof[test] = part.predict(design[test])
        per_fold.append(roc_auc(y[test], oof[test]))
    cal, hl, hl_df, hl_p = _calibration(y, p_hat, calibration_groups, confidence)
    return ChurnResult(
        coefficients=coef,
        marginal_effects=me,
        calibration=cal,
        auc=roc_auc(y, p_hat),
        cv_auc=roc_auc(y, oof),
        cv_auc_folds=tuple(per_fold),
        hosmer_lemeshow=hl,
        hosmer_lemeshow_df=hl_df,
        hosmer_lemeshow_p=hl_p,
        pseudo_r2=1.0 - llf / llnull,
        llr_p=float(special.chdtrc(len(terms), 2.0 * (llf - llnull))),
        outcome=outcome,
        predictors=tuple(predictors),
        controls=tuple(controls),
        n_used=int(n),
        events=events,
        n_dropped=int(complete.size - n),
        events_per_variable=float(epv),
        folds=folds,
        seed=seed,
        confidence=float(confidence),
    )


# ---------------------------------------------------------------------------- value


@dataclass(frozen=True, slots=True, kw_only=True)
class ValueResult(Result):
    """Result of :func:`value_weighted`.

    Attributes
    ----------
    scores : pandas.DataFrame
        Index ``score``: ``n, mean, ci_low, ci_high`` (unweighted) and ``weighted_mean,
        weighted_se, weighted_ci_low, weighted_ci_high`` (weighted by customer value).
    tiers : pandas.DataFrame
        One row per score and tier (highest value first): ``score, tier, customers,
        value_share, n, mean, ci_low, ci_high``.
    tests : pandas.DataFrame
        Index ``score``: Welch's ANOVA across tiers (``f, df1, df2, p``) and Welch's t
        test of the top tier against the lowest (``top_minus_last, ci_low, ci_high,
        p_top_last``); NaN with a ``note`` when fewer than two tiers hold two answers.
    value : str
        The value column.
    tier_rule : str
        ``"pyramid"`` (shares of customers by value rank) or ``"column"``.
    shares : tuple of float
        The pyramid shares (top first) under ``"pyramid"``.
    confidence : float
    """

    scores: pd.DataFrame
    tiers: pd.DataFrame
    tests: pd.DataFrame
    value: str
    tier_rule: str
    shares: tuple[float, ...] = field(default=())
    confidence: float = 0.95

    def summary(self) -> pd.DataFrame:
        """Weighted and unweighted means with the tier test, one row per score."""
        return self.scores.join(self.tests, how="left")


def _pyramid(value: Array, shares: Sequence[float], names: Sequence[str]) -> Array:
    """Tier of each customer by value rank: the share of customers with a strictly
    higher value decides, so customers of equal value share a tier."""
    order = np.sort(value)[::-1]
    higher = np.searchsorted(-order, -value, side="left") / value.size
    bounds = np.cumsum(shares)
    idx = np.searchsorted(bounds, higher, side="right")
    return np.asarray(names, dtype=object)[np.minimum(idx, len(names) - 1)]


def value_weighted(
    data: pd.DataFrame,
    *,
    scores: Sequence[str],
    value: str,
    tier: str | None = None,
    shares: Sequence[float] = PYRAMID_SHARES,
    confidence: float = 0.95,
) -> ValueResult:
    """Satisfaction weighted by customer value, and by value tier (the customer pyramid).

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer (responses joined to outcomes).
    scores : sequence of str
        Score columns: indices, dimension scores or gaps per respondent.
    value : str
        Customer value (revenue, profit) column, non-negative.
    tier : str, optional
        A column of given tiers (from the outcome file). Default: tiers by value rank,
        ``shares`` of customers from the most valuable down.
    shares : sequence of float, default (0.2, 0.3, 0.5)
        Pyramid shares, top first, summing to 1 (named top, middle, rest for three).
    confidence : float, default 0.95

    Returns
    -------
    ValueResult

    Raises
    ------
    DataError
        A negative or missing value, a missing or non-numeric column.
    SpecificationError
        Shares that are not positive or do not sum to 1.

    Notes
    -----
    Weighted mean ``x̄_v = Σ vᵢ xᵢ / Σ vᵢ`` over customers who answered; its standard
    error is the linearised (ratio-estimator) ``sqrt(Σ vᵢ² (xᵢ - x̄_v)² · n/(n-1)) / Σ vᵢ``
    and the interval normal. A customer's tier: *top* while fewer than 20 % of customers
    have a strictly higher value, *middle* while fewer than 50 %, else *rest*; equal
    values share a tier. Tiers from a column are ordered by their mean value, highest
    first. Tiers are compared by Welch's ANOVA and the top against the last by Welch's t
    (:mod:`scoring.inference`).

    References
    ----------
    .. [1] Zeithaml, V. A., Rust, R. T., & Lemon, K. N. (2001). The customer pyramid:
       Creating and serving profitable customers. California Management Review, 43(4),
       118-142.

    Examples
    --------
    >>> df = pd.DataFrame({"sat": [5, 4, 2, 3, 3], "revenue": [100, 50, 10, 10, 30]})
    >>> r = value_weighted(df, scores=["sat"], value="revenue")
    >>> round(float(r.scores.loc["sat", "weighted_mean"]), 3)
    4.2
    """
    frame = check_frame(data)
    scores = list(scores)
    if not scores:
        msg = "value_weighted needs at least one score column."
        raise SpecificationError(msg)
    check_columns(frame, [*scores, value, *([tier] if tier else [])])
    v = check_numeric(frame, [value])[value]
    bad = v.isna() | (v < 0)
    if bad.any():
        row = py_label(v.index[bad.to_numpy()][0])
        msg = (
            f"data column {value!r} must hold a non-negative customer value for every "
            f"customer; row {row!r} holds {py_label(frame[value].loc[row])!r} "
            f"({int(bad.sum())} such row(s)). Fill in the value or leave the customer out."
        )
        raise DataError(msg)
    if tier is None:
        sh = [float(s) for s in shares]
        if not sh or any(s <= 0 for s in sh) or abs(sum(sh) - 1) > 1e-9:
            msg = f"shares must be positive and sum to 1; got {list(shares)!r}."
            raise SpecificationError(msg)
        names = (
            [name for name, _ in PYRAMID]
            if len(sh) == len(PYRAMID)
            else [f"tier{i + 1}" for i in range(len(sh))]
        )
        tiers: pd.Series = pd.Series(_pyramid(v.to_numpy(), sh, names), index=frame.index)
        order = names
        rule = "pyramid"
    else:
        tiers = frame[tier].astype("string")
        if tiers.isna().any():
            row = py_label(tiers.index[tiers.isna().to_numpy()][0])
            msg = f"data column {tier!r} has no tier in row {row!r}; give every customer one."
            raise DataError(msg)
        order = list(v.groupby(tiers).mean().sort_values(ascending=False).index)
        rule, sh = "column", []
    x_all = check_numeric(frame, scores)
    zq = float(special.ndtri(0.5 + confidence / 2))
    score_rows, tier_rows, test_rows = [], [], []
    total_value = float(v.sum())
    for s in scores:
        x = x_all[s].to_numpy()
        ok = ~np.isnan(x)
        plain = mean_interval(x[ok], confidence=confidence)
        w, xs = v.to_numpy()[ok], x[ok]
        wsum = float(w.sum())
        if wsum > 0:
            wm = float(np.sum(w * xs) / wsum)
            m = xs.size
            wse = (
                math.sqrt(float(np.sum(w**2 * (xs - wm) ** 2)) * m / (m - 1)) / wsum
                if m > 1
                else math.nan
            )
        else:
            wm = wse = math.nan
        score_rows.append(
            {
                "score": s,
                "n": plain.n,
                "mean": plain.mean,
                "ci_low": plain.ci_low,
                "ci_high": plain.ci_high,
                "weighted_mean": wm,
                "weighted_se": wse,
                "weighted_ci_low": wm - zq * wse,
                "weighted_ci_high": wm + zq * wse,
            }
        )
        groups = []
        for t in order:
            in_t = (tiers == t).to_numpy()
            part = mean_interval(x[in_t & ok], confidence=confidence)
            groups.append(x[in_t & ok])
            tier_rows.append(
                {
                    "score": s,
                    "tier": t,
                    "customers": int(in_t.sum()),
                    "value_share": float(v[in_t].sum()) / total_value
                    if total_value > 0
                    else math.nan,
                    "n": part.n,
                    "mean": part.mean,
                    "ci_low": part.ci_low,
                    "ci_high": part.ci_high,
                }
            )
        usable = [g for g in groups if g.size >= 2]
        if len(usable) >= 2:
            anova = welch_anova(usable)
            diff = welch_test(usable[0], usable[-1], confidence=confidence)
            test_rows.append(
                {
                    "score": s,
                    "f": anova.f,
                    "df1": anova.df1,
                    "df2": anova.df2,
                    "p": anova.p,
                    "top_minus_last": diff.estimate,
                    "diff_ci_low": diff.ci_low,
                    "diff_ci_high": diff.ci_high,
                    "p_top_last": diff.p,
                    "note": "",
                }
            )
        else:
            test_rows.append(
                {
                    "score": s,
                    **dict.fromkeys(
                        ("f", "df1", "df2", "p", "top_minus_last", "diff_ci_low"), math.nan
                    ),
                    "diff_ci_high": math.nan,
                    "p_top_last": math.nan,
                    "note": "fewer than two tiers with two answers: no difference to test",
                }
            )
    return ValueResult(
        scores=pd.DataFrame(score_rows).set_index("score"),
        tiers=pd.DataFrame(tier_rows),
        tests=pd.DataFrame(test_rows).set_index("score"),
        value=value,
        tier_rule=rule,
        shares=tuple(sh),
        confidence=float(confidence),
    )
