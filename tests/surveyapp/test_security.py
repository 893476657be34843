"""Security: headers and CSP, CSRF, rate limits, and XSS payloads that stay inert."""

from __future__ import annotations

import re
import time
import uuid

import flask
import pytest
from markupsafe import escape
from sqlalchemy import func, select

import questionnaires as qn
from surveyapp import models as m
from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page

XSS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "javascript:alert(3)",
    "</textarea><svg onload=alert(4)>",
    "{{7*7}}",
]


def _pages(client) -> list[str]:
    rid = str(uuid.uuid4())
    return [
        client.get("/").text,
        client.get("/s/demo").text,
        client.get("/s/demo?lang=en").text,
        post_page(client, "/s/demo", rid, {**VALID, "a-sat": "9"}).text,
        client.get("/s/demo/thanks").text,
        client.get("/nowhere").text,
    ]


def test_security_headers_and_a_strict_csp(app, client, minimal):
    add_survey(app, minimal)
    r = client.get("/s/demo")
    csp = r.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in r.headers
    with client.get("/static/css/manyi.css") as css:
        assert css.headers["X-Content-Type-Options"] == "nosniff"


def test_oversized_post_gets_a_friendly_413(app, client, minimal):
    add_survey(app, minimal)
    r = post_page(
        client, "/s/demo?lang=en", str(uuid.uuid4()), VALID | {"a-comment": "x" * 2_000_000}
    )
    assert r.status_code == 413
    assert "Too much data" in r.text


def test_csrf_over_https_with_a_same_origin_referer(tmp_path, minimal):
    # behind HTTPS Flask-WTF also checks the Referer, which our policy still sends
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_survey(app, minimal)
    client = app.test_client()
    html = client.get("/s/demo", base_url="https://survey.example").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    data = {"response_id": str(uuid.uuid4()), "page": "0", "action": "submit", "csrf_token": token}
    no_referer = client.post("/s/demo", data=data | VALID, base_url="https://survey.example")
    assert no_referer.status_code == 400  # what "no-referrer" would do to every respondent
    r = client.post(
        "/s/demo",
        data=data | VALID,
        base_url="https://survey.example",
        headers={"Referer": "https://survey.example/s/demo"},
    )
    assert r.status_code == 303


def test_csrf_token_refused_when_missing_foreign_or_expired(tmp_path, minimal, monkeypatch):
    # the app's tokens last for the browser session (no time limit); here they expire
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True,
                   WTF_CSRF_TIME_LIMIT=3600)  # fmt: skip
    add_survey(app, minimal)
    base = "https://survey.example"
    client = app.test_client()
    html = client.get("/s/demo", base_url=base).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    same_site = {"Referer": f"{base}/s/demo"}

    def post(c, headers=same_site, csrf=token):
        data = {"response_id": str(uuid.uuid4()), "page": "0", "action": "submit"}
        data |= {"csrf_token": csrf} if csrf is not None else {}
        return c.post("/s/demo", data=data | VALID, base_url=base, headers=headers)

    assert post(client, headers={}).status_code == 400  # no Referer over HTTPS
    assert post(client).status_code == 303
    assert post(client).status_code == 303  # the same token again, as a respondent does
    assert post(client, headers={}).status_code == 400
    assert post(client, headers={"Referer": "https://elsewhere.example/s/demo"}).status_code == 400
    assert post(client, csrf=None).status_code == 400  # missing
    assert post(client, csrf=token[:-2] + ("AA" if token[-2:] != "AA" else "BB")).status_code == 400
    stranger = app.test_client()  # another session: the token is not theirs
    stranger.get("/s/demo", base_url=base)
    assert post(stranger).status_code == 400
    later = time.time() + app.config["WTF_CSRF_TIME_LIMIT"] + 2
    monkeypatch.setattr(time, "time", lambda: later)
    r = post(client)
    assert r.status_code == 400
    assert "session had expired" in r.text or "会话" in r.text
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 2


def test_a_tampered_or_expired_session_cookie_is_refused(tmp_path, monkeypatch):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})

    @app.get("/t/set/<key>/<value>")
    def set_value(key: str, value: str) -> str:
        flask.session[key] = value
        return "ok"

    @app.get("/t/get")
    def get_values() -> dict:
        return {k: v for k, v in flask.session.items() if k == "k"}

    client = app.test_client()
    client.get("/t/set/k/a")
    first = client.get_cookie("session").value
    assert client.get("/t/get").json == {"k": "a"}
    client.set_cookie("session", first[:-2] + ("AA" if first[-2:] != "AA" else "BB"))
    assert client.get("/t/get").json == {}  # tampered
    client.set_cookie("session", first)
    later = time.time() + app.permanent_session_lifetime.total_seconds() + 2
    monkeypatch.setattr(time, "time", lambda: later)
    assert client.get("/t/get").json == {}  # too old
    monkeypatch.undo()
    assert client.get("/t/get").json == {"k": "a"}
    app.secret_key = "another-secret"
    assert client.get("/t/get").json == {}  # signed with another key


def test_hsts_when_configured(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, HSTS=True)
    assert "max-age" in app.test_client().get("/").headers["Strict-Transport-Security"]


def test_no_inline_scripts_styles_or_handlers_anywhere(app, client, minimal):
    add_survey(app, minimal)
    for html in _pages(client):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
        assert not re.search(r"\sstyle\s*=", html)
        assert not re.search(r"\son[a-z]+\s*=", html)
        assert "<style" not in html
        assert "//cdn" not in html
        assert "https://" not in html


def test_csrf_is_required_on_every_form(tmp_path, minimal):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_survey(app, minimal)
    client = app.test_client()
    rid = str(uuid.uuid4())
    r = post_page(client, "/s/demo?lang=en", rid, VALID)
    # the page comes back with what was typed and a fresh token; nothing is stored
    assert r.status_code == 400
    assert "session had expired" in r.text
    assert re.search(r'value="6" id="a-tan1_e-6"\s*checked', r.text)
    assert f'value="{rid}"' in r.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 0
    r = post_page(client, "/s/demo", rid, VALID, csrf_token=token)
    assert r.status_code == 303
    r = post_page(client, "/s/nothing?lang=en", rid, VALID)
    assert r.status_code == 400
    assert "The form has expired" in r.text
    assert client.post("/resume", data={"code": "ABCD2345"}).status_code == 400
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 1


@pytest.mark.parametrize(("lang", "text"), [("en", "Too many requests"), ("zh-Hans", "过于频繁")])
def test_submissions_are_rate_limited(tmp_path, minimal, lang, text):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="3/minute"
    )
    add_survey(app, minimal)
    client = app.test_client()
    codes = [
        post_page(client, f"/s/demo?lang={lang}", str(uuid.uuid4()), VALID).status_code
        for _ in range(4)
    ]
    assert codes == [303, 303, 303, 429]
    r = post_page(client, f"/s/demo?lang={lang}", str(uuid.uuid4()), VALID)
    assert text in r.text
    # the limit covers every method of the answer routes (issue 14), reading included
    assert client.get("/s/demo").status_code == 429
    assert client.get("/resume").status_code == 200  # the resume pages' own budget


def test_resume_code_lookups_are_rate_limited(tmp_path, minimal):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, RESUME_RATE_LIMIT="5/minute"
    )
    client = app.test_client()
    codes = [client.get(f"/r/ABCD{n:04d}").status_code for n in range(6)]
    assert codes == [404] * 5 + [429]


def test_rate_limits_in_redis_when_configured(tmp_path, minimal):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url).flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis at {url} is unreachable ({exc})")
    limit = {"RATELIMIT_ENABLED": True, "SUBMIT_RATE_LIMIT": "2/minute"}
    # two app instances (two processes behind a load balancer) share the counters
    apps = [
        make_app({"DATABASE": tmp_path / f"{i}.sqlite"}, RATELIMIT_STORAGE_URI=url, **limit)
        for i in (1, 2)
    ]
    for a in apps:
        add_survey(a, minimal)
    codes = [
        post_page(a.test_client(), "/s/demo", str(uuid.uuid4()), VALID).status_code
        for a in (apps[0], apps[1], apps[0])
    ]
    assert codes == [303, 303, 429]
    redis.Redis.from_url(url).flushdb()


def _hostile(q: qn.Questionnaire, payload: str) -> qn.Questionnaire:
    data = q.to_dict()
    data["title"] = {"zh-Hans": payload, "en": payload}
    item = data["pages"][0]["items"][0]
    item["text"] = {"zh-Hans": payload, "en": payload}
    item["help"] = {"zh-Hans": payload, "en": payload}
    data["pages"][0]["title"] = {"zh-Hans": payload, "en": payload}
    for item in data["pages"][0]["items"]:
        for c in item.get("choices", []):
            c["label"] = {"zh-Hans": payload + c["code"], "en": payload + c["code"]}
    data["scales"][0]["labels"]["1"] = {"zh-Hans": payload, "en": payload}
    return qn.from_dict(data)


@pytest.mark.parametrize("payload", XSS)
def test_xss_in_questionnaire_text_and_answers_is_inert(app, client, minimal, payload):
    add_survey(app, _hostile(minimal, payload))
    rid = str(uuid.uuid4())
    answers = VALID | {"a-comment": payload}
    html = client.get("/s/demo?lang=en").text
    saved = post_page(client, "/s/demo", rid, answers, action="save").headers["Location"]
    code = re.search(r'<strong id="resume-code">([A-Z0-9-]{9})</strong>', client.get(saved).text)
    resumed = client.get(f"/r/{code.group(1)}", follow_redirects=True).text
    invalid = post_page(client, "/s/demo", rid, answers | {"a-sat": "99"}).text
    for page in (html, resumed, invalid, client.get("/s/demo/thanks").text):
        if "<" in payload:
            assert payload not in page
        assert "<script>alert" not in page
        assert "<img src=x" not in page
        assert "<svg onload" not in page
        assert "49" not in re.sub(r"[0-9a-f-]{36}|[A-Za-z0-9_.-]{40,}", "", page)
    assert str(escape(payload)) in resumed  # shown, as text
    with app.extensions["manyi_db"].sessions() as s:  # stored as typed, escaped on output
        assert s.scalar(select(m.Answer.text).where(m.Answer.column == "comment")) == payload
