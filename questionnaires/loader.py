"""Load and validate questionnaire files (YAML, format ``manyi/1``).

Validation has three stages, and a file must pass all three before anything is built:

1. parsing: safe YAML only, no aliases (they allow exponential "billion laughs" blow-ups),
   a size limit and a nesting-depth limit, so a hostile upload is refused cheaply;
2. the JSON Schema in ``schema.json`` (structure and types);
3. semantic checks the schema cannot express: unique ids, references to scales,
   dimensions and items, both translations of every text, scale labels, export column
   names that are unique and SPSS-safe, and the scoring section's mappings.

Every problem of a stage is collected, so the author sees all of them at once.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jsonschema
import yaml

from questionnaires import conditions
from questionnaires.errors import Problem, QuestionnaireError
from questionnaires.model import (
    LANGUAGES,
    META_COLUMNS,
    NOT_APPLICABLE_COLUMN,
    Choice,
    CsiSpec,
    Dimension,
    FuzzyFactor,
    FuzzySpec,
    Grade,
    Item,
    Page,
    Questionnaire,
    Scale,
    ScoringSpec,
    Text,
    order_column,
)

MAX_BYTES = 1_000_000
MAX_DEPTH = 20
SPSS_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
LANGUAGE_NAMES = {"zh-Hans": "Chinese (zh-Hans)", "en": "English (en)"}


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of the questionnaire format (``questionnaires/schema.json``)."""
    text = resources.files("questionnaires").joinpath("schema.json").read_text("utf-8")
    return dict(json.loads(text))


# -- stage 1: parsing ---------------------------------------------------------------------
def _parse(text: str | bytes, source: str) -> Any:
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise QuestionnaireError(source, [_too_big(len(text))])
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            problem = Problem("", f"is not UTF-8 text (byte {exc.start})", "save it as UTF-8")
            raise QuestionnaireError(source, [problem]) from None
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise QuestionnaireError(source, [_too_big(len(text.encode("utf-8")))])
    try:
        depth = 0
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                line = event.start_mark.line + 1 if event.start_mark else None
                problem = Problem(
                    "", "uses a YAML alias (*name)", "write the repeated part out in full", line
                )
                raise QuestionnaireError(source, [problem])
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    problem = Problem(
                        "",
                        f"is nested more than {MAX_DEPTH} levels deep",
                        "flatten the structure; no valid questionnaire needs this depth",
                    )
                    raise QuestionnaireError(source, [problem])
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        problem = Problem("", f"is not valid YAML ({what})", "correct the syntax there", line)
        raise QuestionnaireError(source, [problem]) from None
    except ValueError as exc:
        # a plain scalar PyYAML resolves but cannot build: a date like 2026-13-45, or an
        # integer beyond Python's digit limit for int()
        problem = Problem(
            "",
            f"holds a date or number YAML cannot read ({str(exc).split(';')[0]})",
            "correct the value, or put it in quotes to keep it as text",
        )
        raise QuestionnaireError(source, [problem]) from None


def _too_big(n: int) -> Problem:
    return Problem(
        "", f"is {n} bytes; the limit is {MAX_BYTES}", "split it or remove embedded data"
    )


# -- stage 2: the schema ------------------------------------------------------------------
def _path(parts: Iterable[Any]) -> str:
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


def _schema_problem(err: jsonschema.ValidationError) -> Problem:
    path = _path(err.absolute_path)
    v = err.validator
    inst = err.instance
    shown = repr(inst) if len(repr(inst)) < 60 else repr(inst)[:57] + "..."
    if v == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        name = missing[0] if missing else "a key"
        return Problem(path, f"'{name}' is required", f"add '{name}:'")
    if v == "additionalProperties":
        extra = re.findall(r"'([^']+)'", err.message)
        allowed = sorted(err.schema.get("properties", {}))
        return Problem(
            path,
            f"unknown key(s) {extra}",
            f"remove or rename them; allowed keys are {allowed}",
        )
    if v in ("enum", "const"):
        allowed = err.validator_value if v == "enum" else [err.validator_value]
        return Problem(path, f"{shown} is not allowed", f"use one of {list(allowed)}")
    if v == "type":
        return Problem(path, f"{shown} is not of type {err.validator_value}", "change the value")
    if v == "pattern":
        return Problem(
            path,
            f"{shown} is not a valid id",
            "use lowercase letters, digits and underscores, starting with a letter",
        )
    if v == "propertyNames":
        return Problem(path, f"has an invalid key ({err.message})", "rename the key")
    if v in ("minItems", "maxItems", "minimum", "maximum", "maxLength", "exclusiveMinimum"):
        return Problem(path, err.message, f"respect the limit ({v} {err.validator_value})")
    if v == "oneOf":
        return Problem(path, f"{shown} has the wrong form", "see the format in the README")
    if v == "uniqueItems":
        return Problem(path, "has duplicate entries", "remove the duplicates")
    return Problem(path, err.message, "see questionnaires/schema.json")


def _schema_problems(data: Any) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(schema())
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    problems: list[Problem] = []
    seen: set[tuple[str, str]] = set()
    for err in errors:
        # oneOf/anyOf produce a summary error plus context; report the summary only.
        p = _schema_problem(err)
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            problems.append(p)
    return problems


# -- stage 3: semantics and building ------------------------------------------------------
class _Builder:
    def __init__(self, data: Mapping[str, Any], source: str) -> None:
        self.data = data
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, path: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(path, message, fix))

    def text(self, obj: Any, path: str) -> Text:
        obj = obj or {}
        missing = [lang for lang in LANGUAGES if not str(obj.get(lang, "")).strip()]
        for lang in missing:
            self.problem(
                f"{path}.{lang}",
                f"missing {LANGUAGE_NAMES[lang]} translation",
                f"add a non-empty '{lang}:' text",
            )
        return Text(zh_hans=str(obj.get("zh-Hans", "")), en=str(obj.get("en", "")))

    def opt_text(self, obj: Any, path: str) -> Text | None:
        return None if obj is None else self.text(obj, path)

    def unique(self, ids: list[tuple[str, str]], what: str) -> None:
        seen: dict[str, str] = {}
        for path, ident in ids:
            if ident in seen:
                self.problem(
                    path,
                    f"{what} id {ident!r} is already used at {seen[ident]}",
                    "give every " + what + " its own id",
                )
            else:
                seen[ident] = path

    def scales(self) -> dict[str, Scale]:
        out: dict[str, Scale] = {}
        raw = self.data.get("scales") or []
        self.unique([(f"scales[{i}].id", s["id"]) for i, s in enumerate(raw)], "scale")
        for i, s in enumerate(raw):
            path = f"scales[{i}]"
            lo, hi = int(s["min"]), int(s["max"])
            if hi <= lo:
                self.problem(f"{path}.max", f"max {hi} is not above min {lo}", "raise max")
            labels: dict[int, Text] = {}
            for key, label in (s.get("labels") or {}).items():
                v = int(key)
                if not lo <= v <= hi:
                    self.problem(
                        f"{path}.labels.{key}",
                        f"labels point {v}, outside the scale {lo}-{hi}",
                        "remove it or widen the scale",
                    )
                labels[v] = self.text(label, f"{path}.labels.{key}")
            for end in (lo, hi):
                if hi > lo and end not in labels:
                    self.problem(
                        f"{path}.labels",
                        f"end point {end} has no label",
                        f"add '{end}: {{zh-Hans: ..., en: ...}}'",
                    )
            out[s["id"]] = Scale(s["id"], lo, hi, MappingProxyType(labels))
        return out

    def dimensions(self) -> tuple[Dimension, ...]:
        raw = self.data.get("dimensions") or []
        self.unique([(f"dimensions[{i}].id", d["id"]) for i, d in enumerate(raw)], "dimension")
        return tuple(
            Dimension(
                id=d["id"],
                label=self.text(d["label"], f"dimensions[{i}].label"),
                description=self.opt_text(d.get("description"), f"dimensions[{i}].description"),
                explains=d.get("explains"),
            )
            for i, d in enumerate(raw)
        )

    def choices(self, raw: list[Any], path: str) -> tuple[Choice, ...]:
        self.unique([(f"{path}[{j}].code", c["code"]) for j, c in enumerate(raw)], "choice")
        return tuple(
            Choice(c["code"], self.text(c["label"], f"{path}[{j}].label"))
            for j, c in enumerate(raw)
        )

    def item(
        self,
        raw: Mapping[str, Any],
        path: str,
        page: str,
        scales: Mapping[str, Scale],
        dims: tuple[Dimension, ...],
        roles: Mapping[str, Text],
    ) -> Item:
        kind = raw["type"]
        scale = None
        choices: tuple[Choice, ...] = ()
        allowed = {
            "rating": {"scale", "roles", "dimension", "reverse"},
            "single_choice": {"choices", "segment"},
            "multiple_choice": {"choices"},
            "allocation": {"options", "total"},
            "text": {"max_length"},
            "number": {"minimum", "maximum"},
        }[kind]
        common = {"id", "type", "text", "help", "required", "relevant"}
        for key in raw:
            if key not in common and key not in allowed:
                self.problem(
                    f"{path}.{key}",
                    f"'{key}' does not apply to a {kind} item",
                    f"remove it; a {kind} item takes {sorted(allowed)}",
                )
        if kind == "rating":
            sid = raw.get("scale")
            if sid is None:
                self.problem(f"{path}.scale", "a rating item needs a scale", "add 'scale: <id>'")
            elif sid not in scales:
                self.problem(
                    f"{path}.scale",
                    f"unknown scale {sid!r}",
                    f"use one of {sorted(scales)} or define it under 'scales'",
                )
            else:
                scale = scales[sid]
            for r in raw.get("roles") or []:
                if r not in roles:
                    self.problem(
                        f"{path}.roles",
                        f"role {r!r} has no heading",
                        f"add '{r}: {{zh-Hans: ..., en: ...}}' under 'roles'",
                    )
        if kind in ("single_choice", "multiple_choice"):
            if "choices" not in raw:
                self.problem(f"{path}.choices", f"a {kind} item needs choices", "add 'choices:'")
            else:
                choices = self.choices(raw["choices"], f"{path}.choices")
        if kind == "allocation":
            opts = raw.get("options", "dimensions")
            if opts == "dimensions":
                choices = tuple(Choice(d.id, d.label) for d in dims if d.explains is None)
                if len(choices) < 2:
                    self.problem(
                        f"{path}.options",
                        "allocating over dimensions needs at least two dimensions",
                        "define dimensions or list the options",
                    )
            else:
                choices = self.choices(opts, f"{path}.options")
        dim = raw.get("dimension")
        if dim is not None and dim not in {d.id for d in dims}:
            self.problem(
                f"{path}.dimension",
                f"unknown dimension {dim!r}",
                f"use one of {sorted(d.id for d in dims)} or define it under 'dimensions'",
            )
        lo, hi = raw.get("minimum"), raw.get("maximum")
        if lo is not None and hi is not None and hi <= lo:
            self.problem(f"{path}.maximum", f"maximum {hi} is not above minimum {lo}", "fix it")
        return Item(
            id=raw["id"],
            type=kind,
            text=self.text(raw["text"], f"{path}.text"),
            page=page,
            required=bool(raw.get("required", True)),
            help=self.opt_text(raw.get("help"), f"{path}.help"),
            scale=scale,
            roles=tuple(raw.get("roles") or ()),
            dimension=dim,
            reverse=bool(raw.get("reverse", False)),
            choices=choices,
            segment=bool(raw.get("segment", False)),
            total=int(raw.get("total", 100)) if kind == "allocation" else None,
            max_length=int(raw.get("max_length", 2000)) if kind == "text" else None,
            minimum=lo,
            maximum=hi,
            relevant=raw.get("relevant"),
        )

    def build(self) -> Questionnaire:
        d = self.data
        title = self.text(d["title"], "title")
        description = self.opt_text(d.get("description"), "description")
        scales = self.scales()
        dims = self.dimensions()
        roles = {name: self.text(t, f"roles.{name}") for name, t in (d.get("roles") or {}).items()}
        langs = d.get("languages", list(LANGUAGES))
        for lang in LANGUAGES:
            if lang not in langs:
                self.problem(
                    "languages",
                    f"{LANGUAGE_NAMES[lang]} is not listed",
                    "list both zh-Hans and en; every instrument is bilingual",
                )
        pages: list[Page] = []
        item_ids: list[tuple[str, str]] = []
        for pi, p in enumerate(d["pages"]):
            items = []
            for ii, raw in enumerate(p["items"]):
                path = f"pages[{pi}].items[{ii}]"
                item_ids.append((f"{path}.id", raw["id"]))
                items.append(self.item(raw, path, p["id"], scales, dims, roles))
            pages.append(
                Page(
                    id=p["id"],
                    title=self.text(p["title"], f"pages[{pi}].title"),
                    intro=self.opt_text(p.get("intro"), f"pages[{pi}].intro"),
                    items=tuple(items),
                    relevant=p.get("relevant"),
                    randomize=self.randomize(p.get("randomize"), items, f"pages[{pi}]"),
                )
            )
        self.unique([(f"pages[{i}].id", p["id"]) for i, p in enumerate(d["pages"])], "page")
        self.unique(item_ids, "item")
        all_items = [i for p in pages for i in p.items]
        self.check_columns(pages, item_ids)
        self.check_conditions(pages)
        for r in roles:
            if not any(r in i.roles for i in all_items):
                self.problem(f"roles.{r}", f"role {r!r} is not used by any item", "remove it")
        for dim in dims:
            if not any(i.dimension == dim.id for i in all_items):
                self.problem(
                    "dimensions",
                    f"dimension {dim.id!r} has no items",
                    "assign items to it ('dimension: ...') or remove it",
                )
        scoring = self.scoring(all_items, dims)
        return Questionnaire(
            id=d["id"],
            version=str(d["version"]),
            audience=d["audience"],
            title=title,
            description=description,
            citation=d.get("citation"),
            scales=MappingProxyType(scales),
            roles=MappingProxyType(roles),
            dimensions=dims,
            pages=tuple(pages),
            scoring=scoring,
            source=self.source,
            content_hash=content_hash(d),
            raw=_freeze(d),
        )

    def randomize(self, value: Any, items: list[Item], path: str) -> str | None:
        """A page's ``randomize``: ``true`` (or ``items``) shuffles its items, ``dimension``
        shuffles them within each run of one dimension; ``false`` or absent keeps them as
        listed (the schema refuses any other value)."""
        if value is True or value == "items":
            return "items"
        if value == "dimension":
            if not any(i.dimension for i in items):
                self.problem(
                    f"{path}.randomize",
                    "is 'dimension' but no item of the page has a dimension",
                    "give the items their 'dimension:', or use 'randomize: true' to "
                    "shuffle all of the page's items",
                )
            return "dimension"
        return None

    def check_conditions(self, pages: list[Page]) -> None:
        """Every display condition parses and reads only answers given before it (so no
        condition can depend on itself, directly or through others)."""
        earlier: dict[str, Item] = {}  # answer name (item id or column) -> its item
        for pi, page in enumerate(pages):
            before = set(earlier)  # answers of earlier pages: what a text may show
            self.pipes(page.title, f"pages[{pi}].title", before)
            self.pipes(page.intro, f"pages[{pi}].intro", before)
            if page.relevant is not None:
                self.condition(page.relevant, f"pages[{pi}].relevant", earlier, pages)
            for ii, item in enumerate(page.items):
                self.pipes(item.text, f"pages[{pi}].items[{ii}].text", before)
                self.pipes(item.help, f"pages[{pi}].items[{ii}].help", before)
                if item.relevant is not None:
                    path = f"pages[{pi}].items[{ii}].relevant"
                    self.condition(item.relevant, path, earlier, pages)
                earlier[item.id] = item
                for col in item.columns():
                    earlier[col] = item

    def pipes(self, text: Text | None, path: str, before: set[str]) -> None:
        """Answers piped into ``text`` must come from earlier pages."""
        for lang, value in text.to_dict().items() if text is not None else ():
            for is_param, name in conditions.piped(value):
                if not is_param and name not in before:
                    self.problem(
                        f"{path}.{lang}",
                        f"the text shows ${{{name}}}, which is not answered on an earlier page",
                        "pipe only answers of earlier pages (or a link parameter: ${param.<key>})",
                    )

    def condition(
        self, text: str, path: str, earlier: Mapping[str, Item], pages: list[Page]
    ) -> None:
        try:
            cond = conditions.parse(text)
        except conditions.ConditionError as exc:
            self.problem(
                path,
                f"the condition does not parse at character {exc.position + 1}: {exc}",
                "write it in the condition language (see questionnaires/conditions.py), "
                "e.g. \"${sat} <= 2 and selected(${branch}, 'sh')\"",
            )
            return
        later = {c for p in pages for i in p.items for c in (i.id, *i.columns())}
        for name in cond.references:
            if name in earlier:
                continue
            if name in later:
                self.problem(
                    path,
                    f"the condition reads ${{{name}}}, which is asked at or after this point "
                    "(a condition may only use earlier answers, so it cannot form a cycle)",
                    f"move the condition to a later item or ${{{name}}} to an earlier page",
                )
            else:
                self.problem(
                    path,
                    f"the condition reads ${{{name}}}, which is no item or answer column",
                    "use the id of an earlier item (or one of its columns, like tan1_p)",
                )

    def check_columns(self, pages: list[Page], item_ids: list[tuple[str, str]]) -> None:
        items = [i for p in pages for i in p.items]
        owner: dict[str, str] = {c: "the response metadata" for c in META_COLUMNS}
        owner[NOT_APPLICABLE_COLUMN] = "the response metadata"
        for page in pages:
            if page.randomize:
                owner[order_column(page.id)] = f"the item order of page {page.id!r}"
        for item, (path, _) in zip(items, item_ids, strict=True):
            for col in item.columns():
                if not SPSS_NAME.match(col):
                    self.problem(
                        path,
                        f"export column {col!r} is not SPSS-safe (at most 64 letters, digits, "
                        "underscores, starting with a letter)",
                        "shorten the item id or choice codes",
                    )
                if col in owner:
                    self.problem(
                        path,
                        f"export column {col!r} is also produced by {owner[col]}",
                        "rename the item so that every column name is unique",
                    )
                else:
                    owner[col] = f"item {item.id!r}"

    def scoring(self, items: list[Item], dims: tuple[Dimension, ...]) -> ScoringSpec:
        raw = self.data.get("scoring") or {}
        by_id = {i.id: i for i in items}
        columns = {c for i in items for c in i.columns()}

        def ref(key: str, kinds: tuple[str, ...]) -> str | None:
            ident = raw.get(key)
            if ident is None:
                return None
            item = by_id.get(ident)
            if item is None or item.type not in kinds:
                self.problem(
                    f"scoring.{key}",
                    f"{ident!r} is not a {' or '.join(kinds)} item of this questionnaire",
                    "name an existing item id",
                )
            return str(ident)

        overall = ref("overall", ("rating",))
        recommend = ref("recommend", ("rating",))
        importance = ref("importance", ("allocation",))
        rating_columns = {c for i in items if i.type == "rating" for c in i.columns()}
        raw_csi, raw_fuzzy = raw.get("csi"), raw.get("fuzzy")
        csi = self.csi(raw_csi, columns, rating_columns) if raw_csi else None
        fuzzy = self.fuzzy(raw_fuzzy, by_id) if raw_fuzzy else None
        methods = tuple(raw.get("methods") or ())
        needs = {"csi": csi, "fuzzy": fuzzy}
        for m, spec in needs.items():
            if m in methods and spec is None:
                self.problem(
                    "scoring.methods",
                    f"method {m!r} is listed but 'scoring.{m}' is missing",
                    f"add a 'scoring.{m}' section or remove {m!r}",
                )
        return ScoringSpec(
            methods=methods,
            overall=overall,
            recommend=recommend,
            importance=importance,
            csi=csi,
            fuzzy=fuzzy,
        )

    def csi(self, raw: Mapping[str, Any], columns: set[str], ratings: set[str]) -> CsiSpec:
        blocks = {k: tuple(v) for k, v in raw["blocks"].items()}
        seen: dict[str, str] = {}
        for latent, cols in blocks.items():
            for c in cols:
                if c not in columns:
                    self.problem(
                        f"scoring.csi.blocks.{latent}",
                        f"column {c!r} is not an export column of this questionnaire",
                        "use column names such as 'sat1' (see the export column rule)",
                    )
                elif c not in ratings:
                    self.problem(
                        f"scoring.csi.blocks.{latent}",
                        f"column {c!r} is not a rating, so it cannot measure a latent",
                        "list rating items only",
                    )
                if c in seen:
                    self.problem(
                        f"scoring.csi.blocks.{latent}",
                        f"column {c!r} is already in block {seen[c]!r}",
                        "put each item in one block only",
                    )
                seen[c] = latent
        paths = tuple((str(a), str(b)) for a, b in raw["paths"])
        for j, (a, b) in enumerate(paths):
            for end in (a, b):
                if end not in blocks:
                    self.problem(
                        f"scoring.csi.paths[{j}]",
                        f"latent {end!r} has no block",
                        f"use one of {sorted(blocks)}",
                    )
        sat = raw["satisfaction"]
        if sat not in blocks:
            self.problem("scoring.csi.satisfaction", f"{sat!r} is not a block", "name a block")
        labels = {
            k: self.text(v, f"scoring.csi.labels.{k}") for k, v in (raw.get("labels") or {}).items()
        }
        for latent in blocks:
            if latent not in labels:
                self.problem(
                    f"scoring.csi.labels.{latent}",
                    f"latent {latent!r} has no label",
                    "add '{latent}: {zh-Hans: ..., en: ...}' under labels".replace(
                        "{latent}", latent
                    ),
                )
        modes = {k: str(v) for k, v in (raw.get("modes") or {}).items()}
        return CsiSpec(
            model=raw["model"],
            blocks=MappingProxyType(blocks),
            paths=paths,
            labels=MappingProxyType(labels),
            modes=MappingProxyType(modes),
            satisfaction=sat,
        )

    def fuzzy(self, raw: Mapping[str, Any], by_id: Mapping[str, Item]) -> FuzzySpec:
        grades = tuple(
            Grade(
                int(g["value"]),
                self.text(g["label"], f"scoring.fuzzy.grades[{j}].label"),
                float(g["score"]),
            )
            for j, g in enumerate(raw["grades"])
        )
        values = [g.value for g in grades]
        if len(set(values)) != len(values):
            self.problem(
                "scoring.fuzzy.grades", "two grades share a value", "give each its own value"
            )
        root = self.factor(raw["root"], "scoring.fuzzy.root", by_id, set(values))
        return FuzzySpec(grades=grades, root=root, operator=raw.get("operator", "weighted_average"))

    def factor(
        self, raw: Mapping[str, Any], path: str, by_id: Mapping[str, Item], values: set[int]
    ) -> FuzzyFactor:
        items = tuple(raw.get("items") or ())
        children = raw.get("factors") or []
        if bool(items) == bool(children):
            self.problem(path, "a factor needs either 'items' or 'factors' (not both)", "fix it")
        for it in items:
            item = by_id.get(it)
            if item is None or item.type != "rating" or item.roles:
                self.problem(
                    f"{path}.items",
                    f"{it!r} is not a single rating item of this questionnaire",
                    "list rating items without roles",
                )
            elif item.scale is not None:
                pts = set(range(item.scale.min, item.scale.max + 1))
                if pts != values:
                    self.problem(
                        f"{path}.items",
                        f"item {it!r} is rated {item.scale.min}-{item.scale.max} but the grades "
                        f"have values {sorted(values)}",
                        "give one grade per scale point",
                    )
        factors = tuple(
            self.factor(c, f"{path}.factors[{j}]", by_id, values) for j, c in enumerate(children)
        )
        n = len(items) or len(factors)
        weights = raw.get("weights")
        if weights is not None:
            if len(weights) != n:
                self.problem(
                    f"{path}.weights",
                    f"has {len(weights)} weights for {n} children",
                    "give one weight per item or factor",
                )
            elif abs(sum(weights) - 1) > 1e-6:
                self.problem(
                    f"{path}.weights", f"weights sum to {sum(weights):g}, not 1", "rescale them"
                )
        ahp = raw.get("ahp")
        if ahp is not None and weights is not None:
            self.problem(
                path,
                "gives both 'weights' and 'ahp'",
                "keep one: fixed weights, or the AHP matrix they are derived from",
            )
        if ahp is not None and (len(ahp) != n or any(len(r) != n for r in ahp)):
            self.problem(f"{path}.ahp", f"must be a {n}x{n} pairwise matrix", "fix its shape")
        return FuzzyFactor(
            id=raw["id"],
            label=self.text(raw["label"], f"{path}.label"),
            weights=tuple(float(w) for w in weights) if weights is not None else None,
            items=items,
            factors=factors,
            ahp=tuple(tuple(float(x) for x in r) for r in ahp) if ahp is not None else None,
        )


def _freeze(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in obj.items()})
    if isinstance(obj, list | tuple):
        return tuple(_freeze(v) for v in obj)
    return obj


def content_hash(data: Mapping[str, Any]) -> str:
    """SHA-256 of the instrument's canonical JSON: the identity of a stored snapshot."""
    canon = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def from_dict(data: Any, *, source: str = "<data>") -> Questionnaire:
    """Validate plain data (as parsed from YAML) and build a :class:`Questionnaire`."""
    if not isinstance(data, Mapping):
        problem = Problem(
            "",
            f"must be a mapping at the top level, not {type(data).__name__}",
            "start with 'format: manyi/1'",
        )
        raise QuestionnaireError(source, [problem])
    # keys must be strings for the schema; YAML allows ints (scale labels) -> normalise
    data = _normalise_keys(data)
    problems = _schema_problems(data)
    if problems:
        raise QuestionnaireError(source, problems)
    builder = _Builder(data, source)
    try:
        q = builder.build()
    except (KeyError, TypeError, ValueError) as exc:  # pragma: no cover - defensive
        builder.problem(
            "", f"could not be read ({exc})", "compare it with the format in the README"
        )
        raise QuestionnaireError(source, builder.problems) from None
    if builder.problems:
        raise QuestionnaireError(source, builder.problems)
    return q


def _normalise_keys(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _normalise_keys(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_normalise_keys(v) for v in obj]
    return obj


def loads(text: str | bytes, *, source: str = "<string>") -> Questionnaire:
    """Load a questionnaire from YAML text."""
    return from_dict(_parse(text, source), source=source)


def load(path: str | Path) -> Questionnaire:
    """Load and validate a questionnaire file (YAML, or an XLSForm ``.xlsx`` workbook)."""
    p = Path(path)
    if p.suffix.lower() in (".xlsx", ".xls"):
        from questionnaires.xlsform import read_xlsform

        return read_xlsform(p)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise QuestionnaireError(
            str(p), [Problem("", f"cannot be read ({exc.strerror})", "check the path")]
        ) from None
    if size > MAX_BYTES:
        raise QuestionnaireError(str(p), [_too_big(size)])
    return loads(p.read_bytes(), source=p.name)


def validate(data: Any, *, source: str = "<data>") -> list[Problem]:
    """Every problem of ``data`` (parsed YAML), or an empty list when it is valid."""
    try:
        from_dict(data, source=source)
    except QuestionnaireError as exc:
        return list(exc.problems)
    return []


def builtin_ids() -> list[str]:
    """Ids of the instruments shipped with manyi."""
    folder = resources.files("questionnaires").joinpath("instruments")
    return sorted(
        f.name.removesuffix(".yaml") for f in folder.iterdir() if f.name.endswith(".yaml")
    )


@cache
def builtin(ident: str) -> Questionnaire:
    """A built-in instrument by id (see :func:`builtin_ids`)."""
    folder = resources.files("questionnaires").joinpath("instruments")
    f = folder.joinpath(f"{ident}.yaml")
    if not f.is_file():
        msg = f"no built-in questionnaire {ident!r}; available: {builtin_ids()}"
        raise KeyError(msg)
    return loads(f.read_bytes(), source=f"{ident}.yaml")


def resolve(id_or_file: str | Path) -> Questionnaire:
    """A built-in instrument by id, or a file by path (as the CLI's ``--questionnaire``)."""
    s = str(id_or_file)
    if s in builtin_ids():
        return builtin(s)
    p = Path(s)
    if p.exists():
        return load(p)
    msg = f"{s!r} is neither a built-in questionnaire ({', '.join(builtin_ids())}) nor a file"
    raise QuestionnaireError(s, [Problem("", msg.split(" is ", 1)[1], "give an id or a path")])


__all__ = [
    "MAX_BYTES",
    "builtin",
    "builtin_ids",
    "content_hash",
    "from_dict",
    "load",
    "loads",
    "resolve",
    "schema",
    "validate",
]
