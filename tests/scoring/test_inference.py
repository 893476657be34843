"""The shared tests of scoring.inference against scipy, statsmodels and pingouin."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.multitest import multipletests

from scoring.errors import DataError, SpecificationError
from scoring.inference import (
    holm,
    intervals_from_stats,
    kendall_w,
    kruskal_wallis,
    mean_interval,
    mean_interval_from_stats,
    paired_interval,
    welch_anova,
    welch_anova_from_stats,
    welch_test,
    welch_test_from_stats,
    wilcoxon_signed_rank,
)

TOL = {"rtol": 1e-10, "atol": 1e-12}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_mean_interval_matches_scipy(rng, confidence):
    x = rng.normal(3.0, 1.2, 37)
    x[[3, 9]] = np.nan
    clean = x[~np.isnan(x)]
    got = mean_interval(x, confidence=confidence)
    ref = stats.ttest_1samp(clean, 0.0).confidence_interval(confidence)
    assert got.n == 35
    assert_allclose(
        [got.mean, got.sd, got.se, got.ci_low, got.ci_high],
        [clean.mean(), clean.std(ddof=1), stats.sem(clean), ref.low, ref.high],
        **TOL,
    )
    again = mean_interval_from_stats(n=35, mean=got.mean, sd=got.sd, confidence=confidence)
    assert again == got


def test_mean_interval_from_counts_equals_the_expanded_sample(rng):
    values = np.arange(-4.0, 5.0)
    counts = rng.integers(0, 30, values.size)
    got = mean_interval(values, counts=counts)
    ref = mean_interval(np.repeat(values, counts))
    assert got.n == ref.n
    assert got.mean == ref.mean  # exact for whole numbers
    assert_allclose([got.sd, got.ci_low, got.ci_high], [ref.sd, ref.ci_low, ref.ci_high], **TOL)


def test_intervals_from_stats_match_one_by_one(rng):
    n = np.array([2, 10, 1, 0, 50])
    mean = rng.normal(size=5)
    sd = np.abs(rng.normal(size=5))
    frame = intervals_from_stats(n, mean, sd, confidence=0.9)
    assert list(frame.columns) == ["n", "mean", "sd", "se", "ci_low", "ci_high"]
    for i in range(5):
        one = mean_interval_from_stats(n=int(n[i]), mean=mean[i], sd=sd[i], confidence=0.9)
        assert_allclose(frame.iloc[i, 3:].to_numpy(float), [one.se, one.ci_low, one.ci_high])
    assert frame.loc[[2, 3], ["se", "ci_low", "ci_high"]].isna().all().all()
    empty = intervals_from_stats([], [], [])
    assert empty.empty


def test_mean_interval_small_and_constant_samples():
    one = mean_interval([4.0, np.nan])
    assert one.n == 1
    assert one.mean == 4.0
    assert math.isnan(one.sd)
    assert math.isnan(one.ci_low)
    none = mean_interval([np.nan])
    assert none.n == 0
    assert math.isnan(none.mean)
    flat = mean_interval([2.0, 2.0, 2.0])
    assert (flat.sd, flat.ci_low, flat.ci_high) == (0.0, 2.0, 2.0)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: mean_interval([1.0, 2.0], confidence=95), SpecificationError, "between 0 and 1"),
        (lambda: mean_interval([[1.0, 2.0]]), DataError, "one-dimensional"),
        (lambda: mean_interval(["a", "b"]), DataError, "must hold numbers"),
        (lambda: mean_interval([1.0, 2.0], counts=[1, -1]), DataError, "non-negative"),
        (lambda: paired_interval([1.0, 2.0], [1.0]), DataError, "same units"),
        (lambda: wilcoxon_signed_rank([0.5, 1.0], counts=[1, 1]), DataError, "whole numbers"),
        (lambda: welch_anova_from_stats([2, 3], [1.0], [1.0, 1.0]), DataError, "one entry"),
        (lambda: kendall_w({"a": {"x": 1, "y": np.nan}, "b": {"x": 1, "y": 2}}), DataError, "NaN"),
    ],
)
def test_bad_input_is_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_welch_matches_scipy(rng):
    a = rng.normal(3.0, 1.0, 23)
    b = rng.normal(2.5, 2.0, 31)
    b[4] = np.nan
    got = welch_test(a, b, confidence=0.9)
    clean = b[~np.isnan(b)]
    ref = stats.ttest_ind(a, clean, equal_var=False)
    ci = ref.confidence_interval(0.9)
    assert (got.n_a, got.n_b, got.method) == (23, 30, "welch")
    assert_allclose(
        [got.estimate, got.t, got.p, got.df, got.ci_low, got.ci_high],
        [a.mean() - clean.mean(), ref.statistic, ref.pvalue, ref.df, ci.low, ci.high],
        **TOL,
    )
    same = welch_test_from_stats(
        n_a=23,
        mean_a=a.mean(),
        sd_a=a.std(ddof=1),
        n_b=30,
        mean_b=clean.mean(),
        sd_b=clean.std(ddof=1),
        confidence=0.9,
    )
    assert_allclose([same.t, same.p, same.ci_low], [got.t, got.p, got.ci_low], **TOL)


def test_welch_edge_cases():
    short = welch_test([1.0], [1.0, 2.0, 3.0])
    assert short.estimate == -1.0
    assert all(math.isnan(v) for v in (short.se, short.df, short.t, short.p, short.ci_low))
    flat = welch_test([2.0, 2.0], [1.0, 1.0, 1.0])
    assert (flat.estimate, flat.se, flat.ci_low, flat.ci_high) == (1.0, 0.0, 1.0, 1.0)
    assert math.isnan(flat.t)
    assert math.isnan(flat.p)


def test_paired_interval_matches_scipy(rng):
    a = rng.normal(4.0, 1.0, 40)
    b = a - rng.normal(0.3, 0.5, 40)
    a[2], b[7] = np.nan, np.nan
    ok = ~(np.isnan(a) | np.isnan(b))
    got = paired_interval(a, b)
    ref = stats.ttest_rel(a[ok], b[ok])
    ci = ref.confidence_interval(0.95)
    assert (got.n_a, got.df, got.method) == (38, 37.0, "paired")
    assert_allclose(
        [got.t, got.p, got.ci_low, got.ci_high], [ref.statistic, ref.pvalue, ci.low, ci.high], **TOL
    )
    flat = paired_interval([3.0, 4.0], [2.0, 3.0])
    assert (flat.estimate, flat.ci_low) == (1.0, 1.0)
    assert math.isnan(flat.p)


def test_holm_matches_statsmodels(rng):
    p = rng.uniform(0, 0.2, 15)
    p[[4, 11]] = np.nan
    got = holm(p)
    ok = ~np.isnan(p)
    assert_allclose(got[ok], multipletests(p[ok], method="holm")[1], **TOL)
    assert np.isnan(got[~ok]).all()
    assert holm([]).size == 0


@pytest.mark.parametrize(("size", "spread"), [(400, 3), (40, 2), (9, 6), (1, 1)])
def test_wilcoxon_counts_path_matches_raw_path_and_scipy(size, spread):
    # whole-number differences with ties and zeros: the histogram path and the path from
    # the raw differences agree, and both are scipy's (exact without ties, else normal)
    rng = np.random.default_rng(size)
    d = rng.integers(-spread, spread + 1, size=size).astype("float64")
    gaps, counts = np.unique(d, return_counts=True)
    fast = wilcoxon_signed_rank(gaps, counts=counts)
    raw = wilcoxon_signed_rank(d)
    assert_allclose([fast.statistic, fast.p], [raw.statistic, raw.p], rtol=1e-12, atol=0)
    if np.count_nonzero(d) == 0:
        assert math.isnan(fast.statistic)
        assert math.isnan(fast.p)
        assert fast.n == 0
        return
    nonzero = np.abs(d[d != 0])
    exact = nonzero.size <= 50 and np.unique(nonzero).size == nonzero.size
    assert fast.method == ("exact" if exact else "normal")
    ref = stats.wilcoxon(d, method="exact" if exact else "approx", correction=False)
    assert_allclose([fast.statistic, fast.p], [ref.statistic, ref.pvalue], rtol=1e-12)


def test_wilcoxon_of_real_differences_matches_scipy(rng):
    d = np.round(rng.normal(0.2, 1.0, 120), 1)  # ties, zeros, not whole numbers
    d[5] = np.nan
    got = wilcoxon_signed_rank(d)
    ref = stats.wilcoxon(d[~np.isnan(d)], method="approx", correction=False)
    assert_allclose([got.statistic, got.p], [ref.statistic, ref.pvalue], **TOL)


def test_welch_anova_matches_pingouin(rng):
    groups = [rng.normal(m, s, n) for m, s, n in ((3.0, 1.0, 20), (3.4, 2.0, 35), (2.6, 0.5, 12))]
    got = welch_anova(groups)
    frame = pd.DataFrame(
        {"y": np.concatenate(groups), "g": np.repeat(["a", "b", "c"], [20, 35, 12])}
    )
    ref = pg.welch_anova(data=frame, dv="y", between="g")
    assert_allclose(
        [got.f, got.df1, got.df2, got.p],
        ref.loc[0, ["F", "ddof1", "ddof2", "p_unc"]].to_numpy(float),
        **TOL,
    )
    assert math.isnan(welch_anova([[1.0, 2.0], [3.0, 3.0]]).f)  # a constant group
    assert math.isnan(welch_anova([[1.0, 2.0, 3.0]]).p)  # one group


def test_kruskal_matches_scipy(rng):
    groups = [rng.integers(1, 6, n).astype(float) for n in (30, 12, 45, 8)]
    groups[1][0] = np.nan
    got = kruskal_wallis(groups)
    ref = stats.kruskal(*groups, nan_policy="omit")
    assert_allclose([got.h, got.p], [ref.statistic, ref.pvalue], **TOL)
    assert got.df == 3.0
    assert math.isnan(kruskal_wallis([[1.0, 1.0], [1.0]]).h)  # all tied
    assert math.isnan(kruskal_wallis([[1.0, 2.0], []]).h)  # one non-empty group


def test_kendall_w_matches_friedman(rng):
    # m (n - 1) W is Friedman's tie-corrected chi-square (Siegel & Castellan, 1988, 9.4)
    scores = rng.integers(1, 5, size=(4, 6)).astype(float)  # 4 raters, 6 objects, ties
    rankings = {f"r{i}": dict(zip("abcdef", row, strict=True)) for i, row in enumerate(scores)}
    got = kendall_w(rankings)
    ref = stats.friedmanchisquare(*scores.T)
    assert (got.m, got.n, got.df) == (4, 6, 5.0)
    assert_allclose([got.chi2, got.p], [ref.statistic, ref.pvalue], **TOL)
    assert_allclose(got.w, ref.statistic / (4 * 5), **TOL)


def test_kendall_w_hand_computed_example():
    # 3 raters rank 4 objects; rater c ties x and y (ranks 1.5, 1.5).
    # rank sums: w = 1+2+1.5 = 4.5, x = 2+1+1.5 = 4.5, y = 3+3+3 = 9, z = 4+4+4 = 12;
    # mean 7.5, S = 9 + 9 + 2.25 + 20.25 = 40.5; T = 2^3 - 2 = 6;
    # W = 12 * 40.5 / (9 * 60 - 3 * 6) = 486 / 522.
    rankings = {
        "a": {"w": 1, "x": 2, "y": 3, "z": 4},
        "b": {"w": 2, "x": 1, "y": 3, "z": 4},
        "c": {"w": 1, "x": 1, "y": 3, "z": 4},
    }
    got = kendall_w(rankings)
    assert got.w == pytest.approx(486 / 522, rel=1e-12)
    assert got.chi2 == pytest.approx(3 * 3 * 486 / 522, rel=1e-12)
    assert got.p == pytest.approx(stats.chi2.sf(3 * 3 * 486 / 522, 3), rel=1e-12)


def test_kendall_w_needs_two_raters_and_two_objects():
    assert math.isnan(kendall_w({"a": {"x": 1.0, "y": 2.0}}).w)
    one_object = kendall_w({"a": {"x": 1.0, "y": 2.0}, "b": {"x": 3.0}})
    assert (one_object.m, one_object.n) == (2, 1)
    assert math.isnan(one_object.p)
    assert math.isnan(kendall_w({}).w)
