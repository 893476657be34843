"""The researchers' preview on a phone and a desktop side by side, in Chromium.

The devices page frames the survey twice (390 px and 1366 px wide, scaled); the survey's
pages allow framing by this origin only while previewed, so both frames must show the
form under the app's real CSP. At 390 and 1366 px, zh-Hans and en: no sideways scroll,
no serious or critical axe violation, a screenshot under ``test-artifacts/browser/``.
"""

from __future__ import annotations

import re

import pytest

import questionnaires as qn
from tests.browser.test_survey_pages import ARTIFACTS, AXE_RUN, check_layout
from tests.surveyapp.conftest import add_survey, live_server, make_app
from tests.surveyapp.research_helpers import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = make_app({"DATABASE": tmp_path_factory.mktemp("preview") / "t.sqlite"})
    survey_id, _ = add_survey(app, qn.builtin("servqual22"), status="draft")
    add_user(app, "res@example.org", "researcher")
    with live_server(app) as base:
        yield base, survey_id


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/research/login")
    page.fill('input[name="email"]', "res@example.org")
    page.fill('input[name="password"]', PASSWORD)
    with page.expect_navigation():
        page.click('button[type="submit"]')


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_preview_frames_show_the_draft_on_both_devices(chromium, site, axe_script, lang, width):
    base, survey_id = site
    folder = ARTIFACTS / "preview"
    folder.mkdir(parents=True, exist_ok=True)
    # the app's own CSP (no bypass): the frames must be allowed by it
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    _log_in(page, base)
    page.goto(f"{base}/research/surveys/{survey_id}/preview/devices?lang={lang}")
    for frame_id, frame_width in (("frame-phone", 390), ("frame-desktop", 1366)):
        frame = page.frame_locator(f"#{frame_id}")
        frame.locator("#page-form").wait_for()
        assert frame.locator("#preview-banner").count() == 1
        inner = page.locator(f"#{frame_id}").evaluate(
            "f => f.contentDocument.documentElement.clientWidth"
        )
        assert inner == frame_width
    if width == 1366:  # side by side
        phone = page.locator("#frame-phone").bounding_box()
        desktop = page.locator("#frame-desktop").bounding_box()
        assert abs(phone["y"] - desktop["y"]) < 2
        assert desktop["x"] > phone["x"] + phone["width"]
    check_layout(page, width, folder / f"devices-{lang}-{width}.png")
    context.close()

    audit = chromium.new_context(viewport={"width": width, "height": 900}, bypass_csp=True)
    audit.add_init_script(path=str(axe_script))
    page = audit.new_page()
    _log_in(page, base)
    page.goto(f"{base}/research/surveys/{survey_id}/preview/devices?lang={lang}")
    page.frame_locator("#frame-desktop").locator("#page-form").wait_for()
    assert page.evaluate(AXE_RUN) == []
    audit.close()


def test_the_survey_page_links_to_the_devices_preview(chromium, site):
    base, survey_id = site
    context = chromium.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    _log_in(page, base)
    page.goto(f"{base}/research/surveys/{survey_id}?lang=en")
    with page.expect_navigation():
        page.click("#preview-link")
    assert re.search(r"/preview/devices$", page.url)
    page.frame_locator("#frame-phone").locator("#page-form").wait_for()
    context.close()
