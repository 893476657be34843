"""scoring.loyalty: outcomes joined to responses, the satisfaction–loyalty curve, the churn
model and value-weighted satisfaction.

Independent implementations: statsmodels ``Logit`` (odds ratios, marginal effects) and
``proportion_confint`` (Wilson), scikit-learn ``roc_auc_score``, on fixed simulated data.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from numpy.testing import assert_allclose
from sklearn.metrics import roc_auc_score

from scoring import inference
from scoring.errors import DataError, InsufficientDataError, SpecificationError
from scoring.index import customer_rates
from scoring.loyalty import (
    PerfectSeparationError,
    TooFewEventsError,
    churn_model,
    join_outcomes,
    loyalty_curve,
    roc_auc,
    value_weighted,
    wilson_interval,
)


def customers(n: int = 3000, seed: int = 7) -> pd.DataFrame:
    """Customers with a 1-5 satisfaction, two dimension gaps, tenure, a segment and a
    churn that depends on satisfaction and one gap."""
    rng = np.random.default_rng(seed)
    sat = rng.integers(1, 6, size=n)
    gap_rel = np.round(rng.normal(-0.5, 1.0, size=n), 2)
    gap_tan = np.round(rng.normal(-0.2, 1.0, size=n), 2)
    tenure = rng.integers(0, 20, size=n)
    segment = rng.choice(["business", "individual", "vip"], size=n, p=[0.3, 0.6, 0.1])
    eta = 1.0 - 0.6 * (sat - 3) - 0.4 * gap_rel - 0.03 * tenure
    churned = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    revenue = np.round(rng.lognormal(5 + 0.2 * sat, 1.0, size=n), 2)
    return pd.DataFrame(
        {
            "cid": [f"C{i:05d}" for i in range(n)],
            "sat": sat,
            "gap_rel": gap_rel,
            "gap_tan": gap_tan,
            "tenure": tenure,
            "segment": segment,
            "churned": churned,
            "retained": 1 - churned,
            "revenue": revenue,
        }
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return customers()


# -- join --------------------------------------------------------------------------------
def test_join_reports_both_kinds_of_unmatched_key() -> None:
    responses = pd.DataFrame({"cid": ["a", "b", "c", None], "sat": [5, 3, 4, 2]})
    outcomes = pd.DataFrame({"cid": ["b", "a", "z", "y"], "churned": [1, 0, 1, 0]})
    j = join_outcomes(responses, outcomes, key="cid")
    assert j.n_matched == 2
    assert j.data["churned"].tolist() == [0, 1]  # a, b in the responses' order
    assert j.unmatched_responses == ("c", "row 3")
    assert j.unmatched_outcomes == ("z", "y")  # customers who never answered
    assert j.summary().loc["outcomes without response", "n"] == 2
    assert "never" not in " ".join(j.warnings())
    assert len(j.warnings()) == 2
    assert "data" not in j.to_dict()


def test_join_compares_keys_as_text() -> None:
    responses = pd.DataFrame({"id": [101, 102], "sat": [5, 3]})
    outcomes = pd.DataFrame({"id": ["101", 102.0], "retained": [1, 0]})
    j = join_outcomes(responses, outcomes, key="id")
    assert j.n_matched == 2
    assert j.data["retained"].tolist() == [1, 0]


@pytest.mark.parametrize("side", ["responses", "outcomes"])
def test_join_refuses_duplicate_keys_naming_the_rows(side: str) -> None:
    responses = pd.DataFrame({"cid": ["a", "b", "c"], "sat": [1, 2, 3]}, index=[2, 3, 4])
    outcomes = pd.DataFrame({"cid": ["a", "b", "c"], "churned": [0, 1, 0]}, index=[2, 3, 4])
    target = responses if side == "responses" else outcomes
    target.loc[4, "cid"] = "a"
    with pytest.raises(DataError, match=rf"{side} column 'cid' holds key 'a' .*rows \[2, 4\]"):
        join_outcomes(responses, outcomes, key="cid")


@pytest.mark.parametrize(
    ("outcomes", "match"),
    [
        (pd.DataFrame({"cid": ["x", "y"], "churned": [1, 0]}), "no response key"),
        (pd.DataFrame({"cid": ["a", None], "churned": [1, 0]}), "empty in row 1"),
        (pd.DataFrame({"cid": ["a"], "sat": [1]}), "name of a column of responses"),
        (pd.DataFrame({"customer": ["a"], "churned": [1]}), "missing column"),
    ],
)
def test_join_bad_input(outcomes: pd.DataFrame, match: str) -> None:
    responses = pd.DataFrame({"cid": ["a", "b"], "sat": [1, 2]})
    with pytest.raises(DataError, match=match):
        join_outcomes(responses, outcomes, key="cid")


# -- Wilson and AUC ----------------------------------------------------------------------
def test_wilson_matches_customer_rates() -> None:
    expected = customer_rates(customers=200, lost=30)
    lo, hi = wilson_interval([30, 170], [200, 200])
    assert_allclose(lo, expected["ci_low"], atol=1e-12)
    assert_allclose(hi, expected["ci_high"], atol=1e-12)
    lo, hi = wilson_interval([0], [0])
    assert math.isnan(lo[0])
    assert math.isnan(hi[0])


def test_auc_matches_scikit_learn_with_ties() -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, size=500)
    score = np.round(rng.normal(size=500) + 0.8 * y, 1)  # many ties
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert math.isnan(roc_auc([1, 1], [0.2, 0.3]))


# -- curve -------------------------------------------------------------------------------
def test_curve_shares_and_wilson_intervals(data: pd.DataFrame) -> None:
    r = loyalty_curve(data, drivers=["sat"], outcomes=["retained"])
    curve = r.curve.set_index("level")
    counts = data.groupby("sat")["retained"].agg(["size", "sum"])
    assert curve["n"].tolist() == counts["size"].tolist()
    assert_allclose(curve["share"], counts["sum"] / counts["size"], atol=1e-15)
    from statsmodels.stats.proportion import proportion_confint

    lo, hi = proportion_confint(counts["sum"], counts["size"], method="wilson")
    assert_allclose(curve["ci_low"], lo, atol=1e-12)
    assert_allclose(curve["ci_high"], hi, atol=1e-12)


def test_curve_zones_where_the_curve_bends() -> None:
    # Jones & Sasser's shape: steep at the bottom, flat in the middle, steep at the top
    shares = {1: 0.10, 2: 0.35, 3: 0.40, 4: 0.45, 5: 0.95}
    rows = []
    for level, share in shares.items():
        k = round(200 * share)
        rows += [(level, 1)] * k + [(level, 0)] * (200 - k)
    df = pd.DataFrame(rows, columns=["sat", "kept"])
    r = loyalty_curve(df, drivers=["sat"], outcomes=["kept"])
    assert r.curve["zone"].tolist() == [
        "defection",
        "defection",
        "indifference",
        "indifference",
        "affection",
    ]
    zones = r.zones.set_index("zone")
    assert zones.loc["indifference", "slope"] < zones.loc["defection", "slope"]
    assert zones.loc["indifference", "slope"] < zones.loc["affection", "slope"]
    assert zones["n"].sum() == len(df)


def test_curve_bins_fractional_gaps_and_skips_zones_with_few_levels() -> None:
    df = pd.DataFrame({"gap": [-1.4, -0.6, 0.3, 0.2, -0.4], "kept": [0, 1, 1, 1, 0]})
    r = loyalty_curve(df, drivers=["gap"], outcomes=["kept"], bin_width=1.0)
    assert r.curve["level"].tolist() == [-1.0, 0.0]  # round to the nearest whole point
    assert r.curve["n"].tolist() == [2, 3]
    assert r.zones.empty
    assert set(r.curve["zone"]) == {""}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"outcomes": ["sat"]}, DataError, "must hold 0 or 1"),
        ({"drivers": []}, SpecificationError, "at least one driver"),
        ({"bin_width": 0}, SpecificationError, "bin_width"),
    ],
)
def test_curve_bad_input(data: pd.DataFrame, kwargs, error, match) -> None:
    args = {"drivers": ["sat"], "outcomes": ["retained"]} | kwargs
    with pytest.raises(error, match=match):
        loyalty_curve(data, **args)


# -- churn model -------------------------------------------------------------------------
def test_churn_model_matches_statsmodels_logit(data: pd.DataFrame) -> None:
    r = churn_model(
        data,
        outcome="churned",
        predictors=["sat", "gap_rel", "gap_tan"],
        controls=["tenure", "segment"],
    )
    x = data[["sat", "gap_rel", "gap_tan", "tenure"]].astype(float)
    x["segment[individual]"] = (data["segment"] == "individual").astype(float)
    x["segment[vip]"] = (data["segment"] == "vip").astype(float)
    fit = sm.Logit(data["churned"], sm.add_constant(x)).fit(disp=0)
    assert list(r.coefficients.index) == ["const", *x.columns]
    assert_allclose(r.coefficients["coef"], fit.params, atol=1e-8)
    assert_allclose(r.coefficients["se"], fit.bse, atol=1e-8)
    assert_allclose(r.coefficients["odds_ratio"], np.exp(fit.params), rtol=1e-8)
    ci = np.exp(fit.conf_int())
    assert_allclose(r.coefficients["or_low"], ci[0], rtol=1e-8)
    assert_allclose(r.coefficients["or_high"], ci[1], rtol=1e-8)
    me = fit.get_margeff(at="overall", dummy=True)
    assert_allclose(r.marginal_effects["ame"], me.margeff, atol=1e-8)
    assert_allclose(r.marginal_effects["se"], me.margeff_se, atol=1e-8)
    assert r.auc == pytest.approx(roc_auc_score(data["churned"], fit.predict()), abs=1e-8)
    assert r.pseudo_r2 == pytest.approx(fit.prsquared, abs=1e-10)
    assert r.llr_p == pytest.approx(fit.llr_pvalue, abs=1e-12)
    # a higher satisfaction lowers churn; the AME of a dummy is a discrete change
    assert r.coefficients.loc["sat", "odds_ratio"] < 1
    assert r.n_used == len(data)
    assert r.n_dropped == 0
    assert r.events == int(data["churned"].sum())


def test_churn_cross_validated_auc_by_hand(data: pd.DataFrame) -> None:
    r = churn_model(data, outcome="churned", predictors=["sat"], folds=4, seed=3)
    # the same stratified folds, refitted by statsmodels and scored by scikit-learn
    y = data["churned"].to_numpy()
    rng = np.random.default_rng(3)
    fold = np.empty(y.size, dtype=int)
    for cls in (0, 1):
        idx = np.flatnonzero(y == cls)
        fold[rng.permutation(idx)] = np.arange(idx.size) % 4
    x = sm.add_constant(data[["sat"]].astype(float)).to_numpy()
    oof = np.empty(y.size)
    for f in range(4):
        test = fold == f
        oof[test] = sm.Logit(y[~test], x[~test]).fit(disp=0).predict(x[test])
    assert r.cv_auc == pytest.approx(roc_auc_score(y, oof), abs=1e-8)
    assert len(r.cv_auc_folds) == 4
    assert r.cv_auc <= r.auc + 0.02  # out of sample is no better than in sample


def test_churn_calibration_table_and_hosmer_lemeshow(data: pd.DataFrame) -> None:
    r = churn_model(data, outcome="churned", predictors=["sat", "gap_rel"])
    cal = r.calibration
    assert cal["n"].sum() == len(data)
    assert len(cal) == 10
    assert (cal["predicted"].diff().dropna() > 0).all()
    # the model is correctly specified: predicted and observed agree within the intervals
    inside = (cal["ci_low"] <= cal["predicted"]) & (cal["predicted"] <= cal["ci_high"])
    assert inside.sum() >= 8
    assert r.hosmer_lemeshow_df == 8
    assert r.hosmer_lemeshow_p > 0.01


def test_churn_model_uses_the_event_rows_listwise(data: pd.DataFrame) -> None:
    df = data.copy()
    df.loc[df.index[:10], "gap_rel"] = np.nan
    r = churn_model(df, outcome="churned", predictors=["sat", "gap_rel"])
    assert r.n_used == len(df) - 10
    assert r.n_dropped == 10


def test_no_churners_is_too_few_events(data: pd.DataFrame) -> None:
    df = data.assign(churned=0)
    with pytest.raises(TooFewEventsError, match="no customer churned"):
        churn_model(df, outcome="churned", predictors=["sat"])


def test_fewer_than_ten_events_per_variable() -> None:
    df = customers(400).assign(churned=0)
    df.loc[df.index[:29], "churned"] = 1  # 29 events for 3 predictors: 9.7 per predictor
    with pytest.raises(TooFewEventsError, match=r"29 churner\(s\).*9\.7 events per predictor"):
        churn_model(df, outcome="churned", predictors=["sat", "gap_rel", "gap_tan"])
    df.loc[df.index[29], "churned"] = 1
    churn_model(df, outcome="churned", predictors=["sat", "gap_rel", "gap_tan"])


def test_perfect_separation_is_named(data: pd.DataFrame) -> None:
    df = data.assign(churned=(data["sat"] <= 2).astype(int))
    with pytest.raises(PerfectSeparationError, match="separates churners from stayers"):
        churn_model(df, outcome="churned", predictors=["sat"])


def test_quasi_separation_by_a_segment_is_named(data: pd.DataFrame) -> None:
    df = data.copy()
    df.loc[df["segment"] == "vip", "churned"] = 0  # no vip ever churns
    with pytest.raises(PerfectSeparationError):
        churn_model(df, outcome="churned", predictors=["sat"], controls=["segment"])


def test_churn_simulated_truth_within_bootstrap_interval() -> None:
    """Recovery: the slope the data were generated with lies in the percentile bootstrap
    interval of the estimate (200 resamples)."""
    df = customers(2000, seed=11)
    r = churn_model(df, outcome="churned", predictors=["sat", "gap_rel"], controls=["tenure"])
    rng = np.random.default_rng(0)
    x = sm.add_constant(df[["sat", "gap_rel", "tenure"]].astype(float)).to_numpy()
    y = df["churned"].to_numpy()
    boot = []
    for _ in range(200):
        idx = rng.integers(0, len(df), size=len(df))
        boot.append(sm.Logit(y[idx], x[idx]).fit(disp=0, start_params=None).params)
    lo, hi = np.percentile(np.array(boot), [2.5, 97.5], axis=0)
    truth = np.array([1.0 + 0.6 * 3, -0.6, -0.4, -0.03])  # eta = 1 - 0.6 (sat - 3) ...
    est = r.coefficients["coef"].to_numpy()
    assert np.all((lo <= truth) & (truth <= hi)), (lo, truth, hi)
    assert np.all((lo <= est) & (est <= hi))


# -- value weighting ---------------------------------------------------------------------
def test_value_weighted_means_and_pyramid(data: pd.DataFrame) -> None:
    r = value_weighted(data, scores=["sat", "gap_rel"], value="revenue")
    v = data["revenue"]
    for s in ("sat", "gap_rel"):
        assert r.scores.loc[s, "weighted_mean"] == pytest.approx(np.average(data[s], weights=v))
        assert r.scores.loc[s, "mean"] == pytest.approx(data[s].mean())
    tiers = r.tiers[r.tiers["score"] == "sat"].set_index("tier")
    assert list(tiers.index) == ["top", "middle", "rest"]
    assert tiers["customers"].tolist() == [600, 900, 1500]
    top = data.nlargest(600, "revenue")
    assert tiers.loc["top", "mean"] == pytest.approx(top["sat"].mean())
    assert tiers.loc["top", "value_share"] == pytest.approx(top["revenue"].sum() / v.sum())
    # the difference of top and rest is Welch's test of scoring.inference
    rest = data.drop(data.nlargest(1500, "revenue").index)
    expected = inference.welch_test(top["sat"], rest["sat"])
    assert r.tests.loc["sat", "top_minus_last"] == pytest.approx(expected.estimate)
    assert r.tests.loc["sat", "p_top_last"] == pytest.approx(expected.p)
    assert r.tests.loc["sat", "p"] < 0.05  # satisfaction drives revenue here


def test_weighted_standard_error_against_statsmodels_wls(data: pd.DataFrame) -> None:
    # the linearised SE equals the HC1-type sandwich SE of a weighted mean by WLS
    r = value_weighted(data, scores=["sat"], value="revenue")
    fit = sm.WLS(data["sat"].astype(float), np.ones(len(data)), weights=data["revenue"]).fit(
        cov_type="HC1"
    )
    assert r.scores.loc["sat", "weighted_se"] == pytest.approx(float(fit.bse.iloc[0]), rel=1e-8)


def test_tiers_from_a_column_ordered_by_value(data: pd.DataFrame) -> None:
    df = data.assign(tier=np.where(data["revenue"] > data["revenue"].median(), "gold", "basic"))
    r = value_weighted(df, scores=["sat"], value="revenue", tier="tier")
    assert r.tiers["tier"].tolist() == ["gold", "basic"]
    assert r.tier_rule == "column"


def test_all_customers_in_one_tier_has_no_test(data: pd.DataFrame) -> None:
    df = data.assign(revenue=100.0)  # equal values share a tier: everyone is "top"
    r = value_weighted(df, scores=["sat"], value="revenue")
    assert r.tiers["customers"].tolist() == [len(df), 0, 0]
    assert math.isnan(r.tests.loc["sat", "p"])
    assert "no difference to test" in r.tests.loc["sat", "note"]
    assert r.scores.loc["sat", "weighted_mean"] == pytest.approx(df["sat"].mean())


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shares": (0.5, 0.2)}, SpecificationError, "sum to 1"),
        ({"value": "sat", "scores": ["tenure"]}, DataError, None),
    ],
)
def test_value_bad_input(data: pd.DataFrame, kwargs, error, match) -> None:
    df = data.copy()
    df.loc[df.index[5], "sat"] = -1  # a negative value when sat is the value column
    args = {"scores": ["sat"], "value": "revenue"} | kwargs
    with pytest.raises(error, match=match or "non-negative customer value.*row 5"):
        value_weighted(df, **args)


def test_results_are_json_safe(data: pd.DataFrame) -> None:
    import json

    for res in (
        loyalty_curve(data, drivers=["sat"], outcomes=["retained"]),
        churn_model(data, outcome="churned", predictors=["sat"]),
        value_weighted(data, scores=["sat"], value="revenue"),
    ):
        json.dumps(res.to_dict())
        assert not res.to_frame().empty
        assert not res.summary().empty


def test_insufficient_pairs_named() -> None:
    df = pd.DataFrame({"sat": [1.0, np.nan], "kept": [np.nan, 1.0]})
    with pytest.raises(InsufficientDataError, match="no customer has both"):
        loyalty_curve(df, drivers=["sat"], outcomes=["kept"])


def test_retained_column_as_the_event_zero(data: pd.DataFrame) -> None:
    a = churn_model(data, outcome="churned", predictors=["sat"])
    b = churn_model(data, outcome="retained", predictors=["sat"], event=0)
    assert_allclose(a.coefficients["coef"], b.coefficients["coef"], atol=1e-10)


def test_respondent_scores_weigh_dimensions_equally() -> None:
    from scoring.loyalty import respondent_scores

    df = pd.DataFrame({"a1": [5, 4, 1], "a2": [3, None, 1], "b1": [2, 2, None]})
    out = respondent_scores(df, dimensions={"a": ["a1", "a2"], "b": ["b1"]}, scale=(1, 5))
    assert out["a"].tolist() == [4.0, 4.0, 1.0]
    assert out["overall"].tolist() == [3.0, 3.0, 1.0]
    with pytest.raises(DataError, match="must hold answers in"):
        respondent_scores(df.assign(b1=9), dimensions={"b": ["b1"]}, scale=(1, 5))


def test_simulated_chain_churn_slope_within_bootstrap_interval() -> None:
    """Recovery through the simulator: the churn link `manyi simulate --outcomes` draws
    (logit p = a + b (overall - midpoint)) lies in the percentile bootstrap interval of
    churn_model's estimate."""
    import questionnaires as qn
    from questionnaires.simulate import simulate_chain

    sim = simulate_chain(
        qn.builtin("service_short"), qn.builtin("staff_satisfaction"), 3000, 100, seed=8
    )
    joined = join_outcomes(sim.customers.data, sim.outcomes, key="customer_id").data
    r = churn_model(joined, outcome="churned", predictors=["sat"])
    used = joined.dropna(subset=["sat"])
    x = sm.add_constant(used["sat"].astype(float)).to_numpy()
    y = used["churned"].to_numpy()
    rng = np.random.default_rng(1)
    boot = []
    for _ in range(200):
        idx = rng.integers(0, y.size, size=y.size)
        boot.append(sm.Logit(y[idx], x[idx]).fit(disp=0).params)
    lo, hi = np.percentile(np.array(boot), [2.5, 97.5], axis=0)
    t = sim.truth
    truth = np.array([t.churn_intercept - 3.0 * t.churn_slope, t.churn_slope])  # midpoint 3
    assert np.all((lo <= truth) & (truth <= hi)), (lo, truth, hi)
    assert_allclose(r.coefficients["coef"], sm.Logit(y, x).fit(disp=0).params, atol=1e-8)


def test_a_number_control_with_a_text_cell_is_refused(data: pd.DataFrame) -> None:
    df = data.assign(tenure=data["tenure"].astype(object))
    df.loc[7, "tenure"] = "n/a"
    with pytest.raises(DataError, match=r"column 'tenure' must be numeric; row 7 holds 'n/a'"):
        churn_model(df, outcome="churned", predictors=["sat"], controls=["tenure"])
    df.loc[7, "tenure"] = "12"  # numbers as text are numbers
    r = churn_model(df, outcome="churned", predictors=["sat"], controls=["tenure"])
    assert list(r.coefficients.index) == ["const", "sat", "tenure"]


def test_join_checks_outcome_columns_with_outcome_rows() -> None:
    responses = pd.DataFrame({"cid": ["a", "b"], "sat": [1, 2]}, index=[2, 3])
    outcomes = pd.DataFrame(
        {"cid": ["b", "a"], "kept": [1, 3], "revenue": [5.0, -1.0], "tier": ["x", None]},
        index=[2, 3],
    )
    names = ("r.csv", "o.csv")
    with pytest.raises(DataError, match="o.csv column 'kept' must hold 0 or 1.*row 3 holds 3"):
        join_outcomes(responses, outcomes, key="cid", names=names, binary=["kept"])
    with pytest.raises(DataError, match="o.csv column 'revenue' must not be negative.*row 3"):
        join_outcomes(responses, outcomes, key="cid", names=names, nonnegative=["revenue"])
    with pytest.raises(DataError, match="o.csv column 'tier' is empty in row 3"):
        join_outcomes(responses, outcomes, key="cid", names=names, required=["tier"])
