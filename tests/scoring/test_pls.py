"""PLS path modelling: R plspm reference results, recovery, properties, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from scoring.errors import (
    ConvergenceWarning,
    DataError,
    InsufficientDataError,
    SpecificationError,
)
from scoring.pls import fit_pls

# The ECSI-style model of the reference README (plspm's satisfaction example).
BLOCKS = {
    "IMAG": [f"imag{i}" for i in range(1, 6)],
    "EXPE": [f"expe{i}" for i in range(1, 6)],
    "QUAL": [f"qual{i}" for i in range(1, 6)],
    "VAL": [f"val{i}" for i in range(1, 5)],
    "SAT": [f"sat{i}" for i in range(1, 5)],
    "LOY": [f"loy{i}" for i in range(1, 5)],
}
PATHS = [
    ("IMAG", "EXPE"),
    ("IMAG", "SAT"),
    ("IMAG", "LOY"),
    ("EXPE", "QUAL"),
    ("EXPE", "VAL"),
    ("EXPE", "SAT"),
    ("QUAL", "VAL"),
    ("QUAL", "SAT"),
    ("VAL", "SAT"),
    ("SAT", "LOY"),
]
TOL = 1e-6  # the reference files carry R's full double precision
OUTER = ["weight", "loading", "communality", "redundancy"]


@pytest.fixture(scope="module")
def pls_dir(reference_dir: Path) -> Path:
    return reference_dir / "pls"


@pytest.fixture(scope="module")
def satisfaction(pls_dir: Path) -> pd.DataFrame:
    return pd.read_csv(pls_dir / "satisfaction.csv", index_col=0)


@pytest.fixture(scope="module")
def centroid(satisfaction: pd.DataFrame):
    return fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scheme="centroid", scaled=False)


def _ref(pls_dir: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(pls_dir / name, index_col=0)


# ----------------------------------------------------------------------------- reference
@pytest.mark.parametrize(
    ("scheme", "filename"),
    [
        ("centroid", "expected-outer-model.csv"),
        ("factorial", "expected-outer-model-factorial.csv"),
        ("path", "expected-outer-model-path.csv"),
    ],
)
def test_outer_model_matches_plspm(satisfaction, pls_dir, scheme, filename):
    res = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scheme=scheme, scaled=False)
    expected = _ref(pls_dir, filename)
    assert list(res.outer_model.index) == list(expected.index)
    assert list(res.outer_model["block"]) == list(expected["block"])
    assert_allclose(res.outer_model[OUTER], expected[OUTER], atol=TOL)
    assert res.converged


def test_inner_model_matches_plspm(centroid, pls_dir):
    expected = _ref(pls_dir, "expected-inner-model.csv")
    sat = centroid.paths[centroid.paths["to"] == "SAT"].set_index("from")
    sat = sat.loc[expected.index]
    assert_allclose(
        sat[["estimate", "std_error", "t", "p_value"]].to_numpy(), expected.to_numpy(), atol=TOL
    )


def test_inner_summary_matches_plspm(centroid, pls_dir):
    expected = _ref(pls_dir, "expected-inner-summary.csv")
    got = centroid.inner_summary.loc[expected.index]
    assert list(got["type"]) == list(expected["type"])
    cols = ["r_squared", "block_communality", "mean_redundancy", "ave"]
    assert_allclose(got[cols].to_numpy(), expected[cols].to_numpy(), atol=TOL)


def test_effects_match_plspm(centroid, pls_dir):
    expected = _ref(pls_dir, "expected-effects.csv")
    assert list(centroid.effects.index) == list(expected.index)
    cols = ["direct", "indirect", "total"]
    assert_allclose(centroid.effects[cols], expected[cols], atol=TOL)


def test_unidimensionality_matches_plspm(centroid, pls_dir):
    expected = _ref(pls_dir, "expected-unidim.csv")
    cols = ["cronbach_alpha", "dillon_goldstein_rho", "eig_1st", "eig_2nd"]
    assert_allclose(centroid.unidim.loc[expected.index, cols], expected[cols], atol=TOL)
    assert list(centroid.unidim["mvs"]) == list(expected["mvs"])


def test_scores_match_plspm(centroid, pls_dir):
    expected = pd.read_csv(pls_dir / "expected-scores.csv")
    assert_allclose(centroid.scores[list(expected.columns)], expected, atol=TOL)


def test_crossloadings_match_plspm(centroid, pls_dir):
    expected = _ref(pls_dir, "expected-crossloadings.csv")
    assert list(centroid.crossloadings["block"]) == list(expected["block"])
    assert_allclose(centroid.crossloadings[list(BLOCKS)], expected[list(BLOCKS)], atol=TOL)


def test_gof_matches_plspm(centroid):
    assert centroid.gof == pytest.approx(0.609741624338411, abs=TOL)  # reference README


def test_mode_b_matches_plspm(satisfaction, pls_dir):
    res = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, modes="B", scaled=False)
    expected = _ref(pls_dir, "expected-modeb.inner-summary.csv")
    got = res.inner_summary.loc[expected.index]
    assert_allclose(got["r_squared"], expected["r_squared"], atol=TOL)
    assert_allclose(got["block_communality"], expected["block_communality"], atol=TOL)
    assert_allclose(got["mean_redundancy"], expected["mean_Redundancy"], atol=TOL)
    assert got["ave"].isna().all()  # AVE is undefined for formative blocks (NA in plspm)


def test_scaled_fit_equals_unscaled_fit_of_standardized_items(satisfaction, centroid):
    items = [c for cols in BLOCKS.values() for c in cols]
    z = satisfaction[items]
    z = (z - z.mean()) / z.std(ddof=0)
    scaled = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scaled=True)
    by_hand = fit_pls(z, blocks=BLOCKS, paths=PATHS, scaled=False)
    assert_allclose(scaled.outer_model[OUTER], by_hand.outer_model[OUTER], atol=1e-12)
    assert_allclose(scaled.paths["estimate"], by_hand.paths["estimate"], atol=1e-12)
    # standardizing changes the weights and hence the paths a little, not a lot
    assert_allclose(scaled.paths["estimate"], centroid.paths["estimate"], atol=0.05)
    assert not np.allclose(scaled.paths["estimate"], centroid.paths["estimate"], atol=1e-6)


def test_validity_tables(centroid):
    ave = centroid.inner_summary["ave"]
    fl = centroid.fornell_larcker
    assert_allclose(np.diag(fl), np.sqrt(ave))
    lv = centroid.latent_correlations
    assert_allclose(fl.loc["SAT", "VAL"], lv.loc["SAT", "VAL"])
    assert_allclose(centroid.scores.corr(), lv, atol=1e-12)
    r2 = centroid.inner_summary.loc["SAT", "r_squared"]
    n, k = centroid.n_obs, 4
    adj = 1 - (1 - r2) * (n - 1) / (n - k - 1)
    assert centroid.inner_summary.loc["SAT", "adj_r_squared"] == pytest.approx(adj)
    assert centroid.htmt.loc["EXPE", "QUAL"] > centroid.htmt.loc["EXPE", "LOY"]
    assert np.isnan(centroid.htmt.loc["SAT", "SAT"])


def test_htmt_follows_its_definition(satisfaction, centroid):
    r = satisfaction[BLOCKS["SAT"] + BLOCKS["VAL"]].corr()
    hetero = r.loc[BLOCKS["SAT"], BLOCKS["VAL"]].to_numpy().mean()

    def mono(cols):
        m = r.loc[cols, cols].to_numpy()
        return m[np.triu_indices(len(cols), 1)].mean()

    expected = hetero / np.sqrt(mono(BLOCKS["SAT"]) * mono(BLOCKS["VAL"]))
    assert centroid.htmt.loc["SAT", "VAL"] == pytest.approx(expected, rel=1e-12)


def test_results_serialise(centroid):
    import json

    d = centroid.to_dict()
    json.dumps(d)
    assert d["type"] == "PlsResult"
    assert list(centroid.summary().columns[:4]) == ["name", "from", "to", "estimate"]


# ----------------------------------------------------------------------------- recovery
TRUE_PATHS = {"X -> M": 0.6, "X -> Y": 0.3, "M -> Y": 0.5}


def _simulate(n: int, seed: int, loading: float = 0.95, k: int = 5) -> pd.DataFrame:
    """Items from a known recursive model with unit-variance latents."""
    rng = np.random.default_rng(seed)
    xi = rng.normal(size=n)
    m = 0.6 * xi + np.sqrt(1 - 0.6**2) * rng.normal(size=n)
    var_y = 0.3**2 + 0.5**2 + 2 * 0.3 * 0.5 * 0.6
    y = 0.3 * xi + 0.5 * m + np.sqrt(1 - var_y) * rng.normal(size=n)
    noise = np.sqrt(1 - loading**2)
    cols = {
        f"{name}{i}": loading * lv + noise * rng.normal(size=n)
        for name, lv in (("x", xi), ("m", m), ("y", y))
        for i in range(k)
    }
    return pd.DataFrame(cols)


SIM_BLOCKS = {"X": [f"x{i}" for i in range(5)], "M": [f"m{i}" for i in range(5)]} | {
    "Y": [f"y{i}" for i in range(5)]
}
SIM_PATHS = [("X", "M"), ("X", "Y"), ("M", "Y")]


@pytest.mark.parametrize("scheme", ["centroid", "factorial", "path"])
def test_recovers_known_paths(scheme):
    res = fit_pls(_simulate(2000, seed=11), blocks=SIM_BLOCKS, paths=SIM_PATHS, scheme=scheme)
    true = pd.Series(TRUE_PATHS)[res.paths.index]
    # within three standard errors (PLS's small attenuation bias at loading 0.95 is < 1 SE)
    assert (np.abs(res.paths["estimate"] - true) < 3 * res.paths["std_error"]).all()
    assert res.effects.loc["X -> Y", "total"] == pytest.approx(0.3 + 0.6 * 0.5, abs=0.06)
    assert (res.outer_model["loading"] > 0.9).all()


def test_bootstrap_recovers_and_is_reproducible():
    data = _simulate(400, seed=3)
    a = fit_pls(data, blocks=SIM_BLOCKS, paths=SIM_PATHS, bootstrap=300, seed=7)
    b = fit_pls(data, blocks=SIM_BLOCKS, paths=SIM_PATHS, bootstrap=300, seed=7)
    c = fit_pls(data, blocks=SIM_BLOCKS, paths=SIM_PATHS, bootstrap=300, seed=8)
    assert a.bootstrap is not None
    assert b.bootstrap is not None
    assert c.bootstrap is not None
    pd.testing.assert_frame_equal(a.bootstrap.paths, b.bootstrap.paths)
    assert not a.bootstrap.paths["lower"].equals(c.bootstrap.paths["lower"])
    boot = a.bootstrap.paths
    assert ((boot["lower"] < pd.Series(TRUE_PATHS)) & (pd.Series(TRUE_PATHS) < boot["upper"])).all()
    # bootstrap SEs agree with the OLS SEs of the scores to within sampling noise
    assert_allclose(boot["std_error"], a.paths["std_error"], rtol=0.35)
    assert a.bootstrap.n_resamples == 300
    assert set(a.bootstrap.replicates) >= {"weights", "paths", "item_means", "item_sds"}
    assert a.bootstrap.replicates["item_means"].shape == (300, 15)


def test_bootstrap_resamples_match_a_direct_refit(satisfaction):
    """The vectorised bootstrap equals fitting each resampled data set on its own."""
    res = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scaled=False, bootstrap=3, seed=5)
    rng = np.random.default_rng(5)
    idx = rng.integers(0, len(satisfaction), size=(3, len(satisfaction)))
    assert res.bootstrap is not None
    for r in range(3):
        refit = fit_pls(satisfaction.iloc[idx[r]], blocks=BLOCKS, paths=PATHS, scaled=False)
        assert_allclose(
            res.bootstrap.replicates["paths"].iloc[r], refit.paths["estimate"], atol=1e-10
        )
        weights = res.bootstrap.replicates["weights"].iloc[r]
        assert_allclose(weights, refit.outer_model["weight"], atol=1e-10)


def test_bca_interval(satisfaction):
    pct = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, bootstrap=400, seed=2)
    bca = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, bootstrap=400, seed=2, interval="bca")
    assert pct.bootstrap is not None
    assert bca.bootstrap is not None
    assert bca.bootstrap.jackknife is not None
    assert bca.bootstrap.jackknife["paths"].shape == (250, len(PATHS))
    b, p = bca.bootstrap.paths, pct.bootstrap.paths
    assert_allclose(b["std_error"], p["std_error"])
    assert (b["lower"] < b["original"]).all()
    assert (b["original"] < b["upper"]).all()
    assert not np.allclose(b["lower"], p["lower"])
    assert_allclose(b["lower"], p["lower"], atol=0.05)


def test_convergence_warning(satisfaction):
    with pytest.warns(ConvergenceWarning, match="did not converge in max_iter=2"):
        res = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, max_iter=2)
    assert not res.converged
    assert res.n_iter == 2


# ----------------------------------------------------------------------------- properties
FIXTURE_OK = [HealthCheck.function_scoped_fixture]  # module-scoped data, read-only


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    item=st.sampled_from([c for cols in BLOCKS.values() for c in cols]),
    factor=st.floats(0.05, 50),
    shift=st.floats(-100, 100),
)
def test_paths_invariant_to_positive_rescaling_of_an_item(satisfaction, item, factor, shift):
    base = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS)
    moved = satisfaction.assign(**{item: satisfaction[item] * factor + shift})
    res = fit_pls(moved, blocks=BLOCKS, paths=PATHS)
    assert_allclose(res.paths["estimate"], base.paths["estimate"], atol=1e-9)
    assert_allclose(res.outer_model["loading"], base.outer_model["loading"], atol=1e-9)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 2**32 - 1), scheme=st.sampled_from(["centroid", "factorial", "path"]))
def test_row_permutation_changes_nothing(satisfaction, seed, scheme):
    perm = np.random.default_rng(seed).permutation(len(satisfaction))
    base = fit_pls(satisfaction, blocks=BLOCKS, paths=PATHS, scheme=scheme, scaled=False)
    res = fit_pls(satisfaction.iloc[perm], blocks=BLOCKS, paths=PATHS, scheme=scheme, scaled=False)
    assert_allclose(res.outer_model[OUTER], base.outer_model[OUTER], atol=1e-10)
    assert_allclose(
        res.paths[["estimate", "std_error"]], base.paths[["estimate", "std_error"]], atol=1e-10
    )
    assert_allclose(res.scores.loc[base.scores.index], base.scores, atol=1e-10)
    assert res.gof == pytest.approx(base.gof, abs=1e-12)


# ----------------------------------------------------------------------------- bad input
SMALL = {"A": ["a1", "a2"], "B": ["b1", "b2"], "C": ["c1", "c2"]}


@pytest.fixture
def small() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 1))
    return pd.DataFrame(
        base + rng.normal(size=(40, 6)), columns=["a1", "a2", "b1", "b2", "c1", "c2"]
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"paths": [("A", "B"), ("B", "C"), ("C", "A")]},
            SpecificationError,
            r"cycle A -> B -> C -> A.*Remove the edge 'C -> A'",
        ),
        ({"blocks": SMALL | {"C": []}}, SpecificationError, r"blocks\['C'\] has no columns"),
        (
            {"blocks": {"A": ["a1", "a2"], "B": ["b1", "a2"], "C": ["c1", "c2"]}},
            SpecificationError,
            "column 'a2' is in both 'A' and 'B'",
        ),
        ({"paths": [("A", "B")]}, SpecificationError, r"latent\(s\) \['C'\] have items.*no path"),
        ({"paths": [("A", "Z"), ("B", "C")]}, SpecificationError, "names latent.*'Z'"),
        ({"paths": [("A", "A"), ("B", "C")]}, SpecificationError, "self-loop"),
        ({"scheme": "centroids"}, ValueError, "scheme must be one of"),
        ({"modes": {"A": "C"}}, ValueError, r"modes\['A'\] must be one of"),
        ({"max_iter": 0}, ValueError, "max_iter must be a positive integer"),
        ({"bootstrap": -1}, ValueError, "bootstrap must be a non-negative integer"),
    ],
)
def test_bad_specification(small, kwargs, error, match):
    args = {"blocks": SMALL, "paths": [("A", "C"), ("B", "C")]} | kwargs
    with pytest.raises(error, match=match):
        fit_pls(small, **args)


def test_constant_item(small):
    with pytest.raises(DataError, match="column 'b2' is constant"):
        fit_pls(small.assign(b2=4.0), blocks=SMALL, paths=[("A", "C"), ("B", "C")])


def test_too_few_rows(small):
    with pytest.raises(InsufficientDataError, match="needs at least 4 usable row"):
        fit_pls(small.head(3), blocks=SMALL, paths=[("A", "C"), ("B", "C")])


def test_missing_item_column(small):
    with pytest.raises(DataError, match=r"missing column\(s\) \['c2'\]"):
        fit_pls(small.drop(columns="c2"), blocks=SMALL, paths=[("A", "C"), ("B", "C")])


def test_missing_answers_follow_the_rule(small):
    holed = small.copy()
    holed.iloc[0, 0] = np.nan
    listwise = fit_pls(holed, blocks=SMALL, paths=[("A", "C"), ("B", "C")])
    assert listwise.n_obs == 39
    filled = fit_pls(holed, blocks=SMALL, paths=[("A", "C"), ("B", "C")], missing="item_mean")
    assert filled.n_obs == 40
    with pytest.raises(ValueError, match="missing must be one of"):
        fit_pls(holed, blocks=SMALL, paths=[("A", "C"), ("B", "C")], missing="pairwise")
