"""Tests of scoring.fuzzy: composition operators, membership, hierarchy, results."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose

from scoring.errors import (
    DataError,
    InsufficientDataError,
    SmallSampleWarning,
    SpecificationError,
)
from scoring.fuzzy import (
    OPERATORS,
    function_membership,
    fuzzy_compose,
    fuzzy_evaluate,
    survey_membership,
)

GRADES5 = {
    5: "very_satisfied",
    4: "satisfied",
    3: "neutral",
    2: "dissatisfied",
    1: "very_dissatisfied",
}

# ------------------------------------------------- printed examples (reference README)

# hand-made frames of a few respondents: the SmallSampleWarning is tested on its own
_TINY = pytest.mark.filterwarnings("ignore::scoring.errors.SmallSampleWarning")


def test_printed_example_1_weighted_average():
    # A = (0.5, 0.3, 0.2) -> B = (0.14, 0.53, 0.28, 0.05), printed to 2 dp.
    r = [[0.2, 0.7, 0.1, 0.0], [0.0, 0.4, 0.5, 0.1], [0.2, 0.3, 0.4, 0.1]]
    b = fuzzy_compose([0.5, 0.3, 0.2], r)
    assert_allclose(b, [0.14, 0.53, 0.28, 0.05], atol=5e-3)


def test_printed_example_2_grade_by_maximum_membership():
    # 司守奎, 数学建模算法与应用: B = (0.175, 0.53, 0.275, 0.02, 0), grade 2; 3 dp printed.
    r = pd.DataFrame(
        [
            [0.1, 0.5, 0.4, 0, 0],
            [0.2, 0.5, 0.2, 0.1, 0],
            [0.2, 0.5, 0.3, 0, 0],
            [0.2, 0.6, 0.2, 0, 0],
        ],
        index=["u1", "u2", "u3", "u4"],
        columns=["g1", "g2", "g3", "g4", "g5"],
    )
    a = [0.25, 0.2, 0.25, 0.3]
    assert_allclose(fuzzy_compose(a, r), [0.175, 0.53, 0.275, 0.02, 0.0], atol=5e-4)
    res = fuzzy_evaluate(
        factors=list(r.index),
        grades=list(r.columns),
        weights=a,
        membership=r,
    )
    assert res.grade == "g2"
    assert_allclose(res.B.to_numpy(), [0.175, 0.53, 0.275, 0.02, 0.0], atol=5e-4)
    # Decisiveness: beta = 0.53, gamma = 0.275, m = 5.
    assert res.ratio == pytest.approx(0.53 / 0.275)
    assert res.alpha == pytest.approx((5 * 0.53 - 1) / (2 * 0.275 * 4))
    assert math.isnan(res.score)  # no grade scores given


def test_printed_example_3_scores():
    # A = (0.3, 0.3, 0.3, 0.1), grade scores (90, 75, 50); R given by factor columns.
    # Printed: B = (0.70, 0.16, 0.14), maximum membership -> 90, weighted average -> 82.
    cols = [(0.8, 0.1, 0.1), (0.7, 0.2, 0.1), (0.6, 0.2, 0.2), (0.7, 0.1, 0.2)]
    grades = {90: "excellent", 75: "good", 50: "fair"}
    r = pd.DataFrame(cols, index=["f1", "f2", "f3", "f4"], columns=list(grades.values()))
    res = fuzzy_evaluate(
        factors=["f1", "f2", "f3", "f4"],
        grades=grades,
        grade_scores=[90, 75, 50],
        weights=[0.3, 0.3, 0.3, 0.1],
        membership=r,
    )
    assert_allclose(res.B.to_numpy(), [0.70, 0.16, 0.14], atol=5e-3)
    assert res.grade == "excellent"  # the grade scored 90
    assert res.score == pytest.approx(82, abs=0.5)  # printed as an integer


# ----------------------------------------------------------- two-level reference rows


@pytest.fixture
def twolevel(reference_dir):
    rows = pd.read_csv(reference_dir / "extra" / "fce_twolevel_rows.csv")
    rows.index = [
        f"u{g}{i + 1}" for g, i in zip(rows["group"], rows.groupby("group").cumcount(), strict=True)
    ]
    return rows


def test_two_level_rows_internally_consistent(twolevel):
    grades = [c for c in twolevel.columns if c != "group"]
    r = twolevel[grades]
    assert twolevel.groupby("group").size().tolist() == [4, 5, 5, 4]
    assert_allclose(r.sum(axis=1), 1.0, atol=1e-12)
    groups = {f"U{g}": list(idx) for g, idx in twolevel.groupby("group").groups.items()}
    top = {"ahp": [[1, 2, 3, 3], [1 / 2, 1, 2, 2], [1 / 3, 1 / 2, 1, 1], [1 / 3, 1 / 2, 1, 1]]}
    tree = {
        "id": "overall",
        "weights": top,
        "children": [{"id": g, "children": items} for g, items in groups.items()],
    }
    res = fuzzy_evaluate(
        factors=tree, grades=grades, membership=r, grade_scores=[95, 85, 75, 65, 55]
    )
    # By hand: equal weights within each group, then the AHP weights across groups.
    from scoring.weights import ahp_weights

    w_top = ahp_weights(top["ahp"]).weights.to_numpy()
    second = np.vstack([r.loc[items].mean(axis=0) for items in groups.values()])
    expected = w_top @ second
    assert_allclose(res.B.to_numpy(), expected, atol=1e-12)
    ev = res.evaluation.set_index("node")
    for g, items in groups.items():
        assert_allclose(ev.loc[g, grades].to_numpy(dtype=float), r.loc[items].mean(axis=0))
    assert ev.loc["U1", "weight"] == pytest.approx(w_top[0])
    assert ev["level"].to_dict()["u11"] == 2
    assert res.score == pytest.approx(float(expected @ [95, 85, 75, 65, 55]))
    # M(·,⊕) is associative here: two levels = one level with the product weights.
    flat_w = np.concatenate(
        [
            np.full(len(items), w / len(items))
            for w, items in zip(w_top, groups.values(), strict=True)
        ]
    )
    assert_allclose(fuzzy_compose(flat_w, r.loc[[i for v in groups.values() for i in v]]), expected)
    json.dumps(res.to_dict())


# ------------------------------------------------------------------- property tests


@st.composite
def weights_and_rows(draw, normalised_rows=True):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(2, 6))
    raw_a = draw(hnp.arrays(float, n, elements=st.floats(0.01, 1.0)))
    raw_r = draw(hnp.arrays(float, (n, m), elements=st.floats(0.0, 1.0)))
    raw_r[:, 0] += 0.01  # no all-zero row
    r = raw_r / raw_r.sum(axis=1, keepdims=True) if normalised_rows else raw_r
    return raw_a / raw_a.sum(), r


@settings(max_examples=60, deadline=None)
@given(weights_and_rows(), st.sampled_from(OPERATORS))
def test_every_operator_b_in_unit_interval_and_normalised_sums_to_one(ar, operator):
    a, r = ar
    b = fuzzy_compose(a, r, operator=operator)
    assert b.shape == (r.shape[1],)
    assert ((b >= 0) & (b <= 1 + 1e-12)).all()
    bn = fuzzy_compose(a, r, operator=operator, normalise=True)
    assert bn.sum() == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(weights_and_rows())
def test_weighted_average_operator_is_weighted_mean_of_rows(ar):
    a, r = ar
    assert_allclose(fuzzy_compose(a, r), np.average(r, axis=0, weights=a), atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.int64, st.tuples(st.integers(1, 40), st.just(3)), elements=st.integers(1, 5)))
def test_survey_membership_equals_value_counts(answers):
    df = pd.DataFrame(answers, columns=["a", "b", "c"])
    r = survey_membership(df, factors=["a", "b", "c"], grades=[5, 4, 3, 2, 1])
    for col in df:
        expected = df[col].value_counts(normalize=True).reindex([5, 4, 3, 2, 1], fill_value=0)
        assert_allclose(r.loc[col].to_numpy(), expected.to_numpy())


def test_operators_by_hand():
    a = [0.6, 0.4]
    r = [[0.5, 0.5, 0.0], [0.1, 0.3, 0.6]]
    assert_allclose(fuzzy_compose(a, r, operator="min_max"), [0.5, 0.5, 0.4])
    assert_allclose(fuzzy_compose(a, r, operator="product_max"), [0.3, 0.3, 0.24])
    assert_allclose(fuzzy_compose(a, r, operator="min_bounded_sum"), [0.6, 0.8, 0.4])
    assert_allclose(fuzzy_compose(a, r, operator="weighted_average"), [0.34, 0.42, 0.24])


# ------------------------------------------------------------------ survey answers


@pytest.fixture
def answers():
    return pd.DataFrame(
        {
            "q1": [5, 4, 4, 3, 5, None],
            "q2": [4, 4, 3, 2, 5, 5],
            "q3": [5, 5, 4, None, 3, 4],
            "q4": [3, 4, 4, 4, 2, 1],
            "branch": ["n", "n", "s", "s", "s", None],
        }
    )


def test_missing_rule_answered_vs_listwise(answers):
    ans = survey_membership(answers, factors=["q1", "q3"], grades=[5, 4, 3, 2, 1])
    assert_allclose(ans.loc["q1"].to_numpy(), [2 / 5, 2 / 5, 1 / 5, 0, 0])
    lw = survey_membership(
        answers, factors=["q1", "q3"], grades=[5, 4, 3, 2, 1], missing="listwise"
    )
    # Rows 3 (q3 missing) and 5 (q1 missing) are dropped for both items.
    assert_allclose(lw.loc["q1"].to_numpy(), [2 / 4, 2 / 4, 0, 0, 0])
    assert_allclose(lw.loc["q3"].to_numpy(), [2 / 4, 1 / 4, 1 / 4, 0, 0])


@_TINY
def test_segments_equal_separate_evaluations(answers):
    kw = {
        "factors": {"A": ["q1", "q2"], "B": ["q3", "q4"]},
        "grades": GRADES5,
        "grade_scores": [100, 80, 60, 40, 20],
        "weights": [0.7, 0.3],
    }
    res = fuzzy_evaluate(answers, segment="branch", **kw)
    seg = res.segments
    assert seg is not None
    assert sorted(seg["segment"].unique()) == ["n", "s"]
    for lab in ("n", "s"):
        alone = fuzzy_evaluate(answers[answers["branch"] == lab], **kw)
        part = seg[seg["segment"] == lab].drop(columns="segment").reset_index(drop=True)
        pd.testing.assert_frame_equal(part, alone.evaluation, check_dtype=False)
    # The unsegmented respondent (row 5) still counts in the whole sample.
    whole = fuzzy_evaluate(answers, **kw)
    pd.testing.assert_frame_equal(res.evaluation, whole.evaluation)
    assert res.evaluation.loc[0, "n"] == 6


@_TINY
def test_segment_without_answers_gives_nan_rows():
    df = pd.DataFrame({"q1": [5, 4, None], "q2": [3, 4, 4], "g": ["x", "x", "y"]})
    res = fuzzy_evaluate(df, factors=["q1", "q2"], grades=[5, 4, 3, 2, 1], segment="g")
    y = res.segments[res.segments["segment"] == "y"].set_index("node")
    assert np.isnan(y.loc["q1", "5"])
    assert y.loc["overall", "grade"] is None
    assert y.loc["q2", "grade"] == "4"


@_TINY
def test_string_grades_and_nested_hierarchy_with_operator_override():
    df = pd.DataFrame(
        {
            "a": ["good", "fair", "good", "poor"],
            "b": ["good", "good", "fair", "fair"],
            "c": ["poor", "fair", "fair", "good"],
        }
    )
    tree = {
        "id": "root",
        "weights": {"x": 0.5, "c": 0.5},
        "children": [
            {"id": "x", "operator": "min_max", "weights": [0.5, 0.5], "children": ["a", "b"]},
            "c",
        ],
    }
    res = fuzzy_evaluate(df, factors=tree, grades=["good", "fair", "poor"])
    ra = np.array([0.5, 0.25, 0.25])
    rb = np.array([0.5, 0.5, 0.0])
    x = np.maximum(np.minimum(0.5, ra), np.minimum(0.5, rb))
    x = x / x.sum()
    c = np.array([0.25, 0.5, 0.25])
    assert_allclose(res.B.to_numpy(), 0.5 * x + 0.5 * c)
    assert res.evaluation["node"].tolist() == ["root", "x", "a", "b", "c"]


@_TINY
def test_grade_column_of_zeros_is_valid_and_decisiveness_is_infinite():
    # Nobody chose grades 2 or 1: those b_j are 0 under every operator; nothing divides
    # by a grade column, and a zero runner-up makes ratio and alpha infinite (documented).
    df = pd.DataFrame({"q1": [5, 5, 5], "q2": [5, 5, 5]})
    for op in OPERATORS:
        res = fuzzy_evaluate(df, factors=["q1", "q2"], grades=[5, 4, 3, 2, 1], operator=op)
        assert_allclose(res.B.to_numpy(), [1, 0, 0, 0, 0])
        assert res.ratio == math.inf
        assert res.alpha == math.inf
    assert res.to_dict()["alpha"] is None  # JSON-safe


# ---------------------------------------------------------------- membership functions


def test_function_membership_shapes():
    grades = ["low", "mid", "high"]
    tri = {"triangular": [[0, 0, 50], [0, 50, 100], [50, 100, 100]]}
    r = function_membership({"x": 60.0}, functions={"x": tri}, grades=grades)
    assert_allclose(r.loc["x"].to_numpy(), [0.0, 0.8, 0.2])
    gau = {"gaussian": [[0, 20], [50, 20], [100, 20]]}
    r = function_membership({"x": 60.0}, functions={"x": gau}, grades=grades)
    raw = np.exp(-((60 - np.array([0, 50, 100])) ** 2) / (2 * 20**2))
    assert_allclose(r.loc["x"].to_numpy(), raw / raw.sum())
    mixed = {
        "functions": [
            ["trapezoidal", [0, 0, 30, 50]],
            ["triangular", [30, 50, 70]],
            ["trapezoidal", [50, 70, 100, 100]],
        ]
    }
    frame = pd.DataFrame({"x": [40.0, 80.0, None]})
    r = function_membership(frame, functions={"x": mixed}, grades=grades)
    # 40 -> (0.5, 0.5, 0); 80 -> (0, 0, 1); the missing value is skipped.
    assert_allclose(r.loc["x"].to_numpy(), [0.25, 0.25, 0.5])


def test_thresholds_descending_for_lower_is_better():
    # Waiting time: grade "fast" at 2 min, "ok" at 5, "slow" at 10 (ascending), and the
    # same grades listed best-first for a score where higher is better (descending).
    up = {"thresholds": [2, 5, 10]}
    r = function_membership(
        pd.DataFrame({"w": [1.0, 3.5, 7.5, 12.0]}), functions={"w": up}, grades=["f", "o", "s"]
    )
    assert_allclose(r.loc["w"].to_numpy(), [(1 + 0.5) / 4, (0.5 + 0.5) / 4, (0.5 + 1) / 4])
    down = {"thresholds": [90, 70, 50]}
    r = function_membership({"s": 80.0}, functions={"s": down}, grades=["a", "b", "c"])
    assert_allclose(r.loc["s"].to_numpy(), [0.5, 0.5, 0.0])


@_TINY
def test_functions_inside_fuzzy_evaluate():
    df = pd.DataFrame({"q1": [5, 4], "wait": [3.5, 10.0]})
    res = fuzzy_evaluate(
        df,
        factors=["q1", "wait"],
        grades={5: "good", 4: "fair", 3: "poor"},
        functions={"wait": {"thresholds": [2, 5, 10]}},
    )
    assert_allclose(res.membership.loc["wait"].to_numpy(), [0.25, 0.25, 0.5])
    assert_allclose(
        res.B.to_numpy(), 0.5 * np.array([0.5, 0.5, 0]) + 0.5 * np.array([0.25, 0.25, 0.5])
    )


# ------------------------------------------------------------------------- bad input


@_TINY
def test_weights_not_summing_to_one(answers):
    kw = {"factors": ["q1", "q2"], "grades": [5, 4, 3, 2, 1]}
    with pytest.raises(SpecificationError, match=r"weights of 'overall' must sum to 1; .*1\.1"):
        fuzzy_evaluate(answers, weights=[0.5, 0.6], **kw)
    res = fuzzy_evaluate(answers, weights=[1, 1], normalise_weights=True, **kw)
    assert res.evaluation["weight"].tolist()[1:] == [0.5, 0.5]


def test_rows_not_distributions():
    with pytest.raises(DataError, match=r"row 1 sums to 0\.9, not 1"):
        fuzzy_compose([0.5, 0.5], [[0.5, 0.5], [0.5, 0.4]])
    with pytest.raises(DataError, match=r"row 'u2' holds 1\.5 .* \[0, 1\]"):
        fuzzy_compose([0.5, 0.5], pd.DataFrame([[0.5, 0.5], [1.5, -0.5]], index=["u1", "u2"]))
    b = fuzzy_compose([0.5, 0.5], [[0.5, 0.5], [0.5, 0.4]], check_rows=False)
    assert_allclose(b, [0.5, 0.45])


def test_answer_not_a_grade(answers):
    bad = answers.assign(q2=[4, 4, 3, 7, 5, 5])
    with pytest.raises(DataError, match=r"column 'q2' row 3 holds 7.* not one of the grades"):
        fuzzy_evaluate(bad, factors=["q1", "q2"], grades=[5, 4, 3, 2, 1])


def test_item_nobody_answered(answers):
    with pytest.raises(InsufficientDataError, match=r"\['q9'\] have no answers"):
        fuzzy_evaluate(answers.assign(q9=np.nan), factors=["q1", "q9"], grades=[5, 4, 3, 2, 1])


@pytest.mark.parametrize(
    ("factors", "kwargs", "match"),
    [
        (["q1", "q1"], {}, "'q1' appears twice"),
        ({"id": "r", "children": ["q1"], "weight": 1}, {}, r"unknown key\(s\) \['weight'\]"),
        ({"id": "r", "children": []}, {}, "has no children"),
        ({"id": "r", "children": ["q1", "q2"], "weights": [1, 0]}, {"weights": [0, 1]}, "both"),
        (
            {
                "id": "r",
                "children": ["q1", "q2", "q3"],
                "weights": {"ahp": [[1, 5, 1 / 5], [1 / 5, 1, 5], [5, 1 / 5, 1]]},
            },
            {},
            r"CR = .* >= 0\.1",
        ),
        (["q1", "q2"], {"grades": [5]}, "at least two grades"),
        (["q1"], {"functions": {"wait": {"thresholds": [1, 2, 3, 4, 5]}}}, r"\['wait'\] that are"),
        (["q1", "q2"], {"grades": {5: "score", 4: "rest"}}, r"\['score'\] clash with result"),
        (["q1", "q2"], {"grade_scores": [1, 2]}, "one finite score per grade"),
        (["q1", "q2"], {"operator": "max_min"}, "operator must be one of"),
        (42, {}, "factors must be"),
    ],
)
def test_bad_specification(answers, factors, kwargs, match):
    kw = {"grades": [5, 4, 3, 2, 1]} | kwargs
    with pytest.raises(ValueError, match=match):
        fuzzy_evaluate(answers, factors=factors, **kw)


@pytest.mark.parametrize(
    ("spec", "error", "match"),
    [
        ({"thresholds": [2, 5]}, SpecificationError, "one value per grade"),
        ({"thresholds": [2, 10, 5]}, SpecificationError, "strictly ascending or strictly"),
        ({"triangular": [[0, 5, 2], [0, 5, 10], [5, 10, 10]]}, SpecificationError, "ascending"),
        ({"gaussian": [[0, 0], [5, 1], [10, 1]]}, SpecificationError, "sigma must be > 0"),
        ({"cubic": []}, ValueError, "must be one of"),
        ({"triangular": [[0, 1, 2], [1, 2, 3], [2, 3, 4]]}, DataError, "outside every grade"),
    ],
)
def test_bad_membership_functions(spec, error, match):
    with pytest.raises(error, match=match):
        function_membership({"x": 50.0}, functions={"x": spec}, grades=["a", "b", "c"])


@_TINY
def test_questionnaire_spelling_items_factors_ahp():
    # The shape the questionnaire's scoring.fuzzy.root declares (items / factors / ahp /
    # label), e.g. questionnaires/instruments/service_short.yaml, given here as plain data.
    root = {
        "id": "overall",
        "label": {"en": "Service satisfaction"},
        "ahp": [[1, 0.5, 2], [2, 1, 3], [0.5, 0.333333, 1]],
        "factors": [
            {
                "id": "env",
                "label": {"en": "Environment"},
                "weights": [0.6, 0.4],
                "items": ["q1", "q2"],
            },
            {"id": "staff", "label": {"en": "Staff"}, "weights": None, "items": ["q3"]},
            {"id": "price", "label": {"en": "Charges"}, "items": ["q4"], "factors": []},
        ],
    }
    df = pd.DataFrame({"q1": [5, 4, 3], "q2": [4, 4, 2], "q3": [5, 5, 3], "q4": [2, 3, 3]})
    res = fuzzy_evaluate(
        df, factors=root, grades=[5, 4, 3, 2, 1], grade_scores=[100, 80, 60, 40, 20]
    )
    from scoring.weights import ahp_weights

    w = ahp_weights(root["ahp"]).weights.to_numpy()
    r = survey_membership(df, factors=["q1", "q2", "q3", "q4"], grades=[5, 4, 3, 2, 1])
    env = 0.6 * r.loc["q1"] + 0.4 * r.loc["q2"]
    expected = w[0] * env + w[1] * r.loc["q3"] + w[2] * r.loc["q4"]
    assert_allclose(res.B.to_numpy(), expected.to_numpy())
    assert res.evaluation["node"].tolist() == [
        "overall",
        "env",
        "q1",
        "q2",
        "staff",
        "q3",
        "price",
        "q4",
    ]
    with pytest.raises(SpecificationError, match="both 'weights' and 'ahp'"):
        fuzzy_evaluate(df, factors=root | {"weights": [0.2, 0.3, 0.5]}, grades=[5, 4, 3, 2, 1])
    bad = {"id": "x", "items": ["q1"], "factors": [{"id": "f", "items": ["q2"]}]}
    with pytest.raises(SpecificationError, match=r"lists \['items', 'factors'\]"):
        fuzzy_evaluate(df, factors=bad, grades=[5, 4, 3, 2, 1])


@pytest.mark.parametrize("n", [1, 2])
def test_fuzzy_evaluation_of_one_or_two_respondents_warns(n):
    df = pd.DataFrame({"q1": [5, 3], "q2": [4, 4]}).head(n)
    with pytest.warns(SmallSampleWarning, match=rf"based on {n} respondent\(s\)"):
        fuzzy_evaluate(df, factors={"f": ["q1", "q2"]}, grades=GRADES5)


def test_fuzzy_constant_items_and_more_items_than_rows_are_quiet():
    df = pd.DataFrame({f"q{i}": [4] * 10 for i in range(12)})
    res = fuzzy_evaluate(df, factors={"f": list(df.columns)}, grades=GRADES5)
    assert res.grade == "satisfied"


@pytest.mark.parametrize("value", [99, 4.5])
def test_fuzzy_refuses_answers_off_the_grades(value):
    df = pd.DataFrame({"q1": [5, 3, 4] * 4, "q2": [4.0] * 12})
    df.loc[2, "q2"] = value
    with pytest.raises(DataError, match=r"'q2' row 2 holds .*not one of the grades"):
        fuzzy_evaluate(df, factors={"f": ["q1", "q2"]}, grades=GRADES5)
