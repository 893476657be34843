"""scoring.chain: the multilevel model against statsmodels' published MixedLM example and
the service-profit chain across units against statsmodels / scipy on fixed data."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels
from numpy.testing import assert_allclose
from scipy import stats
from statsmodels.regression.mixed_linear_model import MixedLM

from scoring.chain import multilevel_model, service_profit_chain
from scoring.errors import ConvergenceWarning, DataError, InsufficientDataError

# The dietox data (Lauridsen, Højsgaard & Sørensen, 1999; distributed with the R package
# geepack, Halekoh, Højsgaard & Yan, 2006) ship with statsmodels' own test results. The
# statsmodels documentation's MixedLM example ("Linear Mixed Effects Models",
# statsmodels.org, examples/notebooks/mixed_lm_example) fits Weight ~ Time with a random
# intercept per Pig by REML and prints: Intercept 15.724 (SE 0.788), Time 6.943 (SE
# 0.033), Group Var 40.394, Scale 11.3669, log-likelihood -2404.7753; lme4's
# lmer(Weight ~ Time + (1 | Pig), dietox) gives the same estimates.
DIETOX = Path(statsmodels.__file__).parent / "regression" / "tests" / "results" / "dietox.csv"
PUBLISHED = {"const": (15.724, 0.788), "Time": (6.943, 0.033)}


def test_multilevel_model_reproduces_the_published_dietox_fit() -> None:
    data = pd.read_csv(DIETOX)
    r = multilevel_model(data, outcome="Weight", predictors=["Time"], group="Pig")
    for term, (coef, se) in PUBLISHED.items():
        assert r.fixed_effects.loc[term, "coef"] == pytest.approx(coef, abs=5e-4)  # 3 dp
        assert r.fixed_effects.loc[term, "se"] == pytest.approx(se, abs=5e-4)
    assert r.group_variance == pytest.approx(40.394, abs=5e-4)
    assert r.residual_variance == pytest.approx(11.3669, abs=5e-5)
    assert r.log_likelihood == pytest.approx(-2404.7753, abs=5e-5)
    assert r.n_groups == 72
    assert r.n_used == 861
    assert r.icc == pytest.approx(40.394 / (40.394 + 11.3669), abs=1e-5)
    assert r.converged


def units_data(n_units: int = 12, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = [f"b{u:02d}" for u in range(n_units)]
    staff_level = rng.normal(5.0, 0.6, n_units)
    staff = pd.DataFrame(
        {
            "branch": np.repeat(names, 15),
            "job_sat": np.repeat(staff_level, 15) + rng.normal(0, 1.0, 15 * n_units),
            "stay": np.repeat(staff_level, 15) + rng.normal(0, 1.2, 15 * n_units),
        }
    )
    per = 80
    cust_level = 2.0 + 0.5 * staff_level + rng.normal(0, 0.2, n_units)
    sat = np.repeat(cust_level, per) + rng.normal(0, 1.0, per * n_units)
    kept = (rng.random(per * n_units) < 1 / (1 + np.exp(-(sat - 3.5)))).astype(int)
    customers = pd.DataFrame({"branch": np.repeat(names, per), "sat": sat, "retained": kept})
    return customers, staff


def test_chain_matches_statsmodels_and_scipy() -> None:
    customers, staff = units_data()
    r = service_profit_chain(
        customers,
        staff,
        unit="branch",
        customer_score="sat",
        staff_score="job_sat",
        intent_to_stay="stay",
        retention="retained",
    )
    staff_means = staff.groupby("branch")["job_sat"].mean()
    cust_means = customers.groupby("branch")["sat"].mean()
    kept = customers.groupby("branch")["retained"].mean()
    assert_allclose(r.units["staff_satisfaction"], staff_means, atol=1e-12)
    assert_allclose(r.units["customer_satisfaction"], cust_means, atol=1e-12)
    assert_allclose(r.units["retention"], kept, atol=1e-12)
    assert r.units["customer_n"].tolist() == [80] * 12
    # unit-level association: Pearson over the 12 unit means, Fisher-z interval
    row = r.associations.set_index(["x", "y"]).loc[("staff_satisfaction", "customer_satisfaction")]
    expected = stats.pearsonr(staff_means, cust_means)
    ci = expected.confidence_interval(0.95)
    assert row["r"] == pytest.approx(expected.statistic, abs=1e-12)
    z = np.arctanh(expected.statistic)
    assert row["ci_low"] == pytest.approx(math.tanh(z - 1.959963984540054 / 3), abs=1e-8)
    assert row["ci_high"] == pytest.approx(ci.high, abs=1e-12)
    assert row["units"] == 12
    # the multilevel model is statsmodels' MixedLM on the customers with the unit's mean
    design = np.column_stack(
        [np.ones(len(customers)), customers["branch"].map(staff_means).to_numpy()]
    )
    fit = MixedLM(customers["sat"].to_numpy(), design, groups=customers["branch"]).fit(reml=True)
    assert_allclose(r.model.fixed_effects["coef"], fit.fe_params, atol=1e-8)
    assert_allclose(r.model.fixed_effects["se"], fit.bse_fe, atol=1e-8)
    assert r.model.group_variance == pytest.approx(float(np.asarray(fit.cov_re)[0, 0]), abs=1e-8)
    null = MixedLM(customers["sat"].to_numpy(), np.ones((len(customers), 1)),
                   groups=customers["branch"]).fit(reml=True)  # fmt: skip
    tau2, s2 = float(np.asarray(null.cov_re)[0, 0]), float(null.scale)
    assert r.between_unit_share == pytest.approx(tau2 / (tau2 + s2), abs=1e-8)
    assert 0 < r.explained_by_staff <= 1  # staff satisfaction explains unit differences
    assert r.model.fixed_effects.loc["staff_satisfaction", "ci_low"] < 0.5
    assert r.model.fixed_effects.loc["staff_satisfaction", "ci_high"] > 0.5


def test_units_on_one_side_are_reported_not_modelled() -> None:
    customers, staff = units_data()
    staff = staff[staff["branch"] != "b00"]
    customers = pd.concat([customers, pd.DataFrame({"branch": ["zz"], "sat": [4.0]})])
    r = service_profit_chain(
        customers, staff, unit="branch", customer_score="sat", staff_score="job_sat"
    )
    assert r.units_without_staff == ("b00", "zz")
    assert r.units_without_customers == ()
    assert math.isnan(r.units.loc["b00", "staff_satisfaction"])
    assert r.model.n_groups == 11
    assert r.associations["units"].tolist() == [11]


def test_one_unit_is_refused() -> None:
    customers, staff = units_data()
    customers = customers.assign(branch="b00")
    staff = staff.assign(branch="b00")
    with pytest.raises(InsufficientDataError, match=r"at least 3 units .*got 1 \(\['b00'\]\)"):
        service_profit_chain(
            customers, staff, unit="branch", customer_score="sat", staff_score="job_sat"
        )


def test_multilevel_model_needs_two_groups_and_warns_on_the_boundary() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.normal(size=60), "g": ["a"] * 60})
    with pytest.raises(InsufficientDataError, match="at least 2 groups"):
        multilevel_model(df, outcome="y", predictors=[], group="g")
    df["g"] = np.repeat(list("abcdef"), 10)
    df["y"] -= df.groupby("g")["y"].transform("mean")  # no between-group variance at all
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = multilevel_model(df, outcome="y", predictors=[], group="g")
    assert all(issubclass(w.category, ConvergenceWarning) for w in caught)
    assert r.icc < 0.05


def test_chain_bad_input() -> None:
    customers, staff = units_data()
    customers.loc[3, "branch"] = None
    with pytest.raises(DataError, match="customers column 'branch' is empty in row 3"):
        service_profit_chain(
            customers, staff, unit="branch", customer_score="sat", staff_score="job_sat"
        )
    customers, staff = units_data()
    customers.loc[0, "retained"] = 2
    with pytest.raises(DataError, match="must hold 0 or 1"):
        service_profit_chain(
            customers,
            staff,
            unit="branch",
            customer_score="sat",
            staff_score="job_sat",
            retention="retained",
        )


def test_chain_result_is_json_safe() -> None:
    import json

    customers, staff = units_data()
    r = service_profit_chain(
        customers, staff, unit="branch", customer_score="sat", staff_score="job_sat"
    )
    doc = r.to_dict()
    json.dumps(doc)
    assert doc["model"]["fixed_effects"]["index"] == ["const", "staff_satisfaction"]
    assert list(r.to_frame().index) == sorted(customers["branch"].unique())
