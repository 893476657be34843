"""`manyi simulate`."""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

import questionnaires as qn
from surveyapp.cli import main

MINIMAL = Path(__file__).parent.parent / "questionnaires" / "data" / "minimal.yaml"


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def test_csv_with_bom_and_truth(cli: CliRunner, tmp_path: Path) -> None:
    out, truth = tmp_path / "r.csv", tmp_path / "t.json"
    args = ["simulate", "servqual22", "-n", "50", "--seed", "3", "--out", str(out)]
    res = cli.invoke(main, [*args, "--truth", str(truth), "--wave", "w1"])
    assert res.exit_code == 0, res.output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(out, encoding="utf-8-sig")
    assert list(frame.columns) == list(qn.builtin("servqual22").columns())
    assert len(frame) == 50
    assert (frame["wave"] == "w1").all()
    t = json.loads(truth.read_text("utf-8"))
    assert t["seed"] == 3
    assert set(t["gaps"]) == {"tan", "rel", "res", "ass", "emp"}
    assert set(t["straightliners"]) == set(frame.loc[frame["suspect"], "response_id"])
    # same seed, same file
    again = tmp_path / "r2.csv"
    assert cli.invoke(main, [*args[:-1], str(again), "--wave", "w1"]).exit_code == 0
    assert again.read_bytes() == out.read_bytes()


def test_xlsx_from_a_file(cli: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    res = cli.invoke(main, ["simulate", str(MINIMAL), "-n", "20", "--out", str(out)])
    assert res.exit_code == 0, res.output
    book = openpyxl.load_workbook(out, read_only=True)
    try:
        rows = list(book["responses"].values)
    finally:
        book.close()  # read-only workbooks keep the file open until closed
    assert list(rows[0]) == list(qn.load(MINIMAL).columns())
    assert len(rows) == 21


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nosuch", "-n", "5", "--out", "x.csv"], "neither a built-in questionnaire"),
        (["servqual22", "-n", "0", "--out", "x.csv"], "-n must be at least 1; got 0"),
        (["servqual22", "-n", "5", "--out", "x.parquet"], "--out must end in .csv or .xlsx"),
        (["servqual22", "-n", "5", "--out", "nodir/x.csv"], "does not exist"),
    ],
)
def test_bad_requests_get_one_line_and_exit_2(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    res = cli.invoke(main, ["simulate", *args])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1
    assert message in lines[0]
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []
