"""Frozen dataclasses describing a questionnaire (an *instrument*).

A :class:`Questionnaire` is what :func:`questionnaires.load` returns after the YAML file
passed the JSON Schema and the semantic checks; nothing here is mutable, so an instrument
that was loaded once can be shared by the web app, the scoring adapters and the CLI.

The export column rule lives here too (:meth:`Item.columns`) because the web app's export
and ``manyi score`` must agree on it; it is documented in the README.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

LANGUAGES: tuple[str, ...] = ("zh-Hans", "en")
"""The languages every text must be given in, in display order."""

AUDIENCES: tuple[str, ...] = ("customer", "manager", "staff", "audit")

ItemType = Literal["rating", "single_choice", "multiple_choice", "allocation", "text", "number"]
ITEM_TYPES: tuple[str, ...] = (
    "rating",
    "single_choice",
    "multiple_choice",
    "allocation",
    "text",
    "number",
)

#: Roles an item can be rated in, with the short code used in export column names.
#: Q = P - E (Parasuraman et al., 1988); M, S, D, C are the management, standard,
#: delivered and communicated levels of the five-gap model (Parasuraman et al., 1985);
#: adequate / desired are the zone-of-tolerance columns (Parasuraman et al., 1994).
ROLE_CODES: Mapping[str, str] = MappingProxyType(
    {
        "expectation": "e",
        "perception": "p",
        "manager_estimate": "m",
        "standard": "s",
        "delivered": "d",
        "promised": "c",
        "adequate": "ade",
        "desired": "des",
    }
)

#: Column suffix of each rating role in the tidy export (``<item>_<code>``).
ROLE_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {role: f"_{code}" for role, code in ROLE_CODES.items()}
)

#: The five service-quality gaps (Parasuraman, Zeithaml & Berry, 1985): gap -> (minuend
#: role, subtrahend role); the gap is mean(minuend) - mean(subtrahend).
GAP_ROLES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "understanding": ("manager_estimate", "expectation"),  # M - E
        "procedure": ("standard", "manager_estimate"),  # S - M
        "behaviour": ("delivered", "standard"),  # D - S
        "promotion": ("delivered", "promised"),  # D - C
        "perception": ("perception", "delivered"),  # P - D
    }
)
GAPS: tuple[str, ...] = tuple(GAP_ROLES)
#: The customer gap P - E, which the understanding, procedure, behaviour and perception
#: gaps add up to exactly (the promotion gap stands beside them).
CUSTOMER_GAP: tuple[str, str] = ("perception", "expectation")

#: Columns of the tidy export that describe the response rather than an answer.
META_COLUMNS: tuple[str, ...] = (
    "response_id",
    "survey",
    "wave",
    "audience",
    "language",
    "status",
    "suspect",
    "started_at",
    "submitted_at",
    "duration_s",
)

METHODS: tuple[str, ...] = (
    "servqual",
    "index",
    "reliability",
    "gaps",
    "fuzzy",
    "pca",
    "csi",
    "drivers",
)


@dataclass(frozen=True, slots=True)
class Text:
    """A text given in every supported language."""

    zh_hans: str
    en: str

    def get(self, language: str) -> str:
        """Return the text in ``language`` (``"zh-Hans"`` or ``"en"``; others fall back to en)."""
        if language.lower().startswith("zh"):
            return self.zh_hans
        return self.en

    def to_dict(self) -> dict[str, str]:
        return {"zh-Hans": self.zh_hans, "en": self.en}


@dataclass(frozen=True, slots=True)
class ScalePoint:
    value: int
    label: Text | None


@dataclass(frozen=True, slots=True)
class Scale:
    """A rating scale from ``min`` to ``max`` (whole numbers) with labelled points."""

    id: str
    min: int
    max: int
    labels: Mapping[int, Text]

    @property
    def n_points(self) -> int:
        return self.max - self.min + 1

    @property
    def points(self) -> tuple[ScalePoint, ...]:
        return tuple(ScalePoint(v, self.labels.get(v)) for v in range(self.min, self.max + 1))


@dataclass(frozen=True, slots=True)
class Choice:
    """One option of a choice or allocation item; ``code`` goes into data and column names."""

    code: str
    label: Text


@dataclass(frozen=True, slots=True)
class Dimension:
    """A dimension or construct that items belong to.

    ``explains`` names the service-quality gap a gap-cause scale explains (for instance
    role conflict explains the behaviour gap), or is ``None`` for an ordinary dimension.
    """

    id: str
    label: Text
    description: Text | None = None
    explains: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One question.

    ``roles`` is empty for an item answered once, or lists the roles it is rated in
    (for instance ``("expectation", "perception")``).
    """

    id: str
    type: str
    text: Text
    page: str
    required: bool = True
    help: Text | None = None
    scale: Scale | None = None
    roles: tuple[str, ...] = ()
    dimension: str | None = None
    reverse: bool = False
    choices: tuple[Choice, ...] = ()
    segment: bool = False
    total: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    relevant: str | None = None  # display condition (questionnaires.conditions)

    def columns(self) -> tuple[str, ...]:
        """Export column names of this item (the documented, stable rule).

        - rating without roles, single choice, free text, number: ``<id>``;
        - rating in roles: ``<id>_<role code>`` per role (``rel1_e``, ``rel1_p``), codes in
          :data:`ROLE_CODES`;
        - multiple choice: ``<id>_<choice code>`` (1 = chosen, 0 = not chosen);
        - constant-sum allocation: ``<id>_<option code>`` (points given to each option).
        """
        if self.type == "rating" and self.roles:
            return tuple(role_column(self.id, r) for r in self.roles)
        if self.type in ("multiple_choice", "allocation"):
            return tuple(f"{self.id}_{c.code}" for c in self.choices)
        return (self.id,)

    def column(self, role: str | None = None) -> str:
        """The column of this item in ``role`` (or its only column)."""
        if role is None:
            cols = self.columns()
            if len(cols) != 1:
                msg = f"item {self.id!r} has several columns {list(cols)}; name the role."
                raise ValueError(msg)
            return cols[0]
        if role not in self.roles:
            msg = f"item {self.id!r} is not rated as {role!r}; its roles are {list(self.roles)}."
            raise ValueError(msg)
        return role_column(self.id, role)


NOT_APPLICABLE_COLUMN = "not_applicable"
"""Export column listing, per response, the answer columns not applicable to it (items
hidden by a display condition), joined by ``;``: what :data:`scoring.NOT_APPLICABLE`
reads. Exported when the instrument has display conditions."""


def order_column(page_id: str) -> str:
    """Export column of the item order a response was shown on page ``page_id`` (a page
    with ``randomize``): ``order_<page id>``, the item ids joined by ``;``."""
    return f"order_{page_id}"


def role_column(item_id: str, role: str) -> str:
    """Export column of ``item_id`` rated in ``role``: ``f"{item_id}_{ROLE_CODES[role]}"``."""
    return f"{item_id}_{ROLE_CODES[role]}"


@dataclass(frozen=True, slots=True)
class Page:
    id: str
    title: Text
    intro: Text | None
    items: tuple[Item, ...]
    relevant: str | None = None  # display condition of the whole page
    # None: the items as listed; "items": all of them in an order of each response's own;
    # "dimension": within each run of consecutive items of one dimension
    randomize: str | None = None

    def shown_order(self, response_id: str) -> tuple[Item, ...]:
        """The items in the order ``response_id`` sees them: as listed, or (``randomize``)
        shuffled by a generator seeded with the response id and page id, so the order
        is the same on every visit and can be recomputed for any stored response.

        ``randomize="dimension"`` shuffles each block of consecutive items of the same
        dimension among themselves; the blocks, and items without a dimension, keep
        their places (a SERVQUAL page stays grouped by dimension).
        """
        if not self.randomize:
            return self.items
        seed = hashlib.sha256(f"{response_id}/{self.id}".encode()).digest()
        rng = random.Random(seed)
        if self.randomize == "items":
            order = list(self.items)
            rng.shuffle(order)
            return tuple(order)
        out: list[Item] = []
        for dimension, run in itertools.groupby(self.items, key=lambda i: i.dimension):
            block = list(run)
            if dimension is not None:
                rng.shuffle(block)
            out.extend(block)
        return tuple(out)


@dataclass(frozen=True, slots=True)
class CsiSpec:
    """Customer satisfaction index model: blocks of items and the paths between latents."""

    model: str
    blocks: Mapping[str, tuple[str, ...]]
    paths: tuple[tuple[str, str], ...]
    labels: Mapping[str, Text]
    modes: Mapping[str, str]
    satisfaction: str


@dataclass(frozen=True, slots=True)
class FuzzyFactor:
    """A node of the fuzzy-evaluation factor hierarchy.

    A leaf lists ``items`` (columns rated on the grade scale); an inner node lists child
    ``factors``. ``weights`` are the children's (or items') weights, ``None`` for equal.
    """

    id: str
    label: Text
    weights: tuple[float, ...] | None
    items: tuple[str, ...] = ()
    factors: tuple[FuzzyFactor, ...] = ()
    ahp: tuple[tuple[float, ...], ...] | None = None


@dataclass(frozen=True, slots=True)
class Grade:
    """A comment grade of fuzzy evaluation: the rating ``value`` that maps to it, its score."""

    value: int
    label: Text
    score: float


@dataclass(frozen=True, slots=True)
class FuzzySpec:
    grades: tuple[Grade, ...]
    root: FuzzyFactor
    operator: str = "weighted_average"


@dataclass(frozen=True, slots=True)
class ScoringSpec:
    """What the instrument's ``scoring`` section declares."""

    methods: tuple[str, ...]
    overall: str | None = None
    recommend: str | None = None
    importance: str | None = None
    csi: CsiSpec | None = None
    fuzzy: FuzzySpec | None = None


@dataclass(frozen=True, slots=True)
class Questionnaire:
    """A validated instrument. Build it with :func:`questionnaires.load`."""

    id: str
    version: str
    audience: str
    title: Text
    description: Text | None
    citation: str | None
    scales: Mapping[str, Scale]
    roles: Mapping[str, Text]
    dimensions: tuple[Dimension, ...]
    pages: tuple[Page, ...]
    scoring: ScoringSpec
    source: str = "<string>"
    content_hash: str = ""
    raw: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}), repr=False)

    # -- lookups -----------------------------------------------------------------------
    @property
    def items(self) -> tuple[Item, ...]:
        """All items in page order."""
        return tuple(i for p in self.pages for i in p.items)

    def item(self, item_id: str) -> Item:
        for i in self.items:
            if i.id == item_id:
                return i
        msg = f"questionnaire {self.id!r} has no item {item_id!r}."
        raise KeyError(msg)

    def dimension(self, dim_id: str) -> Dimension:
        for d in self.dimensions:
            if d.id == dim_id:
                return d
        msg = f"questionnaire {self.id!r} has no dimension {dim_id!r}."
        raise KeyError(msg)

    def iter_items(self, *, type: str | None = None) -> Iterator[Item]:  # noqa: A002
        return (i for i in self.items if type is None or i.type == type)

    # -- the export format ---------------------------------------------------------------
    def columns(self, *, meta: bool = True) -> tuple[str, ...]:
        """Every column of this instrument's tidy export, in a stable order."""
        cols: list[str] = list(META_COLUMNS) if meta else []
        for item in self.items:
            cols.extend(item.columns())
        return tuple(cols)

    def dimension_items(self, *, role: str | None = None) -> dict[str, list[str]]:
        """Mapping dimension id -> item ids (rating items, in order); with ``role``, only
        items rated in that role."""
        out: dict[str, list[str]] = {d.id: [] for d in self.dimensions}
        for item in self.iter_items(type="rating"):
            if item.dimension is None:
                continue
            if role is not None and role not in item.roles:
                continue
            out[item.dimension].append(item.id)
        return {k: v for k, v in out.items() if v}

    def dimension_columns(self, *, role: str | None = None) -> dict[str, list[str]]:
        """Mapping dimension id -> export columns (in ``role`` when given)."""
        return {
            d: [self.item(i).column(role) for i in ids]
            for d, ids in self.dimension_items(role=role).items()
        }

    @property
    def roles_used(self) -> tuple[str, ...]:
        seen: list[str] = []
        for item in self.items:
            for r in item.roles:
                if r not in seen:
                    seen.append(r)
        return tuple(seen)

    @property
    def segments(self) -> tuple[Item, ...]:
        """Single-choice items marked as segments (branch, channel, customer type...)."""
        return tuple(i for i in self.items if i.segment)

    def to_dict(self) -> dict[str, Any]:
        """The instrument as plain data (the YAML it was loaded from, normalised)."""
        data: dict[str, Any] = json.loads(json.dumps(_thaw(self.raw)))
        return data


def _thaw(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _thaw(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_thaw(v) for v in obj]
    return obj
