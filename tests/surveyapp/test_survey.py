"""The respondent pages through the test client: rendering, validation, storage."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

import questionnaires as qn
from surveyapp import models as m
from surveyapp import survey
from surveyapp.services import responses as response_service
from surveyapp.services.responses import CODE_ALPHABET, CODE_LENGTH
from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page, shown_again


def responses(app: Flask) -> list[m.Response]:
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        rows = s.scalars(select(m.Response).order_by(m.Response.id)).all()
        for r in rows:
            _ = r.answers, r.survey
        return list(rows)


def n_answers(app: Flask) -> int:
    with app.extensions["manyi_db"].sessions() as s:
        return int(s.scalar(select(func.count()).select_from(m.Answer)) or 0)


def rid_of(html: str) -> str:
    found = re.search(r'name="response_id" value="([0-9a-f-]{36})"', html)
    assert found, "no response_id field in the page"
    return found.group(1)


def two_pages(q: qn.Questionnaire) -> qn.Questionnaire:
    """The minimal questionnaire with its items split over two pages."""
    data = q.to_dict()
    items = data["pages"][0]["items"]
    data["pages"] = [
        {"id": "p1", "title": {"zh-Hans": "第一页", "en": "First"}, "items": items[:2]},
        {"id": "p2", "title": {"zh-Hans": "第二页", "en": "Second"}, "items": items[2:]},
    ]
    return qn.from_dict(data)


EXPECTED = {
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
    "comment": "很好 <b>ok</b>",
}


def test_first_page_renders_fieldsets_matrix_and_a_fresh_uuid(app, client, minimal):
    add_survey(app, minimal)
    r = client.get("/s/demo")
    html = r.text
    assert r.status_code == 200
    assert '<html lang="zh-Hans">' in html  # the default language
    assert "设备现代化" in html
    assert "期望" in html
    assert "感知" in html
    assert html.count('<fieldset class="item item--matrix') == 2
    assert html.count("<legend") >= 2 + 4  # item legends + role legends
    assert 'name="a-tan1_e" value="7"' in html
    assert 'type="number"' in html
    assert "allocation__sum" in html
    uuid.UUID(rid_of(html), version=4)
    assert rid_of(client.get("/s/demo").text) == rid_of(html)  # a reload: the same
    assert rid_of(app.test_client().get("/s/demo").text) != rid_of(html)  # another browser
    assert responses(app) == []  # showing a page stores nothing


def test_valid_submit_stores_every_value_once(any_app, any_client, minimal):
    app, client = any_app, any_client
    add_survey(app, minimal)
    rid = rid_of(client.get("/s/demo?lang=en").text)
    r = post_page(client, "/s/demo", rid, VALID)
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/demo/thanks")
    assert "Thank you" in client.get(r.headers["Location"]).text
    [resp] = responses(app)
    assert resp.response_id == rid
    assert resp.status == "complete"
    assert resp.language == "en"
    assert resp.values() == EXPECTED
    assert resp.submitted_at is not None
    assert resp.resume_code


def test_double_submit_is_idempotent_and_keeps_the_first_values(any_app, any_client, minimal):
    app, client = any_app, any_client
    add_survey(app, minimal)
    rid = str(uuid.uuid4())
    assert post_page(client, "/s/demo", rid, VALID).status_code == 303
    changed = VALID | {"a-sat": "1"}
    assert post_page(client, "/s/demo", rid, changed).status_code == 303
    [resp] = responses(app)
    assert resp.values()["sat"] == 4.0
    assert n_answers(app) == len(EXPECTED)


@pytest.mark.parametrize(
    ("change", "item", "message"),
    [
        ({"a-tan1_p": ""}, "tan1", "needs an answer"),
        ({"a-tan1_p": "8"}, "tan1", "from 1 to 7"),
        ({"a-tan1_p": "4.5"}, "tan1", "from 1 to 7"),
        ({"a-imp_rel": "50"}, "imp", "add up to 100; they add up to 90"),
        ({"a-imp_rel": "-60"}, "imp", "from 0 to 100"),
        ({"a-branch": "gz"}, "branch", "one of the options"),
        ({"a-comment": "x" * 2001}, "comment", "Shorten this answer to 2000"),
        ({"a-comment": "bad\x00nul"}, "comment", "control characters"),
    ],
)
def test_invalid_page_shows_the_error_at_the_item_and_writes_nothing(
    any_app, any_client, minimal, change, item, message
):
    app, client = any_app, any_client
    add_survey(app, minimal)
    r = post_page(client, "/s/demo?lang=en", str(uuid.uuid4()), VALID | change)
    # Post/Redirect/Get also for a failed page: a reload of what follows posts nothing
    assert r.status_code == 303
    assert r.headers["Location"] == "/s/demo?page=0"
    assert responses(app) == []
    page = r.headers["Location"]
    for _ in range(2):  # shown again (and after a reload) as typed, with the messages
        r = client.get(page)
        assert r.status_code == 200
    html = r.text
    block = html[html.index(f'id="item-{item}"') :]
    block = block[: block.find('class="item ', 1)]  # up to the next item
    assert message in block
    assert f'id="err-{item}"' in block
    assert responses(app) == []
    assert n_answers(app) == 0
    # what was typed is shown again
    assert re.search(r'value="6" id="a-tan1_e-6"\s*checked', html)


def test_a_failed_page_is_kept_until_a_page_is_stored(app, client, minimal):
    """The typed page lives in the session between the failed POST and its GET (and
    reloads of it); storing a page forgets it, and another survey address ignores it."""
    add_survey(app, two_pages(minimal))
    rid = rid_of(client.get("/s/demo?lang=en").text)
    first = {k: v for k, v in VALID.items() if k.startswith(("a-tan", "a-rel"))}
    r = client.post(
        "/s/demo",
        data={"response_id": rid, "page": "0", "action": "next", **first} | {"a-tan1_p": "9"},
    )
    assert r.headers["Location"] == "/s/demo?page=0"
    assert "from 1 to 7" in client.get("/s/demo?page=0").text
    assert "from 1 to 7" in client.get("/s/demo").text  # the survey's link: the same page
    assert "from 1 to 7" not in client.get("/s/demo?k=x").text  # another address
    r = client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **first})
    assert r.headers["Location"] == "/s/demo?page=1"
    with client.session_transaction() as sess:
        assert survey.UNSENT_KEY not in sess
    page = client.get("/s/demo?page=0").text
    assert "from 1 to 7" not in page
    assert re.search(r'value="5" id="a-tan1_p-5"\s*checked', page)  # the stored answer


def test_a_failed_page_too_large_for_the_cookie_is_answered_directly(app, client, minimal):
    """Text that does not compress (here 2000 distinct CJK characters) would make the
    session cookie larger than browsers keep: the page is answered at once (422)."""
    add_survey(app, minimal)
    rid = rid_of(client.get("/s/demo?lang=en").text)
    long_text = "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(2000))
    r = post_page(client, "/s/demo", rid, VALID | {"a-comment": long_text, "a-sat": "9"})
    assert r.status_code == 422
    assert "from 1 to 5" in r.text
    assert long_text in r.text
    assert len(r.headers.get("Set-Cookie", "")) < 4096
    assert responses(app) == []


def test_a_failed_page_does_not_make_another_response_yours(app, client, minimal):
    """Posting someone's response id on a failed page shows it again with that id, but
    does not bind it to this browser: the next post of it is refused."""
    add_survey(app, two_pages(minimal))
    rid = rid_of(client.get("/s/demo?lang=en").text)
    first = {k: v for k, v in VALID.items() if k.startswith(("a-tan", "a-rel"))}
    client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **first})
    intruder = app.test_client()
    bad = {"response_id": rid, "page": "0", "action": "next", **first, "a-tan1_e": "9"}
    r = intruder.post("/s/demo?lang=en", data=bad)
    assert rid_of(shown_again(intruder, r).text) == rid
    r = intruder.post("/s/demo", data=bad | {"a-tan1_e": "1"})
    assert r.status_code == 403
    assert responses(app)[0].values()["tan1_e"] == 6.0


def test_optional_items_may_stay_empty(app, client, minimal):
    add_survey(app, minimal)
    data = {k: v for k, v in VALID.items() if k not in ("a-comment", "a-channel_web")}
    assert post_page(client, "/s/demo", str(uuid.uuid4()), data).status_code == 303
    values = responses(app)[0].values()
    assert "comment" not in values
    assert values["channel_app"] == 0.0
    assert values["channel_web"] == 0.0


def test_save_and_resume_by_link_and_code(any_app, any_client, minimal):
    app, client = any_app, any_client
    add_survey(app, minimal)
    rid = str(uuid.uuid4())
    partial = {"a-tan1_e": "3", "a-comment": "later"}
    r = post_page(client, "/s/demo?lang=en", rid, partial, action="save")
    assert r.status_code == 303  # Post/Redirect/Get: the code is shown by a GET
    assert r.headers["Location"].endswith("/s/demo?saved=1")
    r = client.get(r.headers["Location"])
    code = re.search(r'<strong id="resume-code">([A-Z0-9]{4}-[A-Z0-9]{4})</strong>', r.text).group(
        1
    )
    assert "work until" in r.text  # the expiry is said
    [resp] = responses(app)
    # a saved page stores its check boxes as 0/1: the respondent saw them
    expected = {"tan1_e": 3.0, "comment": "later", "channel_app": 0.0, "channel_web": 0.0}
    assert resp.status == "partial"
    assert resp.values() == expected
    # resume by the typed code (any case, with or without the dash), in another browser
    other = app.test_client()
    r = other.post("/resume", data={"code": code.lower()})
    assert r.status_code == 303
    r = other.get(r.headers["Location"])
    assert r.status_code == 303  # the code makes the response this browser's
    page = other.get(r.headers["Location"]).text
    assert rid_of(page) == rid
    assert re.search(r'value="3" id="a-tan1_e-3"\s*checked', page)
    assert ">later</textarea>" in page
    # and complete it
    assert post_page(other, "/s/demo", rid, VALID).status_code == 303
    [resp] = responses(app)
    assert resp.status == "complete"
    assert resp.values() == EXPECTED
    assert "Thank" in other.get(f"/r/{code}?lang=en").text


def test_bad_resume_codes(app, client, minimal):
    add_survey(app, minimal)
    assert client.post("/resume", data={"code": "nope"}).status_code == 422
    assert client.get("/r/ABCD2345?lang=en").status_code == 404


def test_pages_progress_back_and_missing_earlier_page(any_app, any_client, minimal):
    app, client = any_app, any_client
    q = two_pages(minimal)
    add_survey(app, q)
    html = client.get("/s/demo?lang=en").text
    assert 'max="2" value="1"' in html
    assert "Page 1 of 2" in html
    rid = rid_of(html)
    first = {k: v for k, v in VALID.items() if k.startswith(("a-tan", "a-rel"))}
    r = client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **first})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/demo?page=1")
    assert "Page 2 of 2" in client.get(r.headers["Location"]).text
    assert responses(app)[0].page_reached == 1
    r = client.post("/s/demo", data={"response_id": rid, "page": "1", "action": "back"})
    assert r.headers["Location"].endswith("/s/demo?page=0")
    r = client.get(r.headers["Location"])
    assert "Page 1 of 2" in r.text
    assert re.search(r'value="6" id="a-tan1_e-6"\s*checked', r.text)
    # someone posts the last page directly with a new id: the first page is still missing
    rid2 = str(uuid.uuid4())
    rest = {k: v for k, v in VALID.items() if k not in first}
    r = client.post("/s/demo", data={"response_id": rid2, "page": "1", "action": "submit", **rest})
    assert r.status_code == 303
    assert r.headers["Location"].endswith("/s/demo?page=0&missing=1")
    r = client.get(r.headers["Location"])
    assert "Page 1 of 2" in r.text
    assert 'id="err-tan1"' in r.text
    by_id = {x.response_id: x for x in responses(app)}
    assert by_id[rid2].status == "partial"
    assert "sat" in by_id[rid2].values()
    r = client.post("/s/demo", data={"response_id": rid2, "page": "0", "action": "next", **first})
    r = client.post("/s/demo", data={"response_id": rid2, "page": "1", "action": "submit", **rest})
    assert r.status_code == 303
    assert {x.response_id: x for x in responses(app)}[rid2].values() == EXPECTED


def test_browser_back_shows_stored_pages_and_the_thanks_after_submit(app, client, minimal):
    """GET ?page=N shows page N of this browser's response with its answers (never past
    the furthest page reached); after the submit every page's GET is the thanks page, and
    the survey's own link starts a new response."""
    add_survey(app, two_pages(minimal))
    rid = rid_of(client.get("/s/demo?lang=en").text)
    first = {k: v for k, v in VALID.items() if k.startswith(("a-tan", "a-rel"))}
    client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **first})
    page0 = client.get("/s/demo?page=0").text
    assert rid_of(page0) == rid
    assert re.search(r'value="6" id="a-tan1_e-6"\s*checked', page0)
    assert "Page 2 of 2" in client.get("/s/demo?page=1").text
    assert "Page 2 of 2" in client.get("/s/demo?page=9").text  # the furthest page
    # the survey's link again on this browser: page 1 with the answers, and a way on
    again = client.get("/s/demo").text
    assert rid_of(again) == rid
    assert 'href="/s/demo?page=1"' in again
    rest = {k: v for k, v in VALID.items() if k not in first}
    r = client.post("/s/demo", data={"response_id": rid, "page": "1", "action": "submit", **rest})
    assert r.headers["Location"].endswith("/s/demo/thanks")
    for url in ("/s/demo?page=1", "/s/demo?page=0"):
        assert "Thank you" in client.get(url).text
    assert rid_of(client.get("/s/demo").text) != rid


def test_partial_response_needs_its_browser_or_its_code(app, client, minimal):
    """Issue 22, item 6: knowing a partial response's id is not enough to change it."""
    add_survey(app, two_pages(minimal))
    rid = rid_of(client.get("/s/demo?lang=en").text)
    first = {k: v for k, v in VALID.items() if k.startswith(("a-tan", "a-rel"))}
    client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **first})
    intruder = app.test_client()
    changed = first | {"a-tan1_e": "1"}
    r = intruder.post(
        "/s/demo?lang=en", data={"response_id": rid, "page": "0", "action": "next", **changed}
    )
    assert r.status_code == 403
    assert "another browser" in r.text
    assert responses(app)[0].values()["tan1_e"] == 6.0
    # a forged cookie is ignored
    intruder.set_cookie(survey.RESUME_COOKIE, "eyJ4Ijoi" + rid)
    r = intruder.post(
        "/s/demo", data={"response_id": rid, "page": "0", "action": "next", **changed}
    )
    assert r.status_code == 403
    # the owner's browser goes on
    r = client.post("/s/demo", data={"response_id": rid, "page": "0", "action": "next", **changed})
    assert r.status_code == 303
    assert responses(app)[0].values()["tan1_e"] == 1.0


def test_resume_code_expires(app, client, minimal):
    add_survey(app, minimal)
    rid = str(uuid.uuid4())
    post_page(client, "/s/demo", rid, {"a-tan1_e": "3"}, action="save")
    [resp] = responses(app)
    with app.extensions["manyi_db"].write() as s:
        s.get(m.Response, resp.id).updated_at = m.utcnow() - timedelta(days=31)
    r = client.get(f"/r/{resp.resume_code}?lang=en")
    assert r.status_code == 410
    assert "expired" in r.text
    assert rid_of(client.get("/s/demo").text) != rid  # nor does the cookie continue it


def test_language_switch_keeps_typed_values(app, client, minimal):
    add_survey(app, minimal)
    rid = rid_of(client.get("/s/demo").text)
    r = post_page(client, "/s/demo", rid, {"a-tan1_e": "2"}, action="lang:en")
    assert r.status_code == 303
    r = client.get(r.headers["Location"])
    assert '<html lang="en">' in r.text
    assert "Modern equipment" in r.text
    assert re.search(r'value="2" id="a-tan1_e-2"\s*checked', r.text)
    assert rid_of(r.text) == rid
    [resp] = responses(app)
    assert resp.status == "partial"  # kept like a Back: nothing typed is lost
    assert 'class="error' not in r.text
    # the choice is remembered for later pages
    assert '<html lang="en">' in client.get("/s/demo").text


def test_survey_limited_to_one_language(app, client, minimal):
    add_survey(app, minimal, languages=["en"])
    assert '<html lang="en">' in client.get("/s/demo?lang=zh-Hans").text


def test_invitation_one_completed_response(any_app, any_client, minimal):
    app, client = any_app, any_client
    _, [token] = add_survey(app, minimal, invitations=1)
    assert client.get("/s/demo?lang=en").status_code == 403  # needs the personal link
    html = client.get(f"/i/{token}").text
    rid = rid_of(html)
    assert post_page(client, f"/i/{token}", rid, VALID).status_code == 303
    [resp] = responses(app)
    assert resp.segments == {"branch": "bj"}
    assert resp.invitation_id is not None
    assert resp.completed_invitation_id == resp.invitation_id
    assert "已经" in client.get(f"/i/{token}").text or "already" in client.get(f"/i/{token}").text
    r = post_page(client, f"/i/{token}?lang=en", str(uuid.uuid4()), VALID)
    assert r.status_code == 303
    assert "already been answered" in client.get(r.headers["Location"]).text
    assert len(responses(app)) == 1
    # a response id of the invitation cannot be replayed on the anonymous URL
    with app.extensions["manyi_db"].write() as s:
        s.get(m.Survey, resp.survey_id).access = "anonymous"
    assert post_page(client, "/s/demo", rid, VALID).status_code == 400


def test_invitation_resumes_its_partial_response(app, client, minimal):
    _, [token] = add_survey(app, minimal, invitations=1)
    rid = rid_of(client.get(f"/i/{token}").text)
    post_page(client, f"/i/{token}", rid, {"a-sat": "2"}, action="save")
    assert rid_of(client.get(f"/i/{token}").text) == rid


@pytest.mark.parametrize(
    ("changes", "status", "text"),
    [
        ({"status": "closed"}, 410, "closed"),
        ({"closes_at": -1}, 410, "closed"),
        ({"opens_at": +1}, 403, "not opened yet"),
        ({"status": "draft"}, 404, "Page not found"),
    ],
)
def test_closed_not_yet_and_draft(app, client, minimal, changes, status, text):
    now = m.utcnow()
    kw: dict[str, Any] = {}
    for k, v in changes.items():
        kw[k] = now + timedelta(days=v) if k.endswith("_at") else v
    add_survey(app, minimal, **kw)
    r = client.get("/s/demo?lang=en")
    assert r.status_code == status
    assert text in r.text
    r = post_page(client, "/s/demo", str(uuid.uuid4()), VALID)
    assert r.status_code == status
    assert responses(app) == []


def test_expired_invitation(app, client, minimal):
    _, [token] = add_survey(app, minimal, invitations=1)
    with app.extensions["manyi_db"].write() as s:
        inv = s.scalar(select(m.Invitation))
        inv.expires_at = m.utcnow() - timedelta(seconds=1)
    r = client.get(f"/i/{token}?lang=en")
    assert r.status_code == 410
    assert "expired" in r.text


def test_suspect_flags_mark_but_keep_the_response(app, client, minimal):
    add_survey(app, minimal)
    post_page(client, "/s/demo", str(uuid.uuid4()), VALID, website="http://spam")
    calm_id = str(uuid.uuid4())
    slow = _serializer_token(app, calm_id, time.time() - 60)
    post_page(client, "/s/demo", calm_id, VALID, started=slow)
    fast, calm = responses(app)[:2]
    assert fast.status == calm.status == "complete"
    assert fast.suspect == {"honeypot": True, "too_fast": True}
    assert calm.suspect == {}
    assert calm.duration_s >= 59
    # issue 22, item 7: the token counts for its own response only, and not for ever
    post_page(client, "/s/demo", str(uuid.uuid4()), VALID, started=slow)
    old_id = str(uuid.uuid4())
    old = _serializer_token(app, old_id, time.time() - survey.START_TOKEN_MAX_AGE - 60)
    post_page(client, "/s/demo", old_id, VALID, started=old)
    reused, expired = responses(app)[2:]
    assert reused.suspect == expired.suspect == {"too_fast": True}


def _serializer_token(app: Flask, rid: str, at: float) -> str:
    with app.test_request_context():
        return survey._start_token(rid, at)


@pytest.mark.parametrize(
    ("data", "status"),
    [
        ({"response_id": "not-a-uuid", "page": "0"}, 400),
        ({"response_id": str(uuid.uuid4()), "page": "9"}, 400),
        ({"response_id": str(uuid.uuid4()), "page": "x"}, 400),
        ({"response_id": str(uuid.uuid4()), "page": "0", "action": "delete"}, 400),
    ],
)
def test_malformed_posts_get_a_friendly_400(app, client, minimal, data, status):
    add_survey(app, minimal)
    r = client.post("/s/demo?lang=en", data=data)
    assert r.status_code == status
    assert "Bad request" in r.text
    assert "Traceback" not in r.text


@pytest.mark.parametrize(("lang", "text"), [("en", "Page not found"), ("zh-Hans", "找不到")])
def test_friendly_404_in_both_languages(client, lang, text):
    r = client.get(f"/s/nothing-here?lang={lang}")
    assert r.status_code == 404
    assert text in r.text


@pytest.mark.parametrize(("lang", "text"), [("en", "Something went wrong"), ("zh-Hans", "出错")])
def test_friendly_500_without_traceback(tmp_path, lang, text):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, PROPAGATE_EXCEPTIONS=False)

    @app.get("/boom")
    def boom() -> str:
        msg = "secret internal detail"
        raise RuntimeError(msg)

    r = app.test_client().get(f"/boom?lang={lang}")
    assert r.status_code == 500
    assert text in r.text
    assert "secret internal detail" not in r.text
    assert "Traceback" not in r.text


def test_resume_codes_draw_each_character_uniformly(monkeypatch):
    codes = [response_service.new_resume_code() for _ in range(3000)]
    assert {len(c) for c in codes} == {CODE_LENGTH}
    assert len(set(codes)) == len(codes)
    counts = Counter("".join(codes))
    assert set(counts) == set(CODE_ALPHABET)
    expected = len(codes) * CODE_LENGTH / len(CODE_ALPHABET)  # 800, sd about 28
    assert all(abs(n - expected) < 200 for n in counts.values())
    # bytes from 240 up would favour the first 16 characters (256 = 8 * 30 + 16): they
    # are dropped, and a short draw is topped up by another
    draws = iter([bytes([255, 250, 240] * 5 + [31]), bytes(range(16))])
    monkeypatch.setattr(response_service.secrets, "token_bytes", lambda n: next(draws))
    assert response_service.new_resume_code() == CODE_ALPHABET[1] + CODE_ALPHABET[:7]


def test_code_entry_shares_the_resume_limit(tmp_path, minimal):
    """Typing a code (POST /resume) and following a code link (/r/<code>) spend one
    budget, RESUME_RATE_LIMIT, on every method."""
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True, RESUME_RATE_LIMIT="3/minute"
    )
    add_survey(app, minimal)
    client = app.test_client()
    assert client.post("/resume", data={"code": "ABCD2345"}).status_code == 303
    assert client.get("/r/ABCD2345").status_code == 404
    assert client.get("/resume").status_code == 200
    assert client.post("/resume", data={"code": "ABCD2346"}).status_code == 429
    assert client.get("/r/ABCD2346").status_code == 429
