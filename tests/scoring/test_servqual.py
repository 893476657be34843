"""Tests of scoring.servqual: published table, hand-computed cases, properties, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pingouin as pg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.stats.multitest import multipletests

from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.servqual import servqual, servqual_gaps

RATER = {
    "tangibles": ["tan1", "tan2", "tan3", "tan4"],
    "reliability": ["rel1", "rel2", "rel3", "rel4", "rel5"],
    "responsiveness": ["res1", "res2", "res3", "res4"],
    "assurance": ["ass1", "ass2", "ass3", "ass4"],
    "empathy": ["emp1", "emp2", "emp3", "emp4", "emp5"],
}

# PMC6131925, Table 2: SERVQUAL dimension means on a 5-point scale, N = 386 (2 dp).
PUBLISHED = {
    "tangibles": (4.44, 4.19, -0.25),
    "reliability": (4.49, 4.36, -0.13),
    "responsiveness": (4.48, 4.35, -0.13),
    "assurance": (4.50, 4.32, -0.18),
    "empathy": (4.56, 4.40, -0.16),
}
PUBLISHED_SERVQUAL = -0.17


def _column_with_mean(rng, n: int, target: float, low: int, high: int) -> np.ndarray:
    """Integer answers in [low, high] whose total is round(target * n)."""
    total = round(target * n)
    base = int(np.floor(total / n))
    x = np.full(n, base)
    x[: total - base * n] += 1
    # spread: move one point from one answer to another, keeping the total
    for _ in range(n // 3):
        i, j = rng.integers(0, n, size=2)
        if x[i] < high and x[j] > low:
            x[i] += 1
            x[j] -= 1
    return rng.permutation(x)


@pytest.fixture(scope="module")
def published_data() -> pd.DataFrame:
    rng = np.random.default_rng(6131925)
    n = 386
    cols = {}
    for dim, items in RATER.items():
        e_mean, p_mean, _ = PUBLISHED[dim]
        for item in items:
            cols[f"{item}_e"] = _column_with_mean(rng, n, e_mean, 1, 5)
            cols[f"{item}_p"] = _column_with_mean(rng, n, p_mean, 1, 5)
    return pd.DataFrame(cols)


def test_published_dimension_means(published_data):
    res = servqual(published_data, dimensions=RATER, scale=(1, 5))
    table = res.dimensions.set_index("dimension")
    for dim, (e, p, gap) in PUBLISHED.items():
        assert table.loc[dim, "n"] == 386
        assert table.loc[dim, "expectation"] == pytest.approx(e, abs=5e-3)  # 2 dp in source
        assert table.loc[dim, "perception"] == pytest.approx(p, abs=5e-3)
        assert table.loc[dim, "gap"] == pytest.approx(gap, abs=1e-2)  # difference of 2 dp
    overall = res.overall.set_index("measure").loc["servqual", "mean"]
    assert overall == pytest.approx(PUBLISHED_SERVQUAL, abs=5e-3)
    assert overall == pytest.approx(table["gap"].mean(), abs=1e-12)


def test_overall_is_mean_of_dimensions_not_of_items():
    # dimension a: one item with gap -2; dimension b: three items with gap 0.
    # mean of dimension gaps = -1; a pooled mean over the four items would be -0.5.
    df = pd.DataFrame(
        {
            "a1_e": [7, 7],
            "a1_p": [5, 5],
            **{f"b{i}_e": [4, 5] for i in range(3)},
            **{f"b{i}_p": [4, 5] for i in range(3)},
        }
    )
    res = servqual(df, dimensions={"a": ["a1"], "b": ["b0", "b1", "b2"]})
    assert res.overall.set_index("measure").loc["servqual", "mean"] == -1.0
    assert res.scores["overall"].tolist() == [-1.0, -1.0]


@pytest.fixture
def simulated() -> pd.DataFrame:
    rng = np.random.default_rng(42)
    n = 240
    cols = {}
    for items in RATER.values():
        for item in items:
            e = rng.integers(4, 8, size=n)
            cols[f"{item}_e"] = e
            cols[f"{item}_p"] = np.clip(e - rng.integers(-1, 3, size=n), 1, 7)
    alloc = rng.dirichlet(np.ones(5), size=n) * 100
    alloc[:, -1] = 100 - alloc[:, :-1].sum(axis=1)
    for j, dim in enumerate(RATER):
        cols[f"imp_{dim}"] = alloc[:, j]
    cols["region"] = rng.choice(["north", "south", "west"], size=n)
    cols["channel"] = rng.choice(["web", "phone"], size=n)
    return pd.DataFrame(cols)


def test_paired_tests_match_scipy_and_statsmodels(simulated):
    res = servqual(simulated, dimensions=RATER)
    items = res.items.set_index("item")
    for item in ["tan1", "rel3", "emp5"]:
        p, e = simulated[f"{item}_p"], simulated[f"{item}_e"]
        ref = stats.ttest_rel(p, e)
        assert items.loc[item, "t"] == pytest.approx(ref.statistic, rel=1e-10)
        assert items.loc[item, "p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
        lo, hi = ref.confidence_interval(0.95)
        assert (items.loc[item, "ci_low"], items.loc[item, "ci_high"]) == pytest.approx((lo, hi))
        w = stats.wilcoxon(p - e, method="approx", zero_method="wilcox", correction=False)
        assert items.loc[item, "wilcoxon_p"] == pytest.approx(w.pvalue, rel=1e-8)
        assert items.loc[item, "wilcoxon_stat"] == pytest.approx(w.statistic)
    holm = multipletests(res.items["p_value"], method="holm")[1]
    assert_allclose(res.items["p_holm"], holm)
    holm_w = multipletests(res.items["wilcoxon_p"], method="holm")[1]
    assert_allclose(res.items["wilcoxon_p_holm"], holm_w)


def test_small_sample_wilcoxon():
    # no tied |d|: scipy's exact distribution
    df = pd.DataFrame({"a_e": [7, 7, 3, 7, 6, 6], "a_p": [6, 5, 6, 3, 1, 6]})
    res = servqual(df, dimensions={"d": ["a"]})
    ref = stats.wilcoxon(df["a_p"] - df["a_e"], method="exact")
    assert res.items.loc[0, "wilcoxon_p"] == pytest.approx(ref.pvalue)
    # ties: normal approximation with tie correction
    df["a_p"] = [6, 5, 6, 3, 2, 6]
    res = servqual(df, dimensions={"d": ["a"]})
    ref = stats.wilcoxon(df["a_p"] - df["a_e"], method="approx", correction=False)
    assert res.items.loc[0, "wilcoxon_p"] == pytest.approx(ref.pvalue)


def test_weighted_by_hand():
    df = pd.DataFrame(
        {
            "t_e": [6, 7],
            "t_p": [5, 7],
            "r_e": [7, 6],
            "r_p": [4, 6],
            "w_t": [25, 60],
            "w_r": [75, 40],
        }
    )
    dims = {"tan": ["t"], "rel": ["r"]}
    res = servqual(df, dimensions=dims, weights={"tan": "w_t", "rel": "w_r"})
    # respondent 1: 0.25 * -1 + 0.75 * -3 = -2.5; respondent 2: 0
    assert res.scores["weighted"].tolist() == [-2.5, 0.0]
    assert res.overall.set_index("measure").loc["servqual_weighted", "mean"] == -1.25
    assert_allclose(res.weights["weight"], [0.425, 0.575])
    fixed = servqual(df, dimensions=dims, weights={"tan": 1, "rel": 3})
    # fixed weights rescaled to 0.25 / 0.75: (-2.5 + 0) / 2
    assert fixed.overall.set_index("measure").loc["servqual_weighted", "mean"] == -1.25


def test_allocation_normalise_option():
    df = pd.DataFrame({"t_e": [6, 7], "t_p": [5, 7], "w_t": [10, 30], "w_r": [10, 10]})
    df["r_e"], df["r_p"] = [7, 6], [4, 6]
    dims = {"tan": ["t"], "rel": ["r"]}
    with pytest.raises(DataError, match=r"must sum to 100.*row 0 sums to 20"):
        servqual(df, dimensions=dims, weights={"tan": "w_t", "rel": "w_r"})
    res = servqual(
        df, dimensions=dims, weights={"tan": "w_t", "rel": "w_r"}, normalise_weights=True
    )
    assert res.scores["weighted"].tolist() == [-2.0, 0.0]


def test_servperf_when_no_expectations(simulated):
    p_only = simulated.drop(columns=[c for c in simulated.columns if c.endswith("_e")])
    res = servqual(p_only, dimensions=RATER)
    assert res.model == "servperf"
    dims = res.dimensions.set_index("dimension")
    tan = simulated[[f"{i}_p" for i in RATER["tangibles"]]].to_numpy().mean()
    assert dims.loc["tangibles", "perception"] == pytest.approx(tan)
    assert res.items["gap"].isna().all()
    assert "servperf" in set(res.overall["measure"])


def test_zone_of_tolerance_by_hand():
    df = pd.DataFrame(
        {
            "a_p": [5, 6, 4],
            "a_ade": [4, 4, 4],
            "a_des": [6, 7, 6],
            "b_p": [3, 5, 7],
            "b_ade": [3, 3, 3],
            "b_des": [7, 7, 7],
        }
    )
    res = servqual(df, dimensions={"d": ["a", "b"]})
    z = res.zone_of_tolerance.set_index(["level", "name"])
    assert z.loc[("item", "a"), "msa"] == pytest.approx((-1 - 1 - 2) / 3)
    assert z.loc[("item", "a"), "mss"] == pytest.approx((1 + 2 + 0) / 3)
    assert z.loc[("item", "b"), "mss"] == pytest.approx(2.0)
    # dimension MSA = mean over respondents of their mean MSA over a, b
    assert z.loc[("dimension", "d"), "msa"] == pytest.approx(((-1 - 4) + (-1 - 2) + (-2 + 0)) / 6)
    assert res.model == "servperf"


def test_reverse_recodes_every_role_of_the_named_items():
    df = pd.DataFrame(
        {
            "a_e": [6, 7, 5],
            "a_p": [2, 3, 1],
            "a_ade": [4, 4, 3],
            "a_des": [1, 2, 1],
            "b_e": [6, 6, 6],
            "b_p": [5, 6, 7],
            "b_ade": [3, 3, 3],
            "b_des": [7, 7, 7],
        }
    )
    recoded = df.copy()
    for col in ("a_e", "a_p", "a_ade", "a_des"):
        recoded[col] = 8 - df[col]
    got = servqual(df, dimensions={"d": ["a", "b"]}, reverse=["a"])
    want = servqual(recoded, dimensions={"d": ["a", "b"]})
    pd.testing.assert_frame_equal(got.summary(), want.summary())
    pd.testing.assert_frame_equal(got.zone_of_tolerance, want.zone_of_tolerance)
    assert got.items.set_index("item").loc["a", "gap"] == pytest.approx(6 - 2)
    assert got.reverse == ("a",)
    with pytest.raises(SpecificationError, match=r"reverse names item id\(s\) \['c'\]"):
        servqual(df, dimensions={"d": ["a", "b"]}, reverse=["c"])
    # an answer outside the scale is reported as given, not as its recoded value
    df.loc[1, "a_p"] = 9
    with pytest.raises(DataError, match=r"'a_p'.* row 1 holds (np\.float64\()?9(\.0)?\b"):
        servqual(df, dimensions={"d": ["a", "b"]}, reverse=["a"])


def test_segments_match_pingouin_and_scipy(simulated):
    res = servqual(
        simulated,
        dimensions=RATER,
        segment=["region", "channel"],
        weights={d: f"imp_{d}" for d in RATER},
    )
    scores = res.scores.assign(region=simulated["region"])
    tests = res.segment_tests.set_index(["segment", "score"])
    for score in ["overall", "weighted", "tangibles"]:
        welch = pg.welch_anova(data=scores, dv=score, between="region")
        row = tests.loc[("region", score)]
        assert row["welch_f"] == pytest.approx(welch["F"].iloc[0], rel=1e-8)
        assert row["welch_p"] == pytest.approx(welch["p_unc"].iloc[0], rel=1e-6)
        groups = [g[score].to_numpy() for _, g in scores.groupby("region")]
        kw = stats.kruskal(*groups)
        assert row["kruskal_h"] == pytest.approx(kw.statistic, rel=1e-10)
        assert row["kruskal_p"] == pytest.approx(kw.pvalue, rel=1e-8)
    seg = res.segments.set_index(["segment", "level", "score"])
    means = scores.groupby("region")["overall"].mean()
    assert seg.loc[("region", "north", "overall"), "mean"] == pytest.approx(means["north"])
    assert set(res.segment_tests["segment"]) == {"region", "channel"}


def test_missing_rules(simulated):
    df = simulated.copy()
    df = df.astype({"tan1_p": "float64", "rel2_e": "float64"})
    df.loc[0, "tan1_p"] = np.nan
    df.loc[1, "rel2_e"] = np.nan
    pair = servqual(df, dimensions=RATER)
    items = pair.items.set_index("item")
    assert items.loc["tan1", "n"] == 239
    assert items.loc["tan2", "n"] == 240
    mask = df["tan1_p"].notna()
    assert items.loc["tan1", "expectation"] == pytest.approx(df.loc[mask, "tan1_e"].mean())
    assert "pairwise" in pair.missing_rule
    listwise = servqual(df, dimensions=RATER, missing="listwise")
    assert listwise.n_respondents == 238
    assert (listwise.items["n"] == 238).all()
    filled = servqual(df, dimensions=RATER, missing="item_mean")
    assert (filled.items["n"] == 240).all()
    expected = (df["tan1_p"].fillna(df["tan1_p"].mean()) - df["tan1_e"]).mean()
    assert filled.items.set_index("item").loc["tan1", "gap"] == pytest.approx(expected)


def test_servqual_gaps_equals_servqual(simulated):
    items = [i for its in RATER.values() for i in its]
    p = simulated[[f"{i}_p" for i in items]].set_axis(items, axis=1)
    e = simulated[[f"{i}_e" for i in items]].set_axis(items, axis=1)
    a = servqual_gaps(p, e, dimensions=RATER, segments=simulated["region"])
    b = servqual(simulated, dimensions=RATER, segment="region")
    pd.testing.assert_frame_equal(a.items, b.items)
    pd.testing.assert_frame_equal(a.segment_tests, b.segment_tests)
    json.dumps(a.to_dict())


def _frames(draw_data):
    p, e = draw_data
    return pd.DataFrame(p, columns=["a", "b", "c"]), pd.DataFrame(e, columns=["a", "b", "c"])


answers = st.lists(st.tuples(*[st.integers(1, 5)] * 3), min_size=3, max_size=20).map(np.array)


@settings(max_examples=30, deadline=None)
@given(p=answers, data=st.data())
def test_swapping_e_and_p_negates_every_gap(p, data):
    e = data.draw(st.lists(st.tuples(*[st.integers(1, 5)] * 3), min_size=len(p), max_size=len(p)))
    pf, ef = _frames((p, np.array(e)))
    dims = {"x": ["a", "b"], "y": ["c"]}
    fwd = servqual_gaps(pf, ef, dimensions=dims)
    back = servqual_gaps(ef, pf, dimensions=dims)
    assert_allclose(back.items["gap"], -fwd.items["gap"], atol=1e-12)
    assert_allclose(back.dimensions["gap"], -fwd.dimensions["gap"], atol=1e-12)
    assert_allclose(back.scores["overall"], -fwd.scores["overall"], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(p=answers, shift=st.integers(0, 2), data=st.data())
def test_adding_constant_leaves_gaps(p, shift, data):
    e = data.draw(st.lists(st.tuples(*[st.integers(1, 5)] * 3), min_size=len(p), max_size=len(p)))
    pf, ef = _frames((p, np.array(e)))
    dims = {"x": ["a", "b"], "y": ["c"]}
    base = servqual_gaps(pf, ef, dimensions=dims)
    moved = servqual_gaps(pf + shift, ef + shift, dimensions=dims)
    assert_allclose(moved.items["gap"], base.items["gap"], atol=1e-12)
    assert_allclose(moved.overall["mean"].iloc[0], base.overall["mean"].iloc[0], atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(p=answers, data=st.data(), w=st.floats(1, 50))
def test_equal_weights_equal_unweighted(p, data, w):
    e = data.draw(st.lists(st.tuples(*[st.integers(1, 5)] * 3), min_size=len(p), max_size=len(p)))
    pf, ef = _frames((p, np.array(e)))
    dims = {"x": ["a"], "y": ["b"], "z": ["c"]}
    alloc = pd.DataFrame({d: [100 / 3] * len(pf) for d in dims})
    res = servqual_gaps(pf, ef, dimensions=dims, weights=alloc)
    assert_allclose(res.scores["weighted"], res.scores["overall"], atol=1e-12)
    fixed = servqual_gaps(pf, ef, dimensions=dims, weights={d: w for d in dims})
    assert_allclose(fixed.scores["weighted"], fixed.scores["overall"], atol=1e-12)


def test_integer_path_matches_float_path(simulated):
    # Shifting E and P by 0.25 keeps every gap but sends the items through the float
    # path; the integer path (whole numbers, int16 sums, histograms) must agree.
    df = simulated.astype({"tan1_p": "float64", "rel2_e": "float64", "emp5_p": "float64"})
    df.loc[[0, 5], "tan1_p"] = np.nan
    df.loc[[1, 5], "rel2_e"] = np.nan
    df.loc[df.index[::3], "emp5_p"] = np.nan
    roles = [c for c in df.columns if c.endswith(("_e", "_p"))]
    shifted = df.assign(**{c: df[c] + 0.25 for c in roles})
    kwargs = {
        "dimensions": RATER,
        "scale": (1, 8),
        "weights": {d: f"imp_{d}" for d in RATER},
        "segment": "region",
        "decimals": True,  # answers between the points, allowed on purpose
    }
    for missing in ("pairwise", "listwise"):
        a = servqual(df, missing=missing, **kwargs)
        b = servqual(shifted, missing=missing, **kwargs)
        for name in ("items", "dimensions", "overall", "scores", "segments", "segment_tests"):
            x, y = getattr(a, name), getattr(b, name)
            if name == "overall":  # E and P means move with the shift; the gaps do not
                x, y = x.iloc[:2], y.iloc[:2]
            num = x.select_dtypes("number").columns.drop(
                ["expectation", "perception"], errors="ignore"
            )
            assert_allclose(x[num], y[num], rtol=1e-12, atol=1e-12, err_msg=name)
        for role in ("expectation", "perception"):
            assert_allclose(a.items[role] + 0.25, b.items[role], rtol=1e-12)
            assert_allclose(a.dimensions[role] + 0.25, b.dimensions[role], rtol=1e-12)


def test_whole_number_out_of_range_with_missing_answers(small):
    df = small.assign(a_p=[np.nan, 8.0, 6.0])
    with pytest.raises(DataError, match=r"'a_p' must hold answers in \[1, 7\]; row 'r2'"):
        servqual(df, dimensions={"da": ["a"], "db": ["b"]})


@pytest.fixture
def small() -> pd.DataFrame:
    return pd.DataFrame(
        {"a_e": [5, 6, 7], "a_p": [4, 6, 6], "b_e": [6, 6, 5], "b_p": [5, 7, 5]},
        index=["r1", "r2", "r3"],
    )


@pytest.mark.parametrize(
    ("change", "kwargs", "error", "match"),
    [
        ({"a_p": [4, 9, 6]}, {}, DataError, r"'a_p' must hold answers in \[1, 7\]; row 'r2'"),
        ({"a_p": [4, "six", 6]}, {}, DataError, r"'a_p' must be numeric; row 'r2'"),
        ({}, {"dimensions": {"d": ["a", "zz"]}}, DataError, r"missing column\(s\) \['zz_p'\]"),
        ({"b_e": None}, {}, SpecificationError, r"different item sets.*\['b'\]"),
        ({"a_p": [None, None, None]}, {}, InsufficientDataError, "dimension 'da' has no answered"),
        ({}, {"missing": "drop"}, ValueError, "missing must be one of"),
        ({}, {"weights": {"da": 1}}, SpecificationError, "weights must map every dimension"),
        ({}, {"weights": {"da": "wa", "db": "wb"}}, DataError, r"missing column\(s\) \['wa'"),
        ({"seg": ["x", "x", "y"]}, {"segment": "seg"}, InsufficientDataError, "single respondent"),
        ({}, {"segment": "nope"}, DataError, "segment columns"),
    ],
)
def test_bad_input(small, change, kwargs, error, match):
    df = small.copy()
    for col, values in change.items():
        if values is None:
            df = df.drop(columns=col)
        else:
            df[col] = pd.Series(values, index=df.index, dtype=object if col == "a_p" else None)
    args = {"dimensions": {"da": ["a"], "db": ["b"]}} | kwargs
    with pytest.raises(error, match=match):
        servqual(df, **args)


def test_bad_frames_for_servqual_gaps():
    p = pd.DataFrame({"a": [5, 6], "b": [4, 6]})
    e = pd.DataFrame({"a": [6, 6], "c": [6, 7]})
    with pytest.raises(SpecificationError, match=r"same columns; missing in expectations: \['b'\]"):
        servqual_gaps(p, e, dimensions={"d": ["a", "b"]})
    with pytest.raises(DataError, match="same rows"):
        servqual_gaps(p, p.set_axis([5, 6]), dimensions={"d": ["a", "b"]})


def _role_reference(df: pd.DataFrame, role: str) -> dict[tuple[str, str], pd.Series]:
    """Each role on its own, by hand: every answer of an item; a respondent's dimension
    level is the mean of the items they answered in that role."""
    suffix = {"expectation": "_e", "perception": "_p"}[role]
    out = {}
    for dim, items in RATER.items():
        cols = [f"{i}{suffix}" for i in items]
        for i, c in zip(items, cols, strict=True):
            out["item", i] = df[c].astype("float64").dropna()
        out["dimension", dim] = df[cols].astype("float64").mean(axis=1, skipna=True).dropna()
    return out


@pytest.mark.parametrize(
    ("case", "scale", "kwargs"),
    [
        ("whole numbers", (1, 7), {}),
        ("zero on the scale", (0, 10), {}),
        ("negative scale", (-3, 3), {}),
        ("wide scale", (0, 300), {}),
        ("float items", (1, 7), {}),
        ("servperf", (1, 7), {"model": "servperf"}),
        ("listwise", (1, 7), {"missing": "listwise"}),
    ],
)
def test_roles_match_pandas_and_scipy(case, scale, kwargs):
    rng = np.random.default_rng(7)
    n = 300
    cols = {
        f"{i}_{r}": rng.integers(scale[0], scale[1] + 1, size=n).astype("float64")
        for items in RATER.values()
        for i in items
        for r in "ep"
    }
    df = pd.DataFrame(cols).mask(rng.random((n, len(cols))) < 0.08)
    if case == "float items":  # through the float path, in one dimension mixed with whole numbers
        df = df.assign(tan1_p=df["tan1_p"] * 0.9 + 0.6, rel2_e=df["rel2_e"] * 0.9 + 0.6)
    if case != "listwise":
        df = df.astype({c: "Int16" for c in df.columns[:10]} if case == "whole numbers" else {})
    if case == "float items":  # answers between the points, allowed on purpose
        kwargs = {**kwargs, "decimals": True}
    res = servqual(df, dimensions=RATER, scale=scale, **kwargs)
    used = df.dropna() if case == "listwise" else df
    table = res.roles.set_index(["level", "name", "role"])
    roles = ["perception"] if case == "servperf" else ["expectation", "perception"]
    assert list(res.roles.columns) == [
        "level", "name", "role", "n", "mean", "sd", "se", "ci_low", "ci_high"
    ]  # fmt: skip
    assert len(table) == len(roles) * (22 + 5)
    for role in roles:
        for (level, name), x in _role_reference(used, role).items():
            got = table.loc[(level, name, role)]
            assert got["n"] == len(x)
            lo, hi = stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x))
            assert_allclose(
                got[["mean", "sd", "se", "ci_low", "ci_high"]].to_numpy(float),
                [x.mean(), x.std(ddof=1), stats.sem(x), lo, hi],
                rtol=1e-12,
                err_msg=f"{case}: {level} {name} {role}",
            )
    if case == "listwise":  # the same rows as the item table's E and P
        items = table.xs("item", level="level")
        assert_allclose(
            items.xs("expectation", level="role")["mean"], res.items["expectation"], rtol=1e-12
        )
    json.dumps(res.to_dict())


def test_roles_integer_path_matches_float_path(simulated):
    df = simulated.astype({"tan1_p": "float64", "rel2_e": "float64"})
    df.loc[[0, 5], "tan1_p"] = np.nan
    df.loc[[1, 5, 9], "rel2_e"] = np.nan
    roles = [c for c in df.columns if c.endswith(("_e", "_p"))]
    shifted = df.assign(**{c: df[c] + 0.25 for c in roles})
    a = servqual(df, dimensions=RATER, scale=(1, 8), decimals=True).roles
    b = servqual(shifted, dimensions=RATER, scale=(1, 8), decimals=True).roles
    pd.testing.assert_frame_equal(
        a.drop(columns=["mean", "ci_low", "ci_high"]),
        b.drop(columns=["mean", "ci_low", "ci_high"]),
        rtol=1e-12,
    )
    for col in ("mean", "ci_low", "ci_high"):
        assert_allclose(a[col] + 0.25, b[col], rtol=1e-12)


def test_a_fraction_on_a_whole_number_scale_is_refused_unless_decimals(simulated):
    df = simulated.astype({"tan1_p": "float64"})
    df.loc[3, "tan1_p"] = 4.5
    with pytest.raises(DataError, match=r"'tan1_p'.*holds 4\.5.*whole numbers in \[1, 7\]"):
        servqual(df, dimensions=RATER, scale=(1, 7))
    kept = servqual(df, dimensions=RATER, scale=(1, 7), decimals=True)
    assert kept.n_used == len(df)


def test_servqual_gaps_recodes_reverse_coded_items():
    p = pd.DataFrame({"a": [5.0, 6.0, 4.0], "b": [2.0, 1.0, 3.0]})
    e = pd.DataFrame({"a": [6.0, 6.0, 5.0], "b": [1.0, 2.0, 1.0]})
    dims = {"d": ["a", "b"]}
    got = servqual_gaps(p, e, dimensions=dims, scale=(1, 7), reverse=["b"])
    # b recoded 8 - x in both roles: its gap changes sign
    assert got.items.set_index("item")["gap"].to_dict() == pytest.approx({"a": -2 / 3, "b": -2 / 3})
    assert got.reverse == ("b",)
    direct = servqual_gaps(
        p.assign(b=8 - p["b"]), e.assign(b=8 - e["b"]), dimensions=dims, scale=(1, 7)
    )
    assert got.items["gap"].tolist() == pytest.approx(direct.items["gap"].tolist())
