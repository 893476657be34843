"""Every research and API route refuses anonymous users and each role that lacks its right.

The routes are read from the app's URL map, so a new route without ``requires()`` fails
here, and so does a route whose check does not refuse what it should.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from surveyapp.services.accounts import ROLES, allowed
from tests.surveyapp.conftest import make_app

GUARDED_BLUEPRINTS = ("research", "api", "reports")
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
        converter = type(rule._converters[name]).__name__
        values[name] = 1 if converter == "IntegerConverter" else "x"
    return app.url_map.bind("localhost").build(
        rule.endpoint, {k: v for k, v in values.items() if k in rule.arguments}
    )


@pytest.fixture
def data(app, survey_with_data):
    from surveyapp import models as m

    with app.app_context(), app.extensions["manyi_db"].write() as s:
        study = m.Study(slug="st", name="Study")
        s.add(study)
        s.flush()
        s.get(m.Survey, survey_with_data["id"]).study_id = study.id
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
