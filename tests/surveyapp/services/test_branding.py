"""Branding rules (surveyapp.services.branding): the WCAG contrast ratio, the text colour
on the header, the accent colours refused, and the logo files accepted or refused."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from surveyapp.services import branding


def image(kind: str, size: tuple[int, int] = (40, 20), colour: str = "#1f4e79") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, kind)
    return out.getvalue()


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#777777", "#ffffff", 4.48),  # the classic "just fails AA" grey
        ("#0b5cad", "#ffffff", 6.67),  # manyi.css's neutral accent passes
    ],
)
def test_contrast_is_the_wcag_ratio(a, b, ratio) -> None:
    assert branding.contrast(a, b) == pytest.approx(ratio, abs=0.01)
    assert branding.contrast(b, a) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize("colour", ["#ffff00", "#1f4e79", "#808080", "#00ff00", "#b3261e"])
def test_header_text_is_black_or_white_and_always_readable(colour) -> None:
    fg = branding.text_on(colour)
    assert fg in (branding.BLACK, branding.WHITE)
    assert branding.contrast(colour, fg) >= branding.MIN_CONTRAST


def test_accent_too_light_is_refused_with_its_ratio() -> None:
    branding.check_accent("#0b5cad")
    with pytest.raises(branding.ContrastTooLow) as caught:
        branding.check_accent("#ffcc00")
    assert caught.value.colour == "#ffcc00"
    assert caught.value.ratio < 2


def test_neutral_brand_adds_no_style() -> None:
    assert branding.css(branding.NEUTRAL) == ""
    assert not branding.NEUTRAL.shown
    css = branding.css(branding.Brand(primary="#ffff00", accent="#1f4e79"))
    assert "--accent: #1f4e79; --accent-fg: #ffffff;" in css
    assert ".site-header { background: #ffff00; color: #000000;" in css


@pytest.mark.parametrize(("kind", "media_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_png_and_jpeg_logos_are_accepted(kind, media_type) -> None:
    assert branding.read_logo(image(kind)) == media_type


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "type"),
        (b"GIF89a" + bytes(40), "type"),
        (image("GIF"), "type"),
        (image("PNG")[:40], "type"),  # truncated
        (b"not an image at all", "type"),
        (image("PNG", (2001, 4)), "dimensions"),
        (b"\x89PNG" + bytes(branding.LOGO_MAX_BYTES), "size"),
    ],
)
def test_other_files_are_refused_with_the_reason(data, reason) -> None:
    with pytest.raises(branding.LogoRefused) as caught:
        branding.read_logo(data)
    assert caught.value.reason == reason


def test_a_png_claiming_a_huge_size_is_refused_unread() -> None:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    bomb = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(branding.LogoRefused) as caught:
        branding.read_logo(bomb)
    assert caught.value.reason == "dimensions"
