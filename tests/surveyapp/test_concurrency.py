"""Parallel respondents against a real threaded server: every response stored exactly once.

50 respondents with their own invitation submit at the same moment, while one more
invitation token is submitted 10 times in parallel (5 separate browsers with their own
response ids, 5 double clicks of one browser sharing one id): exactly 51 completed
responses, each with all its answers. The same on an anonymous link (the submission hot
path). Runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from surveyapp import models as m
from tests.surveyapp.conftest import VALID, add_survey, live_server, make_app

pytestmark = pytest.mark.slow


class Browser:
    """A respondent's browser: its own cookies (session, CSRF)."""

    def __init__(self, base: str) -> None:
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), _NoRedirect()
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=60) as r:
            return r.read().decode()

    def post(self, path: str, data: dict[str, str]) -> int:
        body = urllib.parse.urlencode(data).encode()
        try:
            with self.opener.open(self.base + path, data=body, timeout=60) as r:
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None


def hidden(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no {name} in page"
    return found.group(1)


def form_of(html: str) -> dict[str, str]:
    return {
        "csrf_token": hidden(html, "csrf_token"),
        "response_id": hidden(html, "response_id"),
        "page": "0",
        "started": hidden(html, "started"),
        "action": "submit",
        **VALID,
    }


@pytest.fixture
def csrf_app(any_app):
    any_app.config["WTF_CSRF_ENABLED"] = True
    return any_app


def test_parallel_submissions_store_each_response_once(csrf_app, minimal):
    app = csrf_app
    _, tokens = add_survey(app, minimal, invitations=51)
    shared = tokens[-1]
    with live_server(app) as base:
        jobs: list[tuple[Browser, str, dict[str, str]]] = []
        for token in tokens[:50]:
            b = Browser(base)
            jobs.append((b, f"/i/{token}", form_of(b.get(f"/i/{token}"))))
        for _ in range(5):  # separate browsers on the same token
            b = Browser(base)
            jobs.append((b, f"/i/{shared}", form_of(b.get(f"/i/{shared}"))))
        b = Browser(base)
        double = form_of(b.get(f"/i/{shared}"))
        jobs.extend((b, f"/i/{shared}", double) for _ in range(5))  # double clicks
        barrier = threading.Barrier(len(jobs))

        def submit(job: tuple[Browser, str, dict[str, str]]) -> int:
            browser, path, data = job
            barrier.wait()
            return browser.post(path, data)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            statuses = list(pool.map(submit, jobs))

    assert statuses[:50] == [303] * 50
    assert set(statuses[50:]) <= {303, 409}
    assert 303 in statuses[50:]
    complete = _completed_with_all_answers(app)
    assert len(complete) == 51
    assert len({r.completed_invitation_id for r in complete}) == 51
    with app.extensions["manyi_db"].sessions() as s:
        inv = s.scalar(select(m.Invitation).where(m.Invitation.token == shared))
        assert inv.used_at is not None


def _completed_with_all_answers(app) -> list[m.Response]:
    """The completed responses, after checking that each has all 11 answers and that no
    other response has any (nothing half-written)."""
    with app.extensions["manyi_db"].sessions() as s:
        complete = s.scalars(select(m.Response).where(m.Response.status == "complete")).all()
        per_response = dict(
            s.execute(
                select(m.Answer.response_pk, func.count()).group_by(m.Answer.response_pk)
            ).all()
        )
    assert all(per_response[r.id] == 11 for r in complete)
    assert set(per_response) == {r.id for r in complete}
    return list(complete)


def test_parallel_anonymous_submissions_store_each_response_once(csrf_app, minimal):
    """The same on an anonymous link, whose first saves take the bare-driver path with
    the short survey cache: 50 respondents at once, and one browser double-clicking 10
    times: exactly 51 completed responses, each with all its answers."""
    app = csrf_app
    add_survey(app, minimal)
    with live_server(app) as base:
        jobs: list[tuple[Browser, dict[str, str]]] = []
        for _ in range(50):
            b = Browser(base)
            jobs.append((b, form_of(b.get("/s/demo"))))
        b = Browser(base)
        double = form_of(b.get("/s/demo"))
        jobs.extend((b, double) for _ in range(10))
        barrier = threading.Barrier(len(jobs))

        def submit(job: tuple[Browser, dict[str, str]]) -> int:
            browser, data = job
            barrier.wait()
            return browser.post("/s/demo", data)

        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            statuses = list(pool.map(submit, jobs))

    assert statuses == [303] * 60  # a repeated submit gets the thank-you page too
    complete = _completed_with_all_answers(app)
    assert len(complete) == 51
    assert len({r.response_id for r in complete}) == 51
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 51


def test_direct_store_race_on_one_new_response_id(any_app, minimal):
    """Two threads create the same new response at once: one row, one set of answers."""
    from datetime import UTC, datetime

    from surveyapp.services.responses import PageSave, store_page

    app = any_app
    survey_id, _ = add_survey(app, minimal)
    db = app.extensions["manyi_db"]
    with db.sessions() as s:
        survey = s.get(m.Survey, survey_id)
        _ = survey.snapshot
    save = PageSave(
        response_id="0b5f1c1e-8a4b-4c7e-9d51-2f3a4b5c6d7e",
        page_index=0,
        values={"tan1_e": 5.0, "sat": 3.0},
        final=False,
        language="en",
        started_at=datetime.now(UTC),
    )
    barrier = threading.Barrier(8)

    def run() -> str:
        barrier.wait()
        with app.app_context():
            return store_page(db, survey, None, save).kind

    with ThreadPoolExecutor(8) as pool:
        kinds = list(pool.map(lambda _: run(), range(8)))
    assert kinds == ["saved"] * 8
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 1
        assert s.scalar(select(func.count()).select_from(m.Answer)) == 2


def test_make_app_is_isolated(tmp_path):
    # the fixture factory gives each test its own empty database
    app = make_app({"DATABASE": tmp_path / "x.sqlite"})
    with app.extensions["manyi_db"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Response)) == 0
