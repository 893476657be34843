"""Accounts: hashing, login, roles, session expiry, login rate limit, audit of logins."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.auth import requires
from surveyapp.services import accounts
from surveyapp.services.accounts import (
    ROLE_PERMISSIONS,
    allowed,
    hash_password,
    hash_token,
    new_api_token,
)
from tests.surveyapp.conftest import make_app
from tests.surveyapp.research_helpers import PASSWORD, add_user, login


def test_password_hash_is_argon2_and_salted():
    a, b = hash_password(PASSWORD), hash_password(PASSWORD)
    assert a.startswith("$argon2id$")
    assert a != b
    assert PASSWORD not in a


def test_short_password_is_refused():
    with pytest.raises(ValueError, match="at least 10 characters"):
        hash_password("short")


def test_token_hash_is_stable_and_token_is_random():
    t1, h1 = new_api_token()
    t2, _ = new_api_token()
    assert t1 != t2
    assert hash_token(t1) == h1
    assert len(t1) > 40


@pytest.mark.parametrize(
    ("role", "need", "ok"),
    [
        ("viewer", "view", True),
        ("viewer", "export", False),
        ("viewer", "manage", False),
        ("researcher", "export", True),
        ("researcher", "delete", False),
        ("researcher", "researcher", True),
        ("researcher", "admin", False),
        ("admin", "delete", True),
        ("admin", "viewer", True),
        ("nobody", "view", False),
    ],
)
def test_role_grants(role, need, ok):
    assert allowed(role, need) is ok


def test_admin_has_every_permission():
    assert ROLE_PERMISSIONS["admin"] >= ROLE_PERMISSIONS["researcher"] >= ROLE_PERMISSIONS["viewer"]


def test_requires_refuses_unknown_permission():
    with pytest.raises(ValueError, match="requires"):
        requires("fly")


def test_login_success_redirects_and_is_audited(app, client, users):
    r = login(client, users["researcher"])
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/research/")
    assert client.get("/research/").status_code == 200
    with app.app_context():
        s = app.extensions["manyi_db"].sessions()
        actions = s.scalars(select(m.AuditLog.action)).all()
        user = s.scalar(select(m.User).where(m.User.email == users["researcher"]))
    assert "logged_in" in actions
    assert user.last_login_at is not None


def test_login_is_case_insensitive_on_email(client, users):
    assert login(client, users["viewer"].upper()).status_code == 303


@pytest.mark.parametrize("email", ["viewer@example.org", "nobody@example.org"])
def test_wrong_password_or_unknown_user_same_answer(app, client, users, email):
    r = login(client, email, "wrong password!!")
    assert r.status_code == 401
    assert 'class="flash flash--error"' in r.get_data(as_text=True)
    assert client.get("/research/").status_code == 302
    with app.app_context():
        s = app.extensions["manyi_db"].sessions()
        assert "login_failed" in s.scalars(select(m.AuditLog.action)).all()


def test_inactive_user_cannot_log_in(app, client):
    uid = add_user(app, "gone@example.org", "admin")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.get(m.User, uid).active = False
    assert login(client, "gone@example.org").status_code == 401


def test_next_parameter_only_local(client, users):
    r = client.post(
        "/research/login?next=https://evil.example/x",
        data={"email": users["viewer"], "password": PASSWORD},
    )
    assert r.headers["Location"].endswith("/research/")
    client.post("/research/logout")
    r = client.post(
        "/research/login?next=/research/studies",
        data={"email": users["viewer"], "password": PASSWORD},
    )
    assert r.headers["Location"].endswith("/research/studies")


def test_anonymous_is_sent_to_login(client):
    r = client.get("/research/studies")
    assert r.status_code == 302
    assert "/research/login?next=" in r.headers["Location"]


def test_logout_ends_session(client, users):
    login(client, users["viewer"])
    assert client.post("/research/logout").status_code == 303
    assert client.get("/research/").status_code == 302


def test_session_expires_when_idle(app, client, users):
    login(client, users["viewer"])
    with client.session_transaction() as sess:
        sess["seen_at"] = time.time() - 3600 * 2
    r = client.get("/research/")
    assert r.status_code == 302
    assert client.get("/research/").status_code == 302  # stays logged out


def test_session_expires_after_lifetime(app, client, users):
    login(client, users["viewer"])
    with client.session_transaction() as sess:
        sess["auth_at"] = time.time() - 3600 * 13
    assert client.get("/research/").status_code == 302


def test_session_cookie_is_not_permanent_forever(app, client, users):
    r = login(client, users["viewer"])
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == 12 * 3600


def test_login_is_rate_limited(tmp_path):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3/minute"
    )
    client = app.test_client()
    codes = [login(client, "x@example.org", "wrong password!!").status_code for _ in range(5)]
    assert codes[:3] == [401, 401, 401]
    assert codes[3:] == [429, 429]


def test_login_form_needs_csrf(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "v@example.org", "viewer")
    client = app.test_client()
    r = login(client, "v@example.org")
    assert r.status_code in (400, 422)
    assert client.get("/research/").status_code == 302


# -- revocable sessions -------------------------------------------------------------------------
def _copy_of(app, client):
    """A second client holding a copy of ``client``'s session cookie (a stolen cookie)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def _revoke_by_logout(app, email):
    pass  # the logged-in client logs out below


def _revoke_by_reset(app, email):
    with app.app_context():
        accounts.reset_password(email, accounts.hash_password("another long password"))


def _revoke_by_role_change(app, email):
    with app.app_context():
        accounts.set_role(email, "researcher")


def _revoke_by_deactivation(app, email):
    with app.app_context():
        accounts.set_active(email, False)


def _revoke_by_teams(app, email):
    with app.app_context():
        accounts.create_team("T")
        accounts.set_teams(email, ["T"])


def _revoke_everywhere(app, email):
    with app.app_context():
        user = accounts.find_user(dbm.session(), email)
        accounts.end_sessions(user.id)


@pytest.mark.parametrize(
    "revoke",
    [
        _revoke_by_logout,
        _revoke_by_reset,
        _revoke_by_role_change,
        _revoke_by_deactivation,
        _revoke_by_teams,
        _revoke_everywhere,
    ],
)
def test_a_copied_session_cookie_ends_with_the_session(app, client, users, revoke):
    login(client, users["viewer"])
    thief = _copy_of(app, client)
    other_device = app.test_client()
    login(other_device, users["viewer"])
    assert thief.get("/research/").status_code == 200
    if revoke is _revoke_by_logout:
        assert client.post("/research/logout").status_code == 303
    else:
        revoke(app, users["viewer"])
    # the copy, the original and the other device are all logged out
    for c in (thief, client, other_device):
        r = c.get("/research/")
        assert r.status_code == 302, revoke.__name__
        assert "/research/login" in r.headers["Location"]


def test_sessions_of_other_users_survive_a_revocation(app, users, client_as):
    researcher = client_as("researcher")
    _revoke_by_reset(app, users["viewer"])
    assert researcher.get("/research/").status_code == 200


def test_logging_in_again_after_a_revocation_works(app, client, users):
    login(client, users["viewer"])
    client.post("/research/logout")
    assert login(client, users["viewer"]).status_code == 303
    assert client.get("/research/").status_code == 200


def test_deactivation_stops_the_api_token(app, users, tokens):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {tokens['viewer']}"}
    assert client.get("/api/v1/me", headers=auth).status_code == 200
    _revoke_by_deactivation(app, users["viewer"])
    assert client.get("/api/v1/me", headers=auth).status_code == 401


def test_a_cookie_of_the_old_form_is_refused(app, client, users):
    login(client, users["viewer"])
    with client.session_transaction() as sess:
        sess["_user_id"] = sess["_user_id"].split(":")[0]  # "<id>" without its version
    assert client.get("/research/").status_code == 302


def test_revocations_are_audited(app, users):
    _revoke_by_deactivation(app, users["viewer"])
    _revoke_everywhere(app, users["researcher"])
    with app.app_context():
        actions = set(dbm.session().scalars(select(m.AuditLog.action)))
    assert {"deactivated", "sessions_ended"} <= actions


# -- API tokens: expiry, scopes, revocation, last use -----------------------------------------
def _token(app, email, **kwargs):
    with app.app_context():
        return accounts.issue_token(email, **kwargs)


def _get(app, token, path="/api/v1/me"):
    return app.test_client().get(path, headers={"Authorization": f"Bearer {token}"})


def test_a_token_works_until_it_is_revoked(app, users):
    token = _token(app, users["researcher"], name="bi")
    assert _get(app, token).status_code == 200
    with app.app_context():
        (row,) = accounts.list_tokens(users["researcher"])
        accounts.revoke_token(users["researcher"], row.id)
        assert accounts.list_tokens(users["researcher"])[0].state() == "revoked"
    assert _get(app, token).status_code == 401


def test_an_expired_token_is_refused(app, users):
    token = _token(app, users["viewer"], days=1)
    assert _get(app, token).status_code == 200
    with app.app_context(), dbm.get_db().write() as s:
        row = s.scalar(select(m.ApiToken))
        row.expires_at = m.utcnow() - timedelta(seconds=1)
    assert _get(app, token).status_code == 401


def test_a_token_does_only_what_its_scopes_cover(app, users, survey_with_data):
    sid = survey_with_data["id"]
    read_only = _token(app, users["admin"], scopes=["read"])
    assert _get(app, read_only, f"/api/v1/surveys/{sid}").status_code == 200
    assert _get(app, read_only, f"/api/v1/surveys/{sid}/export.csv").status_code == 403
    client = app.test_client()
    close = client.post(
        f"/api/v1/surveys/{sid}/close", headers={"Authorization": f"Bearer {read_only}"}
    )
    assert close.status_code == 403
    export = _token(app, users["admin"], scopes=["read", "export"])
    assert _get(app, export, f"/api/v1/surveys/{sid}/export.csv").status_code == 200
    # the scopes narrow the role, never widen it
    viewer_manage = _token(app, users["viewer"], scopes=["manage"])
    assert _get(app, viewer_manage, f"/api/v1/surveys/{sid}").status_code == 403


def test_the_last_use_is_recorded(app, users):
    token = _token(app, users["viewer"])
    with app.app_context():
        assert accounts.list_tokens(users["viewer"])[0].last_used_at is None
    _get(app, token)
    with app.app_context():
        used = accounts.list_tokens(users["viewer"])[0].last_used_at
    assert used is not None
    assert (m.utcnow() - used).total_seconds() < 60


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scopes": ["root"]}, "scopes are one or more of read, export, manage"),
        ({"scopes": []}, "scopes are one or more of"),
        ({"days": 0}, "a token lives 1 to 730 days"),
        ({"days": 5000}, "a token lives 1 to 730 days"),
    ],
)
def test_bad_token_requests_are_refused(app, users, kwargs, message):
    with pytest.raises(accounts.AccountError, match=message):
        _token(app, users["viewer"], **kwargs)


def test_token_changes_are_audited(app, users):
    _token(app, users["viewer"])
    with app.app_context():
        (row,) = accounts.list_tokens(users["viewer"])
        accounts.revoke_token(users["viewer"], row.id)
        records = list(dbm.session().scalars(select(m.AuditLog)))
    actions = [r.action for r in records]
    assert actions[-2:] == ["token_issued", "token_revoked"]
    assert all("manyi_" not in str(r.detail) for r in records)  # never the token itself
