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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

import questionnaires as qn
from scoring import instrument
from scoring._results import jsonable
from scoring.errors import InsufficientDataError, NoDimensionScoresError, ScoringError
from scoring.inference import (
    MeanDifference,
    MeanInterval,
    kendall_w,
    mean_interval,
    welch_test_from_stats,
)
from scoring.instrument import (
    dimension_columns,
    gap_cause_scales,
    servqual_kwargs,
)
from scoring.screening import screen_responses
from scoring.servqual import ServqualResult, servqual

if TYPE_CHECKING:
    from scoring._results import MethodResult

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


def _interval_entry(st: MeanInterval) -> dict[str, float]:
    """The report's fields of a mean with its interval (``n, mean, sd, ci_low, ci_high``)."""
    return {"n": st.n, "mean": st.mean, "sd": st.sd, "ci_low": st.ci_low, "ci_high": st.ci_high}


def _change_entry(d: MeanDifference) -> dict[str, Any]:
    """The report's fields of a difference of means (``diff, ci_low, ci_high, t, p``)."""
    return {"diff": d.estimate, "ci_low": d.ci_low, "ci_high": d.ci_high, "t": d.t, "p": d.p}


def _welch_entry(
    a: Mapping[str, float], b: Mapping[str, float], confidence: float
) -> MeanDifference:
    """:func:`scoring.inference.welch_test_from_stats` of two :func:`_interval_entry` dicts."""
    return welch_test_from_stats(
        n_a=int(a["n"]),
        mean_a=a["mean"],
        sd_a=a["sd"],
        n_b=int(b["n"]),
        mean_b=b["mean"],
        sd_b=b["sd"],
        confidence=confidence,
    )


# TODO(numbers-gaps): _describe, _describe_columns and _welch are thin wrappers over
# scoring.inference kept for the five-gap functions; delete them once those call scoring.
def _describe(x: np.ndarray, confidence: float) -> dict[str, float]:
    """n, mean, sd and t interval of the non-missing entries of ``x``."""
    return _interval_entry(mean_interval(x, confidence=confidence))


def _describe_columns(mat: np.ndarray, confidence: float) -> list[dict[str, float]]:
    """:func:`_describe` of every column of ``mat``."""
    return [_describe(mat[:, j], confidence) for j in range(mat.shape[1])]


def _welch(a: Mapping[str, float], b: Mapping[str, float], confidence: float) -> dict[str, Any]:
    """Difference a - b of two independent means: Welch interval and test."""
    return _change_entry(_welch_entry(a, b, confidence))


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


def _filter(frame: pd.DataFrame, segment: tuple[str, str] | None) -> pd.DataFrame:
    if segment is None or segment[0] not in frame.columns:
        return frame
    col, value = segment
    return frame.loc[_Levels(frame[col]).mask(value)]


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
    staff and audit data exist (``"audit"`` by default: an observer's rating).
    """

    customer: tuple[qn.Questionnaire, pd.DataFrame]
    manager: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    staff: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    audit: tuple[qn.Questionnaire, pd.DataFrame] | None = None
    delivered: str = "audit"
    extra: dict[str, Any] = field(default_factory=dict)

    def source_of(self, level: str) -> str | None:
        """The audience whose frame gives ``level`` (or None when no frame has it)."""
        audiences = LEVELS[level][2]
        if level in ("D", "C"):
            order = ("audit", "staff") if self.delivered == "audit" else ("staff", "audit")
            audiences = order
        for aud in audiences:
            src = getattr(self, aud)
            if src is not None and any(c.endswith(LEVELS[level][0]) for c in src[1].columns):
                return aud
        return None


def _role_stats(
    frame: pd.DataFrame, items: Mapping[str, list[str]], suffix: str, confidence: float
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, float]]]:
    """Per item and per dimension statistics of one role (pairwise: answered items only).

    A respondent's dimension level is the mean of the items they answered in it; the
    dimension statistics describe those respondent means.
    """
    per_item: dict[str, dict[str, float]] = {}
    per_dim: dict[str, dict[str, float]] = {}
    for dim, ids in items.items():
        cols = [i for i in ids if f"{i}{suffix}" in frame.columns]
        if not cols:
            continue
        mat = np.column_stack([_num(frame, f"{i}{suffix}") for i in cols])
        per_item |= dict(zip(cols, _describe_columns(mat, confidence), strict=True))
        answered = np.isfinite(mat).sum(axis=1)
        sums = np.where(np.isfinite(mat), mat, 0.0).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            row = np.where(answered > 0, sums / np.maximum(answered, 1), np.nan)
        per_dim[dim] = _describe(row, confidence)
    return per_item, per_dim


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
    is the mean of the items they answered in that role). Shared by the five gaps and the
    SERVQUAL view.
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


def _stats_of(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    table = frame.astype("float64").to_dict(orient="index")
    return {str(k): {str(c): float(v) for c, v in row.items()} for k, row in table.items()}


def _cause_scales(
    q: qn.Questionnaire, frame: pd.DataFrame, confidence: float, language: str
) -> dict[str, list[dict[str, Any]]]:
    # Cronbach's alpha from the item covariance matrix, as scoring.reliability computes it
    from scoring.reliability import alpha_from_covariance

    out: dict[str, list[dict[str, Any]]] = {}
    scales = gap_cause_scales(q)
    used = list(dict.fromkeys(c for s in scales.values() for cs in s.values() for c in cs))
    item_of = {c: i for i in q.iter_items(type="rating") for c in i.columns()}
    values = {}
    for c in used:
        if c not in frame.columns:
            continue
        values[c] = x = _num(frame, c)
        item = item_of.get(c)
        if item is not None and item.reverse and item.scale is not None:
            # reverse-coded: min + max - x, as scoring.instrument.recode_reversed (which
            # copies the frame and works through pandas column by column: 10x slower)
            values[c] = item.scale.min + item.scale.max - x
    # Every scale's alpha from one pairwise covariance matrix of all cause items: each
    # entry uses the rows that answered both items, so a scale's block equals what
    # scoring.reliability.cronbach_alpha(missing="pairwise") computes for that scale
    # alone (a NaN entry -- two items never answered together -- gives a NaN alpha where
    # it raises; so does a total score without variance).
    cov = pd.DataFrame(values, copy=False).cov().to_numpy()
    at = {c: j for j, c in enumerate(values)}
    for gap, by_scale in scales.items():
        for scale_id, cols in by_scale.items():
            cols = [c for c in cols if c in values]
            if not cols:
                continue
            mat = np.column_stack([values[c] for c in cols])
            answered = np.isfinite(mat).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                row = np.where(
                    answered > 0, np.nansum(mat, axis=1) / np.maximum(answered, 1), np.nan
                )
            st = _describe(row, confidence)
            alpha = math.nan
            if len(cols) > 1 and st["n"] > 2:
                block = [at[c] for c in cols]
                alpha = alpha_from_covariance(cov[np.ix_(block, block)])
            dim = q.dimension(scale_id)
            out.setdefault(gap, []).append(
                {
                    "scale": scale_id,
                    "label": dim.label.get(language),
                    "description": _t(dim.description, language),
                    "items": cols,
                    "alpha": alpha,
                    **st,
                }
            )
    return out


def _paired_gap(
    q: qn.Questionnaire,
    frame: pd.DataFrame,
    dims: Mapping[str, list[str]],
    hi: str,
    lo: str,
    confidence: float,
) -> dict[str, Any] | None:
    """SERVQUAL-style paired gap ``hi - lo`` of two roles of one frame (scoring.servqual)."""
    from scoring.servqual import ROLE_SUFFIXES, servqual

    pair = {"perception": LEVELS[hi][0], "expectation": LEVELS[lo][0]}
    suffixes = {**ROLE_SUFFIXES, **pair}

    def paired(i: str) -> bool:
        cols = [f"{i}{s}" for s in pair.values()]
        if not all(c in frame.columns for c in cols):
            return False
        a, b = (_num(frame, c) for c in cols)
        return int(np.count_nonzero(~np.isnan(a) & ~np.isnan(b))) >= 2

    # items without two answered pairs (a small segment) get the Welch comparison instead
    dims = {d: [i for i in ids if paired(i)] for d, ids in dims.items()}
    dims = {d: ids for d, ids in dims.items() if ids}
    if not dims or len(frame) < 2:
        return None
    try:
        res = servqual(
            frame,
            dimensions=dims,
            scale=_scale(q),
            suffixes=suffixes,
            model="servqual",
            confidence=confidence,
        )
    except InsufficientDataError:
        return None
    return {
        "dimensions": res.dimensions.set_index("dimension"),
        "items": res.items.set_index("item"),
    }


def _scale_for(q: qn.Questionnaire, columns: Sequence[str]) -> tuple[int, int]:
    """The one rating scale of ``columns`` (the first column's scale)."""
    item_of = {c: i for i in q.items for c in i.columns()}
    scale = item_of[columns[0]].scale if columns else None
    return (scale.min, scale.max) if scale is not None else (1, 7)


def _scale(q: qn.Questionnaire) -> tuple[int, int]:
    for item in q.iter_items(type="rating"):
        if item.roles and item.scale is not None:
            return (item.scale.min, item.scale.max)
    return (1, 7)


def five_gaps(
    sources: GapSources,
    *,
    segment: tuple[str, str] | None = None,
    language: str = "en",
    confidence: float = 0.95,
    servqual_result: Any = None,
    levels: Mapping[str, Mapping[str, pd.DataFrame]] | None = None,
) -> dict[str, Any]:
    """The five-gap dashboard's data.

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
    servqual_result
        The customer frame's :func:`scoring.servqual.servqual` result (computed when
        None); its dimension gaps are the "customer gap" shown beside each waterfall.
    levels
        :func:`customer_levels` of the customer frame (computed when None or filtered,
        from the roles table of ``servqual_result``).

    Returns
    -------
    dict
        ``dimensions`` (one entry per service dimension: ``levels`` E, M, S, D, C, P with
        n and interval, ``gaps`` with interval and test, ``waterfall`` steps, the
        customer gap and ``exact`` -- whether the four gaps sum to P - E), ``items``
        (the same per item, for the drill-down), ``contributors`` (gap x dimension
        ranked by how much they pull P below E), ``causes`` (gap -> cause scales),
        ``missing`` (gaps that cannot be shown and what data would complete them),
        ``sources`` (audience -> n), ``segment`` and ``unfiltered``.

    Notes
    -----
    Levels are means of respondents' dimension means (items they answered), per
    audience. The four waterfall gaps telescope, so
    ``P - E = (M - E) + (S - M) + (D - S) + (P - D)`` holds exactly for the level means
    (Parasuraman, Zeithaml & Berry, 1985, *Journal of Marketing* 49(4)). Gaps within one
    audience (S - M, D - C) are paired (:func:`scoring.servqual.servqual` on the two
    roles); gaps across audiences (M - E, D - S, P - D) compare independent samples
    with Welch's interval and test.
    """
    from scoring.servqual import servqual

    q_c, customer = sources.customer
    frames: dict[str, pd.DataFrame] = {}
    unfiltered: list[str] = []
    for aud in ("customer", "manager", "staff", "audit"):
        src = getattr(sources, aud)
        if src is None:
            continue
        f = src[1]
        if segment is not None and segment[0] not in f.columns:
            unfiltered.append(aud)
        frames[aud] = _filter(f, segment)
    if len(frames["customer"]) < 2:
        msg = (
            f"segment {segment[0]} = {segment[1]!r} has {len(frames['customer'])} customer "
            "response(s); the five-gap breakdown needs at least 2: choose another level."
            if segment is not None
            else "the customer survey has fewer than 2 responses; the five gaps need more."
        )
        raise ValueError(msg)
    dims_items = servqual_kwargs(q_c)["dimensions"]
    labels = _dim_labels(q_c, language)
    texts = _item_texts(q_c, language)

    level_item: dict[str, dict[str, dict[str, float]]] = {}
    level_dim: dict[str, dict[str, dict[str, float]]] = {}
    level_source: dict[str, str | None] = {}
    # the customer frame's SERVQUAL run: the customer gap beside each waterfall, and
    # (its roles table) the E and P levels
    if servqual_result is None or segment is not None:
        servqual_result = servqual(
            frames["customer"], **servqual_kwargs(q_c), confidence=confidence
        )
        levels = None
    if levels is None:
        levels = customer_levels(q_c, frames["customer"], confidence, result=servqual_result)
    for level, (suffix, _label, _aud) in LEVELS.items():
        aud_used = sources.source_of(level)
        level_source[level] = aud_used
        if aud_used is None:
            continue
        if aud_used == "customer" and level in levels:
            level_item[level] = _stats_of(levels[level]["items"])
            level_dim[level] = _stats_of(levels[level]["dimensions"])
            continue
        level_item[level], level_dim[level] = _role_stats(
            frames[aud_used], dims_items, suffix, confidence
        )

    # paired gaps inside one audience (scoring.servqual on the two roles)
    customer_paired: dict[str, pd.DataFrame] = {
        "dimensions": servqual_result.dimensions.set_index("dimension"),
        "items": servqual_result.items.set_index("item"),
    }
    paired: dict[str, dict[str, Any] | None] = {}
    for gap in ("procedure", "promotion"):
        hi, lo = GAPS[gap][0], GAPS[gap][1]
        pair_aud = level_source.get(hi)
        if pair_aud is not None and level_source.get(lo) == pair_aud:
            q_aud = getattr(sources, pair_aud)[0]
            paired[gap] = _paired_gap(q_aud, frames[pair_aud], dims_items, hi, lo, confidence)
        else:
            paired[gap] = None

    def gap_entry(
        gap: str, key: str, lv_stats: dict[str, dict[str, dict[str, float]]], kind: str
    ) -> dict[str, Any] | None:
        hi, lo, label = GAPS[gap]
        if key not in lv_stats.get(hi, {}) or key not in lv_stats.get(lo, {}):
            return None
        a, b = lv_stats[hi][key], lv_stats[lo][key]
        entry: dict[str, Any] = {
            "gap": gap,
            "label": label.get(language),
            "formula": f"{hi} − {lo}",
        }
        pr = paired.get(gap)
        if pr is not None and key in pr[kind].index:
            row = pr[kind].loc[key]
            # the paired estimate is the mean of within-respondent differences
            entry |= {
                "value": a["mean"] - b["mean"],
                "paired_mean": float(row["gap"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
                "p": float(row["p_holm"]) if "p_holm" in row.index else math.nan,
                "test": "paired",
            }
        else:
            w = _welch(a, b, confidence)
            entry |= {
                "value": w["diff"],
                "ci_low": w["ci_low"],
                "ci_high": w["ci_high"],
                "p": w["p"],
                "test": "welch",
            }
        entry["mark"] = significance_mark(entry["p"])
        return entry

    def block(key: str, lv: dict[str, dict[str, dict[str, float]]], kind: str) -> dict[str, Any]:
        levels: dict[str, dict[str, Any] | None] = {
            code: (
                {**lv[code][key], "label": LEVELS[code][1].get(language)}
                if key in lv.get(code, {})
                else None
            )
            for code in LEVELS
        }
        gaps = {g: gap_entry(g, key, lv, kind) for g in GAPS}
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
            running = level_e["mean"]
            steps.append(
                {
                    "step": "E",
                    "label": level_e["label"],
                    "kind": "absolute",
                    "value": running,
                    "total": running,
                }
            )
            for g, gap_e in chain:
                running += gap_e["value"]
                steps.append(
                    {
                        "step": g,
                        "label": gap_e["label"],
                        "kind": "relative",
                        "value": gap_e["value"],
                        "total": running,
                    }
                )
        cust = customer_paired[kind]
        customer: dict[str, Any] | None = None
        if key in cust.index:
            row = cust.loc[key].to_dict()  # the index is unique: one dimension or item
            customer = {
                "value": float(row["gap"]),
                "ci_low": float(row["ci_low"]),
                "ci_high": float(row["ci_high"]),
                "n": int(row["n"]),
                "expectation": float(row["expectation"]),
                "perception": float(row["perception"]),
            }
            if kind == "items":
                customer["p"] = float(row["p_holm"])
                customer["mark"] = significance_mark(float(row["p_holm"]))
        exact = None
        if complete and level_p is not None and level_e is not None:
            total = sum(gap_e["value"] for _g, gap_e in chain)
            exact = bool(abs(total - (level_p["mean"] - level_e["mean"])) < 1e-9)
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
        entry = block(dim, level_dim, "dimensions")
        entry |= {"dimension": dim, "label": labels.get(dim, dim), "items": dims_items[dim]}
        dimensions.append(entry)
    items = []
    for dim, ids in dims_items.items():
        for i in ids:
            entry = block(i, level_item, "items")
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
    contributors.sort(key=lambda r: (r["value"], r["dimension"], r["gap"]))
    for rank, r in enumerate(contributors, 1):
        r["rank"] = rank

    causes: dict[str, list[dict[str, Any]]] = {}
    for aud in ("manager", "staff"):
        src = getattr(sources, aud)
        if src is not None:
            for gap, rows in _cause_scales(src[0], frames[aud], confidence, language).items():
                causes.setdefault(gap, []).extend(rows)

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
    return _json_dict(
        {
            "dimensions": dimensions,
            "items": items,
            "contributors": contributors,
            "causes": causes,
            "missing": missing,
            "sources": {aud: int(len(f)) for aud, f in frames.items()},
            "level_sources": level_source,
            "segment": list(segment) if segment else None,
            "unfiltered": unfiltered,
            "confidence": confidence,
            "scale": list(_scale(q_c)),
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
    # the quadrant lines at the grand means (Martilla & James, 1977), as scoring draws them
    cuts = {
        "importance": mean_interval(frame["importance"]).mean,
        "performance": mean_interval(frame["performance"]).mean,
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
                    measures[name] = _interval_entry(mean_interval(values, confidence=confidence))
            entry["measures"] = measures
            if stats_prev is not None:
                change = {}
                for k, v in measures.items():
                    if k in stats_prev:
                        test = _welch_entry(v, stats_prev[k], confidence)
                        change[k] = _change_entry(test) | {"mark": significance_mark(test.p)}
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

#: methods scored from the dimensions' own items: their cards show those items' alphas
ALPHA_METHODS = ("servqual", "index", "pca", "drivers", "fuzzy")


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
) -> dict[str, MethodResult | ScoringError]:
    """Score ``data`` by every applicable method (or ``methods``): method -> its result or
    its ``ScoringError`` (:func:`scoring.instrument.run_methods`)."""
    chosen = list(methods) if methods is not None else _applicable(q)
    return instrument.run_methods(q, data, chosen, params)


# TODO(lead): surveyapp.reports.runs.compute can call scoring.instrument.score for "index"
# like every other method (score knows it); delete this alias then.
def _run_index(q: qn.Questionnaire, data: pd.DataFrame, **params: Any) -> Any:
    return instrument.score(q, "index", data, **params)


def _ok(result: MethodResult | ScoringError | None) -> MethodResult | None:
    """A method's result, or None when it is missing or failed."""
    return None if result is None or isinstance(result, ScoringError) else result


def _dimension_scores(q: qn.Questionnaire, result: MethodResult) -> dict[str, float]:
    """Dimension id -> the method's dimension score; {} when it has none. Nodes are
    matched to dimension ids ignoring case (CSI latents ``CE`` are dimension ``ce``)."""
    try:
        scores = result.dimension_scores()
    except NoDimensionScoresError:
        return {}
    dims = {d.id.lower(): d.id for d in q.dimensions}
    return {dims.get(str(k).lower(), str(k)): float(v) for k, v in scores.dropna().items()}


def methods_view(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    results: Mapping[str, Any],
    *,
    language: str = "en",
    excluded: int = 0,
) -> dict[str, Any]:
    """Methods side by side: dimension rankings per method, Kendall's W, method cards.

    ``results`` maps a method to its result (or its ``ScoringError``) as :func:`run_methods`
    returns them. ``excluded`` is the number of rows left out before scoring
    (quarantined or filtered), shown on every card.
    """
    labels = _dim_labels(q, language)
    rel = _ok(results.get("reliability"))
    alphas: dict[str, float] = {}
    if rel is not None:
        frame = rel.summary()
        alphas = dict(zip(frame["dimension"], frame["alpha"], strict=True))
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
        if isinstance(res, ScoringError):
            card["error"] = str(res)
            cards.append(card)
            continue
        card |= {
            "n": res.n_used,
            "n_data": int(len(data)),
            "dropped": int(len(data)) - res.n_used,
            "excluded": excluded,
            "missing": getattr(res, "missing_rule", None) or getattr(res, "missing", None),
            "parameters": res.parameters,
        }
        s = _dimension_scores(q, res)
        if s:
            scores[method] = s
        card["reliability"] = [
            {"dimension": d, "label": labels.get(d, d), "alpha": a}
            for d, a in alphas.items()
            if method in ALPHA_METHODS
        ]
        cards.append(card)
    objects = sorted({o for s in scores.values() for o in s})
    # 1 = the best score of a method; ties share their average rank (shown truncated)
    ranks = {m: pd.Series(s).rank(ascending=False, method="average") for m, s in scores.items()}
    table = []
    for o in objects:
        row: dict[str, Any] = {"dimension": o, "label": labels.get(o, o)}
        for method, s in scores.items():
            if o in s:
                row[method] = {"score": s[o], "rank": int(ranks[method][o])}
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


def suspects(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    *,
    min_seconds: float | None = None,
    flags: Mapping[str, Mapping[str, Any]] | None = None,
    min_items: int = 5,
) -> pd.DataFrame:
    """Suspect responses by :func:`scoring.screening.screen_responses`, with ``q``'s columns.

    Straight-lining is screened per rating role (and over the items without roles),
    identical answers over the items rated in both expectation and perception; ``flags``
    maps ``response_id`` -> the app's stored reasons (its ``honeypot``). Start times are
    screened for reuse only when the frame carries them as timestamps (the database
    export, to the millisecond of the signed start token): whole-second times in a file
    cannot tell a replayed form from two respondents who started in the same second.
    """
    roles = (*q.roles_used, None) if q.roles_used else (None,)
    columns = {role: _rating_columns(q, data, role) for role in roles}
    pairs: list[tuple[str, str]] = []
    if {"expectation", "perception"} <= set(q.roles_used):
        pairs = [
            (col, columns["perception"][i])
            for i, col in columns["expectation"].items()
            if i in columns["perception"]
        ]
    honeypot: Any = "honeypot"
    if flags and "response_id" in data.columns:
        marked = [rid for rid, f in flags.items() if f.get("honeypot")]
        honeypot = data["response_id"].astype(str).isin(marked).to_numpy(bool)
    timed = "started_at" in data.columns and pd.api.types.is_datetime64_any_dtype(
        data["started_at"]
    )
    return screen_responses(
        data,
        ratings={str(role): list(cols.values()) for role, cols in columns.items()},
        pairs=pairs,
        min_seconds=min_seconds,
        min_items=min_items,
        start_token="started_at" if timed else None,
        honeypot=honeypot,
    )


def _headline(
    q: qn.Questionnaire, data: pd.DataFrame, results: Mapping[str, Any]
) -> dict[str, Any]:
    out: dict[str, Any] = {"n": int(len(data))}
    sq = _ok(results.get("servqual"))
    if isinstance(sq, ServqualResult):
        means = sq.overall.set_index("measure")["mean"]
        for m in ("servqual", "servqual_weighted", "servperf"):
            if m in means.index:
                out[m] = float(means[m])
        out["dimensions"] = dict(zip(sq.dimensions["dimension"], sq.dimensions["gap"], strict=True))
    idx = _satisfaction_index(q, data)
    if idx is not None:
        st = mean_interval(idx)
        if st.n:
            out["index"] = st.mean
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
    flagged = suspects(q, data, min_seconds=min_seconds, flags=flags)
    any_suspect = flagged["suspect"].to_numpy(bool)
    reasons = {
        "too_fast": T("作答过快", "Too fast"),
        "straight_lining": T("所有题目同一答案", "Straight-lining"),
        "identical_ep": T("期望与感知完全相同", "Identical E and P"),
        "reused_token": T("重复使用的开始令牌", "Reused start token"),
        "honeypot": T("触发蜜罐字段", "Honeypot filled"),
        "flagged": T("系统标记的其他可疑", "Other app flags"),
    }
    counts = [
        {"reason": r, "label": label.get(language), "n": int(flagged[r].sum())}
        for r, label in reasons.items()
    ]
    results = results or {}
    with_all = _headline(q, data, results)
    n_clean = int(len(data) - np.count_nonzero(any_suspect))
    without: dict[str, Any] = {"n": n_clean}
    sq = _ok(results.get("servqual"))
    if isinstance(sq, ServqualResult) and n_clean > 1:
        if sq.missing == "pairwise":
            # respondents' scores do not depend on the other rows: the clean rows' means
            # are what a run on the clean rows gives (see _respondent_scores)
            scores = _respondent_scores(q, data, sq, 0.95)
            clean_mean = {
                c: mean_interval(scores[c].to_numpy(dtype=float)[~any_suspect]).mean
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
            "share": int(any_suspect.sum()) / len(data) if len(data) else math.nan,
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
    title: str | None = None,
    excluded: int = 0,
) -> dict[str, Any]:
    """Every section of the report for one customer survey (each method computed once)."""
    results = run_methods(q, data)
    sq = _ok(results.get("servqual"))
    sq_ok = isinstance(sq, ServqualResult)
    report: dict[str, Any] = {
        "title": title or q.title.get(language),
        "questionnaire": q.id,
        "language": language,
        "n": int(len(data)),
        "dimension_labels": _dim_labels(q, language),
        "segments": segment_options(q, data, language),
        "errors": {m: str(r) for m, r in results.items() if isinstance(r, ScoringError)},
    }
    if sq_ok:
        sources = gap_sources or GapSources(customer=(q, data))
        levels = customer_levels(q, data, result=sq)
        report["five_gaps"] = five_gaps(
            sources, segment=segment, language=language, servqual_result=sq, levels=levels
        )
        report["servqual"] = servqual_view(q, data, result=sq, language=language, levels=levels)
    report["importance_performance"] = importance_performance_view(
        q,
        drivers=_ok(results.get("drivers")),
        csi=_ok(results.get("csi")),
        language=language,
    )
    if "wave" in data.columns and sq_ok:
        report["waves"] = waves_view(q, data, segment=wave_segment, language=language, result=sq)
    report["methods"] = methods_view(q, data, results, language=language, excluded=excluded)
    report["data_quality"] = data_quality(
        q, data, results=results, min_seconds=min_seconds, flags=flags, language=language
    )
    return report
