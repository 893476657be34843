"""Shared statistical tests: t intervals, Welch and paired differences, Holm, Wilcoxon,
Welch's ANOVA, Kruskal-Wallis and Kendall's W.

Every method module (:mod:`scoring.servqual`, :mod:`scoring.gaps`, :mod:`scoring.index`)
and the web reports take these numbers from here, so an interval on the dashboard is the
interval of ``manyi score``.

Conventions shared by every function:

- ``NaN`` entries are missing values and are ignored (pairs need both values);
- fewer than two usable values is not an error: the estimate is given where it exists
  and the spread, interval and test are ``NaN``, so a table of many items keeps its rows;
- constant data give ``sd = 0`` and an interval of zero width; a test statistic that
  would divide by a zero standard error is ``NaN`` (undefined), as is its p-value;
- a non-numeric or multi-dimensional sample raises :class:`~scoring.errors.DataError`,
  a ``confidence`` outside (0, 1) raises :class:`~scoring.errors.SpecificationError`.

t quantiles and tail probabilities call :func:`scipy.special.stdtrit` and
:func:`scipy.special.stdtr`, the functions behind ``scipy.stats.t.ppf`` and
``scipy.stats.t.sf``, directly: the same numbers without the distribution object's
argument checks, which cost far more than the computation when a report asks for hundreds
of intervals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from scoring.errors import DataError, SpecificationError

__all__ = [
    "AnovaTest",
    "KendallW",
    "KruskalTest",
    "MeanDifference",
    "MeanInterval",
    "SignedRankTest",
    "holm",
    "intervals_from_stats",
    "kendall_w",
    "kruskal_wallis",
    "mean_interval",
    "mean_interval_from_stats",
    "paired_interval",
    "welch_anova",
    "welch_anova_from_stats",
    "welch_test",
    "welch_test_from_stats",
    "wilcoxon_signed_rank",
]

# ---------------------------------------------------------------------------- checks


def _check_confidence(confidence: float) -> float:
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        msg = f"confidence must lie strictly between 0 and 1 (e.g. 0.95); got {confidence!r}."
        raise SpecificationError(msg)
    return float(confidence)


def _sample(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-D float64 array, or a :class:`DataError` naming the argument."""
    try:
        x = np.asarray(values, dtype="float64")
    except (TypeError, ValueError):
        msg = f"{name} must hold numbers (NaN for missing); got {type(values).__name__}."
        raise DataError(msg) from None
    if x.ndim != 1:
        msg = f"{name} must be one-dimensional (one value per observation); got shape {x.shape}."
        raise DataError(msg)
    return x


def _t_quantile(confidence: float, df: Any) -> Any:
    """``scipy.stats.t.ppf(0.5 + confidence / 2, df)`` (scalar or array)."""
    return special.stdtrit(df, 0.5 + confidence / 2.0)


# ---------------------------------------------------------------------------- means


@dataclass(frozen=True, slots=True, kw_only=True)
class MeanInterval:
    """A mean with its t interval (:func:`mean_interval`).

    Attributes
    ----------
    n : int
        Number of values used (NaN ignored).
    mean, sd, se : float
        Sample mean, standard deviation (ddof 1) and standard error ``sd / sqrt(n)``.
    ci_low, ci_high : float
        ``mean -+ t_{(1+confidence)/2, n-1} * se``.
    confidence : float
        Confidence level of the interval.
    """

    n: int
    mean: float
    sd: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float

    def row(self) -> dict[str, float]:
        """The columns ``n, mean, sd, se, ci_low, ci_high`` (one row of a tidy table)."""
        return {
            "n": self.n,
            "mean": self.mean,
            "sd": self.sd,
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
        }


def mean_interval_from_stats(
    *, n: int, mean: float, sd: float, confidence: float = 0.95
) -> MeanInterval:
    """t interval of a mean from its summary statistics.

    Parameters
    ----------
    n : int
        Sample size.
    mean, sd : float
        Sample mean and standard deviation (ddof 1).
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    MeanInterval
        With ``n < 2``: ``se`` and the interval are NaN.

    Notes
    -----
    ``mean -+ t_{(1+c)/2, n-1} * sd / sqrt(n)`` (Student, 1908).

    Examples
    --------
    >>> r = mean_interval_from_stats(n=25, mean=3.0, sd=1.0)
    >>> round(r.ci_low, 4), round(r.ci_high, 4)
    (2.5872, 3.4128)
    """
    c = _check_confidence(confidence)
    n = int(n)
    se = sd / math.sqrt(n) if n > 1 else math.nan
    half = float(_t_quantile(c, n - 1)) * se if n > 1 else math.nan
    return MeanInterval(
        n=n,
        mean=float(mean),
        sd=float(sd),
        se=se,
        ci_low=mean - half,
        ci_high=mean + half,
        confidence=c,
    )


def mean_interval(values: Any, *, counts: Any = None, confidence: float = 0.95) -> MeanInterval:
    """Mean, standard deviation and t interval of a sample.

    Parameters
    ----------
    values : array-like, 1-D
        The sample; NaN entries are ignored. With ``counts``, the distinct values.
    counts : array-like, optional
        How often each of ``values`` occurs (a histogram, e.g. of whole-number answers):
        the sample is ``values`` repeated ``counts`` times, without expanding it.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    MeanInterval
        ``sd``, ``se`` and the interval are NaN below two values; the mean is NaN for
        an empty sample.

    Raises
    ------
    DataError
        If ``values`` is not a 1-D numeric array, or ``counts`` does not match it or
        holds negative numbers.

    Notes
    -----
    See :func:`mean_interval_from_stats`. From counts, the mean is
    ``sum(c_i x_i) / sum(c_i)``: exact for whole numbers below 2**53, so equal to the
    mean of the expanded sample; the sd differs from numpy's by rounding only.

    Examples
    --------
    >>> r = mean_interval([1.0, 2.0, 3.0, float("nan")])
    >>> r.n, r.mean, r.sd
    (3, 2.0, 1.0)
    >>> mean_interval([1.0, 2.0, 3.0], counts=[1, 0, 2]).mean == mean_interval([1, 3, 3]).mean
    True
    """
    c = _check_confidence(confidence)
    x = _sample(values, "values")
    if counts is None:
        nan = np.isnan(x)
        if nan.any():
            x = x[~nan]
        n = int(x.size)
        mean = float(x.mean()) if n else math.nan
        sd = float(x.std(ddof=1)) if n > 1 else math.nan
    else:
        w = _sample(counts, "counts")
        if w.shape != x.shape or (w < 0).any():
            msg = (
                "counts must give a non-negative count for each of values; got "
                f"{w.size} counts for {x.size} values."
            )
            raise DataError(msg)
        n = int(w.sum())
        mean = float(w @ x) / n if n else math.nan
        sd = math.sqrt(float(w @ (x - mean) ** 2) / (n - 1)) if n > 1 else math.nan
    return mean_interval_from_stats(n=n, mean=mean, sd=sd, confidence=c)


def intervals_from_stats(n: Any, mean: Any, sd: Any, *, confidence: float = 0.95) -> pd.DataFrame:
    """:func:`mean_interval_from_stats` of many samples at once (one t quantile call).

    Parameters
    ----------
    n, mean, sd : array-like, 1-D
        Sizes, means and standard deviations of the samples.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    pandas.DataFrame
        Columns ``n, mean, sd, se, ci_low, ci_high``, one row per sample, in order.

    Examples
    --------
    >>> intervals_from_stats([25, 1], [3.0, 2.0], [1.0, float("nan")]).round(4)
        n  mean   sd   se  ci_low  ci_high
    0  25   3.0  1.0  0.2  2.5872   3.4128
    1   1   2.0  NaN  NaN     NaN      NaN
    """
    c = _check_confidence(confidence)
    nn = np.asarray(n, dtype=np.int64).reshape(-1)
    mm = np.asarray(mean, dtype="float64").reshape(-1)
    ss = np.asarray(sd, dtype="float64").reshape(-1)
    if not nn.shape == mm.shape == ss.shape:
        msg = f"n, mean and sd must have the same length; got {nn.size}, {mm.size}, {ss.size}."
        raise DataError(msg)
    more = nn > 1
    se = np.full(nn.shape, np.nan)
    np.divide(ss, np.sqrt(nn), out=se, where=more)
    half = np.full(nn.shape, np.nan)
    half[more] = _t_quantile(c, nn[more] - 1) * se[more]
    return pd.DataFrame(
        {"n": nn, "mean": mm, "sd": ss, "se": se, "ci_low": mm - half, "ci_high": mm + half}
    )


# ---------------------------------------------------------------------------- differences


@dataclass(frozen=True, slots=True, kw_only=True)
class MeanDifference:
    """Difference of two means with its t interval and test.

    Attributes
    ----------
    estimate : float
        ``mean(a) - mean(b)`` (paired: the mean difference).
    se, df : float
        Standard error and degrees of freedom (Welch-Satterthwaite, or ``n - 1`` paired).
    t, p : float
        ``estimate / se`` and its two-sided p-value; NaN when ``se`` is 0 or undefined.
    ci_low, ci_high : float
        ``estimate -+ t_{(1+confidence)/2, df} * se``.
    n_a, n_b : int
        Values used from each sample (paired: both the number of complete pairs).
    method : {"welch", "paired"}
        Which test.
    confidence : float
        Confidence level of the interval.
    """

    estimate: float
    se: float
    df: float
    t: float
    p: float
    ci_low: float
    ci_high: float
    n_a: int
    n_b: int
    method: Literal["welch", "paired"]
    confidence: float


def welch_test_from_stats(
    *,
    n_a: int,
    mean_a: float,
    sd_a: float,
    n_b: int,
    mean_b: float,
    sd_b: float,
    confidence: float = 0.95,
) -> MeanDifference:
    """Welch's two-sample t test and interval of ``a - b`` from summary statistics.

    Parameters
    ----------
    n_a, mean_a, sd_a, n_b, mean_b, sd_b : int or float
        Size, mean and standard deviation (ddof 1) of each independent sample.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    MeanDifference
        ``method="welch"``. With fewer than two values in either sample, everything but
        the estimate is NaN; with both samples constant the interval has zero width and
        ``t``, ``p`` and ``df`` are NaN.

    Notes
    -----
    ``se = sqrt(s_a²/n_a + s_b²/n_b)``, Welch-Satterthwaite degrees of freedom
    ``df = se⁴ / ((s_a²/n_a)²/(n_a-1) + (s_b²/n_b)²/(n_b-1))`` (Welch, 1947).

    References
    ----------
    .. [1] Welch, B. L. (1947). The generalization of 'Student's' problem when several
       different population variances are involved. Biometrika, 34(1-2), 28-35.

    Examples
    --------
    >>> r = welch_test_from_stats(n_a=10, mean_a=5.0, sd_a=1.0, n_b=12, mean_b=4.0, sd_b=2.0)
    >>> round(r.t, 4), round(r.df, 2)
    (1.5191, 16.75)
    """
    c = _check_confidence(confidence)
    diff = float(mean_a) - float(mean_b)
    va = sd_a**2 / n_a if n_a > 1 else math.nan
    vb = sd_b**2 / n_b if n_b > 1 else math.nan
    se = math.sqrt(va + vb)
    t = p = df = math.nan
    if se > 0:
        df = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
        half = float(_t_quantile(c, df)) * se
        t = diff / se
        p = float(2.0 * special.stdtr(df, -abs(t)))  # = 2 * scipy.stats.t.sf(|t|, df)
    else:
        half = 0.0 if se == 0 else math.nan
    return MeanDifference(
        estimate=diff,
        se=se,
        df=df,
        t=t,
        p=p,
        ci_low=diff - half,
        ci_high=diff + half,
        n_a=int(n_a),
        n_b=int(n_b),
        method="welch",
        confidence=c,
    )


def welch_test(a: Any, b: Any, *, confidence: float = 0.95) -> MeanDifference:
    """Welch's two-sample t test and interval of ``mean(a) - mean(b)``.

    Parameters
    ----------
    a, b : array-like, 1-D
        Two independent samples; NaN entries are ignored.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    MeanDifference
        See :func:`welch_test_from_stats` (formula and edge cases).

    Examples
    --------
    >>> r = welch_test([5.0, 6.0, 7.0], [1.0, 2.0, 3.0, 4.0])
    >>> r.estimate, round(r.p, 4)
    (3.5, 0.0101)
    """
    sa = mean_interval(a, confidence=confidence)
    sb = mean_interval(b, confidence=confidence)
    return welch_test_from_stats(
        n_a=sa.n,
        mean_a=sa.mean,
        sd_a=sa.sd,
        n_b=sb.n,
        mean_b=sb.mean,
        sd_b=sb.sd,
        confidence=confidence,
    )


def paired_interval(a: Any, b: Any, *, confidence: float = 0.95) -> MeanDifference:
    """Paired t test and interval of the mean difference ``a - b``.

    Parameters
    ----------
    a, b : array-like, 1-D, same length
        Two measurements of the same units; pairs with a NaN in either are ignored.
    confidence : float, default 0.95
        Confidence level.

    Returns
    -------
    MeanDifference
        ``method="paired"``, ``df = n - 1``, ``n_a = n_b =`` the complete pairs; see the
        module notes for fewer than two pairs and constant differences.

    Raises
    ------
    DataError
        If ``a`` and ``b`` differ in length.

    Notes
    -----
    The t interval of the differences ``d_i = a_i - b_i`` (Student, 1908).

    Examples
    --------
    >>> r = paired_interval([3.0, 4.0, 5.0, 6.0], [2.0, 4.0, 3.0, 4.0])
    >>> r.estimate, round(r.ci_low, 4), r.n_a
    (1.25, -0.2735, 4)
    """
    c = _check_confidence(confidence)
    x, y = _sample(a, "a"), _sample(b, "b")
    if x.shape != y.shape:
        msg = f"a and b must hold the same units (paired); got lengths {x.size} and {y.size}."
        raise DataError(msg)
    d = mean_interval(x - y, confidence=c)
    t = p = math.nan
    if d.n > 1 and d.se > 0:
        t = d.mean / d.se
        p = float(2.0 * special.stdtr(d.n - 1, -abs(t)))
    return MeanDifference(
        estimate=d.mean,
        se=d.se,
        df=float(d.n - 1) if d.n > 1 else math.nan,
        t=t,
        p=p,
        ci_low=d.ci_low,
        ci_high=d.ci_high,
        n_a=d.n,
        n_b=d.n,
        method="paired",
        confidence=c,
    )


# ---------------------------------------------------------------------------- multiplicity


def holm(p: Any) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values; NaN p-values stay NaN and do not count.

    Parameters
    ----------
    p : array-like, 1-D
        Unadjusted p-values.

    Returns
    -------
    numpy.ndarray
        Adjusted p-values in the input order.

    Notes
    -----
    With the m finite p-values sorted, ``p_adj(i) = max_{j <= i} min(1, (m - j + 1) p(j))``;
    the same numbers as statsmodels' ``multipletests(method="holm")``.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       Scandinavian Journal of Statistics, 6(2), 65-70.

    Examples
    --------
    >>> holm([0.01, 0.04, float("nan"), 0.03]).round(2).tolist()
    [0.03, 0.06, nan, 0.06]
    """
    q = _sample(p, "p")
    out = np.full(q.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(q))
    m = ok.size
    if m:
        order = ok[np.argsort(q[ok], kind="stable")]
        out[order] = np.minimum(1.0, np.maximum.accumulate((m - np.arange(m)) * q[order]))
    return out


# ---------------------------------------------------------------------------- Wilcoxon


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedRankTest:
    """Wilcoxon signed-rank test (:func:`wilcoxon_signed_rank`).

    Attributes
    ----------
    statistic : float
        ``min(R+, R-)``, the smaller signed-rank sum (scipy's two-sided statistic).
    p : float
        Two-sided p-value.
    n : int
        Non-zero differences used.
    method : {"exact", "normal"}
        Exact null distribution or normal approximation.
    """

    statistic: float
    p: float
    n: int
    method: Literal["exact", "normal"]


def wilcoxon_signed_rank(d: Any, *, counts: Any = None) -> SignedRankTest:
    """Wilcoxon (1945) signed-rank test that paired differences are centred on zero.

    Parameters
    ----------
    d : array-like, 1-D
        Paired differences; NaN entries are ignored, zeros are dropped (Wilcoxon's rule).
        With ``counts``, the distinct whole-number differences in increasing order.
    counts : array-like, optional
        How often each of ``d`` occurs (a histogram of integer differences, e.g. from
        :func:`numpy.bincount`): ranks come from the counts, O(distinct values).

    Returns
    -------
    SignedRankTest
        NaN statistic and p-value when no difference is non-zero.

    Notes
    -----
    Up to 50 non-zero differences without ties in ``|d|``, scipy's exact distribution;
    otherwise the normal approximation with mid-ranks and the tie-corrected variance
    ``n(n+1)(2n+1)/24 - Σ(t³-t)/48``, without continuity correction -- scipy's
    ``wilcoxon(d, method="approx")``. (scipy would run a permutation test for small tied
    samples, too slow for a table of items.)

    References
    ----------
    .. [1] Wilcoxon, F. (1945). Individual comparisons by ranking methods. Biometrics
       Bulletin, 1(6), 80-83.

    Examples
    --------
    >>> r = wilcoxon_signed_rank([1.0, -2.0, 3.0, 4.0, 5.0, 0.0])
    >>> r.statistic, round(r.p, 4), r.n, r.method
    (2.0, 0.1875, 5, 'exact')
    """
    x = _sample(d, "d")
    if counts is not None:
        c = _sample(counts, "counts")
        if c.shape != x.shape or (c < 0).any() or (x != np.round(x)).any():
            msg = (
                "with counts, d must be distinct whole numbers and counts one non-negative "
                f"count for each; got {x.size} values and {c.size} counts."
            )
            raise DataError(msg)
        return _signed_rank_hist(x, c)
    nz = x[(x != 0) & ~np.isnan(x)]
    n = int(nz.size)
    if n == 0:
        return SignedRankTest(statistic=math.nan, p=math.nan, n=0, method="normal")
    a = np.abs(nz)
    if n <= 50 and np.unique(a).size == n:
        res = stats.wilcoxon(nz, method="exact")
        return SignedRankTest(
            statistic=float(res.statistic), p=float(res.pvalue), n=n, method="exact"
        )
    if np.all(a == np.round(a)) and a.max() < 1e6:
        counts_a = np.bincount(a.astype(np.int64))
        pos = np.bincount(a[nz > 0].astype(np.int64), minlength=counts_a.size)
    else:
        _, inv, counts_a = np.unique(a, return_inverse=True, return_counts=True)
        pos = np.bincount(inv[nz > 0], minlength=counts_a.size)
    return _signed_rank_normal(counts_a, pos, n)


def _signed_rank_hist(gaps: np.ndarray, counts: np.ndarray) -> SignedRankTest:
    """The test of the sample with ``counts[i]`` differences equal to ``gaps[i]``."""
    keep = (counts > 0) & (gaps != 0)
    g, c = gaps[keep].astype(np.int64), counts[keep].astype(np.int64)
    n = int(c.sum())
    if n == 0:
        return SignedRankTest(statistic=math.nan, p=math.nan, n=0, method="normal")
    a = np.abs(g)
    if n <= 50 and int(c.max()) == 1 and np.unique(a).size == n:
        res = stats.wilcoxon(g.astype("float64"), method="exact")
        return SignedRankTest(
            statistic=float(res.statistic), p=float(res.pvalue), n=n, method="exact"
        )
    # the same arrays as the raw path's bincount of |d| (length max|d| + 1)
    abs_counts = np.bincount(a, weights=c, minlength=int(a.max()) + 1).astype(np.int64)
    pos = np.bincount(a[g > 0], weights=c[g > 0], minlength=abs_counts.size).astype(np.int64)
    return _signed_rank_normal(abs_counts, pos, n)


def _signed_rank_normal(counts: np.ndarray, pos: np.ndarray, n: int) -> SignedRankTest:
    """Normal approximation from counts per distinct ``|d|`` (``pos[i]`` of them > 0)."""
    counts = counts.astype("float64")
    before = np.cumsum(counts) - counts
    avg_rank = before + (counts + 1.0) / 2.0
    r_plus = float(np.sum(avg_rank * pos))
    r_minus = n * (n + 1) / 2.0 - r_plus
    mean = n * (n + 1) / 4.0
    var = n * (n + 1) * (2 * n + 1) / 24.0 - float(np.sum(counts**3 - counts)) / 48.0
    stat = min(r_plus, r_minus)
    z = (stat - mean) / math.sqrt(var) if var > 0 else math.nan
    return SignedRankTest(
        statistic=stat, p=float(2.0 * special.ndtr(-abs(z))), n=n, method="normal"
    )


# ---------------------------------------------------------------------------- k groups


@dataclass(frozen=True, slots=True, kw_only=True)
class AnovaTest:
    """Welch's one-way ANOVA (:func:`welch_anova`): ``F`` on ``df1, df2`` and its p-value."""

    f: float
    df1: float
    df2: float
    p: float


def welch_anova_from_stats(n: Any, mean: Any, var: Any) -> AnovaTest:
    """Welch's (1951) heteroscedastic one-way ANOVA from group sizes, means and variances.

    Parameters
    ----------
    n, mean, var : array-like, 1-D
        Size, mean and variance (ddof 1) of each group.

    Returns
    -------
    AnovaTest
        All NaN with fewer than two groups, a group of fewer than two values or a
        constant group (a zero variance gives it infinite weight).

    Notes
    -----
    ``w_k = n_k / s_k²``, ``m = Σ w_k x̄_k / Σ w_k``,
    ``A = Σ w_k (x̄_k - m)² / (k - 1)``, ``Λ = Σ (1 - w_k / Σw)² / (n_k - 1)``,
    ``F = A / (1 + 2(k-2)Λ/(k²-1))`` on ``k - 1`` and ``(k² - 1) / (3Λ)`` df.

    References
    ----------
    .. [1] Welch, B. L. (1951). On the comparison of several mean values: an
       alternative approach. Biometrika, 38(3/4), 330-336.

    Examples
    --------
    >>> r = welch_anova_from_stats([10, 10, 10], [1.0, 2.0, 3.0], [1.0, 1.0, 4.0])
    >>> round(r.f, 4), r.df1
    (4.8119, 2.0)
    """
    nn = _sample(n, "n")
    mm = _sample(mean, "mean")
    vv = _sample(var, "var")
    k = nn.size
    nan = AnovaTest(f=math.nan, df1=math.nan, df2=math.nan, p=math.nan)
    if not nn.shape == mm.shape == vv.shape:
        msg = f"n, mean and var must have one entry per group; got {nn.size}, {mm.size}, {vv.size}."
        raise DataError(msg)
    if k < 2 or np.any(nn < 2) or not np.all(vv > 0):
        return nan
    w = nn / vv
    wsum = w.sum()
    grand = float(np.sum(w * mm) / wsum)
    a = float(np.sum(w * (mm - grand) ** 2)) / (k - 1)
    lam = float(np.sum((1 - w / wsum) ** 2 / (nn - 1)))
    f = a / (1 + 2 * (k - 2) / (k**2 - 1) * lam)
    df2 = (k**2 - 1) / (3 * lam)
    return AnovaTest(f=f, df1=float(k - 1), df2=df2, p=float(special.fdtrc(k - 1, df2, f)))


def welch_anova(groups: Sequence[Any]) -> AnovaTest:
    """Welch's one-way ANOVA of the samples in ``groups`` (NaN ignored).

    See :func:`welch_anova_from_stats` for the formula and the edge cases.

    Examples
    --------
    >>> r = welch_anova([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [5.0, 6.0, 9.0]])
    >>> round(r.p, 4)
    0.0819
    """
    parts = [mean_interval(g) for g in groups]
    return welch_anova_from_stats(
        [s.n for s in parts], [s.mean for s in parts], [s.sd**2 for s in parts]
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class KruskalTest:
    """Kruskal-Wallis test (:func:`kruskal_wallis`): tie-corrected ``H`` on ``df``."""

    h: float
    df: float
    p: float


def kruskal_wallis(groups: Sequence[Any]) -> KruskalTest:
    """Kruskal-Wallis H test that k samples come from one distribution.

    Parameters
    ----------
    groups : sequence of array-like
        The samples; NaN entries are ignored, empty groups do not count.

    Returns
    -------
    KruskalTest
        NaN with fewer than two non-empty groups or when every value is the same.

    Notes
    -----
    ``H = [12 / (N(N+1)) Σ R_k² / n_k - 3(N+1)] / (1 - Σ(t³-t) / (N³-N))`` with mid-ranks
    ``R`` and tie groups ``t``, on ``k - 1`` degrees of freedom -- scipy's
    ``kruskal``. Each group's distinct values and counts are merged into the pooled
    distinct values, so only distinct values are sorted: much faster than ranking a
    million discrete scores one by one.

    References
    ----------
    .. [1] Kruskal, W. H., & Wallis, W. A. (1952). Use of ranks in one-criterion
       variance analysis. Journal of the American Statistical Association, 47(260),
       583-621.

    Examples
    --------
    >>> r = kruskal_wallis([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0], [5.0, 6.0, 9.0]])
    >>> round(r.h, 4), r.df
    (6.0565, 2.0)
    """
    nan = KruskalTest(h=math.nan, df=math.nan, p=math.nan)
    clean = []
    for i, g in enumerate(groups):
        x = _sample(g, f"groups[{i}]")
        x = x[~np.isnan(x)]
        if x.size:
            if (x[1:] < x[:-1]).any():
                x = np.sort(x)
            clean.append(x)
    k = len(clean)
    n = sum(g.size for g in clean)
    if k < 2 or n < 2:
        return nan
    distinct = [_distinct_sorted(g) for g in clean]
    uniq = np.unique(np.concatenate([values for values, _ in distinct]))
    places = [np.searchsorted(uniq, values) for values, _ in distinct]
    ties = np.zeros(uniq.size)
    for (_, c), at in zip(distinct, places, strict=True):
        ties[at] += c
    mid_rank = (np.cumsum(ties) - ties) + (ties + 1.0) / 2.0
    # np.sum of products, not ``@``: BLAS dot may wake threads that compete for busy cores
    rsum = np.array(
        [float(np.sum(c * mid_rank[at])) for (_, c), at in zip(distinct, places, strict=True)]
    )
    nk = np.array([float(g.size) for g in clean])
    h = 12.0 / (n * (n + 1.0)) * float(np.sum(rsum**2 / nk)) - 3.0 * (n + 1.0)
    corr = 1.0 - float(np.sum(ties**3 - ties)) / (float(n) ** 3 - n)
    if corr <= 0:
        return nan
    h /= corr
    return KruskalTest(h=h, df=float(k - 1), p=float(special.chdtrc(k - 1, h)))


def _distinct_sorted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    starts = np.flatnonzero(np.r_[True, x[1:] != x[:-1]])
    return x[starts], np.diff(np.r_[starts, x.size]).astype("float64")


# ---------------------------------------------------------------------------- concordance


@dataclass(frozen=True, slots=True, kw_only=True)
class KendallW:
    """Kendall's coefficient of concordance (:func:`kendall_w`).

    Attributes
    ----------
    w : float
        Tie-corrected W in [0, 1]; NaN with fewer than two raters or objects, or when
        every rater ties every object.
    m, n : int
        Raters and objects used (the objects every rater scored).
    chi2, df, p : float
        ``m (n - 1) W`` on ``n - 1`` degrees of freedom and its upper-tail p-value.
    """

    w: float
    m: int
    n: int
    chi2: float
    df: float
    p: float


def kendall_w(rankings: Mapping[str, Mapping[str, float]]) -> KendallW:
    """Kendall's coefficient of concordance W of m rankings of the same n objects.

    Parameters
    ----------
    rankings : mapping
        Rater -> {object: score}. Scores are ranked within each rater (average ranks for
        ties; a lower score is a lower rank); only the objects every rater scored are
        used, and raters with no scores are left out.

    Returns
    -------
    KendallW

    Notes
    -----
    ``W = 12 S / (m²(n³ - n) - m T)``, with ``S`` the sum of squared deviations of the
    objects' rank sums from their mean and ``T = Σ(t³ - t)`` over the groups of tied
    ranks of every rater (Kendall & Babington Smith, 1939; Siegel & Castellan, 1988,
    section 9.4). ``m (n - 1) W`` equals Friedman's tie-corrected chi-square and is tested
    against chi-square with ``n - 1`` degrees of freedom.

    References
    ----------
    .. [1] Kendall, M. G., & Babington Smith, B. (1939). The problem of m rankings.
       Annals of Mathematical Statistics, 10(3), 275-287.
    .. [2] Siegel, S., & Castellan, N. J. (1988). Nonparametric statistics for the
       behavioral sciences (2nd ed.). McGraw-Hill.
    .. [3] Legendre, P. (2005). Species associations: the Kendall coefficient of
       concordance revisited. Journal of Agricultural, Biological, and Environmental
       Statistics, 10(2), 226-245.

    Examples
    --------
    >>> kendall_w({"a": {"x": 1, "y": 2, "z": 3}, "b": {"x": 1, "y": 2, "z": 3}}).w
    1.0
    >>> kendall_w({"a": {"x": 1, "y": 2, "z": 3}, "b": {"x": 3, "y": 2, "z": 1}}).w
    0.0
    """
    raters = [r for r in rankings if rankings[r]]
    common = sorted(set.intersection(*(set(rankings[r]) for r in raters))) if raters else []
    m, n = len(raters), len(common)
    if m < 2 or n < 2:
        return KendallW(w=math.nan, m=m, n=n, chi2=math.nan, df=math.nan, p=math.nan)
    scores = np.array([[float(rankings[r][o]) for o in common] for r in raters])
    if np.isnan(scores).any():
        bad = [r for r, row in zip(raters, scores, strict=True) if np.isnan(row).any()]
        msg = f"rankings must score every common object; raters with NaN scores: {bad}."
        raise DataError(msg)
    ranks = stats.rankdata(scores, axis=1)
    rsum = ranks.sum(axis=0)
    s = float(((rsum - rsum.mean()) ** 2).sum())
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denom = m**2 * (n**3 - n) - m * ties
    w = 12 * s / denom if denom > 0 else math.nan
    chi2 = m * (n - 1) * w
    p = float(special.chdtrc(n - 1, chi2)) if math.isfinite(chi2) else math.nan
    return KendallW(w=w, m=m, n=n, chi2=chi2, df=float(n - 1), p=p)
