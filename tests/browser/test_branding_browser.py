"""A branded survey as respondents meet it (issue 15 item 8): at 320 and 1366 px, in
zh-Hans and en, the header shows the organisation's logo and name in the study's colour
under the app's strict CSP (no inline style: the brand is a stylesheet file), nothing
scrolls sideways, and axe finds no serious or critical violation."""

from __future__ import annotations

import pytest

import questionnaires as qn
from surveyapp import models as m
from tests.browser.test_survey_pages import ARTIFACTS, AXE_RUN, check_layout
from tests.surveyapp.conftest import add_survey, live_server, make_app
from tests.surveyapp.services.test_branding import image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORG = "东方商业银行股份有限公司 Eastern Commercial Bank Corporation"
SIZES = {"320": (320, 640), "1366": (1366, 900)}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    app = make_app({"DATABASE": tmp_path_factory.mktemp("brand") / "t.sqlite"}, MIN_SECONDS=0.0)
    sid, _ = add_survey(app, qn.builtin("servqual22"), slug="branded")
    add_survey(app, qn.builtin("servqual22"), slug="neutral")
    logo = image("PNG", (240, 80), "#f2c14e")
    with app.app_context(), app.extensions["manyi_db"].write() as s:
        st = m.Study(slug="bank", name="Bank 2026", brand_name=ORG)
        st.brand_primary, st.brand_accent = "#1f4e79", "#0b6e4f"
        st.brand_logo, st.brand_logo_type, st.brand_logo_hash = logo, "image/png", "a" * 16
        s.add(st)
        s.flush()
        s.get(m.Survey, sid).study_id = st.id
    with live_server(app) as base:
        yield base


HEADER = """() => {
  const header = document.querySelector(".site-header");
  const logo = document.querySelector(".brand__logo");
  return {
    background: getComputedStyle(header).backgroundColor,
    colour: getComputedStyle(header).color,
    accent: getComputedStyle(document.documentElement).getPropertyValue("--accent").trim(),
    logo: logo ? logo.naturalWidth : 0,
    name: document.querySelector(".brand__name")?.textContent ?? "",
  };
}"""


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_branded_page_fits_and_passes_axe(chromium, site, axe_script, lang, size):
    width, height = SIZES[size]
    folder = ARTIFACTS / "branding"
    folder.mkdir(parents=True, exist_ok=True)
    # the app's own CSP: the brand must load without inline style
    strict = chromium.new_context(viewport={"width": width, "height": height})
    try:
        page = strict.new_page()
        refused: list[str] = []
        page.on("console", lambda msg: refused.append(msg.text) if msg.type == "error" else None)
        page.goto(f"{site}/s/branded?lang={lang}")
        got = page.evaluate(HEADER)
        assert got == {
            "background": "rgb(31, 78, 121)",
            "colour": "rgb(255, 255, 255)",
            "accent": "#0b6e4f",
            "logo": 240,
            "name": ORG,
        }
        assert refused == []
        check_layout(page, width, folder / f"{lang}-{width}-branded.png")
        neutral = strict.new_page()
        neutral.goto(f"{site}/s/neutral?lang={lang}")
        assert neutral.evaluate(HEADER)["background"] == "rgb(246, 248, 250)"  # --soft
        assert "manyi" in neutral.inner_text(".site-header")
    finally:
        strict.close()
    # axe is injected as a script, which the CSP (rightly) blocks: bypassed for axe only
    context = chromium.new_context(viewport={"width": width, "height": height}, bypass_csp=True)
    context.add_init_script(path=str(axe_script))
    try:
        page = context.new_page()
        page.goto(f"{site}/s/branded?lang={lang}")
        assert page.evaluate(AXE_RUN) == []
    finally:
        context.close()
