"""`manyi score loyalty`, `manyi score chain` and `manyi simulate --outcomes/--staff`:
simulated truth recovered through the command line, every output format, and bad input
answered with one message and exit 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from surveyapp.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Customers, staff, outcomes and truth from `manyi simulate` (seed 1)."""
    d = tmp_path_factory.mktemp("chain")
    paths = {k: d / f"{k}.csv" for k in ("customers", "staff", "outcomes")}
    paths["truth"] = d / "truth.json"
    res = CliRunner().invoke(
        main,
        [
            "simulate",
            "service_short",
            "-n",
            "3000",
            "--seed",
            "1",
            "-o",
            str(paths["customers"]),
            "--outcomes",
            str(paths["outcomes"]),
            "--staff",
            str(paths["staff"]),
            "--staff-n",
            "800",
            "--truth",
            str(paths["truth"]),
        ],
    )
    assert res.exit_code == 0, res.output
    assert "wrote 3300 outcomes" in res.output
    assert "wrote 800 staff responses" in res.output
    return paths


def run(*args: str) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in res.output
    return res.exit_code, res.stdout, res.stderr


def test_simulated_files_link_by_customer_and_branch(files: dict[str, Path]) -> None:
    customers = pd.read_csv(files["customers"], encoding="utf-8-sig")
    outcomes = pd.read_csv(files["outcomes"], encoding="utf-8-sig")
    staff = pd.read_csv(files["staff"], encoding="utf-8-sig")
    assert customers["customer_id"].is_unique
    assert set(customers["customer_id"]) < set(outcomes["customer_id"])
    assert set(staff["branch"].dropna()) == set(customers["branch"].dropna())
    truth = json.loads(files["truth"].read_text("utf-8"))
    assert set(truth) == {"customers", "staff", "chain"}
    assert truth["chain"]["non_respondents"] == 300


def test_loyalty_recovers_the_churn_slope(files: dict[str, Path]) -> None:
    code, out, err = run(
        "score", "loyalty", files["customers"], "--outcomes", files["outcomes"],
        "-q", "service_short", "--predict", "overall", "--control", "tenure",
        "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    truth = json.loads(files["truth"].read_text("utf-8"))["chain"]
    coef = doc["churn"]["coefficients"]
    row = dict(zip(coef["columns"], coef["data"][coef["index"].index("sat")], strict=True))
    assert row["ci_low"] <= truth["churn_slope"] <= row["ci_high"]
    assert doc["join"]["n_matched"] == 3000
    assert len(doc["join"]["unmatched_outcomes"]) == 300
    assert "300 outcome row(s) belong to customers who did not answer" in err
    # the curve of retention rises with satisfaction; the pyramid tiers are 20/30/50 %
    curve = pd.DataFrame(doc["curve"]["data"], columns=doc["curve"]["columns"])
    sat = curve[(curve["driver"] == "sat") & (curve["n"] >= 100)]
    assert sat["share"].is_monotonic_increasing
    tiers = pd.DataFrame(doc["value"]["tiers"]["data"], columns=doc["value"]["tiers"]["columns"])
    assert tiers[tiers["score"] == "sat"]["customers"].tolist() == [600, 900, 1500]


def test_loyalty_table_and_csv(files: dict[str, Path], tmp_path: Path) -> None:
    code, out, _ = run(
        "score", "loyalty", files["customers"], "--outcomes", files["outcomes"],
        "-q", "service_short",
    )  # fmt: skip
    assert code == 0
    for section in ("== zones ==", "== churn ==", "== churn fit ==", "== calibration =="):
        assert section in out
    assert "cv_auc" in out
    dest = tmp_path / "loyal.csv"
    code, _, _ = run(
        "score", "loyalty", files["customers"], "--outcomes", files["outcomes"],
        "-q", "service_short", "--format", "csv", "--out", dest,
    )  # fmt: skip
    assert code == 0
    assert list(pd.read_csv(dest, encoding="utf-8-sig").columns)[1:4] == [
        "driver",
        "outcome",
        "level",
    ]
    assert (tmp_path / "loyal.churn.csv").is_file()
    assert (tmp_path / "loyal.value.csv").is_file()


def test_chain_recovers_the_staff_to_customer_link(files: dict[str, Path]) -> None:
    code, out, err = run(
        "score", "chain", f"customer={files['customers']}", f"staff={files['staff']}",
        "--outcomes", files["outcomes"], "--unit", "branch", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    doc = json.loads(out)
    truth = json.loads(files["truth"].read_text("utf-8"))["chain"]
    fe = doc["model"]["fixed_effects"]
    row = dict(zip(fe["columns"], fe["data"][1], strict=True))
    assert fe["index"][1] == "staff_satisfaction"
    assert row["ci_low"] <= truth["staff_to_customer"] <= row["ci_high"]
    units = pd.DataFrame(doc["units"]["data"], columns=doc["units"]["columns"])
    assert len(units) == 5
    assert "retention" in units.columns
    # per-unit means match the truth's expected means within their intervals mostly
    expected = pd.Series(truth["customer_mean"]).sort_index().to_numpy()
    inside = (units["customer_ci_low"] <= expected) & (expected <= units["customer_ci_high"])
    assert inside.sum() >= 4
    assert 0 < doc["between_unit_share"] < 1


def test_chain_table(files: dict[str, Path]) -> None:
    code, out, _ = run(
        "score", "chain", f"customer={files['customers']}", f"staff={files['staff']}",
    )  # fmt: skip
    assert code == 0
    for section in ("== associations ==", "== multilevel model ==", "between_unit_share"):
        assert section in out


def test_gbk_outcome_file_with_chinese_tiers(files: dict[str, Path], tmp_path: Path) -> None:
    outcomes = pd.read_csv(files["outcomes"], encoding="utf-8-sig")
    outcomes["等级"] = np.where(outcomes["revenue"] > outcomes["revenue"].median(), "金卡", "普通")
    gbk = tmp_path / "outcomes_gbk.csv"
    outcomes.to_csv(gbk, index=False, encoding="gbk")
    code, out, err = run(
        "score", "loyalty", files["customers"], "--outcomes", gbk, "-q", "service_short",
        "--tier", "等级", "--format", "json",
    )  # fmt: skip
    assert code == 0, err
    tiers = json.loads(out)["value"]["tiers"]
    assert {row[1] for row in tiers["data"]} == {"金卡", "普通"}


def _bad_outcomes(files: dict[str, Path], tmp_path: Path, change) -> Path:
    frame = pd.read_csv(files["outcomes"], encoding="utf-8-sig")
    path = tmp_path / "bad.csv"
    change(frame).to_csv(path, index=False)
    return path


def _duplicate(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[5, "customer_id"] = frame.loc[2, "customer_id"]
    return frame


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            _duplicate,
            r"bad.csv column 'customer_id' holds key '\w+' more than once \(rows \[4, 7\]",
        ),
        (lambda f: f.assign(churned=0, retained=1), "no customer churned"),
        (
            lambda f: f.assign(churned=f["churned"].where(f.index != 0, 2)),
            r"bad.csv column 'churned' must hold 0 or 1 .*row 2 holds 2",
        ),
        (lambda f: f.rename(columns={"customer_id": "cid"}), "bad.csv is missing column"),
    ],
)
def test_bad_outcome_files_exit_2(files, tmp_path, change, message) -> None:
    path = _bad_outcomes(files, tmp_path, change)
    code, _, err = run(
        "score", "loyalty", files["customers"], "--outcomes", path, "-q", "service_short",
    )  # fmt: skip
    assert code == 2
    errors = [line for line in err.splitlines() if not line.startswith("Warning: ")]
    assert len(errors) == 1
    assert errors[0].startswith("Error: ")
    import re

    assert re.search(message, err), err


def test_one_unit_exits_2(files: dict[str, Path], tmp_path: Path) -> None:
    staff = pd.read_csv(files["staff"], encoding="utf-8-sig").assign(branch="hq")
    one = tmp_path / "staff_one.csv"
    staff.to_csv(one, index=False)
    customers = pd.read_csv(files["customers"], encoding="utf-8-sig").assign(branch="hq")
    cone = tmp_path / "cust_one.csv"
    customers.to_csv(cone, index=False)
    code, _, err = run("score", "chain", f"customer={cone}", f"staff={one}")
    assert code == 2
    assert "at least 3 units" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["score", "chain", "customer=x.csv"], "no staff=FILE given"),
        (["score", "chain", "shop=x.csv"], "customer=FILE staff=FILE"),
        (["score", "loyalty", "{customers}", "--outcomes", "{outcomes}", "-q", "service_short",
          "--churn", "gone"], "has no column 'gone'"),
        (["score", "loyalty", "{customers}", "--outcomes", "nowhere.csv", "-q", "service_short"],
         "no such data file"),
    ],
)  # fmt: skip
def test_usage_errors(files: dict[str, Path], args: list[str], message: str) -> None:
    filled = [a.format(customers=files["customers"], outcomes=files["outcomes"]) for a in args]
    code, _, err = run(*filled)
    assert code == 2
    assert message in err


def test_an_answer_off_the_scale_names_file_row_and_column(
    files: dict[str, Path], tmp_path: Path
) -> None:
    customers = pd.read_csv(files["customers"], encoding="utf-8-sig")
    customers.loc[3, "sat"] = 9  # file row 5; sat is on 1-5
    bad = tmp_path / "c_bad.csv"
    customers.to_csv(bad, index=False)
    code, _, err = run(
        "score", "loyalty", bad, "--outcomes", files["outcomes"], "-q", "service_short"
    )
    assert code == 2
    assert "column 'sat' must hold answers in [1, 5]; row 5 holds 9" in err
    code, _, err = run("score", "chain", f"customer={bad}", f"staff={files['staff']}")
    assert code == 2
    assert "column 'sat' must hold answers in [1, 5]; row 5 holds 9" in err
