"""Languages: zh-Hans and en, for questionnaire text and UI strings (Flask-Babel).

The app speaks BCP 47 tags (``zh-Hans``, ``en``: what :meth:`questionnaires.Text.get` and
the stored responses use); Babel's catalogue for Chinese is ``zh_Hans``. The language of a
request is, in order: ``?lang=`` (remembered in the session), the session, the browser's
``Accept-Language``, then ``DEFAULT_LANGUAGE``. A survey page narrows that to the survey's
languages (:func:`set_language_for`).

The compiled catalogues (``.mo``) are committed next to the ``.po`` sources, so a plain
``pip install .`` has working translations; a test checks that they are up to date. If a
``.mo`` is missing all the same (a source checkout where someone deleted it), it is
compiled into the instance folder at start-up. To update after changing strings::

    pybabel extract -F babel.cfg -k _l -o /tmp/messages.pot .
    pybabel update -i /tmp/messages.pot -d surveyapp/translations
    pybabel compile -d surveyapp/translations
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, g, request, session
from flask_babel import Babel, refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGES: dict[str, str] = {"zh-Hans": "中文", "en": "English"}
BABEL_LOCALE = {"zh-Hans": "zh_Hans", "en": "en"}
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def normalise(tag: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans``... -> ``zh-Hans``; ``en-GB`` -> ``en``; else None."""
    if not tag:
        return None
    t = tag.strip().replace("_", "-").lower()
    if t.startswith("zh"):
        return "zh-Hans"
    if t.startswith("en"):
        return "en"
    return None


def current_language() -> str:
    """The language of this request (``zh-Hans`` or ``en``)."""
    lang = g.get("lang")
    if lang:
        return str(lang)
    lang = _choose()
    g.lang = lang
    return lang


def _choose(allowed: tuple[str, ...] = tuple(LANGUAGES)) -> str:
    asked = normalise(request.args.get("lang")) if request else None
    if asked in allowed:
        session["lang"] = asked
        return str(asked)
    remembered = normalise(session.get("lang"))
    if remembered in allowed:
        return str(remembered)
    if request:
        browser = _browser_language(request.headers.get("Accept-Language", ""), allowed)
        if browser is not None:
            return browser
    default = normalise(current_app.config.get("DEFAULT_LANGUAGE"))
    return default if default in allowed else allowed[0]


@functools.lru_cache(maxsize=512)
def _browser_language(header: str, allowed: tuple[str, ...]) -> str | None:
    """The best of ``allowed`` for an ``Accept-Language`` header, as Werkzeug matches
    it, or None. Browsers send few distinct headers: each is parsed once per process."""
    if not header:
        return None
    best = parse_accept_header(header, LanguageAccept).best_match(
        [*allowed, *(BABEL_LOCALE[a] for a in allowed), "zh", "zh-CN", "zh-TW"]
    )
    found = normalise(best)
    return found if found in allowed else None


def set_language_for(languages: list[str] | tuple[str, ...], asked: str | None = None) -> str:
    """Restrict this request's language to ``languages`` (a survey's); ``asked`` wins if
    allowed. Returns the language chosen."""
    allowed = tuple(lang for lang in LANGUAGES if lang in languages) or tuple(LANGUAGES)
    lang = normalise(asked)
    if lang in allowed:
        session["lang"] = lang
    else:
        lang = current_language()
        if lang not in allowed:
            lang = _choose(allowed)
    g.lang = lang
    g.languages = allowed
    refresh()  # Flask-Babel's locale of this request, chosen again
    return str(lang)


def _locale_selector() -> str:
    return BABEL_LOCALE[current_language()]


def _ensure_compiled(app: Flask) -> list[str]:
    """Translation folders: the package's, plus a compiled copy if a ``.mo`` is missing."""
    folders = [str(TRANSLATIONS)]
    missing = [
        po for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po") if not po.with_suffix(".mo").is_file()
    ]
    if missing:
        target = Path(app.instance_path) / "translations"
        for po in missing:
            out = target / po.relative_to(TRANSLATIONS).with_suffix(".mo")
            out.parent.mkdir(parents=True, exist_ok=True)
            with po.open("rb") as src, out.open("wb") as dst:
                write_mo(dst, read_po(src))
        folders.insert(0, str(target))
    return folders


def init_app(app: Flask) -> None:
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(_ensure_compiled(app))
    Babel(app, locale_selector=_locale_selector)

    @app.context_processor
    def _languages() -> dict[str, Any]:
        return {
            "current_language": current_language(),
            "languages": {k: v for k, v in LANGUAGES.items() if k in g.get("languages", LANGUAGES)},
        }
