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
  dimension rankings, a method card per method, the reliability table
  (:func:`reliability_view`: alpha, CR, AVE, HTMT per dimension);
- :func:`csi_view` -- the CSI model's PLS assessment (reliability and HTMT per latent,
  f², VIFs, SRMR/d_ULS/d_G, PLSpredict, the ACSI complaint share);
- :func:`data_quality` -- suspect responses and the headline figures without them.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np
import pandas as pd

import questionnaires as qn
from scoring import instrument
from scoring._results import jsonable
from scoring._validation import SMALL_SAMPLE_N
from scoring.errors import (
    ConvergenceWarning,
    NoDimensionScoresError,
    ScoringError,
    SmallSampleWarning,
)
from scoring.gaps import service_gaps
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
    gaps_inputs,
    servqual_kwargs,
)
from scoring.screening import screen_responses
from scoring.servqual import ServqualResult, servqual
from scoring.text import TextSummary, read_texts, readings_summary

if TYPE_CHECKING:
    from scoring._results import MethodResult

__all__ = [
    "GAPS",
    "LEVELS",
    "SECTIONS",
    "GapSources",
    "action_rows",
    "comments_view",
    "csi_params",
    "csi_view",
    "data_quality",
    "five_gaps",
    "full_report",
    "importance_performance_view",
    "kendall_w",
    "overview",
    "methods_view",
    "parse_segment",
    "reliability_view",
    "responses_needed",
    "run_methods",
    "servqual_view",
    "significance_mark",
    "suspects",
    "unavailable",
    "waves_view",
]

T = qn.Text

#: role of the five-gap model -> (its label, the audiences that give it)
_LEVEL_LABELS: dict[str, tuple[qn.Text, tuple[str, ...]]] = {
    "expectation": (T("顾客期望", "Customer expectation"), ("customer",)),
    "manager_estimate": (
        T("管理者对顾客期望的认知", "Managers' view of expectations"),
        ("manager",),
    ),
    "standard": (T("服务质量标准", "Service-quality standard"), ("manager",)),
    "delivered": (T("实际提供的服务", "Service delivered"), ("audit", "staff")),
    "promised": (T("对顾客的承诺", "Promised to customers"), ("audit", "staff")),
    "perception": (T("顾客感知", "Customer perception"), ("customer",)),
}
GAP_LABELS: dict[str, qn.Text] = {
    "understanding": T("理解差距", "Understanding gap"),
    "procedure": T("程序差距", "Procedure gap"),
    "behaviour": T("行为差距", "Behaviour gap"),
    "perception": T("感受差距", "Perception gap"),
    "promotion": T("促销差距", "Promotion gap"),
}
WATERFALL = ("understanding", "procedure", "behaviour", "perception")


def _code(role: str) -> str:
    return qn.ROLE_CODES[role].upper()


#: The levels of the five-gap model: code (E, M, S, D, C, P) -> (column suffix, label,
#: audiences that give it), from the questionnaire format's vocabulary.
LEVELS: dict[str, tuple[str, qn.Text, tuple[str, ...]]] = {
    _code(role): (qn.ROLE_SUFFIXES[role], label, audiences)
    for role, (label, audiences) in _LEVEL_LABELS.items()
}
#: gap -> (minuend level, subtrahend level, label). Waterfall order first, then promotion.
GAPS: dict[str, tuple[str, str, qn.Text]] = {
    gap: (_code(qn.GAP_ROLES[gap][0]), _code(qn.GAP_ROLES[gap][1]), GAP_LABELS[gap])
    for gap in (*WATERFALL, "promotion")
}
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


#: audience -> its name as a heading or badge ("Customers: n = 240")
AUDIENCE_NAME = {
    "customer": T("顾客", "Customers"),
    "manager": T("管理者", "Managers"),
    "staff": T("一线员工", "Contact staff"),
    "audit": T("服务审核", "Service audit"),
}
#: gap -> the team that owns closing it (Zeithaml, Berry & Parasuraman, 1988: the
#: organisational causes of each gap); the report's default, named on "what to fix first"
OWNERS = {
    "understanding": T("管理层与市场调研", "Management and market research"),
    "procedure": T("服务设计", "Service design"),
    "behaviour": T("运营与一线员工", "Operations and staff"),
    "perception": T("市场与沟通", "Marketing and communication"),
    "promotion": T("市场与沟通", "Marketing and communication"),
}
#: missing-data rule -> what it does, in words; an item not applicable to a respondent
#: (hidden by its display condition) is never missing (docs/scoring.md)
MISSING_RULES = {
    "pairwise": T(
        "成对删除：每个统计量使用回答了其所需题目的受访者；按条件未显示（不适用）的题目不算缺失",
        "pairwise deletion: each figure uses the respondents who answered its items; an "
        "item not shown by its condition (not applicable) is not missing",
    ),
    "listwise": T(
        "列表删除：只使用回答了全部相关题目的受访者；按条件未显示（不适用）的题目不算缺失",
        "listwise deletion: only respondents who answered every item used are counted; an "
        "item not shown by its condition (not applicable) is not missing",
    ),
    "item_mean": T(
        "题项均值插补：缺失的答案以该题的均值代替；按条件未显示（不适用）的答案从不插补",
        "item-mean imputation: a missing answer is replaced by its item's mean; an answer "
        "not applicable (not shown by its condition) is never imputed",
    ),
    "answered": T(
        "只用已回答的题目：每位受访者按其回答的题目计算",
        "answered items: each respondent is scored on the items they answered",
    ),
}
#: the missing rule of a method whose result does not name it: scoring's default
DEFAULT_MISSING = {"drivers": "listwise", "csi": "listwise"}
#: method parameter -> its name in words
PARAMETER_LABELS = {
    "model": T("模型", "model"),
    "confidence": T("置信水平", "confidence level"),
    "scale": T("量表", "scale"),
    "reverse": T("反向计分题", "reverse-scored items"),
    "missing": T("缺失数据", "missing data"),
    "retain": T("保留主成分的规则", "components kept by"),
    "n_components": T("主成分个数", "number of components"),
    "score_convention": T("得分方向", "score direction"),
    "negative_weights": T("负权重", "negative weights"),
    "cov_type": T("标准误", "standard errors"),
    "outcome": T("结果变量", "outcome"),
    "target": T("目标潜变量", "target latent"),
    "operator": T("合成算子", "composition operator"),
    "normalised": T("归一化", "normalised"),
    "loadings_source": T("载荷来源", "loadings from"),
    "thresholds": T("判定阈值", "thresholds"),
}
#: parameter values that are names of a rule -> the rule in words
VALUE_LABELS = {
    "kaiser": T("Kaiser 准则（特征值 > 1）", "Kaiser criterion (eigenvalue > 1)"),
    "eigenvector": T("按特征向量", "eigenvector signs"),
    "refuse": T("不允许", "refused"),
    "HC3": T("HC3 稳健标准误", "HC3 robust"),
    "weighted_average": T("加权平均 M(·, ⊕)", "weighted average M(·, ⊕)"),
    "one_factor_minres": T("单因子模型（最小残差法）", "one-factor model (minres)"),
    "servqual": T("SERVQUAL（P − E）", "SERVQUAL (P − E)"),
    "servperf": T("SERVPERF（只用 P）", "SERVPERF (P only)"),
    True: T("是", "yes"),
    False: T("否", "no"),
}
#: Cronbach's alpha below which a scale's figures are flagged (Nunnally, 1978; the
#: default of :func:`scoring.reliability.reliability`)
ALPHA_MIN = 0.7


def _unreliable(n: Any, alpha: Any) -> bool:
    """Whether a scale's mean should carry a warning: fewer than
    :data:`scoring._validation.SMALL_SAMPLE_N` respondents or alpha below ALPHA_MIN."""
    small = n is None or float(n) < SMALL_SAMPLE_N
    low = alpha is None or not math.isfinite(float(alpha)) or float(alpha) < ALPHA_MIN
    return small or low


def describe_missing(rule: str | None, language: str) -> str:
    """A missing-data rule in words (``"pairwise: ..."`` sentences by their first word)."""
    if not rule:
        return "—"
    key = rule.split(":", 1)[0].strip()
    text = MISSING_RULES.get(key)
    return text.get(language) if text is not None else rule


def _value_text(q: qn.Questionnaire, key: str, value: Any, language: str) -> str:
    if isinstance(value, bool) or (isinstance(value, str) and value in VALUE_LABELS):
        return VALUE_LABELS[value].get(language)
    if key == "confidence" and isinstance(value, float):
        return f"{value * 100:g} %"
    if key == "missing":
        return describe_missing(str(value), language)
    if key == "scale" and isinstance(value, list | tuple) and len(value) == 2:
        return f"{value[0]:g}–{value[1]:g}"
    if key == "outcome" and isinstance(value, str):
        found = next((i for i in q.items if i.id == value), None)
        return found.text.get(language) if found is not None else value
    if isinstance(value, Mapping):
        return "; ".join(f"{k} ≥ {v:g}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value)) if value else T("无", "none").get(language)
    return str(value)


def describe_parameters(
    q: qn.Questionnaire, params: Mapping[str, Any], language: str
) -> list[dict[str, str]]:
    """A method's parameters as ``{"label", "value"}`` pairs in words (the card's
    settings; the raw names stay in ``parameters``)."""
    return [
        {
            "name": k,
            "label": _t(PARAMETER_LABELS.get(k), language, k),
            "value": _value_text(q, k, v, language),
        }
        for k, v in params.items()
    ]


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
                "unreliable": _unreliable(r["n"], r["alpha"]),
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
            "sources": {_AUDIENCE[r["source"]]: int(r["n"]) for r in used},
            "audience_names": {a: t.get(language) for a, t in AUDIENCE_NAME.items()},
            "level_sources": level_source,
            "segment": list(res.segment) if res.segment else None,
            "unfiltered": [
                _AUDIENCE[r["source"]] for r in used if segment is not None and not r["segmented"]
            ],
            "confidence": res.confidence,
            "missing_rule": res.missing,
            "delivered": res.delivered,
            "scale": list(kwargs["scale"]),
            "gap_labels": {g: t.get(language) for g, t in GAP_LABELS.items()},
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
            "missing_rule": describe_missing(result.missing_rule, language),
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
    total effects on satisfaction (``convention``: the result's ``ipma``, by default
    SmartPLS's unstandardized total effects on the 0-100 latent scores); performance
    the 0-100 mean of each driver
    (:func:`scoring.drivers.importance_performance`). Returns None when neither result
    is given.
    """
    convention = None
    if drivers is not None:
        ipa, source = drivers.importance_performance, "drivers"
        labels = _dim_labels(q, language)
    elif csi is not None:
        ipa, source, convention = csi.importance_performance, "csi", csi.ipma
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
    return _json_dict({"source": source, "convention": convention, "rows": rows, "cuts": cuts})


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


def _ok(result: MethodResult | ScoringError | None) -> MethodResult | None:
    """A method's result, or None when it is missing or failed."""
    return None if result is None or isinstance(result, ScoringError) else result


def _result_or_raise(result: MethodResult | ScoringError) -> MethodResult:
    """A method's result; its ``ScoringError`` raised (the section then says why)."""
    if isinstance(result, ScoringError):
        raise result
    return result


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
    suspects_left_out: int = 0,
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
        weak = {str(d) for d, w in zip(frame["dimension"], frame["weak_alpha"], strict=True) if w}
    else:
        weak = set()
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
            card["needs"] = _needed(res, 0) or None
            cards.append(card)
            continue
        # rows a method needing complete rows left out because an item did not apply to
        # them (not missing: scoring counts them apart)
        not_applicable = int(getattr(res, "n_not_applicable", 0) or 0)
        card |= {
            "n": res.n_used,
            "n_data": int(len(data)),
            "dropped": max(int(len(data)) - res.n_used - not_applicable, 0),
            "not_applicable": not_applicable,
            "excluded": excluded,
            "suspects_left_out": suspects_left_out,
            "missing": describe_missing(
                getattr(res, "missing_rule", None)
                or getattr(res, "missing", None)
                or DEFAULT_MISSING.get(method),
                language,
            ),
            "parameters": res.parameters,
            "settings": describe_parameters(q, res.parameters, language),
        }
        s = _dimension_scores(q, res)
        if s:
            scores[method] = s
        card["reliability"] = [
            {"dimension": d, "label": labels.get(d, d), "alpha": a, "weak": d in weak}
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
            "reliability": reliability_view(q, rel, language=language) if rel else None,
            "table": table,
            "kendall": kendall_w({m: {o: -v for o, v in s.items()} for m, s in agree.items()}),
            "cards": cards,
        }
    )


# ------------------------------------------------------------------------------ reliability

#: thresholds of the reliability and validity tables (the pages' footnote cites them):
#: composite reliability (Nunnally, 1978, as alpha), AVE (Fornell & Larcker, 1981), HTMT
#: (Henseler, Ringle & Sarstedt, 2015: 0.85 strict, 0.90 for conceptually close
#: constructs) and VIF (Hair et al., 2019: above 5 the predictors are collinear)
CR_MIN = 0.7
AVE_MIN = 0.5
HTMT_STRICT = 0.85
HTMT_LIBERAL = 0.90
VIF_MAX = 5.0


def _finite(value: Any) -> bool:
    return value is not None and math.isfinite(float(value))


def _reliability_flags(alpha: Any, cr: Any, ave: Any, htmt_max: Any) -> list[str]:
    """The thresholds a block misses: ``alpha``, ``cr``, ``ave``, ``htmt90`` or ``htmt85``."""
    flags = []
    if _finite(alpha) and float(alpha) < ALPHA_MIN:
        flags.append("alpha")
    if _finite(cr) and float(cr) < CR_MIN:
        flags.append("cr")
    if _finite(ave) and float(ave) < AVE_MIN:
        flags.append("ave")
    if _finite(htmt_max) and float(htmt_max) > HTMT_LIBERAL:
        flags.append("htmt90")
    elif _finite(htmt_max) and float(htmt_max) > HTMT_STRICT:
        flags.append("htmt85")
    return flags


def _htmt_matrix(htmt: pd.DataFrame, labels: Mapping[str, str]) -> dict[str, Any]:
    """The lower triangle of an HTMT table, labelled, with each ratio's flag."""
    names = [str(c) for c in htmt.columns]
    rows = []
    for i, a in enumerate(names):
        cells = []
        for b in names[:i]:
            ratio = float(htmt.to_numpy(dtype=float)[names.index(a), names.index(b)])
            value = ratio if math.isfinite(ratio) else None
            flag = None
            if value is not None and value > HTMT_LIBERAL:
                flag = "htmt90"
            elif value is not None and value > HTMT_STRICT:
                flag = "htmt85"
            cells.append({"value": value, "flag": flag})
        rows.append({"key": a, "label": labels.get(a, a), "cells": cells})
    return {"columns": [labels.get(n, n) for n in names[:-1]], "rows": rows[1:]}


def _htmt_max(htmt: pd.DataFrame, key: str) -> float | None:
    """The largest HTMT of ``key`` with another block (None when it has none)."""
    values = htmt.loc[key].drop(key).dropna().to_numpy(dtype=float)
    return float(values.max()) if values.size else None


def reliability_view(q: qn.Questionnaire, result: Any, *, language: str = "en") -> dict[str, Any]:
    """Reliability and discriminant validity per dimension, from the report's run of
    :func:`scoring.reliability.reliability`: alpha, composite reliability, AVE, the
    largest HTMT with another dimension, the HTMT table and the thresholds each
    dimension misses (:func:`_reliability_flags`)."""
    labels = _dim_labels(q, language)
    htmt = result.htmt
    rows = []
    for r in _records(result.dimensions):
        dim = str(r["dimension"])
        top = _htmt_max(htmt, dim) if htmt is not None else None
        rows.append(
            {
                "key": dim,
                "label": labels.get(dim, dim),
                "k": r["k"],
                "n": r["n"],
                "alpha": r["alpha"],
                "cr": r["composite_reliability"],
                "ave": r["ave"],
                "htmt_max": top,
                "flags": _reliability_flags(r["alpha"], r["composite_reliability"], r["ave"], top),
            }
        )
    return _json_dict(
        {
            "rows": rows,
            "htmt": _htmt_matrix(htmt, labels) if htmt is not None else None,
            "small": any(r["n"] is not None and r["n"] < SMALL_SAMPLE_N for r in rows),
            "minimum": SMALL_SAMPLE_N,
        }
    )


# ------------------------------------------------------------------------------ CSI model

#: the data column whose 0/1 answers to "have you complained?" give the ACSI complaint
#: share (:func:`scoring.csi.complaint_share`) when a survey's data hold it
COMPLAINTS_COLUMN = "complained"
#: PLSpredict of the report: 10 folds, one repetition, fixed seed (reproducible; about
#: ten refits of the model, milliseconds on a survey's rows)
PREDICT_FOLDS = 10
PREDICT_SEED = 1


def csi_params(data: pd.DataFrame) -> dict[str, Any]:
    """The report's options of :func:`scoring.csi.fit_csi`: PLSpredict
    (:data:`PREDICT_FOLDS`, :data:`PREDICT_SEED`) and, when ``data`` has the
    :data:`COMPLAINTS_COLUMN`, the complaint share."""
    params: dict[str, Any] = {"predict_folds": PREDICT_FOLDS, "seed": PREDICT_SEED}
    if COMPLAINTS_COLUMN in data.columns and data[COMPLAINTS_COLUMN].notna().any():
        params["complaints"] = COMPLAINTS_COLUMN
    return params


def _matrix(table: pd.DataFrame, paths: pd.DataFrame, labels: Mapping[str, str]) -> dict[str, Any]:
    """A predictor x dependent table of the structural model (f², inner VIF): the
    predictors as rows, the dependents as columns, None where there is no path."""
    predictors = list(dict.fromkeys(map(str, paths["from"])))
    tos = list(dict.fromkeys(map(str, paths["to"])))
    pairs = set(zip(map(str, paths["from"]), map(str, paths["to"]), strict=True))
    rows = [
        {
            "key": a,
            "label": labels.get(a, a),
            "cells": [table.at[a, b] if (a, b) in pairs else None for b in tos],
        }
        for a in predictors
    ]
    return {"columns": [labels.get(b, b) for b in tos], "rows": rows}


def csi_view(q: qn.Questionnaire, result: Any, *, language: str = "en") -> dict[str, Any]:
    """The CSI model's assessment, arranged from one :class:`scoring.csi.CsiResult`.

    ``reliability`` (per block: mode, alpha, rho_A, composite reliability, AVE, R², its
    largest HTMT and the thresholds it misses) and ``htmt``; ``paths`` (estimate, f²,
    VIF, OLS p); ``f_squared`` and ``inner_vif`` (predictor x dependent); ``item_vif``;
    ``model_fit`` (SRMR, d_ULS, d_G of the saturated and the estimated model);
    ``prediction`` (PLSpredict per item against the linear benchmark, or None);
    ``complaints`` (the ACSI complaint share, or None) and ``ipma`` (the importance
    convention of the map). Every number is a field of ``result`` (what
    ``manyi score csi`` prints); bootstrap p-values and intervals come from a stored
    run with a bootstrap (the run page), never from a page view.
    """
    spec = q.scoring.csi
    labels = {k: v.get(language) for k, v in spec.labels.items()} if spec else {}
    texts = _item_texts(q, language)
    pls = result.pls
    rel = pls.reliability_validity()
    reliability = []
    for key, r in zip(rel.index, _records(rel), strict=True):
        top = _htmt_max(pls.htmt, str(key))
        k = len(pls.blocks[key])
        reliability.append(
            {
                "key": str(key),
                "label": labels.get(str(key), str(key)),
                "k": k,
                "mode": r["mode"],
                "alpha": r["cronbach_alpha"],
                "rho_a": r["rho_a"],
                "cr": r["rho_c"],
                "ave": r["ave"],
                # an exogenous latent has no R² (scoring's 0 means "not explained")
                "r_squared": r["r_squared"] if key in set(pls.paths["to"]) else None,
                "htmt_max": top,
                # a single item is its own construct: its 1.0s are definitions, not checks
                "flags": _reliability_flags(None, None, None, top)
                if k == 1
                else _reliability_flags(r["cronbach_alpha"], r["rho_c"], r["ave"], top),
            }
        )
    assess = pls.path_assessment()
    paths = [
        {
            "from": labels.get(str(r["from"]), str(r["from"])),
            "to": labels.get(str(r["to"]), str(r["to"])),
            "estimate": r["estimate"],
            "f_squared": r["f_squared"],
            "vif": r["vif"],
            "p": r["p_value"],
            "mark": significance_mark(r["p_value"]),
            "collinear": _finite(r["vif"]) and float(r["vif"]) > VIF_MAX,
        }
        for r in _records(assess)
    ]
    item_vif = [
        {
            "item": str(item),
            "text": texts.get(str(item), str(item)),
            "block": labels.get(str(r["block"]), str(r["block"])),
            "vif": r["vif"],
            "collinear": _finite(r["vif"]) and float(r["vif"]) > VIF_MAX,
        }
        for item, r in zip(pls.item_vif.index, _records(pls.item_vif), strict=True)
    ]
    fit = [
        {"statistic": str(name), "saturated": r["saturated"], "estimated": r["estimated"]}
        for name, r in zip(pls.model_fit.index, _records(pls.model_fit), strict=True)
    ]
    prediction = None
    if pls.prediction is not None:
        p = pls.prediction
        prediction = {
            "folds": p.folds,
            "repeats": p.repeats,
            "seed": p.seed,
            "items": [
                {
                    "item": str(item),
                    "text": texts.get(str(item), str(item)),
                    "block": labels.get(str(r["block"]), str(r["block"])),
                    **{k: r[k] for k in ("rmse_pls", "rmse_lm", "mae_pls", "mae_lm", "q2_predict")},
                    "pls_better": bool(r["pls_better"]),
                }
                for item, r in zip(p.items.index, _records(p.items), strict=True)
            ],
        }
    complaints = None
    if result.complaint_share is not None:
        share = result.complaint_share
        complaints = [
            {"group": str(g), **r} for g, r in zip(share.index, _records(share), strict=True)
        ]
    return _json_dict(
        {
            "n": result.n_used,
            "small": result.n_used < SMALL_SAMPLE_N,
            "minimum": SMALL_SAMPLE_N,
            "target": labels.get(result.target, result.target),
            "estimator": pls.estimator,
            "reliability": reliability,
            "htmt": _htmt_matrix(pls.htmt, labels),
            "paths": paths,
            "f_squared": _matrix(pls.f_squared, pls.paths, labels),
            "inner_vif": _matrix(pls.inner_vif, pls.paths, labels),
            "item_vif": item_vif,
            "model_fit": fit,
            "prediction": prediction,
            "complaints": complaints,
            "ipma": result.ipma,
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


def _without_suspects(
    source: tuple[qn.Questionnaire, pd.DataFrame] | None,
) -> tuple[qn.Questionnaire, pd.DataFrame] | None:
    """A linked audience's frame without its suspect responses (:func:`suspects`)."""
    if source is None or not len(source[1]):
        return source
    lq, frame = source
    flagged = suspects(lq, frame)["suspect"].to_numpy(bool)
    return lq, frame.loc[~flagged].reset_index(drop=True)


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


#: suspect responses named on the data-quality page (and in the JSON), first ones first
SUSPECTS_LISTED = 500


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
        data.loc[any_suspect, "response_id"].astype(str).tolist()[:SUSPECTS_LISTED]
        if ("response_id" in data.columns)
        else []
    )
    # each suspect named with its reasons (the list bulk quarantine acts on)
    marks = flagged.loc[any_suspect, list(reasons)].to_numpy(bool)[: len(ids)]
    named = [
        {"response_id": rid, "reasons": [r for r, on in zip(reasons, row, strict=True) if on]}
        for rid, row in zip(ids, marks, strict=True)
    ]
    return _json_dict(
        {
            "n": int(len(data)),
            "n_suspect": int(any_suspect.sum()),
            "share": int(any_suspect.sum()) / len(data) if len(data) else math.nan,
            "counts": counts,
            "with": with_all,
            "without": without,
            "examples": ids,
            "suspects": named,
            "reason_labels": {r: label.get(language) for r, label in reasons.items()},
            "min_seconds": min_seconds,
        }
    )


# ------------------------------------------------------------------------------ comments

#: comments listed per text item and wave (the first ones; the counts use all of them)
COMMENTS_LISTED = 500
#: words and phrases shown per group
TOP_TERMS = 15


def _text_block(readings: np.ndarray, top: int) -> dict[str, Any]:
    """:func:`scoring.text.readings_summary` of comments as the report's fields."""
    return _summary_fields(readings_summary(readings, top=top))


def _summary_fields(summary: TextSummary) -> dict[str, Any]:
    return {
        "n": summary.n,
        "words": _records(summary.words),
        "phrases": _records(summary.phrases),
        "sentiment": summary.sentiment,
        "sentiment_share": summary.sentiment_shares(),
    }


def comments_view(
    q: qn.Questionnaire, data: pd.DataFrame, *, language: str = "en", top: int = TOP_TERMS
) -> dict[str, Any] | None:
    """The customers' own words: per open-text item, its comments (with response id,
    wave, segment levels and sentiment), word and phrase frequencies and sentiment shares
    (:func:`scoring.text.text_summary`) overall, per segment level and per wave (``data``
    may hold every wave of a study; :data:`COMMENTS_LISTED` are listed per wave). None
    when the questionnaire has no open-text item in ``data``."""
    items = [i for i in q.iter_items(type="text") if i.id in data.columns]
    if not items:
        return None
    labels = _dim_labels(q, language)
    segs = [i for i in q.segments if i.id in data.columns]
    seg_names = {i.id: {c.code: c.label.get(language) for c in i.choices} for i in segs}
    out = []
    for item in items:
        texts = data[item.id].astype("string")
        has = texts.str.strip().fillna("").ne("").to_numpy(bool)
        rows = np.flatnonzero(has)  # only the rows with a comment are read and counted
        # segmented and read once (jieba is the cost; read_texts remembers the texts of
        # earlier builds), then counted per level and wave
        readings = np.empty(rows.size, dtype=object)
        readings[:] = read_texts(texts.iloc[rows])
        summary = readings_summary(readings, top=top)  # its labels follow ``rows``
        waves = data["wave"].iloc[rows] if "wave" in data.columns else pd.Series(pd.NA, rows)
        per_wave: Counter[str | None] = Counter()
        chosen = []  # (j, wave), j in rows: the first COMMENTS_LISTED of each wave
        for j, raw_wave in enumerate(waves):
            wave = None if pd.isna(raw_wave) else str(raw_wave)
            per_wave[wave] += 1
            if per_wave[wave] <= COMMENTS_LISTED:
                chosen.append((j, wave))
        at = [int(rows[j]) for j, _w in chosen]
        # whole columns of the chosen rows (a row at a time copies the wide frame)
        ids = data["response_id"].iloc[at].tolist() if "response_id" in data.columns else None
        said_text = data[item.id].iloc[at].tolist()
        seg_values = {i.id: data[i.id].iloc[at].tolist() for i in segs}
        listed = [
            {
                "response_id": str(ids[k]) if ids is not None else None,
                "text": str(said_text[k]),
                "sentiment": summary.labels[j] or "neutral",
                "wave": wave,
                "segments": {
                    i.id: seg_names[i.id].get(str(v), str(v))
                    for i in segs
                    if pd.notna(v := seg_values[i.id][k])
                },
            }
            for k, (j, wave) in enumerate(chosen)
        ]
        by_segment = []
        for seg in segs:
            col = _Levels(data[seg.id])
            levels = []
            for c in seg.choices:
                part = readings[col.mask(c.code)[rows]]
                levels.append(
                    {"code": c.code, "label": c.label.get(language), **_text_block(part, 5)}
                )
            by_segment.append({"id": seg.id, "label": seg.text.get(language), "levels": levels})
        by_wave = []
        if "wave" in data.columns:
            col = _Levels(data["wave"])
            for w in sorted(col.index):
                by_wave.append({"wave": w, **_text_block(readings[col.mask(w)[rows]], 5)})
        out.append(
            {
                "item": item.id,
                "text": item.text.get(language),
                "dimension": item.dimension,
                "dimension_label": labels.get(item.dimension) if item.dimension else None,
                **_summary_fields(summary),
                "comments": listed,
                "by_segment": by_segment,
                "by_wave": by_wave,
            }
        )
    return _json_dict({"items": out})


# ------------------------------------------------------------------------------ all of it


#: Sections of the report, in page order (the web pages, the JSON and the PDF).
SECTIONS = (
    "five_gaps",
    "servqual",
    "importance_performance",
    "waves",
    "methods",
    "data_quality",
    "comments",
    "csi",
)


def responses_needed(q: qn.Questionnaire) -> dict[str, int]:
    """Section -> the fewest customer responses it can be computed from, by scoring's
    rules: a mean with an interval needs 2 (:func:`scoring.inference.mean_interval`,
    :func:`scoring.gaps.service_gaps`), the driver model of what to fix first one more
    row than coefficients (:func:`scoring.drivers.driver_analysis`: k drivers + intercept
    + 1), a change between waves 2 per wave, the data-quality screen and the comments 1.
    A section may need
    more when scoring says so (the number in its message, see :func:`_needed`)."""
    k = len(dimension_columns(q))
    return {
        "five_gaps": 2,
        "servqual": 2,
        "importance_performance": k + 2,
        "waves": 2,
        "methods": 2,
        "data_quality": 1,
        "comments": 1,
    } | (
        # the report's 10-fold PLSpredict needs 2 rows in every fold (scoring says if
        # the model needs more)
        {"csi": 2 * PREDICT_FOLDS} if q.scoring.csi is not None else {}
    )


def _needed(exc: Exception, default: int) -> int:
    """The number of rows a scoring error says a method needs (``needs at least N``,
    :func:`scoring._validation.check_min_rows`), else ``default``."""
    found = re.search(r"needs at least (\d+)", str(exc))
    return max(int(found.group(1)), default) if found else default


def unavailable(
    report: dict[str, Any], section: str, needs: int, reason: str | None = None
) -> None:
    """Record that ``section`` cannot be shown: the responses it needs and scoring's
    reason (None when there were too few responses to try)."""
    report.setdefault("unavailable", {})[section] = {"needs": needs, "reason": reason}


def has_open_text(q: qn.Questionnaire) -> bool:
    """Whether ``q`` asks anything in the customers' own words (a comments section)."""
    return any(True for _ in q.iter_items(type="text"))


def comments_report(
    q: qn.Questionnaire, data: pd.DataFrame, *, n: int, language: str = "en"
) -> dict[str, Any]:
    """The comments section of a report whose customer survey has ``n`` scored responses,
    from ``data`` (:func:`comments_view`): ``{"unavailable": {}, "comments": ...}``, or the
    reason it is unavailable; ``{"unavailable": {}}`` for an instrument without open text.
    Part of :func:`full_report`, or built on its own where only the comments page needs it.
    """
    part: dict[str, Any] = {"unavailable": {}}
    if not has_open_text(q):
        return part
    needs = responses_needed(q)["comments"]
    if n < needs:
        unavailable(part, "comments", needs)
        return part
    try:
        view = comments_view(q, data, language=language)
    except ScoringError as exc:
        unavailable(part, "comments", _needed(exc, needs), str(exc))
        return part
    if view is None:
        unavailable(part, "comments", needs)
    else:
        part["comments"] = view
    return part


def full_report(
    q: qn.Questionnaire,
    data: pd.DataFrame,
    **kwargs: Any,
) -> dict[str, Any]:
    """Every section of the report for one customer survey (:func:`_full_report`).

    Scoring's warnings (small samples, convergence) are kept in ``scoring_warnings``
    (their English text, for the JSON) rather than printed; the pages say the same in
    the reader's language from the report's numbers (:func:`overview`).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SmallSampleWarning)
        warnings.simplefilter("always", ConvergenceWarning)
        report = _full_report(q, data, **kwargs)
    kept = (SmallSampleWarning, ConvergenceWarning)
    report["scoring_warnings"] = sorted(
        {str(w.message) for w in caught if issubclass(w.category, kept)}
    )
    for w in caught:
        if not issubclass(w.category, kept):  # not ours to keep: passed on as raised
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return report


def _full_report(
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
    exclude_suspects: bool = False,
    comments_data: pd.DataFrame | None = None,
    comments: bool = True,
    waves_data: pd.DataFrame | None = None,
    wave_order: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Every section of the report for one customer survey (each method computed once).

    ``excluded`` is the number of quarantined responses already left out of ``data``;
    with ``exclude_suspects`` the suspect responses (:func:`suspects`) are left out of
    every score too (``suspects_left_out``), while the data-quality section still
    screens and compares all of ``data``. ``comments_data``, when given, are the
    responses whose comments the report lists (every wave of the study, screened as
    ``data`` is); by default ``data``'s. Without ``comments`` the comments section is
    left to :func:`comments_report` (the pages build it only for the comments page).
    ``waves_data``, when given, are every wave of the study (screened as ``data`` is),
    compared in ``wave_order`` by the waves section; by default ``data``'s waves.

    A section that cannot be computed from these data (too few responses, or a
    :class:`~scoring.errors.ScoringError`) is left out and listed in ``unavailable``
    with the number of responses it needs (:func:`responses_needed`) and scoring's
    reason; with no response at all nothing is scored.
    """
    everything = data
    left_out = 0
    if exclude_suspects and len(data):
        keep = ~suspects(q, data, min_seconds=min_seconds, flags=flags)["suspect"].to_numpy(bool)
        left_out = int(np.count_nonzero(~keep))
        if left_out:
            data = data.loc[keep].reset_index(drop=True)
            if gap_sources is not None:
                gap_sources = replace(gap_sources, customer=(q, data))
    if exclude_suspects and gap_sources is not None:
        # the linked audiences' suspects are left out as well, as manyi score gaps does
        gap_sources = replace(
            gap_sources,
            manager=_without_suspects(gap_sources.manager),
            staff=_without_suspects(gap_sources.staff),
            audit=_without_suspects(gap_sources.audit),
        )
    n = int(len(data))
    needs = responses_needed(q)
    report: dict[str, Any] = {
        "title": title or q.title.get(language),
        "questionnaire": q.id,
        "language": language,
        "n": n,
        "n_screened": int(len(everything)),
        "excluded": excluded,
        "exclude_suspects": exclude_suspects,
        "suspects_left_out": left_out,
        "needs": needs,
        "unavailable": {},
        "dimension_labels": _dim_labels(q, language),
        "segments": segment_options(q, data, language),
        "errors": {},
    }
    if n == 0:
        for section in SECTIONS:
            if section in needs and (comments or section != "comments"):
                unavailable(report, section, needs[section])
        if len(everything):  # every response is suspect: the panel still names them
            del report["unavailable"]["data_quality"]
            report["data_quality"] = data_quality(
                q, everything, min_seconds=min_seconds, flags=flags, language=language
            )
        report["overview"] = overview(report, language=language)
        return report
    results = run_methods(q, data, params={"csi": csi_params(data)})
    if isinstance(results.get("csi"), ScoringError) and n >= 2:
        # PLSpredict may refuse what the model itself allows: the model without it
        results |= run_methods(q, data, methods=["csi"], params={"csi": {}})
    report["errors"] = {m: str(r) for m, r in results.items() if isinstance(r, ScoringError)}
    sq = _ok(results.get("servqual"))
    sq_ok = isinstance(sq, ServqualResult)

    def attempt(section: str, make: Any) -> None:
        if n < needs[section]:
            unavailable(report, section, needs[section])
            return
        try:
            value = make()
        except ScoringError as exc:
            unavailable(report, section, _needed(exc, needs[section]), str(exc))
            return
        if value is None:
            unavailable(report, section, needs[section], report["errors"].get("drivers"))
        else:
            report[section] = value

    if sq_ok:
        sources = gap_sources or GapSources(customer=(q, data))
        attempt("five_gaps", lambda: five_gaps(sources, segment=segment, language=language))
        levels = customer_levels(q, data, result=sq) if n >= needs["servqual"] else {}
        attempt(
            "servqual",
            lambda: servqual_view(q, data, result=sq, language=language, levels=levels),
        )
    else:
        reason = report["errors"].get("servqual")
        unavailable(report, "five_gaps", needs["five_gaps"], reason)
        unavailable(report, "servqual", needs["servqual"], reason)
    if {"drivers", "csi"} & set(results):
        attempt(
            "importance_performance",
            lambda: importance_performance_view(
                q,
                drivers=_ok(results.get("drivers")),
                csi=_ok(results.get("csi")),
                language=language,
            ),
        )
    if waves_data is not None and "servqual" in report:
        try:  # every wave of the study: not held to the latest wave's number of responses
            report["waves"] = waves_view(
                q, waves_data, segment=wave_segment, language=language, order=wave_order
            )
        except ScoringError as exc:
            unavailable(report, "waves", needs["waves"], str(exc))
    elif waves_data is None and "wave" in data.columns and sq_ok:
        attempt(
            "waves",
            lambda: waves_view(q, data, segment=wave_segment, language=language, result=sq),
        )
    attempt(
        "methods",
        lambda: methods_view(
            q, data, results, language=language, excluded=excluded, suspects_left_out=left_out
        ),
    )
    attempt(
        "data_quality",
        lambda: data_quality(
            q,
            everything,
            # the panel compares all responses with the clean ones: its own run on all
            results=run_methods(q, everything, methods=["servqual"]) if left_out else results,
            min_seconds=min_seconds,
            flags=flags,
            language=language,
        ),
    )
    if comments:
        part = comments_report(
            q, data if comments_data is None else comments_data, n=n, language=language
        )
        report["unavailable"] |= part["unavailable"]
        if "comments" in part:
            report["comments"] = part["comments"]
    if "csi" in results:
        attempt("csi", lambda: csi_view(q, _result_or_raise(results["csi"]), language=language))
    report["overview"] = overview(report, language=language)
    return report


# ------------------------------------------------------------------------------ overview

#: share of suspect responses from which the overview warns (one in ten)
SUSPECT_WARN_SHARE = 0.1


def _wave_entry(report: Mapping[str, Any], wave: str | None) -> dict[str, Any] | None:
    """The ``waves`` section's entry of ``wave`` (the last wave when None)."""
    series = ((report.get("waves") or {}).get("all") or {}).get("waves") or []
    if not series:
        return None
    if wave is None:
        return cast(dict[str, Any], series[-1])
    return next((w for w in series if w["wave"] == wave), None)


def overview(
    report: Mapping[str, Any], *, language: str = "en", wave: str | None = None
) -> dict[str, Any]:
    """The overview page's data, arranged from the report's sections (no new number):

    ``headline`` -- the unweighted SERVQUAL score and the 0-100 satisfaction index of
    ``wave`` with their intervals, n, quarantined and suspect counts; ``change`` -- both
    since the previous wave with Welch's test (None for a first wave); ``fix_first`` --
    the three largest negative gaps (dimension x gap, from the five-gap contributors) with
    the team that owns each gap (:data:`OWNERS`), else the "concentrate here" drivers of
    the importance-performance map (or, below); with customers' answers only, the largest negative
    customer gaps P - E (no owner: the five gaps that name one need the other audiences);
    ``warnings`` -- small samples (fewer than
    :data:`scoring._validation.SMALL_SAMPLE_N`), dimensions and cause scales with alpha
    below :data:`ALPHA_MIN`, and a suspect share of :data:`SUSPECT_WARN_SHARE` or more.
    """
    sq = report.get("servqual") or {}
    dq = report.get("data_quality") or {}
    entry = _wave_entry(report, wave)
    headline: dict[str, Any] = {
        "n": report.get("n", 0),
        "excluded": report.get("excluded", 0),
        "suspects": dq.get("n_suspect"),
        "suspects_left_out": report.get("suspects_left_out", 0),
        "servqual": sq.get("unweighted"),
        "index": (entry or {}).get("measures", {}).get("index"),
    }
    change = None
    if entry is not None and entry.get("change"):
        series = report["waves"]["all"]["waves"]
        k = series.index(entry)
        change = {
            "wave": entry["wave"],
            "previous": series[k - 1]["wave"] if k else None,
            "servqual": entry["change"].get("servqual"),
            "index": entry["change"].get("index"),
        }
    fix: list[dict[str, Any]] = []
    fg = report.get("five_gaps")
    if fg:
        for r in fg["contributors"]:
            if r["value"] is None or r["value"] >= 0 or len(fix) == 3:
                continue
            fix.append(
                {
                    "gap": r["gap"],
                    "dimension": r["dimension"],
                    "label": f"{r['dimension_label']} · {r['gap_label']}",
                    "value": r["value"],
                    "ci_low": r["ci_low"],
                    "ci_high": r["ci_high"],
                    "mark": r["mark"],
                    "owner": OWNERS[r["gap"]].get(language),
                }
            )
    if not fix and fg:  # customers only: the largest negative customer gaps P - E
        dims = [d for d in fg["dimensions"] if d.get("customer_gap")]
        dims.sort(key=lambda d: d["customer_gap"]["value"])
        for d in dims[:3]:
            cg = d["customer_gap"]
            if cg["value"] < 0:
                fix.append(
                    {
                        "gap": None,
                        "dimension": d["dimension"],
                        "label": f"{d['label']} · {CUSTOMER_GAP.get(language)}",
                        "value": cg["value"],
                        "ci_low": cg["ci_low"],
                        "ci_high": cg["ci_high"],
                        "mark": "",
                        "owner": None,
                    }
                )
    if not fix and report.get("importance_performance"):
        for r in report["importance_performance"]["rows"]:
            if r["quadrant"] == "concentrate here" and len(fix) < 3:
                fix.append(
                    {
                        "gap": None,
                        "dimension": r["driver"],
                        "label": r["label"],
                        "value": r["performance"],
                        "owner": None,
                    }
                )
    warn: list[dict[str, Any]] = []
    n = int(report.get("n", 0))
    if 0 < n < SMALL_SAMPLE_N:
        warn.append({"kind": "small_n", "n": n, "minimum": SMALL_SAMPLE_N})
    for card in (report.get("methods") or {}).get("cards", []):
        for r in card.get("reliability") or []:
            if r.get("weak") and not any(w.get("label") == r["label"] for w in warn):
                warn.append({"kind": "low_alpha", "label": r["label"], "alpha": r["alpha"]})
    weak = [
        {"label": c["label"], "alpha": c["alpha"], "n": c["n"]}
        for gap_causes in ((fg or {}).get("causes") or {}).values()
        for c in gap_causes
        if c.get("unreliable")
    ]
    if weak:  # one line for all of them: each is flagged on the five-gap page
        warn.append({"kind": "weak_scales", "scales": weak})
    share = dq.get("share")
    if share is not None and math.isfinite(share) and share >= SUSPECT_WARN_SHARE:
        warn.append({"kind": "suspects", "n": dq["n_suspect"], "share": share})
    return _json_dict({"headline": headline, "change": change, "fix_first": fix, "warnings": warn})


def action_rows(
    actions: Sequence[Mapping[str, Any]],
    report: Mapping[str, Any],
    *,
    wave: str | None,
    language: str = "en",
) -> list[dict[str, Any]]:
    """The study's actions beside the tested change of their dimension: for an action
    decided in an earlier wave, the change of the dimension's SERVQUAL gap from the
    previous wave to ``wave`` (Welch's test, from the ``waves`` section); None for an
    action decided in ``wave`` itself (its change shows in the next wave's report) or
    when the waves cannot be compared."""
    labels = report.get("dimension_labels") or {}
    entry = _wave_entry(report, wave)
    series = ((report.get("waves") or {}).get("all") or {}).get("waves") or []
    previous = series[series.index(entry) - 1]["wave"] if entry and series.index(entry) else None
    out = []
    for a in actions:
        change = None
        if entry is not None and a["decided_in"] != entry["wave"]:
            change = (entry.get("change") or {}).get(a["dimension"])
        gap = a.get("gap")
        out.append(
            {
                **a,
                "label": labels.get(a["dimension"], a["dimension"])
                + (f" · {GAP_LABELS[gap].get(language)}" if gap in GAP_LABELS else ""),
                "change": change,
                "since": previous if change else None,
                "this_wave": entry is not None and a["decided_in"] == entry["wave"],
            }
        )
    return cast(list[dict[str, Any]], jsonable(out))
