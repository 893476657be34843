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
    for cid in ids:  # each chart: its SVGs (wide, phone) and its table
        block = html.split(f'<figure class="chart" id="{cid}">')[1].split("</figure>")[0]
        assert 'class="chart-svg chart-svg--wide"' in block
        assert 'class="chart-svg chart-svg--narrow"' in block
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


def test_every_chart_is_drawn_wide_and_phone_wide_as_a_described_image(report) -> None:
    """One drawing path for pages, HTML report and PDF: each chart spec drawn twice, each
    drawing scaling to its box (viewBox, width 100 %), an image named by its title and
    described by its values (the rows of the table under it)."""
    drawn = charts.all_charts(report, render.labels(str), render.method_names(report))
    assert {"servqual", "ipa", "methods", "quality"} <= set(drawn)
    for c in (c for section in drawn.values() for c in section):
        for key, width in (("svg", charts.SVG_WIDTH), ("svg_narrow", charts.NARROW_WIDTH)):
            svg = c[key]
            assert svg.startswith("<svg "), (c["id"], key)
            assert f'viewBox="0 0 {width} ' in svg
            assert 'width="100%"' in svg
            assert 'role="img"' in svg
            assert f'aria-label="{c["title"]}"' in svg
            assert f"<title>{c['title']}</title>" in svg
            first = ", ".join(str(cell) for cell in c["table"]["rows"][0])
            assert f"<desc>{first}" in svg.replace("&lt;", "<")


@pytest.mark.parametrize("width", [charts.SVG_WIDTH, charts.NARROW_WIDTH])
def test_importance_performance_map_names_its_quadrants(report, width) -> None:
    lab = render.labels(str)
    ipa = charts.ipa_chart(report["importance_performance"], lab)
    svg = charts.figure_svg(ipa["figure"], width=width, height=charts.NARROW_HEIGHT)
    for name in ("Concentrate here", "Keep up the good work", "Low priority", "Possible overkill"):
        assert f">{name}</text>" in svg
    assert f">{lab['performance']}</text>" in svg  # both axes named
    assert f">{lab['importance']}</text>" in svg


def _dimension(promotion: float | None) -> dict:
    steps = [
        {"step": "E", "label": "Expectation", "kind": "absolute", "value": 6.0, "total": 6.0},
        {"step": "u", "label": "Understanding", "kind": "relative", "value": -0.5, "total": 5.5},
        {"step": "d", "label": "Delivery", "kind": "relative", "value": 0.25, "total": 5.75},
        {"step": "P", "label": "Perception", "kind": "total", "value": 5.75, "total": 5.75},
    ]
    gaps = {"promotion": {"label": "Promotion", "value": promotion}} if promotion else {}
    return {"dimension": "tan", "label": "Tangibles", "waterfall": steps, "gaps": gaps}


@pytest.mark.parametrize("width", [charts.SVG_WIDTH, charts.NARROW_WIDTH])
def test_waterfall_names_both_its_axes(width) -> None:
    """The waterfall's levels on the left axis, named; the promotion gap (a difference
    around zero) on its own right axis, named and in its colour -- no unexplained
    second axis -- and no right axis at all without a promotion gap."""
    lab = render.labels(str)
    with_promo = charts.waterfall(_dimension(-0.2), lab)
    svg = charts.figure_svg(with_promo["figure"], width=width, height=charts.NARROW_HEIGHT)
    assert lab["level_axis"] in svg
    right = svg.split(lab["promotion_axis"])[0].rsplit("<text", 1)[1]
    assert f'fill="{charts.COLORS["promotion"]}"' in right
    assert "rotate(90" in right
    # E, two steps, P and the promotion bar; the steps go down (red) then up (green)
    bars = re.findall(
        r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="[\d.]+" fill="(#\w+)"', svg
    )
    assert bars == [
        "#fff",  # the background
        charts.COLORS["total"],
        charts.COLORS["down"],
        charts.COLORS["up"],
        charts.COLORS["total"],
        charts.COLORS["promotion"],
    ]
    for text in ("Expectation", "Understanding", "Perception", "Promotion (D − C)", "-0.20"):
        assert text in svg
    without = charts.waterfall(_dimension(None), lab)
    plain = charts.figure_svg(without["figure"], width=width, height=charts.NARROW_HEIGHT)
    assert lab["promotion_axis"] not in plain
    assert "rotate(90" not in plain


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


def test_pdf_lists_a_short_balanced_selection_of_comments_and_says_how_many(report) -> None:
    """The PDF is for managers: per text item at most render.PDF_COMMENTS comments
    (negative and positive ones first), with a sentence giving the total and pointing to
    the web report; the downloadable HTML keeps the whole list."""
    item = report["comments"]["items"][0]
    assert len(item["comments"]) > render.PDF_COMMENTS
    page = render.pdf_html(report, language="zh-Hans")
    block = page.split(f'data-text-item="{item["item"]}"')[1].split("</article>")[0]
    listed = re.findall(r'data-comment="[^"]*" data-sentiment="(\w+)"', block)
    assert len(listed) == render.PDF_COMMENTS
    half = render.PDF_COMMENTS // 2
    moods = [c["sentiment"] for c in item["comments"]]
    for mood in ("negative", "positive"):
        assert listed.count(mood) >= min(half, moods.count(mood))
    said = f'data-digest-listed="{render.PDF_COMMENTS}" data-digest-n="{item["n"]}"'
    assert said in block
    assert f"共有 {item['n']} 条意见，此处列出其中 {render.PDF_COMMENTS} 条" in block
    assert "网页版报告列出全部意见" in block
    english = render.pdf_html(report, language="en")
    assert f"Listed here: {render.PDF_COMMENTS} of the {item['n']} comments" in english
    full = render.render_html(report, language="zh-Hans")
    assert full.count("data-comment=") == len(item["comments"])
    assert "data-digest-listed" not in full


def test_comment_digest_takes_the_report_wave_and_balances_the_sentiment() -> None:
    def said(k: int, wave: str, mood: str) -> dict:
        return {"response_id": f"r{k}", "text": "t", "sentiment": mood, "wave": wave}

    moods = ["neutral"] * 6 + ["negative"] * 7 + ["positive"] * 2
    item = {
        "n": 40,
        "by_wave": [{"wave": "W1", "n": 25}, {"wave": "W2", "n": 15}],
        "comments": [said(k, "W1", "negative") for k in range(20)]
        + [said(100 + k, "W2", m) for k, m in enumerate(moods)],
    }
    d = render.comment_digest(item, "W2", limit=10)
    assert (d["n"], d["wave"]) == (15, "W2")
    got = [(c["response_id"], c["sentiment"]) for c in d["comments"]]
    # five negative, both positive, then the first others in the listed order
    assert [m for _, m in got] == ["negative"] * 5 + ["positive"] * 2 + ["neutral"] * 3
    assert [r for r, _ in got][:5] == ["r106", "r107", "r108", "r109", "r110"]
    assert all(c["wave"] == "W2" for c in d["comments"])
    # no wave, or one the item does not have: all the item's comments
    every = render.comment_digest(item, None, limit=4)
    assert (every["n"], every["wave"]) == (40, None)
    assert [c["sentiment"] for c in every["comments"]] == ["negative"] * 2 + ["positive"] * 2
    assert render.comment_digest(item, "W9", limit=4)["n"] == 40
