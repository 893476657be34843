"""One person's data (issue 22, item 5): find, export, erase (nothing of the person left in
any table or export, the audit trail intact and free of personal data), retention purge."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select, update

from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.services import exports, privacy
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey
from tests.surveyapp.research_helpers import ANSWERS, add_response, migrated_database

PERSON = "Pat.Doe@Example.org"
MEMBER = "M-20931"


@pytest.fixture
def data(app, minimal):
    db = app.extensions["manyi_db"]
    with app.app_context(), db.write() as s:
        study = m.Study(slug="st", name="Study")
        sv = create_survey(s, minimal, slug="priv", access="invitation", study=study)
        rows = [
            {"email": PERSON.lower(), "member": MEMBER, "region": "N"},
            {"email": "other@example.org", "member": "M-1", "region": "S"},
        ]
        invs = create_invitations(s, sv, rows, recipient_key="email")
        ids = {"survey": sv.id, "study": study.id, "invitations": [i.id for i in invs]}
    ids["mine"] = add_response(
        app,
        ids["survey"],
        {**ANSWERS, "comment": "fine"},
        invitation_id=ids["invitations"][0],
        segments={"member": MEMBER, "region": "N"},
    )
    ids["theirs"] = add_response(
        app, ids["survey"], invitation_id=ids["invitations"][1], segments={"region": "S"}
    )
    return ids


def _everything(app) -> str:
    """Every row of every table, as text."""
    db = app.extensions["manyi_db"]
    out = []
    with db.engine.connect() as conn:
        for table in m.Base.metadata.sorted_tables:
            out += [repr(tuple(row)) for row in conn.execute(select(table))]
    return "\n".join(out).lower()


def _exports(app, survey_id) -> str:
    db = app.extensions["manyi_db"]
    with app.app_context(), db.sessions() as s:
        return b"".join(exports.iter_csv(s, [survey_id], include_partial=True)).decode().lower()


def test_find_by_email_or_external_id(app, data):
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        by_mail = privacy.find(s, "  " + PERSON.upper() + " ")
        by_id = privacy.find(s, MEMBER)
        nobody = privacy.find(s, "nobody@example.org")
    assert [i.id for i in by_mail.invitations] == [data["invitations"][0]]
    assert [r.id for r in by_mail.responses] == [data["mine"]]
    assert [r.id for r in by_id.responses] == [data["mine"]]
    assert not nobody


def test_export_of_one_person(app, data):
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        out = privacy.export(s, PERSON)
    assert out["invitations"][0]["recipient"] == PERSON.lower()
    assert out["responses"][0]["answers"]["comment"] == "fine"
    assert out["responses"][0]["segments"]["member"] == MEMBER
    json.dumps(out)  # JSON-ready


def test_erase_leaves_nothing_of_the_person(app, data):
    assert PERSON.lower() in _everything(app)
    assert MEMBER.lower() in _exports(app, data["survey"])
    counts = privacy.erase(app.extensions["manyi_db"], PERSON, responses=True, user_id=None)
    assert counts == {"invitations": 1, "responses": 1, "responses_deleted": 1}
    everything = _everything(app)
    assert PERSON.lower() not in everything
    assert MEMBER.lower() not in everything
    assert MEMBER.lower() not in _exports(app, data["survey"])
    assert "other@example.org" in everything  # the others are untouched
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        assert s.get(m.Response, data["mine"]) is None
        assert s.get(m.Response, data["theirs"]) is not None
        (record,) = s.scalars(select(m.AuditLog).where(m.AuditLog.action == "erased"))
    assert record.object_type == "person"
    assert record.detail == counts  # counts only: no personal data in the log


def test_erase_contact_details_keeps_the_answers(app, data):
    privacy.erase(app.extensions["manyi_db"], MEMBER, responses=False, user_id=None)
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        resp = s.get(m.Response, data["mine"])
        inv = s.get(m.Invitation, data["invitations"][0])
        assert resp.segments == {}  # the invitation's segments went with it
        assert resp.values()["comment"] == "fine"
        assert inv.recipient is None
        assert inv.segments == {}


def test_a_too_short_identifier_is_refused(app, data):
    with pytest.raises(ValueError, match="at least 3 characters"):
        privacy.erase(app.extensions["manyi_db"], " a ", responses=True, user_id=None)


def test_retention_purges_old_recipients(app, data):
    db = app.extensions["manyi_db"]
    with app.app_context(), db.write() as s:
        s.get(m.Study, data["study"]).retention_days = 30
        s.execute(
            update(m.Invitation)
            .where(m.Invitation.id == data["invitations"][0])
            .values(created_at=m.utcnow() - timedelta(days=31))
        )
    assert privacy.purge_expired(db) == 1
    assert privacy.purge_expired(db) == 0
    with app.app_context(), db.sessions() as s:
        assert s.get(m.Invitation, data["invitations"][0]).recipient is None
        assert s.get(m.Invitation, data["invitations"][1]).recipient == "other@example.org"
        actions = list(s.scalars(select(m.AuditLog.action)))
    assert actions.count("purged") == 1


def test_the_queue_purges_every_hour(app):
    huey = app.extensions["manyi_queue"].huey
    due = {t.name for t in huey.read_periodic(datetime(2026, 3, 1, 10, 7))}
    assert "purge_contacts" in due
    assert "purge_contacts" not in {t.name for t in huey.read_periodic(datetime(2026, 3, 1, 10, 8))}


def test_the_cli_finds_exports_and_erases(tmp_path, monkeypatch, minimal):
    _url, database = migrated_database(tmp_path, monkeypatch)
    with database.write() as s:
        sv = create_survey(s, minimal, slug="cli", access="invitation")
        create_invitations(s, sv, [{"email": "cli@example.org"}], recipient_key="email")
    runner = CliRunner()
    r = runner.invoke(main, ["privacy", "find", "cli@example.org"])
    assert r.exit_code == 0, r.output
    assert "survey cli" in r.output
    out = tmp_path / "p.json"
    r = runner.invoke(main, ["privacy", "export", "cli@example.org", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert json.loads(out.read_text("utf-8"))["invitations"][0]["recipient"] == "cli@example.org"
    r = runner.invoke(main, ["privacy", "erase", "cli@example.org", "--yes"])
    assert r.exit_code == 0, r.output
    assert "1 invitation(s)" in r.output
    r = runner.invoke(main, ["privacy", "find", "cli@example.org"])
    assert "nothing stored" in r.output
    r = runner.invoke(main, ["privacy", "retention", "nope", "30"])
    assert r.exit_code == 2
    assert "no study with the short code" in r.output
    database.dispose()
