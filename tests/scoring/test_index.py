"""Tests of scoring.index: hand-computed index, NPS interval, rates, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from statsmodels.stats.proportion import proportion_confint

from scoring.errors import (
    DataError,
    InsufficientDataError,
    SmallSampleWarning,
    SpecificationError,
)
from scoring.index import (
    customer_rates,
    customer_rates_from,
    nps,
    nps_from_counts,
    questionnaire_index,
)


@pytest.fixture
def answers() -> pd.DataFrame:
    return pd.DataFrame(
        {"q1": [5, 4, 3, 5], "q2": [1, 2, 2, 5], "q3": [4, 4, 5, np.nan], "q4": [3, 3, 3, 3]}
    )


def test_index_by_hand(answers):
    dims = {"a": ["q1", "q2"], "b": ["q3", "q4"]}
    with pytest.warns(SmallSampleWarning, match="based on 4 respondent"):
        res = questionnaire_index(answers, dimensions=dims, scale=(1, 5), reverse=["q2"])
    items = res.items.set_index("item")
    # q2 reversed: 6 - x -> 5, 4, 4, 1: mean 3.5, top-2 (>= 4) 3 of 4
    assert items.loc["q2", "mean"] == 3.5
    assert items.loc["q2", "top_box"] == 0.75
    assert items.loc["q2", "index"] == pytest.approx((3.5 - 1) / 4 * 100)
    assert items.loc["q3", "n"] == 3
    assert items.loc["q3", "top_box"] == 1.0
    dims_t = res.dimensions.set_index("dimension")
    # dimension b per respondent: 3.5, 3.5, 4, 3 (q3 missing -> q4 only)
    assert dims_t.loc["b", "mean"] == pytest.approx(14 / 4)
    assert dims_t.loc["b", "top_box"] == pytest.approx(3 / 7)
    # dimension a per respondent: (5+5)/2, (4+4)/2, (3+4)/2, (5+1)/2
    a = np.array([5, 4, 3.5, 3])
    over = (a + np.array([3.5, 3.5, 4, 3])) / 2
    assert res.overall.loc[0, "mean"] == pytest.approx(over.mean())
    assert res.overall.loc[0, "index"] == pytest.approx((over.mean() - 1) / 4 * 100)
    lo = res.dimensions.set_index("dimension").loc["a", "index_ci_low"]
    assert lo == pytest.approx((dims_t.loc["a", "ci_low"] - 1) / 4 * 100)


def test_index_listwise(answers):
    with pytest.warns(SmallSampleWarning, match="based on 3 respondent"):
        res = questionnaire_index(answers, dimensions={"a": ["q1", "q3"]}, missing="listwise")
    assert res.items["n"].tolist() == [3, 3]


def test_nps_interval_by_hand():
    r = nps_from_counts(promoters=50, passives=30, detractors=20)
    assert r.nps == 30.0
    var = (0.5 * 0.5 + 0.2 * 0.8 + 2 * 0.5 * 0.2) / 100  # multinomial covariance form
    assert r.se == pytest.approx(100 * np.sqrt(var))
    assert r.ci_low == pytest.approx(30 - 1.959963984540054 * r.se)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 10), min_size=1, max_size=60))
def test_nps_from_scores_matches_counts(values):
    r = nps(values)
    x = np.array(values)
    assert r.nps == pytest.approx(100 * ((x >= 9).mean() - (x <= 6).mean()))
    assert r.promoters + r.passives + r.detractors == len(values)
    assert -100 <= r.ci_low <= r.nps <= r.ci_high <= 100


def test_rates_match_statsmodels_wilson():
    table = customer_rates(customers=200, lost=30, referred=50).set_index("rate")
    assert table.loc["churn", "percent"] == pytest.approx(15.0)
    assert table.loc["retention", "value"] == pytest.approx(0.85)
    for rate, k in [("churn", 30), ("retention", 170), ("referral", 50)]:
        lo, hi = proportion_confint(k, 200, method="wilson")
        assert (table.loc[rate, "ci_low"], table.loc[rate, "ci_high"]) == pytest.approx((lo, hi))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"customers": 10, "lost": 11}, DataError, r"lost \(11\) cannot exceed customers"),
        ({"customers": 10, "lost": -1}, DataError, "non-negative whole number"),
        ({"customers": 10.5, "lost": 1}, DataError, "customers must be a non-negative whole"),
        ({"customers": 0, "lost": 0}, InsufficientDataError, "must be positive"),
        ({"customers": 10, "lost": 1, "referred": 12}, DataError, "referred"),
    ],
)
def test_rates_bad_counts(kwargs, error, match):
    with pytest.raises(error, match=match):
        customer_rates(**kwargs)


def test_index_and_nps_bad_input(answers):
    with pytest.raises(DataError, match=r"'q1' must hold answers in \[1, 5\]"):
        questionnaire_index(answers.assign(q1=[5, 6, 3, 5]), dimensions={"a": ["q1"]})
    with pytest.raises(DataError, match=r"'q1' must be numeric; row 1"):
        questionnaire_index(answers.assign(q1=["5", "x", 3, 5]), dimensions={"a": ["q1"]})
    with pytest.raises(DataError, match=r"missing column\(s\) \['zz'\]"):
        questionnaire_index(answers, dimensions={"a": ["zz"]})
    with pytest.raises(SpecificationError, match="in no dimension"):
        questionnaire_index(answers, dimensions={"a": ["q1"]}, reverse=["q2"])
    with pytest.raises(InsufficientDataError, match="no answers at all"):
        questionnaire_index(answers.assign(q3=np.nan), dimensions={"a": ["q3"]})
    with pytest.raises(DataError, match=r"whole numbers in \[0, 10\]"):
        nps([10, 9.5])
    with pytest.raises(DataError, match="must be numeric"):
        nps([10, "ten"])
    with pytest.raises(InsufficientDataError, match="at least one"):
        nps_from_counts(promoters=0, passives=0, detractors=0)


@pytest.mark.parametrize("n", [1, 2])
def test_index_of_one_or_two_respondents_warns(n):
    # today's n = 2 interval was [-14.8, 144] on a 0-100 index, without a word
    df = pd.DataFrame({"q1": [1, 5], "q2": [2, 5]}).head(n)
    with pytest.warns(SmallSampleWarning, match=rf"based on {n} respondent\(s\)"):
        questionnaire_index(df, dimensions={"a": ["q1", "q2"]}, scale=(1, 5))


def test_index_of_constant_items_and_more_items_than_rows_is_quiet():
    # a constant item still has a mean and an index; no warning once n >= 10
    df = pd.DataFrame({f"q{i}": [4] * 10 for i in range(12)})
    res = questionnaire_index(df, dimensions={"a": list(df.columns)}, scale=(1, 5))
    assert res.overall.loc[0, "index"] == 75.0


def test_index_refuses_a_fraction_on_the_scale():
    df = pd.DataFrame({"q1": [1, 4.5, 3] * 4})
    with pytest.raises(DataError, match=r"'q1' must hold answers in \[1, 5\]; row 1 holds 4\.5"):
        questionnaire_index(df, dimensions={"a": ["q1"]}, scale=(1, 5))


def test_customer_rates_from_columns_matches_the_counts():
    df = pd.DataFrame(
        {"churned": [0, 1, 0, 0, np.nan, 1], "referred": [True, False, False, True, True, False]}
    )
    got = customer_rates_from(df, lost="churned", referred="referred")
    # the row without a 'churned' answer is left out of every rate (one base)
    want = customer_rates(customers=5, lost=2, referred=2)
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(DataError, match=r"'churned'.*row 2 holds 3"):
        customer_rates_from(df.assign(churned=[0, 1, 3, 0, 0, 1]), lost="churned")
    with pytest.raises(DataError, match="missing column"):
        customer_rates_from(df, lost="lost")
    with pytest.raises(InsufficientDataError):
        customer_rates_from(df.assign(churned=np.nan), lost="churned")
