"""What `manyi score` prints: segment breakdowns, the PCA verdict, refused gap files and
the methods the library offers beside the scoring methods (issue 18, items 5 and 9).

The commands run as subprocesses, as a user runs them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import questionnaires as qn
from questionnaires.simulate import simulate
from tests.surveyapp.cli_helpers import manyi, simulated_csv


@pytest.fixture(scope="module")
def servqual_csv(tmp_path_factory) -> Path:
    return simulated_csv(tmp_path_factory.mktemp("out"), "servqual22", 200, seed=2)


@pytest.fixture(scope="module")
def short_csv(tmp_path_factory) -> Path:
    return simulated_csv(tmp_path_factory.mktemp("out"), "service_short", 200, seed=2)


@pytest.mark.parametrize(
    ("method", "ident", "fixture"),
    [
        ("servqual", "servqual22", "servqual_csv"),
        ("pca", "servqual22", "servqual_csv"),
        ("fuzzy", "service_short", "short_csv"),
    ],
)
def test_segment_breakdown_in_table_and_csv(method, ident, fixture, request, tmp_path):
    data = request.getfixturevalue(fixture)
    levels = sorted(pd.read_csv(data)["branch"].dropna().unique())
    table = manyi("score", method, str(data), "-q", ident, "-s", "branch")
    assert table.returncode == 0, table.stderr
    assert "== segments ==" in table.stdout
    assert all(str(level) in table.stdout.split("== segments ==")[1] for level in levels)

    out = tmp_path / "r.csv"
    csv = manyi(
        "score", method, str(data), "-q", ident, "-s", "branch", "--format", "csv", "-o", str(out)
    )
    assert csv.returncode == 0, csv.stderr
    breakdown = pd.read_csv(tmp_path / "r.segments.csv", encoding="utf-8-sig")
    column = "level" if "level" in breakdown.columns and method == "servqual" else "segment"
    assert set(map(str, breakdown[column])) >= set(map(str, levels))
    assert f"wrote {tmp_path / 'r.segments.csv'}" in csv.stderr


def test_pca_table_shows_kmo_bartlett_and_rows(servqual_csv):
    proc = manyi("score", "pca", str(servqual_csv), "-q", "servqual22")
    assert proc.returncode == 0, proc.stderr
    assert "KMO = " in proc.stdout
    assert "Bartlett chi2 = " in proc.stdout
    assert "== adequacy ==" in proc.stdout
    # 200 rows, 7 suspect left out by the CLI, the rest listwise
    frame = pd.read_csv(servqual_csv)
    items = [c for c in frame.columns if c.endswith("_p")]
    used = proc.stdout.split("n used: ")[1].split(";")[0]
    dropped = proc.stdout.split("rows dropped (missing answers): ")[1].split()[0]
    kept = 200 - int(proc.stderr.split("left out ")[1].split()[0])
    assert int(used) + int(dropped) == kept
    assert int(used) <= int(frame[items].notna().all(axis=1).sum())


def test_gaps_refuses_a_file_without_its_audience_columns(tmp_path, servqual_csv):
    managers = simulate(qn.builtin("servqual22_manager"), 30, seed=2).data
    lost = tmp_path / "managers.csv"
    managers.drop(columns=[c for c in managers.columns if c.endswith("_m")]).to_csv(
        lost, index=False
    )
    proc = manyi("score", "gaps", f"customer={servqual_csv}", f"manager={lost}")
    assert proc.returncode == 2, proc.stdout
    assert proc.stderr.count("Error:") == 1
    assert "managers.csv lacks the rating columns of questionnaire 'servqual22_manager'" in (
        proc.stderr
    )
    assert "'tan1_m'" in proc.stderr
    # a customer file given as the staff file: refused too, not ignored
    proc = manyi("score", "gaps", f"customer={servqual_csv}", f"staff={servqual_csv}")
    assert proc.returncode == 2
    assert "lacks the rating columns of questionnaire 'servqual22_staff'" in proc.stderr


def test_rates_from_a_customer_file(tmp_path):
    frame = pd.DataFrame(
        {"customer": range(8), "churned": [0, 1, 0, 0, 1, 0, None, 0], "referred": [1] * 8}
    )
    frame["referred"] = [1, 0, 0, 1, 1, 0, 1, 0]
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    proc = manyi(
        "score", "rates", str(path), "--lost", "churned", "--referred", "referred",
        "--format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    document = json.loads(proc.stdout)
    table = pd.DataFrame(document["data"], columns=document["columns"]).set_index("rate")
    # the customer without an answer in 'churned' is left out of every rate: 7 customers
    assert table.loc["churn", ["numerator", "denominator"]].tolist() == [2, 7]
    assert table.loc["retention", "value"] == pytest.approx(5 / 7)
    assert table.loc["referral", "numerator"] == 3

    frame.loc[3, "churned"] = 2  # file line 5
    frame.to_csv(path, index=False)
    proc = manyi("score", "rates", str(path), "--lost", "churned")
    assert proc.returncode == 2
    assert "'churned'" in proc.stderr
    assert "row 5 holds 2" in proc.stderr


def test_fuzzy_prints_the_ahp_consistency_ratio_and_takes_entropy_weights(short_csv):
    table = manyi("score", "fuzzy", str(short_csv), "-q", "service_short")
    assert table.returncode == 0, table.stderr
    section = table.stdout.split("== ahp_overall ==")[1]
    assert "cr" in section.splitlines()[1]
    assert "0.0263" in section  # CR of the instrument's matrix (its YAML says 0.026)

    plain = manyi("score", "fuzzy", str(short_csv), "-q", "service_short", "--format", "json")
    entropy = manyi(
        "score", "fuzzy", str(short_csv), "-q", "service_short", "--format", "json",
        "--item-weights", "entropy",
    )  # fmt: skip
    assert entropy.returncode == 0, entropy.stderr

    def weights(proc):
        split = json.loads(proc.stdout)["evaluation"]
        frame = pd.DataFrame(split["data"], columns=split["columns"]).set_index("node")
        return frame["weight"]

    declared, derived = weights(plain), weights(entropy)
    assert declared["env1"] == pytest.approx(0.4)  # the questionnaire's weights
    assert derived["env1"] != pytest.approx(0.4)
    assert derived[["env1", "env2", "env3"]].sum() == pytest.approx(1)
    # the factors keep the AHP weights
    assert derived["staff"] == pytest.approx(declared["staff"])
