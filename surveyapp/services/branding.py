"""A study's branding: its organisation's name, a logo and two colours, shown on the
respondent pages, in the PDF report and on the counter posters.

- **Primary** colours the page header; its text is black or white, whichever contrasts
  more (one of the two always reaches WCAG AA's 4.5:1, so any primary colour is usable).
- **Accent** colours links, buttons and the chosen rating point, as text on the page's
  light surfaces: it must reach 4.5:1 against the lightest-but-one of them
  (:data:`SURFACE`), or it is refused (:class:`ContrastTooLow`).
- **Logo**: PNG or JPEG only (SVG can carry script), at most :data:`LOGO_MAX_BYTES` and
  :data:`LOGO_MAX_SIDE` pixels a side, checked by Pillow reading its header and verifying
  the file (:class:`LogoRefused`); stored in the database with its media type and a hash
  that versions its URL, so the browser may cache it for a year.

No branding (every column NULL) is the neutral look of ``manyi.css``. The contrast ratio is
WCAG 2's: (L1 + 0.05) / (L2 + 0.05) of the relative luminances.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from typing import Any

from surveyapp import audit
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.studies import NotFound

LOGO_MAX_BYTES = 200_000
LOGO_MAX_SIDE = 2000
LOGO_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}
MIN_CONTRAST = 4.5  # WCAG 2 AA, normal text
SURFACE = "#f6f8fa"  # manyi.css --soft: the darkest light surface accent text sits on
HEX = re.compile(r"^#[0-9a-fA-F]{6}\Z")
BLACK, WHITE = "#000000", "#ffffff"


class ContrastTooLow(ValueError):
    """An accent colour that is not readable as text on the page."""

    def __init__(self, colour: str, ratio: float) -> None:
        super().__init__(
            f"{colour} reaches {ratio:.1f}:1 on {SURFACE}; text needs {MIN_CONTRAST}:1"
        )
        self.colour = colour
        self.ratio = ratio


class LogoRefused(ValueError):
    """A logo file that is not a small PNG or JPEG; ``reason`` says why."""

    SIZE, TYPE, DIMENSIONS = "size", "type", "dimensions"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def is_colour(value: str) -> bool:
    """Whether ``value`` is a ``#rrggbb`` colour."""
    return bool(HEX.match(value))


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_on(colour: str) -> str:
    """Black or white, whichever is more readable on ``colour``."""
    return BLACK if contrast(colour, BLACK) >= contrast(colour, WHITE) else WHITE


def check_accent(colour: str) -> None:
    """:class:`ContrastTooLow` unless ``colour`` is readable as text on the page."""
    ratio = contrast(colour, SURFACE)
    if ratio < MIN_CONTRAST:
        raise ContrastTooLow(colour, ratio)


def read_logo(data: bytes) -> str:
    """The media type of a logo file; :class:`LogoRefused` unless it is a PNG or JPEG of
    at most :data:`LOGO_MAX_BYTES` and :data:`LOGO_MAX_SIDE` pixels a side."""
    if len(data) > LOGO_MAX_BYTES:
        raise LogoRefused(LogoRefused.SIZE)
    from PIL import Image, UnidentifiedImageError  # lazy: only when a logo is uploaded

    try:
        with warnings.catch_warnings():  # a huge claimed size is refused below, not warned
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:  # reads the header, decodes nothing
                kind, (width, height) = img.format, img.size
                img.verify()  # a truncated or corrupt file fails here
    except Image.DecompressionBombError as exc:
        raise LogoRefused(LogoRefused.DIMENSIONS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise LogoRefused(LogoRefused.TYPE) from exc
    if kind not in LOGO_TYPES:
        raise LogoRefused(LogoRefused.TYPE)
    if not (0 < width <= LOGO_MAX_SIDE and 0 < height <= LOGO_MAX_SIDE):
        raise LogoRefused(LogoRefused.DIMENSIONS)
    return LOGO_TYPES[kind]


@dataclass(frozen=True, slots=True)
class Brand:
    """What a study shows of its organisation (None: the neutral default)."""

    name: str | None = None
    primary: str | None = None
    accent: str | None = None
    logo_hash: str | None = None  # set when it has a logo

    @property
    def styled(self) -> bool:
        return bool(self.primary or self.accent)

    @property
    def version(self) -> str:
        """What changes the stylesheet: its URL's ``?v=`` (cached for a year)."""
        return f"{self.primary or ''}{self.accent or ''}".replace("#", "")

    @property
    def shown(self) -> bool:
        return bool(self.name or self.logo_hash or self.styled)


NEUTRAL = Brand()


def of(study: m.Study | None) -> Brand:
    """The branding of ``study`` (:data:`NEUTRAL` without a study or branding)."""
    if study is None:
        return NEUTRAL
    return Brand(study.brand_name, study.brand_primary, study.brand_accent, study.brand_logo_hash)


def css(brand: Brand) -> str:
    """The stylesheet that applies ``brand`` over ``manyi.css`` (custom properties and
    the header); empty for the neutral look. Colours come from validated columns only."""
    rules = []
    if brand.accent and is_colour(brand.accent):
        rules.append(f":root {{ --accent: {brand.accent}; --accent-fg: {text_on(brand.accent)}; }}")
    if brand.primary and is_colour(brand.primary):
        fg = text_on(brand.primary)
        bg = brand.primary
        rules.append(
            f".site-header {{ background: {bg}; color: {fg}; border-color: {bg}; }}\n"
            f".site-header a, .site-header .lang-switch__button "
            f"{{ color: {fg}; border-color: {fg}; }}"
        )
    return "\n".join(rules) + ("\n" if rules else "")


def logo_data_uri(study: m.Study | None) -> str | None:
    """The study's logo as a ``data:`` URI (for the self-contained report and posters)."""
    if study is None or not study.brand_logo or not study.brand_logo_type:
        return None
    return f"data:{study.brand_logo_type};base64," + base64.b64encode(study.brand_logo).decode()


def report_brand(study: m.Study | None) -> dict[str, Any] | None:
    """The branding the downloadable report and the PDF show (JSON-able; None: neutral)."""
    brand = of(study)
    if not brand.shown:
        return None
    return {
        "name": brand.name,
        "primary": brand.primary,
        "primary_fg": text_on(brand.primary) if brand.primary else None,
        "logo": logo_data_uri(study),
    }


def save(
    study_id: int,
    *,
    name: str | None,
    primary: str | None,
    accent: str | None,
    logo: bytes | None,
    remove_logo: bool,
    user_id: int | None,
) -> None:
    """Set a study's branding (colours validated by the caller with :func:`is_colour`
    and :func:`check_accent`; ``logo`` read by :func:`read_logo`), with its audit record.
    ``logo`` None keeps the current one unless ``remove_logo``."""
    logo_type = read_logo(logo) if logo is not None else None
    if accent:
        check_accent(accent)
    dbm.release()  # end the read transaction first (see services.studies)
    with dbm.get_db().write() as s:
        st = s.get(m.Study, study_id)
        if st is None:
            raise NotFound(study_id)
        st.brand_name = name or None
        st.brand_primary = primary.lower() if primary else None
        st.brand_accent = accent.lower() if accent else None
        if logo is not None:
            st.brand_logo = logo
            st.brand_logo_type = logo_type
            st.brand_logo_hash = hashlib.sha256(logo).hexdigest()[:16]
        elif remove_logo:
            st.brand_logo = st.brand_logo_type = st.brand_logo_hash = None
        detail = {
            "name": st.brand_name,
            "primary": st.brand_primary,
            "accent": st.brand_accent,
            "logo": st.brand_logo_hash,
        }
        audit.record(s, "branded", st, detail=detail, user_id=user_id)


def logo(study_id: int) -> tuple[bytes, str] | None:
    """A study's logo and its media type (None: it has none)."""
    st = dbm.session().get(m.Study, study_id)
    if st is None or not st.brand_logo or not st.brand_logo_type:
        return None
    return st.brand_logo, st.brand_logo_type
