"""WTForms classes generated from a questionnaire page, and the server-side checks.

Every answer field is named after its export column (the rule in
:meth:`questionnaires.Item.columns`) with the prefix ``a-`` (``a-tan1_e``), so answer
fields can never collide with the form's own hidden fields (``csrf_token``,
``response_id``, ``page``...): column names cannot contain a dash.

All single-valued answers arrive as strings and are checked here, whatever the browser
sent: a rating must be a whole number on its scale, a choice one of the item's codes, a
number finite and within its bounds, a free text within its length and free of control
characters, and an allocation must be whole non-negative numbers that add up to the
item's total. Nothing is stored unless the whole page passes (:func:`validate_page`).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, Form, StringField
from wtforms.validators import StopValidation, ValidationError

from questionnaires import Item, Page, Questionnaire, Scale

PREFIX = "a"
_INT = re.compile(r"^[+-]?\d{1,9}$")
_NUMBER = re.compile(r"^[+-]?(\d{1,15}(\.\d{0,10})?|\.\d{1,10})([eE][+-]?\d{1,3})?$")
# control characters other than tab / newline have no place in an answer; NUL cannot even
# be stored in PostgreSQL text
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Value = float | str


def field_name(column: str) -> str:
    """The HTML name of the answer field of ``column`` (``"a-" + column``)."""
    return f"{PREFIX}-{column}"


# -- validators ---------------------------------------------------------------------------
class Answered:
    """Required answer (skipped in a partial save); an empty optional answer stops the chain."""

    def __init__(self, required: bool) -> None:
        self.required = required

    def __call__(self, form: Form, fld: Any) -> None:
        raw = fld.data
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            fld.errors[:] = []
            if self.required and not getattr(form, "partial", False):
                raise StopValidation(str(_l("This question needs an answer.")))
            raise StopValidation()


class WholeNumber:
    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def __call__(self, form: Form, fld: Any) -> None:
        raw = fld.data.strip()
        if not _INT.match(raw) or not self.lo <= int(raw) <= self.hi:
            msg = _l("Choose a whole number from %(lo)s to %(hi)s.", lo=self.lo, hi=self.hi)
            raise ValidationError(str(msg))


class OneOf:
    def __init__(self, codes: tuple[str, ...]) -> None:
        self.codes = codes

    def __call__(self, form: Form, fld: Any) -> None:
        if fld.data.strip() not in self.codes:
            raise ValidationError(str(_l("Choose one of the options shown.")))


class Decimal:
    def __init__(self, lo: float | None, hi: float | None) -> None:
        self.lo, self.hi = lo, hi

    def __call__(self, form: Form, fld: Any) -> None:
        raw = fld.data.strip()
        ok = bool(_NUMBER.match(raw)) and math.isfinite(float(raw))
        if not ok:
            raise ValidationError(str(_l("Enter a number, for example 12 or 3.5.")))
        value = float(raw)
        if self.lo is not None and value < self.lo:
            raise ValidationError(str(_l("Enter at least %(n)s.", n=_fmt(self.lo))))
        if self.hi is not None and value > self.hi:
            raise ValidationError(str(_l("Enter at most %(n)s.", n=_fmt(self.hi))))


class PlainText:
    def __init__(self, max_length: int) -> None:
        self.max_length = max_length

    def __call__(self, form: Form, fld: Any) -> None:
        text = normalise_text(fld.data)
        if _CONTROL.search(text):
            raise ValidationError(str(_l("Remove the control characters from this answer.")))
        if len(text) > self.max_length:
            msg = _l(
                "Shorten this answer to %(max)s characters (it has %(n)s).",
                max=self.max_length,
                n=len(text),
            )
            raise ValidationError(str(msg))


def normalise_text(raw: str) -> str:
    """Free text as stored: NFC, unified line breaks, no surrounding white space."""
    return unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


# -- form classes -------------------------------------------------------------------------
class PageFormBase(Form):  # type: ignore[misc]  # wtforms ships no type hints
    """A questionnaire page; ``partial`` relaxes required answers (save and resume)."""

    partial = False
    page: Page
    item_errors: dict[str, list[str]]

    def __init__(self, formdata: Any = None, *, partial: bool = False, **kwargs: Any) -> None:
        super().__init__(formdata=formdata, prefix=PREFIX, **kwargs)
        self.partial = partial
        self.item_errors = {}

    def fields_of(self, item: Item) -> list[Any]:
        return [self[c] for c in item.columns()]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        self.item_errors = {}
        for item in self.page.items:
            errors: list[str] = []
            for f in self.fields_of(item):
                errors.extend(e for e in f.errors if e not in errors)
            if not errors:
                errors.extend(self._item_check(item))
            if errors:
                self.item_errors[item.id] = errors
        return not self.item_errors

    def _item_check(self, item: Item) -> list[str]:
        if item.type == "multiple_choice":
            if item.required and not self.partial and not any(f.data for f in self.fields_of(item)):
                return [str(_l("Choose at least one option."))]
        elif item.type == "allocation":
            raw = [(f.data or "").strip() for f in self.fields_of(item)]
            if not any(raw):
                if item.required and not self.partial:
                    return [str(_l("This question needs an answer."))]
                return []
            total = sum(int(r) for r in raw if r)
            if total != item.total:
                msg = _l(
                    "The points must add up to %(total)s; they add up to %(sum)s.",
                    total=item.total,
                    sum=total,
                )
                return [str(msg)]
        return []

    def values(self) -> dict[str, Value | None]:
        """Column -> value to store (None: no answer) for every column of the page.

        Call only after :meth:`validate` returned True.
        """
        out: dict[str, Value | None] = {}
        for item in self.page.items:
            fields = self.fields_of(item)
            if item.type == "multiple_choice":
                for f in fields:
                    out[f.short_name] = 1.0 if f.data else 0.0
            elif item.type == "allocation":
                raw = [(f.data or "").strip() for f in fields]
                for f, r in zip(fields, raw, strict=True):
                    out[f.short_name] = float(int(r or 0)) if any(raw) else None
            else:
                for f in fields:
                    out[f.short_name] = _convert(item, f.data)
        return out


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


def _fields_for(item: Item) -> dict[str, Any]:
    answered = Answered(item.required)
    out: dict[str, Any] = {}
    if item.type == "rating":
        lo, hi = _scale(item)
        for col in item.columns():
            out[col] = StringField(validators=[answered, WholeNumber(lo, hi)])
    elif item.type == "single_choice":
        codes = tuple(c.code for c in item.choices)
        out[item.id] = StringField(validators=[answered, OneOf(codes)])
    elif item.type == "multiple_choice":
        for col in item.columns():
            out[col] = BooleanField()
    elif item.type == "allocation":
        total = item.total or 100
        for col in item.columns():
            out[col] = StringField(validators=[Answered(False), WholeNumber(0, total)])
    elif item.type == "number":
        out[item.id] = StringField(validators=[answered, Decimal(item.minimum, item.maximum)])
    else:  # text
        out[item.id] = StringField(validators=[answered, PlainText(item.max_length or 2000)])
    return out


_CLASSES: dict[tuple[str, str], type[PageFormBase]] = {}


def page_form_class(q: Questionnaire, page: Page) -> type[PageFormBase]:
    """The WTForms class of ``page`` (cached per instrument content and page)."""
    key = (q.content_hash, page.id)
    cls = _CLASSES.get(key)
    if cls is None:
        attrs: dict[str, Any] = {"page": page}
        for item in page.items:
            attrs.update(_fields_for(item))
        cls = type(f"PageForm_{page.id}", (PageFormBase,), attrs)
        _CLASSES[key] = cls
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
