"""``manyi export SURVEY --format csv|xlsx|sav --out FILE``."""

from __future__ import annotations

import pandas as pd
import pyreadstat
import pytest
from click.testing import CliRunner
from sqlalchemy import select

import questionnaires as qn
from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.services import studies
from surveyapp.services.surveys import create_survey
from tests.surveyapp.conftest import DATA, make_app
from tests.surveyapp.research_helpers import ANSWERS, add_response, migrated_database


@pytest.fixture
def stored(tmp_path, monkeypatch):
    url, database = migrated_database(tmp_path, monkeypatch)
    database.dispose()
    app = make_app({"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path})
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, qn.load(DATA / "minimal.yaml"), slug="bank-q1", wave="Q1").id
    add_response(app, sid, segments={"region": "N"})
    add_response(app, sid, {**ANSWERS, "sat": 1.0})
    add_response(app, sid, {"tan1_e": 2.0}, status="partial")
    app.extensions["manyi_db"].dispose()
    return database


def run(*args):
    return CliRunner().invoke(main, ["export", *args])


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "sav"])
def test_export_each_format(stored, tmp_path, fmt):
    out = tmp_path / f"bank.{fmt}"
    r = run("bank-q1", "--format", fmt, "--out", str(out), "--language", "en")
    assert r.exit_code == 0, r.output
    assert "2 responses" in r.output
    if fmt == "csv":
        frame = pd.read_csv(out, encoding="utf-8-sig")
    elif fmt == "xlsx":
        frame = pd.read_excel(out, sheet_name="responses")
    else:
        frame, meta = pyreadstat.read_sav(str(out))
        assert meta.variable_value_labels["branch"] == {1.0: "Beijing", 2.0: "Shanghai"}
    assert frame["sat"].tolist() == [4, 1]
    assert frame["seg_region"].fillna("").tolist() == ["N", ""]
    with stored.sessions() as s:
        log = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "exported")).all()
    assert [entry.detail["format"] for entry in log] == [fmt]


def test_format_from_extension_and_partial(stored, tmp_path):
    out = tmp_path / "all.csv"
    r = run("1", "--out", str(out), "--partial")
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(out, encoding="utf-8-sig")) == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope", "--out", "x.csv"], "no survey 'nope'; surveys: bank-q1"),
        (["bank-q1", "--out", "x.pdf"], "cannot tell the format"),
        (["bank-q1", "--out", "/no/such/dir/x.csv"], "does not exist"),
    ],
)
def test_errors(stored, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    r = run(*args)
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output


def test_export_carries_screening_reasons_and_quarantine(tmp_path, monkeypatch):
    url, database = migrated_database(tmp_path, monkeypatch)
    database.dispose()
    app = make_app({"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path})
    q = qn.builtin("servqual22")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sid = create_survey(s, q, slug="sq-q1", wave="Q1").id
    ratings = [c for i in q.iter_items(type="rating") if i.roles for c in i.columns()]
    varied = {c: float(1 + (k * 5) % 7) for k, c in enumerate(ratings)}
    add_response(app, sid, varied)
    add_response(app, sid, dict.fromkeys(ratings, 4.0))  # straight-lined, E = P throughout
    pk = add_response(app, sid, varied, suspect={"too_fast": True})
    with app.app_context():  # as the research page does it, with the reason audited
        studies.set_quarantine(pk, True, reason="copied; same IP as the first", user_id=None)
    app.extensions["manyi_db"].dispose()
    out = tmp_path / "sq.csv"
    r = run("sq-q1", "--out", str(out), "--quarantined")
    assert r.exit_code == 0, r.output
    cells = pd.read_csv(out, encoding="utf-8-sig")["suspect"].fillna("").tolist()
    assert cells == [
        "",
        "straight_lining;identical_ep",
        "too_fast;quarantined: copied, same IP as the first",
    ]
    # the file scores as the database said: the quarantined and the suspect left out
    res = CliRunner().invoke(main, ["score", "servqual", str(out), "-q", "servqual22"])
    assert res.exit_code == 0, res.output
    assert "left out 2 of 3 response(s): 1 quarantined; 1 suspect (" in res.stderr
