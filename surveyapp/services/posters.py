"""Printable counter posters: a survey's QR code with its title and short link, in both
languages, on one A4 or A5 page (PDF by WeasyPrint with the CJK font the reports embed,
:func:`surveyapp.reports.render.cjk_font`)."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from typing import Literal

from jinja2 import Environment, PackageLoader, select_autoescape

from surveyapp.reports import render
from surveyapp.services import branding, links

SIZES = ("A4", "A5")
Size = Literal["A4", "A5"]

_ENV = Environment(
    loader=PackageLoader("surveyapp", "templates/distribution"),
    autoescape=select_autoescape(default=True),
)


@dataclass(frozen=True, slots=True)
class Poster:
    """What a poster shows."""

    title_zh: str
    title_en: str
    url: str  # what the QR code opens (the short link of a branch, or the survey's link)
    brand: str | None = None  # the organisation's (or else the study's) name, at the top
    logo: str | None = None  # the study's logo as a data: URI (services.branding)
    primary: str | None = None  # the study's header colour: a band at the top
    place: str | None = None  # e.g. "branch: east", under the code


def poster_html(poster: Poster, size: Size) -> str:
    """The poster as a self-contained HTML page (the QR code inline as SVG)."""
    svg = links.qr_code(poster.url, "svg", scale=1)
    qr = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    font = render.cjk_font()
    band_fg = branding.text_on(poster.primary) if poster.primary else None
    return _ENV.get_template("poster.html").render(
        poster=poster, size=size, qr=qr, font_uri=font.as_uri(), band_fg=band_fg
    )


def poster_pdf(poster: Poster, size: Size = "A4") -> bytes:
    """The poster as a one-page PDF; :class:`~surveyapp.reports.render.FontMissingError`
    when the CJK font is not installed."""
    page = poster_html(poster, size)
    from weasyprint import HTML  # lazy: weasyprint is slow to import, only for PDF

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    return HTML(string=page).write_pdf()  # type: ignore[no-any-return]
