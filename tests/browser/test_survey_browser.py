"""The SERVQUAL survey answered in a real browser, on a phone (zh-Hans) and a desktop (en).

Each run meets a missing required answer and an allocation that does not total 100 on
the way, saves and resumes in a fresh browser (by code on the phone, by link on the
desktop), and double-clicks the final submit; the stored response must be there once,
with exactly the values that were entered. axe-core must find no serious or critical
violations on the matrix page at either size.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

import questionnaires as qn
from surveyapp import models as m
from tests.browser.conftest import axe_violations
from tests.surveyapp.conftest import add_survey, live_server, make_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PHONE = {
    "viewport": {"width": 360, "height": 740},
    "locale": "zh-CN",
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1280, "height": 900}, "locale": "en-GB"}


@pytest.fixture
def server(tmp_path):
    q = qn.builtin("servqual22")
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_survey(app, q)
    with live_server(app) as base:
        yield app, q, base


def answers(q: qn.Questionnaire, seed: int) -> dict[str, Any]:
    """A full set of answers: column -> value as stored."""
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for item in q.items:
        if item.type == "rating":
            for col in item.columns():
                out[col] = float(rng.integers(item.scale.min, item.scale.max + 1))
        elif item.type == "allocation":
            shares = [30, 25, 20, 15, 10][: len(item.choices)]
            shares[-1] += item.total - sum(shares)
            out.update({c: float(v) for c, v in zip(item.columns(), shares, strict=True)})
        elif item.type == "single_choice":
            out[item.id] = item.choices[int(rng.integers(len(item.choices)))].code
        elif item.type == "multiple_choice":
            out.update({c: float(i == 0) for i, c in enumerate(item.columns())})
        elif item.type == "text":
            out[item.id] = "服务很好 <b>thanks</b>"
    return out


def fill(page: Any, q: qn.Questionnaire, index: int, values: dict[str, Any], skip=()) -> None:
    for item in q.pages[index].items:
        for col in item.columns():
            if col in skip or col not in values:
                continue
            v = values[col]
            name = f"a-{col}"
            if item.type in ("rating", "single_choice"):
                value = str(int(v)) if isinstance(v, float) else v
                page.check(f'input[name="{name}"][value="{value}"]')
            elif item.type == "multiple_choice":
                page.set_checked(f'input[name="{name}"]', bool(v))
            else:
                page.fill(f'[name="{name}"]', str(int(v)) if isinstance(v, float) else v)


def press(page: Any, action: str) -> None:
    with page.expect_navigation():
        page.click(f'button[name="action"][value="{action}"]')


def stored(app) -> list[m.Response]:
    with app.extensions["manyi_db"].sessions() as s:
        rows = s.scalars(select(m.Response)).all()
        for r in rows:
            _ = r.answers
        return list(rows)


def run_survey(chromium, server, axe_script, *, device: dict, lang: str, resume_by: str, seed: int):
    app, q, base = server
    values = answers(q, seed)
    # axe is injected as an inline script, which the app's CSP (rightly) blocks: this
    # one context bypasses the CSP; the survey itself runs under it below
    audit = chromium.new_context(**device, bypass_csp=True)
    audit_page = audit.new_page()
    audit_page.goto(f"{base}/s/demo?lang={lang}")
    assert axe_violations(audit_page, axe_script) == []
    audit.close()

    context = chromium.new_context(**device)
    page = context.new_page()
    page.goto(f"{base}/s/demo?lang={lang}")
    assert page.locator("html").get_attribute("lang") == lang

    # the matrix page, laid out for the device
    e_box = page.locator("#item-tan1 fieldset.role--expectation").bounding_box()
    p_box = page.locator("#item-tan1 fieldset.role--perception").bounding_box()
    if device is PHONE:
        assert p_box["y"] > e_box["y"] + e_box["height"] - 1  # stacked
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    else:
        assert abs(p_box["y"] - e_box["y"]) < 2
        assert p_box["x"] > e_box["x"] + e_box["width"] - 1  # side by side
    # each radio's accessible name says its role (E or P), its point and the point's label
    role, label = (
        ("本公司实际做到了", "非常同意")
        if lang == "zh-Hans"
        else ("This company does", "Strongly agree")
    )
    radio = page.get_by_role("radio", name=re.compile(rf"^{role}\S*\s+7\s+{label}$"))
    assert radio.count() == len(q.pages[0].items)
    if device is not PHONE:  # the P block is tinted apart from the E block
        p_block = page.locator("#item-tan1 .role--perception")
        tint = p_block.evaluate("el => getComputedStyle(el).backgroundColor")
        assert tint not in ("rgba(0, 0, 0, 0)", "transparent")
    # keyboard: arrow keys move within a radio group
    page.focus('input[name="a-tan1_e"][value="1"]')
    page.keyboard.press("Space")
    page.keyboard.press("ArrowRight")
    assert page.is_checked('input[name="a-tan1_e"][value="2"]')

    # a missing required answer: the browser's check leads to it (the server would too)
    fill(page, q, 0, values, skip={"tan4_p"})
    page.click('button[name="action"][value="next"]')
    summary = page.locator("#error-summary")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    role = "本公司实际做到了" if lang == "zh-Hans" else "This company does"
    assert f"{role}: " in summary.inner_text()  # which of E and P is missing
    assert "卓越" not in summary.inner_text()
    assert "excellent" not in summary.inner_text()
    assert ("此题必须回答" if lang == "zh-Hans" else "needs an answer") in summary.inner_text()
    summary.locator("a").first.click()
    assert page.evaluate("document.activeElement.name") == "a-tan4_p"
    assert stored(app) == []  # nothing was sent
    fill(page, q, 0, values)
    press(page, "next")

    index = 1
    while q.pages[index].items[0].type != "allocation":
        fill(page, q, index, values)
        press(page, "next")
        index += 1
    # an allocation that does not total 100: the live total says so, and so does the server
    item = q.pages[index].items[0]
    wrong = dict(values) | {item.columns()[0]: values[item.columns()[0]] + 10}
    fill(page, q, index, wrong)
    total = page.locator(f"#item-{item.id} .allocation__sum")
    assert total.inner_text() == "110"
    assert "is-off" in page.locator(f"#item-{item.id} .allocation__total").get_attribute("class")
    remaining = page.locator(f"#item-{item.id} .allocation__remaining").inner_text()
    assert ("多了 10 分" if lang == "zh-Hans" else "10 too many") in remaining
    page.click('button[name="action"][value="next"]')
    assert "110" in page.locator("#error-summary").inner_text()
    fill(page, q, index, values)
    assert total.inner_text() == "100"
    press(page, "next")
    index += 1

    # save, and resume in a fresh browser
    fill(page, q, index, values)
    press(page, "save")
    code = page.locator(".resume-code strong").inner_text()
    link = page.locator("a.resume-link").get_attribute("href")
    context.close()
    context = chromium.new_context(**device)
    page = context.new_page()
    if resume_by == "code":
        page.goto(f"{base}/?lang={lang}")
        page.fill("#code", code.replace("-", "").lower())
        with page.expect_navigation():
            page.click("form.resume-form button")
    else:
        page.goto(link)
    assert re.search(rf"{index + 1}\D", page.locator("#progress-text").inner_text())
    first = q.pages[index].items[0].columns()[0]
    assert page.is_checked(f'input[name="a-{first}"][value="{int(values[first])}"]')
    press(page, "next")
    index += 1
    while index < len(q.pages):
        fill(page, q, index, values)
        if index < len(q.pages) - 1:
            press(page, "next")
        index += 1

    # double-clicked submit: stored once, with the values entered
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.dblclick('button[name="action"][value="submit"]')
    assert ("谢谢" if lang == "zh-Hans" else "Thank you") in page.content()
    page.go_back()  # Back after the submit: the thank-you page, no resubmission
    assert ("谢谢" if lang == "zh-Hans" else "Thank you") in page.content()
    context.close()
    [response] = stored(app)
    assert response.status == "complete"
    assert response.language == lang
    assert response.values() == values


def test_phone_in_chinese(chromium, server, axe_script):
    run_survey(chromium, server, axe_script, device=PHONE, lang="zh-Hans", resume_by="code", seed=1)


def test_desktop_in_english(chromium, server, axe_script):
    run_survey(chromium, server, axe_script, device=DESKTOP, lang="en", resume_by="link", seed=2)


@pytest.mark.parametrize(("device", "lang"), [(PHONE, "zh-Hans"), (DESKTOP, "en")])
def test_reload_and_back_after_a_failed_page_post_nothing(chromium, server, device, lang):
    """A page the server refuses is answered with a redirect to its GET: a reload asks
    no "Confirm Form Resubmission" and sends no POST, the messages and the typed answers
    are still there with focus on the summary, and Back shows the pages before."""
    app, q, base = server
    values = answers(q, 3)
    context = chromium.new_context(**device)
    page = context.new_page()
    page.goto(f"{base}/s/demo?lang={lang}")
    fill(page, q, 0, values)
    press(page, "next")
    fill(page, q, 1, values, skip={q.pages[1].items[-1].columns()[-1]})
    typed = q.pages[1].items[0].columns()[0]
    # past the browser's own check, as without JavaScript: the server is the judge
    with page.expect_navigation():
        page.evaluate("document.getElementById('page-form').submit()")
    methods: list[str] = []
    page.on("request", lambda r: methods.append(r.method) if r.is_navigation_request() else None)
    message = "此题必须回答" if lang == "zh-Hans" else "needs an answer"
    for _ in range(2):  # as redirected, then reloaded
        assert page.locator("#error-summary").is_visible()
        assert message in page.locator("#error-summary").inner_text()
        assert page.evaluate("document.activeElement.id") == "error-summary"
        assert page.is_checked(f'input[name="a-{typed}"][value="{int(values[typed])}"]')
        reloaded = page.reload()
        assert reloaded is not None
        assert reloaded.status == 200
    assert methods == ["GET", "GET"]
    page_one = {c for item in q.pages[0].items for c in item.columns()}
    assert set(stored(app)[0].values()) == page_one  # page 2 not stored
    for _ in range(2):  # Back: the same page before it failed, then page 1, from GETs
        back = page.go_back()
        assert back is not None
        assert back.status == 200
        assert page.locator("#page-form").is_visible()
    assert methods == ["GET"] * 4
    first = q.pages[0].items[0].columns()[0]
    assert page.is_checked(f'input[name="a-{first}"][value="{int(values[first])}"]')
    context.close()
