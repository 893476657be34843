"""The shareable report: one self-contained HTML file, and a PDF.

The HTML file carries everything inline -- the stylesheet and every chart as the SVG the
web pages show (:func:`charts.figure_svg`), each with its table -- and no script, so it opens from a
mail attachment or a USB stick with no network and stays small. The PDF is the same page
drawn by WeasyPrint, opening with a one-page summary (the overview), a table of contents
with page numbers, and page numbers in the footer; of each item's comments it lists a
short selection (:func:`comment_digest`; the web report lists them all). Its text is set
in Noto Sans CJK (Debian's ``fonts-noto-cjk``), which WeasyPrint subsets and embeds, so
Chinese renders on any reader. Without that font the PDF is refused with a message that
says how to install it, rather than written with empty boxes.

Both are rendered by a Jinja environment of their own (no Flask app needed, so
``manyi report --data FILE`` works without a database) with the app's zh-Hans catalogue.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from surveyapp.reports import charts

__all__ = [
    "PDF_COMMENTS",
    "FontMissingError",
    "cjk_font",
    "comment_digest",
    "labels",
    "pdf_html",
    "render_html",
    "render_pdf",
]

HERE = Path(__file__).resolve().parent
APP = HERE.parent
TEMPLATES = APP / "templates"
STATIC = APP / "static"
CJK_FONT_DIRS = (
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/noto-cjk"),
    Path("/usr/share/fonts/google-noto-cjk"),
)
CJK_FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansSC-Regular.otf")


class FontMissingError(RuntimeError):
    """The CJK font the PDF needs is not installed."""


def labels(_: Callable[[str], str]) -> dict[str, str]:
    """UI strings of the charts and tables, translated by the gettext ``_``."""
    return {
        "step": _("Step"),
        "level_axis": _("Mean rating (left axis)"),
        "promotion_axis": _("Promotion gap D − C (right axis)"),
        "value": _("Value"),
        "running": _("Running level"),
        "contributors": _("Largest contributors to the customer gap"),
        "rank": _("Rank"),
        "dimension": _("Dimension"),
        "gap": _("Gap"),
        "ci": _("95 percent interval"),
        "expectation": _("Expectation (E)"),
        "perception": _("Perception (P)"),
        "servqual_title": _("Expectation and perception per dimension"),
        "ipa_title": _("Importance–performance map"),
        "performance": _("Performance (0–100)"),
        "importance": _("Importance"),
        "importance_unstandardized": _("Importance (total effect, points per point)"),
        "priority": _("Priority"),
        "driver": _("Driver"),
        "quadrant": _("Quadrant"),
        "q:concentrate here": _("Concentrate here"),
        "q:keep up the good work": _("Keep up the good work"),
        "q:low priority": _("Low priority"),
        "q:possible overkill": _("Possible overkill"),
        "wave": _("Wave"),
        "change": _("Change since the previous wave"),
        "methods_title": _("Dimension rank by method (1 = best)"),
        "quality_title": _("Suspect responses by reason"),
        "reason": _("Reason"),
    }


def method_names(report: Mapping[str, Any]) -> dict[str, str]:
    cards = (report.get("methods") or {}).get("cards", [])
    return {c["method"]: c["name"] for c in cards}


@lru_cache(maxsize=4)
def _translations(language: str) -> Any:
    # lazy: only the shareable report renders outside Flask-Babel
    from babel.support import NullTranslations, Translations

    if language.lower().startswith("zh"):
        return Translations.load(str(APP / "translations"), ["zh_Hans"])
    return NullTranslations()


@lru_cache(maxsize=4)
def _environment(language: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(_translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def _gettext(language: str) -> Callable[[str], str]:
    return _translations(language).gettext  # type: ignore[no-any-return]


def context(
    report: Mapping[str, Any],
    language: str,
    gettext: Callable[[str], str],
) -> dict[str, Any]:
    """What the section templates need besides the report: labels and charts (each
    drawn as SVG: :func:`charts.all_charts`)."""
    lab = labels(gettext)
    return {
        "report": report,
        "lang": language,
        "labels": lab,
        "charts": charts.all_charts(dict(report), lab, method_names(report)),
        "names": method_names(report),
    }


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def render_html(report: Mapping[str, Any], *, language: str = "zh-Hans") -> str:
    """The self-contained HTML report: styles inline, every chart as inline SVG with its
    table (no script at all, so it opens offline and weighs a few hundred kB)."""
    env = _environment(language)
    tpl = env.get_template("reports/standalone.html")
    return tpl.render(
        **context(report, language, _gettext(language)),
        pdf=False,
        css="\n".join((_read(STATIC / "css" / "manyi.css"), _read(STATIC / "reports.css"))),
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def cjk_font() -> Path:
    """The Noto CJK font file the PDF embeds; :class:`FontMissingError` when absent."""
    for folder in CJK_FONT_DIRS:
        for name in CJK_FONT_FILES:
            if (folder / name).is_file():
                return folder / name
    msg = (
        "the PDF report needs a Chinese font (Noto Sans CJK) and none is installed; on "
        "Debian or Ubuntu run `apt-get install fonts-noto-cjk` (or `make browser-deps` as "
        "root), or download the HTML report instead."
    )
    raise FontMissingError(msg)


#: comments the PDF lists per text item (of the report's own wave)
PDF_COMMENTS = 10


def comment_digest(
    item: Mapping[str, Any], wave: str | None, *, limit: int = PDF_COMMENTS
) -> dict[str, Any]:
    """The comments of one text item (an entry of the report's ``comments.items``) the PDF
    lists: of the listed comments of ``wave`` (all of them when ``wave`` is None or not
    among the item's waves), up to half ``limit`` negative ones and up to half positive
    ones by the lexicon sentiment (:func:`scoring.text.sentiment`), in the order listed,
    then others (neutral, or more of one side when the other has too few) up to
    ``limit``. Returns ``comments`` (negative first, then positive, then the rest),
    ``n`` (all comments of that wave, or of the item) and ``wave`` (None for all)."""
    counts = {w["wave"]: w["n"] for w in item.get("by_wave") or []}
    if wave is None or wave not in counts:
        wave, pool, n = None, list(item["comments"]), item["n"]
    else:
        pool, n = [c for c in item["comments"] if c["wave"] == wave], counts[wave]
    half = limit // 2
    neg = [k for k, c in enumerate(pool) if c["sentiment"] == "negative"][:half]
    pos = [k for k, c in enumerate(pool) if c["sentiment"] == "positive"][:half]
    taken = set(neg) | set(pos)
    rest = [k for k in range(len(pool)) if k not in taken][: limit - len(taken)]
    return {"comments": [pool[k] for k in (*neg, *pos, *rest)], "n": n, "wave": wave}


def pdf_html(report: Mapping[str, Any], *, language: str = "zh-Hans", css: str = "") -> str:
    """The page WeasyPrint draws: the standalone report with ``pdf=True`` (no forms or
    links, the page-numbered contents, :func:`comment_digest` instead of the comment
    lists), styled by ``css``."""
    env = _environment(language)
    tpl = env.get_template("reports/standalone.html")
    return tpl.render(
        **context(report, language, _gettext(language)),
        pdf=True,
        comment_digest=comment_digest,
        report_wave=(report.get("survey") or {}).get("wave"),
        css=css,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def render_pdf(report: Mapping[str, Any], *, language: str = "zh-Hans") -> bytes:
    """The report as PDF (WeasyPrint), with the CJK font embedded."""
    font = cjk_font()
    import logging

    from weasyprint import HTML  # lazy: weasyprint is slow to import, only for PDF

    # WeasyPrint warns on CSS it ignores (e.g. the screen-only rules); not a user problem
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    page = pdf_html(report, language=language, css=_read(STATIC / "reports.css") + _pdf_css(font))
    return HTML(string=page, base_url=str(STATIC)).write_pdf()  # type: ignore[no-any-return]


def _pdf_css(font: Path) -> str:
    return (
        "\n@font-face { font-family: 'manyi-cjk'; src: url('" + font.as_uri() + "'); }\n"
        "@page { size: A4; margin: 16mm 14mm 18mm;"
        " @bottom-center { content: counter(page) ' / ' counter(pages); font-size: 9pt;"
        " color: #555; } }\n"
        "body { font-family: 'manyi-cjk', 'Noto Sans CJK SC', sans-serif; font-size: 10pt; }\n"
        ".no-print, form { display: none !important; }\n"
        "details { display: block; } details > summary { display: none; }\n"
        "table { page-break-inside: auto; } tr { page-break-inside: avoid; }\n"
        ".summary-page { page-break-after: always; }\n"
        ".report-toc { page-break-after: always; display: block; }\n"
        ".report-toc ol { padding-left: 1.2rem; }\n"
        ".report-toc a { color: #000; text-decoration: none; }\n"
        ".report-toc a::after { content: leader('.') target-counter(attr(href), page); }\n"
        ".report-part { page-break-before: always; }\n"
        ".chart-svg { max-width: 100%; height: auto; }\n"
        ".table-scroll { overflow: visible; }\n"
        ".table-scroll table { width: 100%; table-layout: auto; }\n"
        "th, td { overflow-wrap: normal; word-break: normal; }\n"
    )


def report_json(report: Mapping[str, Any]) -> str:
    return json.dumps(report, ensure_ascii=False, allow_nan=False)
