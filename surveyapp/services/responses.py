"""Response storage: a validated page saved in one transaction, resume codes, bulk import.

A page is saved by :func:`store_page` in **one transaction** (``Database.write``: on
SQLite ``BEGIN IMMEDIATE``): the Response row is created or locked, the page's answers
are replaced, and on the last page the response is completed. Because ``response_id`` is
unique, a retried or double-clicked submit finds the same row (already complete: nothing
is written); because ``completed_invitation_id`` is unique, parallel completions with one
invitation token commit once. A unique-constraint race rolls the transaction back and
tries again; the next attempt sees the committed winner. All statements are SQLAlchemy
Core (``INSERT ... ON CONFLICT`` through the SQLite and PostgreSQL dialects' inserts).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from questionnaires import Questionnaire
from questionnaires.conditions import holds
from surveyapp import audit, config, forms
from surveyapp import db as dbm
from surveyapp import models as m

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no I/L/O/U/0/1: easy to read aloud
CODE_LENGTH = 8
STORE_ATTEMPTS = 4


@dataclass
class Outcome:
    """What :func:`store_page` did."""

    kind: str  # saved | completed | already_complete | invitation_used | missing
    response_id: str
    resume_code: str | None = None
    values: dict[str, forms.Value] = field(default_factory=dict)
    page: int = 0  # for "missing": the first page with an unanswered required item


@dataclass(frozen=True)
class PageSave:
    """One validated page to store (see :func:`store_page`)."""

    response_id: str
    page_index: int
    values: dict[str, forms.Value | None]  # column -> value; None deletes the answer
    final: bool  # complete the response after saving
    language: str
    started_at: datetime
    honeypot: bool = False
    page_reached: int = 0
    source: str = "web"
    # segments of an anonymous response from a branch link (services.links.read_tag);
    # an invitation's response takes the invitation's
    segments: dict[str, str] | None = None
    # whether the sender may continue the response if it is stored and partial: its
    # invitation link, or the browser that started it or resumed it with its code
    owned: bool = True
    # page id -> its item ids in the order the page was shown (see :func:`shown_order`);
    # empty for a page in its listed order
    shown_order: dict[str, list[str]] = field(default_factory=dict)


class ResponseMismatch(Exception):
    """The posted response id belongs to another survey or invitation."""


class NotYours(Exception):
    """The posted response id is of a partial response the sender has not shown to be
    theirs (see :attr:`PageSave.owned`); nothing is written."""


class _Retry(Exception):
    """The transaction saw a state that a new one resolves; store_page tries again."""


# -- resume codes -------------------------------------------------------------------------
# random bytes below this are used (value modulo the alphabet's size), so that each
# character is equally likely; the rest are drawn again
_CODE_BYTE_LIMIT = 256 - 256 % len(CODE_ALPHABET)


def new_resume_code() -> str:
    """``CODE_LENGTH`` characters of ``CODE_ALPHABET``, each uniform and independent, from
    one read of the OS's random source (``secrets.choice`` per character costs a read
    each)."""
    code = ""
    while len(code) < CODE_LENGTH:
        code += "".join(
            CODE_ALPHABET[b % len(CODE_ALPHABET)]
            for b in secrets.token_bytes(2 * CODE_LENGTH)
            if b < _CODE_BYTE_LIMIT
        )
    return code[:CODE_LENGTH]


def normalise_code(raw: str) -> str:
    return re.sub(r"[\s-]", "", raw or "").upper()[:32]


def format_code(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def by_resume_code(s: Session, raw: str) -> m.Response | None:
    """The response of a resume code as typed (dashes, spaces and case ignored)."""
    return s.scalar(select(m.Response).where(m.Response.resume_code == normalise_code(raw)))


def by_response_id(s: Session, response_id: str) -> m.Response | None:
    return s.scalar(select(m.Response).where(m.Response.response_id == response_id))


def of_invitation(
    s: Session, invitation: m.Invitation
) -> tuple[m.Response | None, m.Response | None]:
    """The response that completed ``invitation``, and its latest partial one (or None)."""
    done = s.scalar(select(m.Response).where(m.Response.completed_invitation_id == invitation.id))
    partial = s.scalar(
        select(m.Response)
        .where(m.Response.invitation_id == invitation.id, m.Response.status == "partial")
        .order_by(m.Response.updated_at.desc())
        .limit(1)
    )
    return done, partial


def is_resume_code(code: str) -> bool:
    """Whether a normalised ``code`` has the form of a resume code."""
    return len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)


# -- storing a page -----------------------------------------------------------------------
def required_columns(
    q: Questionnaire,
    answers: Mapping[str, forms.Value] | None = None,
    params: Mapping[str, str] | None = None,
) -> list[tuple[int, str]]:
    """(page index, column) of every answer a complete response must have.

    Multiple-choice items always store all their columns (0/1) once their page is saved,
    so they count as answered through any one column. Given the response's ``answers``
    (and the link's ``params``), an item or page whose display condition does not hold
    is not applicable and requires nothing.
    """
    known = answers or {}
    given = params or {}
    out: list[tuple[int, str]] = []
    for i, page in enumerate(q.pages):
        if answers is not None and not holds(page.relevant, known, given):
            continue
        for item in page.items:
            if answers is not None and not holds(item.relevant, known, given):
                continue
            if item.required:
                cols = item.columns()
                out.extend((i, c) for c in (cols[:1] if item.type == "multiple_choice" else cols))
    return out


def not_applicable(
    q: Questionnaire, answers: Mapping[str, forms.Value], params: Mapping[str, str]
) -> set[str]:
    """The columns of items whose display condition (or their page's) does not hold,
    decided in questionnaire order: a hidden item's answers are not read by the items
    after it (as :func:`surveyapp.forms.check_page` decides a page)."""
    known = dict(answers)
    out: set[str] = set()
    for page in q.pages:
        page_hidden = not holds(page.relevant, known, params)
        for item in page.items:
            if page_hidden or not holds(item.relevant, known, params):
                out.update(item.columns())
                for col in item.columns():
                    known.pop(col, None)
    return out


def shown_order(q: Questionnaire, page_index: int, response_id: str) -> dict[str, list[str]]:
    """``{page id: item ids in the order shown}`` for page ``page_index`` of
    ``response_id`` if its order is random (``randomize``), else ``{}``: what
    :attr:`PageSave.shown_order` stores with the response (``Response.shown_order``)."""
    page = q.pages[page_index]
    if not page.randomize:
        return {}
    return {page.id: [item.id for item in page.shown_order(response_id)]}


def page_shown(
    q: Questionnaire, index: int, answers: Mapping[str, forms.Value], params: Mapping[str, str]
) -> bool:
    """Whether page ``index`` is shown (its condition holds on ``answers``)."""
    return holds(q.pages[index].relevant, answers, params)


def next_page(
    q: Questionnaire,
    index: int,
    step: int,
    answers: Mapping[str, forms.Value],
    params: Mapping[str, str],
) -> int | None:
    """The first shown page from ``index`` on in direction ``step`` (+1 or -1), or None."""
    while 0 <= index < len(q.pages):
        if page_shown(q, index, answers, params):
            return index
        index += step
    return None


def store_page(
    db: dbm.Database,
    survey: m.Survey,
    invitation: m.Invitation | None,
    save: PageSave,
    *,
    min_seconds: float = config.DEFAULTS["MIN_SECONDS"],
) -> Outcome:
    """Save one validated page in one transaction; complete the response if ``save.final``.

    ``min_seconds``: a completed response faster than this is flagged ``too_fast``, unless
    the survey sets its own minimum. Raises :class:`ResponseMismatch` if the response id
    belongs to another survey or invitation, :class:`NotYours` if it is a stored partial
    response and ``save.owned`` is false.
    """
    last_error: IntegrityError | _Retry | None = None
    for _ in range(STORE_ATTEMPTS):
        try:
            with db.write() as s:
                w = _Write(s.connection(), survey, invitation, save, min_seconds, m.utcnow())
                return _store(w)
        except (IntegrityError, _Retry) as exc:
            last_error = exc
    msg = "could not store the page after retries"
    raise RuntimeError(msg) from last_error


_R = cast(Table, m.Response.__table__)
_A = cast(Table, m.Answer.__table__)
_I = cast(Table, m.Invitation.__table__)

_LOCK_INVITATION = select(_I.c.id).where(_I.c.id == bindparam("inv")).with_for_update()
_RESPONSE_BY_ID = (
    select(
        _R.c.id,
        _R.c.survey_id,
        _R.c.invitation_id,
        _R.c.status,
        _R.c.resume_code,
        _R.c.page_reached,
        _R.c.suspect,
        _R.c.started_at,
        _R.c.shown_order,
    )  # fmt: skip
    .where(_R.c.response_id == bindparam("rid"))
    .with_for_update()
)
_INVITATION_WINNER = select(_R.c.response_id).where(
    _R.c.completed_invitation_id == bindparam("inv")
)
_DELETE_ANSWERS = delete(_A).where(
    _A.c.response_pk == bindparam("pk"), _A.c.column.in_(bindparam("cols", expanding=True))
)
_STORED_ANSWERS = select(_A.c.column, _A.c.num, _A.c.text).where(
    _A.c.response_pk == bindparam("pk")
)
# ON CONFLICT (response_id) only: any other unique clash (a completed invitation's twin, a
# resume code) still fails, and store_page retries
_INSERT_NEW_RESPONSE = {
    "sqlite": sqlite_insert(_R)
    .on_conflict_do_nothing(index_elements=["response_id"])
    .returning(_R.c.id),
    "postgresql": pg_insert(_R)
    .on_conflict_do_nothing(index_elements=["response_id"])
    .returning(_R.c.id),
}
_UPDATE_RESPONSE = update(_R).where(_R.c.id == bindparam("b_pk"))
_INVITATION_USED = update(_I).where(_I.c.id == bindparam("b_inv"))


@dataclass(frozen=True)
class _Write:
    """One store_page attempt: the page, where it goes, and when."""

    conn: Connection
    survey: m.Survey
    invitation: m.Invitation | None
    save: PageSave
    min_seconds: float
    now: datetime

    @property
    def inv_id(self) -> int | None:
        return self.invitation.id if self.invitation is not None else None


def _store(w: _Write) -> Outcome:
    fresh = True
    if w.inv_id is not None:
        # lock the token first: every transaction of one invitation then runs in turn
        # (on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers). Locking it
        # late would deadlock: each insert of a response takes a key-share lock on the
        # invitation through the foreign key, which a later FOR UPDATE waits for.
        w.conn.execute(_LOCK_INVITATION, {"inv": w.inv_id})
        fresh = w.conn.execute(_INVITATION_WINNER, {"inv": w.inv_id}).scalar() is None
    if fresh:
        # the usual case, a response's first save: insert it straight away; a response
        # id already stored inserts nothing and takes the update path below
        outcome = _insert_new(w)
        if outcome is not None:
            return outcome
    return _store_existing(w)


def _insert_new(w: _Write) -> Outcome | None:
    """Insert the response of a first save; None if its response id is already stored."""
    save = w.save
    answers = {c: v for c, v in save.values.items() if v is not None}
    started = min(save.started_at, w.now)
    fields: dict[str, Any] = {
        "language": save.language,
        "updated_at": w.now,
        "page_reached": save.page_reached,
    }
    suspect = {"honeypot": True} if save.honeypot else {}
    kind, page = _finish(w, answers, started, suspect, fields)
    row = {
        "response_id": save.response_id,
        "survey_id": w.survey.id,
        "invitation_id": w.inv_id,
        "completed_invitation_id": None,
        "status": fields.pop("status", "partial"),
        "started_at": started,
        "submitted_at": None,
        "resume_code": new_resume_code(),
        "segments": dict(w.invitation.segments)
        if w.invitation is not None
        else dict(save.segments or {}),
        "quarantined": False,
        "source": save.source,
        "shown_order": dict(save.shown_order) or None,
        **fields,
    }
    pk = w.conn.execute(_INSERT_NEW_RESPONSE[w.conn.dialect.name], row).scalar()
    if pk is None:
        return None
    _insert_answers(w, pk, answers, kind)
    return Outcome(kind, save.response_id, row["resume_code"], answers, page=page)


def _finish(
    w: _Write,
    stored: dict[str, forms.Value],
    started: datetime,
    suspect: dict[str, Any],
    fields: dict[str, Any],
) -> tuple[str, int]:
    """Complete the response in ``fields`` if this is a final save with nothing missing.

    Sets status, submission time, the invitation it completes, the too-fast flag in
    ``suspect``, ``suspect``, ``values_json`` and (on completion) ``not_applicable``;
    returns the outcome's kind and page.
    """
    kind, page = "saved", 0
    if w.save.final:
        params = dict(w.invitation.segments) if w.invitation is not None else {}
        required = required_columns(w.survey.questionnaire(), stored, params)
        missing = [p for p, c in required if c not in stored]
        if missing:
            # the page itself was valid and is saved; the respondent is sent back
            kind, page = "missing", missing[0]
        else:
            kind = "completed"
            # the columns of items whose condition does not hold are recorded as not
            # applicable; answers to them (given before the condition changed) are not
            # part of the completed response
            skipped = not_applicable(w.survey.questionnaire(), stored, params)
            for col in skipped:
                stored.pop(col, None)
            fields["not_applicable"] = sorted(skipped)
            minimum = w.survey.min_seconds
            if minimum is None:
                minimum = w.min_seconds
            if (w.now - started).total_seconds() < minimum:
                suspect["too_fast"] = True
            fields |= {"status": "complete", "submitted_at": w.now}
            fields["completed_invitation_id"] = w.inv_id  # UNIQUE: a racing twin fails here
    fields["suspect"] = suspect
    fields["values_json"] = m.encode_values(stored)  # the answers after this page
    return kind, page


def _insert_answers(w: _Write, pk: int, answers: dict[str, forms.Value], kind: str) -> None:
    if answers:
        rows = [
            {"response_pk": pk, "column": c, "num": None, "text": v}
            if isinstance(v, str)
            else {"response_pk": pk, "column": c, "num": float(v), "text": None}
            for c, v in answers.items()
        ]
        w.conn.execute(insert(_A), rows)
    if kind == "completed" and w.inv_id is not None:
        w.conn.execute(_INVITATION_USED, {"b_inv": w.inv_id, "used_at": w.now})


def _store_existing(w: _Write) -> Outcome:
    """A later save of a stored response (or a first one that lost a race)."""
    conn, save = w.conn, w.save
    rid = save.response_id
    row = conn.execute(_RESPONSE_BY_ID, {"rid": rid}).first()
    if row is not None:
        if row.survey_id != w.survey.id or row.invitation_id != w.inv_id:
            raise ResponseMismatch
        if row.status == "complete":
            return Outcome("already_complete", rid, row.resume_code)
        if not save.owned:
            raise NotYours
    if w.inv_id is not None:
        winner = conn.execute(_INVITATION_WINNER, {"inv": w.inv_id}).scalar()
        if winner is not None and winner != rid:
            return Outcome("invitation_used", rid)
    if row is None:
        # gone since the insert found it (a rolled-back twin): start over in a new
        # transaction, which sees the current state
        msg = "response vanished between insert and look-up"
        raise _Retry(msg)
    answers = {c: v for c, v in save.values.items() if v is not None}
    conn.execute(_DELETE_ANSWERS, {"pk": row.id, "cols": list(save.values)})
    stored = {**_stored_values(conn, row.id), **answers}
    suspect = dict(row.suspect or {})
    if save.honeypot:
        suspect["honeypot"] = True
    fields: dict[str, Any] = {"language": save.language, "updated_at": w.now}
    fields["page_reached"] = max(row.page_reached, save.page_reached)
    if save.shown_order:
        fields["shown_order"] = {**(row.shown_order or {}), **save.shown_order}
    kept = set(stored)
    kind, page = _finish(w, stored, row.started_at, suspect, fields)
    dropped = kept - set(stored)
    if dropped:  # answers of items that no longer apply
        conn.execute(_DELETE_ANSWERS, {"pk": row.id, "cols": sorted(dropped)})
        answers = {c: v for c, v in answers.items() if c not in dropped}
    conn.execute(_UPDATE_RESPONSE, {"b_pk": row.id, **fields})
    _insert_answers(w, row.id, answers, kind)
    return Outcome(kind, rid, row.resume_code, stored, page=page)


def _stored_values(conn: Connection, response_pk: int) -> dict[str, forms.Value]:
    rows = conn.execute(_STORED_ANSWERS, {"pk": response_pk}).all()
    return {c: (t if t is not None else float(n or 0.0)) for c, n, t in rows}


def stored_values(s: Session, response_pk: int) -> dict[str, forms.Value]:
    """The stored answers of a response (column -> value)."""
    return _stored_values(s.connection(), response_pk)


# -- test responses (given in preview) -------------------------------------------------------
def count_test_responses(s: Session, survey_id: int) -> int:
    """How many test responses (given in preview) ``survey_id`` holds."""
    query = select(func.count()).where(
        m.Response.survey_id == survey_id, m.Response.source == m.TEST_SOURCE
    )
    return int(s.scalar(query) or 0)


def delete_test_responses(db: dbm.Database, survey_id: int, *, user_id: int | None) -> int:
    """Delete every test response of ``survey_id`` (with their answers) in one
    transaction, with one audit record; returns how many there were."""
    with db.write() as s:
        gone = s.execute(
            delete(m.Response)
            .where(m.Response.survey_id == survey_id, m.Response.source == m.TEST_SOURCE)
            .returning(m.Response.id)
        ).all()
        detail = {"survey_id": survey_id, "test_responses": len(gone)}
        audit.record(
            s, "deleted", object_type="survey", object_id=survey_id,
            detail=detail, user_id=user_id,
        )  # fmt: skip
    return len(gone)


# -- bulk import (simulated or imported data in the export format) -------------------------
def import_frame(
    db: dbm.Database, survey: m.Survey, frame: Any, *, source: str = "import", batch: int = 2000
) -> int:
    """Store a tidy frame in the export format (META_COLUMNS, then the instrument's
    columns) as responses of ``survey``; return the number stored.

    Every value is checked against the instrument first (as a web post would be); the
    whole frame is stored in one transaction or, on any problem, not at all.
    """
    import pandas as pd  # only for bulk imports: the web app does not load pandas

    q = survey.questionnaire()
    checks = forms.column_checks(q)
    text_cols = {c for i in q.items if i.type in ("single_choice", "text") for c in i.columns()}
    conditional = any(p.relevant for p in q.pages) or any(i.relevant for i in q.items)
    missing = [c for c in ("response_id", *checks) if c not in frame.columns]
    if missing:
        msg = f"the frame lacks the export columns {missing[:5]}; see Questionnaire.columns()."
        raise ValueError(msg)
    responses: list[dict[str, Any]] = []
    answers: list[tuple[str, str, forms.Value]] = []
    now = m.utcnow()
    for row_no, row in enumerate(frame.itertuples(index=False), start=1):
        rec = row._asdict()
        rid = str(rec["response_id"])
        values: dict[str, forms.Value] = {}
        for col, fn in checks.items():
            raw = rec[col]
            if raw is None or raw is pd.NA or (isinstance(raw, float) and raw != raw):
                continue
            value: forms.Value = str(raw) if col in text_cols else float(raw)
            if not fn(value):
                msg = f"row {row_no}, column {col!r}: {raw!r} is not a valid answer."
                raise ValueError(msg)
            values[col] = value
        started = _timestamp(rec.get("started_at"), now)
        submitted = _timestamp(rec.get("submitted_at"), None)
        status = str(rec.get("status") or "complete")
        status = status if status in m.RESPONSE_STATUSES else "complete"
        skipped: set[str] = set()
        if conditional and status == "complete":  # as a completed web response
            skipped = not_applicable(q, values, {})
            values = {c: v for c, v in values.items() if c not in skipped}
        answers.extend((rid, col, v) for col, v in values.items())
        suspect = rec.get("suspect")
        responses.append(
            {
                "response_id": rid,
                "survey_id": survey.id,
                "status": status,
                "language": str(rec.get("language") or "zh-Hans"),
                "started_at": started,
                "updated_at": now,  # the write: the reports' data version reads it
                "submitted_at": submitted if status == "complete" else None,
                "page_reached": len(q.pages) - 1,
                "resume_code": None,
                "segments": {},
                "suspect": {"flagged": True} if suspect is True else {},
                "quarantined": False,
                "source": source,
                "values_json": m.encode_values(values),
                "not_applicable": sorted(skipped) if status == "complete" else None,
            }
        )
    with db.write() as s:
        for start in range(0, len(responses), batch):
            s.connection().execute(insert(_R), responses[start : start + batch])
        ids = dict(
            s.execute(
                select(m.Response.response_id, m.Response.id).where(
                    m.Response.survey_id == survey.id, m.Response.source == source
                )
            ).all()
        )
        rows = [
            {
                "response_pk": ids[rid],
                "column": col,
                "num": None if isinstance(v, str) else v,
                "text": v if isinstance(v, str) else None,
            }
            for rid, col, v in answers
        ]
        for start in range(0, len(rows), batch * 20):
            s.connection().execute(insert(_A), rows[start : start + batch * 20])
    return len(responses)


def _timestamp(raw: Any, default: datetime | None) -> datetime | None:
    if raw is None or not isinstance(raw, str | datetime) or raw == "":
        return default
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
