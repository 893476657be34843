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

A POST is first checked by :func:`validated_values`, which runs the same checks (the
same validator objects, the same item rules) straight on the posted data without
building the form: on a wide page that is ~20x cheaper than binding and validating
fifty WTForms fields. Only a page that fails it is bound to its WTForms form, which
decides again and renders the messages next to the items. WTForms stays the form layer
for rendering; CSRF is Flask-WTF's app-wide check, independent of both.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence
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
# Each check has ``problem(raw) -> message | None``, used by the WTForms validator call and
# by the fast path (:func:`validated_values`) alike, so the two cannot disagree.
class Answered:
    """Required answer (skipped in a partial save); an empty optional answer stops the chain."""

    def __init__(self, required: bool) -> None:
        self.required = required

    @staticmethod
    def empty(raw: Any) -> bool:
        return raw is None or (isinstance(raw, str) and not raw.strip())

    def __call__(self, form: Form, fld: Any) -> None:
        if self.empty(fld.data):
            fld.errors[:] = []
            if self.required and not getattr(form, "partial", False):
                raise StopValidation(str(_l("This question needs an answer.")))
            raise StopValidation()


class _Check:
    """A validator whose verdict is :meth:`problem` of the field's (non-empty) text."""

    def problem(self, raw: str) -> str | None:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, form: Form, fld: Any) -> None:
        msg = self.problem(fld.data)
        if msg is not None:
            raise ValidationError(msg)


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
            msg = _l(
                "Shorten this answer to %(max)s characters (it has %(n)s).",
                max=self.max_length,
                n=len(text),
            )
            return str(msg)
        return None


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
        return [self._fields[c] for c in item.columns()]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        self.item_errors = {}
        for item in self.page.items:
            errors: list[str] = []
            fields = self.fields_of(item)
            for f in fields:
                errors.extend(e for e in f.errors if e not in errors)
            if not errors:
                msg = _item_problem(item, [f.data for f in fields], self.partial)
                if msg is not None:
                    errors.append(msg)
            if errors:
                self.item_errors[item.id] = errors
        return not self.item_errors

    def values(self) -> dict[str, Value | None]:
        """Column -> value to store (None: no answer) for every column of the page.

        Call only after :meth:`validate` returned True.
        """
        out: dict[str, Value | None] = {}
        for item in self.page.items:
            fields = self.fields_of(item)
            out.update(_item_values(item, item.columns(), [f.data for f in fields]))
        return out


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
        if total != item.total:
            msg = _l(
                "The points must add up to %(total)s; they add up to %(sum)s.",
                total=item.total,
                sum=total,
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


def _checks_for(item: Item) -> list[tuple[str, Answered | None, _Check | None]]:
    """(column, emptiness rule, value check) of each field of ``item``; both None for the
    check boxes of a multiple choice. The WTForms fields and the fast path use these."""
    answered = Answered(item.required)
    check: _Check
    if item.type == "rating":
        lo, hi = _scale(item)
        check = WholeNumber(lo, hi)
    elif item.type == "single_choice":
        check = OneOf(tuple(c.code for c in item.choices))
    elif item.type == "multiple_choice":
        return [(col, None, None) for col in item.columns()]
    elif item.type == "allocation":
        answered, check = Answered(False), WholeNumber(0, item.total or 100)
    elif item.type == "number":
        check = Decimal(item.minimum, item.maximum)
    else:  # text
        check = PlainText(item.max_length or 2000)
    return [(col, answered, check) for col in item.columns()]


def _fields_for(item: Item) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col, answered, check in _checks_for(item):
        if answered is None:
            out[col] = BooleanField()
        else:
            out[col] = StringField(validators=[answered, check])
    return out


_CLASSES: dict[tuple[str, str], type[PageFormBase]] = {}
_PLANS: dict[tuple[str, str], _PagePlan] = {}
_CACHE_SIZE = 256  # pages; instruments are immutable, so entries never go stale


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_SIZE:
        cache.pop(next(iter(cache)))  # the oldest
    cache[key] = value


def page_form_class(q: Questionnaire, page: Page) -> type[PageFormBase]:
    """The WTForms class of ``page`` (cached per instrument content and page)."""
    key = (q.content_hash, page.id)
    cls = _CLASSES.get(key)
    if cls is None:
        attrs: dict[str, Any] = {"page": page}
        for item in page.items:
            attrs.update(_fields_for(item))
        cls = type(f"PageForm_{page.id}", (PageFormBase,), attrs)
        _remember(_CLASSES, key, cls)
    return cls


@dataclass(frozen=True)
class _ItemPlan:
    item: Item
    columns: tuple[str, ...]
    fields: tuple[tuple[str, Answered | None, _Check | None], ...]  # (HTML name, ...)
    # a rating item: each point of its scale as posted by the page ("1".."7") -> the value
    # stored; a post of only such texts needs no further check (anything else, e.g.
    # " 7 " or "07", takes the general checks, which accept or refuse it)
    points: dict[str, float] | None = None


def _points(item: Item) -> dict[str, float] | None:
    if item.type != "rating" or item.scale is None or item.scale.n_points > 1000:
        return None
    return {str(k): float(k) for k in range(item.scale.min, item.scale.max + 1)}


@dataclass(frozen=True)
class _PagePlan:
    items: tuple[_ItemPlan, ...]
    # the rating items with a points table, flattened: every field's (HTML name, points)
    # and its column, read in one pass when all of them hold one of their points
    rated: tuple[tuple[str, dict[str, float]], ...]
    rated_columns: tuple[str, ...]
    others: tuple[_ItemPlan, ...]  # the items the pass does not cover


def _page_plan(q: Questionnaire, page: Page) -> _PagePlan:
    key = (q.content_hash, page.id)
    plan = _PLANS.get(key)
    if plan is None:
        items = tuple(
            _ItemPlan(
                item,
                item.columns(),
                tuple((field_name(c), a, chk) for c, a, chk in _checks_for(item)),
                _points(item),
            )
            for item in page.items
        )
        rated = [(p, p.points) for p in items if p.points is not None]
        plan = _PagePlan(
            items,
            tuple((name, points) for p, points in rated for name, _a, _c in p.fields),
            tuple(c for p, _points in rated for c in p.columns),
            tuple(p for p in items if p.points is None),
        )
        _remember(_PLANS, key, plan)
    return plan


def validated_values(
    q: Questionnaire, page_index: int, formdata: Any, *, partial: bool = False
) -> dict[str, Value | None] | None:
    """The values of a posted page (as :meth:`PageFormBase.values`) if the whole page is
    valid, else None: then bind :func:`page_form` to the post for the messages.

    The same verdict as ``page_form(q, page_index, formdata, partial=partial).validate()``
    (a test checks it on generated posts), without building fifty WTForms fields: a
    field's data is the first posted value of its name (WTForms' rule), a check box is
    on unless absent or one of ``BooleanField.false_values``.
    """
    out: dict[str, Value | None] = {}
    # each name's first value (WTForms' rule), looked up in a plain dict: a MultiDict's
    # get is two Python calls per field
    get: Callable[[str], Any] = (
        formdata.to_dict() if isinstance(formdata, MultiDict) else formdata
    ).get
    off = BooleanField.false_values
    page = _page_plan(q, q.pages[page_index])
    quick = [points.get(get(name)) for name, points in page.rated]
    items = page.items
    if None not in quick:  # every rating holds one of its points: no further check
        out.update(zip(page.rated_columns, quick, strict=True))
        items = page.others
    for plan in items:
        data: list[Any] = []
        for name, answered, check in plan.fields:
            raw = get(name)
            if answered is None:  # a check box
                data.append(raw is not None and raw not in off)
                continue
            if answered.empty(raw):
                if answered.required and not partial:
                    return None
            elif check is not None and check.problem(raw) is not None:
                return None
            data.append(raw)
        if _item_problem(plan.item, data, partial) is not None:
            return None
        out.update(_item_values(plan.item, plan.columns, data))
    return out


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
