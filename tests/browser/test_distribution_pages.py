"""The distribution pages in a real browser: a researcher makes a branch link and turns
the anonymous link off and on with the confirmation box, and sends an interrupted
invitation again (its box ticked); the survey and invitations pages fit 320, 390 and
1366 px wide in both languages (no sideways scroll) and pass axe-core's serious and
critical checks. Screenshots go to ``$MANYI_SHOTS`` when set."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path

import pytest

import questionnaires as qn
from surveyapp import models as m
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey
from tests.browser.conftest import axe_violations
from tests.surveyapp.conftest import DATA, live_server, make_app
from tests.surveyapp.research_helpers import PASSWORD, add_response, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = os.environ.get("MANYI_SHOTS")


@pytest.fixture
def server(tmp_path):
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        WTF_CSRF_ENABLED=True,
        MESSAGE_ADAPTER="file",
        MESSAGE_OUTBOX=str(tmp_path / "outbox.jsonl"),
    )
    add_user(app, "res@example.org", "researcher")
    q = qn.load(DATA / "minimal.yaml")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        sv = create_survey(s, q, slug="counter", access="anonymous")
        rows = [
            {"email": f"kehu{i}@example.cn", "branch": b, "region": r}
            for i, (b, r) in enumerate(
                [("东区支行", "华东"), ("西区支行", "华西"), ("东区支行", "华东")]
            )
        ]
        invs = create_invitations(s, sv, rows)
        # the third was interrupted a day ago (a worker killed while it handed it over)
        invs[2].mails_claimed, invs[2].mail_claimed_at = 1, m.utcnow() - timedelta(days=1)
        sid, first, token = sv.id, invs[0].id, invs[1].token
    add_response(app, sid)
    add_response(app, sid, invitation_id=first, segments={"branch": "东区支行"})
    with live_server(app) as base:
        yield base, sid, token


def _login(page, base):
    page.goto(f"{base}/research/login")
    page.fill('input[name="email"]', "res@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/research/(\?.*)?$"))


def test_links_and_access_in_the_browser(server, chromium, axe_script):
    base, sid, _token = server
    context = chromium.new_context(locale="en-GB")
    page = context.new_page()
    _login(page, base)
    page.goto(f"{base}/research/surveys/{sid}?lang=en")
    page.fill('input[name="channel"]', "counter")
    page.fill('input[name="segments"]', "branch=east")
    page.click("text=New branch or channel link")
    page.wait_for_selector("text=created.")
    assert page.locator("tr[data-way] >> text=branch=east").count() == 1
    # the access change needs its box ticked (the browser refuses the form without it)
    page.click("text=Anonymous link off")
    assert page.locator('tr[data-way="anonymous"] >> text=works').count() == 1
    page.check('input[name="confirm"]')
    page.click("text=Anonymous link off")
    page.wait_for_selector("text=Only personal invitations answer now")
    assert page.locator('tr[data-way="anonymous"] >> text=off').count() == 1
    page.check('input[name="confirm"]')
    page.click("text=Anonymous link on")
    page.wait_for_selector("text=answer again")
    # the interrupted invitation: sent again only with the box ticked
    page.goto(f"{base}/research/surveys/{sid}/invitations?lang=en")
    page.click("text=Send the 1 interrupted message again")
    assert page.locator("[data-resend-interrupted]").count() == 1
    page.check('[data-resend-interrupted] input[name="confirm"]')
    page.click("text=Send the 1 interrupted message again")
    page.wait_for_selector("text=Sending 1 interrupted message again")
    assert "0 interrupted" in page.inner_text("[data-mail-progress]")
    assert page.locator("[data-resend-interrupted]").count() == 0
    context.close()


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_pages_fit_every_width(server, chromium, axe_script, lang, tmp_path):
    base, sid, token = server
    shots = Path(SHOTS) if SHOTS else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    locale = "zh-CN" if lang == "zh-Hans" else "en-GB"
    context = chromium.new_context(locale=locale, bypass_csp=True)  # axe is injected
    page = context.new_page()
    _login(page, base)
    page.goto(f"{base}/research/surveys/{sid}?lang={lang}")
    page.fill('input[name="channel"]', "poster")
    page.fill('input[name="segments"]', "branch=东区支行, region=华东")
    page.click('form[action$="/links"] button')
    page.wait_for_load_state()
    for width in (320, 390, 1366):
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (
            ("survey", f"/research/surveys/{sid}"),
            ("invitations", f"/research/surveys/{sid}/invitations"),
            ("opt-out", f"/o/{token}"),
            ("damaged-link", "/s/counter?k=forged.tag"),
        ):
            page.goto(f"{base}{path}{'&' if '?' in path else '?'}lang={lang}")
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            page.screenshot(path=str(shots / f"{name}-{lang}-{width}.png"), full_page=True)
            wide = page.evaluate(
                "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect()"
                ".right > document.documentElement.clientWidth + 0.5).map(e => e.tagName + '.'"
                " + e.className + ' ' + (e.name || '')).slice(0, 5)"
            )
            assert overflow <= 0, (name, width, overflow, wide)
            if width == 1366:
                assert axe_violations(page, axe_script) == [], (name, lang)
    context.close()
