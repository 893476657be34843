"""``manyi users create | list | set-role | reset-password | token`` on a migrated database."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.services.accounts import hash_token, verify_password
from tests.surveyapp.research_helpers import migrated_database

PW = "a long enough password"


@pytest.fixture
def env(tmp_path, monkeypatch):
    _url, database = migrated_database(tmp_path, monkeypatch)
    yield database
    database.dispose()


def run(*args, input=None):
    return CliRunner().invoke(main, ["users", *args], input=input, catch_exceptions=False)


def user(database, email):
    with database.sessions() as s:
        return s.scalar(select(m.User).where(m.User.email == email))


def actions(database):
    with database.sessions() as s:
        return [(a.action, a.object_type) for a in s.scalars(select(m.AuditLog))]


def test_create_list_set_role_reset(env):
    r = run("create", "Ana@Example.org", "--role", "admin", "--name", "Ana", input=f"{PW}\n{PW}\n")
    assert r.exit_code == 0, r.output
    u = user(env, "ana@example.org")
    assert u.role == "admin"
    assert u.name == "Ana"
    assert verify_password(u, PW)
    assert PW not in u.password_hash

    r = run("list")
    assert "ana@example.org" in r.output
    assert "admin" in r.output

    assert run("set-role", "ana@example.org", "viewer").exit_code == 0
    assert user(env, "ana@example.org").role == "viewer"

    new = "another long password"
    assert run("reset-password", "ana@example.org", input=f"{new}\n{new}\n").exit_code == 0
    u = user(env, "ana@example.org")
    assert verify_password(u, new)
    assert not verify_password(u, PW)
    assert [a for a, _ in actions(env)] == ["created", "role_changed", "password_reset"]


def test_token_is_printed_once_and_stored_hashed(env):
    run("create", "t@example.org", "--password", PW)
    r = run("token", "t@example.org")
    assert r.exit_code == 0
    token = r.stdout.strip().splitlines()[0]
    assert token.startswith("manyi_")
    with env.sessions() as s:
        stored = s.scalar(select(m.ApiToken))
    assert stored.token_hash == hash_token(token)
    assert stored.scopes == ["read", "export", "manage"]
    assert stored.expires_at is not None
    r2 = run("token", "t@example.org", "--scope", "read", "--days", "0", "--name", "bi")
    assert r2.stdout.strip().splitlines()[0] != token  # a second token beside the first


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("create", "x@example.org", "--password", "short"), "at least 10 characters"),
        (("create", "not-an-email", "--password", PW), "is not an e-mail address"),
        (("set-role", "nobody@example.org", "admin"), "no user with the e-mail"),
        (("token", "nobody@example.org"), "no user with the e-mail"),
        (("set-role", "x@example.org", "king"), "Invalid value"),
    ],
)
def test_errors_exit_2_with_one_message(env, args, message):
    r = CliRunner().invoke(main, ["users", *args])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output


def test_duplicate_user_is_refused(env):
    run("create", "d@example.org", "--password", PW)
    r = CliRunner().invoke(main, ["users", "create", "D@example.org", "--password", PW])
    assert r.exit_code == 2
    assert "exists" in r.output


def test_unmigrated_database_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.sqlite'}")
    monkeypatch.setenv("SECRET_KEY", "x")
    r = CliRunner().invoke(main, ["users", "list"])
    assert r.exit_code == 2
    assert "manyi db upgrade" in r.output
