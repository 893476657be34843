"""Helpers of the researchers' side tests: accounts, logins, responses stored directly."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.accounts import SCOPES, hash_password, new_api_token

PASSWORD = "correct horse battery"
ROLES = ("admin", "researcher", "viewer")

ANSWERS = {
    "tan1_e": 6.0,
    "tan1_p": 5.0,
    "rel1_e": 7.0,
    "rel1_p": 4.0,
    "imp_tan": 40.0,
    "imp_rel": 60.0,
    "sat": 4.0,
    "branch": "sh",
    "channel_app": 0.0,
    "channel_web": 1.0,
    "comment": "很好",
}
"""A complete response to the minimal questionnaire, by export column."""


def add_user(app: Flask, email: str, role: str, password: str = PASSWORD) -> int:
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        user = m.User(email=email, role=role, password_hash=hash_password(password))
        s.add(user)
        s.flush()
        return user.id


def add_token(s: Any, user: m.User, scopes: tuple[str, ...] = SCOPES, **kwargs: Any) -> str:
    """Store an API token of ``user`` in the write session ``s``; return the token."""
    token, hashed = new_api_token()
    if user.id is None:
        s.flush()
    s.add(
        m.ApiToken(user_id=user.id, name="test", token_hash=hashed, scopes=list(scopes), **kwargs)
    )
    return token


def login(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    return client.post("/research/login", data={"email": email, "password": password})


def add_response(
    app: Flask,
    survey_id: int,
    values: dict[str, float | str] | None = None,
    *,
    status: str = "complete",
    invitation_id: int | None = None,
    suspect: dict[str, bool] | None = None,
    segments: dict[str, str] | None = None,
    quarantined: bool = False,
    seconds: float = 120.0,
) -> int:
    """Store a response directly (as the respondent pages would); return its primary key."""
    values = ANSWERS if values is None else values
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        now = m.utcnow()
        resp = m.Response(
            response_id=str(uuid.uuid4()),
            survey_id=survey_id,
            invitation_id=invitation_id,
            completed_invitation_id=invitation_id if status == "complete" else None,
            status=status,
            language="zh-Hans",
            started_at=now - timedelta(seconds=seconds),
            updated_at=now,
            submitted_at=now if status == "complete" else None,
            segments=dict(segments or {}),
            suspect=dict(suspect or {}),
            quarantined=quarantined,
        )
        s.add(resp)
        s.flush()
        for col, v in values.items():
            s.add(
                m.Answer(
                    response_pk=resp.id,
                    column=col,
                    num=None if isinstance(v, str) else float(v),
                    text=v if isinstance(v, str) else None,
                )
            )
        return resp.id


def migrated_database(tmp_path: Any, monkeypatch: Any) -> tuple[str, dbm.Database]:
    """A SQLite database in ``tmp_path`` brought to the head revision, and the environment
    of the ``manyi`` CLI pointed at it."""
    url = f"sqlite:///{tmp_path / 'manyi.sqlite'}"
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SECRET_KEY", "cli-test")
    database = dbm.Database(url)
    dbm.upgrade(database)
    return url, database
