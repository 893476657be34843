"""The people and API-token pages in a real browser: no sideways scroll on a phone, no
serious accessibility violation (axe-core), in zh-Hans and en; an administrator
deactivates an account and its open session ends at its next page."""

from __future__ import annotations

import re

import pytest

from surveyapp.services import accounts
from tests.browser.conftest import axe_violations
from tests.surveyapp.conftest import live_server, make_app
from tests.surveyapp.research_helpers import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LONG = "a.researcher.with.a.rather.long.address@example.org"


@pytest.fixture
def server(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "admin@example.org", "admin")
    add_user(app, LONG, "researcher")
    with app.app_context():
        accounts.create_team("华东区域团队 East region")
        accounts.set_teams(LONG, ["华东区域团队 East region"])
        accounts.issue_token("admin@example.org", name="BI dashboard", scopes=["read"])
    with live_server(app) as base:
        yield app, base


def _login(context, base, email):
    page = context.new_page()
    page.goto(f"{base}/research/login")
    page.fill('input[name="email"]', email)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_url(re.compile(r"/research/(\?.*)?$"))
    return page


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
@pytest.mark.parametrize("width", [320, 390, 1366])
def test_people_pages_fit_and_pass_axe(server, chromium, axe_script, lang, width):
    _app, base = server
    context = chromium.new_context(
        viewport={"width": width, "height": 800},
        locale=lang,
        bypass_csp=True,  # for axe
    )
    page = _login(context, base, "admin@example.org")
    for path in ("/research/people", "/research/people/2", "/research/tokens"):
        page.goto(f"{base}{path}?lang={lang}")
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, (path, scroll)
        assert axe_violations(page, axe_script) == [], path
    context.close()


def test_deactivation_ends_an_open_session(server, chromium):
    _app, base = server
    admin = _login(chromium.new_context(locale="en"), base, "admin@example.org")
    researcher = _login(chromium.new_context(locale="en"), base, LONG)
    admin.goto(f"{base}/research/people/2?lang=en")
    admin.click("text=Deactivate")
    admin.wait_for_load_state()
    assert "Account deactivated" in admin.content()
    researcher.goto(f"{base}/research/")
    assert "/research/login" in researcher.url
