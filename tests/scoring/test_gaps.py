"""Tests of scoring.gaps: hand-computed gaps, the five-gap identity, subsets, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.gaps import service_gaps
from scoring.reliability import cronbach_alpha

DIMS = {"tangibles": ["tan1", "tan2"], "reliability": ["rel1"]}


def _frame(rng, n: int, roles: dict[str, int], items=("tan1", "tan2", "rel1")) -> pd.DataFrame:
    """Ratings around a role-specific centre on a 7-point scale."""
    cols = {}
    for role, centre in roles.items():
        for item in items:
            cols[f"{item}_{role}"] = np.clip(centre + rng.integers(-1, 2, size=n), 1, 7)
    return pd.DataFrame(cols)


@pytest.fixture
def linked():
    rng = np.random.default_rng(1985)
    return {
        "customers": _frame(rng, 60, {"e": 6, "p": 4}),
        "managers": _frame(rng, 12, {"m": 5, "s": 5}),
        "staff": _frame(rng, 25, {"d": 4, "c": 6}),
    }


def test_welch_and_paired_intervals_match_scipy(linked):
    res = service_gaps(dimensions=DIMS, **linked)
    items = res.items.set_index(["gap", "item"])
    # understanding M - E: managers and customers are independent samples -> Welch
    m, e = linked["managers"]["tan1_m"], linked["customers"]["tan1_e"]
    ref = stats.ttest_ind(m, e, equal_var=False)
    row = items.loc[("understanding", "tan1")]
    assert row["method"] == "welch"
    assert row["estimate"] == pytest.approx(m.mean() - e.mean())
    assert row["se"] == pytest.approx(math.sqrt(m.var() / 12 + e.var() / 60))
    lo, hi = ref.confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert (row["n_a"], row["n_b"]) == (12, 60)
    # procedure S - M: the same managers rated both -> paired
    s = linked["managers"]["tan1_s"]
    row = items.loc[("procedure", "tan1")]
    assert row["method"] == "paired"
    lo, hi = stats.ttest_rel(s, m).confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))


def test_dimension_gap_uses_respondent_dimension_means(linked):
    res = service_gaps(dimensions=DIMS, **linked)
    dims = res.dimensions.set_index(["gap", "dimension"])
    d = linked["staff"][["tan1_d", "tan2_d"]].mean(axis=1)
    p = linked["customers"][["tan1_p", "tan2_p"]].mean(axis=1)
    row = dims.loc[("perception", "tangibles")]
    assert row["estimate"] == pytest.approx(p.mean() - d.mean())
    lo, hi = stats.ttest_ind(p, d, equal_var=False).confidence_interval(0.95)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))


def test_identity_and_ranking(linked):
    res = service_gaps(dimensions=DIMS, **linked)
    ident = res.identity.set_index(["level", "name"])
    assert set(ident.index) == {
        ("item", "tan1"),
        ("item", "tan2"),
        ("item", "rel1"),
        ("dimension", "tangibles"),
        ("dimension", "reliability"),
    }
    assert (ident["residual"].abs() < 1e-12).all()
    c = linked["customers"]
    assert ident.loc[("item", "rel1"), "customer_gap"] == pytest.approx(
        c["rel1_p"].mean() - c["rel1_e"].mean()
    )
    # centres: E 6, M 5, S 5, D 4, P 4 -> understanding about -1, behaviour about -1
    rank = res.ranking[res.ranking["dimension"] == "reliability"]
    assert rank["gap"].iloc[0] in {"understanding", "behaviour"}
    assert rank["rank"].tolist() == [1, 2, 3, 4]
    assert rank["share"].sum() == pytest.approx(1.0)
    assert res.unavailable.empty


def test_subset_of_sources_reports_unavailable_gaps(linked):
    res = service_gaps(dimensions=DIMS, customers=linked["customers"], staff=linked["staff"])
    assert set(res.items["gap"]) == {"perception", "promotion", "customer"}
    reasons = res.unavailable.set_index("gap")["reason"]
    assert set(reasons.index) == {"understanding", "procedure", "behaviour"}
    assert reasons["behaviour"] == (
        "behaviour: needs D (staff/audit) and S (managers); missing: S (no managers data)"
    )
    assert res.identity.empty
    # ranking still lists the computable part of the decomposition
    assert set(res.ranking["gap"]) == {"perception"}


def test_partial_items(linked):
    staff = linked["staff"].drop(columns=["tan2_c"])
    res = service_gaps(dimensions=DIMS, customers=linked["customers"], staff=staff)
    row = res.unavailable.set_index("gap").loc["promotion"]
    assert row["items"] == "tan2"
    promo = res.dimensions.set_index(["gap", "dimension"]).loc[("promotion", "tangibles")]
    assert promo["items"] == 1


def test_cause_scales(linked):
    rng = np.random.default_rng(7)
    staff = linked["staff"].assign(
        rc1=rng.integers(1, 6, 25), rc2=rng.integers(1, 6, 25), tw1=rng.integers(1, 6, 25)
    )
    managers = linked["managers"].assign(ur1=rng.integers(1, 6, 12), ur2=rng.integers(1, 6, 12))
    causes = {
        "behaviour": {"role_conflict": ["rc1", "rc2"], "teamwork": ["tw1"]},
        "understanding": {"upward_communication": ["ur1", "ur2"]},
    }
    res = service_gaps(
        dimensions=DIMS,
        customers=linked["customers"],
        managers=managers,
        staff=staff,
        cause_scales=causes,
        cause_scale_range=(1, 5),
    )
    table = res.causes.set_index("scale")
    assert table.loc["role_conflict", "source"] == "staff"
    assert table.loc["upward_communication", "source"] == "managers"
    rc = staff[["rc1", "rc2"]].mean(axis=1)
    assert table.loc["role_conflict", "mean"] == pytest.approx(rc.mean())
    lo, hi = stats.t.interval(0.95, 24, loc=rc.mean(), scale=stats.sem(rc))
    assert (table.loc["role_conflict", "ci_low"], table.loc["role_conflict", "ci_high"]) == (
        pytest.approx((lo, hi))
    )
    assert table.loc["role_conflict", "alpha"] == pytest.approx(
        cronbach_alpha(staff[["rc1", "rc2"]]).alpha
    )
    assert math.isnan(table.loc["teamwork", "alpha"])


ratings = st.lists(st.integers(1, 7), min_size=2, max_size=15)


@settings(max_examples=40, deadline=None)
@given(e=ratings, p=ratings, m=ratings, s=ratings, d=ratings)
def test_five_gap_identity_holds_exactly(e, p, m, s, d):
    # each source has its own n; uneven lengths are truncated per source
    nc, nm = min(len(e), len(p)), min(len(m), len(s))
    customers = pd.DataFrame({"a_e": e[:nc], "a_p": p[:nc]})
    managers = pd.DataFrame({"a_m": m[:nm], "a_s": s[:nm]})
    staff = pd.DataFrame({"a_d": d})
    res = service_gaps(dimensions={"x": ["a"]}, customers=customers, managers=managers, staff=staff)
    ident = res.identity.iloc[0]
    assert abs(ident["residual"]) <= 1e-12
    assert ident["customer_gap"] == pytest.approx(np.mean(p[:nc]) - np.mean(e[:nc]), abs=1e-12)
    est = res.items.set_index("gap")["estimate"]
    total = est["perception"] + est["behaviour"] + est["procedure"] + est["understanding"]
    assert total == pytest.approx(est["customer"], abs=1e-12)


def test_bad_input(linked):
    with pytest.raises(InsufficientDataError, match="no gap can be computed"):
        service_gaps(
            dimensions=DIMS, managers=linked["managers"].drop(columns=["tan1_s"]).iloc[:, :3]
        )
    bad = linked["customers"].copy()
    bad.loc[3, "tan1_p"] = 9
    with pytest.raises(DataError, match=r"customers column 'tan1_p' must hold answers in \[1, 7\]"):
        service_gaps(dimensions=DIMS, customers=bad)
    bad = linked["customers"].astype({"rel1_e": object})
    bad.loc[2, "rel1_e"] = "high"
    with pytest.raises(DataError, match=r"'rel1_e' must be numeric; row 2"):
        service_gaps(dimensions=DIMS, customers=bad)
    with pytest.raises(SpecificationError, match="unknown gap"):
        service_gaps(dimensions=DIMS, **linked, cause_scales={"customer": {"x": ["tan1_e"]}})
    with pytest.raises(DataError, match="are not all in one of the frames"):
        service_gaps(dimensions=DIMS, **linked, cause_scales={"behaviour": {"x": ["nope"]}})


def test_t_tests_and_holm_match_scipy_and_statsmodels(linked):
    from statsmodels.stats.multitest import multipletests

    res = service_gaps(dimensions=DIMS, **linked)
    items = res.items.set_index(["gap", "item"])
    m, e = linked["managers"]["tan1_m"], linked["customers"]["tan1_e"]
    row = items.loc[("understanding", "tan1")]
    ref = stats.ttest_ind(m, e, equal_var=False)
    assert (row["t"], row["p"]) == pytest.approx((ref.statistic, ref.pvalue))
    assert math.isnan(row["n_pairs"])
    s = linked["managers"]["rel1_s"]
    row = items.loc[("procedure", "rel1")]
    ref = stats.ttest_rel(s, linked["managers"]["rel1_m"])
    assert (row["t"], row["p"]) == pytest.approx((ref.statistic, ref.pvalue))
    assert row["n_pairs"] == 12
    # Holm over the items of one gap
    for gap, group in res.items.groupby("gap"):
        expected = multipletests(group["p"], method="holm")[1]
        np.testing.assert_allclose(group["p_holm"], expected, rtol=1e-12, err_msg=gap)
    dims = res.dimensions
    for gap, group in dims.groupby("gap"):
        expected = multipletests(group["p"], method="holm")[1]
        np.testing.assert_allclose(group["p_holm"], expected, rtol=1e-12, err_msg=gap)


def test_paired_gap_with_missing_answers_by_hand(linked):
    customers = linked["customers"].astype("float64")
    rng = np.random.default_rng(15)
    holes = rng.random(customers.shape) < 0.15
    customers = customers.mask(holes)
    res = service_gaps(dimensions=DIMS, customers=customers)
    row = res.dimensions.set_index(["gap", "dimension"]).loc[("customer", "tangibles")]
    p = customers[["tan1_p", "tan2_p"]].mean(axis=1)
    e = customers[["tan1_e", "tan2_e"]].mean(axis=1)
    diff = (p - e).dropna()
    est = p.mean() - e.mean()  # each role over its own respondents
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / math.sqrt(len(diff))
    assert row["estimate"] == pytest.approx(est, abs=1e-12)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((est - half, est + half), abs=1e-12)
    assert row["n_pairs"] == len(diff)
    assert row["t"] == pytest.approx(est / (diff.std(ddof=1) / math.sqrt(len(diff))))


def test_levels_by_hand(linked):
    res = service_gaps(dimensions=DIMS, **linked)
    levels = res.levels.set_index(["letter", "level", "name"])
    d = linked["staff"][["tan1_d", "tan2_d"]].mean(axis=1)
    row = levels.loc[("D", "dimension", "tangibles")]
    lo, hi = stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d))
    assert (row["n"], row["mean"], row["sd"]) == (
        25,
        pytest.approx(d.mean()),
        pytest.approx(d.std()),
    )
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((lo, hi))
    assert row["source"] == "staff"
    e = linked["customers"]["rel1_e"]
    assert levels.loc[("E", "item", "rel1"), "mean"] == pytest.approx(e.mean())
    assert set(res.levels["letter"]) == {"E", "P", "M", "S", "D", "C"}
    assert res.identity["exact"].all()


def test_audit_or_staff_gives_the_delivered_levels(linked):
    rng = np.random.default_rng(3)
    audit = _frame(rng, 30, {"d": 3, "c": 5})
    res = service_gaps(dimensions=DIMS, **linked, audit=audit)
    roles = res.roles.set_index("letter")["source"]
    assert (roles["D"], roles["C"]) == ("audit", "audit")
    promo = res.items.set_index(["gap", "item"]).loc[("promotion", "tan1")]
    assert promo["estimate"] == pytest.approx(audit["tan1_d"].mean() - audit["tan1_c"].mean())
    by_staff = service_gaps(dimensions=DIMS, **linked, audit=audit, delivered="staff")
    assert set(by_staff.roles.set_index("letter").loc[["D", "C"], "source"]) == {"staff"}
    # an audit without C: D from the audit, C from the staff, compared as independent samples
    mixed = service_gaps(dimensions=DIMS, **linked, audit=audit.filter(like="_d"))
    roles = mixed.roles.set_index("letter")["source"]
    assert (roles["D"], roles["C"]) == ("audit", "staff")
    assert set(mixed.items.loc[mixed.items["gap"] == "promotion", "method"]) == {"welch"}


def test_segment_filter(linked):
    customers = linked["customers"].assign(branch=["east", "west", None] * 20)
    managers = linked["managers"].assign(branch=[1, 2] * 6)  # codes compared as text
    res = service_gaps(
        dimensions=DIMS,
        customers=customers,
        managers=managers,
        staff=linked["staff"],
        segment=("branch", "east"),
    )
    east = customers[customers["branch"] == "east"]
    sources = res.sources.set_index("source")
    assert sources.loc["customers", "n"] == 20
    assert bool(sources.loc["customers", "segmented"])
    # no manager is in the east: their gaps are unavailable, and the reason says why
    assert sources.loc["managers", "n"] == 0
    assert (
        res.unavailable.set_index("gap")
        .loc["procedure", "reason"]
        .endswith(
            "missing: S (no managers in segment branch = 'east'), M (no managers in segment "
            "branch = 'east')"
        )
    )
    assert not bool(sources.loc["staff", "segmented"])
    assert sources.loc["staff", "n"] == 25
    row = res.items.set_index(["gap", "item"]).loc[("customer", "rel1")]
    assert row["estimate"] == pytest.approx(east["rel1_p"].mean() - east["rel1_e"].mean())
    assert res.segment == ("branch", "east")
    by_code = service_gaps(
        dimensions=DIMS, customers=linked["customers"], managers=managers, segment=("branch", "1")
    )
    used = by_code.sources.set_index("source")
    assert used.loc["managers", "n"] == 6
    assert (used.loc["customers", "n"], bool(used.loc["customers", "segmented"])) == (60, False)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"segment": ("branch", "north")},
            InsufficientDataError,
            "branch = 'north' has 0 customer",
        ),
        ({"segment": ("region", "x")}, SpecificationError, "'region' is in none of the frames"),
        ({"segment": "branch=east"}, SpecificationError, r"\(column, value\) pair"),
        ({"delivered": "mystery"}, ValueError, "delivered must be one of 'audit', 'staff'"),
    ],
)
def test_bad_segment_and_choice(linked, kwargs, error, match):
    customers = linked["customers"].assign(branch="east")
    with pytest.raises(error, match=match):
        service_gaps(dimensions=DIMS, customers=customers, **kwargs)


def test_too_few_customers(linked):
    with pytest.raises(InsufficientDataError, match="customers has 1 response"):
        service_gaps(dimensions=DIMS, customers=linked["customers"].head(1))
