"""``manyi report``: from a stored survey and from data files; PDF text holds the Chinese."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp.cli import main
from surveyapp.datafiles import read_responses
from surveyapp.reports import build, render
from surveyapp.reports.demo import seed_gap_study
from tests.surveyapp.conftest import make_app
from tests.surveyapp.reports_helpers import SMALL
from tests.surveyapp.research_helpers import migrated_database

DIMENSIONS_ZH = ("有形性", "可靠性", "响应性", "保证性", "移情性")


def run(*args: str):
    return CliRunner().invoke(main, ["report", *args])


@pytest.fixture
def files(tmp_path):
    out = {}
    for name, ident, n in (
        ("c", "servqual22", 300),
        ("m", "servqual22_manager", 40),
        ("s", "servqual22_staff", 60),
    ):
        path = tmp_path / f"{name}.csv"
        simulate(qn.builtin(ident), n, seed=5).data.to_csv(path, index=False)
        out[name] = str(path)
    return out


def _linked(files) -> list[str]:
    """--data with the customer file, --linked with the manager and the staff file."""
    return [
        "--data",
        files["c"],
        "--questionnaire",
        "servqual22",
        *("--linked", "manager", files["m"], "servqual22_manager"),
        *("--linked", "staff", files["s"], "servqual22_staff"),
    ]


def test_pdf_from_files_has_the_chinese_dimension_names(files, tmp_path) -> None:
    out = tmp_path / "r.pdf"
    r = run(*_linked(files), "--out", str(out))
    assert r.exit_code == 0, r.output
    text = "".join(page.extract_text() for page in PdfReader(out).pages)
    for name in DIMENSIONS_ZH:
        assert name in text
    assert "理解差距" in text
    assert "角色冲突" in text


def test_html_from_files_is_self_contained(files, tmp_path) -> None:
    out = tmp_path / "r.html"
    r = run(
        "--data",
        files["c"],
        "--questionnaire",
        "servqual22",
        "--out",
        str(out),
        "--language",
        "en",
        "--segment",
        "branch=east",
    )
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html  # charts are inline SVG: nothing to run
    assert 'class="chart-svg chart-svg--wide"' in html
    assert len(html.encode("utf-8")) <= 1_500_000
    assert 'src="http' not in html
    assert 'href="http' not in html
    assert 'data-segment="branch=east"' in html
    assert 'data-missing-gap="understanding"' in html


def test_json_from_files_is_the_report_dict(files, tmp_path) -> None:
    out = tmp_path / "r.json"
    args = [*_linked(files), "--out", str(out), "--language", "en", "--segment", "branch=east"]
    # every response, as the direct call below scores them
    r = run(*args, "--include-suspect")
    assert r.exit_code == 0, r.output
    got = json.loads(out.read_text(encoding="utf-8"))
    assert got["exclude_suspects"] is False
    assert got["five_gaps"]["segment"] == ["branch", "east"]
    q, qm, qs = (qn.builtin(i) for i in ("servqual22", "servqual22_manager", "servqual22_staff"))
    sources = build.GapSources(
        customer=(q, read_responses(files["c"], q)),
        manager=(qm, read_responses(files["m"], qm)),
        staff=(qs, read_responses(files["s"], qs)),
    )
    direct = build.five_gaps(sources, segment=("branch", "east"), language="en")
    assert got["five_gaps"] == json.loads(json.dumps(direct))
    assert {"servqual", "methods", "data_quality"} <= set(got)
    # by default the suspect responses are left out, as on the pages and in manyi score
    assert run(*args).exit_code == 0
    screened = json.loads(out.read_text(encoding="utf-8"))
    flagged = int(build.suspects(q, sources.customer[1])["suspect"].sum())
    assert screened["exclude_suspects"] is True
    assert screened["suspects_left_out"] == flagged
    assert screened["n"] == got["n"] - flagged


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--out", "r.docx", "--data", "{c}", "--questionnaire", "servqual22"],
            "must end in .html",
        ),
        (["--out", "r.html"], "give either SURVEY"),
        (["--out", "r.html", "--data", "{c}"], "--data needs --questionnaire"),
        (
            [
                "--out",
                "r.html",
                "--data",
                "{c}",
                "--questionnaire",
                "servqual22",
                "--segment",
                "branch=mars",
            ],
            "--segment must be one of branch=hq",
        ),
        (
            [
                "--out",
                "r.html",
                "--data",
                "{c}",
                "--questionnaire",
                "servqual22",
                "--linked",
                "boss",
                "{m}",
                "servqual22_manager",
            ],
            "AUDIENCE must be one of manager",
        ),
    ],
)
def test_usage_problems(files, tmp_path, monkeypatch, args, message) -> None:
    monkeypatch.chdir(tmp_path)
    r = run(*[a.format(**files) for a in args])
    assert r.exit_code == 2
    assert message in r.output


def test_report_of_a_stored_survey(tmp_path, monkeypatch) -> None:
    url, database = migrated_database(tmp_path, monkeypatch)
    seed_gap_study(database, sizes=SMALL)
    database.dispose()
    out = tmp_path / "stored.html"
    r = run("demo-gap-2026-q2", "--out", str(out), "--language", "zh-Hans", "--include-suspect")
    assert r.exit_code == 0, r.output
    html = out.read_text(encoding="utf-8")
    assert f'data-source="customer">{SMALL["customer"]}<' in html  # every response kept
    assert f'data-source="audit">{SMALL["audit"]}<' in html
    assert "2026-Q1" in html  # the earlier wave
    unknown = run("nope", "--out", str(out))
    assert unknown.exit_code == 2
    assert "no survey 'nope'; surveys: " in unknown.output
    app = make_app({"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path})
    with app.extensions["manyi_db"].sessions() as s:
        from surveyapp import models as m

        assert s.query(m.AuditLog).filter_by(action="exported").count() == 1
    app.extensions["manyi_db"].dispose()


def test_missing_font_is_named(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(render, "CJK_FONT_DIRS", (tmp_path,))
    with pytest.raises(render.FontMissingError, match="apt-get install fonts-noto-cjk"):
        render.cjk_font()
