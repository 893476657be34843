"""Every report page as a reader meets it (issue 17): phone (390x844) and desktop
(1366x900), zh-Hans and en, for a 200-response gap study and for surveys with 0 and 5
responses (1 response: the same pages through Flask's client, test_reports_small.py).

On each page: no sideways scroll, no console error and no CSP violation (the
``securitypolicyviolation`` events, collected by a script the test adds before the page's
own), no "None"/"nan", no raw parameter or rule name, no untranslated English sentence on a
zh-Hans page, the page's notice when a section needs more responses, every chart drawn as
the server's SVG for the viewport's width (an image with a name and a description) with
its table, and axe-core without a serious or critical violation (checked once per page and
language, at phone width). Screenshots go to ``test-artifacts/reports/``
(git-ignored; CI keeps them as artefacts).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

import questionnaires as qn
from surveyapp import models as m
from surveyapp.reports.demo import seed_gap_study
from surveyapp.reports.views import SECTION_PAGES
from surveyapp.services.surveys import create_survey
from tests.browser.conftest import axe_violations
from tests.browser.test_reports_flow import login
from tests.surveyapp.conftest import live_server, make_app
from tests.surveyapp.reports_helpers import store
from tests.surveyapp.research_helpers import add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1366, "height": 900}}
PAGES = ("", *(f"/sections/{p}" for p in SECTION_PAGES))
#: words that must never reach a reader (regular expressions): raw parameter / rule names
#: and Python's None
RAW = (
    "None",
    "nan",
    "NaN",
    "pairwise(?! deletion)",
    "listwise(?! deletion)",
    "item_mean",
    "cov_type",
    "kaiser",
    "n_components",
    "score_convention",
    "negative_weights",
    "loadings_source",
    "concentrate here",
    "keep up the good work",
)
#: the five gaps' keys (English words of their own on an English page)
GAP_KEYS = ("understanding", "procedure", "behaviour", "perception", "promotion")
#: three English words in a row on a zh-Hans page: an untranslated sentence
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("reports-pages")
    app = make_app({"DATABASE": tmp / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "viewer@example.org", "viewer")
    db = app.extensions["manyi_db"]
    study = seed_gap_study(db, sizes={"customer": 200, "manager": 20, "staff": 40, "audit": 20})
    q = qn.builtin("servqual22")
    with db.sessions() as s:
        full = s.scalars(
            select(m.Survey.id)
            .where(m.Survey.study_id == study, m.Survey.audience == "customer")
            .order_by(m.Survey.wave.desc())
        ).first()
    with db.write() as s:
        empty = create_survey(s, q, slug="empty", status="open").id
    surveys = {
        "n200": full,
        "n0": empty,
        "n5": store(app, q, "five", 5, seed=5, wave="2026-Q1"),
        # a CSI instrument: the model's page and the methods page's reliability table
        "acsi": store(app, qn.builtin("acsi"), "acsi", 300, seed=4, wave="2026-Q1"),
    }
    with live_server(app) as base:
        yield base, surveys


def _check(page, lang: str) -> list[str]:
    problems = []
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    if overflow > 0:
        problems.append(f"scrolls sideways by {overflow} px")
    # the customers' own words (comments, their words and phrases) are theirs to choose
    text = page.evaluate(
        """() => { const main = document.querySelector("main").cloneNode(true);
        main.querySelectorAll(".comment-list, .terms-table, .segment-terms")
            .forEach(e => e.remove());
        document.body.appendChild(main); const t = main.innerText; main.remove(); return t; }"""
    )
    for word in RAW:
        if re.search(rf"\b{word}\b", text):
            problems.append(f"raw {word!r}")
    if lang == "zh-Hans":
        for word in GAP_KEYS:
            if re.search(rf"\b{word}\b", text):
                problems.append(f"raw {word!r}")
        runs = [r for r in ENGLISH_RUN.findall(text) if not r.startswith("Download")]
        if runs:
            problems.append(f"English on the zh-Hans page: {runs[:3]}")
    return problems


#: collects the page's CSP violations (runs before the page's own scripts, outside its CSP)
CSP_LISTENER = """window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(
  [e.violatedDirective, e.blockedURI || "inline", e.sourceFile, e.lineNumber].join(" ")));"""
#: what is wrong with the page's charts (the drawing for the viewport's width, shown)
CHART_CHECK = """(narrow) => {
  const out = [];
  document.querySelectorAll("figure.chart").forEach(fig => {
    const say = (what) => out.push(fig.id + ": " + what);
    const shown = [...fig.querySelectorAll("svg.chart-svg")]
      .filter(s => s.getBoundingClientRect().width > 0);
    if (shown.length !== 1) { say(shown.length + " drawings shown"); return; }
    const svg = shown[0];
    if (svg.classList.contains("chart-svg--narrow") !== narrow) say("wrong width");
    if (svg.getAttribute("role") !== "img" || !svg.getAttribute("aria-label")) say("no name");
    if (!svg.querySelector("title") || !svg.querySelector("desc")) say("no title/desc");
    const box = fig.getBoundingClientRect().width;
    if (svg.getBoundingClientRect().width > box + 1) say("wider than its box");
    if (!fig.querySelector("details.chart__table table tbody tr")) say("no table");
  });
  return out;
}"""


def _visit(chromium, base: str, survey_id: int, lang: str, view: str, axe: Path | None, tag: str):
    context = chromium.new_context(viewport=VIEWPORTS[view])
    context.add_init_script(CSP_LISTENER)
    page = login(context, base)
    errors: list[str] = []
    page.on(
        "console",
        lambda msg: (
            errors.append(f"{msg.text} {msg.location.get('url')}") if msg.type == "error" else None
        ),
    )
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # axe is injected as an inline script, which the app's CSP (rightly) blocks: axe
    # runs in a context of its own that bypasses the CSP; the pages above run under it
    audit = chromium.new_context(viewport=VIEWPORTS[view], bypass_csp=True) if axe else None
    audit_page = login(audit, base) if audit else None
    found = {}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for path in PAGES:
        url = f"{base}/research/reports/surveys/{survey_id}{path}?lang={lang}"
        resp = page.goto(url)
        assert resp is not None
        assert resp.status == 200, url
        name = path.rsplit("/", 1)[-1] or "overview"
        page.screenshot(path=str(ARTIFACTS / f"{tag}-{name}-{lang}-{view}.png"), full_page=True)
        problems = _check(page, lang)
        problems += [f"CSP: {v}" for v in page.evaluate("window.__csp")]
        problems += page.evaluate(CHART_CHECK, view == "phone")
        found.setdefault("charts", []).append(page.locator("figure.chart").count())
        if audit_page is not None and axe is not None:
            audit_page.goto(url)
            problems += [
                f"axe {v['id']}: {v['help']} {[n['target'] for n in v['nodes']][:3]}"
                for v in axe_violations(audit_page, axe)
            ]
        assert problems == [], (url, problems)
        found[name] = page.eval_on_selector_all(
            "[data-needs]", "els => els.map(e => e.dataset.section || 'none')"
        )
    # nothing throws, nothing breaks the CSP (the console reports refusals as errors too)
    assert errors == [], errors
    context.close()
    if audit is not None:
        audit.close()
    return found


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_full_study_pages(server, chromium, axe_script, lang):
    base, surveys = server
    for view in VIEWPORTS:
        # axe once per page (the structure is the same in both languages)
        axe = axe_script if view == "phone" and lang == "zh-Hans" else None
        found = _visit(chromium, base, surveys["n200"], lang, view, axe, "n200")
        assert sum(found.pop("charts")) >= 12  # waterfalls, SERVQUAL, map, waves, methods, ...
        assert all(v == [] for v in found.values()), found  # nothing missing at n = 200


@pytest.mark.parametrize("size", ["n0", "n5"])  # n1: tests/surveyapp/test_reports_small.py
def test_tiny_surveys_say_what_they_need(server, chromium, axe_script, size):
    base, surveys = server
    for lang, view in (("zh-Hans", "phone"), ("en", "desktop")):
        axe = axe_script if view == "phone" else None
        found = _visit(chromium, base, surveys[size], lang, view, axe, size)
        assert found["fix-first"] == ["importance_performance"]
        if size == "n0":
            assert found["five-gaps"] == ["five_gaps"]
        else:
            assert found["five-gaps"] == []


@pytest.mark.parametrize("lang", ["zh-Hans", "en"])
def test_csi_model_pages(server, chromium, axe_script, lang):
    """The CSI model's assessment and the reliability tables on an ACSI survey: no
    sideways scroll at phone width, nothing raw or untranslated, axe clean."""
    base, surveys = server
    for view in VIEWPORTS:
        axe = axe_script if view == "phone" else None
        found = _visit(chromium, base, surveys["acsi"], lang, view, axe, "acsi")
        assert found["csi-model"] == []  # shown, not waiting for responses
