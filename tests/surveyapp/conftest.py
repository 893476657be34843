"""Fixtures of the web-app tests: an app per test on SQLite, and the same on PostgreSQL.

``app``/``client``/``runner`` follow Flask's tutorial (STYLE.md). ``any_app`` runs a test
on SQLite and on PostgreSQL (``postgresql+psycopg://postgres@127.0.0.1:5432/test`` or
``$MANYI_TEST_POSTGRES``): a database of its own is created for the session through
Alembic, and emptied between tests. When the server is unreachable those runs are
skipped with the reason, except in CI (``CI=true``), where that is a failure.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, text

import questionnaires as qn
from surveyapp import create_app
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey

DATA = Path(__file__).resolve().parents[1] / "questionnaires" / "data"
PG_ADMIN_URL = os.environ.get(
    "MANYI_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@pytest.fixture(scope="session")
def minimal() -> qn.Questionnaire:
    return qn.load(DATA / "minimal.yaml")


def make_app(database: dict[str, Any], **extra: Any) -> Flask:
    config = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "MIN_SECONDS": 5.0,
    }
    config.update(database)
    config.update(extra)
    return create_app(config)


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return make_app({"DATABASE": tmp_path / "t.sqlite"})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (migrated by Alembic), dropped after."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "unreachable"
        admin.dispose()
        reason = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({type(exc).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    name = f"manyi_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    database = dbm.Database(url)
    dbm.upgrade(database)
    database.dispose()
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _truncate(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(f'"{t.name}"' for t in m.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Flask]:
    """The app on SQLite, then on PostgreSQL."""
    if request.param == "sqlite":
        yield make_app({"DATABASE": tmp_path / "t.sqlite"})
        return
    url = request.getfixturevalue("postgres_url")
    _truncate(url)
    app = make_app({"DATABASE_URL": url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path})
    yield app
    app.extensions["manyi_db"].dispose()


def add_survey(
    app: Flask, q: qn.Questionnaire, *, slug: str = "demo", invitations: int = 0, **kwargs: Any
) -> tuple[int, list[str]]:
    """Store a survey of ``q``; return its id and the invitation tokens."""
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        access = "invitation" if invitations else kwargs.pop("access", "anonymous")
        survey = create_survey(s, q, slug=slug, access=access, **kwargs)
        invs = create_invitations(s, survey, [{"branch": "bj"} for _ in range(invitations)])
        return survey.id, [i.token for i in invs]


VALID = {
    "a-tan1_e": "6",
    "a-tan1_p": "5",
    "a-rel1_e": "7",
    "a-rel1_p": "4",
    "a-imp_tan": "40",
    "a-imp_rel": "60",
    "a-sat": "4",
    "a-branch": "sh",
    "a-channel_web": "y",
    "a-comment": "很好 <b>ok</b>",
}
"""A complete, valid post of the minimal questionnaire's only page."""


def post_page(client: FlaskClient, url: str, rid: str, data: dict[str, str], **extra: str) -> Any:
    form = {"response_id": rid, "page": "0", "action": "submit", **data, **extra}
    return client.post(url, data=form)


def shown_again(client: FlaskClient, r: Any) -> Any:
    """The GET a page that failed its checks redirects to (Post/Redirect/Get): the page
    again, as typed, with its messages."""
    assert r.status_code == 303, r.status_code
    again = client.get(r.headers["Location"])
    assert again.status_code == 200
    return again


@contextmanager
def live_server(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free loopback port with a threaded WSGI server; yield its URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture
def any_client(any_app: Flask) -> FlaskClient:
    return any_app.test_client()
