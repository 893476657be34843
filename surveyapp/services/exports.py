"""Responses out of the database: the tidy frame and the CSV / XLSX / SPSS writers.

The tidy frame (ARCHITECTURE.md) is the one hand-over point between storage and scoring:
one row per response, the columns :data:`questionnaires.META_COLUMNS` followed by
``Questionnaire.columns(meta=False)`` (the export column rule, README "Export column
names"), then one ``seg_<name>`` column per segment carried by the invitations (from the
recipients CSV). :func:`responses_frame` returns it; the scoring runs call it.

Values in the frame: answers to ratings, numbers, allocations and multiple choices are
``float64`` (NaN when missing); single choices hold their choice *code* and free texts the
text (pandas' string dtype). ``started_at``/``submitted_at`` are UTC datetimes,
``duration_s`` seconds. ``suspect`` lists the response's quality flags joined by ``;``:
the screening reasons of its own answers (``straight_lining``, ``identical_ep``, see
:func:`scoring.screening.screen_responses`), the app's flags (``too_fast;honeypot``), and
``quarantined: <the researcher's reason>`` last when a quarantined response is included;
it is empty for a clean response. ``manyi score`` reads it back: quarantined responses
are always left out, suspect ones by default.

The writers read the database in chunks of responses (ordered by primary key, so each
chunk is one index range scan), so the CSV export's memory does not grow with the number
of responses. The answers come from ``response.values_json``, the response's Answer rows
written again as one JSON object in the same transaction (one row per response instead
of ~50; bench/README.md "Exports"); a response without it reads its Answer rows. The
XLSX writer streams rows into openpyxl's write-only workbook (its sheet XML goes to a
temporary file). SPSS ``.sav`` needs the whole frame for pyreadstat.

:func:`build_export` is what the research pages and the API serve, :func:`export_to_file`
what ``manyi export`` writes; both write the audit record. :func:`iter_invitation_csv` is
the mail-merge file of invitation links.

Not applicable: an answer column of an item whose display condition did not hold (see
:func:`surveyapp.services.responses.not_applicable`) is *not applicable*, not missing. In
the frame its cell is empty (NaN / <NA>) and the column ``not_applicable``
(:data:`questionnaires.NOT_APPLICABLE_COLUMN`, after the answer columns, exported when
an instrument has display conditions) lists such columns per response, joined by ``;``:
what :func:`scoring.not_applicable_mask` reads, so no method counts them as missing. In
CSV and XLSX the cell holds :data:`NA_TEXT` (``n/a``; an empty cell is a missing answer);
in SPSS :data:`NA_CODE` (``-4``, the "valid skip" code of panel studies such as the
NLSY), declared user-missing and labelled, or ``n/a`` in a text variable. The codebook
says so for every column that can be not applicable.

Random order: for each page with ``randomize``, the column ``order_<page id>``
(:func:`questionnaires.order_column`) holds the item ids in the order the response was
shown them, joined by ``;`` (stored when the page was saved; empty if it never was).

Spreadsheet formulas: a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return is written with a leading apostrophe in CSV and XLSX (OWASP's advice for
CSV injection), so a respondent's ``=HYPERLINK(...)`` stays text when a researcher opens
the file. Numbers are never changed (a negative number is not a formula).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

import questionnaires as qn
from scoring import not_applicable_mask
from scoring.instrument import screen
from surveyapp import audit
from surveyapp import models as m
from surveyapp.db import get_db
from surveyapp.services import studies

Format = Literal["csv", "xlsx", "sav"]
FORMATS: tuple[str, ...] = ("csv", "xlsx", "sav")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
}
CHUNK = 2000  # responses per database round trip
NA_TEXT = "n/a"  # a not-applicable answer in CSV / XLSX (an empty cell is a missing one)
NA_CODE = -4  # ... in SPSS: user-missing, labelled (the NLSY's "valid skip")
NA_LABEL = qn.Text("不适用（按条件未显示）", "Not applicable (not shown by its condition)")
XLSX_MAX_ROWS = 1_048_575  # Excel's limit minus the header row
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_SEGMENT_NAME = re.compile(r"[^A-Za-z0-9_]")
# what XML 1.0 forbids: C0 controls but tab / LF / CR, lone surrogates, U+FFFE, U+FFFF
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

META_LABELS: dict[str, qn.Text] = {
    "response_id": qn.Text("答卷编号", "Response id"),
    "survey": qn.Text("调查", "Survey"),
    "wave": qn.Text("轮次", "Wave"),
    "audience": qn.Text("对象", "Audience"),
    "language": qn.Text("作答语言", "Language of the answers"),
    "status": qn.Text("状态", "Status"),
    "suspect": qn.Text("可疑标记", "Quality flags"),
    "started_at": qn.Text("开始时间 (UTC)", "Started at (UTC)"),
    "submitted_at": qn.Text("提交时间 (UTC)", "Submitted at (UTC)"),
    "duration_s": qn.Text("用时（秒）", "Duration (seconds)"),
    qn.NOT_APPLICABLE_COLUMN: qn.Text(
        "不适用的答案列（按条件未显示的题目）",
        "Answer columns not applicable (items not shown by their condition)",
    ),
}
ORDER_LABEL = qn.Text("第「{page}」页所显示的题目顺序", "Item order shown on page {page}")
CHOSEN = {0: qn.Text("未选", "Not chosen"), 1: qn.Text("已选", "Chosen")}


# -- the columns ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Column:
    """One column of the export: its name, kind, label and value labels."""

    name: str
    kind: Literal["meta", "number", "code", "text", "segment"]
    label: str
    # stored value -> label; for "code" columns the keys are the choice codes
    value_labels: dict[Any, str] = field(default_factory=dict)
    # "code" columns: choice code -> numeric code in SPSS
    numeric_codes: dict[str, int] = field(default_factory=dict)

    @property
    def numeric(self) -> bool:
        return self.kind == "number"


def xml_safe(value: str) -> str:
    """``value`` without the characters XML forbids (:data:`XML_FORBIDDEN`): an XLSX cell
    holding one makes the whole workbook unreadable, and a lone surrogate cannot even be
    written as UTF-8.

    >>> xml_safe("ok\uffff\ud800 \x0bend")
    'ok end'
    """
    return XML_FORBIDDEN.sub("", value)


def neutralise(value: str) -> str:
    """A text cell that a spreadsheet would run as a formula, made inert with a leading ``'``.

    >>> neutralise("=1+1"), neutralise("-5 days"), neutralise("ok")
    ("'=1+1", "'-5 days", 'ok')
    """
    if value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def segment_column(name: str) -> str:
    """Export column of the invitation segment ``name``: ``seg_<name>``, SPSS-safe.

    >>> segment_column("region"), segment_column("分行 code")
    ('seg_region', 'seg____code')
    """
    return ("seg_" + _SEGMENT_NAME.sub("_", name))[:64]


def _clip(text: str, limit: int = 250) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_columns(q: qn.Questionnaire, language: str) -> list[Column]:
    """The answer columns of ``q`` with labels in ``language`` (``zh-Hans`` or ``en``)."""
    out: list[Column] = []
    sep = "：" if language.startswith("zh") else ": "
    for item in q.items:
        text = item.text.get(language)
        if item.type == "rating" or item.type == "number":
            labels = {}
            if item.scale is not None:
                labels = {int(v): t.get(language) for v, t in item.scale.labels.items()}
            if item.roles:
                for role in item.roles:
                    role_text = q.roles[role].get(language) if role in q.roles else role
                    out.append(
                        Column(
                            qn.role_column(item.id, role),
                            "number",
                            _clip(f"{text}{sep}{role_text}"),
                            labels,
                        )
                    )
            else:
                out.append(Column(item.id, "number", _clip(text), labels))
        elif item.type == "single_choice":
            codes = [c.code for c in item.choices]
            if all(re.fullmatch(r"-?\d{1,9}", c) for c in codes):
                numeric = {c: int(c) for c in codes}
            else:
                numeric = {c: i for i, c in enumerate(codes, start=1)}
            code_labels: dict[Any, str] = {c.code: c.label.get(language) for c in item.choices}
            out.append(Column(item.id, "code", _clip(text), code_labels, numeric))
        elif item.type in ("multiple_choice", "allocation"):
            chosen = {k: v.get(language) for k, v in CHOSEN.items()}
            for c in item.choices:
                vl = chosen if item.type == "multiple_choice" else {}
                label = _clip(f"{text}{sep}{c.label.get(language)}")
                out.append(Column(f"{item.id}_{c.code}", "number", label, vl))
        else:  # free text
            out.append(Column(item.id, "text", _clip(text)))
    return out


def _meta_columns(language: str) -> list[Column]:
    kinds = {"duration_s": "number"}
    return [
        Column(name, kinds.get(name, "meta"), META_LABELS[name].get(language))  # type: ignore[arg-type]
        for name in qn.META_COLUMNS
    ]


@dataclass
class Layout:
    """Every column of one export and the surveys it covers."""

    columns: list[Column]
    surveys: dict[int, tuple[str, str | None, str]]  # id -> (slug, wave, audience)
    segments: dict[str, str]  # segment name -> column
    # columns that are numbers in one instrument and texts in another (of a gap study)
    mixed: set[str] = field(default_factory=set)
    # survey id -> its instrument (for the screening reasons of the ``suspect`` column)
    instruments: dict[int, qn.Questionnaire] = field(default_factory=dict)
    # answer columns that can be not applicable (items or pages with a display condition)
    conditional: set[str] = field(default_factory=set)
    # page id -> its order column, for pages with a random order
    orders: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def layout(s: Session, survey_ids: Sequence[int], *, language: str = "zh-Hans") -> Layout:
    """The columns of an export of ``survey_ids`` (in order; all must exist).

    Surveys of different instruments (the audiences of a gap study) export the union of
    their columns, in the order of the first survey that has each column.
    """
    ids = list(dict.fromkeys(int(i) for i in survey_ids))
    if not ids:
        msg = "survey_ids must name at least one survey; got an empty list."
        raise ValueError(msg)
    surveys = {sv.id: sv for sv in s.scalars(select(m.Survey).where(m.Survey.id.in_(ids)))}
    missing = [i for i in ids if i not in surveys]
    if missing:
        msg = f"survey_ids name surveys that do not exist: {missing}."
        raise ValueError(msg)
    columns = _meta_columns(language)
    seen = {c.name for c in columns}
    numeric: dict[str, set[bool]] = {}
    for i in ids:
        for col in item_columns(surveys[i].questionnaire(), language):
            numeric.setdefault(col.name, set()).add(col.numeric)
            if col.name not in seen:
                seen.add(col.name)
                columns.append(col)
    mixed = {name for name, kinds in numeric.items() if len(kinds) > 1}
    conditional: set[str] = set()
    orders: dict[str, str] = {}
    for i in ids:
        for page in surveys[i].questionnaire().pages:
            for item in page.items:
                if page.relevant or item.relevant:
                    conditional.update(item.columns())
            if page.randomize and page.id not in orders:
                orders[page.id] = qn.order_column(page.id)
    if conditional:
        columns.append(
            Column(
                qn.NOT_APPLICABLE_COLUMN,
                "meta",
                META_LABELS[qn.NOT_APPLICABLE_COLUMN].get(language),
            )
        )
        seen.add(qn.NOT_APPLICABLE_COLUMN)
        na_label = NA_LABEL.get(language)
        columns = [
            dataclasses.replace(c, value_labels={**c.value_labels, NA_TEXT: na_label})
            if c.name in conditional
            else c
            for c in columns
        ]
    for page_id, order_col in orders.items():
        columns.append(Column(order_col, "meta", ORDER_LABEL.get(language).format(page=page_id)))
        seen.add(order_col)
    # segment names: those of the invitations, and any a response carries (imports)
    names: set[str] = set()
    for seg in s.scalars(
        select(cast(m.Invitation.segments, String))
        .where(m.Invitation.survey_id.in_(ids))
        .distinct()
    ):
        names.update(str(k) for k in _as_dict(seg))
    for seg in s.scalars(
        select(cast(m.Response.segments, String)).where(m.Response.survey_id.in_(ids)).distinct()
    ):
        names.update(str(k) for k in _as_dict(seg))
    segments: dict[str, str] = {}
    for name in sorted(names):
        seg_col = segment_column(name)
        while seg_col in seen:  # a segment named like an answer column: keep both
            seg_col = (seg_col + "_")[:64] if len(seg_col) < 64 else seg_col[:-1] + "x"
        seen.add(seg_col)
        segments[name] = seg_col
        columns.append(Column(seg_col, "segment", _clip(name)))
    info = {i: (surveys[i].slug, surveys[i].wave, surveys[i].audience) for i in ids}
    instruments = {i: surveys[i].questionnaire() for i in ids}
    return Layout(columns, info, segments, mixed, instruments, conditional, orders)


# -- reading in chunks ------------------------------------------------------------------------
@dataclass
class Chunk:
    """Up to :data:`CHUNK` responses: text columns as object arrays, numbers as one matrix."""

    n: int
    texts: dict[str, np.ndarray]  # column -> object array (str or None)
    numbers: np.ndarray  # n x len(number columns), float64 with NaN
    number_names: list[str]
    started: np.ndarray  # datetime64[ns] UTC (naive values)
    submitted: np.ndarray
    ids: np.ndarray  # the responses' primary keys (int64), ascending
    # the not-applicable cells of number_names (None when there are none) and of the
    # text columns that have any
    na_numbers: np.ndarray | None = None
    na_texts: dict[str, np.ndarray] = field(default_factory=dict)


def _filters(
    survey_ids: Sequence[int], include_partial: bool, include_quarantined: bool
) -> list[Any]:
    conds: list[Any] = [m.Response.survey_id.in_(list(survey_ids))]
    # test responses given in preview are never data (deleted in one action)
    conds.append(m.Response.source != m.TEST_SOURCE)
    if not include_partial:
        conds.append(m.Response.status == "complete")
    if not include_quarantined:
        conds.append(m.Response.quarantined.is_(False))
    return conds


def count_responses(
    s: Session,
    survey_ids: Sequence[int],
    *,
    include_partial: bool = False,
    include_quarantined: bool = False,
) -> int:
    """How many responses an export of these surveys holds."""
    conds = _filters(survey_ids, include_partial, include_quarantined)
    return int(s.scalar(select(func.count()).select_from(m.Response).where(*conds)) or 0)


class DataVersion(NamedTuple):
    """What identifies the data of one survey's report frame, read without the frame.

    Over the survey's complete responses (test responses are never data): how many there
    are, how many of them are quarantined, the sum and the largest of the primary keys of
    the scored (not quarantined) ones, and the latest ``updated_at``. A new or completed
    response raises the count and the largest key, a deletion lowers the count, a
    quarantine or its undo moves a key between the sums; and every UPDATE of a response
    sets its ``updated_at`` (the column's ``onupdate``; the respondents' saves set it
    themselves), which moves the latest one. Not counted: invitations, whose segment
    names add empty ``seg_`` columns to a frame until a response carries them; no score
    reads those (the reports' segments are the instrument's segment items).
    """

    complete: int
    quarantined: int
    scored_id_sum: int
    last_id: int
    last_update: datetime | None


def data_versions(s: Session, survey_ids: Sequence[int]) -> dict[int, DataVersion]:
    """:class:`DataVersion` of each of ``survey_ids``, by one aggregate query (surveys with
    no complete response are ``DataVersion(0, 0, 0, 0, None)``)."""
    ids = list(dict.fromkeys(int(i) for i in survey_ids))
    r = m.Response
    quarantined = case((r.quarantined.is_(True), 1), else_=0)
    rows = s.execute(
        select(
            r.survey_id,
            func.count(),
            func.sum(quarantined),
            func.sum(case((r.quarantined.is_(True), 0), else_=r.id)),
            func.max(r.id),
            func.max(r.updated_at),
        )
        .where(*_filters(ids, include_partial=False, include_quarantined=True))
        .group_by(r.survey_id)
    ).all()
    found = {
        int(sid): DataVersion(int(n), int(q or 0), int(total or 0), int(last or 0), when)
        for sid, n, q, total, last, when in rows
    }
    return {i: found.get(i, DataVersion(0, 0, 0, 0, None)) for i in ids}


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        if value in ("{}", "", "null"):  # most responses: skip the parser
            return {}
        value = json.loads(value)
    return dict(value or {})


def _suspect(flags: Any, quarantined: bool, reason: str | None = None) -> str:
    names = [k for k, v in sorted(_as_dict(flags).items()) if v]
    if quarantined:
        # the researcher's reason runs to the end of the cell; a ';' in it would read
        # as the start of another flag
        said = " ".join((reason or "").replace(";", ",").split())
        names.append(f"quarantined: {said}" if said else "quarantined")
    return ";".join(names)


def _quarantine_reasons(s: Session, pks: list[int]) -> dict[int, str]:
    """Response pk -> the reason given when it was last quarantined (the audit log)."""
    if not pks:
        return {}
    log = m.AuditLog
    rows = s.execute(
        select(log.object_id, log.detail)
        .where(
            log.action == "quarantined",
            log.object_type == m.Response.__tablename__,
            log.object_id.in_([str(pk) for pk in pks]),
        )
        .order_by(log.at, log.id)
    )
    return {int(oid): str(_as_dict(detail).get("reason") or "") for oid, detail in rows}


def _datetimes(values: list[Any]) -> np.ndarray:
    stamps = pd.to_datetime(pd.Series(values, dtype=object), utc=True, format="mixed")
    return stamps.dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")


def iter_chunks(
    s: Session,
    lay: Layout,
    *,
    include_partial: bool = False,
    include_quarantined: bool = False,
    chunk_size: int = CHUNK,
    where: Sequence[Any] = (),
) -> Iterator[Chunk]:
    """The selected responses of ``lay.surveys``, :data:`CHUNK` at a time, in id order
    (``where``: more conditions on ``response``).

    The answers come from ``response.values_json`` (one JSON object per response, written
    with its Answer rows): one index range scan of the response table per chunk, and one
    ``json.loads`` (in C) of the chunk's objects joined into an array. Responses whose
    ``values_json`` is NULL (answers written through the ORM) read their Answer rows.
    """
    conds = [*_filters(list(lay.surveys), include_partial, include_quarantined), *where]
    number_names = [c.name for c in lay.columns if c.kind == "number" and c.name != "duration_s"]
    text_names = [c.name for c in lay.columns if c.kind in ("code", "text")]
    last = 0
    r = m.Response
    while True:
        rows = s.execute(
            select(
                r.id,
                r.response_id,
                r.survey_id,
                r.language,
                r.status,
                cast(r.suspect, String),  # JSON parsed only when not empty
                r.quarantined,
                r.started_at,
                r.submitted_at,
                cast(r.segments, String),
                r.values_json,
                cast(r.not_applicable, String),
                cast(r.shown_order, String),
            )
            .where(*conds, r.id > last)
            .order_by(r.id)
            .limit(chunk_size)
        ).all()
        if not rows:
            return
        n = len(rows)
        last = rows[-1][0]
        texts: dict[str, np.ndarray] = {}
        texts["response_id"] = np.array([row[1] for row in rows], dtype=object)
        info = [lay.surveys[row[2]] for row in rows]
        texts["survey"] = np.array([i[0] for i in info], dtype=object)
        texts["wave"] = np.array([i[1] for i in info], dtype=object)
        texts["audience"] = np.array([i[2] for i in info], dtype=object)
        texts["language"] = np.array([row[3] for row in rows], dtype=object)
        texts["status"] = np.array([row[4] for row in rows], dtype=object)
        reasons = _quarantine_reasons(s, [row[0] for row in rows if row[6]])
        suspect = [_suspect(row[5], row[6], reasons.get(row[0])) for row in rows]
        for name, col in lay.segments.items():
            texts[col] = np.array(
                [_segment_value(_as_dict(row[9]).get(name)) for row in rows], dtype=object
            )
        started = _datetimes([row[7] for row in rows])
        submitted = _datetimes([row[8] for row in rows])

        values: list[dict[str, Any]] = json.loads(
            "[" + ",".join([row[10] if row[10] is not None else "{}" for row in rows]) + "]"
        )
        unknown = [i for i, row in enumerate(rows) if row[10] is None]
        if unknown:
            _answer_rows(s, [rows[i][0] for i in unknown], [values[i] for i in unknown])
        numbers = _number_matrix(values, number_names, lay.mixed)
        na_numbers, na_texts = _not_applicable(texts, [row[11] for row in rows], lay, number_names)
        for page_id, order_col in lay.orders.items():
            texts[order_col] = np.array(
                [_order_cell(_as_dict(row[12]).get(page_id)) for row in rows], dtype=object
            )
        texts["suspect"] = _with_screening(
            suspect, numbers, number_names, [row[2] for row in rows], lay
        )
        for name in text_names:
            if name in lay.mixed:  # a number under this name in another instrument
                texts[name] = np.array(
                    [v if isinstance(v := d.get(name), str) else None for d in values],
                    dtype=object,
                )
            else:
                texts[name] = np.array([d.get(name) for d in values], dtype=object)
        ids = np.array([row[0] for row in rows], dtype=np.int64)
        yield Chunk(n, texts, numbers, number_names, started, submitted, ids, na_numbers, na_texts)
        if n < chunk_size:
            return


def _not_applicable(
    texts: dict[str, np.ndarray], cells: list[Any], lay: Layout, number_names: list[str]
) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """Fill ``texts[not_applicable]`` from the responses' stored lists (JSON ``cells``)
    and return the not-applicable cells of the number columns and of the text columns
    (read back by :func:`scoring.not_applicable_mask`, the one parser of the column)."""
    if not lay.conditional:
        return None, {}
    texts[qn.NOT_APPLICABLE_COLUMN] = np.array(
        [";".join(json.loads(c)) if c not in (None, "null", "[]") else None for c in cells],
        dtype=object,
    )
    frame = pd.DataFrame({qn.NOT_APPLICABLE_COLUMN: texts[qn.NOT_APPLICABLE_COLUMN]})
    numbers = not_applicable_mask(frame, number_names)
    text_names = [c.name for c in lay.columns if c.kind in ("code", "text")]
    by_text = not_applicable_mask(frame, text_names)
    na_texts = (
        {}
        if by_text is None
        else {name: by_text[:, j] for j, name in enumerate(text_names) if by_text[:, j].any()}
    )
    return numbers, na_texts


def _order_cell(value: Any) -> str | None:
    if not value:
        return None
    return ";".join(str(v) for v in value)


def _with_screening(
    suspect: list[str],
    numbers: np.ndarray,
    number_names: list[str],
    survey_of: list[int],
    lay: Layout,
) -> np.ndarray:
    """The ``suspect`` cells with the reasons :func:`scoring.screening.screen_responses`
    finds in the answers themselves added (``straight_lining``, ``identical_ep``).

    Only the screens of one response's own answers run here, chunk by chunk; the app
    flags speeders and honeypots when a response is submitted (already in ``suspect``),
    and the reports screen the whole set for shares of the median time and reused
    start tokens.
    """
    out = np.array(suspect, dtype=object)
    surveys = np.asarray(survey_of)
    frame = pd.DataFrame(numbers, columns=number_names)
    reasons = ("straight_lining", "identical_ep")
    for sid in np.unique(surveys):
        rows = np.nonzero(surveys == sid)[0]
        flags = screen(
            lay.instruments[int(sid)],
            frame.iloc[rows],
            duration=None,
            start_token=None,
            honeypot=None,
            app_flags=None,
        )
        found = flags[list(reasons)].to_numpy(bool)
        for pos, on in zip(rows[found.any(axis=1)], found[found.any(axis=1)], strict=True):
            added = [name for name, hit in zip(reasons, on, strict=True) if hit]
            out[pos] = ";".join([*added, *filter(None, [out[pos]])])
    return out


def _answer_rows(s: Session, pks: list[int], into: list[dict[str, Any]]) -> None:
    """Fill ``into`` (one dict per response of ``pks``) from the Answer rows."""
    a = m.Answer
    by_pk = dict(zip(pks, into, strict=True))
    for start in range(0, len(pks), 500):  # bound the IN list
        rows = s.execute(
            select(a.response_pk, a.column, a.num, a.text).where(
                a.response_pk.in_(pks[start : start + 500])
            )
        )
        for pk, column, num, text in rows:
            by_pk[pk][column] = text if text is not None else num


def _number_matrix(values: list[dict[str, Any]], names: list[str], mixed: set[str]) -> np.ndarray:
    """The numeric answers as an ``n x names`` float64 matrix, NaN where missing."""
    nan = np.nan
    if mixed.isdisjoint(names):
        # every value under these names is a number (the write paths store the instrument's
        # types), so numpy converts the rows at once
        return np.array([[d.get(c, nan) for c in names] for d in values], dtype=np.float64).reshape(
            len(values), len(names)
        )
    return np.array(
        [[_number(d.get(c)) if c in mixed else d.get(c, nan) for c in names] for d in values],
        dtype=np.float64,
    ).reshape(len(values), len(names))


def _number(value: Any) -> float:
    # a text under a name that is a number column in the export: not a number
    return float(value) if isinstance(value, int | float) else np.nan


def _segment_value(value: Any) -> str | None:
    if value is None:
        return None
    return str(value)


# -- the frame ------------------------------------------------------------------------------
def chunk_frame(chunk: Chunk, lay: Layout) -> pd.DataFrame:
    """One chunk as a tidy frame with the columns of ``lay``."""
    data: dict[str, Any] = {}
    num_pos = {name: j for j, name in enumerate(chunk.number_names)}
    started = pd.DatetimeIndex(chunk.started).tz_localize("UTC")
    submitted = pd.DatetimeIndex(chunk.submitted).tz_localize("UTC")
    for col in lay.columns:
        name = col.name
        if name == "started_at":
            data[name] = started
        elif name == "submitted_at":
            data[name] = submitted
        elif name == "duration_s":
            data[name] = (submitted - started).total_seconds().to_numpy(dtype=np.float64)
        elif name in num_pos:
            data[name] = chunk.numbers[:, num_pos[name]]
        else:
            data[name] = pd.array(chunk.texts[name], dtype="str")
    return pd.DataFrame(data, columns=lay.names)


def responses_frame(
    session: Session,
    survey_ids: Iterable[int],
    *,
    include_partial: bool = False,
    include_quarantined: bool = False,
) -> pd.DataFrame:
    """The tidy response frame of ``survey_ids`` (see the module docstring for the columns).

    Parameters
    ----------
    session
        A SQLAlchemy session on the app's database.
    survey_ids
        The surveys (waves, audiences) to include; rows are in order of storage.
    include_partial
        Also include responses that were saved but never submitted.
    include_quarantined
        Also include quarantined responses (their ``suspect`` cell says ``quarantined``).

    Returns
    -------
    pandas.DataFrame
        One row per response, columns ``META_COLUMNS``, the answer columns, ``seg_<name>``.

    Raises
    ------
    ValueError
        When ``survey_ids`` is empty or names a survey that does not exist.
    """
    return responses_frame_ids(
        session,
        survey_ids,
        include_partial=include_partial,
        include_quarantined=include_quarantined,
    )[0]


def responses_frame_ids(
    session: Session,
    survey_ids: Iterable[int],
    *,
    include_partial: bool = False,
    include_quarantined: bool = False,
    where: Sequence[Any] = (),
) -> tuple[pd.DataFrame, np.ndarray]:
    """:func:`responses_frame` (of the responses that also meet ``where``, conditions on
    ``response``) and the primary keys of its rows (int64, ascending): what the reports'
    frame cache needs to add the responses written since (``reports.runs.cached_frame``).
    """
    lay = layout(session, list(survey_ids))
    frames, ids = [], []
    for c in iter_chunks(
        session,
        lay,
        include_partial=include_partial,
        include_quarantined=include_quarantined,
        where=where,
    ):
        frames.append(chunk_frame(c, lay))
        ids.append(c.ids)
    if not frames:
        return _empty_frame(lay), np.array([], dtype=np.int64)
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return frame, np.concatenate(ids)


def _empty_frame(lay: Layout) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col in lay.columns:
        if col.name in ("started_at", "submitted_at"):
            data[col.name] = pd.DatetimeIndex([], tz="UTC")
        elif col.kind == "number":
            data[col.name] = np.array([], dtype=np.float64)
        else:
            data[col.name] = pd.array([], dtype="str")
    return pd.DataFrame(data, columns=lay.names)


# -- CSV ------------------------------------------------------------------------------------
def _csv_text(value: str) -> str:
    value = neutralise(xml_safe(value))
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


# the text of the whole numbers -1000..1000 (ratings, codes, 0/1, points): looked up, not
# formatted, which takes the CSV export's number formatting from ~0.6 s to ~0.1 s / 100,000
_SMALL_WHOLE = np.array([str(i) for i in range(-1000, 1001)], dtype=object)


def _format_numbers(matrix: np.ndarray) -> np.ndarray:
    """Numbers as CSV text: whole numbers without ``.0``, others by ``repr``, NaN empty.

    >>> _format_numbers(np.array([[4.0, -0.0, 2.5, np.nan, 1e6]])).tolist()
    [['4', '0', '2.5', '', '1000000']]
    """
    out = np.full(matrix.shape, "", dtype=object)
    finite = np.isfinite(matrix)
    whole = finite & (np.abs(matrix) < 1e15)
    whole[whole] = matrix[whole] == np.round(matrix[whole])
    small = whole & (np.abs(matrix) <= 1000)
    if small.any():
        out[small] = _SMALL_WHOLE[matrix[small].astype(np.int64) + 1000]
    large = whole & ~small
    if large.any():
        out[large] = matrix[large].astype(np.int64).astype(str).astype(object)
    other = finite & ~whole
    if other.any():
        out[other] = [repr(float(v)) for v in matrix[other]]
    return out


def _format_stamps(values: np.ndarray) -> np.ndarray:
    out = np.datetime_as_string(values.astype("datetime64[s]"), unit="s").astype(object)
    out = out + "Z"
    out[np.isnat(values)] = ""
    return out


def _chunk_cells(chunk: Chunk, lay: Layout, *, excel: bool) -> np.ndarray:
    """The chunk as an ``n x columns`` object array of CSV-ready cells."""
    cells = np.empty((chunk.n, len(lay.columns)), dtype=object)
    numbers = _format_numbers(chunk.numbers)
    num_pos = {name: j for j, name in enumerate(chunk.number_names)}
    duration = (chunk.submitted - chunk.started) / np.timedelta64(1, "s")
    for j, col in enumerate(lay.columns):
        name = col.name
        if name == "started_at":
            cells[:, j] = _format_stamps(chunk.started)
        elif name == "submitted_at":
            cells[:, j] = _format_stamps(chunk.submitted)
        elif name == "duration_s":
            cells[:, j] = _format_numbers(duration.reshape(-1, 1))[:, 0]
        elif name in num_pos:
            cells[:, j] = numbers[:, num_pos[name]]
        else:
            # few distinct values per column (codes, waves, languages): format each once
            codes, uniques = pd.factorize(chunk.texts[name], use_na_sentinel=True)
            fmt = _csv_text if excel else xml_safe
            formatted = np.array([*(fmt(str(u)) for u in uniques), ""], dtype=object)
            cells[:, j] = formatted[codes]
        na = _na_cells(chunk, name, num_pos)
        if na is not None:
            cells[na, j] = NA_TEXT
    return cells


def _na_cells(chunk: Chunk, name: str, num_pos: dict[str, int]) -> np.ndarray | None:
    """The rows of ``chunk`` where column ``name`` is not applicable (None: none)."""
    if name in num_pos:
        return None if chunk.na_numbers is None else chunk.na_numbers[:, num_pos[name]]
    return chunk.na_texts.get(name)


def iter_csv(
    s: Session,
    survey_ids: Sequence[int],
    *,
    include_partial: bool = False,
    include_quarantined: bool = False,
    chunk_size: int = CHUNK,
) -> Iterator[bytes]:
    """The export as CSV bytes, chunk by chunk: UTF-8 with a BOM (Excel then reads Chinese
    correctly), a header row of column names, CRLF line ends (RFC 4180)."""
    for part, _n in _csv_parts(
        s,
        survey_ids,
        include_partial=include_partial,
        include_quarantined=include_quarantined,
        chunk_size=chunk_size,
    ):
        yield part


def _csv_parts(
    s: Session,
    survey_ids: Sequence[int],
    *,
    include_partial: bool,
    include_quarantined: bool,
    chunk_size: int = CHUNK,
) -> Iterator[tuple[bytes, int]]:
    lay = layout(s, survey_ids)
    yield ("\ufeff" + ",".join(lay.names) + "\r\n").encode("utf-8"), 0
    for chunk in iter_chunks(
        s,
        lay,
        include_partial=include_partial,
        include_quarantined=include_quarantined,
        chunk_size=chunk_size,
    ):
        cells = _chunk_cells(chunk, lay, excel=True)
        text = "\r\n".join([",".join(row) for row in cells.tolist()]) + "\r\n"
        yield text.encode("utf-8"), chunk.n


# -- XLSX -----------------------------------------------------------------------------------
def _xlsx_text(value: str) -> str:
    return neutralise(xml_safe(value))


def write_xlsx(
    s: Session,
    survey_ids: Sequence[int],
    out: Any,
    *,
    language: str = "zh-Hans",
    include_partial: bool = False,
    include_quarantined: bool = False,
) -> int:
    """Write the export as an XLSX workbook to ``out`` (a path or a binary file).

    Sheet ``responses`` holds the data (numbers as numbers, UTC datetimes as Excel dates);
    sheet ``columns`` the codebook: each column's label and its value labels. Returns the
    number of responses written. More rows than Excel can hold is a ``ValueError``.
    """
    from openpyxl import Workbook  # lazy: only this export needs openpyxl, slow to import

    lay = layout(s, survey_ids, language=language)
    n = count_responses(
        s,
        list(lay.surveys),
        include_partial=include_partial,
        include_quarantined=include_quarantined,
    )
    if n > XLSX_MAX_ROWS:
        msg = (
            f"the export holds {n} responses; an XLSX sheet holds at most {XLSX_MAX_ROWS}. "
            "Export CSV or SPSS .sav instead, or one wave at a time."
        )
        raise ValueError(msg)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("responses")
    ws.append(lay.names)
    written = 0
    try:
        for chunk in iter_chunks(
            s, lay, include_partial=include_partial, include_quarantined=include_quarantined
        ):
            frame = chunk_frame(chunk, lay)
            for name in ("started_at", "submitted_at"):
                frame[name] = frame[name].dt.tz_localize(None)
            num_pos = {name: j for j, name in enumerate(chunk.number_names)}
            columns = []
            for col in lay.columns:
                series = frame[col.name]
                if col.kind == "number":
                    values = series.to_numpy(dtype=object)
                    values[pd.isna(series).to_numpy()] = None
                elif col.name in ("started_at", "submitted_at"):
                    values = np.array(
                        [None if pd.isna(v) else v.to_pydatetime() for v in series], dtype=object
                    )
                else:
                    values = np.array(
                        [None if pd.isna(v) else _xlsx_text(v) for v in series], dtype=object
                    )
                na = _na_cells(chunk, col.name, num_pos)
                if na is not None:
                    values[na] = NA_TEXT
                columns.append(values)
            for row in zip(*columns, strict=True):
                ws.append(row)
            written += chunk.n
    except BaseException:
        # finish openpyxl's row writer now, or it writes into a closed file when collected
        with contextlib.suppress(Exception):
            ws.close()
        raise
    codebook = wb.create_sheet("columns")
    codebook.append(["column", "label", "values"])
    for col in lay.columns:
        described = "; ".join(f"{k} = {v}" for k, v in col.value_labels.items())
        codebook.append([col.name, _xlsx_text(col.label), _xlsx_text(described) or None])
    wb.save(out)
    return written


# -- SPSS -----------------------------------------------------------------------------------
def sav_frame(frame: pd.DataFrame, lay: Layout) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame as pyreadstat writes it, plus the labels: single choices as numeric codes.

    Returns ``(frame, meta)`` with ``meta`` holding ``column_labels`` and
    ``variable_value_labels`` for :func:`pyreadstat.write_sav`.
    """
    out: dict[str, Any] = {}
    value_labels: dict[str, dict[float, str]] = {}
    missing_ranges: dict[str, list[Any]] = {}
    names = [c.name for c in lay.columns]
    na_all = not_applicable_mask(frame, names) if lay.conditional else None
    for j, col in enumerate(lay.columns):
        series = frame[col.name]
        na = None if na_all is None or not na_all[:, j].any() else na_all[:, j]
        if col.name in ("started_at", "submitted_at"):
            out[col.name] = series.dt.tz_localize(None).astype("datetime64[ns]")
        elif col.kind == "number":
            out[col.name] = series.astype(np.float64)
            if col.value_labels:
                value_labels[col.name] = {
                    float(k): v for k, v in col.value_labels.items() if k != NA_TEXT
                }
        elif col.kind == "code":
            codes = series.map(col.numeric_codes, na_action="ignore")
            unknown = series.notna() & codes.isna()
            if unknown.any():
                bad = sorted(set(series[unknown]))[:5]
                msg = f"column {col.name!r} holds codes that are not its choices: {bad}."
                raise ValueError(msg)
            out[col.name] = codes.astype(np.float64)
            value_labels[col.name] = {
                float(col.numeric_codes[c]): label
                for c, label in col.value_labels.items()
                if c != NA_TEXT
            }
        else:
            texts = series.astype(object).where(series.notna(), "").astype(object)
            out[col.name] = texts.map(xml_safe)
            if na is not None:
                out[col.name] = out[col.name].where(~na, NA_TEXT)
            continue
        if col.name in lay.conditional:
            _sav_not_applicable(col.name, out, value_labels, missing_ranges, na, lay)
    data = pd.DataFrame(out, columns=lay.names)
    meta = {
        "column_labels": {c.name: xml_safe(c.label) for c in lay.columns},
        "variable_value_labels": value_labels,
        "missing_ranges": missing_ranges,
    }
    return data, meta


def _sav_not_applicable(
    name: str,
    out: dict[str, Any],
    value_labels: dict[str, dict[float, str]],
    missing_ranges: dict[str, list[Any]],
    na: np.ndarray | None,
    lay: Layout,
) -> None:
    """Code the not-applicable cells of numeric column ``name`` as :data:`NA_CODE`,
    declared user-missing and labelled; refuse a column whose answers use the code."""
    labels = value_labels.setdefault(name, {})
    na_label = next((c.value_labels[NA_TEXT] for c in lay.columns if c.name == name), NA_TEXT)
    if (out[name] == NA_CODE).any() or float(NA_CODE) in labels:
        msg = (
            f"column {name!r} holds the answer {NA_CODE}, the code of a not-applicable "
            "answer in SPSS files; export CSV or XLSX instead."
        )
        raise ValueError(msg)
    labels[float(NA_CODE)] = na_label
    missing_ranges[name] = [float(NA_CODE)]
    if na is not None:
        out[name] = out[name].where(~na, float(NA_CODE))


def write_sav(
    s: Session,
    survey_ids: Sequence[int],
    path: str | Path,
    *,
    language: str = "zh-Hans",
    include_partial: bool = False,
    include_quarantined: bool = False,
) -> int:
    """Write the export as an SPSS ``.sav`` file with variable and value labels.

    Single choices become numeric codes (the codes themselves when they are whole numbers,
    else 1, 2, ... in the order of the choices) labelled with the choice texts; rating
    columns carry their scale's point labels; multiple-choice columns 0/1 labelled
    "not chosen"/"chosen". Returns the number of responses written.
    """
    import pyreadstat  # lazy: only the SPSS export needs pyreadstat, slow to import

    lay = layout(s, survey_ids, language=language)
    frames = [
        chunk_frame(c, lay)
        for c in iter_chunks(
            s, lay, include_partial=include_partial, include_quarantined=include_quarantined
        )
    ]
    frame = pd.concat(frames, ignore_index=True) if frames else _empty_frame(lay)
    data, meta = sav_frame(frame, lay)
    pyreadstat.write_sav(
        data,
        str(path),
        column_labels=meta["column_labels"],
        variable_value_labels=meta["variable_value_labels"],
        missing_ranges=meta["missing_ranges"],
    )
    return len(frame)


# -- one entry point ----------------------------------------------------------------------------
def write_export(
    s: Session,
    survey_ids: Sequence[int],
    fmt: str,
    path: str | Path,
    *,
    language: str = "zh-Hans",
    include_partial: bool = False,
    include_quarantined: bool = False,
) -> int:
    """Write the export of ``survey_ids`` in ``fmt`` to ``path`` (whole or not at all).

    The file is written next to ``path`` under a temporary name and moved into place at
    the end, so a failure never leaves a partial export. Returns the number of responses.
    """
    if fmt not in FORMATS:
        msg = f"format must be one of {', '.join(FORMATS)}; got {fmt!r}."
        raise ValueError(msg)
    target = Path(path)
    kw = {"include_partial": include_partial, "include_quarantined": include_quarantined}
    with tempfile.NamedTemporaryFile(
        dir=target.parent, prefix=f".{target.name}.", suffix=f".{fmt}", delete=False
    ) as tmp:
        tmp_path = Path(tmp.name)
        try:
            if fmt == "csv":
                n = 0
                for part, k in _csv_parts(s, survey_ids, **kw):
                    tmp.write(part)
                    n += k
            elif fmt == "xlsx":
                n = write_xlsx(s, survey_ids, tmp, language=language, **kw)
        except BaseException:
            tmp.close()
            tmp_path.unlink(missing_ok=True)
            raise
    try:
        if fmt == "sav":
            n = write_sav(s, survey_ids, tmp_path, language=language, **kw)
        tmp_path.replace(target)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    return n


def export_filename(slug: str, fmt: str, *, when: Any = None) -> str:
    """``<slug>-responses-<YYYYmmdd>.<fmt>``, safe for a Content-Disposition header."""
    stamp = (when or m.utcnow()).strftime("%Y%m%d")
    safe = re.sub(r"[^A-Za-z0-9_-]", "_", slug)[:60]
    return f"{safe}-responses-{stamp}.{fmt}"


# -- the export as a service: built, audited, handed over ------------------------------------
@dataclass(frozen=True)
class Export:
    """An export ready to be sent: ``body`` yields its bytes once (a file is removed when
    it has been read); ``size`` is known for XLSX and SPSS, not for the streamed CSV."""

    filename: str
    media_type: str
    responses: int
    body: Iterator[bytes]
    size: int | None = None


def _read_then_remove(path: Path) -> Iterator[bytes]:
    try:
        with path.open("rb") as fh:
            while block := fh.read(1 << 16):
                yield block
    finally:
        path.unlink(missing_ok=True)


def build_export(
    survey_ids: Sequence[int],
    fmt: str,
    slug: str,
    *,
    language: str,
    include_partial: bool = False,
    include_quarantined: bool = False,
    user_id: int | None,
) -> Export:
    """The export of ``survey_ids`` in ``fmt``, with its audit record.

    CSV is streamed from a session of its own (the body can be read after the caller's
    session ends); XLSX and SPSS are written to a temporary file first. Raises
    ``ValueError`` naming the problem (an unknown format, more rows than Excel holds).
    """
    if fmt not in FORMATS:
        msg = f"format must be one of {', '.join(FORMATS)}; got {fmt!r}."
        raise ValueError(msg)
    kw = {"include_partial": include_partial, "include_quarantined": include_quarantined}
    database = get_db()
    filename = export_filename(slug, fmt)
    if fmt == "csv":
        with database.sessions() as s:
            n = count_responses(s, survey_ids, **kw)

        def rows() -> Iterator[bytes]:
            with database.sessions() as rs:
                yield from iter_csv(rs, survey_ids, **kw)

        _record_export(survey_ids, fmt, n, kw, user_id=user_id)
        return Export(filename, MEDIA_TYPES[fmt], n, rows())
    tmp = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)  # noqa: SIM115
    tmp.close()
    path = Path(tmp.name)
    try:
        with database.sessions() as s:
            n = write_export(s, survey_ids, fmt, path, language=language, **kw)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    _record_export(survey_ids, fmt, n, kw, user_id=user_id)
    size = path.stat().st_size
    return Export(filename, MEDIA_TYPES[fmt], n, _read_then_remove(path), size)


def export_to_file(
    survey_id: int,
    fmt: str,
    path: Path,
    *,
    language: str,
    include_partial: bool = False,
    include_quarantined: bool = False,
    via: str = "cli",
) -> int:
    """Write the export of one survey to ``path`` (whole or not at all), with its audit
    record; returns the number of responses."""
    kw = {"include_partial": include_partial, "include_quarantined": include_quarantined}
    with get_db().sessions() as s:
        n = write_export(s, [survey_id], fmt, path, language=language, **kw)
    _record_export([survey_id], fmt, n, {**kw, "via": via}, user_id=None)
    return n


def _record_export(
    survey_ids: Sequence[int], fmt: str, n: int, detail: dict[str, Any], *, user_id: int | None
) -> None:
    audit.record_now(
        "exported",
        object_type="survey",
        object_id=",".join(str(i) for i in survey_ids),
        detail={"format": fmt, "responses": n, **detail},
        user_id=user_id,
    )


def iter_invitation_csv(
    survey: m.Survey, state: str, link_base: str, *, user_id: int | None
) -> Iterator[str]:
    """The invitation links of ``survey`` as CSV text for a mail merge (with its audit
    record): e-mail, link (``link_base`` + token), token, the segments, used and when.

    ``state`` is ``all``, ``used`` or ``unused``; texts are neutralised against formulas.
    """
    names = studies.invitation_segment_names(survey.id)
    audit.record_now("exported", survey, detail={"what": "invitation links"}, user_id=user_id)
    query = studies.invitation_query(survey.id, state)
    database = get_db()

    def cell(value: Any) -> str:
        return neutralise("" if value is None else str(value))

    def generate() -> Iterator[str]:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(["email", "link", "token", *names, "used", "used_at"])
        yield "\ufeff" + buf.getvalue()
        with database.sessions() as rs:
            for inv in rs.scalars(query).yield_per(1000):
                buf.seek(0)
                buf.truncate()
                writer.writerow(
                    [
                        cell(inv.recipient),
                        link_base + inv.token,
                        inv.token,
                        *(cell((inv.segments or {}).get(n)) for n in names),
                        "yes" if inv.used_at else "no",
                        inv.used_at.strftime("%Y-%m-%dT%H:%M:%SZ") if inv.used_at else "",
                    ]
                )
                yield buf.getvalue()

    return generate()


__all__ = [
    "FORMATS",
    "Column",
    "Export",
    "build_export",
    "count_responses",
    "export_to_file",
    "item_columns",
    "iter_csv",
    "iter_invitation_csv",
    "layout",
    "neutralise",
    "responses_frame",
    "segment_column",
    "write_export",
    "write_sav",
    "write_xlsx",
]
