"""Translations: complete, compiled, and chosen per request."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from surveyapp import i18n
from tests.surveyapp.conftest import add_survey

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "surveyapp" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.po"
MY_SOURCES = (
    "survey.py",
    "forms.py",
    "templates/base.html",
    "templates/survey",
    "templates/errors",
)


def _frozen(value: str | list[str] | tuple[str, ...]) -> str | tuple[str, ...]:
    """A message's id or string; a plural message's as a tuple (read_mo gives lists)."""
    return value if isinstance(value, str) else tuple(value)


def _catalog() -> dict[str | tuple[str, ...], str | tuple[str, ...]]:
    """The source catalogue: id (a plural message's is (singular, plural)) to string."""
    with PO.open("rb") as fh:
        return {_frozen(m.id): _frozen(m.string) for m in read_po(fh, locale="zh_Hans") if m.id}


def test_every_respondent_string_is_translated():
    catalog = _catalog()
    method_map = [("**.py", "python"), ("**.html", "jinja2")]
    found = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "surveyapp"),
        method_map=method_map,
        keywords={
            "_": None,
            "gettext": None,
            "_l": None,
            "lazy_gettext": None,
            "ngettext": (1, 2),
        },
    ):
        if any(_file.startswith(s) for s in MY_SOURCES):
            found.add(_frozen(message))
    assert len(found) > 40
    untranslated = sorted(str(m) for m in found if not all(catalog.get(m) or ("",)))
    assert untranslated == [], "run the pybabel commands in surveyapp/i18n.py and translate"


def test_compiled_catalogue_matches_the_source():
    with PO.with_suffix(".mo").open("rb") as fh:
        compiled = {_frozen(m.id): _frozen(m.string) for m in read_mo(fh) if m.id}
    assert compiled == {k: v for k, v in _catalog().items() if v}


def test_missing_mo_is_compiled_into_the_instance_folder(tmp_path, monkeypatch, minimal):
    copy = tmp_path / "translations"
    shutil.copytree(PO.parents[2], copy)
    (copy / "zh_Hans" / "LC_MESSAGES" / "messages.mo").unlink()
    monkeypatch.setattr(i18n, "TRANSLATIONS", copy)
    from tests.surveyapp.conftest import make_app

    app = make_app({"DATABASE": tmp_path / "inst" / "t.sqlite"})
    assert (
        tmp_path / "inst" / "translations" / "zh_Hans" / "LC_MESSAGES" / "messages.mo"
    ).is_file()
    add_survey(app, minimal)
    assert "提交" in app.test_client().get("/s/demo?lang=zh-Hans").text


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("en-GB,en;q=0.9", "en"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("zh-TW", "zh-Hans"),
        ("fr", "zh-Hans"),
    ],
)
def test_accept_language(app, client, minimal, header, expected):
    add_survey(app, minimal)
    html = client.get("/s/demo", headers={"Accept-Language": header}).text
    assert f'<html lang="{expected}">' in html


def test_both_languages_for_ui_and_questionnaire(app, client, minimal):
    add_survey(app, minimal)
    zh = client.get("/s/demo?lang=zh-Hans").text
    assert "提交" in zh
    assert "按承诺办事" in zh
    assert "第 1 页，共 1 页" in zh
    en = client.get("/s/demo?lang=en").text
    assert "Submit" in en
    assert "Does what it promises" in en
    assert "按承诺办事" not in en


@pytest.mark.parametrize(
    ("tag", "expected"),
    [("zh_Hans", "zh-Hans"), ("ZH-cn", "zh-Hans"), ("en-US", "en"), ("de", None), (None, None)],
)
def test_normalise(tag, expected):
    assert i18n.normalise(tag) == expected
