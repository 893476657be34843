"""`manyi score` / `manyi report --data` on data files as users save them, and bad input.

The error cases run the command as a subprocess: a traceback would show on stderr.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp.cli import main
from tests.surveyapp.cli_helpers import assert_refused, run

MINIMAL = Path(__file__).parent.parent / "questionnaires" / "data" / "minimal.yaml"


@pytest.fixture(scope="module")
def chinese_frame() -> pd.DataFrame:
    """servqual22 answers with a Chinese segment header and Chinese comments."""
    data = simulate(qn.builtin("servqual22"), 120, seed=8).data
    data = data.rename(columns={"branch": "分行"})
    data["分行"] = ["东区" if i % 2 else "西区" for i in range(len(data))]
    data["comment"] = "服务很好，等候时间太长"
    return data


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def _servqual_json(cli: CliRunner, path: Path, *extra: str) -> dict:
    args = ["score", "servqual", str(path), "-q", "servqual22", "-s", "分行", "--format", "json"]
    res = cli.invoke(main, [*args, *extra])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_csv_in_every_chinese_encoding_gives_the_same_result(cli, chinese_frame, tmp_path):
    results = {}
    for encoding in ("utf-8", "utf-8-sig", "gb18030", "gbk"):
        path = tmp_path / f"{encoding}.csv"
        chinese_frame.to_csv(path, index=False, encoding=encoding)
        results[encoding] = _servqual_json(cli, path)
    assert results["utf-8"] == results["utf-8-sig"] == results["gb18030"] == results["gbk"]
    assert "东区" in json.dumps(results["gbk"], ensure_ascii=False)


def test_encoding_option_forces_one(cli, chinese_frame, tmp_path):
    path = tmp_path / "gbk.csv"
    chinese_frame.to_csv(path, index=False, encoding="gbk")
    forced = _servqual_json(cli, path, "--encoding", "gb18030")
    assert forced == _servqual_json(cli, path)
    res = cli.invoke(main, ["score", "index", str(path), "-q", "servqual22", "--encoding", "utf-8"])
    assert res.exit_code == 2
    assert "gbk.csv: is not valid utf-8 text" in res.output


def test_report_reads_gbk_data(cli, chinese_frame, tmp_path):
    path = tmp_path / "gbk.csv"
    chinese_frame.to_csv(path, index=False, encoding="gbk")
    out = tmp_path / "r.json"
    res = cli.invoke(
        main, ["report", "--data", str(path), "--questionnaire", "servqual22", "--out", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text("utf-8"))


def test_file_in_no_known_encoding_is_refused(chinese_frame, tmp_path):
    path = tmp_path / "mixed.csv"
    text = chinese_frame.to_csv(index=False).encode("utf-8")
    path.write_bytes(text + b"\xff\xfe\xff")  # invalid in UTF-8 and in GB18030
    proc = run("score", "index", str(path), "-q", "servqual22")
    assert_refused(proc, "mixed.csv", "UTF-8")


@pytest.fixture(scope="module")
def good_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("data") / "good.csv"
    simulate(qn.builtin("servqual22"), 60, seed=2).data.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("empty.csv", b"", ("empty.csv", "is empty")),
        ("blank.csv", b"\r\n\r\n", ("blank.csv", "is empty")),
        ("renamed.xlsx", b"tan1_p,tan1_e\n1,2\n", ("renamed.xlsx", "cannot be read as XLSX")),
        ("corrupt.sav", b"$FL2@(#) not really SPSS", ("corrupt.sav", "cannot be read as SAV")),
    ],
)
def test_unreadable_data_file_is_one_message(tmp_path, name, content, words):
    path = tmp_path / name
    path.write_bytes(content)
    assert_refused(run("score", "reliability", str(path), "-q", "servqual22"), *words)


def test_out_into_a_missing_folder_is_refused(good_csv, tmp_path):
    out = tmp_path / "missing" / "r.json"
    proc = run("score", "index", str(good_csv), "-q", "servqual22", "-o", str(out))
    assert_refused(proc, "does not exist")
    assert not out.parent.exists()


def test_huge_integer_in_data_is_one_short_message(good_csv, tmp_path):
    frame = pd.read_csv(good_csv).astype(object)
    frame.loc[3, "rel2_p"] = "9" * 5000
    path = tmp_path / "big.csv"
    frame.to_csv(path, index=False)
    proc = run("score", "servqual", str(path), "-q", "servqual22")
    assert_refused(proc, "'rel2_p'", "row 5", "characters)")
    assert len(proc.stderr) < 500


@pytest.mark.parametrize(
    ("cmd", "extra_key"),
    [(["index"], "nps"), (["drivers", "--ordinal", "logit"], "ordinal")],
)
def test_json_is_one_document(cli, tmp_path, cmd, extra_key):
    ident = "acsi" if cmd[0] == "drivers" else "servqual22"
    path = tmp_path / "d.csv"
    simulate(qn.builtin(ident), 300, seed=4).data.to_csv(path, index=False)
    res = cli.invoke(main, ["score", cmd[0], str(path), "-q", ident, *cmd[1:], "--format", "json"])
    assert res.exit_code == 0, res.output
    document = json.loads(res.stdout)  # fails on two concatenated documents
    assert extra_key in document
    assert document["type"] != document[extra_key]["type"]


@pytest.mark.parametrize(
    "value", ["2026-13-45", "9" * 5000], ids=["impossible-date", "5000-digit-integer"]
)
def test_unreadable_yaml_value_is_one_message(tmp_path, value):
    path = tmp_path / "bad.yaml"
    path.write_text(
        MINIMAL.read_text("utf-8").replace('version: "1"', f"version: {value}"), "utf-8"
    )
    proc = run("questionnaires", "show", str(path))
    assert_refused(proc, "bad.yaml", "quotes")
    assert len(proc.stderr) < 500


def test_messages_show_no_numpy_reprs(good_csv, tmp_path):
    frame = pd.read_csv(good_csv)
    frame.loc[3, "rel2_p"] = 99  # out of the 1-7 scale: the message quotes the value
    path = tmp_path / "r99.csv"
    frame.to_csv(path, index=False)
    proc = run("score", "servqual", str(path), "-q", "servqual22")
    assert_refused(proc, "'rel2_p'", "99")
    assert "np." not in proc.stderr
