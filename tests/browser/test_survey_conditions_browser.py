"""Skip logic in the browser: the same conditions decide the same way in Python (the
server, authoritative) and in JavaScript (show/hide as the page is answered), checked by
a property test on generated conditions and answers; and a same-page condition works
with JavaScript (hidden at once) and without it (shown, decided by the server)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from questionnaires.conditions import ConditionError, holds
from tests.surveyapp.conftest import VALID, add_survey, live_server, make_app, minimal  # noqa: F401
from tests.surveyapp.test_survey_conditions import P1, branching  # noqa: F401 (fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SURVEY_JS = Path(__file__).resolve().parents[2] / "surveyapp" / "static" / "js" / "survey.js"

NAMES = ("a", "b", "c", "m")
LEAVES = st.one_of(
    st.sampled_from([f"${{{n}}}" for n in NAMES]),
    st.integers(-3, 3).map(str),
    st.sampled_from(["1.5", "-0.5", "'x'", "'y'", "''"]),
    st.sampled_from(NAMES).flatmap(
        lambda n: st.sampled_from(["x", "y"]).map(lambda c: f"selected(${{{n}}}, '{c}')")
    ),
    st.sampled_from(NAMES).map(lambda n: f"answered(${{{n}}})"),
    st.sampled_from(NAMES).map(lambda n: f"unanswered(${{{n}}})"),
    st.sampled_from(["param('p')", "param('q')"]),
)
OPS = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])


def _extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, OPS, inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        st.tuples(LEAVES, OPS, LEAVES).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
            lambda t: f"({t[0]}) {t[1]} ({t[2]})"
        ),
        inner.map(lambda e: f"not ({e})"),
    )


CONDITIONS = st.recursive(LEAVES, _extend, max_leaves=8)
VALUES = st.one_of(
    st.none(), st.integers(-3, 3).map(float), st.just(1.5), st.sampled_from(["x", "y", ""])
)
ANSWERS = st.fixed_dictionaries(
    {n: VALUES for n in ("a", "b", "c")}
    | {"m_x": st.sampled_from([None, 0.0, 1.0]), "m_y": st.sampled_from([None, 0.0, 1.0])}
).map(lambda d: {k: v for k, v in d.items() if v is not None})
PARAMS = st.fixed_dictionaries({"p": st.sampled_from([None, "x", "y"])}).map(
    lambda d: {k: v for k, v in d.items() if v is not None}
)


@pytest.fixture(scope="module")
def js_page(chromium):
    context = chromium.new_context()
    page = context.new_page()
    page.set_content("<!doctype html><title>conditions</title>")
    page.add_script_tag(path=str(SURVEY_JS))
    yield page
    context.close()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(condition=CONDITIONS, answers=ANSWERS, params=PARAMS)
def test_server_and_browser_decide_every_condition_alike(js_page, condition, answers, params):
    try:
        server: bool | str = holds(condition, answers, params)
    except ConditionError:
        server = "refused"  # e.g. a comparison of a comparison without parentheses
    browser = js_page.evaluate(
        """([t, a, p]) => {
          try { return window.manyiConditions.holds(t, a, p); } catch (e) { return "refused"; }
        }""",
        [condition, answers, params],
    )
    assert browser == server, (condition, answers, params)


@pytest.fixture
def site(tmp_path, branching):  # noqa: F811 (the imported fixture)
    app = make_app({"DATABASE": tmp_path / "t.sqlite"})
    add_survey(app, branching)
    with live_server(app) as base:
        yield app, base


def _to_page_three(page, base):
    page.goto(f"{base}/s/demo?lang=en")
    for name, value in P1.items():
        page.check(f'input[name="{name}"][value="{value}"]')
    page.check('input[name="a-sat"][value="5"]')  # satisfied: no "why" page
    with page.expect_navigation():
        page.click('button[value="next"]')
    assert "Page 3 of 3" in page.locator("#progress-text").inner_text()


def test_a_same_page_condition_with_javascript(chromium, site):
    app, base = site
    context = chromium.new_context()
    page = context.new_page()
    _to_page_three(page, base)
    channel = page.locator("#item-channel")
    assert channel.is_hidden()  # no branch chosen yet
    page.check('input[name="a-branch"][value="sh"]')
    assert channel.is_visible()
    page.check('input[name="a-branch"][value="bj"]')
    assert channel.is_hidden()
    page.fill('input[name="a-imp_tan"]', VALID["a-imp_tan"])
    page.fill('input[name="a-imp_rel"]', VALID["a-imp_rel"])
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.click('button[value="submit"]')
    context.close()


def test_a_same_page_condition_without_javascript(chromium, site):
    app, base = site
    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    _to_page_three(page, base)
    assert page.locator("#item-channel").is_visible()  # shown: the server decides
    page.check('input[name="a-branch"][value="sh"]')
    page.fill('input[name="a-imp_tan"]', VALID["a-imp_tan"])
    page.fill('input[name="a-imp_rel"]', VALID["a-imp_rel"])
    with page.expect_navigation():
        page.click('button[value="submit"]')
    assert "Choose at least one option" in page.locator("#error-summary").inner_text()
    page.check('input[name="a-branch"][value="bj"]')  # then the channels do not apply
    page.fill('input[name="a-imp_tan"]', VALID["a-imp_tan"])
    page.fill('input[name="a-imp_rel"]', VALID["a-imp_rel"])
    with page.expect_navigation(url=re.compile(r"/thanks$")):
        page.click('button[value="submit"]')
    context.close()
