"""Driver analysis: OLS with HC3, relative importance, ordered logit/probit, IPA."""

from __future__ import annotations

from itertools import permutations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from scoring.drivers import (
    driver_analysis,
    importance_performance,
    ordinal_drivers,
    relative_weights,
    shapley_importance,
)
from scoring.errors import (
    DataError,
    InsufficientDataError,
    SingularMatrixError,
    SpecificationError,
)

DIMS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
}
APPLY = ["unlikely", "somewhat likely", "very likely"]


@pytest.fixture(scope="module")
def satisfaction(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "pls" / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def ucla(reference_dir: Path) -> pd.DataFrame:
    return pd.read_csv(reference_dir / "ordinal" / "ologit_ucla.csv")


@pytest.fixture(scope="module")
def drivers(satisfaction):
    return driver_analysis(satisfaction, outcome="sat1", drivers=DIMS, scale=(0, 10))


# ----------------------------------------------------------------------------- ordinal
def test_ordered_logit_matches_reference(ucla):
    """UCLA's ordered-logit example (reference README, R polr): 7 dp estimates,
    5 dp standard errors and log-likelihood."""
    res = ordinal_drivers(ucla, outcome="apply", drivers=["pared", "public", "gpa"], order=APPLY)
    coef = res.coefficients
    assert_allclose(coef["estimate"], [1.0476637, -0.0586828, 0.6157458], atol=1e-6)
    assert_allclose(coef["std_error"], [0.26579, 0.29786, 0.26063], atol=5e-6)
    assert_allclose(res.thresholds["estimate"], [2.2033232, 4.2987674], atol=1e-6)
    assert res.log_likelihood == pytest.approx(-358.51244, abs=5e-6)
    assert list(res.thresholds.index) == ["unlikely|somewhat likely", "somewhat likely|very likely"]
    assert_allclose(coef["odds_ratio"], np.exp(coef["estimate"]))
    assert res.converged
    assert res.categories == APPLY


def test_threshold_standard_errors_by_delta_method(ucla):
    """Refit in the cut-point parametrisation with a numerical Hessian: same SEs."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel
    from statsmodels.tools.numdiff import approx_hess

    res = ordinal_drivers(ucla, outcome="apply", drivers=["pared", "public", "gpa"], order=APPLY)
    y = pd.Series(pd.Categorical(ucla["apply"], categories=APPLY, ordered=True))
    model = OrderedModel(y, ucla[["pared", "public", "gpa"]], distr="logit")

    def loglike(theta_params):
        beta, t1, t2 = theta_params[:3], theta_params[3], theta_params[4]
        return model.loglike(np.r_[beta, t1, np.log(t2 - t1)])

    point = np.r_[res.coefficients["estimate"], res.thresholds["estimate"]]
    cov = np.linalg.inv(-approx_hess(point, loglike))
    assert_allclose(res.thresholds["std_error"], np.sqrt(np.diag(cov))[3:], rtol=1e-4)


def test_ordered_probit_recovers_simulated_coefficients():
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=(n, 2))
    latent = x @ [0.8, -0.4] + rng.normal(size=n)
    y = np.digitize(latent, [-1.0, 0.0, 1.2])  # four categories 0..3
    data = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "sat": y})
    res = ordinal_drivers(data, outcome="sat", drivers=["a", "b"], link="probit")
    coef = res.coefficients
    assert (np.abs(coef["estimate"] - [0.8, -0.4]) < 3 * coef["std_error"]).all()
    thr = res.thresholds
    assert (np.abs(thr["estimate"] - [-1.0, 0.0, 1.2]) < 3 * thr["std_error"]).all()
    assert coef["odds_ratio"].isna().all()
    assert 0 < res.pseudo_r_squared < 1


# ----------------------------------------------------------------------------- OLS
def test_hc3_standard_errors_follow_the_sandwich_formula(drivers, satisfaction):
    X = np.column_stack(
        [np.ones(len(satisfaction))] + [satisfaction[c].mean(axis=1) for c in DIMS.values()]
    )
    y = satisfaction["sat1"].to_numpy(float)
    bread = np.linalg.inv(X.T @ X)
    beta = bread @ X.T @ y
    e = y - X @ beta
    h = np.einsum("ij,jk,ik->i", X, bread, X)
    meat = X.T @ (X * (e**2 / (1 - h) ** 2)[:, None])
    se = np.sqrt(np.diag(bread @ meat @ bread))
    assert_allclose(drivers.coefficients["estimate"], beta, rtol=1e-10)
    assert_allclose(drivers.coefficients["std_error"], se, rtol=1e-10)
    assert drivers.cov_type == "HC3"


def test_standardized_betas_are_ols_on_z_scores(drivers, satisfaction):
    scores = drivers.driver_scores
    zx = ((scores - scores.mean()) / scores.std()).to_numpy()
    y = satisfaction["sat1"].astype(float)
    zy = ((y - y.mean()) / y.std()).to_numpy()
    beta = np.linalg.lstsq(zx, zy, rcond=None)[0]
    assert_allclose(drivers.importance["std_beta"], beta, rtol=1e-10)


def test_relative_importance_decomposes_r_squared(drivers):
    imp = drivers.importance
    assert imp["relative_weight"].sum() == pytest.approx(drivers.r_squared, rel=1e-10)
    assert imp["shapley"].sum() == pytest.approx(drivers.r_squared, rel=1e-10)
    assert imp["relative_weight_share"].sum() == pytest.approx(100)
    assert imp["rank"].to_dict() == {"VAL": 1, "IMAG": 2, "QUAL": 3, "EXPE": 4}
    assert_allclose(imp["performance"], 10 * drivers.driver_scores.mean())


def test_shapley_equals_average_over_orders_of_entry(satisfaction):
    cols = ["imag1", "expe1", "qual1", "val1"]
    data = satisfaction[["sat1", *cols]].astype(float)

    def r2(subset):
        if not subset:
            return 0.0
        X = np.column_stack([np.ones(len(data)), data[list(subset)]])
        resid = data["sat1"] - X @ np.linalg.lstsq(X, data["sat1"], rcond=None)[0]
        return 1 - resid.var() / data["sat1"].var()

    gains = dict.fromkeys(cols, 0.0)
    orders = list(permutations(cols))
    for order in orders:
        for i, c in enumerate(order):
            gains[c] += (r2(order[: i + 1]) - r2(order[:i])) / len(orders)
    got = shapley_importance(data.corr(), "sat1")
    assert_allclose(got[cols], [gains[c] for c in cols], atol=1e-12)


def test_relative_weights_special_cases():
    # orthogonal predictors: each weight is the squared correlation
    c = pd.DataFrame(
        [[1, 0.4, 0.3], [0.4, 1, 0], [0.3, 0, 1]], index=list("yab"), columns=list("yab")
    )
    assert_allclose(relative_weights(c, "y"), [0.16, 0.09])
    # two predictors: relative weights coincide with the Shapley values
    c.loc["a", "b"] = c.loc["b", "a"] = 0.5
    assert_allclose(relative_weights(c, "y"), shapley_importance(c, "y"), atol=1e-12)


# ----------------------------------------------------------------------------- IPA
def test_importance_performance_quadrants_and_order():
    t = importance_performance(
        {"a": 0.6, "b": 0.1, "c": 0.5, "d": 0.2}, {"a": 40, "b": 30, "c": 90, "d": 95}
    )
    assert t.loc["a", "quadrant"] == "concentrate here"
    assert t.loc["b", "quadrant"] == "low priority"
    assert t.loc["c", "quadrant"] == "keep up the good work"
    assert t.loc["d", "quadrant"] == "possible overkill"
    assert list(t.index) == ["a", "b", "c", "d"]  # potential 0.36, 0.07, 0.05, 0.01
    assert_allclose(t["potential"], [0.36, 0.07, 0.05, 0.01])
    with pytest.raises(SpecificationError, match="same, non-empty set of drivers"):
        importance_performance({"a": 1}, {"b": 50})
    with pytest.raises(ValueError, match="importance_cut must be one of"):
        importance_performance({"a": 1}, {"a": 50}, importance_cut="mode")


def test_driver_ipa_uses_relative_weight_shares(drivers):
    ipa = drivers.importance_performance
    assert_allclose(ipa["importance"], drivers.importance.loc[ipa.index, "relative_weight_share"])
    assert ipa.index[0] == "VAL"
    assert list(ipa["priority"]) == [1, 2, 3, 4]


# ----------------------------------------------------------------------------- properties
FIXTURE_OK = [HealthCheck.function_scoped_fixture]


@settings(max_examples=15, deadline=None, suppress_health_check=FIXTURE_OK)
@given(
    col=st.sampled_from(["imag1", "expe2", "qual3", "val4"]),
    factor=st.floats(0.1, 20),
    shift=st.floats(-50, 50),
    seed=st.integers(0, 2**32 - 1),
)
def test_importance_invariant_to_rescaling_and_row_order(satisfaction, col, factor, shift, seed):
    cols = ["imag1", "expe2", "qual3", "val4"]
    base = driver_analysis(satisfaction, outcome="sat2", drivers=cols)
    perm = np.random.default_rng(seed).permutation(len(satisfaction))
    moved = satisfaction.assign(**{col: satisfaction[col] * factor + shift}).iloc[perm]
    res = driver_analysis(moved, outcome="sat2", drivers=cols)
    for name in ("std_beta", "relative_weight", "shapley"):
        assert_allclose(res.importance[name], base.importance[name], atol=1e-9)
    assert_allclose(res.coefficients.loc[cols, "t"], base.coefficients.loc[cols, "t"], rtol=1e-7)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"drivers": ["sat1", "imag1"]}, SpecificationError, "outcome 'sat1' is also"),
        ({"drivers": {"IMAG": []}}, SpecificationError, r"drivers\['IMAG'\] has no items"),
        ({"drivers": []}, SpecificationError, "at least one column"),
        ({"drivers": ["imag1", "nope"]}, DataError, r"missing column\(s\) \['nope'\]"),
        ({"cov_type": "HC9"}, ValueError, "cov_type must be one of"),
        ({"scale": (5, 5)}, ValueError, "max > min"),
    ],
)
def test_driver_bad_input(satisfaction, kwargs, error, match):
    args = {"outcome": "sat1", "drivers": ["imag1", "expe1"]} | kwargs
    with pytest.raises(error, match=match):
        driver_analysis(satisfaction, **args)


def test_driver_degenerate_data(satisfaction):
    with pytest.raises(DataError, match="'imag1' is constant"):
        driver_analysis(satisfaction.assign(imag1=5), outcome="sat1", drivers=["imag1", "expe1"])
    twin = satisfaction.assign(twin=satisfaction["imag1"] * 2 + 1)
    with pytest.raises(SingularMatrixError, match="perfectly collinear"):
        driver_analysis(twin, outcome="sat1", drivers=["imag1", "twin"])
    with pytest.raises(InsufficientDataError, match="needs at least 4 usable row"):
        driver_analysis(satisfaction.head(3), outcome="sat1", drivers=["imag1", "expe1"])


def test_ordinal_bad_input(ucla):
    args = {"outcome": "apply", "drivers": ["pared", "gpa"]}
    with pytest.raises(DataError, match="text without an order; pass order="):
        ordinal_drivers(ucla, **args)
    with pytest.raises(DataError, match=r"value\(s\) \['very likely'\] that are not in order"):
        ordinal_drivers(ucla, **args, order=APPLY[:2])
    with pytest.raises(DataError, match=r"categories \['never'\] are never observed"):
        ordinal_drivers(ucla, **args, order=[*APPLY, "never"])
    with pytest.raises(ValueError, match="link must be one of"):
        ordinal_drivers(ucla, **args, order=APPLY, link="cloglog")
    with pytest.raises(DataError, match="driver 'pared' is constant"):
        ordinal_drivers(ucla.assign(pared=1), **args, order=APPLY)


def _tiny(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(8)
    x = rng.integers(1, 8, size=(n, 3)).astype(float)
    return pd.DataFrame(x, columns=["overall", "price", "staff"])


@pytest.mark.parametrize("n", [2, 3])
def test_drivers_refuse_too_few_rows(n):
    with pytest.raises(InsufficientDataError, match=r"2 driver\(s\) needs at least 4 usable"):
        driver_analysis(
            _tiny(n).assign(overall=[1.0, 2.0, 3.0][:n]),
            outcome="overall",
            drivers=["price", "staff"],
        )


def test_drivers_refuse_one_row_and_a_constant_driver():
    with pytest.raises(DataError, match="constant"):
        driver_analysis(_tiny(1), outcome="overall", drivers=["price", "staff"])
    with pytest.raises(DataError, match="'staff' is constant"):
        driver_analysis(_tiny(30).assign(staff=4.0), outcome="overall", drivers=["price", "staff"])


@pytest.mark.parametrize(("value", "shown"), [(99, "99"), (4.5, "4.5")])
def test_drivers_check_item_answers_not_dimension_means(value, shown):
    df = _tiny(30).assign(staff2=lambda d: d["staff"].iloc[::-1].to_numpy())
    grouped = {"price": ["price"], "service": ["staff", "staff2"]}
    # dimension means such as 4.5 are fine: the scale applies to the answers
    driver_analysis(df, outcome="overall", drivers=grouped, scale=(1, 7))
    df.loc[5, "staff2"] = value
    with pytest.raises(
        DataError,
        match=rf"'staff2' must hold answers in \[1, 7\]; row 5 holds "
        rf"{shown}",
    ):
        driver_analysis(df, outcome="overall", drivers=grouped, scale=(1, 7))
