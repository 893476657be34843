"""Response storage as a service: called without a request (as the CLI and the task queue
call it), on SQLite and PostgreSQL; and the services know nothing of ``request``."""

from __future__ import annotations

import ast
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from surveyapp import models as m
from surveyapp.services import invitations, responses, surveys

SERVICES = Path(responses.__file__).resolve().parent


def _save(values: dict[str, responses.forms.Value | None], *, final: bool = True, rid=None):
    started = m.utcnow() - timedelta(minutes=5)
    return responses.PageSave(rid or str(uuid.uuid4()), 0, values, final, "en", started)


COMPLETE = {"tan1_e": 6.0, "tan1_p": 5.0, "rel1_e": 7.0, "rel1_p": 4.0, "imp_tan": 40.0,
            "imp_rel": 60.0, "sat": 4.0, "branch": "sh", "channel_web": 1.0,
            "channel_app": 0.0}  # fmt: skip


def test_services_know_nothing_of_the_request():
    for path in SERVICES.glob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "flask":
                names = {a.name for a in node.names}
                assert not names & {"request", "session", "g", "current_app"}, path.name
            if isinstance(node, ast.Import):
                assert "flask" not in {a.name for a in node.names}, path.name


def test_an_invitation_completes_once_and_a_resume_code_finds_its_response(any_app, minimal):
    db = any_app.extensions["manyi_db"]
    with db.write() as s:
        survey = surveys.create_survey(s, minimal, slug="svc", access="invitation")
        (invitation,) = invitations.create_invitations(s, survey, [{"email": "a@example.org"}])
    assert invitation.recipient == "a@example.org"
    saved = responses.store_page(db, survey, invitation, _save({"sat": 3.0}, final=False))
    assert saved.kind == "saved"
    assert responses.is_resume_code(saved.resume_code or "")
    typed = responses.format_code(saved.resume_code or "").lower()
    with db.sessions() as s:
        found = responses.by_resume_code(s, f" {typed} ")
        assert found is not None
        assert found.response_id == saved.response_id
        assert responses.stored_values(s, found.id) == {"sat": 3.0}
        assert responses.of_invitation(s, invitation) == (None, found)
    again = _save(COMPLETE, rid=saved.response_id)
    assert responses.store_page(db, survey, invitation, again).kind == "completed"
    assert responses.store_page(db, survey, invitation, again).kind == "already_complete"
    other = responses.store_page(db, survey, invitation, _save(COMPLETE))
    assert other.kind == "invitation_used"
    with db.sessions() as s:
        done, partial = responses.of_invitation(s, invitation)
        assert done is not None
        assert (done.response_id, partial) == (saved.response_id, None)
        assert s.scalar(select(func.count()).select_from(m.Response)) == 1


def test_a_response_id_of_another_survey_is_refused(any_app, minimal):
    db = any_app.extensions["manyi_db"]
    with db.write() as s:
        first = surveys.create_survey(s, minimal, slug="one")
        second = surveys.create_survey(s, minimal, slug="two")
    save = _save({"sat": 2.0}, final=False)
    assert responses.store_page(db, first, None, save).kind == "saved"
    with pytest.raises(responses.ResponseMismatch):
        responses.store_page(db, second, None, save)


@pytest.mark.parametrize(("minimum", "flagged"), [(60.0, False), (600.0, True)])
def test_the_minimum_time_is_an_argument(any_app, minimal, minimum, flagged):
    db = any_app.extensions["manyi_db"]
    with db.write() as s:
        survey = surveys.create_survey(s, minimal, slug="time")
    outcome = responses.store_page(db, survey, None, _save(COMPLETE), min_seconds=minimum)
    assert outcome.kind == "completed"
    with db.sessions() as s:
        stored = s.scalars(select(m.Response)).one()
    assert stored.suspect == ({"too_fast": True} if flagged else {})
