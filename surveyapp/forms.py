"""WTForms classes generated from a questionnaire page, and the server-side checks.

Every answer field is named after its export column (the rule in
:meth:`questionnaires.Item.columns`) with the prefix ``a-`` (``a-tan1_e``), so answer
fields can never collide with the form's own hidden fields (``csrf_token``,
``response_id``, ``page``...): column names cannot contain a dash.

All single-valued answers arrive as strings and are checked here, whatever the browser
sent: a rating must be a whole number on its scale, a choice one of the item's codes, a
number finite and within its bounds, a free text within its length and free of control
characters, and an allocation must be whole non-negative numbers that add up to the
item's total. Nothing is stored unless the whole page passes.

One function decides: :func:`check_page` takes the page's field data (column -> text,
or a check box's on/off) and returns the messages per item, or the values to store. The
WTForms form's ``validate()`` is that function on its fields' data; a POST is checked by
:func:`check_post`, the same function on the data WTForms would give the fields (a
field's data is the first posted value of its name; a check box is on unless absent or
one of ``BooleanField.false_values``), without binding fifty fields first. The form is
bound only to render a page. CSRF is Flask-WTF's app-wide check, independent of both.
"""

from __future__ import annotations

import math
import re
import threading
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Form, StringField

from questionnaires import Item, Page, Questionnaire, Scale, Text
from questionnaires.conditions import holds
from surveyapp.i18n import current_language

PREFIX = "a"
_INT = re.compile(r"^[+-]?\d{1,9}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,15}(\.\d{0,10})?|\.\d{1,10})([eE][+-]?\d{1,3})?$")
# control characters other than tab / newline have no place in an answer; NUL cannot even
# be stored in PostgreSQL text; what XML forbids (lone surrogates, U+FFFE, U+FFFF) would
# make an XLSX export unreadable
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")

Value = float | str


class FieldError(NamedTuple):
    """One message about an item, and the column (field) it is about: the error summary
    links to that field. ``str()`` is the message."""

    text: str
    column: str

    def __str__(self) -> str:
        return self.text


def field_label(label: Text) -> str:
    """A role's or row's name in this request's language, as a message names it (without
    the trailing colon or ellipsis of a role's stem, "This company does…")."""
    return label.get(current_language()).rstrip(" :：…").strip()


def field_name(column: str) -> str:
    """The HTML name of the answer field of ``column`` (``"a-" + column``)."""
    return f"{PREFIX}-{column}"


# -- checks of one field's (non-empty) text ----------------------------------------------
class _Check:
    """A field's check: :meth:`problem` of its text is the message, or None if it passes."""

    def problem(self, raw: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError


class WholeNumber(_Check):
    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def problem(self, raw: str) -> str | None:
        raw = raw.strip()
        if _INT.match(raw) and self.lo <= int(raw) <= self.hi:
            return None
        return str(_l("Choose a whole number from %(lo)s to %(hi)s.", lo=self.lo, hi=self.hi))


class OneOf(_Check):
    def __init__(self, codes: tuple[str, ...]) -> None:
        self.codes = codes

    def problem(self, raw: str) -> str | None:
        if raw.strip() in self.codes:
            return None
        return str(_l("Choose one of the options shown."))


class Decimal(_Check):
    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo, self.hi = lo, hi

    def problem(self, raw: str) -> str | None:
        raw = raw.strip()
        if not (_NUMBER.match(raw) and math.isfinite(float(raw))):
            return str(_l("Enter a number, for example 12 or 3.5."))
        value = float(raw)
        if self.lo is not None and value < self.lo:
            return str(_l("Enter at least %(n)s.", n=_fmt(self.lo)))
        if self.hi is not None and value > self.hi:
            return str(_l("Enter at most %(n)s.", n=_fmt(self.hi)))
        return None


class PlainText(_Check):
    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def problem(self, raw: str) -> str | None:
        text = normalise_text(raw)
        if _CONTROL.search(text):
            return str(_l("Remove the control characters from this answer."))
        if len(text) > self.max_length:
            msg = ngettext(
                "Shorten this answer to %(max)s character (it has %(n)s).",
                "Shorten this answer to %(max)s characters (it has %(n)s).",
                self.max_length,
                max=self.max_length,
                n=len(text),
            )
            return str(msg)
        return None


def normalise_text(raw: str) -> str:
    """Free text as stored: NFC, unified line breaks, no surrounding white space."""
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()


def display_value(value: Value) -> str:
    """A stored answer as shown back to the respondent (whole numbers without ".0")."""
    return value if isinstance(value, str) else _fmt(value)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# -- form classes -------------------------------------------------------------------------
class PageFormBase(Form):  # type: ignore[misc]  # wtforms ships no type hints
    """A questionnaire page; ``partial`` relaxes required answers (save and resume)."""

    partial = False
    page: Page
    rules: _Rules
    item_errors: dict[str, list[FieldError]]
    _values: dict[str, Value | None]

    def __init__(self, formdata: Any = None, *, partial: bool = False, **kwargs: Any) -> None:
        super().__init__(formdata=formdata, prefix=PREFIX, **kwargs)
        self.partial = partial
        self.item_errors = {}
        self._values = {}

    def validate(self, extra_validators: Any = None) -> bool:
        """:func:`check_page` on the fields' data: messages in ``item_errors``."""
        data = {name: f.data for name, f in self._fields.items()}
        self.item_errors, self._values = check_page(type(self), data, self.partial)
        return not self.item_errors

    def values(self) -> dict[str, Value | None]:
        """Column -> value to store (None: no answer) for every column of the page.

        Call only after :meth:`validate` returned True.
        """
        return self._values


# (item, its columns, each field's (column, required unless partial, check or None for a
# check box, the field's own name where an item has several: an E/P role, an allocation
# row)): the rules check_page applies, made once per form class
_Field = tuple[str, bool, "_Check | None", Text | None]
_Rules = tuple[tuple[Item, tuple[str, ...], tuple[_Field, ...]], ...]


@dataclass(frozen=True)
class Context:
    """What display conditions read besides the page itself: the response's stored
    answers (column -> value) and the link's parameters (an invitation's segments)."""

    answers: Mapping[str, Value]
    params: Mapping[str, str]


def check_page(
    cls: type[PageFormBase],
    data: dict[str, Any],
    partial: bool,
    context: Context | None = None,
) -> tuple[dict[str, list[FieldError]], dict[str, Value | None]]:
    """The one validator of a page: ``data`` is its fields' data (column -> text or None;
    a check box's True/False). Returns (item id -> messages, {}) if any item fails, else
    ({}, column -> value to store, None for no answer, for every column of the page).

    With a ``context``, an item whose display condition does not hold (on the stored
    answers, the page's answers before it and the link's parameters) is not applicable:
    it is not checked, and nothing is stored for it (None, which also removes an answer
    given before it was hidden). Without one, every item is shown."""
    errors: dict[str, list[FieldError]] = {}
    values: dict[str, Value | None] = {}
    known: dict[str, Value] = dict(context.answers) if context is not None else {}
    for item, columns, fields in cls.rules:
        if context is not None and not holds(item.relevant, known, context.params):
            for col in columns:
                values[col] = None
                known.pop(col, None)
            continue
        messages: list[FieldError] = []
        found = [data.get(col) for col in columns]
        for (col, required, check, label), raw in zip(fields, found, strict=True):
            if check is None:  # a check box: any data is an answer
                continue
            if raw is None or not raw.strip():
                msg: str | None = None
                if required and not partial:
                    msg = str(_l("This question needs an answer."))
            else:
                msg = check.problem(raw)
            if msg is not None:
                # a field of several (E or P, an allocation row) is named in its message
                text = msg if label is None else f"{field_label(label)}: {msg}"
                if text not in (p.text for p in messages):
                    messages.append(FieldError(text, col))
        if not messages:
            msg = _item_problem(item, found, partial)
            if msg is not None:
                messages.append(FieldError(msg, columns[0]))
        if messages:
            errors[item.id] = messages
            continue
        given = _item_values(item, columns, found)
        for col, v in given.items():
            if v is None:
                known.pop(col, None)
            else:
                known[col] = v
        if not errors:
            values.update(given)
    return errors, ({} if errors else values)


def check_post(
    q: Questionnaire,
    page_index: int,
    formdata: Any,
    *,
    partial: bool = False,
    context: Context | None = None,
) -> tuple[dict[str, list[FieldError]], dict[str, Value | None]]:
    """:func:`check_page` of a posted page, as ``page_form(q, page_index, formdata,
    partial=partial).validate()`` decides it, without binding the form's fields."""
    cls = page_form_class(q, q.pages[page_index])
    get: Callable[[str], Any] = (
        formdata.to_dict() if isinstance(formdata, MultiDict) else formdata
    ).get  # each name's first value, as WTForms reads it
    off = BooleanField.false_values
    data: dict[str, Any] = {}
    for _item, _columns, fields in cls.rules:
        for col, _required, check, _label in fields:
            raw = get(field_name(col))
            data[col] = raw if check is not None else (raw is not None and raw not in off)
    return check_page(cls, data, partial, context)


def _item_problem(item: Item, data: list[Any], partial: bool) -> str | None:
    """The item-level check once every field passed (``data``: the fields' data)."""
    if item.type == "multiple_choice":
        if item.required and not partial and not any(data):
            return str(_l("Choose at least one option."))
    elif item.type == "allocation":
        raw = [(d or "").strip() for d in data]
        if not any(raw):
            if item.required and not partial:
                return str(_l("This question needs an answer."))
            return None
        total = sum(int(r) for r in raw if r)
        if total > (item.total or 0):
            msg = _l(
                "The points must add up to %(total)s; they add up to %(sum)s: take away %(n)s.",
                total=item.total,
                sum=total,
                n=total - (item.total or 0),
            )
            return str(msg)
        if total < (item.total or 0):
            msg = _l(
                "The points must add up to %(total)s; they add up to %(sum)s: %(n)s still to give.",
                total=item.total,
                sum=total,
                n=(item.total or 0) - total,
            )
            return str(msg)
    return None


def _item_values(item: Item, columns: Sequence[str], data: list[Any]) -> dict[str, Value | None]:
    """Column -> value to store of a valid item (``data``: its fields' data, in order)."""
    if item.type == "multiple_choice":
        return {c: 1.0 if d else 0.0 for c, d in zip(columns, data, strict=True)}
    if item.type == "allocation":
        raw = [(d or "").strip() for d in data]
        answered = any(raw)
        return {
            c: float(int(r or 0)) if answered else None for c, r in zip(columns, raw, strict=True)
        }
    return {c: _convert(item, d) for c, d in zip(columns, data, strict=True)}


def _convert(item: Item, raw: str | None) -> Value | None:
    if raw is None:
        return None
    if item.type == "text":
        text = normalise_text(raw)
        return text or None
    raw = raw.strip()
    if not raw:
        return None
    if item.type == "single_choice":
        return raw
    return float(int(raw)) if item.type == "rating" else float(raw)


def _scale(item: Item) -> tuple[int, int]:
    if item.scale is None:  # the loader guarantees a scale; this guards hand-built items
        msg = f"rating item {item.id!r} has no scale; give it 'scale: <id>'."
        raise ValueError(msg)
    return item.scale.min, item.scale.max


def _checks_for(item: Item, roles: Any) -> tuple[_Field, ...]:
    """(column, required, value check, name) of each field of ``item``; the check is None
    for the check boxes of a multiple choice; the name is the role of an E/P rating's
    field (``roles``: the questionnaire's role names) and the row of an allocation's,
    None for an item's only field. An allocation's fields are never required one by
    one: the item's total is checked as a whole (``_item_problem``)."""
    check: _Check | None
    if item.type == "rating":
        lo, hi = _scale(item)
        check = WholeNumber(lo, hi)
    elif item.type == "single_choice":
        check = OneOf(tuple(c.code for c in item.choices))
    elif item.type == "multiple_choice":
        check = None
    elif item.type == "allocation":
        check = WholeNumber(0, item.total or 100)
    elif item.type == "number":
        check = Decimal(item.minimum, item.maximum)
    else:  # text
        check = PlainText(item.max_length or 2000)
    required = item.required and item.type != "allocation"
    columns = item.columns()
    labels: list[Text | None] = [None] * len(columns)
    if item.type == "rating" and item.roles:
        labels = [roles.get(role) for role in item.roles]
    elif item.type == "allocation":
        labels = [c.label for c in item.choices]
    return tuple((col, required, check, label) for col, label in zip(columns, labels, strict=True))


_CLASSES: dict[tuple[str, str], type[PageFormBase]] = {}
_CACHE_SIZE = 256  # pages; instruments are immutable, so entries never go stale
# the app servers run threads (gthread): two threads must not evict the same oldest entry
_CACHE_LOCK = threading.Lock()


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    with _CACHE_LOCK:
        if len(cache) >= _CACHE_SIZE:
            cache.pop(next(iter(cache)))  # the oldest
        cache[key] = value


def page_form_class(q: Questionnaire, page: Page) -> type[PageFormBase]:
    """The WTForms class of ``page`` (cached per instrument content and page)."""
    key = (q.content_hash, page.id)
    cls = _CLASSES.get(key)
    if cls is None:
        rules = tuple((item, item.columns(), _checks_for(item, q.roles)) for item in page.items)
        attrs: dict[str, Any] = {"page": page, "rules": rules}
        for _item, _columns, fields in rules:
            for col, _required, check, _label in fields:
                attrs[col] = BooleanField() if check is None else StringField()
        cls = type(f"PageForm_{page.id}", (PageFormBase,), attrs)
        _remember(_CLASSES, key, cls)
    return cls


def page_form(
    q: Questionnaire,
    page_index: int,
    formdata: MultiDict[str, str] | None = None,
    *,
    stored: dict[str, Value] | None = None,
    partial: bool = False,
) -> PageFormBase:
    """A form for page ``page_index``, bound to posted ``formdata`` or prefilled from
    ``stored`` answers (column -> value)."""
    page = q.pages[page_index]
    cls = page_form_class(q, page)
    if formdata is not None:
        return cls(formdata, partial=partial)
    data: dict[str, Any] = {}
    for item in page.items:
        for col in item.columns():
            if stored is None or col not in stored:
                continue
            v = stored[col]
            if item.type == "multiple_choice":
                data[col] = bool(v)
            elif isinstance(v, float):
                data[col] = _fmt(v)
            else:
                data[col] = v
    return cls(None, data=data, partial=partial)


def formdata_from(
    q: Questionnaire, page_index: int, stored: dict[str, Value]
) -> MultiDict[str, str]:
    """Stored answers as posted form data, to check them like a fresh post."""
    form = page_form(q, page_index, stored=stored)
    data: MultiDict[str, str] = MultiDict()
    for f in form:
        if f.type == "BooleanField":
            if f.data:
                data.add(f.name, "y")
        elif f.data not in (None, ""):
            data.add(f.name, str(f.data))
    return data


def column_checks(q: Questionnaire) -> dict[str, Callable[[Value], bool]]:
    """Column -> predicate that a stored value must satisfy (independent of the form code)."""
    checks: dict[str, Callable[[Value], bool]] = {}
    for item in q.items:
        for col in item.columns():
            checks[col] = _predicate(item)
    return checks


def _predicate(item: Item) -> Callable[[Value], bool]:
    if item.type == "rating":
        lo, hi = _scale(item)
        return lambda v: isinstance(v, float) and v.is_integer() and lo <= v <= hi
    if item.type == "single_choice":
        codes = {c.code for c in item.choices}
        return lambda v: isinstance(v, str) and v in codes
    if item.type == "multiple_choice":
        return lambda v: v in (0.0, 1.0) and not isinstance(v, str)
    if item.type == "allocation":
        total = item.total or 100
        return lambda v: isinstance(v, float) and v.is_integer() and 0 <= v <= total
    if item.type == "number":
        low: float = -math.inf if item.minimum is None else item.minimum
        high: float = math.inf if item.maximum is None else item.maximum
        return lambda v: isinstance(v, float) and math.isfinite(v) and low <= v <= high
    limit = item.max_length or 2000
    return lambda v: (
        isinstance(v, str) and 0 < len(v) <= limit and not _CONTROL.search(v) and v == v.strip()
    )


@dataclass(frozen=True)
class Block:
    """Consecutive items shown together: a matrix of rating items rated in the same roles
    on the same scale, or a single item."""

    kind: str  # "matrix" | "item"
    items: tuple[Item, ...]
    scale: Scale | None = None
    roles: tuple[str, ...] = ()


def page_blocks(page: Page) -> list[Block]:
    """The page's items grouped for display (E/P matrices and single items)."""
    out: list[Block] = []
    for item in page.items:
        if item.type == "rating" and item.roles:
            prev = out[-1] if out else None
            if (
                prev is not None
                and prev.kind == "matrix"
                and prev.scale == item.scale
                and prev.roles == item.roles
            ):
                out[-1] = Block("matrix", (*prev.items, item), prev.scale, prev.roles)
                continue
            out.append(Block("matrix", (item,), item.scale, item.roles))
        else:
            out.append(Block("item", (item,)))
    return out
