"""scoring.instrument: scoring arguments derived from questionnaires."""

from __future__ import annotations

import re
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring import instrument as si
from scoring.errors import DataError, SpecificationError
from scoring.gaps import service_gaps
from scoring.weights import entropy_weights

TANGIBLES = ("tan1", "tan2", "tan3", "tan4")


def servqual22_reversed_tangibles() -> str:
    """The YAML of the built-in servqual22 with tan1-tan4 declared reverse-coded."""
    text = resources.files("questionnaires").joinpath("instruments/servqual22.yaml").read_text()
    for item in TANGIBLES:
        text, n = re.subn(
            rf"^( +)- id: {item}\n", r"\g<0>\1  reverse: true\n", text, flags=re.MULTILINE
        )
        assert n == 1
    return text


@pytest.fixture(scope="module")
def reversed_servqual():
    q = qn.loads(servqual22_reversed_tangibles())
    return q, simulate(q, 3000, seed=3)


@pytest.fixture(scope="module")
def servqual_data():
    q = qn.builtin("servqual22")
    return q, simulate(q, 400, seed=3).data


def test_servqual_kwargs_follow_the_instrument():
    q = qn.builtin("servqual22")
    kw = si.servqual_kwargs(q)
    assert list(kw["dimensions"]) == ["tan", "rel", "res", "ass", "emp"]
    assert kw["dimensions"]["rel"] == ["rel1", "rel2", "rel3", "rel4", "rel5"]
    assert kw["scale"] == (1, 7)
    assert kw["weights"] == {d: f"imp_{d}" for d in kw["dimensions"]}


def test_rated_role_defaults():
    assert si.rated_role(qn.builtin("servqual22")) == "perception"
    assert si.rated_role(qn.builtin("servqual22_manager")) == "manager_estimate"
    assert si.rated_role(qn.builtin("service_short")) is None
    with pytest.raises(SpecificationError, match="role must be one of"):
        si.rated_role(qn.builtin("servqual22"), "standard")


def test_recode_reversed_only_touches_reversed_items():
    q = qn.builtin("service_short")
    data = simulate(q, 50, seed=1).data
    rev = si.reversed_columns(q)
    assert rev, "service_short has reverse-coded items"
    out = si.recode_reversed(q, data)
    for col in rev:
        scale = next(i.scale for i in q.items if col in i.columns())
        expected = scale.min + scale.max - pd.to_numeric(data[col])
        np.testing.assert_array_equal(out[col].astype(float), expected.astype(float))
    others = [c for c in q.columns(meta=False) if c not in rev]
    pd.testing.assert_frame_equal(out[others], data[others])


def test_drivers_exclude_outcome_dimension_and_consequences():
    kw = si.drivers_kwargs(qn.builtin("acsi"))
    assert kw["outcome"] == "sat1"
    assert set(kw["drivers"]) == {"ce", "pq", "pv"}  # not sat itself, not complaints/loyalty


def test_reliability_skips_single_item_dimensions():
    q = qn.builtin("acsi")
    assert "cc" not in si.reliability_kwargs(q)["dimensions"]
    assert si.single_item_dimensions(q) == ["cc"]


def test_gap_cause_scales_by_gap():
    causes = si.gap_cause_scales(qn.builtin("servqual22_staff"))
    assert set(causes) == {"behaviour", "promotion"}
    assert all(cols for scales in causes.values() for cols in scales.values())


def test_fuzzy_kwargs_mirror_the_hierarchy():
    q = qn.builtin("service_short")
    kw = si.fuzzy_kwargs(q, language="zh-Hans")
    assert list(kw["grades"].values())[0] in {"很满意", "很不满意"}
    assert len(kw["grade_scores"]) == len(kw["grades"])
    root = kw["factors"]
    assert root["children"]
    assert all(isinstance(c, dict) for c in root["children"])


def test_score_equals_direct_call(servqual_data):
    from scoring.servqual import servqual

    q, data = servqual_data
    via = si.score(q, "servqual", data)
    direct = servqual(data, **si.servqual_kwargs(q))
    pd.testing.assert_frame_equal(via.summary(), direct.summary())


def test_servqual_recovers_the_truth_with_reverse_coded_items(reversed_servqual):
    q, sim = reversed_servqual
    assert [i.id for i in q.iter_items(type="rating") if i.reverse] == list(TANGIBLES)
    assert si.servqual_kwargs(q)["reverse"] == list(TANGIBLES)
    res = si.score(q, "servqual", sim.data)
    dims = res.dimensions.set_index("dimension")
    truth = sim.truth.gaps
    assert set(dims.index) == set(truth)
    for dim, gap in truth.items():
        # within four standard errors of the simulator's expected P - E
        assert abs(dims.loc[dim, "gap"] - gap) < 4 * dims.loc[dim, "se"], dim
    overall = res.overall.set_index("measure").loc["servqual"]
    assert abs(overall["mean"] - np.mean(list(truth.values()))) < 4 * overall["se"]
    assert res.reverse == TANGIBLES
    assert res.parameters["reverse"] == list(TANGIBLES)
    # every role is recoded: E of a reversed item sits where the simulator put it
    e_tan = res.roles.set_index(["level", "name", "role"]).loc[
        ("dimension", "tan", "expectation"), "mean"
    ]
    assert abs(e_tan - sim.truth.expected["tan"]["expectation"]) < 0.05


def test_gaps_inputs_recode_reverse_coded_items(reversed_servqual):
    q, sim = reversed_servqual
    res = service_gaps(**si.gaps_inputs(customers=(q, sim.data)))
    customer = res.dimensions.set_index("dimension")
    for dim, gap in sim.truth.gaps.items():
        assert abs(customer.loc[dim, "estimate"] - gap) < 4 * customer.loc[dim, "se"], dim


def test_run_methods_scores_reverse_coded_servqual(reversed_servqual):
    q, sim = reversed_servqual
    out = si.run_methods(q, sim.data, ["servqual"])["servqual"]
    assert not isinstance(out, Exception)
    assert out.dimension_scores()["tan"] == pytest.approx(sim.truth.gaps["tan"], abs=0.06)


@pytest.mark.parametrize(
    ("ident", "method"),
    [
        ("servqual22", "reliability"),
        ("servqual22", "pca"),
        ("servqual22", "drivers"),
        ("service_short", "fuzzy"),
        ("acsi", "csi"),
        ("ccsi", "csi"),
    ],
)
def test_every_declared_method_runs_on_simulated_data(ident, method):
    q = qn.builtin(ident)
    res = si.score(q, method, simulate(q, 300, seed=2).data)
    assert not res.summary().empty
    assert res.to_dict()["type"].endswith("Result")


def test_unknown_method():
    q = qn.builtin("servqual22")
    with pytest.raises(ValueError, match="method must be one of"):
        si.score(q, "magic", pd.DataFrame())


def test_missing_sections_are_named():
    q = qn.builtin("servqual22")
    with pytest.raises(SpecificationError, match="no 'scoring.csi' section"):
        si.csi_kwargs(q)
    with pytest.raises(SpecificationError, match="no 'scoring.fuzzy' section"):
        si.fuzzy_kwargs(q)


@pytest.mark.parametrize(
    ("ident", "methods"),
    [
        ("servqual22", ["servqual", "index", "reliability", "pca", "drivers"]),
        ("service_short", ["fuzzy"]),
        ("acsi", ["csi"]),
    ],
)
def test_run_methods_results_share_one_interface(ident, methods):
    import json

    from scoring import MethodResult
    from scoring.errors import NoDimensionScoresError

    q = qn.builtin(ident)
    data = simulate(q, 300, seed=2).data
    out = si.run_methods(q, data, methods)
    assert list(out) == methods
    for method, res in out.items():
        assert isinstance(res, MethodResult), method
        assert 0 < res.n_used <= len(data)
        json.dumps(res.parameters)
        try:
            scores = res.dimension_scores()
        except NoDimensionScoresError:
            assert method in ("reliability", "drivers")
        else:
            assert method not in ("reliability", "drivers")
            assert scores.index.name == "dimension"
            assert scores.notna().all()


def test_run_methods_returns_typed_errors():
    q = qn.builtin("servqual22")
    out = si.run_methods(q, simulate(q, 50, seed=1).data, ["fuzzy", "magic", "servqual"])
    assert isinstance(out["fuzzy"], SpecificationError)
    assert "no 'scoring.fuzzy' section" in str(out["fuzzy"])
    assert isinstance(out["magic"], SpecificationError)
    assert out["servqual"].n_used == 50


def test_dimension_scores_of_each_method(servqual_data):
    q, data = servqual_data
    sq = si.score(q, "servqual", data)
    pd.testing.assert_series_equal(
        sq.dimension_scores(),
        sq.dimensions.set_index("dimension")["gap"].rename("servqual"),
        check_index_type=False,
    )
    pca = si.score(q, "pca", data)
    dims = si.dimension_columns(q)
    lo, hi = si.servqual_kwargs(q)["scale"]
    w = pca.weights.set_index("item")["weight"]
    recoded = si.recode_reversed(q, data).dropna(subset=pca.means.index.tolist())
    for dim, cols in dims.items():
        mean = float(np.average(recoded[cols].mean(), weights=w.loc[cols]))
        assert pca.dimension_scores()[dim] == pytest.approx((mean - lo) / (hi - lo) * 100)
    assert pca.parameters == {
        "retain": "kaiser",
        "n_components": pca.n_components,
        "score_convention": "eigenvector",
        "negative_weights": "refuse",
    }


def test_pca_without_dimensions_has_no_dimension_scores(servqual_data):
    from scoring.errors import NoDimensionScoresError
    from scoring.pca import pca_index

    q, data = servqual_data
    res = pca_index(data, items=si.pca_kwargs(q)["items"])
    with pytest.raises(NoDimensionScoresError, match="give pca_index dimensions="):
        res.dimension_scores()


# method -> (instrument, column given a bad answer) for the answers-off-the-scale tests
_RANGE_CASES = {
    "servqual": ("servqual22", "tan1_p"),
    "index": ("servqual22", "tan1_p"),
    "reliability": ("servqual22", "tan1_p"),
    "pca": ("servqual22", "tan1_p"),
    "drivers": ("servqual22", "tan1_p"),
    "csi": ("acsi", "ce1"),
    "fuzzy": ("service_short", "env1"),
}


def _with_answer(ident: str, column: str, value: float, rows: tuple[int, ...] = (3,)):
    q = qn.builtin(ident)
    data = simulate(q, 120, seed=5).data
    data[column] = data[column].astype("float64")
    data.loc[list(rows), column] = value
    return q, data


@pytest.mark.parametrize("method", list(_RANGE_CASES))
def test_every_method_refuses_an_answer_off_the_scale(method):
    ident, column = _RANGE_CASES[method]
    q, data = _with_answer(ident, column, 99, rows=(3, 7))
    with pytest.raises(DataError) as err:
        si.score(q, method, data)
    text = str(err.value)
    assert repr(column) in text
    assert "row 3 holds 99" in text
    if method != "fuzzy":  # fuzzy names its grades rather than a range
        assert "row 7 holds 99" in text
        assert "must hold answers in [1, " in text
    assert "np." not in text


@pytest.mark.parametrize("method", list(_RANGE_CASES))
def test_every_method_refuses_a_fraction_on_a_whole_number_scale(method):
    ident, column = _RANGE_CASES[method]
    q, data = _with_answer(ident, column, 4.5)
    with pytest.raises(DataError, match=rf"{column!r}.*row 3 holds 4\.5"):
        si.score(q, method, data)


def test_reliability_kwargs_carry_each_dimension_scale():
    kw = si.reliability_kwargs(qn.builtin("servqual22"))
    assert kw["scale"] == dict.fromkeys(kw["dimensions"], (1, 7))


def test_fuzzy_item_weights_by_entropy_from_the_answers():
    q = qn.builtin("service_short")
    data = simulate(q, 150, seed=3).data
    kw = si.fuzzy_kwargs(q, item_weights="entropy", data=data)
    env = next(n for n in kw["factors"]["children"] if n["id"] == "env")
    items = ["env1", "env2", "env3"]
    direct = entropy_weights(data[items].astype("float64").dropna())
    pd.testing.assert_series_equal(env["weights"].weights, direct.weights)
    # the factors keep the instrument's AHP matrix
    assert "ahp" in kw["factors"]["weights"]
    result = si.score(q, "fuzzy", data, item_weights="entropy")
    table = result.evaluation.set_index("node")
    assert table.loc[items, "weight"].tolist() == pytest.approx(direct.weights.tolist())
    with pytest.raises(SpecificationError, match="item_weights must be one of"):
        si.fuzzy_kwargs(q, item_weights="magic", data=data)


def test_fuzzy_ahp_reports_the_consistency_ratio():
    ahp = si.fuzzy_ahp(qn.builtin("service_short"))
    assert list(ahp) == ["overall"]
    # the instrument's comment: lambda_max = 4.071, CR = 0.026 (RI = 0.90)
    assert ahp["overall"].lambda_max == pytest.approx(4.071, abs=5e-4)
    assert ahp["overall"].cr == pytest.approx(0.026, abs=5e-4)
    assert ahp["overall"].weights.round(3).tolist() == [0.185, 0.415, 0.293, 0.107]
    assert si.fuzzy_ahp(qn.builtin("servqual22")) == {}


def test_gaps_inputs_refuse_a_source_without_its_role_columns():
    q = qn.builtin("servqual22_manager")
    data = simulate(q, 30, seed=1).data
    lost = data.drop(columns=[c for c in data.columns if c.endswith("_m")])
    with pytest.raises(DataError, match=r"the managers data lacks .*'tan1_m'.*\(22 of 44\)"):
        si.gaps_inputs(managers=(q, lost))
    si.check_gap_source(q, data, name="m.csv")  # the whole file passes
