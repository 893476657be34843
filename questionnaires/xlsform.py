"""XLSForm interoperability: read an XLSForm workbook, write an instrument as one.

`XLSForm <https://xlsform.org>`_ is the spreadsheet format of ODK, KoboToolbox and
SurveyCTO. :func:`read_xlsform` turns a workbook (ours or a third party's) into a
:class:`~questionnaires.Questionnaire`; :func:`write_xlsform` writes an instrument as a
workbook that pyxform converts to an XForm, and that :func:`read_xlsform` reads back to
the same instrument (see :func:`canonical` for what "the same" means).

Design: workbook -> plain data in the YAML format -> :func:`questionnaires.from_dict`, so
an XLSForm passes exactly the checks a YAML file does. Every problem the loader reports
is mapped back to the sheet, row and column it came from, e.g.
``survey!C7 (label::Chinese (zh-Hans))``, and all problems are reported at once.

The workbook
------------
``survey`` sheet (one row per XLSForm question)
    ``type``, ``name``, ``label::<language>``, ``hint::<language>``, ``required``
    (yes/no), ``constraint``, plus the manyi columns below. ``begin group`` /
    ``end group`` rows become pages (group ``name`` = page id, ``label`` = title, ``hint``
    = intro); questions outside any group go to a default page (``page1``, ``page2``...,
    titled 问题 / Questions).
``choices`` sheet
    ``list_name`` (or ``list name``), ``name``, ``label::<language>``.
``settings`` sheet
    ``form_id`` (the instrument id), ``version``, ``form_title``, ``default_language``.
    XLSForm titles are not translated: without a ``manyi`` sheet the one ``form_title``
    (else the ``form_id``, else the file name) is used in both languages.
``manyi`` sheet (ignored by XLSForm tools)
    Two columns ``key`` and ``value``, one row per key: ``audience`` and ``citation``
    (plain text); ``title``, ``description``, ``languages``, ``roles``, ``dimensions``
    and ``scoring`` (JSON text, exactly as in the YAML format); ``scales`` (a JSON list
    of the choice lists that are rating scales, in order).

Languages
    A column ``label::English (en)``, ``label::en``, ``label::Chinese (zh-Hans)``,
    ``label::zh-Hans`` or ``label::中文 (zh-Hans)`` is recognised by the language tag in
    parentheses or after ``::`` (``zh``, ``zh-Hans``, ``zh-CN`` -> zh-Hans; ``en*`` -> en).
    A plain ``label`` column is in the settings' ``default_language`` (English if none).
    Columns in other languages are not read: manyi instruments are zh-Hans + en.
    pyxform warns that ``Chinese (zh-Hans)`` is not a "machine-readable code" because it
    only knows primary subtags; ``zh-Hans`` is nevertheless a valid BCP 47 tag.

Item types
    ``select_one L`` is a rating when it carries ``manyi::scale`` or when list ``L`` is
    consecutive whole numbers 0..N or 1..N (3 to 11 points): the list is then the scale
    (its id is the list name; a choice whose label is just its number is an unlabelled
    point). Any other ``select_one`` is single choice; ``select_multiple`` multiple
    choice; ``text`` free text; ``integer`` / ``decimal`` a number. ``note``,
    ``calculate`` and metadata rows (``start``, ``end``, ``deviceid``...) carry no answer
    and are skipped; other types (date, geopoint, repeat...) are reported as problems.

manyi columns of the survey sheet (XLSForm tools ignore them)
    ``manyi::item`` (the manyi item id when the row name differs), ``manyi::role``
    (expectation, perception, ...), ``manyi::scale`` (scale id), ``manyi::dimension``,
    ``manyi::reverse`` and ``manyi::segment`` (yes/no), ``manyi::option`` (allocation
    option code), ``manyi::options`` (``dimensions`` when an allocation is over the
    dimensions), ``manyi::total``, ``manyi::max_length``, ``manyi::minimum`` and
    ``manyi::maximum``; on a ``begin group`` row, ``manyi::randomize=dimension`` (with
    ``parameters`` ``randomize=true``) shuffles the items within each dimension's run
    instead of all of them.

How manyi items are written
    - a rating in roles: one ``select_one <scale>`` row per role, named by the export
      column rule (``rel1_e``, ``rel1_p``), tagged ``manyi::item=rel1`` and
      ``manyi::role``; the label is prefixed with the role heading
      (``Expectation: ...`` / ``期望：...``), a prefix the reader removes again;
    - an allocation: a ``note`` row with the question (``manyi::total``), then one
      ``integer`` row per option (``imp_tan``...) constrained to 0..total, the last one
      also to the exact total;
    - every scale is a choice list named by its id (listed under ``scales`` in the
      ``manyi`` sheet); unlabelled points get their number as label.

Normalisation of a round trip (:func:`canonical`)
    Default values are dropped (``required: true``, ``reverse: false``,
    ``segment: false``, ``total: 100``, ``max_length: 2000``, ``options: dimensions``,
    ``languages: [zh-Hans, en]``), ``version`` becomes a string and texts are stripped of
    surrounding whitespace. Everything else (items, labels, choices, scales, roles,
    dimensions, scoring) survives unchanged.

Hostile workbooks
    Files over :data:`MAX_XLSX_BYTES`, whose unzipped size exceeds
    :data:`MAX_UNZIPPED_BYTES`, with more than :data:`MAX_ROWS` rows or
    :data:`MAX_COLUMNS` columns in a sheet, or with formulas in cells (only values are
    read; a formula's cached result may be stale or absent) are refused with a message.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from questionnaires import conditions
from questionnaires.errors import Problem, QuestionnaireError
from questionnaires.loader import LANGUAGE_NAMES, from_dict
from questionnaires.model import LANGUAGES, Item, Questionnaire

MAX_XLSX_BYTES = 5_000_000
MAX_UNZIPPED_BYTES = 50_000_000
MAX_ROWS = 10_000
MAX_COLUMNS = 200

#: Column headers this module writes for each language.
LANGUAGE_HEADERS = {"zh-Hans": "Chinese (zh-Hans)", "en": "English (en)"}

_TRUE = {"yes", "true", "true()", "1", "y"}
_FALSE = {"no", "false", "false()", "0", "n", ""}
_SKIPPED_TYPES = {
    "note",
    "calculate",
    "start",
    "end",
    "today",
    "deviceid",
    "subscriberid",
    "simserial",
    "phonenumber",
    "username",
    "email",
    "audit",
    "start-geopoint",
    "hidden",
}
_DEFAULTS_ITEM = {
    "required": True,
    "reverse": False,
    "segment": False,
    "options": "dimensions",
}
_DEFAULT_PAGE_TITLE = {"zh-Hans": "问题", "en": "Questions"}
_MANYI_TEXT_KEYS = ("audience", "citation")
_MANYI_JSON_KEYS = (
    "title",
    "description",
    "languages",
    "scales",
    "roles",
    "dimensions",
    "scoring",
)


# ======================================================================================
# reading
# ======================================================================================
#: survey-sheet columns the reader honours (besides label/hint/messages in any language)
_SURVEY_COLUMNS = {
    "type",
    "name",
    "required",
    "constraint",
    "relevant",
    "parameters",
    *(f"manyi::{k}" for k in (
        "item", "role", "scale", "dimension", "reverse", "segment", "option", "options",
        "total", "max_length", "minimum", "maximum", "randomize",
    )),
}  # fmt: skip
_TEXT_COLUMN = re.compile(r"^(label|hint|constraint_message|required_message)(::.*)?$")
# constraints that fit an item's own rules (the ones write_xlsform writes)
_NUM = r"-?\d+(?:\.\d+)?"
_BOUND = re.compile(rf"^\.\s*(>=|<=)\s*({_NUM})$")
_LENGTH = re.compile(r"^string-length\(\s*\.\s*\)\s*<=\s*(\d+)$")
_TOTAL = re.compile(rf"^(?:\$\{{\w+\}}\s*\+\s*)*\.\s*=\s*({_NUM})$")


@dataclass
class _Sheet:
    name: str
    headers: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (Excel row number, header -> text)

    def column(self, header: str) -> str | None:
        from openpyxl.utils import get_column_letter

        for i, h in enumerate(self.headers):
            if h == header:
                return str(get_column_letter(i + 1))
        return None


@dataclass(frozen=True)
class _Loc:
    sheet: str
    row: int
    column: str | None = None  # header
    text: str | None = None  # "label" / "hint": a text whose language picks the column


def _language_of(tag: str) -> str | None:
    """zh-Hans / en for a column's language part (``English (en)``, ``zh-Hans``...)."""
    m = re.search(r"\(([^()]+)\)\s*$", tag)
    code = (m.group(1) if m else tag).strip().lower().replace("_", "-")
    if code in ("zh", "zh-hans", "zh-cn", "zh-sg", "zh-hans-cn", "chinese", "中文", "简体中文"):
        return "zh-Hans"
    if code == "en" or code.startswith("en-") or code == "english":
        return "en"
    return None


def _text_columns(sheet: _Sheet, base: str, default_lang: str) -> dict[str, str]:
    """Language -> header of the ``base`` (label, hint...) columns of a sheet."""
    out: dict[str, str] = {}
    for h in sheet.headers:
        head, sep, rest = h.partition("::")
        if head.strip().lower() != base:
            continue
        lang = _language_of(rest) if sep else default_lang
        if lang is not None and lang not in out:
            out[lang] = h
    return out


def _workbook_problems(path: Path) -> list[Problem]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        return [Problem("", f"cannot be read ({exc.strerror})", "check the path")]
    if size > MAX_XLSX_BYTES:
        return [
            Problem(
                "",
                f"is {size} bytes; the limit for an XLSForm workbook is {MAX_XLSX_BYTES}",
                "remove embedded images and unused sheets",
            )
        ]
    if path.suffix.lower() == ".xls":
        return [Problem("", "is an old binary .xls workbook", "save it as .xlsx")]
    try:
        with zipfile.ZipFile(path) as zf:
            unzipped = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        return [Problem("", "is not an .xlsx workbook", "save it from Excel as .xlsx")]
    if unzipped > MAX_UNZIPPED_BYTES:
        return [
            Problem(
                "",
                f"unpacks to {unzipped} bytes; the limit is {MAX_UNZIPPED_BYTES}",
                "remove embedded images and unused sheets",
            )
        ]
    return []


def _read_sheets(path: Path, source: str) -> dict[str, _Sheet]:
    """Every sheet's cell values as text; refuses formulas and oversized sheets."""
    import openpyxl
    from openpyxl.utils import get_column_letter
    from pyxform.xls2json_backends import xlsx_value_to_str

    problems = _workbook_problems(path)
    if problems:
        raise QuestionnaireError(source, problems)
    try:
        with warnings.catch_warnings():
            # openpyxl warns about workbook features it does not read (styles, data
            # validation extensions); they do not affect the values.
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        problem = Problem("", f"is not a readable .xlsx workbook ({exc})", "save it again")
        raise QuestionnaireError(source, [problem]) from None
    sheets: dict[str, _Sheet] = {}
    formulas: list[str] = []
    try:
        _check_dimensions(wb, source)
        for ws in wb.worksheets:
            name = ws.title.strip().lower()
            rows: list[tuple[int, dict[str, str]]] = []
            headers: list[str] = []
            for r, cells in enumerate(ws.iter_rows(), start=1):
                if r > MAX_ROWS + 1:
                    problem = Problem(
                        f"{ws.title}!",
                        f"has more than {MAX_ROWS} rows",
                        "remove empty or unrelated rows; an instrument needs far fewer",
                    )
                    raise QuestionnaireError(source, [problem])
                if len(cells) > MAX_COLUMNS and any(
                    c.value is not None for c in cells[MAX_COLUMNS:]
                ):
                    problem = Problem(
                        f"{ws.title}!",
                        f"has more than {MAX_COLUMNS} columns",
                        "remove unrelated columns",
                    )
                    raise QuestionnaireError(source, [problem])
                values: list[str] = []
                for j, c in enumerate(cells[:MAX_COLUMNS]):
                    if getattr(c, "data_type", None) == "f":
                        formulas.append(f"{ws.title}!{get_column_letter(j + 1)}{r}")
                        values.append("")
                    elif c.value is None:
                        values.append("")
                    else:
                        values.append(xlsx_value_to_str(c.value))
                if r == 1:
                    headers = [v.strip() for v in values]
                    continue
                row = {h: v for h, v in zip(headers, values, strict=False) if h and v.strip() != ""}
                if row:
                    rows.append((r, row))
            sheets[name] = _Sheet(ws.title, headers, rows)
    finally:
        wb.close()
    if formulas:
        shown = ", ".join(formulas[:20]) + (" ..." if len(formulas) > 20 else "")
        problem = Problem(
            "",
            f"has formulas in {len(formulas)} cell(s): {shown}",
            "replace every formula by its value (copy, then paste special -> values)",
        )
        raise QuestionnaireError(source, [problem])
    return sheets


def _check_dimensions(wb: Any, source: str) -> None:
    """Refuse a sheet whose declared size (its ``<dimension>``, which read-only openpyxl
    pads every row to) exceeds the limits, before a single row is read."""
    for ws in wb.worksheets:
        rows, cols = ws.max_row or 0, ws.max_column or 0
        if rows > MAX_ROWS + 1 or cols > MAX_COLUMNS:
            problem = Problem(
                f"{ws.title}!",
                f"declares {rows} rows and {cols} columns; the limits are {MAX_ROWS + 1} "
                f"rows and {MAX_COLUMNS} columns",
                "delete the unused rows and columns after the form's last cell, then save "
                "the workbook again",
            )
            raise QuestionnaireError(source, [problem])


class _Reader:
    """Builds the YAML-shaped dict from the sheets, recording where each part came from."""

    def __init__(self, sheets: Mapping[str, _Sheet], source: str) -> None:
        self.sheets = sheets
        self.source = source
        self.problems: list[Problem] = []
        self.loc: dict[str, _Loc] = {}
        self.settings: dict[str, str] = {}
        settings = sheets.get("settings")
        if settings is not None and settings.rows:
            self.settings = {k.strip().lower(): v for k, v in settings.rows[0][1].items()}
        self.default_lang = _language_of(self.settings.get("default_language", "en")) or "en"
        self.manyi: dict[str, Any] = {}
        self.textcols: dict[tuple[str, str], dict[str, str]] = {}

    # -- helpers --------------------------------------------------------------------------
    def problem(self, loc: _Loc, message: str, fix: str) -> None:
        self.problems.append(Problem(self.where(loc), message, fix))

    def where(self, loc: _Loc) -> str:
        sheet = self.sheets.get(loc.sheet)
        title = sheet.name if sheet else loc.sheet
        if loc.column is None:
            return f"{title}!row {loc.row}"
        letter = sheet.column(loc.column) if sheet else None
        if letter is None:
            return f"{title}!row {loc.row}, column '{loc.column}' (absent)"
        return f"{title}!{letter}{loc.row} ({loc.column})"

    def text_cols(self, sheet: str, base: str) -> dict[str, str]:
        key = (sheet, base)
        if key not in self.textcols:
            s = self.sheets.get(sheet)
            self.textcols[key] = _text_columns(s, base, self.default_lang) if s else {}
        return self.textcols[key]

    def text(self, sheet: str, row: dict[str, str], base: str) -> dict[str, str] | None:
        cols = self.text_cols(sheet, base)
        out = {lang: row[h].strip() for lang, h in cols.items() if row.get(h, "").strip()}
        return out or None

    def flag(self, value: str | None, loc: _Loc) -> bool | None:
        if value is None:
            return None
        v = value.strip().lower()
        if v in _TRUE:
            return True
        if v in _FALSE:
            return False
        self.problem(loc, f"{value!r} is not yes or no", "write yes or no")
        return None

    def number(self, value: str | None, loc: _Loc) -> int | float | None:
        if value is None:
            return None
        try:
            f = float(value)
        except ValueError:
            self.problem(loc, f"{value!r} is not a number", "write a number")
            return None
        return int(f) if f.is_integer() else f

    # -- the manyi and settings sheets ------------------------------------------------------
    def read_manyi(self) -> None:
        sheet = self.sheets.get("manyi")
        if sheet is None:
            return
        for r, row in sheet.rows:
            key = row.get("key", "").strip()
            value = row.get("value", "")
            loc = _Loc("manyi", r, "value")
            if key in _MANYI_TEXT_KEYS:
                self.manyi[key] = value.strip()
            elif key in _MANYI_JSON_KEYS:
                try:
                    self.manyi[key] = json.loads(value)
                except json.JSONDecodeError as exc:
                    self.problem(
                        loc, f"the value of {key!r} is not valid JSON ({exc.msg})", "correct it"
                    )
                    continue
            else:
                self.problem(
                    _Loc("manyi", r, "key"),
                    f"unknown key {key!r}",
                    f"use one of {list(_MANYI_TEXT_KEYS + _MANYI_JSON_KEYS)}",
                )
                continue
            self.loc[key] = loc

    # -- choices ------------------------------------------------------------------------------
    def read_choices(self) -> tuple[dict[str, list[tuple[int, dict[str, str]]]], list[str]]:
        """Choice lists by name (in sheet order) and the names declared as scales."""
        lists: dict[str, list[tuple[int, dict[str, str]]]] = {}
        declared = self.manyi.get("scales", [])
        ok = isinstance(declared, list) and all(isinstance(s, str) for s in declared)
        tagged = list(declared) if ok else []
        if not ok:
            self.problem(self.loc["scales"], "'scales' is not a JSON list", 'write ["id", ...]')
        sheet = self.sheets.get("choices")
        if sheet is None:
            return lists, tagged
        for r, row in sheet.rows:
            name = (row.get("list_name") or row.get("list name") or "").strip()
            if not name:
                self.problem(_Loc("choices", r, "list_name"), "has no list name", "fill it in")
                continue
            lists.setdefault(name, []).append((r, row))
        return lists, tagged

    def integer_list(self, rows: list[tuple[int, dict[str, str]]]) -> list[int] | None:
        try:
            values = [int(row.get("name", "").strip()) for _, row in rows]
        except ValueError:
            return None
        if not values or values != list(range(values[0], values[0] + len(values))):
            return None
        return values

    def scale(self, name: str, rows: list[tuple[int, dict[str, str]]], path: str) -> dict[str, Any]:
        values = self.integer_list(rows)
        self.loc[path] = _Loc("choices", rows[0][0], "list_name")
        if values is None:
            self.problem(
                _Loc("choices", rows[0][0], "name"),
                f"list {name!r} is used as a rating scale but its names are not consecutive "
                "whole numbers",
                "name the points 1, 2, ... (or 0, 1, ...)",
            )
            return {"id": name, "min": 1, "max": 2}
        labels: dict[str, Any] = {}
        for v, (r, row) in zip(values, rows, strict=True):
            text = self.text("choices", row, "label")
            if text is None or all(t == str(v) for t in text.values()):
                continue  # an unlabelled point
            labels[str(v)] = text
            self.loc[f"{path}.labels.{v}"] = _Loc("choices", r, None, "label")
        out: dict[str, Any] = {"id": name, "min": values[0], "max": values[-1]}
        if labels:
            out["labels"] = labels
        return out

    def choice_list(
        self, lists: Mapping[str, list[tuple[int, dict[str, str]]]], name: str, path: str
    ) -> list[dict[str, Any]]:
        out = []
        for j, (r, row) in enumerate(lists[name]):
            self.loc[f"{path}[{j}]"] = _Loc("choices", r)
            self.loc[f"{path}[{j}].code"] = _Loc("choices", r, "name")
            self.loc[f"{path}[{j}].label"] = _Loc("choices", r, None, "label")
            choice: dict[str, Any] = {"code": row.get("name", "").strip()}
            label = self.text("choices", row, "label")
            if label is not None:
                choice["label"] = label
            out.append(choice)
        return out

    # -- the survey sheet -------------------------------------------------------------------
    def read(self) -> dict[str, Any]:
        self.read_manyi()
        lists, tagged = self.read_choices()
        survey = self.sheets.get("survey")
        if survey is None:
            problem = Problem("", "has no 'survey' sheet", "name the sheet of questions 'survey'")
            raise QuestionnaireError(self.source, [problem])
        self.check_survey_columns(survey)
        scale_ids = list(tagged)
        roles_raw: dict[str, Any] = (
            self.manyi["roles"] if isinstance(self.manyi.get("roles"), dict) else {}
        )
        pages: list[dict[str, Any]] = []
        page: dict[str, Any] | None = None
        in_group = False
        item: dict[str, Any] | None = None
        group_names = {
            row.get("name", "").strip()
            for _, row in survey.rows
            if re.sub(r"[\s_]+", " ", row.get("type", "").strip().lower()) == "begin group"
        }

        def flush() -> None:
            nonlocal item
            if item is not None and page is not None:
                page["items"].append(item)
            item = None

        def default_page(r: int) -> dict[str, Any]:
            n = 1
            while f"page{n}" in group_names or any(p["id"] == f"page{n}" for p in pages):
                n += 1
            p = {"id": f"page{n}", "title": dict(_DEFAULT_PAGE_TITLE), "items": []}
            self.loc[f"pages[{len(pages)}]"] = _Loc("survey", r)
            pages.append(p)
            return p

        for r, row in survey.rows:
            kind_cell = re.sub(r"\s+", " ", row.get("type", "").strip())
            parts = kind_cell.split(" ")
            kind = re.sub(r"[\s_]+", " ", kind_cell.lower())
            name = row.get("name", "").strip()
            loc_type = _Loc("survey", r, "type")
            if not kind_cell:
                self.problem(loc_type, "has no type", "fill in the type or delete the row")
                continue
            if kind == "begin group":
                flush()
                if in_group:
                    self.problem(
                        loc_type,
                        "begins a group inside a group; manyi pages do not nest",
                        "end the outer group first",
                    )
                    continue
                in_group = True
                pi = len(pages)
                page = {"id": name, "items": []}
                self.loc[f"pages[{pi}]"] = _Loc("survey", r)
                self.loc[f"pages[{pi}].id"] = _Loc("survey", r, "name")
                self.loc[f"pages[{pi}].title"] = _Loc("survey", r, None, "label")
                self.loc[f"pages[{pi}].intro"] = _Loc("survey", r, None, "hint")
                page["title"] = self.text("survey", row, "label") or {}
                intro = self.text("survey", row, "hint")
                if intro:
                    page["intro"] = intro
                if self.randomize(row.get("parameters"), _Loc("survey", r, "parameters")):
                    page["randomize"] = True
                within = row.get("manyi::randomize", "").strip().lower()
                if within == "dimension" and page.get("randomize"):
                    page["randomize"] = "dimension"
                elif within:
                    self.problem(
                        _Loc("survey", r, "manyi::randomize"),
                        f"manyi::randomize {within!r} cannot be honoured",
                        "write 'dimension' together with the parameters randomize=true "
                        "(the items shuffled within each dimension), or leave it empty",
                    )
                self.loc[f"pages[{pi}].relevant"] = _Loc("survey", r, "relevant")
                cond = self.relevant(row.get("relevant"), _Loc("survey", r, "relevant"))
                if cond is not None:
                    page["relevant"] = cond
                pages.append(page)
                continue
            if kind == "end group":
                flush()
                if not in_group:
                    self.problem(loc_type, "ends a group that was not begun", "remove the row")
                in_group = False
                page = None
                continue
            if kind.startswith(("begin repeat", "end repeat")):
                self.problem(loc_type, "repeats have no manyi equivalent", "remove the repeat")
                continue
            base = parts[0].lower()
            mid = (row.get("manyi::item") or name).strip()
            if base in _SKIPPED_TYPES and not (base == "note" and "manyi::total" in row):
                continue
            if page is None:
                flush()
                page = default_page(r)
            continues = (
                item is not None
                and item["id"] == mid
                and (
                    ("manyi::role" in row and "roles" in item)
                    or ("manyi::option" in row and item["type"] == "allocation")
                )
            )
            if not continues:
                flush()
                pi, ii = len(pages) - 1, len(page["items"])
                path = f"pages[{pi}].items[{ii}]"
                item = self.new_item(row, r, base, parts, mid, lists, path)
                if item is None:
                    continue
                self.no_parameters(row, r)
                self.loc[f"{path}.relevant"] = _Loc("survey", r, "relevant")
                cond = self.relevant(row.get("relevant"), _Loc("survey", r, "relevant"))
                if cond is not None:
                    item["relevant"] = cond
                self.constraint(item, row.get("constraint"), _Loc("survey", r, "constraint"))
                if item.get("type") == "rating" and "scale" in item and item["scale"] in lists:
                    if item["scale"] not in scale_ids:
                        scale_ids.append(item["scale"])
            else:
                assert item is not None  # for mypy: "continues" implies an open item
                self.continue_item(item, row, r)
                self.no_parameters(row, r)
                loc = _Loc("survey", r, "relevant")
                if (self.relevant(row.get("relevant"), loc) or None) != item.get("relevant"):
                    self.problem(
                        loc,
                        "the rows of one item (its roles or options) have different conditions",
                        "give every row of the item the same relevant",
                    )
                self.constraint(item, row.get("constraint"), _Loc("survey", r, "constraint"))
            if item is not None and "roles" in item:
                # strip the role heading the writer prefixed to the label
                role = row.get("manyi::role", "").strip()
                self.strip_role_prefix(item, roles_raw.get(role))
        flush()
        if in_group:
            self.problem(
                _Loc("survey", survey.rows[-1][0] if survey.rows else 1),
                "a group is not ended",
                "add an 'end group' row",
            )
        scales: list[dict[str, Any]] = []
        for sid in scale_ids:
            if sid not in lists:
                self.problem(
                    self.loc.get("scales", _Loc("manyi", 1)),
                    f"scale {sid!r} has no choice list",
                    f"add list {sid!r} to the choices sheet",
                )
                continue
            scales.append(self.scale(sid, lists[sid], f"scales[{len(scales)}]"))
        return self.assemble(pages, scales)

    def check_survey_columns(self, survey: _Sheet) -> None:
        """Refuse a survey column the reader cannot honour (XLSForm's ``appearance``,
        ``parameters`` with ``randomize``, ``default``, ``choice_filter``...) if any row
        fills it: naming its first filled cell, rather than dropping it."""
        for header in survey.headers:
            if not header or header in _SURVEY_COLUMNS or _TEXT_COLUMN.match(header):
                continue
            filled = next((r for r, row in survey.rows if row.get(header, "").strip()), None)
            if filled is None:
                continue
            self.problem(
                _Loc("survey", filled, header),
                f"the column '{header}' has no manyi equivalent, so its values would be lost",
                "remove the column, or express it in the columns manyi reads (type, name, "
                "label, hint, required, relevant, constraint, manyi::...)",
            )

    def randomize(self, cell: str | None, loc: _Loc) -> bool:
        """A group's ``parameters`` cell: ``randomize=true`` shows the page's items in an
        order of each response's own; any other parameter is refused."""
        out = False
        for part in (cell or "").split():
            key, _, value = part.partition("=")
            if key.strip().lower() == "randomize" and value.strip().lower() in _TRUE | _FALSE:
                out = value.strip().lower() in _TRUE
            else:
                self.problem(
                    loc,
                    f"the group parameter {part!r} cannot be honoured",
                    "keep only randomize=true (the page's items in random order)",
                )
        return out

    def no_parameters(self, row: dict[str, str], r: int) -> None:
        """Question ``parameters`` (a choice list's randomize, a text's rows...) have no
        manyi equivalent: refused, not dropped."""
        if row.get("parameters", "").strip():
            self.problem(
                _Loc("survey", r, "parameters"),
                f"the question parameters {row['parameters'].strip()!r} cannot be honoured",
                "remove them; manyi shows choices in their listed order (a group's "
                "randomize=true shuffles the page's questions)",
            )

    def relevant(self, cell: str | None, loc: _Loc) -> str | None:
        """An XLSForm ``relevant`` cell as a display condition (None if empty), or a
        problem at ``loc`` if it does not fit the condition language."""
        text = (cell or "").strip()
        if not text:
            return None
        if re.search(r"(=|!=)\s*(''|\"\")|(''|\"\")\s*(=|!=)", text):
            self.problem(
                loc,
                f"{text!r} compares with an empty text, which manyi conditions do not do",
                "write answered(${name}) or unanswered(${name}) instead",
            )
            return None
        try:
            conditions.parse(text)
        except conditions.ConditionError as exc:
            self.problem(
                loc,
                f"{text!r} is not a condition manyi can honour (at character "
                f"{exc.position + 1}: {exc})",
                "use comparisons, and/or/not, selected(), answered(), unanswered() and "
                "param() over earlier answers",
            )
            return None
        return text

    def constraint(self, item: dict[str, Any], cell: str | None, loc: _Loc) -> None:
        """Honour an XLSForm ``constraint`` that fits the item's own rules (bounds of a
        number, a text's length, an allocation's range and total); refuse any other."""
        text = (cell or "").strip()
        if not text:
            return
        kind = item.get("type")
        ok = True
        for part in re.split(r"\s+and\s+", text):
            bound = _BOUND.match(part)
            if kind == "number" and bound:
                key = "minimum" if bound.group(1) == ">=" else "maximum"
                item.setdefault(key, float(bound.group(2)))
            elif kind == "allocation" and (bound or _TOTAL.match(part)):
                continue  # whole points within the total: the allocation's own rules
            elif kind == "text" and _LENGTH.match(part):
                length = int(_LENGTH.match(part).group(1))  # type: ignore[union-attr]
                item.setdefault("max_length", length)
            else:
                ok = False
        if not ok:
            self.problem(
                loc,
                f"the constraint {text!r} cannot be honoured for a {kind} item",
                "keep only bounds of a number ('. >= 0 and . <= 10'), a text's length "
                "('string-length(.) <= 500') or an allocation's range and total",
            )

    def form_title(self) -> dict[str, str]:
        if isinstance(self.manyi.get("title"), dict):
            return dict(self.manyi["title"])
        # XLSForm has no translated form title: the one title serves both languages.
        t = self.settings.get("form_title") or self.settings.get("form_id")
        return {lang: t or Path(self.source).stem for lang in LANGUAGES}

    def new_item(
        self,
        row: dict[str, str],
        r: int,
        base: str,
        parts: list[str],
        mid: str,
        lists: Mapping[str, list[tuple[int, dict[str, str]]]],
        path: str,
    ) -> dict[str, Any] | None:
        loc_type = _Loc("survey", r, "type")
        self.loc[path] = _Loc("survey", r)
        self.loc[f"{path}.id"] = _Loc(
            "survey", r, "manyi::item" if "manyi::item" in row else "name"
        )
        self.loc[f"{path}.text"] = _Loc("survey", r, None, "label")
        self.loc[f"{path}.help"] = _Loc("survey", r, None, "hint")
        for key in ("dimension", "reverse", "segment", "scale", "roles", "total", "options"):
            self.loc[f"{path}.{key}"] = _Loc("survey", r, f"manyi::{key.rstrip('s')}")
        self.loc[f"{path}.options"] = _Loc("survey", r, "manyi::options")
        self.loc[f"{path}.max_length"] = _Loc("survey", r, "manyi::max_length")
        self.loc[f"{path}.minimum"] = _Loc("survey", r, "manyi::minimum")
        self.loc[f"{path}.maximum"] = _Loc("survey", r, "manyi::maximum")
        item: dict[str, Any] = {"id": mid}
        listname = parts[1] if len(parts) > 1 else None
        if base in ("select_one", "select_multiple"):
            if listname is None or len(parts) > 2:
                self.problem(
                    loc_type,
                    f"{' '.join(parts)!r} is not '{base} <list name>'",
                    "name one choice list (or_other and other options are not supported)",
                )
                return None
            if listname not in lists:
                self.problem(
                    loc_type,
                    f"choice list {listname!r} is not in the choices sheet",
                    "add it to the choices sheet or correct the name",
                )
                return None
        if base == "select_one":
            assert listname is not None
            scale_tag = row.get("manyi::scale", "").strip()
            is_int = self.integer_list(lists[listname])
            if scale_tag or "manyi::role" in row or (is_int and 3 <= len(is_int) <= 11):
                item["type"] = "rating"
                item["scale"] = scale_tag or listname
                if scale_tag and scale_tag != listname:
                    self.problem(
                        _Loc("survey", r, "manyi::scale"),
                        f"manyi::scale {scale_tag!r} differs from the choice list {listname!r}",
                        "use the same name in both",
                    )
                if "manyi::role" in row:
                    item["roles"] = [row["manyi::role"].strip()]
                self.tags(item, row, r, ("dimension",), ("reverse",))
            else:
                item["type"] = "single_choice"
                item["choices"] = self.choice_list(lists, listname, f"{path}.choices")
                self.tags(item, row, r, (), ("segment",))
        elif base == "select_multiple":
            assert listname is not None
            item["type"] = "multiple_choice"
            item["choices"] = self.choice_list(lists, listname, f"{path}.choices")
        elif base == "text":
            item["type"] = "text"
            if "manyi::max_length" in row:
                n = self.number(row["manyi::max_length"], self.loc[f"{path}.max_length"])
                if n is not None:
                    item["max_length"] = int(n)
        elif base in ("integer", "decimal"):
            item["type"] = "number"
            for key in ("minimum", "maximum"):
                if f"manyi::{key}" in row:
                    v = self.number(row[f"manyi::{key}"], self.loc[f"{path}.{key}"])
                    if v is not None:
                        item[key] = v
        elif base == "note":  # the head of an allocation (has manyi::total)
            item["type"] = "allocation"
            total = self.number(row.get("manyi::total"), self.loc[f"{path}.total"])
            if total is not None:
                item["total"] = int(total)
            if row.get("manyi::options", "").strip() == "dimensions":
                item["options"] = "dimensions"
            else:
                item["options"] = []
            item["_path"] = path
        else:
            self.problem(
                loc_type,
                f"type {parts[0]!r} has no manyi equivalent",
                "use select_one, select_multiple, text, integer or decimal, or remove the row",
            )
            return None
        text = self.text("survey", row, "label")
        item["text"] = text or {}
        hint = self.text("survey", row, "hint")
        if hint:
            item["help"] = hint
        if base != "note" and "required" in row:
            req = self.flag(row["required"], _Loc("survey", r, "required"))
            if req is False:
                item["required"] = False
        elif base != "note":
            item["required"] = False  # XLSForm questions are optional unless required=yes
        return item

    def tags(
        self,
        item: dict[str, Any],
        row: dict[str, str],
        r: int,
        texts: Iterable[str],
        flags: Iterable[str],
    ) -> None:
        for key in texts:
            if row.get(f"manyi::{key}", "").strip():
                item[key] = row[f"manyi::{key}"].strip()
        for key in flags:
            if f"manyi::{key}" in row and self.flag(
                row[f"manyi::{key}"], _Loc("survey", r, f"manyi::{key}")
            ):
                item[key] = True

    def continue_item(self, item: dict[str, Any], row: dict[str, str], r: int) -> None:
        if item["type"] == "allocation":
            path = item["_path"]
            if not item.get("_seen_option"):
                item["_seen_option"] = True
                req = self.flag(row.get("required"), _Loc("survey", r, "required"))
                if req is not True:
                    item["required"] = False
            if item.get("options") == "dimensions":
                return
            j = len(item["options"])
            opath = f"{path}.options[{j}]"
            self.loc[opath] = _Loc("survey", r)
            self.loc[f"{opath}.code"] = _Loc("survey", r, "manyi::option")
            self.loc[f"{opath}.label"] = _Loc("survey", r, None, "label")
            option: dict[str, Any] = {"code": row["manyi::option"].strip()}
            label = self.text("survey", row, "label")
            if label is not None:
                option["label"] = label
            item["options"].append(option)
        else:
            item["roles"].append(row["manyi::role"].strip())

    def strip_role_prefix(self, item: dict[str, Any], heading: Any) -> None:
        if len(item["roles"]) != 1 or not isinstance(heading, dict):
            return  # only the first role row's label is the item text
        for lang, text in list(item["text"].items()):
            h = heading.get(lang)
            if isinstance(h, str) and h:
                m = re.match(re.escape(h) + r"\s*[:：]\s*", text)
                if m:
                    item["text"][lang] = text[m.end() :]

    def assemble(self, pages: list[dict[str, Any]], scales: list[dict[str, Any]]) -> dict[str, Any]:
        for p in pages:
            for it in p["items"]:
                it.pop("_path", None)
                it.pop("_seen_option", None)
                if it["type"] == "allocation" and it.get("required") is None:
                    it.pop("required", None)
        data: dict[str, Any] = {"format": "manyi/1"}
        form_id = self.settings.get("form_id", "").strip()
        data["id"] = form_id or Path(self.source).stem.lower()
        data["version"] = self.settings.get("version", "1").strip() or "1"
        data["audience"] = self.manyi.get("audience", "customer")
        if "languages" in self.manyi:
            data["languages"] = self.manyi["languages"]
        data["title"] = self.form_title()
        for key in ("description", "citation"):
            if key in self.manyi:
                data[key] = self.manyi[key]
        if scales:
            data["scales"] = scales
        if "roles" in self.manyi:
            data["roles"] = self.manyi["roles"]
        if "dimensions" in self.manyi:
            data["dimensions"] = self.manyi["dimensions"]
        data["pages"] = pages
        if "scoring" in self.manyi:
            data["scoring"] = self.manyi["scoring"]
        self.loc.setdefault("id", _Loc("settings", 2, "form_id"))
        self.loc.setdefault("version", _Loc("settings", 2, "version"))
        self.loc.setdefault("title", _Loc("settings", 2, "form_title"))
        self.loc.setdefault("audience", _Loc("manyi", 1, "key"))
        return data

    # -- mapping the loader's problems back to cells -----------------------------------------
    def relocate(self, problem: Problem) -> Problem:
        path = problem.path
        best = ""
        for key in self.loc:
            if (path == key or path.startswith((key + ".", key + "["))) and len(key) > len(best):
                best = key
        if not best:
            return Problem(path, problem.message, problem.fix, problem.line)
        loc = self.loc[best]
        rest = path[len(best) :]
        if loc.text is not None:
            lang = next((lg for lg in LANGUAGES if rest.endswith("." + lg)), None)
            if lang is not None:
                cols = self.text_cols(loc.sheet, loc.text)
                header = cols.get(lang, f"{loc.text}::{LANGUAGE_HEADERS[lang]}")
                cell = _Loc(loc.sheet, loc.row, header)
                where = self.where(cell)
                if "missing" in problem.message:
                    sheet = self.sheets.get(loc.sheet)
                    name = sheet.name if sheet else loc.sheet
                    if lang in cols:
                        fix = f"fill in the {LANGUAGE_NAMES[lang]} text in that cell"
                    else:
                        fix = (
                            f"add a column headed '{header}' to the {name} sheet and fill in "
                            f"row {loc.row}"
                        )
                    return Problem(where, f"{problem.message} ({path})", fix)
                return Problem(where, f"{problem.message} ({path})", problem.fix)
            loc = _Loc(loc.sheet, loc.row)
        return Problem(self.where(loc), f"{problem.message} ({path})", problem.fix)


def read_xlsform(path: str | Path) -> Questionnaire:
    """Load an XLSForm workbook (``.xlsx``) as a questionnaire.

    Parameters
    ----------
    path
        The workbook. A file written by :func:`write_xlsform` comes back as the same
        instrument; a third party's XLSForm needs labels in both zh-Hans and en.

    Returns
    -------
    Questionnaire
        The validated instrument (``source`` is the file name).

    Raises
    ------
    QuestionnaireError
        With every problem at once, each naming sheet, row and column (for instance
        ``survey!C7 (label::Chinese (zh-Hans))``) and the fix.
    """
    p = Path(path)
    source = p.name
    sheets = _read_sheets(p, source)
    reader = _Reader(sheets, source)
    data = reader.read()
    problems = list(reader.problems)
    try:
        q = from_dict(data, source=source)
    except QuestionnaireError as exc:
        problems.extend(reader.relocate(pr) for pr in exc.problems)
        raise QuestionnaireError(source, problems) from None
    if problems:
        raise QuestionnaireError(source, problems)
    return q


# ======================================================================================
# writing
# ======================================================================================
_SURVEY_HEADERS = [
    "type",
    "name",
    *(f"label::{LANGUAGE_HEADERS[lang]}" for lang in LANGUAGES),
    *(f"hint::{LANGUAGE_HEADERS[lang]}" for lang in LANGUAGES),
    "required",
    "relevant",
    "parameters",
    "constraint",
    *(f"constraint_message::{LANGUAGE_HEADERS[lang]}" for lang in LANGUAGES),
    "manyi::item",
    "manyi::role",
    "manyi::scale",
    "manyi::dimension",
    "manyi::reverse",
    "manyi::segment",
    "manyi::option",
    "manyi::options",
    "manyi::total",
    "manyi::max_length",
    "manyi::minimum",
    "manyi::maximum",
    "manyi::randomize",
]
_CHOICE_HEADERS = [
    "list_name",
    "name",
    *(f"label::{LANGUAGE_HEADERS[lang]}" for lang in LANGUAGES),
]
_ROLE_SEPARATOR = {"zh-Hans": "：", "en": ": "}


@dataclass
class _Writer:
    q: Questionnaire
    survey: list[dict[str, Any]] = field(default_factory=list)
    choices: list[dict[str, Any]] = field(default_factory=list)
    raw_items: dict[str, dict[str, Any]] = field(default_factory=dict)

    def texts(self, base: str, text: Any) -> dict[str, str]:
        if text is None:
            return {}
        return {f"{base}::{LANGUAGE_HEADERS[lang]}": text.get(lang) for lang in LANGUAGES}

    def build(self) -> None:
        q = self.q
        raw = q.to_dict()
        self.raw_items = {it["id"]: it for page in raw["pages"] for it in page["items"]}
        list_names: set[str] = set()
        for s in raw.get("scales") or []:
            scale = q.scales[s["id"]]
            list_names.add(scale.id)
            for v in range(scale.min, scale.max + 1):
                label = scale.labels.get(v)
                cells = (
                    self.texts("label", label)
                    if label is not None
                    else {f"label::{LANGUAGE_HEADERS[lang]}": str(v) for lang in LANGUAGES}
                )
                self.choices.append({"list_name": scale.id, "name": str(v), **cells})
        for page in q.pages:
            self.survey.append(
                {
                    "type": "begin group",
                    "name": page.id,
                    **self.texts("label", page.title),
                    **self.texts("hint", page.intro),
                    **({"relevant": page.relevant} if page.relevant else {}),
                    **({"parameters": "randomize=true"} if page.randomize else {}),
                    **({"manyi::randomize": "dimension"} if page.randomize == "dimension" else {}),
                }
            )
            for item in page.items:
                self.item(item, list_names)
            self.survey.append({"type": "end group", "name": page.id})

    def item(self, item: Item, list_names: set[str]) -> None:
        raw_item = self.raw_items[item.id]
        common = {
            "manyi::item": item.id,
            "relevant": item.relevant,
            **self.texts("hint", item.help),
        }
        req = "yes" if item.required else "no"
        if item.type == "rating":
            assert item.scale is not None
            tags = {
                "manyi::scale": item.scale.id,
                "manyi::dimension": item.dimension,
                "manyi::reverse": "yes" if item.reverse else None,
            }
            if not item.roles:
                self.add(
                    type=f"select_one {item.scale.id}",
                    name=item.id,
                    required=req,
                    **self.texts("label", item.text),
                    **common,
                    **tags,
                )
            for role in item.roles:
                heading = self.q.roles[role]
                label = {
                    f"label::{LANGUAGE_HEADERS[lang]}": heading.get(lang)
                    + _ROLE_SEPARATOR[lang]
                    + item.text.get(lang)
                    for lang in LANGUAGES
                }
                self.add(
                    type=f"select_one {item.scale.id}",
                    name=item.column(role),
                    required=req,
                    **label,
                    **common,
                    **tags,
                    **{"manyi::role": role},
                )
        elif item.type in ("single_choice", "multiple_choice"):
            name = item.id
            while name in list_names:
                name += "_list"
            list_names.add(name)
            for c in item.choices:
                self.choices.append(
                    {"list_name": name, "name": c.code, **self.texts("label", c.label)}
                )
            kind = "select_one" if item.type == "single_choice" else "select_multiple"
            self.add(
                type=f"{kind} {name}",
                name=item.id,
                required=req,
                **self.texts("label", item.text),
                **common,
                **{"manyi::segment": "yes" if item.segment else None},
            )
        elif item.type == "allocation":
            total = item.total or 100
            over_dims = raw_item.get("options", "dimensions") == "dimensions"
            self.add(
                type="note",
                name=item.id,
                **self.texts("label", item.text),
                **common,
                **{"manyi::total": total, "manyi::options": "dimensions" if over_dims else None},
            )
            cols = item.columns()
            for k, (c, col) in enumerate(zip(item.choices, cols, strict=True)):
                constraint = f". >= 0 and . <= {total}"
                if k == len(cols) - 1:
                    others = " + ".join(f"${{{o}}}" for o in cols[:-1])
                    constraint += f" and {others} + . = {total}"
                self.add(
                    type="integer",
                    name=col,
                    required=req,
                    constraint=constraint,
                    **self.texts("label", c.label),
                    **{
                        f"constraint_message::{LANGUAGE_HEADERS['zh-Hans']}": (
                            f"每项 0 到 {total} 分，合计 {total} 分"
                        ),
                        f"constraint_message::{LANGUAGE_HEADERS['en']}": (
                            f"0 to {total} points each, {total} in total"
                        ),
                        "manyi::item": item.id,
                        "manyi::option": c.code,
                        "relevant": item.relevant,
                    },
                )
        elif item.type == "text":
            self.add(
                type="text",
                name=item.id,
                required=req,
                constraint=f"string-length(.) <= {item.max_length}",
                **self.texts("label", item.text),
                **common,
                **{"manyi::max_length": raw_item.get("max_length")},
            )
        else:  # number
            bounds = []
            if item.minimum is not None:
                bounds.append(f". >= {item.minimum}")
            if item.maximum is not None:
                bounds.append(f". <= {item.maximum}")
            self.add(
                type="decimal",
                name=item.id,
                required=req,
                constraint=" and ".join(bounds) or None,
                **self.texts("label", item.text),
                **common,
                **{"manyi::minimum": item.minimum, "manyi::maximum": item.maximum},
            )

    def add(self, **cells: Any) -> None:
        self.survey.append({k: v for k, v in cells.items() if v is not None})

    def manyi_rows(self) -> list[tuple[str, str]]:
        raw = self.q.to_dict()
        rows: list[tuple[str, str]] = [("audience", self.q.audience)]
        rows.append(("scales", json.dumps([s["id"] for s in raw.get("scales") or []])))
        for key in _MANYI_JSON_KEYS:
            if key in raw and key != "scales":
                rows.append((key, json.dumps(raw[key], ensure_ascii=False)))
        if "citation" in raw:
            rows.append(("citation", raw["citation"]))
        return rows


def _put_sheet(wb: Any, title: str, headers: list[str], rows: Iterable[Mapping[str, Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h) for h in headers])
    for cells in ws.iter_rows(min_row=2):
        for c in cells:
            if isinstance(c.value, str):
                c.data_type = "s"  # a text starting with '=' must stay text, not a formula


def write_xlsform(q: Questionnaire, path: str | Path) -> None:
    """Write ``q`` as an XLSForm workbook (``.xlsx``) that pyxform converts to an XForm.

    The manyi-specific information travels in ``manyi::`` columns and a ``manyi`` sheet
    (see the module docstring), so :func:`read_xlsform` reads the same instrument back.
    The file is written to a temporary name and renamed, so a failure leaves no partial
    workbook behind.

    Examples
    --------
    >>> import tempfile, pathlib, questionnaires as qn
    >>> q = qn.loads(pathlib.Path("tests/questionnaires/data/minimal.yaml").read_text("utf-8"))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_xlsform(q, pathlib.Path(d) / "minimal.xlsx")
    ...     q2 = read_xlsform(pathlib.Path(d) / "minimal.xlsx")
    >>> canonical(q2.to_dict()) == canonical(q.to_dict())
    True
    """
    import openpyxl

    dest = Path(path)
    w = _Writer(q)
    w.build()
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    _put_sheet(wb, "survey", _SURVEY_HEADERS, w.survey)
    _put_sheet(wb, "choices", _CHOICE_HEADERS, w.choices)
    settings = {
        "form_title": q.title.zh_hans,
        "form_id": q.id,
        "version": q.version,
        "default_language": LANGUAGE_HEADERS["zh-Hans"],
    }
    _put_sheet(wb, "settings", list(settings), [settings])
    _put_sheet(wb, "manyi", ["key", "value"], [{"key": k, "value": v} for k, v in w.manyi_rows()])
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent or ".")
    os.close(fd)
    try:
        wb.save(tmp)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ======================================================================================
# normalisation
# ======================================================================================
def canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (a questionnaire as plain data) with defaults dropped and texts stripped.

    Two instruments are the same for the XLSForm round trip when their canonical forms
    are equal; see "Normalisation" in the module docstring.
    """
    out: dict[str, Any] = _strip(json.loads(json.dumps(data)))
    out["version"] = str(out.get("version", ""))
    if sorted(out.get("languages", LANGUAGES)) == sorted(LANGUAGES):
        out.pop("languages", None)
    for page in out.get("pages", []):
        for item in page.get("items", []):
            for key, default in _DEFAULTS_ITEM.items():
                if key in item and item[key] == default:
                    del item[key]
            if item.get("type") == "allocation" and item.get("total") == 100:
                del item["total"]
            if item.get("type") == "text" and item.get("max_length") == 2000:
                del item["max_length"]
    return out


def _strip(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    if isinstance(obj, str):
        return obj.strip()
    return obj


__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_UNZIPPED_BYTES",
    "MAX_XLSX_BYTES",
    "canonical",
    "read_xlsform",
    "write_xlsform",
]
