"""A quality team's look at the demo data in a real browser (Playwright + Debian chromium).

A viewer opens the five-gap dashboard of ``manyi demo``'s survey, filters a segment and
opens an item; the numbers in the page equal what :mod:`scoring` returns for the same
data; screenshots at desktop and phone widths. The downloaded HTML report opens with the
network cut off (every request but ``file://`` aborted) and draws its charts; the PDF's
text holds the Chinese dimension names. A researcher queues a bootstrap run, cancels it,
queues another and watches a real ``manyi worker`` finish it. Screenshots go to
``tmp_path`` (and to ``$MANYI_SCREENSHOTS`` when set, to look at them).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from numpy.testing import assert_allclose
from pypdf import PdfReader
from sqlalchemy import select
from werkzeug.serving import make_server

import questionnaires as qn
from scoring.gaps import service_gaps
from scoring.instrument import gaps_inputs
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.cli.web import DEMO_SLUG, create_demo
from surveyapp.reports import build
from surveyapp.reports.demo import add_linked_audiences
from surveyapp.services import exports
from tests.surveyapp.conftest import live_server, make_app
from tests.surveyapp.reports_helpers import store
from tests.surveyapp.research_helpers import PASSWORD, add_user

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DIMENSIONS_ZH = ("有形性", "可靠性", "响应性", "保证性", "移情性")
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 760}


@pytest.fixture
def server(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, WTF_CSRF_ENABLED=True)
    add_user(app, "viewer@example.org", "viewer")
    create_demo(app, 400, 0)
    # manyi demo stores the customer survey; the five gaps need the linked audiences
    with app.extensions["manyi_db"].sessions() as s:
        demo_id = s.scalar(select(m.Survey.id).where(m.Survey.slug == DEMO_SLUG))
    add_linked_audiences(app.extensions["manyi_db"], demo_id, seed=0)
    with app.extensions["manyi_db"].sessions() as s:
        sv = s.scalar(select(m.Survey).where(m.Survey.slug == DEMO_SLUG))
        q = sv.questionnaire()
        frame = exports.responses_frame(s, [sv.id])
        # the pages leave the suspect responses out of every score by default
        frame = frame.loc[~build.suspects(q, frame)["suspect"].to_numpy(bool)]
        frame = frame.reset_index(drop=True)
        sid = sv.id
    with live_server(app) as base:
        yield base, sid, q, frame


def shot(page, tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    keep = os.environ.get("MANYI_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)
    return path


def values(page, selector: str, key: str) -> dict[str, float]:
    return page.eval_on_selector_all(
        selector,
        f"els => Object.fromEntries(els.map(e => [e.closest('[data-{key}]').dataset.{key}, "
        "parseFloat(e.dataset.value)]))",
    )


def login(context, base: str):
    page = context.new_page()
    page.goto(f"{base}/research/login?lang=zh-Hans")
    page.fill('input[name="email"]', "viewer@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state()
    return page


def test_five_gap_dashboard_segment_item_and_reports(server, chromium, tmp_path):
    base, sid, q, frame = server
    context = chromium.new_context(locale="zh-CN", viewport=DESKTOP, accept_downloads=True)
    page = login(context, base)
    problems: list[str] = []
    page.on(
        "console",
        lambda msg: (
            problems.append(f"{page.url}: {msg.text} {msg.location}")
            if msg.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda exc: problems.append(str(exc)))

    page.goto(f"{base}/research/reports/")
    page.click(f'a[href="/research/reports/surveys/{sid}"]')
    page.wait_for_selector("#overview")  # the overview first, then a page per section
    page.click('a[data-page="five-gaps"]')
    page.wait_for_selector("#five-gaps")
    # the charts are the server's inline SVG (no chart script), the wide drawing shown
    assert page.locator("figure.chart svg.chart-svg--wide:visible").count() >= 5
    assert page.locator("figure.chart svg.chart-svg--narrow:visible").count() == 0
    assert page.locator("[data-missing-gap]").count() == 0  # manager, staff, audit present
    # the five-gap cards' customer gap P - E: scoring.gaps, as manyi score gaps
    ref = service_gaps(**gaps_inputs(customers=(q, frame)))
    dims = ref.dimensions.set_index(["gap", "dimension"]).loc["customer", "estimate"]
    shown = values(page, ".gap-card .customer-gap", "dimension")
    assert set(shown) == set(dims.index)
    for d, v in shown.items():
        assert_allclose(v, dims[d], rtol=1e-12)
    shot(page, tmp_path, "dashboard-desktop")

    # filter a segment: the select submits itself
    page.select_option("#segment-filter", "branch=east")
    page.wait_for_url(re.compile(r"segment=branch"))
    page.wait_for_selector('[data-segment="branch=east"]')
    east = frame.loc[(frame["branch"] == "east").fillna(False)]
    ref_east = service_gaps(**gaps_inputs(customers=(q, east)))
    east_dims = ref_east.dimensions.set_index(["gap", "dimension"]).loc["customer", "estimate"]
    shown = values(page, ".gap-card .customer-gap", "dimension")
    for d, v in shown.items():
        assert_allclose(v, east_dims[d], rtol=1e-12)

    # open an item
    page.click('.items-table tr[data-item="rel1"] a')
    page.wait_for_selector('h1[data-item="rel1"]')
    got = float(page.get_attribute(".customer-gap", "data-value"))
    east_items = ref_east.items.set_index(["gap", "item"])["estimate"]
    assert_allclose(got, east_items[("customer", "rel1")], rtol=1e-12)
    assert page.locator("figure.chart svg.chart-svg--wide:visible").count() == 1
    shot(page, tmp_path, "item-desktop")

    # phone width: no horizontal scrolling of the page itself, charts still drawn
    phone = chromium.new_context(
        locale="zh-CN", viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    ppage = login(phone, base)
    ppage.goto(f"{base}/research/reports/surveys/{sid}/sections/five-gaps?segment=branch=east")
    # a phone gets the drawing made for its width
    assert ppage.locator("figure.chart svg.chart-svg--narrow:visible").count() >= 5
    assert ppage.locator("figure.chart svg.chart-svg--wide:visible").count() == 0
    overflow = ppage.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    shot(ppage, tmp_path, "dashboard-phone")
    phone.close()
    # nothing breaks the CSP (no chart library, no inline style or script)
    csp = [p for p in problems if "Content Security Policy" in p or "Refused" in p]
    assert csp == [], csp

    # the shareable HTML report, opened with the network cut off
    page.goto(f"{base}/research/reports/surveys/{sid}")
    with page.expect_download() as info:
        page.click(f'a[href^="/research/reports/surveys/{sid}/report.html"]')
    html_path = tmp_path / "report.html"
    info.value.save_as(html_path)
    offline = chromium.new_context(viewport=DESKTOP)
    blocked: list[str] = []

    def guard(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    offline.route("**/*", guard)
    opage = offline.new_page()
    opage.goto(html_path.as_uri())
    # every chart is inline SVG (no script), the file is small
    assert opage.locator("figure.chart svg.chart-svg").count() >= 5
    assert opage.locator("script").count() == 0
    assert html_path.stat().st_size <= 1_500_000
    assert "有形性" in opage.content()
    shot(opage, tmp_path, "report-offline")
    offline.close()
    assert not [u for u in blocked if not u.startswith("data:")], blocked

    # the PDF: Chinese dimension names in its text
    with page.expect_download() as info:
        page.click(f'a[href^="/research/reports/surveys/{sid}/report.pdf"]')
    pdf_path = tmp_path / "report.pdf"
    info.value.save_as(pdf_path)
    text = "".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    for name in DIMENSIONS_ZH:
        assert name in text
    context.close()


@pytest.fixture
def queued_server(tmp_path):
    """An ACSI survey on a migrated database whose long runs go to the SQLite queue of
    the instance folder (no worker until the test starts one), served on port 5402."""
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        WTF_CSRF_ENABLED=True,
        CREATE_TABLES=False,
        QUEUE_IMMEDIATE=False,
    )
    dbm.upgrade(app.extensions["manyi_db"])
    add_user(app, "researcher@example.org", "researcher")
    sid = store(app, qn.builtin("acsi"), "acsi", 1000, 4, wave="2026-Q1")
    server = make_server("127.0.0.1", 5402, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "http://127.0.0.1:5402", sid
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_bootstrap_run_is_queued_cancelled_and_done_by_a_worker(queued_server, chromium, tmp_path):
    base, sid = queued_server
    context = chromium.new_context(locale="en-GB", viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{base}/research/login?lang=en")
    page.fill('input[name="email"]', "researcher@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button[type="submit"]')
    page.wait_for_load_state()

    def queue(seed: str) -> None:
        page.goto(f"{base}/research/reports/surveys/{sid}/runs?lang=en")
        form = page.locator('form[data-method="csi"]')
        form.locator('input[name="csi-bootstrap"]').fill("5000")
        form.locator('input[name="csi-seed"]').fill(seed)
        form.locator('button[type="submit"]').click()
        page.wait_for_load_state()

    queue("1")  # no worker is up: it waits, and can be cancelled (a POST with CSRF)
    assert "manyi worker" in page.content()
    page.get_by_role("button", name="Cancel this run").click()
    page.wait_for_load_state()
    assert "cancelled by researcher@example.org" in page.content()
    assert page.locator("[data-run-progress]").count() == 0

    queue("2")
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-c", "from surveyapp.cli import main; main()", "worker"],
            env={
                **os.environ,
                "MANYI_INSTANCE": str(tmp_path),
                "DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite'}",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # reports.js polls the run and reloads the page when it is done
        page.wait_for_selector('[data-status="done"]', timeout=120_000)
        shot(page, tmp_path, "run-done")
        assert page.locator("[data-run-progress]").count() == 0
        assert "indices" in page.content()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    context.close()
