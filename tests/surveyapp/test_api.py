"""The JSON API: token auth, surveys, responses, exports, the OpenAPI description."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from sqlalchemy import select

from surveyapp import models as m
from surveyapp.api import rule_to_openapi
from tests.surveyapp.research_helpers import login


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_no_token_is_401_json(client):
    r = client.get("/api/v1/surveys")
    assert r.status_code == 401
    assert r.json == {"error": "authentication required", "status": 401}
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Basic abc", "Bearer ", "manyi_xyz"])
def test_wrong_token_is_401(client, tokens, header):
    assert client.get("/api/v1/me", headers={"Authorization": header}).status_code == 401


def test_session_cookie_does_not_authenticate_the_api(client, users):
    login(client, users["admin"])
    assert client.get("/research/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_inactive_user_token_is_refused(app, client, tokens, users):
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        s.scalar(select(m.User).where(m.User.email == users["viewer"])).active = False
    assert client.get("/api/v1/me", headers=bearer(tokens["viewer"])).status_code == 401


def test_me(client, tokens):
    r = client.get("/api/v1/me", headers=bearer(tokens["researcher"]))
    assert r.json["role"] == "researcher"


def test_surveys_and_counts(client, tokens, survey_with_data, minimal):
    r = client.get("/api/v1/surveys", headers=bearer(tokens["viewer"]))
    assert r.status_code == 200
    (item,) = r.json["items"]
    assert item["slug"] == "wave1"
    assert item["counts"]["complete"] == 2
    assert item["counts"]["quarantined"] == 1
    assert item["questionnaire"]["id"] == "minimal"
    one = client.get(f"/api/v1/surveys/{item['id']}", headers=bearer(tokens["viewer"])).json
    assert one["columns"] == list(minimal.columns())
    assert client.get("/api/v1/surveys/999", headers=bearer(tokens["viewer"])).json == {
        "error": "The requested URL was not found on the server. If you entered the URL "
        "manually please check your spelling and try again.",
        "status": 404,
    }


def test_responses_pages(client, tokens, survey_with_data):
    sid = survey_with_data["id"]
    h = bearer(tokens["viewer"])
    r = client.get(f"/api/v1/surveys/{sid}/responses?limit=1", headers=h).json
    assert r["total"] == 2
    assert len(r["items"]) == 1
    first = r["items"][0]
    assert first["values"]["sat"] == 4
    assert first["values"]["branch"] == "sh"
    assert first["segments"] == {"region": "N"}
    r2 = client.get(f"/api/v1/surveys/{sid}/responses?limit=1&after={r['next']}", headers=h).json
    assert r2["items"][0]["suspect"] == ["too_fast"]
    assert r2["next"] is not None
    r3 = client.get(f"/api/v1/surveys/{sid}/responses?after={r2['next']}", headers=h).json
    assert r3["items"] == []
    assert r3["next"] is None
    everything = client.get(
        f"/api/v1/surveys/{sid}/responses?status=all&quarantined=1", headers=h
    ).json
    assert len(everything["items"]) == 4
    one = client.get(f"/api/v1/responses/{first['response_id']}", headers=h).json
    assert one == first


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("status=odd", "status must be one of"),
        ("limit=0", "limit must be"),
        ("limit=5000", "limit must be"),
        ("after=-1", "after must be"),
    ],
)
def test_responses_bad_parameters(client, tokens, survey_with_data, query, message):
    r = client.get(
        f"/api/v1/surveys/{survey_with_data['id']}/responses?{query}",
        headers=bearer(tokens["viewer"]),
    )
    assert r.status_code == 400
    assert message in r.json["error"]


def test_export_through_the_api(app, client, tokens, survey_with_data):
    sid = survey_with_data["id"]
    assert (
        client.get(
            f"/api/v1/surveys/{sid}/export.csv", headers=bearer(tokens["viewer"])
        ).status_code
        == 403
    )
    r = client.get(f"/api/v1/surveys/{sid}/export.xlsx", headers=bearer(tokens["researcher"]))
    assert r.status_code == 200
    frame = pd.read_excel(io.BytesIO(r.data), sheet_name="responses")
    assert len(frame) == 2
    r = client.get(f"/api/v1/surveys/{sid}/export.json", headers=bearer(tokens["researcher"]))
    assert r.status_code == 404
    assert "format must be one of" in r.json["error"]
    with app.app_context(), app.extensions["manyi_db"].sessions() as s:
        entry = s.scalar(select(m.AuditLog).where(m.AuditLog.action == "exported"))
        assert entry.detail["format"] == "xlsx"
        assert entry.user_id is not None


def test_open_close_by_api_needs_manage_and_no_csrf(app, client, tokens, survey_with_data):
    sid = survey_with_data["id"]
    assert (
        client.post(f"/api/v1/surveys/{sid}/close", headers=bearer(tokens["viewer"])).status_code
        == 403
    )
    r = client.post(f"/api/v1/surveys/{sid}/close", headers=bearer(tokens["researcher"]))
    assert r.status_code == 200
    assert r.json["status"] == "closed"


def test_openapi_paths_equal_the_registered_routes(app, client, tokens):
    spec = client.get("/api/v1/openapi.json", headers=bearer(tokens["viewer"])).json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops}
    registered = {
        (rule_to_openapi(rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == registered


def test_openapi_documents_each_operations_permission(app, client, tokens):
    spec = client.get("/api/v1/openapi.json", headers=bearer(tokens["viewer"])).json
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        need = app.view_functions[rule.endpoint].required_permission
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            op = spec["paths"][rule_to_openapi(rule.rule)][method.lower()]
            assert f"`{need}`" in op["description"], rule.rule
