"""Every page of every built-in instrument in Chromium, as respondents meet them.

At 320x640 and 390x844 (phones) and 1366x900 (desktop), in zh-Hans and en: no page
scrolls sideways (``scrollWidth`` <= the viewport), the browser's Back after every page
shows the previous page with its answers (Post/Redirect/Get: never a resubmission
prompt), Back after the submit shows the thank-you page, and axe-core finds no serious
or critical violation. Besides the questionnaire pages, the same checks cover the
landing page, each instrument's first page as the server shows it after a refused post
(the error summary), its thank-you page, and the saved-answers page (resume code). One
browser and one tab per size and language serve all the instruments; a screenshot of
every page is kept under ``test-artifacts/browser/`` (git-ignored) for CI to keep as an
artefact.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import questionnaires as qn
from tests.browser.conftest import ROOT
from tests.surveyapp.conftest import add_survey, live_server, make_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "test-artifacts" / "browser"
SIZES = {"320": (320, 640), "390": (390, 844), "1366": (1366, 900)}
LANGS = ("zh-Hans", "en")
INSTRUMENTS = tuple(qn.builtin_ids())
THANKS = {"zh-Hans": "谢谢", "en": "Thank you"}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One app serving every built-in instrument, each as survey ``/s/<id>``."""
    app = make_app({"DATABASE": tmp_path_factory.mktemp("pages") / "t.sqlite"}, MIN_SECONDS=0.0)
    for name in INSTRUMENTS:
        add_survey(app, qn.builtin(name), slug=name.replace("_", "-"))
    with live_server(app) as base:
        yield base


def answer_values(item: qn.Item) -> dict[str, str]:
    """Column -> a valid answer (as the form field's value) for every column of ``item``."""
    cols = item.columns()
    if item.type == "rating":
        top = item.scale.points[-2 if len(item.scale.points) > 2 else -1].value
        return {c: str(top) for c in cols}
    if item.type == "single_choice":
        return {cols[0]: item.choices[0].code}
    if item.type == "multiple_choice":
        return {c: "y" if i == 0 else "" for i, c in enumerate(cols)}
    if item.type == "allocation":
        shares = [item.total // len(cols)] * len(cols)
        shares[0] += item.total - sum(shares)
        return {c: str(v) for c, v in zip(cols, shares, strict=True)}
    if item.type == "number":
        return {cols[0]: str(int(item.minimum or 0) + 1)}
    return {cols[0]: "很好, fine"}


FILL = """(values) => {
  for (const [name, value] of Object.entries(values)) {
    const radio = document.querySelector(`input[type=radio][name="${name}"][value="${value}"]`);
    if (radio) { radio.checked = true; continue; }
    const el = document.querySelector(`[name="${name}"]`);
    if (!el) { throw new Error("no field " + name); }
    if (el.type === "checkbox") { el.checked = value !== ""; } else { el.value = value; }
  }
}"""


def fill_page(page: Any, q: qn.Questionnaire, index: int) -> str:
    """Answer every item of page ``index``; return a selector of one answer it shows."""
    values: dict[str, str] = {}
    for item in q.pages[index].items:
        values |= {f"a-{c}": v for c, v in answer_values(item).items()}
    page.evaluate(FILL, values)
    name, value = next(iter(values.items()))
    if page.locator(f'input[type=radio][name="{name}"]').count():
        return f'input[name="{name}"][value="{value}"]:checked'
    return f'[name="{name}"]'


# axe with only its violations collected (several times faster than a full run)
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
  .filter(v => v.impact === "serious" || v.impact === "critical")
  .map(v => v.id + " (" + v.impact + "): " + v.nodes.map(n => n.target.join(" ")).join(", "))"""


REFUSED = """() => {
  const radio = document.querySelector("#page-form input[type=radio]");
  radio.value = "99";
  radio.checked = true;
  document.getElementById("page-form").submit();
}"""


def check_layout(page: Any, width: int, shot: Path) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth")
    page.screenshot(path=str(shot), full_page=True)
    assert overflow <= width, f"{shot.name}: {overflow}px wide in a {width}px viewport"


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("lang", LANGS)
def test_every_page_fits_goes_back_and_passes_axe(chromium, site, axe_script, lang, size):
    width, height = SIZES[size]
    # axe is injected as a script, which the app's CSP (rightly) blocks: bypass it here
    context = chromium.new_context(
        viewport={"width": width, "height": height},
        locale="zh-CN" if lang == "zh-Hans" else "en-GB",
        bypass_csp=True,
        is_mobile=width < 500,
        has_touch=width < 500,
    )
    context.add_init_script(path=str(axe_script))  # in every page, before its own scripts
    page = context.new_page()
    problems: list[str] = []

    def check(label: str, shot: Path) -> None:
        check_layout(page, width, shot)
        problems.extend(f"{label}: {v}" for v in page.evaluate(AXE_RUN))

    try:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.goto(f"{site}/?lang={lang}")
        check(f"landing page {lang} {width}px", ARTIFACTS / f"landing-{lang}-{width}.png")
        for name in INSTRUMENTS:
            q = qn.builtin(name)
            slug = name.replace("_", "-")
            folder = ARTIFACTS / name
            folder.mkdir(parents=True, exist_ok=True)
            page.goto(f"{site}/s/{slug}?lang={lang}")
            for index in range(len(q.pages)):
                label = f"{name} p{index + 1} {lang} {width}px"
                check(label, folder / f"{lang}-{width}-p{index + 1}.png")
                if index == 0:
                    # a point the scale does not have, sent past the browser's own
                    # check: the server refuses the page and shows it again (a GET)
                    # with its error summary
                    with page.expect_navigation():
                        page.evaluate(REFUSED)
                    assert page.locator("#error-summary").count() == 1, label
                    check(f"{label} refused", folder / f"{lang}-{width}-p1-refused.png")
                shown = fill_page(page, q, index)
                last = index == len(q.pages) - 1
                with page.expect_navigation():
                    page.click(f'button[name="action"][value="{"submit" if last else "next"}"]')
                if last:
                    assert page.url.endswith(f"/s/{slug}/thanks"), label
                    check(f"{name} thanks {lang} {width}px", folder / f"{lang}-{width}-thanks.png")
                else:
                    assert page.url.endswith(f"?page={index + 1}"), label
                # the browser's Back: the page just left, with its answers (or, after
                # the submit, the thank-you page), fetched again without a resubmission
                page.go_back()
                if last:
                    assert THANKS[lang] in page.content(), label
                    break
                assert page.locator(shown).count() == 1, label
                assert re.search(rf"\b{index + 1}\b", page.locator("#progress-text").inner_text())
                page.go_forward()
        # a new response, saved on its first page: the resume code and link
        page.goto(f"{site}/s/{INSTRUMENTS[0].replace('_', '-')}?lang={lang}")
        with page.expect_navigation():
            page.click('button[name="action"][value="save"]')
        assert page.locator(".resume-code").count() == 1
        check(f"saved page {lang} {width}px", ARTIFACTS / f"saved-{lang}-{width}.png")
    finally:
        context.close()
    assert problems == []
