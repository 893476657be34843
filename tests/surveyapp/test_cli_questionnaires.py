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
