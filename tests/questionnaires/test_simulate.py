"""Synthetic responses: export format, value ranges, determinism, recoverable truth."""

from __future__ import annotations

import json
import time
import uuid

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import questionnaires as qn
from questionnaires.simulate import Simulation, simulate

IDS = qn.builtin_ids()


def _check_frame(q: qn.Questionnaire, sim: Simulation, n: int) -> None:
    d = sim.data
    assert list(d.columns) == list(q.columns())
    assert len(d) == n
    assert d["response_id"].map(lambda s: str(uuid.UUID(s)) == s).all()
    assert d["response_id"].is_unique
    assert (d["status"] == "complete").all()
    assert (d["audience"] == q.audience).all()
    assert set(d["language"]) <= {"zh-Hans", "en"}
    started = pd.to_datetime(d["started_at"])
    submitted = pd.to_datetime(d["submitted_at"])
    assert ((submitted - started).dt.total_seconds() == d["duration_s"]).all()
    for item in q.items:
        cols = list(item.columns())
        block = d[cols]
        if item.type == "rating":
            assert item.scale is not None
            v = block.stack().dropna().astype(int)
            assert v.between(item.scale.min, item.scale.max).all(), item.id
        elif item.type == "allocation":
            answered = block.dropna()
            assert (answered.sum(axis=1) == item.total).all(), item.id
            assert (answered >= 0).all().all()
            if item.required:
                assert len(answered) == n
        elif item.type == "multiple_choice":
            assert set(block.stack().dropna().astype(int)) <= {0, 1}
        elif item.type == "single_choice":
            assert set(block[item.id].dropna()) <= {c.code for c in item.choices}
            if item.required:
                assert block[item.id].notna().all()


@pytest.mark.parametrize("ident", IDS)
def test_every_builtin_simulates_in_the_export_format(ident: str) -> None:
    q = qn.builtin(ident)
    sim = simulate(q, 300, seed=5, survey="s1", wave="2025q1")
    _check_frame(q, sim, 300)
    assert (sim.data["survey"] == "s1").all()
    assert (sim.data["wave"] == "2025q1").all()
    json.dumps(sim.truth.to_dict())  # JSON-safe


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ident=st.sampled_from(IDS),
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 40),
    missing=st.floats(0, 0.9),
    straight=st.floats(0, 1),
    rho=st.floats(0, 1),
)
def test_any_seed_gives_a_valid_frame(
    ident: str, seed: int, n: int, missing: float, straight: float, rho: float
) -> None:
    q = qn.builtin(ident)
    sim = simulate(
        q, n, seed=seed, missing_rate=missing, straightliner_rate=straight, ep_correlation=rho
    )
    _check_frame(q, sim, n)


def test_deterministic_given_seed() -> None:
    q = qn.builtin("servqual22")
    a = simulate(q, 500, seed=11)
    b = simulate(q, 500, seed=11)
    c = simulate(q, 500, seed=12)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert a.truth == b.truth
    assert not a.data["rel1_p"].equals(c.data["rel1_p"])


def _person_means(d: pd.DataFrame, cols: list[str]) -> pd.Series:
    return d[cols].astype(float).mean(axis=1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dimension_gaps_are_recovered(seed: int) -> None:
    q = qn.builtin("servqual22")
    sim = simulate(q, 5000, seed=seed)
    d, truth = sim.data, sim.truth
    p_cols = q.dimension_columns(role="perception")
    e_cols = q.dimension_columns(role="expectation")
    assert set(truth.gaps) == set(p_cols)
    for dim in p_cols:
        gap = _person_means(d, p_cols[dim]) - _person_means(d, e_cols[dim])
        se = gap.std() / np.sqrt(gap.count())
        assert truth.gaps[dim] < 0  # E above P, as in SERVQUAL studies
        assert abs(gap.mean() - truth.gaps[dim]) < 4 * se, dim
        for role, cols in (("perception", p_cols[dim]), ("expectation", e_cols[dim])):
            m = _person_means(d, cols)
            assert abs(m.mean() - truth.expected[dim][role]) < 4 * m.std() / np.sqrt(m.count())
    gaps = sorted(truth.gaps.values())
    assert gaps[-1] - gaps[0] > 0.1  # dimension-specific


def test_e_and_p_are_correlated_as_asked() -> None:
    q = qn.builtin("servqual22")
    low = simulate(q, 4000, seed=3, ep_correlation=0.1, straightliner_rate=0).data
    high = simulate(q, 4000, seed=3, ep_correlation=0.8, straightliner_rate=0).data
    r_low = low["rel1_e"].astype(float).corr(low["rel1_p"].astype(float))
    r_high = high["rel1_e"].astype(float).corr(high["rel1_p"].astype(float))
    assert 0 < r_low < 0.25
    assert 0.6 < r_high < 0.85


def test_segment_differences_are_recovered() -> None:
    q = qn.builtin("servqual22")
    effects = {"branch": {"hq": 0.1, "east": -0.1}}
    sim = simulate(q, 6000, seed=8, segments_effect=effects, straightliner_rate=0)
    d = sim.data
    p = _person_means(
        d, [c for cols in q.dimension_columns(role="perception").values() for c in cols]
    )
    e = _person_means(
        d, [c for cols in q.dimension_columns(role="expectation").values() for c in cols]
    )
    by = pd.DataFrame({"p": p, "e": e, "branch": d["branch"]}).groupby("branch").mean()
    # 0.2 of the 6-point range apart in the latent: about 1.2 points, a bit less after clipping
    assert 0.9 < by.loc["hq", "p"] - by.loc["east", "p"] < 1.3
    assert abs(by.loc["hq", "e"] - by.loc["east", "e"]) < 0.1  # expectations do not move
    assert sim.truth.segment_effects["branch"]["hq"] == 0.1
    assert sum(sim.truth.segment_shares["branch"].values()) == pytest.approx(1)


def test_straightliners_missing_and_optional() -> None:
    q = qn.builtin("servqual22")
    sim = simulate(q, 5000, seed=4, missing_rate=0.05, straightliner_rate=0.04)
    d, truth = sim.data, sim.truth
    rating_cols = [c for i in q.iter_items(type="rating") for c in i.columns() if i.scale.max == 7]
    flagged = d.loc[d["suspect"], "response_id"]
    assert set(flagged) == set(truth.straightliners)
    assert 0.03 < len(flagged) / len(d) < 0.05
    straight = d.loc[d["suspect"], rating_cols]
    assert (straight.nunique(axis=1) == 1).all()
    normal = d.loc[~d["suspect"], rating_cols]
    assert normal.isna().mean().mean() == pytest.approx(0.05, abs=0.01)
    assert (normal.nunique(axis=1) > 1).mean() > 0.99
    # required non-rating items are never missing; the optional comment mostly is
    assert d["branch"].notna().all()
    assert d["imp_tan"].notna().all()
    assert 0.05 < d["comment"].notna().mean() < 0.2
    zh = d.loc[d["comment"].notna() & (d["language"] == "zh-Hans"), "comment"]
    assert zh.str.contains(r"[\u4e00-\u9fff]").all()


def test_reverse_coded_items_are_reversed() -> None:
    q = qn.builtin("servqual22_staff")
    rev = [i for i in q.iter_items(type="rating") if i.reverse]
    assert rev
    sim = simulate(q, 4000, seed=2, straightliner_rate=0, missing_rate=0)
    d = sim.data
    for item in rev:
        same = [
            i
            for i in q.iter_items(type="rating")
            if i.dimension == item.dimension and not i.reverse
        ]
        if not same:
            continue
        r = d[item.id].astype(float).corr(d[same[0].id].astype(float))
        assert r < 0, item.id


def test_five_gaps_are_non_trivial() -> None:
    seed = 6
    cust = simulate(qn.builtin("servqual22"), 10, seed=seed).truth
    man = simulate(qn.builtin("servqual22_manager"), 10, seed=seed).truth
    staff = simulate(qn.builtin("servqual22_staff"), 10, seed=seed).truth
    for dim in ("tan", "rel", "res", "ass", "emp"):
        lat = {**cust.latent[dim], **man.latent[dim], **staff.latent[dim]}
        und = lat["manager_estimate"] - lat["expectation"]
        proc = lat["standard"] - lat["manager_estimate"]
        beh = lat["delivered"] - lat["standard"]
        promo = lat["delivered"] - lat["promised"]
        perc = lat["perception"] - lat["delivered"]
        for g in (und, proc, beh, promo, perc):
            assert g < -0.005
        assert lat["perception"] - lat["expectation"] == pytest.approx(und + proc + beh + perc)


@pytest.mark.parametrize("ident", [i for i in IDS if qn.builtin(i).scoring.csi is not None])
def test_csi_paths_are_recoverable(ident: str) -> None:
    """Disattenuated composite correlations give back the true standardized paths."""
    q = qn.builtin(ident)
    spec = q.scoring.csi
    assert spec is not None
    sim = simulate(q, 5000, seed=4)
    d = sim.data[~sim.data["suspect"]]
    names = list(spec.blocks)
    comp = pd.DataFrame({lv: _person_means(d, list(c)) for lv, c in spec.blocks.items()}).dropna()
    lam = [np.array([sim.truth.loadings[c] for c in spec.blocks[lv]]) for lv in names]
    rel = np.array([x.sum() ** 2 / (x.sum() ** 2 + (1 - x**2).sum()) for x in lam])
    r = comp.corr().to_numpy() / np.sqrt(np.outer(rel, rel))
    np.fill_diagonal(r, 1.0)
    ix = {n: k for k, n in enumerate(names)}
    assert len(sim.truth.paths) == len(spec.paths)
    for lv in names:
        preds = [a for a, b in spec.paths if b == lv]
        if not preds:
            continue
        j = [ix[p] for p in preds]
        beta = np.linalg.solve(r[np.ix_(j, j)], r[j, ix[lv]])
        for p, b in zip(preds, beta, strict=True):
            assert b == pytest.approx(sim.truth.paths[f"{p}->{lv}"], abs=0.08), f"{p}->{lv}"


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"n": 0}, ValueError, "n must be at least 1; got 0"),
        ({"n": 2.5}, TypeError, "n must be a whole number"),
        ({"missing_rate": 1.0}, ValueError, r"missing_rate must be a number in \[0, 1\)"),
        ({"straightliner_rate": -0.1}, ValueError, "straightliner_rate must be"),
        ({"ep_correlation": 1.5}, ValueError, "ep_correlation must be"),
        ({"ep_correlation": float("nan")}, ValueError, "ep_correlation must be"),
        ({"segments_effect": -1}, ValueError, "segments_effect must be"),
    ],
)
def test_bad_input(kwargs: dict[str, object], exc: type[Exception], match: str) -> None:
    args = {"n": 10} | kwargs
    n = args.pop("n")
    with pytest.raises(exc, match=match):
        simulate(qn.builtin("servqual22"), n, **args)  # type: ignore[arg-type]


@pytest.mark.slow
def test_a_million_rows_in_well_under_a_minute() -> None:
    q = qn.builtin("servqual22")
    t0 = time.perf_counter()
    sim = simulate(q, 1_000_000, seed=1)
    assert time.perf_counter() - t0 < 30
    assert len(sim.data) == 1_000_000


# -- the service-profit chain ------------------------------------------------------------
def test_simulate_chain_unit_means_match_the_truth() -> None:
    from questionnaires.simulate import simulate_chain

    customer_q, staff_q = qn.builtin("service_short"), qn.builtin("staff_satisfaction")
    sim = simulate_chain(customer_q, staff_q, 20_000, 10_000, seed=4, missing_rate=0.0)
    t = sim.truth
    _check_frame(staff_q, sim.staff, 10_000)
    assert list(sim.customers.data.columns) == ["customer_id", *customer_q.columns()]
    for frame, column, expected in (
        (sim.customers.data, t.customer_overall, t.customer_mean),
        (sim.staff.data, t.staff_overall, t.staff_mean),
    ):
        means = frame.groupby("branch")[column].mean()
        for unit, value in expected.items():
            assert means[unit] == pytest.approx(value, abs=0.06), (column, unit)
    # customers' shift = staff_effect * staff shift + the unit's residual
    assert t.staff_to_customer > 0
    # churn follows the logit of the overall answer
    joined = sim.customers.data.merge(sim.outcomes, on="customer_id")
    mid = 3.0
    for answer in (2, 4):
        part = joined[joined[t.customer_overall] == answer]
        p = 1 / (1 + np.exp(-(t.churn_intercept + t.churn_slope * (answer - mid))))
        assert part["churned"].mean() == pytest.approx(p, abs=4 * np.sqrt(p * (1 - p) / len(part)))
    assert len(sim.outcomes) == 22_000
    assert t.non_respondents == 2_000
    json.dumps(t.to_dict())


def test_simulate_chain_needs_shared_unit_codes() -> None:
    from questionnaires.simulate import simulate_chain

    with pytest.raises(ValueError, match="no single-choice item 'store'"):
        simulate_chain(
            qn.builtin("service_short"), qn.builtin("staff_satisfaction"), 10, 10, unit="store"
        )
    with pytest.raises(ValueError, match="names no overall satisfaction rating"):
        simulate_chain(qn.builtin("servqual22_staff"), qn.builtin("staff_satisfaction"), 10, 10)
