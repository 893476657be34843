"""Every UI string in code and templates has a zh-Hans translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent.parent
PO = ROOT / "surveyapp" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"


def _extracted() -> dict[str | tuple[str, ...], str]:
    """Message id (a plural message's as (singular, plural)) to where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)
    keywords = {**DEFAULT_KEYWORDS, "_l": None}
    found: dict[str | tuple[str, ...], str] = {}
    for filename, lineno, message, _comments, _ctx in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords
    ):
        msgid = message if isinstance(message, str) else tuple(message)
        found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def test_every_ui_string_is_translated():
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {
        (m.id if isinstance(m.id, str) else tuple(m.id))
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    extracted = _extracted()
    assert len(extracted) > 200
    missing = {msgid: where for msgid, where in extracted.items() if msgid not in translated}
    assert missing == {}, (
        "translate these in messages.po (pybabel extract -F babel.cfg -k _l ...; "
        "see surveyapp/i18n.py)"
    )
