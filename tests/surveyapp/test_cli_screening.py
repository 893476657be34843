"""`manyi score` leaves out quarantined and suspect responses (issue 18, item 3).

The commands run as subprocesses, as a user runs them.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import questionnaires as qn
from questionnaires.simulate import simulate
from tests.surveyapp.cli_helpers import manyi


@pytest.fixture(scope="module")
def acsi_sim(tmp_path_factory):
    """ACSI answers with 12 straight-liners (the simulator's default 2 % of 300)."""
    sim = simulate(qn.builtin("acsi"), 300, seed=1)
    assert len(sim.truth.straightliners) == 12
    path = tmp_path_factory.mktemp("acsi") / "acsi.csv"
    sim.data.to_csv(path, index=False)
    return sim, path


def _path(document: dict, name: str) -> tuple[float, float]:
    """Estimate and standard error of the structural path ``name`` in `score csi` JSON."""
    paths = document["pls"]["paths"]
    table = pd.DataFrame(paths["data"], columns=paths["columns"], index=paths["index"])
    return float(table.loc[name, "estimate"]), float(table.loc[name, "std_error"])


def test_csi_leaves_out_straight_liners_and_recovers_the_true_path(acsi_sim):
    sim, path = acsi_sim
    truth = sim.truth.paths["CE->PQ"]  # 0.218

    screened = manyi("score", "csi", str(path), "-q", "acsi", "--format", "json")
    assert screened.returncode == 0, screened.stderr
    assert "left out 12 of 300 response(s): 12 suspect (" in screened.stderr
    assert "straight_lining 12" in screened.stderr
    assert "--include-suspect keeps" in screened.stderr
    document = json.loads(screened.stdout)
    n_screened = document["pls"]["n_obs"]
    clean, se_clean = _path(document, "CE -> PQ")

    everyone = manyi(
        "score", "csi", str(path), "-q", "acsi", "--format", "json", "--include-suspect"
    )
    assert everyone.returncode == 0, everyone.stderr
    assert "kept 12 suspect response(s)" in everyone.stderr
    document = json.loads(everyone.stdout)
    # the straight-liners answer every item, so each of them is a complete case
    assert document["pls"]["n_obs"] == n_screened + 12
    polluted, se_polluted = _path(document, "CE -> PQ")

    # The tolerance is the sampling error of the estimate: two of its standard errors
    # (about 0.13 at this n, the OLS error PLS reports for a path). Without the
    # straight-liners the estimate (0.23) lies well within it of the simulator's truth;
    # with them (0.41) it lies outside, because 12 identical answer rows add a common
    # factor to every block that the model reads as a path.
    assert abs(clean - truth) < 2 * se_clean
    assert abs(polluted - truth) > 2 * se_polluted
    assert polluted - clean > 0.1


def test_quarantined_rows_are_always_left_out(tmp_path):
    q = qn.builtin("servqual22")
    data = simulate(q, 120, seed=4, straightliner_rate=0).data
    data["suspect"] = ""
    data.loc[[0, 1, 2], "suspect"] = ["quarantined", "too_fast;quarantined", "quarantined"]
    # the quarantined rows hold answers that would move every gap
    roles = [c for c in data.columns if c.endswith("_p")]
    data.loc[[0, 1, 2], roles] = 1
    path = tmp_path / "with_quarantined.csv"
    data.to_csv(path, index=False)
    clean = tmp_path / "clean.csv"
    data.drop(index=[0, 1, 2]).to_csv(clean, index=False)

    for extra in ((), ("--include-suspect",)):
        proc = manyi("score", "servqual", str(path), "-q", "servqual22", "--format", "json", *extra)
        assert proc.returncode == 0, proc.stderr
        assert "left out 3 of 120 response(s): 3 quarantined" in proc.stderr
        reference = manyi("score", "servqual", str(clean), "-q", "servqual22", "--format", "json")
        got, want = json.loads(proc.stdout), json.loads(reference.stdout)
        # per-respondent scores are labelled by file line, which the left-out rows shift
        assert got.pop("scores")["data"] == want.pop("scores")["data"]
        assert got == want


def test_a_clean_file_is_scored_whole_and_quietly(tmp_path):
    data = simulate(qn.builtin("servqual22"), 80, seed=3, straightliner_rate=0).data
    path = tmp_path / "clean.csv"
    data.to_csv(path, index=False)
    proc = manyi("score", "index", str(path), "-q", "servqual22", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "left out" not in proc.stderr
    assert "suspect" not in proc.stderr
    answered = int(data["nps"].notna().sum())
    assert json.loads(proc.stdout)["nps"]["n"] == answered
