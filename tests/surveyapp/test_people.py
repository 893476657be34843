"""People managed in the browser (issue 22, item 2): administrators create accounts and
teams, set roles and teams, set passwords, deactivate and re-activate, log accounts out
everywhere (each audited with the administrator as actor); everyone manages their own API
tokens; team members see only their teams' studies (issue 22, item 1, end to end)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services import accounts
from tests.surveyapp.research_helpers import PASSWORD, login

pytest_plugins = ["tests.surveyapp.conftest_research"]

NEW_PASSWORD = "a brand new password"
EN = {"Accept-Language": "en"}


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def _user(app, email):
    with app.app_context():
        return accounts.find_user(dbm.session(), email)


def _audit(app):
    with app.app_context():
        rows = dbm.session().execute(
            select(m.AuditLog.action, m.AuditLog.user_id).order_by(m.AuditLog.id)
        )
        return [(a, u) for a, u in rows]


def _teams(admin, *names):
    for name in names:
        assert admin.post("/research/people/teams", data={"team": name}).status_code == 303


def test_an_admin_creates_an_account_in_a_team(app, admin, users):
    _teams(admin, "North", "South")
    r = admin.post(
        "/research/people",
        data={
            "email": "new@example.org",
            "name": "New",
            "role": "researcher",
            "teams": ["North"],
            "password": PASSWORD,
        },
    )
    assert r.status_code == 303
    user = _user(app, "new@example.org")
    assert user.role == "researcher"
    page = admin.get("/research/people").text
    assert "new@example.org" in page
    assert "North" in page
    client = app.test_client()
    assert login(client, "new@example.org").status_code == 303
    admin_id = _user(app, users["admin"]).id
    assert ("created", admin_id) in _audit(app)
    assert ("teams_changed", admin_id) in _audit(app)


def test_a_duplicate_or_weak_account_is_refused_with_the_field_named(admin, users):
    r = admin.post(
        "/research/people",
        data={"email": users["viewer"], "role": "viewer", "password": PASSWORD},
        headers=EN,
    )
    assert r.status_code == 409
    assert "An account with this e-mail exists." in r.text
    r = admin.post(
        "/research/people", data={"email": "x@example.org", "role": "viewer", "password": "short"}
    )
    assert r.status_code == 422


def test_deactivation_logs_out_everywhere_and_reactivation_lets_in(app, admin, users, client_as):
    viewer = client_as("viewer")
    uid = _user(app, users["viewer"]).id
    assert admin.post(f"/research/people/{uid}/active", data={"active": "0"}).status_code == 303
    assert viewer.get("/research/").status_code == 302
    assert login(app.test_client(), users["viewer"]).status_code == 401
    assert admin.post(f"/research/people/{uid}/active", data={"active": "1"}).status_code == 303
    assert login(app.test_client(), users["viewer"]).status_code == 303
    actions = [a for a, _u in _audit(app)]
    assert "deactivated" in actions
    assert "reactivated" in actions


def test_an_admin_cannot_deactivate_itself(app, admin, users):
    uid = _user(app, users["admin"]).id
    r = admin.post(
        f"/research/people/{uid}/active", data={"active": "0"}, follow_redirects=True, headers=EN
    )
    assert "You cannot deactivate your own account" in r.text
    assert _user(app, users["admin"]).active


def test_a_password_set_by_an_admin_ends_the_sessions(app, admin, users, client_as):
    viewer = client_as("viewer")
    uid = _user(app, users["viewer"]).id
    r = admin.post(f"/research/people/{uid}/password", data={"password": NEW_PASSWORD})
    assert r.status_code == 303
    assert viewer.get("/research/").status_code == 302
    assert login(app.test_client(), users["viewer"]).status_code == 401
    assert login(app.test_client(), users["viewer"], NEW_PASSWORD).status_code == 303
    assert NEW_PASSWORD not in str([row for row in _audit(app)])


def test_role_and_team_changes_end_the_sessions(app, admin, users, client_as):
    _teams(admin, "North")
    viewer = client_as("viewer")
    uid = _user(app, users["viewer"]).id
    r = admin.post(f"/research/people/{uid}", data={"role": "researcher", "teams": ["North"]})
    assert r.status_code == 303
    assert viewer.get("/research/").status_code == 302
    user = _user(app, users["viewer"])
    assert user.role == "researcher"
    with app.app_context():
        assert [t.name for t in accounts.get_user(uid).teams] == ["North"]
    assert admin.post(f"/research/people/{uid}/logout").status_code == 303
    assert ("sessions_ended", _user(app, users["admin"]).id) in _audit(app)


def test_an_unknown_team_or_person_is_refused(admin):
    r = admin.post("/research/people/999999", data={"role": "viewer"})
    assert r.status_code == 404
    r = admin.post(
        "/research/people",
        data={"email": "y@example.org", "role": "viewer", "teams": ["Nope"], "password": PASSWORD},
    )
    assert r.status_code == 422


def test_teams_see_only_their_own_studies(app, admin, users):
    _teams(admin, "North", "South")
    for email, team in (("n@example.org", "North"), ("s@example.org", "South")):
        data = {"email": email, "role": "researcher", "teams": [team], "password": PASSWORD}
        assert admin.post("/research/people", data=data).status_code == 303
    north, south = app.test_client(), app.test_client()
    login(north, "n@example.org")
    login(south, "s@example.org")
    r = north.post("/research/studies/new", data={"name": "Northern study", "slug": "north"})
    assert r.status_code == 303
    study_url = r.headers["Location"]
    r = north.post(
        "/research/surveys/new",
        data={"builtin": "service_short", "slug": "north-w1", "access": "anonymous"},
    )
    assert r.status_code == 303
    survey_url = r.headers["Location"]
    assert "Northern study" in north.get("/research/studies").text
    assert "Northern study" not in south.get("/research/studies").text
    assert "north-w1" not in south.get("/research/").text
    assert south.get(study_url).status_code == 404
    assert south.get(survey_url).status_code == 404
    assert south.post(survey_url + "/close").status_code == 404
    assert admin.get(survey_url).status_code == 200  # administrators see every team
    with app.app_context():
        sv = dbm.session().scalar(select(m.Survey).where(m.Survey.slug == "north-w1"))
        team = dbm.session().scalar(select(m.Team).where(m.Team.name == "North"))
        assert sv.team_id == team.id


def test_own_api_tokens_are_made_listed_with_last_use_and_revoked(app, client_as):
    client = client_as("researcher")
    r = client.post("/research/tokens", data={"name": "bi", "scopes": ["read"], "days": "30"})
    assert r.status_code == 201
    token = re.search(r'<code class="token">(manyi_[^<]+)</code>', r.text).group(1)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    page = client.get("/research/tokens").text
    assert token not in page  # shown once only
    assert "bi" in page
    assert "never" not in page.split("<tbody>")[1].split("</tbody>")[0].split("<td>")[5]
    with app.app_context():
        (row,) = accounts.list_tokens("researcher@example.org")
    assert client.post(f"/research/tokens/{row.id}/revoke").status_code == 303
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # another user's token is not found
    other = client_as("viewer")
    assert other.post(f"/research/tokens/{row.id}/revoke").status_code == 404
