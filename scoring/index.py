"""Questionnaire-based index: item and dimension means, top-2-box, a 0-100 index, NPS, rates.

Public functions:

- :func:`questionnaire_index` -- item means, top-box shares, dimension means and the
  0-100 index with reverse-coded items reversed;
- :func:`nps` and :func:`nps_from_counts` -- Net Promoter Score with a confidence interval;
- :func:`customer_rates` -- churn, retention and referral rates from counts, and
  :func:`customer_rates_from` from a data file's 0/1 columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from scoring._results import Result, parameters_of
from scoring._validation import (
    MISSING_RULES,
    MissingRule,
    apply_missing_rule,
    check_choice,
    check_frame,
    check_mapping,
    check_numeric,
    check_range,
    not_applicable_mask,
    warn_small_sample,
)
from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.inference import mean_interval

__all__ = [
    "IndexResult",
    "NpsResult",
    "customer_rates",
    "customer_rates_from",
    "nps",
    "nps_from_counts",
    "questionnaire_index",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexResult(Result):
    """Result of :func:`questionnaire_index`.

    Attributes
    ----------
    items : pandas.DataFrame
        ``item, dimension, reversed, n, mean, sd, ci_low, ci_high, top_box, index``
        (means after reversal; ``index`` on 0-100).
    dimensions : pandas.DataFrame
        ``dimension, n, mean, sd, ci_low, ci_high, top_box, index, index_ci_low,
        index_ci_high`` over respondents' dimension means.
    overall : pandas.DataFrame
        One row ``n, mean, sd, ci_low, ci_high, index, index_ci_low, index_ci_high``.
    scale : tuple of float
    top_box : int
    missing : str
    confidence : float
    """

    items: pd.DataFrame
    dimensions: pd.DataFrame
    overall: pd.DataFrame
    scale: tuple[float, float]
    top_box: int
    missing: str
    confidence: float

    def dimension_scores(self) -> pd.Series:
        """Dimension -> 0-100 index (the mean answer when no scale was given)."""
        column = "index" if "index" in self.dimensions.columns else "mean"
        return pd.Series(
            self.dimensions[column].to_numpy(dtype="float64"),
            index=pd.Index(self.dimensions["dimension"].astype(str), name="dimension"),
            name="index",
        )

    @property
    def n_used(self) -> int:
        """Respondents with an overall score."""
        return int(self.overall["n"].iloc[0]) if len(self.overall) else 0

    @property
    def parameters(self) -> dict[str, Any]:
        """``scale``, ``missing`` and ``confidence``."""
        return parameters_of(self, ("scale", "missing", "confidence"))

    def summary(self) -> pd.DataFrame:
        """Dimensions plus an ``overall`` row."""
        return pd.concat(
            [self.dimensions, self.overall.assign(dimension="overall")], ignore_index=True
        )


def _to_index(x: Any, low: float, high: float) -> Any:
    return (x - low) / (high - low) * 100.0


def questionnaire_index(
    data: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]],
    scale: tuple[float, float] = (1, 5),
    reverse: Sequence[str] = (),
    top_box: int = 2,
    missing: MissingRule = "pairwise",
    confidence: float = 0.95,
) -> IndexResult:
    """Descriptive scoring of a rating questionnaire with a 0-100 index.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per respondent, one column per item.
    dimensions : mapping of str to sequence of str
        Dimension -> item columns.
    scale : (min, max)
        Rating scale (whole-number points): an answer off the scale or between its
        points (``99`` or ``4.5`` on 1-7) raises :class:`~scoring.errors.DataError`.
    reverse : sequence of str
        Reverse-coded items; they are reversed (``min + max - x``) before everything else.
    top_box : int
        Number of top scale points counted as "top box" (2 = top-2-box).
    missing : {'pairwise', 'listwise', 'item_mean'}
        ``pairwise``: each item over its answers, a respondent's dimension mean over the
        items they answered, the overall mean over their dimension means.
    confidence : float
        Level of the t intervals.

    Returns
    -------
    IndexResult

    Raises
    ------
    DataError
        Missing columns, non-numeric cells, answers outside ``scale``.
    SpecificationError
        ``reverse`` names an item in no dimension; ``top_box`` out of range.

    Warns
    -----
    SmallSampleWarning
        Fewer than 10 respondents: the t intervals are then so wide (at n = 2 on 1-5,
        typically [-15, 144]) that they leave the 0-100 range, and at n = 1 they are NaN.
        Constant items and fewer rows than items need no warning here: a mean and its
        index are defined for them.

    Notes
    -----
    Index of a mean m: ``(m - min) / (max - min) * 100``; its interval is the t interval
    of the mean mapped the same way. Top-box share: answers >= ``max - top_box + 1``
    (after reversal) among the item's answers; for a dimension, among all its answers.
    Overall = the mean of the respondent's dimension means (dimensions weigh equally).

    References
    ----------
    .. [1] Hayes, B. E. (2008). Measuring Customer Satisfaction and Loyalty (3rd ed.).
       ASQ Quality Press (top-box reporting, scale indices).

    Examples
    --------
    >>> import pandas as pd
    >>> from scoring.index import questionnaire_index
    >>> df = pd.DataFrame({"q1": [5, 4, 3], "q2": [1, 2, 2], "q3": [4, 4, 5]})
    >>> df = pd.concat([df] * 4, ignore_index=True)  # 12 respondents
    >>> res = questionnaire_index(df, dimensions={"a": ["q1", "q2"], "b": ["q3"]},
    ...                           reverse=["q2"])
    >>> res.items[["item", "mean", "top_box", "index"]].round(2).values.tolist()
    [['q1', 4.0, 0.67, 75.0], ['q2', 4.33, 1.0, 83.33], ['q3', 4.33, 1.0, 83.33]]
    """
    check_choice("missing", missing, MISSING_RULES)
    dims = check_mapping(dimensions, "dimensions")
    low, high = float(scale[0]), float(scale[1])
    if not low < high:
        msg = f"scale must be (min, max) with min < max; got {scale!r}."
        raise SpecificationError(msg)
    if not 1 <= top_box <= high - low:
        msg = f"top_box must be between 1 and {int(high - low)}; got {top_box!r}."
        raise SpecificationError(msg)
    items = [i for its in dims.values() for i in its]
    stray = [r for r in reverse if r not in items]
    if stray:
        msg = f"reverse names item(s) {stray} that are in no dimension; dimensions hold {items}."
        raise SpecificationError(msg)
    df = check_frame(data)
    values = check_range(check_numeric(df, items), low, high)
    values = apply_missing_rule(values, missing, not_applicable=not_applicable_mask(df, items))
    if reverse:
        values[list(reverse)] = low + high - values[list(reverse)]
    cut = high - top_box + 1
    item_rows = []
    for dim, its in dims.items():
        for item in its:
            st = mean_interval(values[item].to_numpy(dtype="float64"), confidence=confidence).row()
            answered = values[item].dropna()
            item_rows.append(
                {
                    "item": item,
                    "dimension": dim,
                    "reversed": item in reverse,
                    "n": st["n"],
                    "mean": st["mean"],
                    "sd": st["sd"],
                    "ci_low": st["ci_low"],
                    "ci_high": st["ci_high"],
                    "top_box": float((answered >= cut).mean()),
                    "index": _to_index(st["mean"], low, high),
                }
            )
    dim_rows = []
    dim_means = {}
    for dim, its in dims.items():
        block = values[its]
        if block.notna().to_numpy().sum() == 0:
            msg = f"dimension {dim!r} has no answered items ({its}); check the data or drop it."
            raise InsufficientDataError(msg)
        dim_means[dim] = block.mean(axis=1, skipna=True)
        st = mean_interval(dim_means[dim].to_numpy(dtype="float64"), confidence=confidence).row()
        flat = block.to_numpy(dtype="float64").ravel()
        flat = flat[~np.isnan(flat)]
        dim_rows.append(
            _with_index(
                {
                    "dimension": dim,
                    "n": st["n"],
                    "mean": st["mean"],
                    "sd": st["sd"],
                    "ci_low": st["ci_low"],
                    "ci_high": st["ci_high"],
                    "top_box": float((flat >= cut).mean()),
                },
                low,
                high,
            )
        )
    overall = pd.DataFrame(dim_means).mean(axis=1, skipna=True)
    st = mean_interval(overall.to_numpy(dtype="float64"), confidence=confidence).row()
    warn_small_sample(int(st["n"]), "the questionnaire index and its intervals")
    overall_row = _with_index(
        {
            "n": st["n"],
            "mean": st["mean"],
            "sd": st["sd"],
            "ci_low": st["ci_low"],
            "ci_high": st["ci_high"],
        },
        low,
        high,
    )
    return IndexResult(
        items=pd.DataFrame(item_rows),
        dimensions=pd.DataFrame(dim_rows),
        overall=pd.DataFrame([overall_row]),
        scale=(low, high),
        top_box=top_box,
        missing=missing,
        confidence=confidence,
    )


def _with_index(row: dict[str, Any], low: float, high: float) -> dict[str, Any]:
    return row | {
        "index": _to_index(row["mean"], low, high),
        "index_ci_low": _to_index(row["ci_low"], low, high),
        "index_ci_high": _to_index(row["ci_high"], low, high),
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class NpsResult(Result):
    """Result of :func:`nps` / :func:`nps_from_counts`.

    Attributes
    ----------
    nps : float
        Net Promoter Score on -100..100.
    se : float
        Its standard error (same units).
    ci_low, ci_high : float
        Wald interval, clipped to [-100, 100].
    n, promoters, passives, detractors : int
    confidence : float
    """

    nps: float
    se: float
    ci_low: float
    ci_high: float
    n: int
    promoters: int
    passives: int
    detractors: int
    confidence: float

    def summary(self) -> pd.DataFrame:
        """One row with every field."""
        return pd.DataFrame([{f: getattr(self, f) for f in self.__dataclass_fields__}])


def nps_from_counts(
    *, promoters: int, passives: int, detractors: int, confidence: float = 0.95
) -> NpsResult:
    """Net Promoter Score and its interval from the three group counts.

    Parameters
    ----------
    promoters, passives, detractors : int
        Respondents answering 9-10, 7-8 and 0-6 on the 0-10 recommend question.
    confidence : float
        Level of the Wald interval.

    Returns
    -------
    NpsResult

    Raises
    ------
    DataError
        A count that is negative or not a whole number.
    InsufficientDataError
        No respondent at all.

    Notes
    -----
    ``NPS = 100 (p_P - p_D)``. The three shares are multinomial, so
    ``Var(p_P - p_D) = [p_P (1 - p_P) + p_D (1 - p_D) + 2 p_P p_D] / n
    = [p_P + p_D - (p_P - p_D)^2] / n`` and the interval is
    ``NPS +- z * 100 * sqrt(Var)`` (Rocks, 2016), clipped to [-100, 100].

    References
    ----------
    .. [1] Reichheld, F. F. (2003). The one number you need to grow. Harvard Business
       Review, 81(12), 46-54.
    .. [2] Rocks, B. (2016). Interval estimation for the "Net Promoter Score". The
       American Statistician, 70(4), 365-372.

    Examples
    --------
    >>> from scoring.index import nps_from_counts
    >>> r = nps_from_counts(promoters=50, passives=30, detractors=20)
    >>> r.nps, round(r.se, 3)
    (30.0, 7.81)
    """
    counts = {"promoters": promoters, "passives": passives, "detractors": detractors}
    checked = _check_counts(counts)
    n = sum(checked.values())
    if n == 0:
        msg = "NPS needs at least one respondent; all counts are 0."
        raise InsufficientDataError(msg)
    p_p, p_d = checked["promoters"] / n, checked["detractors"] / n
    score = 100.0 * (p_p - p_d)
    se = 100.0 * math.sqrt(max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    return NpsResult(
        nps=score,
        se=se,
        ci_low=max(-100.0, score - z * se),
        ci_high=min(100.0, score + z * se),
        n=n,
        promoters=checked["promoters"],
        passives=checked["passives"],
        detractors=checked["detractors"],
        confidence=confidence,
    )


def nps(scores: pd.Series | Sequence[float] | np.ndarray, *, confidence: float = 0.95) -> NpsResult:
    """Net Promoter Score from 0-10 answers to "how likely are you to recommend ...".

    Parameters
    ----------
    scores : Series or sequence
        Whole numbers 0-10; missing answers (NaN/None) are left out.
    confidence : float
        Level of the interval.

    Returns
    -------
    NpsResult

    Raises
    ------
    DataError
        Non-numeric answers or answers outside 0-10 / not whole numbers.

    Notes
    -----
    Promoters answer 9-10, passives 7-8, detractors 0-6 (Reichheld, 2003); see
    :func:`nps_from_counts` for the score and its interval.

    References
    ----------
    .. [1] Reichheld, F. F. (2003). Harvard Business Review, 81(12), 46-54.

    Examples
    --------
    >>> from scoring.index import nps
    >>> nps([10, 9, 8, 6, 3, None]).nps
    0.0
    """
    frame = pd.DataFrame({"recommend": pd.Series(scores, dtype=object)})
    values = check_range(
        check_numeric(frame, ["recommend"], "scores"), 0, 10, "scores", integer=True
    )
    x = values["recommend"].dropna().to_numpy()
    return nps_from_counts(
        promoters=int((x >= 9).sum()),
        passives=int(((x >= 7) & (x <= 8)).sum()),
        detractors=int((x <= 6).sum()),
        confidence=confidence,
    )


def _check_counts(counts: Mapping[str, Any]) -> dict[str, int]:
    out = {}
    for name, value in counts.items():
        ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
        if isinstance(value, float | np.floating) and float(value).is_integer():
            ok = True
        if not ok or value < 0:
            msg = f"{name} must be a non-negative whole number (a count); got {value!r}."
            raise DataError(msg)
        out[name] = int(value)
    return out


def customer_rates(
    *, customers: int, lost: int, referred: int | None = None, confidence: float = 0.95
) -> pd.DataFrame:
    """Churn, retention and referral rates from counts, with Wilson intervals.

    Parameters
    ----------
    customers : int
        Customers at the start of the period (the denominator).
    lost : int
        Of those, customers lost during the period.
    referred : int, optional
        Of those, customers who referred someone (referral rate 推荐率).
    confidence : float
        Level of the Wilson score intervals.

    Returns
    -------
    pandas.DataFrame
        ``rate, numerator, denominator, value, percent, ci_low, ci_high`` with rows
        ``churn``, ``retention`` and (when given) ``referral``.

    Raises
    ------
    DataError
        A count that is negative or not whole, ``lost`` or ``referred`` above
        ``customers``.
    InsufficientDataError
        ``customers`` is 0.

    Notes
    -----
    churn = lost / customers; retention = 1 - churn; referral = referred / customers.
    Intervals: Wilson (1927) score interval of a binomial proportion.

    References
    ----------
    .. [1] Reichheld, F. F., & Sasser, W. E. (1990). Zero defections: Quality comes to
       services. Harvard Business Review, 68(5), 105-111.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. JASA, 22(158), 209-212.

    Examples
    --------
    >>> from scoring.index import customer_rates
    >>> customer_rates(customers=200, lost=30, referred=50)["value"].tolist()
    [0.15, 0.85, 0.25]
    """
    counts = {"customers": customers, "lost": lost}
    if referred is not None:
        counts["referred"] = referred
    checked = _check_counts(counts)
    n = checked["customers"]
    if n == 0:
        msg = "customers must be positive to compute rates; got 0."
        raise InsufficientDataError(msg)
    for name in ("lost", "referred"):
        if name in checked and checked[name] > n:
            msg = f"{name} ({checked[name]}) cannot exceed customers ({n})."
            raise DataError(msg)
    z = float(stats.norm.ppf(0.5 + confidence / 2.0))
    rows = [("churn", checked["lost"]), ("retention", n - checked["lost"])]
    if "referred" in checked:
        rows.append(("referral", checked["referred"]))
    out = []
    for rate, k in rows:
        p = k / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
        out.append(
            {
                "rate": rate,
                "numerator": k,
                "denominator": n,
                "value": p,
                "percent": 100 * p,
                "ci_low": centre - half,
                "ci_high": centre + half,
            }
        )
    return pd.DataFrame(out)


def customer_rates_from(
    data: pd.DataFrame,
    *,
    lost: str,
    referred: str | None = None,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`customer_rates` from a data file: one row per customer, 0/1 columns.

    Parameters
    ----------
    data : pandas.DataFrame
        One row per customer of the period's start.
    lost : str
        Column with 1 for a customer lost during the period, 0 for one kept.
    referred : str, optional
        Column with 1 for a customer who referred someone, 0 otherwise.
    confidence : float
        Level of the Wilson score intervals.

    Returns
    -------
    pandas.DataFrame
        As :func:`customer_rates`, over the customers with an answer in every given
        column (``denominator``); a customer with a missing cell is left out of all the
        rates, so they share one base.

    Raises
    ------
    DataError
        A missing column, or a cell other than 0/1 (or True/False), naming its row.
    InsufficientDataError
        No customer with every given column answered.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"churned": [0, 1, 0, 0, None], "referred": [1, 0, 0, 1, 1]})
    >>> customer_rates_from(df, lost="churned", referred="referred")["value"].tolist()
    [0.25, 0.75, 0.5]
    """
    frame = check_frame(data)
    columns = [lost] if referred is None else [lost, referred]
    values = check_range(check_numeric(frame, columns), 0, 1, integer=True).dropna()
    return customer_rates(
        customers=len(values),
        lost=int(values[lost].sum()),
        referred=None if referred is None else int(values[referred].sum()),
        confidence=confidence,
    )
