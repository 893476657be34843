"""The shareable report (issue 17, item 8): the HTML file is small, has no script and
draws every chart as inline SVG from the chart specifications; the PDF opens with the
summary page, then a table of contents whose entries carry page numbers, and numbers
every page."""

from __future__ import annotations

import io
import re
import warnings

import pytest
from pypdf import PdfReader

import questionnaires as qn
from questionnaires.simulate import simulate
from surveyapp.reports import build, charts, render


@pytest.fixture(scope="module")
def report() -> dict:
    q = qn.builtin("servqual22")
    data = simulate(q, 120, seed=3, survey="s", wave="2026-Q1").data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return build.full_report(q, data, language="zh-Hans")


def test_html_report_is_small_static_and_draws_every_chart(report) -> None:
    html = render.render_html(report, language="zh-Hans")
    assert len(html.encode("utf-8")) <= 1_500_000
    assert "<script" not in html
    drawn = charts.all_charts(report, render.labels(str), render.method_names(report))
    ids = [c["id"] for section in drawn.values() for c in section]
    assert ids
    for cid in ids:  # each chart: its SVG and its table
        block = html.split(f'<figure class="chart" id="{cid}">')[1].split("</figure>")[0]
        assert 'class="chart-svg"' in block
        assert "<table>" in block
    assert html.index('id="overview"') < html.index('class="report-toc"')


def test_figure_svg_draws_bars_points_and_quadrant_names(report) -> None:
    lab = render.labels(str)
    ipa = charts.ipa_chart(report["importance_performance"], lab)
    svg = charts.figure_svg(ipa["figure"])
    assert svg.count("<circle") == len(report["importance_performance"]["rows"])
    for name in ("Concentrate here", "Keep up the good work", "Low priority"):
        assert name in svg
    quality = charts.quality_chart(report["data_quality"], lab)
    assert charts.figure_svg(quality["figure"]).count("<rect") >= len(
        report["data_quality"]["counts"]
    )


def test_pdf_has_summary_contents_and_page_numbers(report) -> None:
    try:
        body = render.render_pdf(report, language="zh-Hans")
    except render.FontMissingError as exc:  # pragma: no cover - a machine without the font
        pytest.skip(str(exc))
    pages = [p.extract_text() for p in PdfReader(io.BytesIO(body)).pages]
    total = len(pages)
    assert total > 3
    assert "概览" in pages[0]  # the summary first
    assert "目录" in pages[1]
    # the contents name each part with the page it starts on
    entries = re.findall(r"(五差距仪表板|SERVQUAL|数据质量)\s*\.+\s*(\d+)", pages[1])
    assert len(entries) == 3
    for title, page in entries:
        assert title in pages[int(page) - 1]
    for k, text in enumerate(pages, 1):
        assert f"{k} / {total}" in text
