"""Every research and API route refuses anonymous users, each role that lacks its right,
and every member of another team.

The routes are read from the app's URL map, so a new route without ``requires()`` fails
here, and so does a route whose check does not refuse what it should. The data (study,
survey, responses, scoring run) belong to team A; the users of every role are in team B.
A route that names an object (``survey_id``, ``study_id``, ``pk``, ``response_id``,
``run_id``) must answer 404 to them (another team's object is not revealed); a page
without one must not show team A's survey or study.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from werkzeug.routing.converters import NumberConverter

from surveyapp.services.accounts import ROLES, allowed
from tests.surveyapp.conftest import make_app

GUARDED_BLUEPRINTS = ("research", "api", "reports", "people")
PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "static", "healthz"}


def _rules():
    with tempfile.TemporaryDirectory() as tmp:
        app = make_app({"DATABASE": Path(tmp) / "t.sqlite"})
        out = []
        for rule in app.url_map.iter_rules():
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((rule.endpoint, rule.rule, method))
        app.extensions["manyi_db"].dispose()
    return sorted(out)


RULES = _rules()
GUARDED = [r for r in RULES if r[0].split(".")[0] in GUARDED_BLUEPRINTS]


def test_every_route_is_guarded_or_known_public():
    unguarded = [
        r
        for r in RULES
        if r[0].split(".")[0] not in (*GUARDED_BLUEPRINTS, "survey", "distribution")
        and r[0] not in PUBLIC_ENDPOINTS
    ]
    assert unguarded == [], "add the route to a guarded blueprint or to PUBLIC_ENDPOINTS"
    assert len(GUARDED) >= 25


def test_every_guarded_view_names_its_permission(app):
    missing = [
        endpoint
        for endpoint, _rule, _m in GUARDED
        if not hasattr(app.view_functions[endpoint], "required_permission")
    ]
    assert missing == [], "wrap these views in requires(...)"


def _url(app, rule, data):
    values = {
        "survey_id": data["id"],
        "study_id": data["study_id"],
        "pk": data["responses"][0],
        "response_id": data["response_uuid"],
        "fmt": "html" if rule.endpoint == "reports.download" else "csv",
        "run_id": data["run_id"],
        "item_id": "tan1",
    }
    # arguments of other blueprints' routes: a value of the converter's type (the check
    # under test runs before the view looks anything up)
    for name in rule.arguments - values.keys():
        values[name] = 1 if isinstance(rule._converters[name], NumberConverter) else "x"
    return app.url_map.bind("localhost").build(
        rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments}
    )


@pytest.fixture
def data(app, survey_with_data):
    from surveyapp import models as m

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        team = m.Team(name="Team A")
        s.add(team)
        s.flush()
        study = m.Study(slug="st", name="Study of team A", team_id=team.id)
        s.add(study)
        s.flush()
        sv = s.get(m.Survey, survey_with_data["id"])
        sv.study_id = study.id
        sv.team_id = team.id
        resp = s.get(m.Response, survey_with_data["responses"][0])
        run = m.ScoringRun(
            survey_id=survey_with_data["id"],
            method="index",
            parameters={},
            parameters_hash="0" * 64,
            snapshot_hash="0" * 64,
            data_hash="0" * 64,
            status="done",
            result={},
        )
        s.add(run)
        s.flush()
        return {
            **survey_with_data,
            "team_id": team.id,
            "study_id": study.id,
            "response_uuid": resp.response_id,
            "run_id": run.id,
        }


@pytest.mark.parametrize(
    ("endpoint", "path", "method"), GUARDED, ids=[f"{m} {p}" for _e, p, m in GUARDED]
)
def test_route_refuses_whom_it_should(app, users, tokens, data, endpoint, path, method):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == path)
    url = _url(app, rule, data)
    need = app.view_functions[endpoint].required_permission
    api = endpoint.startswith("api.")
    form = {"confirm": "yes", "count": "1", "name": "n", "slug": "s2", "access": "invitation"}

    def call(role):
        client = app.test_client()
        headers = {}
        if role is not None and api:
            headers["Authorization"] = f"Bearer {tokens[role]}"
        elif role is not None:
            from tests.surveyapp.research_helpers import login

            assert login(client, users[role]).status_code == 303
        response = client.open(url, method=method, headers=headers, data=form)
        response.get_data()  # run a streamed body to its end
        response.close()
        return response

    anonymous = call(None)
    if api:
        assert anonymous.status_code == 401, url
    else:
        assert anonymous.status_code == 302, url
        assert "/research/login" in anonymous.headers["Location"]
    # strongest role last: a deleting route must be refused to the others before it runs
    for role in sorted(ROLES, key=ROLES.index):
        r = call(role)
        if allowed(role, need):
            assert r.status_code not in (401, 403), (role, url, r.status_code)
            assert "/research/login" not in r.headers.get("Location", ""), (role, url)
        else:
            assert r.status_code == 403, (role, url, r.status_code)


OBJECT_ARGUMENTS = {"survey_id", "study_id", "pk", "response_id", "run_id"}
MARKERS = ("wave1", "Study of team A")  # the survey's link code, the study's name


@pytest.fixture
def other_team(app, data):
    """A user of every role in team B (which owns nothing): role -> (e-mail, API token)."""
    from surveyapp import models as m
    from surveyapp.services.accounts import hash_password
    from tests.surveyapp.research_helpers import PASSWORD, add_token

    out = {}
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        team = m.Team(name="Team B")
        s.add(team)
        for role in ROLES:
            email = f"{role}-b@example.org"
            user = m.User(
                email=email, role=role, password_hash=hash_password(PASSWORD), teams=[team]
            )
            s.add(user)
            s.flush()
            out[role] = (email, add_token(s, user))
    return out


@pytest.mark.parametrize(
    ("endpoint", "path", "method"), GUARDED, ids=[f"{m} {p}" for _e, p, m in GUARDED]
)
def test_route_refuses_another_teams_member(app, data, other_team, endpoint, path, method):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and r.rule == path)
    url = _url(app, rule, data)
    need = app.view_functions[endpoint].required_permission
    api = endpoint.startswith("api.")
    names_object = bool(rule.arguments & OBJECT_ARGUMENTS)
    form = {"confirm": "yes", "count": "1", "name": "n", "slug": "s3", "access": "invitation"}
    # the administrator sees every team's data: another team means nothing to it
    for role in [r for r in ROLES if r != "admin" and allowed(r, need)]:
        email, token = other_team[role]
        client = app.test_client()
        headers = {}
        if api:
            headers["Authorization"] = f"Bearer {token}"
        else:
            from tests.surveyapp.research_helpers import login

            assert login(client, email).status_code == 303
        r = client.open(url, method=method, headers=headers, data=form)
        body = r.get_data(as_text=True)
        r.close()
        if names_object:
            assert r.status_code == 404, (role, method, url, r.status_code)
        else:
            assert r.status_code < 500, (role, method, url, r.status_code)
            for marker in MARKERS:
                assert marker not in body, (role, method, url, marker)
    # and the data are still there, untouched, for team A's administrator
    from surveyapp import models as m

    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        sv = s.get(m.Survey, data["id"])
        assert sv is not None
        assert sv.status == "open"
        assert s.get(m.Response, data["responses"][0]) is not None
