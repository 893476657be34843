"""The report's data: pure functions from frames, questionnaires and results to plain dicts.

Nothing here touches the database, Flask or files: every function takes tidy frames (the
export format), :class:`questionnaires.Questionnaire` objects and scoring results, and
returns JSON-safe dicts that the pages (:mod:`surveyapp.reports.views`), the charts
(:mod:`surveyapp.reports.charts`) and the shareable report (:mod:`surveyapp.reports.render`)
all read. Every number comes from :mod:`scoring`; this module only selects, labels,
ranks and arranges.

Sections (one function each, assembled by :func:`full_report`):

- :func:`five_gaps` -- the five-gap dashboard (Parasuraman, Zeithaml & Berry, 1985):
  per dimension a waterfall E -> M -> S -> D -> P, the promotion gap D - C beside it,
  the largest contributors, gap-cause scales next to their gap (Zeithaml, Berry &
  Parasuraman, 1988), items, and what data would complete the missing gaps;
- :func:`servqual_view` -- E and P with confidence intervals, items sorted by gap with
  significance marks, weighted vs. unweighted score, zone of tolerance;
- :func:`importance_performance_view` -- what to fix first (Martilla & James, 1977);
- :func:`waves_view` -- index and gaps per wave, Welch tests between consecutive waves;
- :func:`methods_view` -- every applicable method side by side, Kendall's W of the
  dimension rankings, a method card per method;
- :func:`data_quality` -- suspect responses and the headline figures without them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd
from scipy import special, stats

import questionnaires as qn
from scoring._results import jsonable
from scoring.errors import ScoringError
from scoring.gaps import service_gaps
from scoring.instrument import (
    dimension_columns,
    gap_cause_scales,
    gaps_inputs,
    servqual_kwargs,
)

if TYPE_CHECKING:
    from scoring.servqual import ServqualResult

__all__ = [
    "GAPS",
    "LEVELS",
    "GapSources",
    "data_quality",
    "five_gaps",
    "full_report",
    "importance_performance_view",
    "kendall_w",
    "methods_view",
    "parse_segment",
    "run_methods",
    "servqual_view",
    "significance_mark",
    "suspects",
    "waves_view",
]

T = qn.Text

#: The levels of the five-gap model: code -> (column suffix, label, audiences that give it).
LEVELS: dict[str, tuple[str, qn.Text, tuple[str, ...]]] = {
    "E": ("_e", T("顾客期望", "Customer expectation"), ("customer",)),
    "M": ("_m", T("管理者对顾客期望的认知", "Managers' view of expectations"), ("manager",)),
    "S": ("_s", T("服务质量标准", "Service-quality standard"), ("manager",)),
    "D": ("_d", T("实际提供的服务", "Service delivered"), ("audit", "staff")),
    "C": ("_c", T("对顾客的承诺", "Promised to customers"), ("audit", "staff")),
    "P": ("_p", T("顾客感知", "Customer perception"), ("customer",)),
}

#: gap -> (minuend level, subtrahend level, label). Waterfall order first, then promotion.
GAPS: dict[str, tuple[str, str, qn.Text]] = {
    "understanding": ("M", "E", T("理解差距", "Understanding gap")),
    "procedure": ("S", "M", T("程序差距", "Procedure gap")),
    "behaviour": ("D", "S", T("行为差距", "Behaviour gap")),
    "perception": ("P", "D", T("感受差距", "Perception gap")),
    "promotion": ("D", "C", T("促销差距", "Promotion gap")),
}
WATERFALL = ("understanding", "procedure", "behaviour", "perception")
CUSTOMER_GAP = T("顾客差距（P − E）", "Customer gap (P − E)")

AUDIENCE_INSTRUMENT = {
    "customer": "servqual22",
    "manager": "servqual22_manager",
    "staff": "servqual22_staff",
    "audit": "servqual22_audit",
}
AUDIENCE_LABEL = {
    "customer": T("顾客", "customers"),
    "manager": T("管理者", "managers"),
    "staff": T("一线员工", "contact staff"),
    "audit": T("服务审核（神秘顾客）", "a service audit (mystery shopper)"),
}


def _t(text: qn.Text | None, language: str, fallback: str = "") -> str:
    return text.get(language) if text is not None else fallback


def _num(frame: pd.DataFrame, col: str) -> np.ndarray:
    """A column as float64 with NaN for missing (nullable integer columns included)."""
    values = frame[col]
    if not pd.api.types.is_numeric_dtype(values):
        values = pd.to_numeric(values, errors="coerce")
    return values.to_numpy(dtype=float, na_value=np.nan)


def _t_quantile(confidence: float, df: float) -> float:
    """``scipy.stats.t.ppf(0.5 + confidence / 2, df)``: the same ufunc, called directly
    (the distribution object's argument checks cost ~40 times the computation, and the
    report asks for hundreds of quantiles)."""
    return float(special.stdtrit(df, 0.5 + confidence / 2))


def _describe(x: np.ndarray, confidence: float) -> dict[str, float]:
    """n, mean, sd and t interval of the finite entries of ``x``."""
    x = x[np.isfinite(x)]
    n = int(x.size)
    mean = float(x.mean()) if n else math.nan
    sd = float(x.std(ddof=1)) if n > 1 else math.nan
    half = _t_quantile(confidence, n - 1) * sd / math.sqrt(n) if n > 1 else math.nan
    return {"n": n, "mean": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half}


def _describe_columns(mat: np.ndarray, confidence: float) -> list[dict[str, float]]:
    """:func:`_describe` of every column of ``mat`` at once (one t quantile call)."""
    ok = np.isfinite(mat)
    n = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, mat, 0.0).sum(axis=0) / n
        sd = np.sqrt((np.where(ok, mat - mean, 0.0) ** 2).sum(axis=0) / (n - 1))
        sd[n < 2] = np.nan
        half = special.stdtrit(n - 1, 0.5 + confidence / 2) * sd / np.sqrt(n)
    return [
        {
            "n": int(k),
            "mean": float(m),
            "sd": float(d),
            "ci_low": float(m - h),
            "ci_high": float(m + h),
        }
        for k, m, d, h in zip(n, mean, sd, half, strict=True)
    ]


def _welch(a: Mapping[str, float], b: Mapping[str, float], confidence: float) -> dict[str, Any]:
    """Difference a - b of two independent means: Welch interval and test."""
    diff = a["mean"] - b["mean"]
    if a["n"] < 2 or b["n"] < 2:
        return {"diff": diff, "ci_low": math.nan, "ci_high": math.nan, "t": math.nan, "p": math.nan}
    va, vb = a["sd"] ** 2 / a["n"], b["sd"] ** 2 / b["n"]
    se = math.sqrt(va + vb)
    if se == 0:
        return {"diff": diff, "ci_low": diff, "ci_high": diff, "t": math.nan, "p": math.nan}
    df = (va + vb) ** 2 / (va**2 / (a["n"] - 1) + vb**2 / (b["n"] - 1))
    half = _t_quantile(confidence, df) * se
    t = diff / se
    p = float(2 * special.stdtr(df, -abs(t)))  # = 2 * scipy.stats.t.sf(|t|, df)
    return {"diff": diff, "ci_low": diff - half, "ci_high": diff + half, "t": t, "p": p}


def significance_mark(p: float | None) -> str:
    """``***`` p < .001, ``**`` p < .01, ``*`` p < .05, else ``""`` (NaN/None -> ``""``).

    >>> [significance_mark(p) for p in (0.0004, 0.004, 0.04, 0.4, None)]
    ['***', '**', '*', '', '']
    """
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else ""


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    # jsonable maps a list of mappings to a list of str-keyed dicts
    return cast(list[dict[str, Any]], jsonable(frame.to_dict(orient="records")))


def _json_dict(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``jsonable`` of a mapping: always a dict with string keys."""
    return cast(dict[str, Any], jsonable(obj))


def _dim_labels(q: qn.Questionnaire, language: str) -> dict[str, str]:
    return {d.id: d.label.get(language) for d in q.dimensions}


def _item_texts(q: qn.Questionnaire, language: str) -> dict[str, str]:
    return {i.id: i.text.get(language) for i in q.items}


class _Levels:
    """A column's cells as text, factorized once: a mask per level without a string
    comparison over every row for each level (empty cells belong to no level)."""

    def __init__(self, column: pd.Series) -> None:
        text = column if isinstance(column.dtype, pd.StringDtype) else column.astype("string")
        # the object array behind the text factorizes about twice as fast as the Series
        self.codes, uniques = pd.factorize(text.to_numpy())
        self.index = {str(u): k for k, u in enumerate(uniques)}

    def mask(self, value: str) -> np.ndarray:
        k = self.index.get(value)
        return self.codes == k if k is not None else np.zeros(self.codes.size, dtype=bool)

    def counts(self) -> dict[str, int]:
        n = np.bincount(self.codes[self.codes >= 0], minlength=len(self.index))
        return {level: int(n[k]) for level, k in self.index.items()}


def parse_segment(q: qn.Questionnaire, raw: str | None) -> tuple[str, str] | None:
    """``"item=code"`` -> ``(item, code)`` for a segment item of ``q`` (None when empty).

    Raises ``ValueError`` naming the choices when ``raw`` is not one of them.

    >>> parse_segment(qn.builtin("servqual22"), "branch=east")
    ('branch', 'east')
    """
    if not raw:
        return None
    col, _sep, code = raw.partition("=")
    item = next((i for i in q.segments if i.id == col), None)
    if item is None or code not in {c.code for c in item.choices}:
        choices = [f"{i.id}={c.code}" for i in q.segments for c in i.choices]
        msg = f"segment must be one of {', '.join(choices) or 'none (no segments)'}; got {raw!r}."
        raise ValueError(msg)
    return (col, code)


def segment_options(
    q: qn.Questionnaire, frame: pd.DataFrame, language: str
) -> list[dict[str, Any]]:
    """The segment items of ``q`` with the levels present in ``frame`` and their counts."""
    out = []
    for item in q.segments:
        if item.id not in frame.columns:
            continue
        counts = _Levels(frame[item.id]).counts()
        levels = [
            {"code": c.code, "label": c.label.get(language), "n": counts.get(c.code, 0)}
            for c in item.choices
        ]
        out.append({"id": item.id, "label": item.text.get(language), "levels": levels})
    return out


# ------------------------------------------------------------------------------ five gaps


@dataclass(frozen=True, slots=True)
class GapSources:
    """The linked frames of one gap study; any but the customer one may be missing.

    Each frame is the tidy export of its instrument (customers: E/P, managers: M/S and
    the understanding/procedure cause scales, staff: D/C and the behaviour/promotion
    cause scales, audit: D/C). ``delivered`` chooses where D and C come from when both
    staff and audit data exist (``"audit"`` by default: an observer's rating); see
    :func:`scoring.gaps.service_gaps`.
    """

    customer: tuple[qn.Questionnaire, pd.DataFrame]
    manager: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    staff: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    audit: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    delivered: Literal["audit", "staff"] = "audit"


def customer_levels(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    confidence: float = 0.95,
    *,
    result: Any = None,
) -> dict[str, dict[str, pd.DataFrame]]:
    """E and P per item and dimension with intervals, each role on its own: the
    ``roles`` table of :func:`scoring.servqual.servqual` (what SERVPERF on the
    expectation or on the perception columns gives).

    ``result`` is a pairwise SERVQUAL run on exactly ``data`` at ``confidence`` (the
    report's own run); without one, or with another missing rule, ``data`` is scored here.
    Returns role (``"E"``, ``"P"``) -> ``{"items": ..., "dimensions": ...}`` indexed by
    item / dimension with ``n, mean, sd, ci_low, ci_high`` (a respondent's dimension level
    is the mean of the items they answered in that role). Used by the SERVQUAL view.
    """
    from scoring.servqual import servqual

    if (
        result is None
        or getattr(result, "roles", None) is None
        or result.missing != "pairwise"
        or result.confidence != confidence
    ):
        # the roles do not depend on the weights: leave them out (no allocation checks)
        kw = {k: v for k, v in servqual_kwargs(q).items() if k != "weights"}
        result = servqual(data, **kw, confidence=confidence)
    roles = result.roles
    table = roles[["n", "mean", "sd", "ci_low", "ci_high"]].set_axis(
        roles["name"].to_numpy(), axis=0
    )
    role, level = roles["role"].to_numpy(), roles["level"].to_numpy()
    out: dict[str, dict[str, pd.DataFrame]] = {}
    for code, name in (("E", "expectation"), ("P", "perception")):
        if (role == name).any():
            out[code] = {
                "items": table.loc[(role == name) & (level == "item")],
                "dimensions": table.loc[(role == name) & (level == "dimension")],
            }
    return out


def _scale_for(q: qn.Questionnaire, columns: Sequence[str]) -> tuple[int, int]:
    """The one rating scale of ``columns`` (the first column's scale)."""
    item_of = {c: i for i in q.items for c in i.columns()}
    scale = item_of[columns[0]].scale if columns else None
    return (scale.min, scale.max) if scale is not None else (1, 7)


#: scoring.gaps source name -> audience of the report
_AUDIENCE = {"customers": "customer", "managers": "manager", "staff": "staff", "audit": "audit"}
#: gap of the report -> the name of its row in scoring.gaps' tables
_CUSTOMER_ROW = "customer"


def _by_key(table: pd.DataFrame, key: str) -> dict[tuple[str, str], dict[str, Any]]:
    """(gap or letter, name) -> row of a scoring table, as plain Python values."""
    first = "gap" if "gap" in table.columns else "letter"
    rows = _records(table)
    return {(str(r[first]), str(r[key])): r for r in rows}


def five_gaps(
    sources: GapSources,
    *,
    segment: tuple[str, str] | None = None,
    language: str = "en",
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The five-gap dashboard's data: :func:`scoring.gaps.service_gaps`, labelled.

    Parameters
    ----------
    sources
        The linked frames (:class:`GapSources`).
    segment
        ``(column, code)``: keep only the rows of that segment level, in every frame that
        has the column (frames without it are used whole, and the result says so).
    language
        Language of labels (``"zh-Hans"`` or ``"en"``).
    confidence
        Level of every interval.

    Returns
    -------
    dict
        ``dimensions`` (one entry per service dimension: ``levels`` E, M, S, D, C, P with
        n and interval, ``gaps`` with interval and test, ``waterfall`` steps, the
        customer gap and ``exact`` -- whether the four gaps sum to P - E), ``items``
        (the same per item, for the drill-down), ``contributors`` (gap x dimension
        ranked by how much they pull P below E), ``causes`` (gap -> cause scales),
        ``missing`` (gaps that cannot be shown and what data would complete them),
        ``sources`` (audience -> n), ``segment``, ``unfiltered``, ``missing_rule`` and
        ``delivered``.

    Notes
    -----
    Every number is a value of the :class:`scoring.gaps.GapsResult` that
    ``manyi score gaps`` prints for the same files (arguments from
    :func:`scoring.instrument.gaps_inputs`, pairwise missing data): levels and gaps
    (estimate, interval, t test; Holm-adjusted over the items of a gap for the item
    marks), the customer gap P - E as the difference of the level means (so the four
    waterfall gaps add up to it), and the gap-cause scales. Here they are only
    selected, labelled and ranked (Parasuraman, Zeithaml & Berry, 1985, *Journal of
    Marketing* 49(4)).
    """
    q_c = sources.customer[0]
    kwargs = gaps_inputs(
        customers=sources.customer,
        managers=sources.manager,
        staff=sources.staff,
        audit=sources.audit,
    )
    res = service_gaps(
        **kwargs, delivered=sources.delivered, segment=segment, confidence=confidence
    )
    dims_items: dict[str, list[str]] = kwargs["dimensions"]
    labels = _dim_labels(q_c, language)
    texts = _item_texts(q_c, language)
    level_source: dict[str, str | None] = dict.fromkeys(LEVELS)
    for r in _records(res.roles):
        level_source[r["letter"]] = _AUDIENCE[r["source"]]
    lv_rows = {"items": res.levels[res.levels["level"] == "item"]}
    lv_rows["dimensions"] = res.levels[res.levels["level"] == "dimension"]
    levels_of = {kind: _by_key(t, "name") for kind, t in lv_rows.items()}
    gaps_of = {
        "items": _by_key(res.items, "item"),
        "dimensions": _by_key(res.dimensions, "dimension"),
    }
    identity = {(r["level"], r["name"]): r for r in _records(res.identity)}
    stat_keys = ("n", "mean", "sd", "se", "ci_low", "ci_high")

    def gap_entry(gap: str, key: str, kind: str) -> dict[str, Any] | None:
        row = gaps_of[kind].get((gap, key))
        if row is None:
            return None
        hi, lo, label = GAPS[gap]
        # the item marks are Holm-adjusted over the items of the gap
        p = row["p_holm"] if kind == "items" else row["p"]
        return {
            "gap": gap,
            "label": label.get(language),
            "formula": f"{hi} − {lo}",
            "value": row["estimate"],
            "se": row["se"],
            "df": row["df"],
            "ci_low": row["ci_low"],
            "ci_high": row["ci_high"],
            "t": row["t"],
            "p": p,
            "p_raw": row["p"],
            "p_holm": row["p_holm"],
            "test": row["method"],
            "mark": significance_mark(p),
        }

    def block(key: str, kind: str) -> dict[str, Any]:
        levels: dict[str, dict[str, Any] | None] = {}
        for code in LEVELS:
            row = levels_of[kind].get((code, key))
            levels[code] = (
                None
                if row is None
                else {k: row[k] for k in stat_keys} | {"label": LEVELS[code][1].get(language)}
            )
        gaps = {g: gap_entry(g, key, kind) for g in GAPS}
        # the waterfall gaps up to the first one that cannot be shown
        chain: list[tuple[str, dict[str, Any]]] = []
        for g in WATERFALL:
            gap_e = gaps[g]
            if gap_e is None:
                break
            chain.append((g, gap_e))
        complete = len(chain) == len(WATERFALL)
        steps = []
        level_e, level_p = levels["E"], levels["P"]
        if level_e is not None:
            steps.append(
                {
                    "step": "E",
                    "label": level_e["label"],
                    "kind": "absolute",
                    "value": level_e["mean"],
                    "total": level_e["mean"],
                }
            )
            for g, gap_e in chain:
                # the gaps telescope: after M - E the running level is M, and so on
                reached = levels[GAPS[g][0]]
                steps.append(
                    {
                        "step": g,
                        "label": gap_e["label"],
                        "kind": "relative",
                        "value": gap_e["value"],
                        "total": reached["mean"] if reached is not None else None,
                    }
                )
        customer: dict[str, Any] | None = None
        row = gaps_of[kind].get((_CUSTOMER_ROW, key))
        if row is not None and level_e is not None and level_p is not None:
            customer = {
                "value": row["estimate"],
                "ci_low": row["ci_low"],
                "ci_high": row["ci_high"],
                "n": int(row["n_pairs"]),
                "expectation": level_e["mean"],
                "perception": level_p["mean"],
            }
            if kind == "items":
                customer["p"] = row["p_holm"]
                customer["mark"] = significance_mark(row["p_holm"])
        exact = None
        ident = identity.get(("item" if kind == "items" else "dimension", key))
        if complete and level_p is not None and ident is not None:
            exact = bool(ident["exact"])
            steps.append(
                {
                    "step": "P",
                    "label": level_p["label"],
                    "kind": "total",
                    "value": level_p["mean"],
                    "total": level_p["mean"],
                }
            )
        return {
            "levels": levels,
            "gaps": gaps,
            "waterfall": steps,
            "complete": complete,
            "exact": exact,
            "customer_gap": customer,
        }

    dimensions = []
    for dim in dims_items:
        entry = block(dim, "dimensions")
        entry |= {"dimension": dim, "label": labels.get(dim, dim), "items": dims_items[dim]}
        dimensions.append(entry)
    items = []
    for dim, ids in dims_items.items():
        for i in ids:
            entry = block(i, "items")
            entry |= {
                "item": i,
                "dimension": dim,
                "dimension_label": labels.get(dim, dim),
                "text": texts.get(i, i),
            }
            items.append(entry)

    contributors = []
    for d in dimensions:
        for g in (*WATERFALL, "promotion"):
            e = d["gaps"][g]
            if e is not None:
                contributors.append(
                    {
                        "dimension": d["dimension"],
                        "dimension_label": d["label"],
                        "gap": g,
                        "gap_label": e["label"],
                        "value": e["value"],
                        "ci_low": e["ci_low"],
                        "ci_high": e["ci_high"],
                        "mark": e["mark"],
                    }
                )
    # a gap without a value (None: no estimate) goes last
    contributors.sort(
        key=lambda r: (r["value"] is None, r["value"] or 0.0, r["dimension"], r["gap"])
    )
    for rank, r in enumerate(contributors, 1):
        r["rank"] = rank

    causes: dict[str, list[dict[str, Any]]] = {}
    for r in _records(res.causes) if res.causes is not None else []:
        q_src = getattr(sources, _AUDIENCE[r["source"]])[0]
        dim_q = q_src.dimension(r["scale"])
        causes.setdefault(r["gap"], []).append(
            {
                "scale": r["scale"],
                "label": dim_q.label.get(language),
                "description": _t(dim_q.description, language),
                "items": gap_cause_scales(q_src)[r["gap"]][r["scale"]],
                "source": _AUDIENCE[r["source"]],
                **{k: r[k] for k in ("k", "n", "mean", "sd", "se", "ci_low", "ci_high", "alpha")},
            }
        )

    missing: list[dict[str, Any]] = []
    for gap, (hi, lo, label) in GAPS.items():
        absent = [lv for lv in (hi, lo) if level_source.get(lv) is None]
        if not absent:
            continue
        needs = []
        for lv in absent:
            auds = LEVELS[lv][2]
            needs.append(
                {
                    "level": lv,
                    "level_label": LEVELS[lv][1].get(language),
                    "audiences": [AUDIENCE_LABEL[a].get(language) for a in auds],
                    "instruments": [AUDIENCE_INSTRUMENT[a] for a in auds],
                    "column": f"<item>{LEVELS[lv][0]}",
                }
            )
        missing.append(
            {"gap": gap, "label": label.get(language), "formula": f"{hi} − {lo}", "needs": needs}
        )
    for gap in ("understanding", "procedure", "behaviour", "promotion"):
        if gap not in causes and not any(m["gap"] == gap for m in missing):
            aud = "manager" if gap in ("understanding", "procedure") else "staff"
            if getattr(sources, aud) is None:
                missing.append(
                    {
                        "gap": gap,
                        "label": GAPS[gap][2].get(language),
                        "formula": "causes",
                        "causes_only": True,
                        "needs": [
                            {
                                "level": "causes",
                                "level_label": "",
                                "audiences": [AUDIENCE_LABEL[aud].get(language)],
                                "instruments": [AUDIENCE_INSTRUMENT[aud]],
                                "column": "",
                            }
                        ],
                    }
                )
    used = _records(res.sources)
    return _json_dict(
        {
            "dimensions": dimensions,
            "items": items,
            "contributors": contributors,
            "causes": causes,
            "missing": missing,
            "sources": {_AUDIENCE[r["source"]]: r["n"] for r in used},
            "level_sources": level_source,
            "segment": list(res.segment) if res.segment else None,
            "unfiltered": [
                _AUDIENCE[r["source"]] for r in used if segment is not None and not r["segmented"]
            ],
            "confidence": res.confidence,
            "missing_rule": res.missing,
            "delivered": res.delivered,
            "scale": list(kwargs["scale"]),
        }
    )


# ------------------------------------------------------------------------------ SERVQUAL


def servqual_view(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    result: Any = None,
    language: str = "en",
    confidence: float = 0.95,
    levels: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
) -> dict[str, Any]:
    """SERVQUAL view: E and P per dimension with intervals, items sorted by gap.

    E and P intervals come from :func:`scoring.servqual.servqual` run in its SERVPERF
    form on the expectation and on the perception columns (an interval of the mean
    rating); gaps, tests and weighted scores from the SERVQUAL run ``result``.
    """
    from scoring.servqual import servqual

    kw = servqual_kwargs(q)
    if result is None:
        result = servqual(data, **kw, confidence=confidence)
    labels = _dim_labels(q, language)
    texts = _item_texts(q, language)
    if levels is None:
        levels = customer_levels(q, data, confidence, result=result)
    ci = {
        role: levels[code]["dimensions"]
        for code, role in (("E", "expectation"), ("P", "perception"))
        if code in levels
    }
    dims = []
    for row in result.dimensions.itertuples(index=False):
        entry = {
            "dimension": row.dimension,
            "label": labels.get(row.dimension, row.dimension),
            "n": row.n,
            "expectation": row.expectation,
            "perception": row.perception,
            "gap": row.gap,
            "ci_low": row.ci_low,
            "ci_high": row.ci_high,
        }
        for role, frame in ci.items():
            if row.dimension in frame.index:
                entry[f"{role}_ci_low"] = frame.loc[row.dimension, "ci_low"]
                entry[f"{role}_ci_high"] = frame.loc[row.dimension, "ci_high"]
        dims.append(entry)
    items = result.items.sort_values(["gap", "item"]).copy()
    items["text"] = items["item"].map(texts)
    items["dimension_label"] = items["dimension"].map(labels)
    items["mark"] = [significance_mark(p) for p in items["p_holm"]]
    overall = {
        r.measure: {"n": r.n, "mean": r.mean, "ci_low": r.ci_low, "ci_high": r.ci_high}
        for r in result.overall.itertuples(index=False)
    }
    weights = None
    if result.weights is not None:
        w = result.weights.copy()
        w["label"] = w["dimension"].map(labels)
        weights = _records(w)
    zot = None
    if result.zone_of_tolerance is not None:
        zot = _records(result.zone_of_tolerance)
    return _json_dict(
        {
            "model": result.model,
            "dimensions": dims,
            "items": _records(
                items[
                    [
                        "item",
                        "text",
                        "dimension",
                        "dimension_label",
                        "n",
                        "expectation",
                        "perception",
                        "gap",
                        "ci_low",
                        "ci_high",
                        "p_holm",
                        "mark",
                    ]
                ]
            ),
            "overall": overall,
            "weighted": overall.get(f"{result.model}_weighted"),
            "unweighted": overall.get(result.model),
            "weights": weights,
            "zone_of_tolerance": zot,
            "missing_rule": result.missing_rule,
            "n": result.n_respondents,
            "confidence": confidence,
        }
    )


# ------------------------------------------------------------------------------ what to fix first


def importance_performance_view(
    q: qn.Questionnaire,
    *,
    drivers: Any = None,
    csi: Any = None,
    language: str = "en",
) -> dict[str, Any] | None:
    """The importance-performance map: from the driver model, else from the CSI model.

    Importance is the driver model's (relative-weight based) importance or the CSI
    total effects on satisfaction; performance the 0-100 mean of each driver
    (:func:`scoring.drivers.importance_performance`). Returns None when neither result
    is given.
    """
    if drivers is not None:
        ipa, source = drivers.importance_performance, "drivers"
        labels = _dim_labels(q, language)
    elif csi is not None:
        ipa, source = csi.importance_performance, "csi"
        spec = q.scoring.csi
        labels = {k: v.get(language) for k, v in spec.labels.items()} if spec else {}
    else:
        return None
    frame = ipa.reset_index()
    frame = frame.rename(columns={frame.columns[0]: "driver"})
    frame["label"] = frame["driver"].map(lambda d: labels.get(d, d))
    cuts = {
        "importance": float(frame["importance"].mean()),
        "performance": float(frame["performance"].mean()),
    }
    rows = _records(frame.sort_values("priority"))
    return _json_dict({"source": source, "rows": rows, "cuts": cuts})


# ------------------------------------------------------------------------------ waves


def _satisfaction_index(q: qn.Questionnaire, frame: pd.DataFrame) -> np.ndarray | None:
    """Per-respondent 0-100 overall satisfaction: ``(x - min) / (max - min) * 100``."""
    if q.scoring.overall is None:
        return None
    item = q.item(q.scoring.overall)
    if item.scale is None or item.id not in frame.columns:
        return None
    lo, hi = item.scale.min, item.scale.max
    return (_num(frame, item.id) - lo) / (hi - lo) * 100.0


def _respondent_scores(
    q: qn.Questionnaire, data: pd.DataFrame, result: ServqualResult | None, confidence: float
) -> pd.DataFrame:
    """Per-respondent SERVQUAL scores (dimensions, overall, weighted) and the 0-100
    satisfaction index, aligned with ``data``'s rows.

    Under the pairwise rule a respondent's scores do not depend on the other rows, so
    the means over any subset (a wave, a segment level, the non-suspect rows) equal a
    separate :func:`scoring.servqual.servqual` run on that subset; this is how every
    breakdown is computed from one run.
    """
    from scoring.servqual import servqual

    if result is None:
        result = servqual(data, **servqual_kwargs(q), confidence=confidence)
    scores = result.scores.reindex(data.index)
    idx = _satisfaction_index(q, data)
    if idx is not None:
        scores = scores.assign(index=idx)
    return scores


def waves_view(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    segment: str | None = None,
    language: str = "en",
    confidence: float = 0.95,
    order: Sequence[str] | None = None,
    result: Any = None,
) -> dict[str, Any]:
    """The index and the gaps per wave, and Welch tests of change between waves.

    ``data`` holds every wave (the ``wave`` column, in ``order`` or sorted); it is scored
    once by :func:`scoring.servqual.servqual` (or ``result``, a pairwise run on exactly
    ``data``) and each wave and segment level is described from respondents' scores
    (see :func:`_respondent_scores`). The satisfaction index is the overall item on
    0-100 (ACSI convention ``(x - min) / (max - min) * 100``). Consecutive waves are
    compared with Welch's t on respondents' scores; with ``segment``, the same per level.
    """
    if result is not None and result.missing != "pairwise":
        result = None  # subsets of a listwise or imputed run are not subset runs
    scores = _respondent_scores(q, data, result, confidence)
    renamed = {"overall": "servqual", "weighted": "servqual_weighted"}
    measure_names = [renamed.get(c, c) for c in scores.columns]
    # measures x respondents: each wave / level gathers its rows once for every measure
    matrix = np.vstack([scores[c].to_numpy(dtype=float) for c in scores.columns])
    labels = _dim_labels(q, language)
    wave_col = _Levels(data["wave"])
    waves = list(order) if order is not None else sorted(wave_col.index)
    in_wave = {w: wave_col.mask(w) for w in waves}

    def series_for(mask: np.ndarray) -> dict[str, Any]:
        per_wave = []
        stats_prev: dict[str, dict[str, float]] | None = None
        for w in waves:
            rows = np.flatnonzero(in_wave[w] & mask)
            entry: dict[str, Any] = {"wave": w, "n": int(rows.size)}
            measures: dict[str, dict[str, float]] = {}
            if entry["n"] >= 2:
                part = matrix if rows.size == matrix.shape[1] else matrix.take(rows, axis=1)
                for name, values in zip(measure_names, part, strict=True):
                    measures[name] = _describe(values, confidence)
            entry["measures"] = measures
            if stats_prev is not None:
                change = {}
                for k, v in measures.items():
                    if k in stats_prev:
                        test = _welch(v, stats_prev[k], confidence)
                        change[k] = test | {"mark": significance_mark(test["p"])}
                entry["change"] = change
            per_wave.append(entry)
            stats_prev = measures if measures else stats_prev
        return {"waves": per_wave}

    everyone = np.ones(len(data), dtype=bool)
    out: dict[str, Any] = {
        "waves": waves,
        "measures": {
            "index": T("满意度指数（0–100）", "Satisfaction index (0–100)").get(language),
            "servqual": T("SERVQUAL 总分（P − E）", "SERVQUAL score (P − E)").get(language),
            "servqual_weighted": T("加权 SERVQUAL", "Weighted SERVQUAL").get(language),
            **labels,
        },
        "all": series_for(everyone),
        "segments": None,
    }
    if segment is not None and segment in data.columns:
        item = next((i for i in q.segments if i.id == segment), None)
        names = {c.code: c.label.get(language) for c in item.choices} if item else {}
        seg_col = _Levels(data[segment])
        out["segments"] = {
            "segment": segment,
            "levels": [
                {"code": code, "label": names.get(code, code), **series_for(seg_col.mask(code))}
                for code in (names or sorted(seg_col.index))
            ],
        }
    return _json_dict(out)


# ------------------------------------------------------------------------------ methods


def kendall_w(rankings: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Kendall's coefficient of concordance W of m rankings of the same n objects.

    ``rankings`` maps a rater (method) to object -> score; scores are ranked (average
    ranks for ties) and only the objects every rater scored are used.

    Notes
    -----
    W = 12 S / (m² (n³ − n) − m T), with S the sum of squared deviations of the rank
    sums from their mean and T = Σ (t³ − t) over groups of tied ranks (Kendall & Babington
    Smith, 1939). The chi-squared test uses m (n − 1) W with n − 1 degrees of freedom.

    Examples
    --------
    >>> kendall_w({"a": {"x": 1, "y": 2, "z": 3}, "b": {"x": 1, "y": 2, "z": 3}})["w"]
    1.0
    >>> round(kendall_w({"a": {"x": 1, "y": 2, "z": 3}, "b": {"x": 3, "y": 2, "z": 1}})["w"], 6)
    0.0
    """
    raters = [r for r in rankings if rankings[r]]
    common = sorted(set.intersection(*(set(rankings[r]) for r in raters))) if raters else []
    m, n = len(raters), len(common)
    if m < 2 or n < 2:
        return {"w": math.nan, "m": m, "n": n, "chi2": math.nan, "p": math.nan}
    ranks = np.array([stats.rankdata([rankings[r][o] for o in common]) for r in raters])
    rsum = ranks.sum(axis=0)
    s = float(((rsum - rsum.mean()) ** 2).sum())
    ties = 0.0
    for row in ranks:
        _, counts = np.unique(row, return_counts=True)
        ties += float((counts**3 - counts).sum())
    denom = m**2 * (n**3 - n) - m * ties
    w = 12 * s / denom if denom > 0 else math.nan
    chi2 = m * (n - 1) * w
    p = float(stats.chi2.sf(chi2, n - 1)) if math.isfinite(chi2) else math.nan
    return {"w": w, "m": m, "n": n, "chi2": chi2, "p": p}


METHOD_CARDS: dict[str, dict[str, qn.Text]] = {
    "servqual": {
        "name": T("SERVQUAL 差距模型", "SERVQUAL gap model"),
        "formula": T(
            "Q = P − E；维度得分 = 维度内各题差距的均值",
            "Q = P − E per item; dimension score = mean of its item gaps",
        ),
        "ranks": T("维度差距（越大越好）", "dimension gap (higher is better)"),
    },
    "index": {
        "name": T("调查表式指数", "Questionnaire index"),
        "formula": T(
            "指数 = (均值 − 最小值) / (最大值 − 最小值) × 100",
            "index = (mean − min) / (max − min) × 100",
        ),
        "ranks": T("维度指数（0–100）", "dimension index (0–100)"),
    },
    "fuzzy": {
        "name": T("模糊综合评价", "Fuzzy comprehensive evaluation"),
        "formula": T("B = A ∘ R；S = B · cᵀ", "B = A ∘ R; S = B · cᵀ"),
        "ranks": T("一级因素得分", "first-level factor score"),
    },
    "pca": {
        "name": T("主成分分析指数", "Principal component index"),
        "formula": T(
            "F = Σ (λₖ / Σλ) · Fₖ；维度得分 = 按主成分权重加权的题项均值（0–100）",
            "F = Σ (λₖ / Σλ) · Fₖ; dimension score = PCA-weighted item means (0–100)",
        ),
        "ranks": T("主成分加权的维度得分", "PCA-weighted dimension score"),
    },
    "csi": {
        "name": T("顾客满意度指数模型（PLS）", "Customer satisfaction index model (PLS)"),
        "formula": T(
            "指数 = 100 · (Σ wᵢ x̄ᵢ − 最小值) / (最大值 − 最小值)",
            "index = 100 · (Σ wᵢ x̄ᵢ − min) / (max − min)",
        ),
        "ranks": T("潜变量指数（0–100）", "latent index (0–100)"),
    },
    "drivers": {
        "name": T("驱动因素模型", "Driver model"),
        "formula": T(
            "总体满意度 = β₀ + Σ βₖ · 维度ₖ + ε（HC3 稳健标准误）",
            "overall = β₀ + Σ βₖ · dimensionₖ + ε (HC3 robust errors)",
        ),
        "ranks": T("相对重要性", "relative importance"),
    },
}

#: methods whose dimension scores are performance levels (ranked in Kendall's W)
RANKED_METHODS = ("servqual", "index", "fuzzy", "pca", "csi")


def _applicable(q: qn.Questionnaire) -> list[str]:
    out = []
    has_ep = {"expectation", "perception"} <= set(q.roles_used)
    if has_ep or "perception" in q.roles_used:
        out.append("servqual")
    if dimension_columns(q):
        out.append("index")
    if q.scoring.fuzzy is not None:
        out.append("fuzzy")
    if sum(len(v) for v in dimension_columns(q).values()) >= 3:
        out.append("pca")
    if q.scoring.csi is not None:
        out.append("csi")
    if q.scoring.overall is not None and dimension_columns(q):
        out.append("drivers")
    if dimension_columns(q):
        out.append("reliability")
    return out


def run_methods(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    methods: Sequence[str] | None = None,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    runner: Callable[[str, Mapping[str, Any]], Any] | None = None,
) -> dict[str, Any]:
    """Score ``data`` by every applicable method (or ``methods``); method -> result or error.

    ``runner(method, params)`` computes one result (the web app passes the stored-run
    cache of :mod:`surveyapp.reports.runs`); by default :func:`scoring.instrument.score`.
    A method that fails maps to the ``ScoringError`` message (a str).
    """
    from scoring.instrument import score

    chosen = list(methods) if methods is not None else _applicable(q)
    params = params or {}

    def default(method: str, p: Mapping[str, Any]) -> Any:
        if method == "index":
            return _run_index(q, data, **p)
        return score(q, method, data, **p)

    run = runner or default
    out: dict[str, Any] = {}
    for method in chosen:
        try:
            out[method] = run(method, dict(params.get(method, {})))
        except (ScoringError, ValueError) as exc:
            out[method] = str(exc)
    return out


def _run_index(q: qn.Questionnaire, data: pd.DataFrame, **params: Any) -> Any:
    """The questionnaire index: :func:`scoring.instrument.score` once it knows ``"index"``,
    else :func:`scoring.index.questionnaire_index` with the adapter's helpers (the
    service items in the rated role; reverse-coded items reversed by the index itself)."""
    from scoring import instrument
    from scoring.index import questionnaire_index

    try:
        return instrument.score(q, "index", data, **params)
    except ValueError as exc:
        if "method must be one of" not in str(exc):
            raise
    dims = dimension_columns(q)
    cols = [c for v in dims.values() for c in v]
    kwargs: dict[str, Any] = {
        "dimensions": dims,
        "scale": _scale_for(q, cols),
        "reverse": [c for c in instrument.reversed_columns(q) if c in cols],
    }
    kwargs.update(params)
    return questionnaire_index(data, **kwargs)


def _dimension_scores(q: qn.Questionnaire, method: str, result: Any) -> dict[str, float]:
    """Dimension -> performance score of one method's result (for the rankings)."""
    if method == "servqual":
        return dict(zip(result.dimensions["dimension"], result.dimensions["gap"], strict=True))
    if method == "pca":
        w = result.weights.set_index("item")["weight"]
        means = result.means
        item_of = {c: i for i in q.items for c in i.columns()}
        out = {}
        for dim, cols in dimension_columns(q).items():
            cols = [c for c in cols if c in w.index]
            if not cols:
                continue
            scale = item_of[cols[0]].scale
            lo, hi = (scale.min, scale.max) if scale else (0.0, 1.0)
            ww = w.loc[cols].to_numpy(float)
            mm = means.loc[cols].to_numpy(float)
            if ww.sum() > 0:
                out[dim] = float((ww @ mm / ww.sum() - lo) / (hi - lo) * 100)
        return out
    if method == "fuzzy":
        ev = result.evaluation
        first = ev.loc[ev["level"] == 1]
        return dict(zip(first["node"].astype(str), first["score"].astype(float), strict=True))
    if method == "csi":
        # CSI latents are named like the dimensions (CE <-> ce) in the built-in instruments
        dims = {d.id.lower(): d.id for d in q.dimensions}
        ind = result.indices["index"]
        return {dims.get(str(k).lower(), str(k)): float(v) for k, v in ind.items()}
    if method == "index":
        frame = getattr(result, "dimensions", None)
        if isinstance(frame, pd.DataFrame):
            val = "index" if "index" in frame.columns else "mean"
            return dict(zip(frame["dimension"].astype(str), frame[val].astype(float), strict=True))
    return {}


def _n_used(method: str, result: Any) -> int | None:
    for attr in ("n_respondents", "n", "n_obs"):
        v = getattr(result, attr, None)
        if isinstance(v, int | np.integer):
            return int(v)
    if method == "csi":
        return int(len(result.respondent_index))
    return None


def _params_of(method: str, result: Any) -> dict[str, Any]:
    keys = {
        "servqual": ("model", "confidence", "scale"),
        "pca": ("retain", "n_components", "score_convention"),
        "fuzzy": ("operator", "normalised", "grade"),
        "csi": ("model", "target"),
        "drivers": ("cov_type", "outcome"),
        "reliability": ("loadings_source", "thresholds"),
        "index": ("scale",),
    }.get(method, ())
    return _json_dict({k: getattr(result, k) for k in keys if hasattr(result, k)})


def methods_view(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    results: Mapping[str, Any],
    *,
    language: str = "en",
    excluded: int = 0,
) -> dict[str, Any]:
    """Methods side by side: dimension rankings per method, Kendall's W, method cards.

    ``results`` maps a method to its result (or an error message) as :func:`run_methods`
    returns them. ``excluded`` is the number of rows left out before scoring
    (quarantined or filtered), shown on every card.
    """
    labels = _dim_labels(q, language)
    rel = results.get("reliability")
    alphas: dict[str, float] = {}
    if rel is not None and not isinstance(rel, str):
        alphas = dict(zip(rel.dimensions["dimension"], rel.dimensions["alpha"], strict=True))
    scores: dict[str, dict[str, float]] = {}
    cards = []
    for method, res in results.items():
        if method == "reliability":
            continue
        text = METHOD_CARDS.get(method, {})
        card: dict[str, Any] = {
            "method": method,
            "name": _t(text.get("name"), language, method),
            "formula": _t(text.get("formula"), language),
            "ranks": _t(text.get("ranks"), language),
        }
        if isinstance(res, str):
            card["error"] = res
            cards.append(card)
            continue
        n_used = _n_used(method, res)
        card |= {
            "n": n_used,
            "n_data": int(len(data)),
            "dropped": (int(len(data)) - n_used) if n_used is not None else None,
            "excluded": excluded,
            "missing": getattr(res, "missing_rule", None) or getattr(res, "missing", None),
            "parameters": _params_of(method, res),
        }
        if method in RANKED_METHODS:
            s = _dimension_scores(q, method, res)
            if s:
                scores[method] = s
        card["reliability"] = [
            {"dimension": d, "label": labels.get(d, d), "alpha": a}
            for d, a in alphas.items()
            if method in ("servqual", "index", "pca", "drivers", "fuzzy")
        ]
        cards.append(card)
    objects = sorted({o for s in scores.values() for o in s})
    table = []
    for o in objects:
        row: dict[str, Any] = {"dimension": o, "label": labels.get(o, o)}
        for method, s in scores.items():
            if o in s:
                rank = int(stats.rankdata([-v for v in s.values()])[list(s).index(o)])
                row[method] = {"score": s[o], "rank": rank}
        table.append(row)
    comparable = {m: s for m, s in scores.items() if len(s) >= 2}
    common = set.intersection(*(set(s) for s in comparable.values())) if comparable else set()
    agree = {m: s for m, s in comparable.items() if set(s) & common}
    return _json_dict(
        {
            "methods": list(scores),
            "table": table,
            "kendall": kendall_w({m: {o: -v for o, v in s.items()} for m, s in agree.items()}),
            "cards": cards,
        }
    )


# ------------------------------------------------------------------------------ data quality


def _rating_columns(q: qn.Questionnaire, data: pd.DataFrame, role: str | None) -> dict[str, str]:
    """Item id -> column of the rating items in ``role`` (None: the items without roles)."""
    out = {}
    for i in q.iter_items(type="rating"):
        if (role in i.roles) if role else not i.roles:
            col = i.column(role) if role else i.column()
            if col in data.columns:
                out[i.id] = col
    return out


def _screen_values(data: pd.DataFrame, col: str) -> np.ndarray:
    """A rating column for the suspect screens, NaN where unanswered: float32 when it
    holds whole numbers only (exact below 2**24, half the memory traffic of float64)."""
    column = data[col]
    if pd.api.types.is_integer_dtype(column.dtype):
        return column.to_numpy(dtype=np.float32, na_value=np.nan)
    return _num(data, col)


def suspects(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    min_seconds: float | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    min_items: int = 5,
) -> pd.DataFrame:
    """Flag suspect responses; one boolean column per reason, index = ``data``'s index.

    Reasons: ``too_fast`` (``duration_s`` below ``min_seconds``, default a third of the
    median duration), ``straight_lining`` (every answered rating of a role -- at least
    ``min_items`` -- the same value), ``identical_ep`` (E equals P on every item answered
    in both, at least ``min_items``), ``honeypot`` (the app's flag in ``flags``, mapping
    ``response_id`` -> the stored reasons), ``flagged`` (the export's ``suspect`` column
    for reasons not listed here).
    """
    n = len(data)
    out = pd.DataFrame(index=data.index)
    if "duration_s" in data.columns:
        dur = _num(data, "duration_s")
        limit = min_seconds
        if limit is None:
            med = np.nanmedian(dur) if np.isfinite(dur).any() else math.nan
            limit = med / 3 if math.isfinite(med) else None
        out["too_fast"] = (dur < limit) if limit is not None else np.zeros(n, bool)
    else:
        out["too_fast"] = np.zeros(n, bool)
    # Column by column on 1-D arrays (each stays in cache): running per-respondent
    # highest and lowest answer and answer count per role, no items x respondents copies.
    straight = np.zeros(n, bool)
    roles = (*q.roles_used, None) if q.roles_used else (None,)
    columns = {role: _rating_columns(q, data, role) for role in roles}
    values: dict[str, np.ndarray] = {}
    for cols in columns.values():
        if len(cols) < min_items:
            continue
        answered = np.zeros(n, dtype=np.int32)
        high = low = None
        for col in cols.values():
            x = values[col] = _screen_values(data, col)
            answered += ~np.isnan(x)
            high = x.copy() if high is None else np.fmax(high, x, out=high)
            low = x.copy() if low is None else np.fmin(low, x, out=low)
        straight |= (answered >= min_items) & (high == low)
    out["straight_lining"] = straight
    ident = np.zeros(n, bool)
    if {"expectation", "perception"} <= set(q.roles_used):
        pairs = [
            (col, columns["perception"][i])
            for i, col in columns["expectation"].items()
            if i in columns["perception"]
        ]
        n_both = np.zeros(n, dtype=np.int32)
        differ = np.zeros(n, bool)
        for e_col, p_col in pairs:
            e = values[e_col] if e_col in values else _screen_values(data, e_col)
            p = values[p_col] if p_col in values else _screen_values(data, p_col)
            both = ~np.isnan(e) & ~np.isnan(p)
            n_both += both
            differ |= both & (e != p)
        ident = (n_both >= min_items) & ~differ
    out["identical_ep"] = ident
    honeypot = np.zeros(n, bool)
    if flags and "response_id" in data.columns:
        marked = [rid for rid, f in flags.items() if f.get("honeypot")]
        honeypot = data["response_id"].astype(str).isin(marked).to_numpy(bool)
    app = _app_flags(data)
    out["too_fast"] |= app["too_fast"]
    out["honeypot"] = honeypot | app["honeypot"]
    out["flagged"] = app["other"] & ~out.any(axis=1).to_numpy(bool)
    return out


def _app_flags(data: pd.DataFrame) -> dict[str, np.ndarray]:
    """The app's quality flags from the export's ``suspect`` column, per row.

    The database export joins the flag names with ``;`` (``too_fast;honeypot``); a
    simulated or older file holds a boolean (``True`` counts as another flag).
    Returns ``too_fast``, ``honeypot`` and ``other`` (any other flag but ``quarantined``).
    """
    n = len(data)
    none = np.zeros(n, bool)
    if "suspect" not in data.columns:
        return {"too_fast": none, "honeypot": none, "other": none}
    col = data["suspect"]
    if pd.api.types.is_bool_dtype(col) or pd.api.types.is_numeric_dtype(col):
        flagged = col.astype("boolean").fillna(False).to_numpy(bool)
        return {"too_fast": none, "honeypot": none, "other": flagged}
    # the patterns run on the few distinct flag texts, not on every row
    codes, distinct = pd.factorize(col.astype("string").fillna("").to_numpy())
    text = pd.Series(distinct, dtype="string")

    def has(name: str) -> np.ndarray:
        found = text.str.contains(rf"(?:^|;)\s*{name}\s*(?:;|$)", regex=True)
        return found.to_numpy(bool)[codes]

    rest = text.str.replace(r"\b(?:too_fast|honeypot|quarantined)\b|[;\s]", "", regex=True)
    return {
        "too_fast": has("too_fast"),
        "honeypot": has("honeypot"),
        "other": rest.str.len().gt(0).to_numpy(bool)[codes],
    }


def _headline(
    q: qn.Questionnaire, data: pd.DataFrame, results: Mapping[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(len(data))}
    sq = results.get("servqual")
    if sq is not None and not isinstance(sq, str):
        ov = sq.overall.set_index("measure")
        for m in ("servqual", "servqual_weighted", "servperf"):
            if m in ov.index:
                out[m] = float(ov.loc[m, "mean"])
        out["dimensions"] = dict(zip(sq.dimensions["dimension"], sq.dimensions["gap"], strict=True))
    idx = _satisfaction_index(q, data)
    if idx is not None and np.isfinite(idx).any():
        out["index"] = float(np.nanmean(idx))
    return out


def data_quality(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    results: Mapping[str, Any] | None = None,
    min_seconds: float | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    language: str = "en",
) -> dict[str, Any]:
    """The data-quality panel: suspect counts by reason and the headline figures with
    and without the suspect responses (SERVQUAL re-run on the clean rows)."""
    from scoring.servqual import servqual

    flagged = suspects(q, data, min_seconds=min_seconds, flags=flags)
    any_suspect = flagged.any(axis=1).to_numpy(bool)
    reasons = {
        "too_fast": T("作答过快", "Too fast"),
        "straight_lining": T("所有题目同一答案", "Straight-lining"),
        "identical_ep": T("期望与感知完全相同", "Identical E and P"),
        "honeypot": T("触发蜜罐字段", "Honeypot filled"),
        "flagged": T("系统标记的其他可疑", "Other app flags"),
    }
    counts = [
        {"reason": r, "label": reasons[r].get(language), "n": int(flagged[r].sum())}
        for r in flagged.columns
    ]
    results = results or {}
    with_all = _headline(q, data, results)
    n_clean = int(len(data) - np.count_nonzero(any_suspect))
    without: dict[str, Any] = {"n": n_clean}
    sq = results.get("servqual")
    if sq is not None and not isinstance(sq, str) and n_clean > 1:
        if sq.missing == "pairwise":
            # respondents' scores do not depend on the other rows: the clean rows' means
            # are what a run on the clean rows gives (see _respondent_scores)
            scores = _respondent_scores(q, data, sq, 0.95)
            clean_mean = {
                c: _describe(scores[c].to_numpy(dtype=float)[~any_suspect], 0.95)["mean"]
                for c in scores.columns
            }
            without |= {
                "servqual": clean_mean["overall"],
                "dimensions": {d: clean_mean[d] for d in sq.dimensions["dimension"]},
            }
            if "weighted" in scores.columns:
                without["servqual_weighted"] = clean_mean["weighted"]
            if "index" in scores.columns:
                without["index"] = clean_mean["index"]
        else:
            clean = data.loc[~any_suspect]
            try:
                r = servqual(clean, **servqual_kwargs(q))
            except ScoringError as exc:
                without["error"] = str(exc)
            else:
                without = _headline(q, clean, {"servqual": r})
    elif n_clean:
        without = _headline(q, data.loc[~any_suspect], {})
    ids = (
        data.loc[any_suspect, "response_id"].astype(str).tolist()[:200]
        if ("response_id" in data.columns)
        else []
    )
    return _json_dict(
        {
            "n": int(len(data)),
            "n_suspect": int(any_suspect.sum()),
            "share": float(any_suspect.mean()) if len(data) else math.nan,
            "counts": counts,
            "with": with_all,
            "without": without,
            "examples": ids,
            "min_seconds": min_seconds,
        }
    )


# ------------------------------------------------------------------------------ all of it


def full_report(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    gap_sources: GapSources | None = None,
    segment: tuple[str, str] | None = None,
    wave_segment: str | None = None,
    language: str = "en",
    min_seconds: float | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    runner: Callable[[str, Mapping[str, Any]], Any] | None = None,
    title: str | None = None,
    excluded: int = 0,
) -> dict[str, Any]:
    """Every section of the report for one customer survey (each method computed once)."""
    results = run_methods(q, data, runner=runner)
    sq = results.get("servqual")
    sq_ok = sq is not None and not isinstance(sq, str)
    report: dict[str, Any] = {
        "title": title or q.title.get(language),
        "questionnaire": q.id,
        "language": language,
        "n": int(len(data)),
        "dimension_labels": _dim_labels(q, language),
        "segments": segment_options(q, data, language),
        "errors": {m: r for m, r in results.items() if isinstance(r, str)},
    }
    if sq_ok:
        sources = gap_sources or GapSources(customer=(q, data))
        levels = customer_levels(q, data, result=sq)
        report["five_gaps"] = five_gaps(sources, segment=segment, language=language)
        report["servqual"] = servqual_view(q, data, result=sq, language=language, levels=levels)
    drv = results.get("drivers")
    csi = results.get("csi")
    report["importance_performance"] = importance_performance_view(
        q,
        drivers=drv if drv is not None and not isinstance(drv, str) else None,
        csi=csi if csi is not None and not isinstance(csi, str) else None,
        language=language,
    )
    if "wave" in data.columns and sq_ok:
        report["waves"] = waves_view(q, data, segment=wave_segment, language=language, result=sq)
    report["methods"] = methods_view(q, data, results, language=language, excluded=excluded)
    report["data_quality"] = data_quality(
        q, data, results=results, min_seconds=min_seconds, flags=flags, language=language
    )
    return report
