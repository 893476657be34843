"""PLS path modelling: R plspm reference results, recovery, properties, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

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
