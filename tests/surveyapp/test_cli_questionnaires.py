"""`manyi questionnaires list | show | validate | convert`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import questionnaires as qn
from surveyapp.cli import main

MINIMAL = Path(__file__).parent.parent / "questionnaires" / "data" / "minimal.yaml"


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def test_list_shows_every_builtin(cli):
    res = cli.invoke(main, ["questionnaires", "list"])
    assert res.exit_code == 0, res.output
    for ident in qn.builtin_ids():
        assert ident in res.output


def test_show_prints_items_and_columns(cli):
    res = cli.invoke(main, ["questionnaires", "show", str(MINIMAL), "--language", "zh-Hans"])
    assert res.exit_code == 0, res.output
    assert "最小问卷" in res.output
    assert "tan1_e, tan1_p" in res.output
    res = cli.invoke(main, ["questionnaires", "show", str(MINIMAL), "--columns"])
    assert res.output.split() == list(qn.load(MINIMAL).columns())


def test_validate_ok_and_broken(cli, tmp_path):
    res = cli.invoke(main, ["questionnaires", "validate", str(MINIMAL)])
    assert res.exit_code == 0, res.output
    assert "valid (minimal" in res.output
    data = yaml.safe_load(MINIMAL.read_text("utf-8"))
    data["pages"][0]["items"][0]["text"] = {"en": "Only English"}
    data["pages"][0]["items"][1]["scale"] = "missing"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    res = cli.invoke(main, ["questionnaires", "validate", str(bad)])
    assert res.exit_code == 2
    assert "bad.yaml: pages[0].items[0].text.zh-Hans: missing Chinese" in res.output
    assert "bad.yaml: pages[0].items[1].scale: unknown scale 'missing'" in res.output
    assert "Traceback" not in res.output


def test_show_unknown_is_one_line_exit_2(cli):
    res = cli.invoke(main, ["questionnaires", "show", "nope"])
    assert res.exit_code == 2
    assert "neither a built-in questionnaire" in res.output
    assert "Traceback" not in res.output


@pytest.mark.parametrize("target", ["yaml", "json"])
def test_convert_round_trips(cli, tmp_path, target):
    out = tmp_path / f"out.{target}"
    res = cli.invoke(
        main, ["questionnaires", "convert", str(MINIMAL), "--to", target, "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    again = qn.loads(out.read_text("utf-8"))  # JSON is YAML
    assert again.to_dict() == qn.load(MINIMAL).to_dict()


def test_convert_writes_beside_its_input(cli, tmp_path, monkeypatch):
    source = tmp_path / "inst" / "mini.yaml"
    source.parent.mkdir()
    source.write_text(MINIMAL.read_text("utf-8"), "utf-8")
    monkeypatch.chdir(tmp_path)
    res = cli.invoke(main, ["questionnaires", "convert", str(source), "--to", "json"])
    assert res.exit_code == 0, res.output
    assert (source.parent / "mini.json").is_file()
    assert not (tmp_path / "mini.json").exists()


@pytest.mark.parametrize("out", [None, "same"])
def test_convert_never_overwrites_its_input(cli, tmp_path, out):
    source = tmp_path / "mini.yaml"
    source.write_text(MINIMAL.read_text("utf-8"), "utf-8")
    before = source.read_bytes()
    args = ["questionnaires", "convert", str(source), "--to", "yaml"]
    res = cli.invoke(main, args if out is None else [*args, "-o", str(source)])
    assert res.exit_code == 2
    assert "is the input file" in res.output
    assert source.read_bytes() == before


def test_convert_into_a_missing_folder_is_refused(cli, tmp_path):
    out = tmp_path / "missing" / "q.json"
    res = cli.invoke(
        main, ["questionnaires", "convert", str(MINIMAL), "--to", "json", "-o", str(out)]
    )
    assert res.exit_code == 2
    assert "does not exist" in res.output


def test_validate_lists_every_bad_condition_exit_2(cli, tmp_path):
    data = yaml.safe_load(MINIMAL.read_text("utf-8"))
    items = data["pages"][0]["items"]
    items[0]["relevant"] = "${sat} <="  # malformed
    items[1]["relevant"] = "${sat} = 1"  # a later item (what a cycle needs)
    items[3]["relevant"] = "${nobody} = 1"  # unknown
    bad = tmp_path / "cond.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    res = cli.invoke(main, ["questionnaires", "validate", str(bad)])
    assert res.exit_code == 2
    assert "cond.yaml: pages[0].items[0].relevant: the condition does not parse" in res.output
    assert "cond.yaml: pages[0].items[1].relevant: the condition reads ${sat}" in res.output
    assert "cond.yaml: pages[0].items[3].relevant: the condition reads ${nobody}" in res.output
    assert "Traceback" not in res.output
