"""Fixtures of the researchers' side: accounts per role, logged-in clients, API tokens and
a survey with stored responses. Test modules load them with
``pytest_plugins = ["tests.surveyapp.conftest_research"]``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

import questionnaires as qn
from surveyapp import models as m
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey
from tests.surveyapp.research_helpers import (
    ANSWERS,
    ROLES,
    add_response,
    add_token,
    add_user,
    login,
)


@pytest.fixture
def users(app: Flask) -> dict[str, str]:
    """One account per role: role -> e-mail (password :data:`PASSWORD`)."""
    out = {}
    for role in ROLES:
        email = f"{role}@example.org"
        add_user(app, email, role)
        out[role] = email
    return out


@pytest.fixture
def client_as(app: Flask, users: dict[str, str]) -> Callable[[str | None], FlaskClient]:
    """A fresh test client logged in as ``role`` (``None``: anonymous)."""

    def make(role: str | None) -> FlaskClient:
        c = app.test_client()
        if role is not None:
            r = login(c, users[role])
            assert r.status_code == 303, r.get_data(as_text=True)
        return c

    return make


@pytest.fixture
def tokens(app: Flask, users: dict[str, str]) -> dict[str, str]:
    """An API token per role."""
    out = {}
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        for role, email in users.items():
            user = s.query(m.User).filter_by(email=email).one()
            out[role] = add_token(s, user)
    return out


@pytest.fixture
def survey_with_data(app: Flask, minimal: qn.Questionnaire) -> dict[str, Any]:
    """An open invitation survey of the minimal questionnaire: 4 invitations with segments,
    2 complete responses (one suspect), 1 partial, 1 quarantined."""
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, minimal, slug="wave1", access="invitation", wave="2026-Q1")
        invs = create_invitations(
            s,
            sv,
            [{"email": f"r{i}@example.org", "region": r} for i, r in enumerate("NNSS")],
        )
        survey_id = sv.id
        inv_ids = [i.id for i in invs]
    pks = [
        add_response(app, survey_id, invitation_id=inv_ids[0], segments={"region": "N"}),
        add_response(
            app,
            survey_id,
            {**ANSWERS, "comment": '=HYPERLINK("http://evil")', "sat": 2.0},
            invitation_id=inv_ids[1],
            segments={"region": "N"},
            suspect={"too_fast": True},
        ),
        add_response(app, survey_id, {"tan1_e": 3.0}, status="partial", segments={"region": "S"}),
        add_response(app, survey_id, quarantined=True, suspect={"honeypot": True}),
    ]
    return {"id": survey_id, "invitations": inv_ids, "responses": pks}
