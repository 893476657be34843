"""Report data (surveyapp.reports.build) on simulated frames with a known truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats

import questionnaires as qn
from questionnaires.simulate import simulate
from scoring.inference import kendall_w
from scoring.instrument import score, servqual_kwargs
from scoring.servqual import servqual
from surveyapp.reports import build as b
from tests.scoring.test_instrument import servqual22_reversed_tangibles

AUDIENCES = b.AUDIENCE_INSTRUMENT


@pytest.fixture(scope="module")
def instruments() -> dict[str, qn.Questionnaire]:
    return {a: qn.builtin(i) for a, i in AUDIENCES.items()}


@pytest.fixture(scope="module")
def world(instruments: dict[str, qn.Questionnaire]) -> dict[str, object]:
    """One simulated world: the four audiences drawn with one seed share the levels."""
    sims = {
        a: simulate(q, 4000 if a == "customer" else 1500, seed=11, straightliner_rate=0.0)
        for a, q in instruments.items()
    }
    return sims


def _row_means(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Each respondent's mean over the answered ``cols`` (NaN when none answered)."""
    return frame[cols].astype("float64").mean(axis=1, skipna=True)


def _sources(instruments, world, *, use=("manager", "staff", "audit")) -> b.GapSources:
    kw = {a: (instruments[a], world[a].data) for a in use}
    return b.GapSources(customer=(instruments["customer"], world["customer"].data), **kw)


def test_waterfall_telescopes_and_recovers_the_simulated_gaps(instruments, world) -> None:
    rep = b.five_gaps(_sources(instruments, world))
    assert rep["missing"] == []
    truth_c = world["customer"].truth.expected
    truth_m = world["manager"].truth.expected
    truth_d = world["audit"].truth.expected
    for d in rep["dimensions"]:
        dim = d["dimension"]
        assert d["complete"]
        assert d["exact"]
        steps = d["waterfall"]
        assert [s["step"] for s in steps] == ["E", *b.WATERFALL, "P"]
        # each running total is the previous one plus the gap
        assert_allclose(
            steps[-2]["total"], d["levels"]["E"]["mean"] + sum(s["value"] for s in steps[1:-1])
        )
        assert_allclose(steps[-2]["total"], d["levels"]["P"]["mean"], atol=1e-12)
        # the simulation's expected answers (scale points) within sampling error
        assert_allclose(d["levels"]["E"]["mean"], truth_c[dim]["expectation"], atol=0.06)
        assert_allclose(d["levels"]["M"]["mean"], truth_m[dim]["manager_estimate"], atol=0.1)
        assert_allclose(d["levels"]["S"]["mean"], truth_m[dim]["standard"], atol=0.1)
        assert_allclose(d["levels"]["D"]["mean"], truth_d[dim]["delivered"], atol=0.1)
        assert_allclose(
            d["gaps"]["promotion"]["value"],
            truth_d[dim]["delivered"] - truth_d[dim]["promised"],
            atol=0.1,
        )
    assert rep["level_sources"] == {
        "E": "customer",
        "M": "manager",
        "S": "manager",
        "D": "audit",
        "C": "audit",
        "P": "customer",
    }


def test_levels_and_customer_gap_equal_independent_computations(instruments, world) -> None:
    q = instruments["customer"]
    data = world["customer"].data
    rep = b.five_gaps(_sources(instruments, world))
    man = world["manager"].data
    dims = servqual_kwargs(q)["dimensions"]
    for d in rep["dimensions"]:
        dim = d["dimension"]
        # P - E: the difference of the level means (so the waterfall adds up to it), with
        # the paired interval of respondents' P - E differences around it (by hand)
        p = _row_means(data, [f"{i}_p" for i in dims[dim]])
        e = _row_means(data, [f"{i}_e" for i in dims[dim]])
        diff = (p - e).dropna()
        est = p.mean() - e.mean()
        half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
        assert_allclose(d["customer_gap"]["value"], est, rtol=1e-12)
        assert_allclose(d["customer_gap"]["ci_low"], est - half, rtol=1e-12)
        assert d["customer_gap"]["n"] == len(diff)
        # M: mean over managers of their mean over answered items (pandas, by hand)
        m_cols = [f"{i}_m" for i in dims[dim]]
        by_hand = man[m_cols].astype("Float64").mean(axis=1, skipna=True).mean()
        assert_allclose(d["levels"]["M"]["mean"], float(by_hand), rtol=1e-12)
        assert d["levels"]["M"]["n"] == int(man[m_cols].notna().any(axis=1).sum())
    # cross-audience gap: Welch's test as scipy computes it
    e = data[[f"{i}_e" for i in dims["tan"]]].astype("Float64").mean(axis=1).dropna()
    m = man[[f"{i}_m" for i in dims["tan"]]].astype("Float64").mean(axis=1).dropna()
    ref = stats.ttest_ind(m.to_numpy(float), e.to_numpy(float), equal_var=False)
    tan = next(d for d in rep["dimensions"] if d["dimension"] == "tan")
    assert tan["gaps"]["understanding"]["test"] == "welch"
    assert_allclose(tan["gaps"]["understanding"]["p"], ref.pvalue, rtol=1e-8)
    assert tan["gaps"]["procedure"]["test"] == "paired"


def test_items_drill_down_and_contributors(instruments, world) -> None:
    rep = b.five_gaps(_sources(instruments, world), language="zh-Hans")
    assert len(rep["items"]) == 22
    rel1 = next(i for i in rep["items"] if i["item"] == "rel1")
    assert rel1["dimension_label"] == "可靠性"
    assert rel1["text"] == instruments["customer"].item("rel1").text.zh_hans
    assert rel1["exact"]
    values = [c["value"] for c in rep["contributors"]]
    assert values == sorted(values)
    assert [c["rank"] for c in rep["contributors"]] == list(range(1, 26))
    # every gap-cause scale of the manager and staff instruments is next to its gap
    assert {s["scale"] for s in rep["causes"]["understanding"]} == {"mro", "upc", "lom"}
    assert {s["scale"] for s in rep["causes"]["promotion"]} == {"hco", "otp"}
    for rows in rep["causes"].values():
        for r in rows:
            assert 1 <= r["mean"] <= 7
            assert r["ci_low"] < r["mean"] < r["ci_high"]


def test_missing_sources_are_named_with_the_data_that_completes_them(instruments, world) -> None:
    only_customer = b.five_gaps(_sources(instruments, world, use=()))
    assert [m["gap"] for m in only_customer["missing"]] == list(b.GAPS)
    und = only_customer["missing"][0]
    assert und["needs"][0]["instruments"] == ["servqual22_manager"]
    assert und["needs"][0]["column"] == "<item>_m"
    d = only_customer["dimensions"][0]
    assert [s["step"] for s in d["waterfall"]] == ["E"]
    assert not d["complete"]
    assert d["exact"] is None
    assert d["customer_gap"] is not None  # P - E is always there

    with_manager = b.five_gaps(_sources(instruments, world, use=("manager",)))
    missing = {m["gap"] for m in with_manager["missing"]}
    assert missing == {"behaviour", "perception", "promotion"}
    beh = next(m for m in with_manager["missing"] if m["gap"] == "behaviour")
    assert beh["needs"][0]["instruments"] == ["servqual22_audit", "servqual22_staff"]
    # staff only: D and C come from the staff frame
    staff = b.five_gaps(_sources(instruments, world, use=("manager", "staff")))
    assert staff["level_sources"]["D"] == "staff"
    assert staff["missing"] == []


def test_segment_filter(instruments, world) -> None:
    data = world["customer"].data
    rep = b.five_gaps(_sources(instruments, world), segment=("branch", "east"))
    assert rep["sources"]["customer"] == int((data["branch"] == "east").sum())
    assert rep["sources"]["manager"] == int((world["manager"].data["branch"] == "east").sum())
    assert rep["unfiltered"] == []
    east = data.loc[(data["branch"] == "east").fillna(False)]
    dims = servqual_kwargs(instruments["customer"])["dimensions"]
    ref = [
        _row_means(east, [f"{i}_p" for i in its]).mean()
        - _row_means(east, [f"{i}_e" for i in its]).mean()
        for its in dims.values()
    ]
    got = [d["customer_gap"]["value"] for d in rep["dimensions"]]
    assert_allclose(got, ref, rtol=1e-12)
    by_type = b.five_gaps(_sources(instruments, world), segment=("customer_type", "individual"))
    assert set(by_type["unfiltered"]) == {"manager", "staff", "audit"}
    with pytest.raises(ValueError, match="branch = 'nowhere' has 0 customer"):
        b.five_gaps(_sources(instruments, world), segment=("branch", "nowhere"))


def test_servqual_view(instruments, world) -> None:
    q = instruments["customer"]
    data = world["customer"].data
    view = b.servqual_view(q, data)
    gaps = [r["gap"] for r in view["items"]]
    assert gaps == sorted(gaps)
    for r in view["items"]:
        assert r["mark"] == b.significance_mark(r["p_holm"])
    for d in view["dimensions"]:
        assert d["expectation_ci_low"] < d["expectation"] < d["expectation_ci_high"]
        assert d["perception_ci_low"] < d["perception"] < d["perception_ci_high"]
    res = servqual(data, **servqual_kwargs(q)).overall.set_index("measure")
    assert_allclose(view["weighted"]["mean"], res.loc["servqual_weighted", "mean"])
    assert_allclose(view["unweighted"]["mean"], res.loc["servqual", "mean"])
    assert view["zone_of_tolerance"] is None


def test_servqual_view_recodes_reverse_coded_items() -> None:
    q = qn.loads(servqual22_reversed_tangibles())
    sim = simulate(q, 3000, seed=3)
    report = b.full_report(q, sim.data)
    assert "servqual" not in report["errors"]
    alone = b.servqual_view(q, sim.data)
    for view in (report["servqual"], alone):
        rows = {d["dimension"]: d for d in view["dimensions"]}
        for dim, gap in sim.truth.gaps.items():
            # within four standard errors (from the 95 % interval) of the simulated truth
            se = (rows[dim]["ci_high"] - rows[dim]["ci_low"]) / (2 * 1.96)
            assert abs(rows[dim]["gap"] - gap) < 4 * se, dim
        e_tan = sim.truth.expected["tan"]["expectation"]
        assert rows["tan"]["expectation"] == pytest.approx(e_tan, abs=0.05)


def test_waves_and_change_test(instruments) -> None:
    q = instruments["customer"]
    a = simulate(q, 600, seed=1, wave="2026-Q1").data
    c = simulate(q, 500, seed=2, wave="2026-Q2").data
    data = pd.concat([a, c], ignore_index=True)
    view = b.waves_view(q, data, segment="branch")
    assert view["waves"] == ["2026-Q1", "2026-Q2"]
    q1, q2 = view["all"]["waves"]
    assert "change" not in q1
    kw = servqual_kwargs(q)
    s1 = servqual(a, **kw).scores["overall"].to_numpy(float)
    s2 = servqual(c, **kw).scores["overall"].to_numpy(float)
    ref = stats.ttest_ind(s2[~np.isnan(s2)], s1[~np.isnan(s1)], equal_var=False)
    assert_allclose(q2["change"]["servqual"]["p"], ref.pvalue, rtol=1e-8)
    assert_allclose(q2["change"]["servqual"]["diff"], np.nanmean(s2) - np.nanmean(s1))
    assert_allclose(
        q1["measures"]["index"]["mean"], np.nanmean((a["sat"].astype(float) - 1) / 9 * 100)
    )
    levels = view["segments"]["levels"]
    assert [lv["code"] for lv in levels] == [c.code for c in q.item("branch").choices]
    assert sum(lv["waves"][0]["n"] for lv in levels) <= 600


def test_data_quality_finds_the_planted_suspects(instruments) -> None:
    q = instruments["customer"]
    sim = simulate(q, 800, seed=5, straightliner_rate=0.05)
    data = sim.data.copy()
    # plant: one copy of E into P (identical E and P), one too-fast response
    ecols = [c for c in data.columns if c.endswith("_e") and c[:-2] + "_p" in data.columns]
    data.loc[3, [c[:-2] + "_p" for c in ecols]] = data.loc[3, ecols].to_numpy()
    data.loc[4, "duration_s"] = 1
    flags = b.suspects(q, data, flags={data.loc[5, "response_id"]: {"honeypot": True}})
    straight = set(data.loc[flags["straight_lining"], "response_id"])
    assert set(sim.truth.straightliners) <= straight
    assert flags.loc[3, "identical_ep"]
    assert flags.loc[4, "too_fast"]
    assert flags.loc[5, "honeypot"]
    results = {"servqual": score(q, "servqual", data)}
    panel = b.data_quality(
        q, data, results=results, flags={data.loc[5, "response_id"]: {"honeypot": True}}
    )
    assert panel["n_suspect"] == int(flags.any(axis=1).sum())
    clean = data.loc[~flags.any(axis=1)]
    ref = servqual(clean, **servqual_kwargs(q)).overall.set_index("measure")
    assert_allclose(panel["without"]["servqual"], ref.loc["servqual", "mean"])
    assert panel["without"]["n"] == len(clean)
    assert_allclose(panel["with"]["servqual"], results["servqual"].overall["mean"].iloc[0])


def test_methods_side_by_side(instruments, world) -> None:
    q = instruments["customer"]
    data = world["customer"].data
    results = b.run_methods(q, data, methods=["servqual", "pca", "drivers", "reliability"])
    view = b.methods_view(q, data, results, language="zh-Hans")
    assert view["methods"] == ["servqual", "pca"]
    assert 0 <= view["kendall"]["w"] <= 1
    assert view["kendall"]["m"] == 2
    # W is scoring's, of the methods' dimension scores (Kendall's W is tested in scoring)
    ref = kendall_w({m: results[m].dimension_scores().to_dict() for m in ("servqual", "pca")})
    assert_allclose([view["kendall"]["w"], view["kendall"]["p"]], [ref.w, ref.p], rtol=1e-12)
    pca = results["pca"]
    w = pca.weights.set_index("item")["weight"]
    cols = [f"{i}_p" for i in servqual_kwargs(q)["dimensions"]["tan"]]
    expected = (w[cols] @ pca.means[cols] / w[cols].sum() - 1) / 6 * 100
    tan = next(r for r in view["table"] if r["dimension"] == "tan")
    assert_allclose(tan["pca"]["score"], expected)
    cards = {c["method"]: c for c in view["cards"]}
    assert cards["servqual"]["name"] == "SERVQUAL 差距模型"
    assert cards["pca"]["n"] == pca.n
    assert cards["pca"]["dropped"] == len(data) - pca.n
    assert cards["pca"]["missing"].startswith("列表删除")  # listwise, in words
    assert {st["name"] for st in cards["pca"]["settings"]} == set(pca.parameters)
    assert "kaiser" not in str(cards["pca"]["settings"])
    assert len(cards["servqual"]["reliability"]) == 5


def test_method_cards_count_not_applicable_apart_from_missing() -> None:
    q = qn.builtin("servqual22")
    data = simulate(q, 200, seed=4).data
    data["not_applicable"] = ""
    data.loc[:24, "tan1_p"] = np.nan  # tan1 not shown to the first 25 respondents
    data.loc[:24, "not_applicable"] = "tan1_e;tan1_p"
    data.loc[:24, "tan1_e"] = np.nan
    results = b.run_methods(q, data, methods=["servqual", "pca"])
    cards = {c["method"]: c for c in b.methods_view(q, data, results)["cards"]}
    pca = results["pca"]
    assert cards["pca"]["not_applicable"] == pca.n_not_applicable == 25
    assert cards["pca"]["dropped"] == len(data) - pca.n - 25  # missing answers only
    assert cards["servqual"]["not_applicable"] == 0  # descriptive: nobody left out


def test_methods_on_fuzzy_and_csi_instruments() -> None:
    q = qn.builtin("service_short")
    data = simulate(q, 400, seed=2).data
    results = b.run_methods(q, data, methods=["fuzzy", "pca"])
    view = b.methods_view(q, data, results)
    assert set(view["table"][0]) >= {"fuzzy", "pca"}
    assert view["kendall"]["n"] == len(q.dimension_items())
    acsi = qn.builtin("acsi")
    res = b.run_methods(acsi, simulate(acsi, 300, seed=2).data, methods=["csi"])
    ipa = b.importance_performance_view(acsi, csi=res["csi"])
    assert ipa is not None
    assert ipa["source"] == "csi"
    assert [r["priority"] for r in ipa["rows"]] == sorted(r["priority"] for r in ipa["rows"])


def test_full_report_is_json_safe(instruments, world) -> None:
    import json

    rep = b.full_report(
        instruments["customer"],
        world["customer"].data.head(500),
        gap_sources=_sources(instruments, world),
        language="zh-Hans",
    )
    text = json.dumps(rep, allow_nan=False, ensure_ascii=False)
    assert "可靠性" in text
    assert {
        "five_gaps",
        "servqual",
        "importance_performance",
        "methods",
        "data_quality",
        "waves",
    } <= set(rep)


def test_customer_levels_equal_servperf_on_each_role(instruments, world) -> None:
    """E and P levels come from the SERVQUAL run's roles table: the numbers SERVPERF on
    the expectation and on the perception columns gives (what the report ran before)."""
    from questionnaires import ROLE_SUFFIXES

    q = instruments["customer"]
    data = world["customer"].data
    kw = {k: v for k, v in servqual_kwargs(q).items() if k != "weights"}
    levels = b.customer_levels(q, data, result=servqual(data, **servqual_kwargs(q)))
    for code, suffix in (("E", "_e"), ("P", "_p")):
        ref = servqual(
            data, **kw, model="servperf", suffixes={**ROLE_SUFFIXES, "perception": suffix}
        )
        tables = {"items": ref.items.set_index("item"), "dimensions": ref.dimensions}
        tables["dimensions"] = tables["dimensions"].set_index("dimension")
        for kind, expected in tables.items():
            got = levels[code][kind]
            assert list(got.index) == list(expected.index)
            assert (got["n"] == expected["n"]).all()
            assert_allclose(
                got[["mean", "sd", "ci_low", "ci_high"]].to_numpy(float),
                expected[["perception", "sd", "ci_low", "ci_high"]].to_numpy(float),
                rtol=1e-12,
            )
    # a listwise run describes other rows: the levels are computed afresh, pairwise
    listwise = servqual(data, **servqual_kwargs(q), missing="listwise")
    again = b.customer_levels(q, data, result=listwise)
    pd.testing.assert_frame_equal(again["E"]["dimensions"], levels["E"]["dimensions"])


def test_cause_scales_equal_cronbach_alpha_of_each_scale(instruments, world) -> None:
    from scoring.errors import InsufficientDataError
    from scoring.instrument import gap_cause_scales, recode_reversed
    from scoring.reliability import cronbach_alpha

    rep = b.five_gaps(_sources(instruments, world))
    checked = 0
    for aud in ("manager", "staff"):
        q, frame = instruments[aud], world[aud].data
        scored = recode_reversed(q, frame)
        for gap, scales in gap_cause_scales(q).items():
            for scale_id, cols in scales.items():
                row = next(r for r in rep["causes"][gap] if r["scale"] == scale_id)
                assert_allclose(row["alpha"], cronbach_alpha(scored[cols]).alpha, rtol=1e-12)
                by_hand = scored[cols].astype("Float64").mean(axis=1).dropna()
                assert_allclose(row["mean"], float(by_hand.mean()), rtol=1e-12)
                assert row["n"] == len(by_hand)
                checked += 1
    assert checked == 16
    # two items never answered together: cronbach_alpha refuses, the scale shows no alpha
    q, frame = instruments["manager"], world["manager"].data.copy()
    scale_id, cols = next(iter(gap_cause_scales(q)["understanding"].items()))
    frame.loc[frame.index[: len(frame) // 2], cols[0]] = pd.NA
    frame.loc[frame.index[len(frame) // 2 :], cols[1]] = pd.NA
    causes = b.five_gaps(_sources(instruments, world | {"manager": _Sim(frame)}))["causes"]
    row = next(r for r in causes["understanding"] if r["scale"] == scale_id)
    assert row["alpha"] is None
    with pytest.raises(InsufficientDataError, match="fewer than 2"):
        cronbach_alpha(recode_reversed(q, frame)[cols])


class _Sim:
    def __init__(self, data: pd.DataFrame) -> None:
        self.data = data


def test_app_flags_from_the_exported_text(instruments) -> None:
    q = instruments["customer"]
    data = simulate(q, 60, seed=3, straightliner_rate=0.0).data
    texts = ["too_fast;honeypot", "", None, "quarantined", "speeder", "honeypot", "too_fast"]
    data["suspect"] = pd.Series(texts + [""] * (60 - len(texts)), dtype="string")
    flags = b.suspects(q, data, min_seconds=0)
    assert flags.loc[0, ["too_fast", "honeypot"]].all()
    assert flags.loc[5, "honeypot"]
    assert not flags.loc[5, "too_fast"]
    assert flags.loc[6, "too_fast"]
    assert flags.loc[4, "flagged"]
    assert not flags.loc[[1, 2, 3], ["too_fast", "honeypot", "flagged"]].to_numpy().any()
