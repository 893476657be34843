"""Build scoring arguments from a questionnaire: the thin adapter of ARCHITECTURE.md.

Scoring functions take plain mappings (dimension -> items, blocks, paths, weights). An
instrument declares the same things, so this module reads a
:class:`questionnaires.Questionnaire` and returns the keyword arguments of each method;
:func:`score` runs a method with them. A notebook user can skip this module and pass the
mappings by hand.

Conventions (documented here once, used by the CLI and the web app alike):

- reverse-coded items are recoded ``min + max - x`` by :func:`recode_reversed` before
  reliability, PCA, driver and fuzzy scoring; the questionnaire index and SERVQUAL
  receive the list of reversed items and handle it themselves;
- for items rated in roles, the *rated* role of a method is perception for customer
  instruments (P), and the instrument's first role otherwise (M for managers, D for
  staff or audit), unless a ``role`` is given;
- gap-cause scales (dimensions with ``explains``) are left out of the customer-facing
  methods and scored per gap by :func:`scoring.gaps.gap_causes`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from scoring._validation import check_choice, check_numeric
from scoring.csi import fit_csi
from scoring.drivers import driver_analysis
from scoring.errors import DataError, ScoringError, SpecificationError
from scoring.fuzzy import fuzzy_evaluate
from scoring.index import questionnaire_index
from scoring.pca import pca_index
from scoring.reliability import reliability
from scoring.screening import screen_responses
from scoring.servqual import servqual
from scoring.weights import AhpResult, ahp_weights, entropy_weights

if TYPE_CHECKING:  # pragma: no cover
    from questionnaires import FuzzyFactor, Item, Questionnaire
    from scoring._results import MethodResult

__all__ = [
    "check_gap_source",
    "csi_kwargs",
    "drivers_kwargs",
    "fuzzy_ahp",
    "fuzzy_kwargs",
    "gap_cause_scales",
    "gaps_inputs",
    "index_kwargs",
    "nps_column",
    "pca_kwargs",
    "recode_reversed",
    "rated_role",
    "reliability_kwargs",
    "run_methods",
    "score",
    "screen",
    "screening_kwargs",
    "servqual_kwargs",
    "single_item_dimensions",
]


def _service_dims(q: Questionnaire) -> list[str]:
    return [d.id for d in q.dimensions if d.explains is None]


def rated_role(q: Questionnaire, role: str | None = None) -> str | None:
    """The role whose ratings a single-role method scores (see the module notes)."""
    used = q.roles_used
    if role is not None:
        if role not in used:
            msg = f"role must be one of {list(used)} for questionnaire {q.id!r}; got {role!r}."
            raise SpecificationError(msg)
        return role
    if not used:
        return None
    return "perception" if "perception" in used else used[0]


def _column(item: Item, role: str | None) -> str:
    return item.column(role if item.roles else None)


def dimension_columns(q: Questionnaire, *, role: str | None = None) -> dict[str, list[str]]:
    """Service dimension -> export columns of its rating items, in the rated role."""
    r = rated_role(q, role)
    out: dict[str, list[str]] = {}
    for item in q.iter_items(type="rating"):
        if item.dimension is None or item.dimension not in _service_dims(q):
            continue
        if item.roles and r not in item.roles:
            continue
        out.setdefault(item.dimension, []).append(_column(item, r))
    return out


def _scale_of(q: Questionnaire, columns: Sequence[str]) -> tuple[int, int]:
    by_col = {c: i for i in q.items for c in i.columns()}
    scales: set[tuple[int, int]] = set()
    for c in columns:
        sc = by_col[c].scale
        if sc is not None:
            scales.add((sc.min, sc.max))
    if len(scales) != 1:
        msg = (
            f"questionnaire {q.id!r}: the items {list(columns)[:6]} are on different scales "
            f"{sorted(scales)}; score them separately."
        )
        raise SpecificationError(msg)
    return scales.pop()


def recode_reversed(q: Questionnaire, data: pd.DataFrame) -> pd.DataFrame:
    """Return a copy of ``data`` with every reverse-coded item recoded ``min + max - x``."""
    out = data.copy()
    for item in q.iter_items(type="rating"):
        if not item.reverse or item.scale is None:
            continue
        for col in item.columns():
            if col in out.columns:
                values = pd.to_numeric(out[col], errors="coerce")
                # non-numeric cells stay as they are so validation can name them
                out[col] = out[col].where(values.isna(), item.scale.min + item.scale.max - values)
    return out


def reversed_columns(q: Questionnaire) -> list[str]:
    """Export columns of the reverse-coded rating items."""
    return [c for i in q.iter_items(type="rating") if i.reverse for c in i.columns()]


def servqual_kwargs(q: Questionnaire) -> dict[str, Any]:
    """Arguments of :func:`scoring.servqual.servqual`: dimensions by item id, scale, the
    reverse-coded items (recoded in every role before any gap) and weights."""
    dims: dict[str, list[str]] = {}
    for item in q.iter_items(type="rating"):
        if item.dimension in _service_dims(q) and "perception" in item.roles:
            dims.setdefault(str(item.dimension), []).append(item.id)
    if not dims:
        msg = f"questionnaire {q.id!r} has no items rated in perception; SERVQUAL needs them."
        raise SpecificationError(msg)
    kwargs: dict[str, Any] = {
        "dimensions": dims,
        "scale": _scale_of(q, [q.item(i).column("perception") for d in dims.values() for i in d]),
        "reverse": [i for d in dims.values() for i in d if q.item(i).reverse],
    }
    imp = q.scoring.importance
    if imp is not None:
        codes = {c.code for c in q.item(imp).choices}
        if set(dims) <= codes:
            kwargs["weights"] = {d: f"{imp}_{d}" for d in dims}
    return kwargs


def reliability_kwargs(q: Questionnaire, *, role: str | None = None) -> dict[str, Any]:
    """Arguments of :func:`scoring.reliability.reliability`: dimension -> columns, and
    dimension -> rating scale.

    Gap-cause scales are included (their reliability matters as much); score data that
    went through :func:`recode_reversed`.
    """
    r = rated_role(q, role)
    dims: dict[str, list[str]] = {}
    for item in q.iter_items(type="rating"):
        if item.dimension is None or (item.roles and r not in item.roles):
            continue
        dims.setdefault(item.dimension, []).append(_column(item, r))
    # alpha, CR and AVE need two items at least: single-item dimensions are left out
    dims = {d: cols for d, cols in dims.items() if len(cols) >= 2}
    return {"dimensions": dims, "scale": {d: _scale_of(q, cols) for d, cols in dims.items()}}


def single_item_dimensions(q: Questionnaire, *, role: str | None = None) -> list[str]:
    """Dimensions with one item, which :func:`reliability_kwargs` leaves out."""
    r = rated_role(q, role)
    counts: dict[str, int] = {}
    for item in q.iter_items(type="rating"):
        if item.dimension is not None and (not item.roles or r in item.roles):
            counts[item.dimension] = counts.get(item.dimension, 0) + 1
    return [d for d, n in counts.items() if n == 1]


def index_kwargs(q: Questionnaire, *, role: str | None = None) -> dict[str, Any]:
    """Arguments of :func:`scoring.index.questionnaire_index`: dimensions, scale, reversed."""
    dims = dimension_columns(q, role=role)
    if not dims:
        msg = f"questionnaire {q.id!r} has no rating items in dimensions to index."
        raise SpecificationError(msg)
    cols = [c for v in dims.values() for c in v]
    rev = set(reversed_columns(q))
    return {
        "dimensions": dims,
        "scale": _scale_of(q, cols),
        "reverse": [c for c in cols if c in rev],
    }


def nps_column(q: Questionnaire) -> str:
    """The likelihood-to-recommend column (``scoring.recommend``)."""
    if q.scoring.recommend is None:
        msg = (
            f"questionnaire {q.id!r} declares no likelihood-to-recommend item "
            "('scoring.recommend')."
        )
        raise SpecificationError(msg)
    return q.item(q.scoring.recommend).column()


def gaps_inputs(
    *,
    customers: tuple[Questionnaire, pd.DataFrame] | None = None,
    managers: tuple[Questionnaire, pd.DataFrame] | None = None,
    staff: tuple[Questionnaire, pd.DataFrame] | None = None,
    audit: tuple[Questionnaire, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`scoring.gaps.service_gaps` from linked data sets.

    Each source is ``(questionnaire, tidy frame)``; the service dimensions and item ids
    come from the first source given (the audiences share item ids), the rating scale
    from its role items, cause scales (:func:`gap_cause_scales`) from every source, and
    reverse-coded items are recoded first (:func:`recode_reversed`).

    Raises
    ------
    SpecificationError
        No source given; the first source has no items rated in roles; role items or
        cause scales on different rating scales.
    """
    sources = {"customers": customers, "managers": managers, "staff": staff, "audit": audit}
    given = {k: v for k, v in sources.items() if v is not None}
    if not given:
        msg = "give at least one data set: customers, managers, staff or audit."
        raise SpecificationError(msg)
    first = next(iter(given.values()))[0]
    dims: dict[str, list[str]] = {}
    role_cols: list[str] = []
    for item in first.iter_items(type="rating"):
        if item.dimension in _service_dims(first) and item.roles:
            dims.setdefault(str(item.dimension), []).append(item.id)
            role_cols.extend(item.columns())
    if not dims:
        msg = f"questionnaire {first.id!r} has no items rated in roles, so no gaps."
        raise SpecificationError(msg)
    kwargs: dict[str, Any] = {"dimensions": dims, "scale": _scale_of(first, role_cols)}
    causes: dict[str, dict[str, list[str]]] = {}
    cause_range: tuple[int, int] | None = None
    for name, (q, frame) in given.items():
        check_gap_source(q, frame, name=f"the {name} data")
        kwargs[name] = recode_reversed(q, frame)
        for gap, scales in gap_cause_scales(q).items():
            causes.setdefault(gap, {}).update(scales)
            cols = [c for v in scales.values() for c in v]
            rng = _scale_of(q, cols)
            if cause_range is not None and rng != cause_range:
                msg = "gap-cause scales are on different rating scales; score them separately."
                raise SpecificationError(msg)
            cause_range = rng
    if causes:
        kwargs["cause_scales"] = causes
        kwargs["cause_scale_range"] = cause_range
    return kwargs


def check_gap_source(q: Questionnaire, data: pd.DataFrame, *, name: str) -> None:
    """Raise :class:`~scoring.errors.DataError` unless ``data`` holds every column of the
    items ``q`` rates in roles (E/P of customers, M/S of managers, D/C of staff).

    A data file of another audience, or one that lost its role columns, would otherwise
    add nothing to :func:`scoring.gaps.service_gaps` and its gaps would silently be
    missing from the result.
    """
    wanted = [
        c
        for i in q.iter_items(type="rating")
        if i.roles and i.dimension in _service_dims(q)
        for c in i.columns()
    ]
    missing = [c for c in wanted if c not in data.columns]
    if missing:
        shown = ", ".join(repr(c) for c in missing[:6])
        more = f", ... ({len(missing)} of {len(wanted)})" if len(missing) > 6 else ""
        msg = (
            f"{name} lacks the rating columns of questionnaire {q.id!r} ({q.audience}): "
            f"{shown}{more}. Give the file of that audience, or name its questionnaire "
            "with -q AUDIENCE=ID_OR_FILE."
        )
        raise DataError(msg)


def pca_kwargs(q: Questionnaire, *, role: str | None = None) -> dict[str, Any]:
    """Arguments of :func:`scoring.pca.pca_index`: the service items in the rated role, by
    dimension, and their scale when they share one (for the 0-100 dimension scores).

    Items of the CSI model's latents downstream of satisfaction (complaints, loyalty) are
    left out, as in :func:`drivers_kwargs`: they are outcomes of satisfaction, not parts of
    a satisfaction composite (a complaint item would enter it with a negative weight)."""
    excluded = _consequence_columns(q)
    dims = {
        d: [c for c in cols if c not in excluded]
        for d, cols in dimension_columns(q, role=role).items()
    }
    dims = {d: cols for d, cols in dims.items() if cols}
    items = [c for cols in dims.values() for c in cols]
    kwargs: dict[str, Any] = {"items": items, "dimensions": dims}
    try:
        kwargs["scale"] = _scale_of(q, items)
    except SpecificationError:
        pass  # items on different scales: the index is fine, dimension scores are not
    return kwargs


def drivers_kwargs(q: Questionnaire, *, role: str | None = None) -> dict[str, Any]:
    """Arguments of :func:`scoring.drivers.driver_analysis`: outcome and dimensions."""
    if q.scoring.overall is None:
        msg = (
            f"questionnaire {q.id!r} declares no overall-satisfaction item "
            "('scoring.overall'); driver analysis needs one."
        )
        raise SpecificationError(msg)
    outcome = q.item(q.scoring.overall).column()
    excluded = _consequence_columns(q) | {outcome}
    own = q.item(q.scoring.overall).dimension
    dims = {
        d: [c for c in cols if c not in excluded]
        for d, cols in dimension_columns(q, role=role).items()
        if d != own
    }
    dims = {d: cols for d, cols in dims.items() if cols}
    if not dims:
        msg = f"questionnaire {q.id!r} has no driver dimensions besides the outcome's own."
        raise SpecificationError(msg)
    cols = [c for v in dims.values() for c in v]
    return {"outcome": outcome, "drivers": dims, "scale": _scale_of(q, cols)}


def _consequence_columns(q: Questionnaire) -> set[str]:
    """Items of the latents downstream of satisfaction in the CSI model (complaints,
    loyalty): outcomes of satisfaction, so never its drivers."""
    spec = q.scoring.csi
    if spec is None:
        return set()
    down: set[str] = set()
    frontier = [spec.satisfaction]
    while frontier:
        node = frontier.pop()
        for a, b in spec.paths:
            if a == node and b not in down:
                down.add(b)
                frontier.append(b)
    return {c for latent in down for c in spec.blocks.get(latent, ())}


def csi_kwargs(q: Questionnaire, *, language: str = "en") -> dict[str, Any]:
    """Arguments of :func:`scoring.csi.fit_csi`: blocks, paths, model, target and scales."""
    spec = q.scoring.csi
    if spec is None:
        msg = f"questionnaire {q.id!r} has no 'scoring.csi' section (blocks and paths)."
        raise SpecificationError(msg)
    blocks = {k: list(v) for k, v in spec.blocks.items()}
    kwargs: dict[str, Any] = {
        "blocks": blocks,
        "paths": [list(p) for p in spec.paths],
        "target": spec.satisfaction,
        "labels": {k: t.get(language) for k, t in spec.labels.items()},
        "scale": {k: _scale_of(q, v) for k, v in blocks.items()},
    }
    if spec.model in ("acsi", "ecsi", "ccsi"):
        kwargs["model"] = spec.model
    if spec.modes:
        kwargs["modes"] = dict(spec.modes)
    return kwargs


ITEM_WEIGHTS = ("instrument", "entropy")
"""The rules for the weights of a fuzzy factor's items: as the questionnaire declares
them, or by the entropy weight method from the answers (:func:`fuzzy_kwargs`)."""


def _fuzzy_node(node: FuzzyFactor, entropy: pd.DataFrame | None) -> dict[str, Any]:
    children: list[Any] = (
        list(node.items) if node.items else [_fuzzy_node(f, entropy) for f in node.factors]
    )
    out: dict[str, Any] = {"id": node.id, "children": children}
    if node.items and entropy is not None:
        out["weights"] = entropy_weights(entropy[list(node.items)].dropna())
    elif node.ahp is not None:
        out["weights"] = {"ahp": [list(r) for r in node.ahp]}
    elif node.weights is not None:
        out["weights"] = list(node.weights)
    return out


def fuzzy_kwargs(
    q: Questionnaire,
    *,
    language: str = "en",
    item_weights: str = "instrument",
    data: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Arguments of :func:`scoring.fuzzy.fuzzy_evaluate` from the ``scoring.fuzzy`` section.

    With ``item_weights="entropy"`` the items of every factor are weighted by
    :func:`scoring.weights.entropy_weights` from ``data`` (the respondents who answered
    all of that factor's items; reverse-coded items recoded first), and the factors keep
    the weights the questionnaire gives them (fixed or AHP).
    """
    spec = q.scoring.fuzzy
    if spec is None:
        msg = f"questionnaire {q.id!r} has no 'scoring.fuzzy' section (grades and factors)."
        raise SpecificationError(msg)
    check_choice("item_weights", item_weights, ITEM_WEIGHTS)
    entropy = None
    if item_weights == "entropy":
        if data is None:
            msg = "item_weights='entropy' needs the data the weights come from; pass data=."
            raise SpecificationError(msg)
        entropy = check_numeric(recode_reversed(q, data), _fuzzy_items(spec.root))
    grades = {g.value: g.label.get(language) for g in spec.grades}
    return {
        "factors": _fuzzy_node(spec.root, entropy),
        "grades": grades,
        "grade_scores": [g.score for g in spec.grades],
        "operator": spec.operator,
    }


def _fuzzy_items(node: FuzzyFactor) -> list[str]:
    return list(node.items) + [i for f in node.factors for i in _fuzzy_items(f)]


def fuzzy_ahp(q: Questionnaire) -> dict[str, AhpResult]:
    """Node id -> :func:`scoring.weights.ahp_weights` of every node of the fuzzy hierarchy
    weighted by a pairwise-comparison matrix: its weights with lambda_max, CI, RI and
    the consistency ratio CR, to show beside the evaluation."""
    spec = q.scoring.fuzzy
    if spec is None:
        return {}
    out: dict[str, AhpResult] = {}
    frontier = [spec.root]
    while frontier:
        node = frontier.pop(0)
        if node.ahp is not None:
            names = list(node.items) if node.items else [f.id for f in node.factors]
            out[node.id] = ahp_weights([list(r) for r in node.ahp], names=names)
        frontier.extend(node.factors)
    return out


def gap_cause_scales(q: Questionnaire) -> dict[str, dict[str, list[str]]]:
    """Gap -> {cause scale id: columns} for the dimensions that declare ``explains``."""
    out: dict[str, dict[str, list[str]]] = {}
    for dim in q.dimensions:
        if dim.explains is None:
            continue
        cols = [
            i.column() for i in q.iter_items(type="rating") if i.dimension == dim.id and not i.roles
        ]
        if cols:
            out.setdefault(dim.explains, {})[dim.id] = cols
    return out


def screening_kwargs(q: Questionnaire, data: pd.DataFrame) -> dict[str, Any]:
    """Arguments of :func:`scoring.screening.screen_responses` for ``q``'s tidy export.

    Straight-lining is screened per rating role (and over the rating items without
    roles), identical answers over the items rated in both expectation and perception.
    Start times are screened for reuse only when ``data`` carries them as timestamps (the
    database export, to the millisecond of the signed start token): whole-second times
    in a file cannot tell a replayed form from two respondents who started in the same
    second.
    """
    roles: tuple[str | None, ...] = (*q.roles_used, None)
    columns: dict[str | None, dict[str, str]] = {}
    for role in roles:
        columns[role] = {
            i.id: col
            for i in q.iter_items(type="rating")
            if ((role in i.roles) if role else not i.roles)
            and (col := i.column(role) if role else i.column()) in data.columns
        }
    pairs: list[tuple[str, str]] = [
        (col, columns["perception"][i])
        for i, col in columns.get("expectation", {}).items()
        if i in columns.get("perception", {})
    ]
    timed = "started_at" in data.columns and pd.api.types.is_datetime64_any_dtype(
        data["started_at"]
    )
    return {
        "ratings": {str(role): list(cols.values()) for role, cols in columns.items() if cols},
        "pairs": pairs,
        "start_token": "started_at" if timed else None,
    }


def screen(q: Questionnaire, data: pd.DataFrame, **params: Any) -> pd.DataFrame:
    """Suspect-response flags of ``data`` (the tidy export of ``q``) by
    :func:`scoring.screening.screen_responses` with :func:`screening_kwargs`; ``params``
    override or extend them (``min_seconds=60``, ``honeypot=...``)."""
    kwargs = screening_kwargs(q, data)
    kwargs.update(params)
    return screen_responses(data, **kwargs)


def _role(params: dict[str, Any]) -> str | None:
    role = params.pop("role", None)
    return None if role is None else str(role)


def _language(params: dict[str, Any]) -> str:
    return str(params.pop("language", "en"))


def _fuzzy_build(q: Questionnaire, params: dict[str, Any], data: pd.DataFrame) -> dict[str, Any]:
    rule = str(params.pop("item_weights", "instrument"))
    return fuzzy_kwargs(q, language=_language(params), item_weights=rule, data=data)


# method -> (scoring function, its arguments from the questionnaire (taking the options
# the builder consumes out of the caller's params), whether reverse-coded items are
# recoded first; the index and SERVQUAL receive the reversed list instead)
_METHODS: dict[
    str,
    tuple[Callable[..., Any], Callable[[Any, dict[str, Any], pd.DataFrame], dict[str, Any]], bool],
] = {
    "servqual": (servqual, lambda q, p, d: servqual_kwargs(q), False),
    "index": (questionnaire_index, lambda q, p, d: index_kwargs(q, role=_role(p)), False),
    "reliability": (reliability, lambda q, p, d: reliability_kwargs(q, role=_role(p)), True),
    "pca": (pca_index, lambda q, p, d: pca_kwargs(q, role=_role(p)), True),
    "drivers": (driver_analysis, lambda q, p, d: drivers_kwargs(q, role=_role(p)), True),
    "csi": (fit_csi, lambda q, p, d: csi_kwargs(q, language=_language(p)), True),
    "fuzzy": (fuzzy_evaluate, _fuzzy_build, True),
}


def score(
    q: Questionnaire,
    method: str,
    data: pd.DataFrame,
    **params: Any,
) -> Any:
    """Score ``data`` (the tidy export of ``q``) by ``method`` with the instrument's mappings.

    ``params`` override or extend the derived keyword arguments (for instance
    ``segment="branch"`` or ``bootstrap=500, seed=1``); ``role`` picks the rated role,
    ``language`` the labels, and for ``fuzzy`` ``item_weights="entropy"`` weighs each
    factor's items by the entropy method (see :func:`fuzzy_kwargs`).
    """
    if method not in _METHODS:
        msg = f"method must be one of {', '.join(repr(m) for m in _METHODS)}; got {method!r}."
        raise SpecificationError(msg)
    function, build, recode = _METHODS[method]
    params = dict(params)
    kwargs = build(q, params, data)
    kwargs.update(params)
    frame = recode_reversed(q, data) if recode else data
    return function(frame, **kwargs)


def run_methods(
    q: Questionnaire,
    data: pd.DataFrame,
    methods: Sequence[str],
    params: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, MethodResult | ScoringError]:
    """Score ``data`` by each of ``methods``: method -> its result, or the error it raised.

    Parameters
    ----------
    q : questionnaires.Questionnaire
        The instrument of ``data``.
    data : pandas.DataFrame
        Its tidy export.
    methods : sequence of str
        Method names (see :func:`score`).
    params : mapping, optional
        Method -> keyword arguments passed to :func:`score`.

    Returns
    -------
    dict
        In the order of ``methods``: a result (every one offers ``dimension_scores()``,
        ``n_used`` and ``parameters``, see :class:`scoring._results.MethodResult`) or
        the :class:`~scoring.errors.ScoringError` that method raised, so one failing
        method does not hide the others. An unknown method name maps to a
        :class:`~scoring.errors.SpecificationError`.

    Examples
    --------
    >>> import questionnaires as qn
    >>> from questionnaires.simulate import simulate
    >>> q = qn.builtin("servqual22")
    >>> out = run_methods(q, simulate(q, 60, seed=1).data, ["servqual", "fuzzy"])
    >>> out["servqual"].n_used, type(out["fuzzy"]).__name__
    (60, 'SpecificationError')
    """
    params = params or {}
    out: dict[str, MethodResult | ScoringError] = {}
    for method in methods:
        try:
            out[method] = score(q, method, data, **dict(params.get(method, {})))
        except ScoringError as exc:
            out[method] = exc
    return out
