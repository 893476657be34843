"""The ``survey`` blueprint: questionnaire pages for respondents (public).

URLs
----
``/s/<slug>``      an anonymous survey (GET shows the first page, POST saves a page)
``/i/<token>``     a personal invitation (same, one completed response per token)
``/r/<code>``      resume a saved response by its link or short code
``/resume``        type a resume code
``/s/<slug>/thanks``  the thank-you page

How a response is stored
------------------------
The first page carries a fresh UUID (``response_id``, hidden) and a signed start time.
Every POST of a page is validated as a whole against the questionnaire
(:mod:`surveyapp.forms`); an invalid page is shown again with the errors next to the
items and nothing is written. A valid page is saved in **one transaction**
(:func:`store_page`): the Response row is created or locked, the page's answers are
replaced, and on the last page the response is completed. Because ``response_id`` is
unique, a retried or double-clicked submit finds the same row (already complete: the
thank-you page, nothing written); because ``completed_invitation_id`` is unique, parallel
completions with one invitation token commit once.

The hot path, a response's first save on an anonymous link (every submission of a
one-page survey), runs on the bare driver (:func:`_insert_first_save`): on SQLite one
``BEGIN IMMEDIATE`` transaction, on PostgreSQL a single statement; it may use the survey
this process read less than :data:`SURVEY_CACHE_SECONDS` ago, and stores the save only
while the survey row is still the one read (else nothing is written and the request
starts over with a fresh read). Every other save takes the general path through
SQLAlchemy. bench/README.md ("Survey submission") has the measurements.
"""

from __future__ import annotations

import functools
import re
import secrets
import time
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Connection, Table, bindparam, delete, insert, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from questionnaires import Questionnaire
from surveyapp import db as dbm
from surveyapp import forms
from surveyapp import models as m
from surveyapp.i18n import current_language, set_language_for

bp = Blueprint("survey", __name__)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"  # no I/L/O/U/0/1: easy to read aloud
CODE_LENGTH = 8
ACTIONS = ("next", "back", "save", "submit")
STORE_ATTEMPTS = 4


# -- storage ------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What :func:`store_page` did."""

    kind: str  # saved | completed | already_complete | invitation_used | missing
    response_id: str
    resume_code: str | None = None
    values: dict[str, forms.Value] = field(default_factory=dict)
    page: int = 0  # for "missing": the first page with an unanswered required item


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


def required_columns(q: Questionnaire) -> list[tuple[int, str]]:
    """(page index, column) of every answer a complete response must have.

    Multiple-choice items always store all their columns (0/1) once their page is saved,
    so they count as answered through any one column.
    """
    out: list[tuple[int, str]] = []
    for i, page in enumerate(q.pages):
        for item in page.items:
            if item.required:
                cols = item.columns()
                out.extend((i, c) for c in (cols[:1] if item.type == "multiple_choice" else cols))
    return out


_REQUIRED: dict[str, list[tuple[int, str]]] = {}


def _required(q: Questionnaire) -> list[tuple[int, str]]:
    """:func:`required_columns`, cached by the instrument's content hash."""
    found = _REQUIRED.get(q.content_hash)
    if found is None:
        if len(_REQUIRED) >= 64:
            _REQUIRED.pop(next(iter(_REQUIRED)))
        found = _REQUIRED[q.content_hash] = required_columns(q)
    return found


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


def store_page(
    db: dbm.Database,
    survey: m.Survey,
    invitation: m.Invitation | None,
    save: PageSave,
    *,
    seen: SurveyRow | None = None,
) -> Outcome:
    """Save one validated page in one transaction; complete the response if ``save.final``.

    A unique-constraint race (two first saves of one new response, two completions of one
    invitation) rolls the transaction back and tries again; the second attempt sees the
    committed winner and answers accordingly.

    ``seen``: the survey row as it was read for this request. The fast path stores a
    response's first save only while that row is unchanged. A survey served from the
    short cache (``seen.cached``) is used for nothing else: if the fast path did not
    store the page (the survey changed, the response id is already stored, a unique
    clash), :class:`SurveyChanged` is raised and the request starts over with a fresh
    read, which takes the general path where needed (as a freshly read survey does).
    """
    if invitation is None and save.page_index == 0:
        outcome = _insert_first_save(db, survey, save, seen)
        if outcome is not None:
            return outcome
    if seen is not None and seen.cached:
        raise SurveyChanged
    last_error: IntegrityError | _Retry | None = None
    for _ in range(STORE_ATTEMPTS):
        try:
            with db.write() as s:
                return _store(s, survey, invitation, save)
        except (IntegrityError, _Retry) as exc:
            last_error = exc
    msg = "could not store the page after retries"
    raise RuntimeError(msg) from last_error


class _Mismatch(Exception):
    """The posted response id belongs to another survey or invitation."""


class SurveyChanged(Exception):
    """A survey served from the cache was changed (or the save needs more than a first
    save's fast path): nothing was stored; read the survey again and start over."""


@dataclass(frozen=True)
class SurveyRow:
    """The survey row as read: the raw row (SQLite) or its version (PostgreSQL's
    ``xmin``, as text: every update of a row writes a new version), compared with the
    stored row when a page is saved; ``cached``: served from the short cache rather than
    read for this request."""

    row: Any
    cached: bool = False


class _Retry(Exception):
    """The transaction saw a state that a new one resolves; store_page tries again."""


_R = cast(Table, m.Response.__table__)
_A = cast(Table, m.Answer.__table__)
_I = cast(Table, m.Invitation.__table__)

# The statements of the hot path, built once: values travel as execution parameters, so
# each request skips building, coercing and cache-keying a fresh statement (with literal
# .values() that cost more than running it). The columns set by an INSERT/UPDATE are the
# keys of the parameter dict; each distinct key set is compiled once and cached.
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
_INSERT_NEW_RESPONSE = {
    "sqlite": sqlite_insert(_R).on_conflict_do_nothing(index_elements=["response_id"]),
    "postgresql": pg_insert(_R).on_conflict_do_nothing(index_elements=["response_id"]),
}
_INSERT_NEW_RESPONSE = {k: v.returning(_R.c.id) for k, v in _INSERT_NEW_RESPONSE.items()}
_UPDATE_RESPONSE = update(_R).where(_R.c.id == bindparam("b_pk"))
# The answers of a page, SQLite: one prepared statement run by the driver's executemany
# of _answer_rows. (SQLAlchemy's batched multi-row INSERT costs more in its per-row
# parameter processing than SQLite takes to run it.)
_INSERT_ANSWERS_SQLITE = 'INSERT INTO answer (response_pk, "column", num, text) VALUES (?, ?, ?, ?)'
# PostgreSQL: the answer rows of a JSON object {column: value} (encode_values), read by
# json_each in the statement itself: one short statement and one parameter, where a
# batched multi-row INSERT is ~5 kB of SQL with 165 parameters (psycopg re-parsed it on
# every page, ~0.9 ms) and three arrays cost ~0.3 ms to encode. Numbers are exact:
# encode_values writes each float's shortest round-trip text, which float8 reads back to
# the same double. ``{pk}`` and ``{source}`` are filled in by the two statements below.
_PG_ANSWER_ROWS = (
    'INSERT INTO answer (response_pk, "column", num, text) SELECT {pk}, v.key, '
    "CASE json_typeof(v.value) WHEN 'number' THEN CAST(CAST(v.value AS TEXT) AS FLOAT8) END, "
    "CASE json_typeof(v.value) WHEN 'string' THEN v.value #>> '{{}}' END "
    "FROM {source}json_each(CAST(:{param} AS JSON)) AS v"
)
_INSERT_ANSWERS_PG = sql_text(_PG_ANSWER_ROWS.format(pk=":pk", source="", param="answers"))


def _answer_rows(pk: int, answers: dict[str, forms.Value]) -> list[tuple[Any, ...]]:
    """The rows of _INSERT_ANSWERS_SQLITE: (response pk, column, number, text)."""
    return [
        (pk, c, None, v) if isinstance(v, str) else (pk, c, float(v), None)
        for c, v in answers.items()
    ]


_INVITATION_USED = update(_I).where(_I.c.id == bindparam("b_inv"))


def _store(
    s: Session, survey: m.Survey, invitation: m.Invitation | None, save: PageSave
) -> Outcome:
    # SQLAlchemy Core rather than the ORM: this is the hot path of every submission, and
    # the unit of work costs more than the statements themselves.
    conn = s.connection()
    now = m.utcnow()
    inv_id = invitation.id if invitation is not None else None
    fresh = True
    if inv_id is not None:
        # lock the token first: every transaction of one invitation then runs in turn
        # (on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers). Locking it
        # late would deadlock: each insert of a response takes a key-share lock on the
        # invitation through the foreign key, which a later FOR UPDATE waits for.
        conn.execute(_LOCK_INVITATION, {"inv": inv_id})
        fresh = conn.execute(_INVITATION_WINNER, {"inv": inv_id}).scalar() is None
    if fresh:
        # the usual case, a response's first save: insert it straight away (one statement
        # instead of a locking look-up first); a response id already stored inserts
        # nothing and takes the update path below
        outcome = _insert_new(conn, survey, invitation, save, now)
        if outcome is not None:
            return outcome
    return _store_existing(s, survey, invitation, save, now)


def _new_response(
    survey: m.Survey, invitation: m.Invitation | None, save: PageSave, now: datetime
) -> tuple[dict[str, Any], dict[str, forms.Value], str, int]:
    """The Response row of a first save (column key -> value), its answers, and the
    outcome's kind and page."""
    answers = {c: v for c, v in save.values.items() if v is not None}
    started = min(save.started_at, now)
    fields: dict[str, Any] = {"language": save.language, "updated_at": now}
    fields["page_reached"] = save.page_reached
    suspect = {"honeypot": True} if save.honeypot else {}
    inv_id = invitation.id if invitation is not None else None
    kind, page = _finish(survey, save, answers, started, now, suspect, fields, inv_id)
    row = {
        "response_id": save.response_id,
        "survey_id": survey.id,
        "invitation_id": inv_id,
        "completed_invitation_id": None,
        "status": fields.pop("status", "partial"),
        "started_at": started,
        "submitted_at": None,
        "resume_code": new_resume_code(),
        "segments": dict(invitation.segments) if invitation is not None else {},
        "quarantined": False,
        "source": save.source,
        **fields,
    }
    return row, answers, kind, page


def _insert_new(
    conn: Connection,
    survey: m.Survey,
    invitation: m.Invitation | None,
    save: PageSave,
    now: datetime,
) -> Outcome | None:
    """Insert the response of a first save; None if its response id is already stored."""
    row, answers, kind, page = _new_response(survey, invitation, save, now)
    # ON CONFLICT (response_id) only: any other unique clash (a completed invitation's
    # twin, a resume code) still fails, and store_page retries
    statement = _INSERT_NEW_RESPONSE[conn.dialect.name]
    pk = conn.execute(statement, row).scalar()
    if pk is None:
        return None
    inv_id = invitation.id if invitation is not None else None
    _insert_answers(conn, pk, answers, kind, inv_id, now)
    return Outcome(kind, save.response_id, row["resume_code"], answers, page=page)


# The first save of an anonymous response, on the bare driver (db.DriverTable): the
# submission's hot path. A response id already stored inserts nothing (then store_page
# takes its general path). SQLite: BEGIN IMMEDIATE, this INSERT, the answers by the
# driver's executemany, COMMIT. PostgreSQL: response and answers in ONE statement, run in
# autocommit as one transaction (one round trip, safe to send twice: see
# Database.on_driver); the answer rows are read out of the response's values_json
# (_PG_ANSWER_ROWS), the same text the response row stores, so the two cannot disagree.
_NEW_KEYS = (
    "response_id", "survey_id", "invitation_id", "completed_invitation_id", "status",
    "language", "started_at", "updated_at", "submitted_at", "page_reached", "resume_code",
    "segments", "suspect", "quarantined", "source", "values_json",
)  # fmt: skip
_NEW_INSERT = (
    f"INSERT INTO response ({', '.join(_NEW_KEYS)}) "
    f"VALUES ({', '.join(':' + k for k in _NEW_KEYS)}) "
    "ON CONFLICT (response_id) DO NOTHING RETURNING id"
)
_PG_ANSWERS = (
    f"a AS ({_PG_ANSWER_ROWS.format(pk='r.id', source='r, ', param='values_json')}) "
    "SELECT id FROM r"
)


@functools.lru_cache(maxsize=8)  # per engine's dialect and guard: a few in a process
def _new_sql(dialect: Dialect, guarded: bool) -> str:
    """The first save's statement for ``dialect`` (driver parameter style). ``guarded``:
    on PostgreSQL the response is inserted only while the survey row is still the one
    read (``:survey_row``, the row's version); SQLite checks that in its transaction."""
    if dialect.name == "sqlite":
        return dbm.driver_sql(_NEW_INSERT, "sqlite")
    # INSERT ... SELECT, so that a guard can be its WHERE; the parameters are typed by
    # explicit casts (a SELECT list does not take the target columns' types, e.g. NULL)
    casts = ", ".join(
        f"CAST(:{k} AS {_R.c[k].type.dialect_impl(dialect).compile(dialect=dialect)})"
        for k in _NEW_KEYS
    )
    guard = (
        "WHERE EXISTS (SELECT 1 FROM survey WHERE survey.id = :survey_id "
        "AND CAST(survey.xmin AS TEXT) = :survey_row) "
        if guarded
        else ""
    )
    insert = (
        f"INSERT INTO response ({', '.join(_NEW_KEYS)}) SELECT {casts} {guard}"
        "ON CONFLICT (response_id) DO NOTHING RETURNING id"
    )
    return dbm.driver_sql(f"WITH r AS ({insert}), {_PG_ANSWERS}", dialect.name)


def _insert_first_save(
    db: dbm.Database, survey: m.Survey, save: PageSave, seen: SurveyRow | None
) -> Outcome | None:
    """Store the first save of an anonymous response on the bare driver; None if nothing
    was stored: its response id exists, a unique clash such as a resume code, or (with
    ``seen``) the survey row is no longer the one read. :func:`store_page` decides what
    follows."""
    dialect = db.engine.dialect
    if dialect.name not in ("sqlite", "postgresql"):  # pragma: no cover - not supported
        return None
    now = m.utcnow()
    row, answers, kind, page = _new_response(survey, None, save, now)
    params = db.driver_table(_R).params(row)
    sql = _new_sql(dialect, seen is not None)
    integrity_error = dialect.loaded_dbapi.IntegrityError

    def on_postgres(raw: Any) -> bool:
        if seen is not None:
            params["survey_row"] = seen.row
        with raw.cursor() as cur:
            try:
                cur.execute(sql, params)
            except integrity_error:
                return False
            return bool(cur.fetchall())

    def on_sqlite(raw: Any) -> bool:
        raw.execute("BEGIN IMMEDIATE")
        try:
            if seen is not None and seen.row != _sqlite_survey_row(raw, survey.id):
                raw.rollback()
                return False
            stored = raw.execute(sql, params).fetchall()
            if stored:
                pk = stored[0][0]
                raw.executemany(_INSERT_ANSWERS_SQLITE, _answer_rows(pk, answers))
            raw.execute("COMMIT")
        except integrity_error:
            raw.rollback()
            return False
        except BaseException:
            raw.rollback()
            raise
        return bool(stored)

    work = on_postgres if dialect.name == "postgresql" else on_sqlite
    if not db.on_driver(work, write=True):
        return None
    return Outcome(kind, save.response_id, row["resume_code"], answers, page=page)


def _finish(
    survey: m.Survey,
    save: PageSave,
    stored: dict[str, forms.Value],
    started: datetime,
    now: datetime,
    suspect: dict[str, Any],
    fields: dict[str, Any],
    inv_id: int | None,
) -> tuple[str, int]:
    """Complete the response in ``fields`` if this is a final save with nothing missing.

    Sets status, submission time, the invitation it completes, the too-fast flag in
    ``suspect``, ``suspect`` and ``values_json``; returns the outcome's kind and page.
    """
    kind, page = "saved", 0
    if save.final:
        missing = [p for p, c in _required(survey.questionnaire()) if c not in stored]
        if missing:
            # the page itself was valid and is saved; the respondent is sent back
            kind, page = "missing", missing[0]
        else:
            kind = "completed"
            minimum = survey.min_seconds
            if minimum is None:
                minimum = float(current_app.config["MIN_SECONDS"])
            if (now - started).total_seconds() < minimum:
                suspect["too_fast"] = True
            fields |= {"status": "complete", "submitted_at": now}
            fields["completed_invitation_id"] = inv_id  # UNIQUE: a racing twin fails here
    fields["suspect"] = suspect
    fields["values_json"] = m.encode_values(stored)  # the answers after this page
    return kind, page


def _insert_answers(
    conn: Connection,
    pk: int,
    answers: dict[str, forms.Value],
    kind: str,
    inv_id: int | None,
    now: datetime,
) -> None:
    if answers and conn.dialect.name == "postgresql":
        conn.execute(_INSERT_ANSWERS_PG, {"pk": pk, "answers": m.encode_values(answers)})
    elif answers:
        conn.exec_driver_sql(_INSERT_ANSWERS_SQLITE, _answer_rows(pk, answers))
    if kind == "completed" and inv_id is not None:
        conn.execute(_INVITATION_USED, {"b_inv": inv_id, "used_at": now})


def _store_existing(
    s: Session,
    survey: m.Survey,
    invitation: m.Invitation | None,
    save: PageSave,
    now: datetime,
) -> Outcome:
    """A later save of a stored response (or a first one that lost a race)."""
    conn = s.connection()
    rid = save.response_id
    inv_id = invitation.id if invitation is not None else None
    row = conn.execute(_RESPONSE_BY_ID, {"rid": rid}).first()
    if row is not None:
        if row.survey_id != survey.id or row.invitation_id != inv_id:
            raise _Mismatch
        if row.status == "complete":
            return Outcome("already_complete", rid, row.resume_code)
    if inv_id is not None:
        winner = conn.execute(_INVITATION_WINNER, {"inv": inv_id}).scalar()
        if winner is not None and winner != rid:
            return Outcome("invitation_used", rid)
    if row is None:
        # gone since the insert found it (a rolled-back twin): start over in a new
        # transaction, which sees the current state
        msg = "response vanished between insert and look-up"
        raise _Retry(msg)
    answers = {c: v for c, v in save.values.items() if v is not None}
    conn.execute(_DELETE_ANSWERS, {"pk": row.id, "cols": list(save.values)})
    stored = {**_stored_values(s, row.id), **answers}
    suspect = dict(row.suspect or {})
    if save.honeypot:
        suspect["honeypot"] = True
    fields: dict[str, Any] = {"language": save.language, "updated_at": now}
    fields["page_reached"] = max(row.page_reached, save.page_reached)
    kind, page = _finish(survey, save, stored, row.started_at, now, suspect, fields, inv_id)
    conn.execute(_UPDATE_RESPONSE, {"b_pk": row.id, **fields})
    _insert_answers(conn, row.id, answers, kind, inv_id, now)
    return Outcome(kind, rid, row.resume_code, stored, page=page)


def get_or_create_snapshot(s: Session, q: Questionnaire) -> m.QuestionnaireSnapshot:
    """The stored snapshot of ``q`` (by content hash), created if new."""
    snap = m.QuestionnaireSnapshot.from_questionnaire(q)
    found = s.scalar(
        select(m.QuestionnaireSnapshot).where(
            m.QuestionnaireSnapshot.content_hash == snap.content_hash
        )
    )
    if found is not None:
        return found
    s.add(snap)
    s.flush()
    return snap


def create_survey(
    s: Session,
    q: Questionnaire,
    *,
    slug: str,
    access: str = "anonymous",
    status: str = "open",
    wave: str | None = None,
    study: m.Study | None = None,
    languages: list[str] | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    title: str | None = None,
) -> m.Survey:
    """Store ``q`` as a snapshot and a survey of it (in the caller's transaction)."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", slug):
        msg = f"survey slug must be 1-64 letters, digits, '-' or '_'; got {slug!r}."
        raise ValueError(msg)
    survey = m.Survey(
        slug=slug,
        title=title,
        snapshot=get_or_create_snapshot(s, q),
        study=study,
        audience=q.audience,
        wave=wave,
        languages=list(languages or ("zh-Hans", "en")),
        opens_at=opens_at,
        closes_at=closes_at,
        status=status,
        access=access,
    )
    s.add(survey)
    s.flush()
    return survey


def create_invitations(
    s: Session, survey: m.Survey, segments: list[dict[str, Any]], *, recipient_key: str = "email"
) -> list[m.Invitation]:
    """One invitation per mapping of segment values (``recipient_key`` is kept apart)."""
    out = []
    for seg in segments:
        seg = dict(seg)
        recipient = seg.pop(recipient_key, None)
        inv = m.Invitation(
            token=secrets.token_urlsafe(24),
            survey_id=survey.id,
            recipient=recipient,
            segments=seg,
        )
        s.add(inv)
        out.append(inv)
    s.flush()
    return out


def _stored_values(s: Session, response_pk: int) -> dict[str, forms.Value]:
    rows = s.connection().execute(_STORED_ANSWERS, {"pk": response_pk}).all()
    return {c: (t if t is not None else float(n or 0.0)) for c, n, t in rows}


# -- request helpers ----------------------------------------------------------------------
def _serializer() -> URLSafeSerializer:
    return _serializer_of(current_app.secret_key)


@functools.lru_cache(maxsize=16)
def _serializer_of(key: Any) -> URLSafeSerializer:
    """The start-time signer of a secret key (made once per key: building one costs more
    than signing)."""
    return URLSafeSerializer(key, salt="manyi-started-at")


def _start_token(at: float | None = None) -> str:
    return str(_serializer().dumps(round(at if at is not None else time.time(), 3)))


def _started_at(token: str | None) -> datetime:
    """The start time a page's token holds (now if it is missing, forged or unreadable;
    never later than now)."""
    now = time.time()
    ts = now
    if token:
        try:
            ts = float(_serializer().loads(token))
        except (BadSignature, TypeError, ValueError):
            pass
    return datetime.fromtimestamp(min(ts, now), UTC)


_S = cast(Table, m.Survey.__table__)
_SURVEY_KEYS = [c.key for c in _S.c]
# the survey of a slug with its snapshot's content hash, on the bare driver (a hot path);
# PostgreSQL also reads the row's version (xmin), for the first save's guard (_new_sql):
# cheaper for the database to compare than the whole row as text
_SURVEY_SELECT = (
    f"SELECT {', '.join(f'survey.{c.name}' for c in _S.c)}, questionnaire_snapshot.content_hash"
)
_SURVEY_FROM = (
    " FROM survey JOIN questionnaire_snapshot"
    " ON questionnaire_snapshot.id = survey.snapshot_id WHERE "
)
_SURVEY_BY_SLUG = {
    "sqlite": _SURVEY_SELECT + _SURVEY_FROM + "survey.slug = :slug",
    "postgresql": _SURVEY_SELECT
    + ", CAST(survey.xmin AS TEXT)"
    + _SURVEY_FROM
    + "survey.slug = :slug",
}
_SQLITE_SURVEY_BY_ID = _SURVEY_SELECT + _SURVEY_FROM + "survey.id = :id"
# content hash -> snapshot (detached, fully loaded): snapshots never change, and the hash
# read with every survey row says which one it is, so this cannot serve a stale one
_SNAPSHOT_OBJECTS: dict[str, m.QuestionnaireSnapshot] = {}


def _sqlite_survey_row(raw: Any, survey_id: int) -> tuple[Any, ...] | None:
    """The survey's raw row now (as :func:`_read_survey` reads it), on a driver connection."""
    row = raw.execute(_SQLITE_SURVEY_BY_ID, {"id": survey_id}).fetchone()
    return tuple(row) if row is not None else None


def _snapshot(db: dbm.Database, content_hash: str) -> m.QuestionnaireSnapshot:
    snap = _SNAPSHOT_OBJECTS.get(content_hash)
    if snap is None:
        with db.sessions() as s:
            snap = s.scalars(
                select(m.QuestionnaireSnapshot).where(
                    m.QuestionnaireSnapshot.content_hash == content_hash
                )
            ).one()
        if len(_SNAPSHOT_OBJECTS) >= 64:
            _SNAPSHOT_OBJECTS.pop(next(iter(_SNAPSHOT_OBJECTS)))
        _SNAPSHOT_OBJECTS[content_hash] = snap
    return snap


# The short survey cache of the answer posts. Reading the survey costs about a tenth of a
# submission (on PostgreSQL a round trip); a first-page POST may use a survey read less
# than SURVEY_CACHE_SECONDS ago by this process, because its save is stored only while
# the survey row is unchanged (store_page's ``seen``): a survey closed, re-dated or
# otherwise changed meanwhile is read again and the request decided anew. Per database.
SURVEY_CACHE_SECONDS = 5.0
_SURVEY_CACHE: weakref.WeakKeyDictionary[dbm.Database, dict[str, tuple[float, m.Survey, Any]]]
_SURVEY_CACHE = weakref.WeakKeyDictionary()


def _cached_survey(slug: str) -> tuple[m.Survey, SurveyRow] | None:
    """The survey of ``slug`` from the short cache, if read recently, open now and
    anonymous (anything else is read afresh, and handled as read)."""
    found = _SURVEY_CACHE.get(dbm.get_db(), {}).get(slug)
    if found is None or time.monotonic() - found[0] > SURVEY_CACHE_SECONDS:
        return None
    _read_at, survey, row = found
    if survey.state() != "open" or survey.access != "anonymous":
        return None
    return survey, SurveyRow(row, cached=True)


def _forget_survey(slug: str) -> None:
    _SURVEY_CACHE.get(dbm.get_db(), {}).pop(slug, None)


def _read_survey(slug: str) -> tuple[m.Survey, SurveyRow]:
    """The survey of ``slug`` as read now (404 if absent or a draft), and its row.

    Read with one statement on the bare driver (:meth:`Database.on_driver`: on SQLite a
    connection given back at once, on PostgreSQL the request's one connection, in
    autocommit), so a POST holds no read transaction while it validates and writes, and
    returned as a transient ``Survey`` holding the cached snapshot: every request sees the
    survey's current status, dates and settings, without an ORM session or the load of
    the snapshot's whole instrument text. Remembered in the short cache.
    """
    db = dbm.get_db()
    dialect = db.engine.dialect.name
    sql = dbm.driver_sql(_SURVEY_BY_SLUG[dialect], dialect)

    def read(raw: Any) -> tuple[Any, Any]:
        cur = raw.cursor()
        try:
            cur.execute(sql, {"slug": slug[:64]})
            return cur.fetchone(), cur.description
        finally:
            cur.close()

    row, description = db.on_driver(read)
    if row is None:
        abort(404)
    values = db.driver_table(_S).values(_SURVEY_KEYS, description, row)
    if values["status"] == "draft":
        abort(404)
    survey = m.Survey(**values)
    n = len(_SURVEY_KEYS)
    survey.snapshot = _snapshot(db, row[n])
    seen = tuple(row) if dialect == "sqlite" else row[n + 1]
    cache = _SURVEY_CACHE.setdefault(db, {})
    if len(cache) >= 256:
        cache.clear()  # atomic, unlike evicting one entry while other threads add theirs
    cache[slug] = (time.monotonic(), survey, seen)
    return survey, SurveyRow(seen)


def _message(kind: str, survey: m.Survey | None = None, status: int = 200, **ctx: Any) -> Any:
    return render_template("survey/message.html", kind=kind, survey=survey, **ctx), status


def _closed_page(survey: m.Survey) -> Any | None:
    state = survey.state()
    if state == "open":
        return None
    if state == "not_yet":
        return _message("not_yet", survey, 403)
    return _message("closed", survey, 410)


def _render_page(
    survey: m.Survey,
    form: forms.PageFormBase,
    page_index: int,
    response_id: str,
    start_token: str,
    action_url: str,
    *,
    status: int = 200,
    notice: str | None = None,
) -> Any:
    q = survey.questionnaire()
    return (
        render_template(
            "survey/page.html",
            survey=survey,
            q=q,
            page=q.pages[page_index],
            page_index=page_index,
            n_pages=len(q.pages),
            form=form,
            response_id=response_id,
            start_token=start_token,
            action_url=action_url,
            lang=current_language(),
            notice=notice,
            field_name=forms.field_name,
            blocks=forms.page_blocks,
        ),
        status,
    )


def _fresh(survey: m.Survey, action_url: str) -> Any:
    q = survey.questionnaire()
    form = forms.page_form(q, 0, stored={})
    return _render_page(survey, form, 0, str(uuid.uuid4()), _start_token(), action_url)


def _resume_response(resp: m.Response, action_url: str) -> Any:
    survey = resp.survey
    q = survey.questionnaire()
    index = min(resp.page_reached, len(q.pages) - 1)
    stored = _stored_values(dbm.session(), resp.id)
    form = forms.page_form(q, index, stored=stored)
    token = _start_token(resp.started_at.timestamp())
    return _render_page(survey, form, index, resp.response_id, token, action_url)


def _formdata_from(
    q: Questionnaire, page_index: int, stored: dict[str, forms.Value]
) -> MultiDict[str, str]:
    """Stored answers as posted form data, to validate them like a fresh post."""
    form = forms.page_form(q, page_index, stored=stored)
    data: MultiDict[str, str] = MultiDict()
    for f in form:
        if f.type == "BooleanField":
            if f.data:
                data.add(f.name, "y")
        elif f.data not in (None, ""):
            data.add(f.name, str(f.data))
    return data


def _posted_position(q: Questionnaire) -> tuple[str, int, str]:
    """The posted response id, page index and start token (400 if malformed)."""
    rid = request.form.get("response_id", "").strip().lower()
    if not UUID_RE.match(rid):
        abort(400)
    try:
        page_index = int(request.form.get("page", ""))
    except ValueError:
        abort(400)
    if not 0 <= page_index < len(q.pages):
        abort(400)
    return rid, page_index, request.form.get("started", "")


def _post(
    survey: m.Survey,
    invitation: m.Invitation | None,
    action_url: Callable[[], str],
    seen: SurveyRow | None = None,
) -> Any:
    q = survey.questionnaire()
    rid, page_index, start_token = _posted_position(q)
    action = request.form.get("action", "next")
    if action.startswith("lang:"):
        # switch language without saving: show the same page with what was typed
        set_language_for(survey.languages, action.removeprefix("lang:"))
        form = forms.page_form(q, page_index, request.form, partial=True)
        return _render_page(survey, form, page_index, rid, start_token, action_url())
    if action not in ACTIONS:
        abort(400)
    final = action == "submit" and page_index == len(q.pages) - 1
    if action == "submit" and not final:
        action = "next"
    partial = action in ("save", "back")
    # the same checks as the WTForms form, without building it; only a page that fails
    # them is bound to its form, which decides again and shows the messages
    values = forms.validated_values(q, page_index, request.form, partial=partial)
    if values is None:
        form = forms.page_form(q, page_index, request.form, partial=partial)
        if not form.validate():
            notice = str(_l("Some answers need your attention; see the messages below."))
            return _render_page(
                survey, form, page_index, rid, start_token, action_url(), status=422, notice=notice
            )
        values = form.values()
    reached = page_index + 1 if action == "next" else page_index
    try:
        save = PageSave(
            response_id=rid,
            page_index=page_index,
            values=values,
            final=final,
            language=current_language(),
            started_at=_started_at(start_token),
            honeypot=bool(request.form.get("website", "").strip()),
            page_reached=min(reached, len(q.pages) - 1),
        )
        dbm.release()
        outcome = store_page(dbm.get_db(), survey, invitation, save, seen=seen)
    except _Mismatch:
        abort(400)
    if outcome.kind in ("completed", "already_complete"):
        return redirect(url_for("survey.thanks", slug=survey.slug), code=303)
    if outcome.kind == "invitation_used":
        return _message("used", survey, 409)
    if outcome.kind == "missing":
        target = outcome.page
        form = forms.page_form(q, target, _formdata_from(q, target, outcome.values))
        form.validate()
        notice = str(_l("Some required questions are not answered yet."))
        return _render_page(
            survey, form, target, rid, start_token, action_url(), status=422, notice=notice
        )
    if action == "save":
        code = outcome.resume_code or ""
        link = url_for("survey.resume", code=code, _external=True)
        return _message("saved", survey, 200, code=format_code(code), link=link)
    target = page_index + 1 if action == "next" else page_index - 1
    target = min(max(target, 0), len(q.pages) - 1)  # "next" on the last page stays there
    form = forms.page_form(q, target, stored=outcome.values)
    return _render_page(survey, form, target, rid, start_token, action_url())


# -- routes -------------------------------------------------------------------------------
@bp.route("/")
def index() -> Any:
    return render_template("survey/index.html")


@bp.route("/s/<slug>", methods=["GET", "POST"])
def anonymous(slug: str) -> Any:
    if request.method == "POST" and request.form.get("page") == "0":
        hit = _cached_survey(slug)  # a first save: the survey may come from the cache
        if hit is not None:
            try:
                return _anonymous(slug, *hit)
            except SurveyChanged:  # nothing stored: read it again and start over
                _forget_survey(slug)
    return _anonymous(slug, *_read_survey(slug))


def _anonymous(slug: str, survey: m.Survey, seen: SurveyRow) -> Any:
    set_language_for(survey.languages)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if survey.access != "anonymous":
        return _message("invitation_only", survey, 403)
    if request.method == "POST":
        # the form's address: needed only to show a page again, not for the redirect
        return _post(survey, None, functools.partial(url_for, "survey.anonymous", slug=slug), seen)
    return _fresh(survey, url_for("survey.anonymous", slug=slug))


@bp.route("/i/<token>", methods=["GET", "POST"])
def invited(token: str) -> Any:
    s = dbm.session()
    invitation = s.scalar(select(m.Invitation).where(m.Invitation.token == token[:64]))
    if invitation is None or invitation.survey.status == "draft":
        abort(404)
    survey = invitation.survey
    set_language_for(survey.languages)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if invitation.expires_at is not None and m.utcnow() >= invitation.expires_at:
        return _message("expired", survey, 410)
    if request.method == "POST":
        return _post(survey, invitation, functools.partial(url_for, "survey.invited", token=token))
    url = url_for("survey.invited", token=token)
    done = s.scalar(select(m.Response).where(m.Response.completed_invitation_id == invitation.id))
    if done is not None:
        return _message("used", survey, 200)
    partial = s.scalar(
        select(m.Response)
        .where(m.Response.invitation_id == invitation.id, m.Response.status == "partial")
        .order_by(m.Response.updated_at.desc())
        .limit(1)
    )
    if partial is not None:
        return _resume_response(partial, url)
    return _fresh(survey, url)


@bp.route("/r/<code>")
def resume(code: str) -> Any:
    resp = dbm.session().scalar(
        select(m.Response).where(m.Response.resume_code == normalise_code(code))
    )
    if resp is None:
        return _message("unknown_code", None, 404)
    survey = resp.survey
    set_language_for(survey.languages)
    if resp.status == "complete":
        return _message("thanks", survey)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if resp.invitation is not None:
        url = url_for("survey.invited", token=resp.invitation.token)
    else:
        url = url_for("survey.anonymous", slug=survey.slug)
    return _resume_response(resp, url)


@bp.route("/resume", methods=["GET", "POST"])
def resume_form() -> Any:
    if request.method == "POST":
        code = normalise_code(request.form.get("code", ""))
        if len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET):
            return redirect(url_for("survey.resume", code=code), code=303)
        return render_template("survey/index.html", code_error=True), 422
    return render_template("survey/index.html")


@bp.route("/s/<slug>/thanks")
def thanks(slug: str) -> Any:
    survey, _row = _read_survey(slug)
    set_language_for(survey.languages)
    return _message("thanks", survey)


# -- friendly errors ----------------------------------------------------------------------
ERRORS: dict[int, tuple[Any, Any]] = {
    400: (_l("Bad request"), _l("The page could not understand what was sent.")),
    403: (_l("Not allowed"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("Check the link you were given; it may be incomplete.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    410: (_l("Gone"), _l("This page is no longer available.")),
    413: (_l("Too much data"), _l("What was sent is too large. Shorten your answers.")),
    422: (_l("Check your answers"), _l("Some answers need your attention.")),
    429: (_l("Too many requests"), _l("Please wait a minute and try again.")),
    500: (
        _l("Something went wrong"),
        _l("Your answers up to the last saved page are safe. Please try again in a moment."),
    ),
}


def _error_page(code: int, detail: Any = None) -> Any:
    title, text = ERRORS.get(code, ERRORS[500] if code >= 500 else ERRORS[400])
    return render_template("errors/error.html", code=code, title=title, text=text, detail=detail)


@bp.app_errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Any:
    if request.method == "POST" and request.endpoint in ("survey.anonymous", "survey.invited"):
        # a respondent whose session cookie expired or was lost must not lose the page:
        # show it again with what was typed and a fresh token; nothing is stored
        page = _page_after_csrf_failure()
        if page is not None:
            return page
    detail = _l("The form has expired. Go back, reload the page and send it again.")
    return _error_page(400, detail), 400


def _page_after_csrf_failure() -> Any | None:
    args = request.view_args or {}
    s = dbm.session()
    if "slug" in args:
        survey = s.scalar(select(m.Survey).where(m.Survey.slug == str(args["slug"])[:64]))
        url = url_for("survey.anonymous", slug=args["slug"])
    else:
        token = str(args.get("token", ""))[:64]
        invitation = s.scalar(select(m.Invitation).where(m.Invitation.token == token))
        survey = invitation.survey if invitation is not None else None
        url = url_for("survey.invited", token=token)
    if survey is None or survey.state() != "open":
        return None
    set_language_for(survey.languages)
    q = survey.questionnaire()
    try:
        rid, page_index, start_token = _posted_position(q)
    except HTTPException:
        return None
    form = forms.page_form(q, page_index, request.form, partial=True)
    notice = str(
        _l("Your session had expired, so this page is not saved yet. Check it and send it again.")
    )
    return _render_page(survey, form, page_index, rid, start_token, url, status=400, notice=notice)


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Any:
    code = exc.code or 500
    if request.blueprint not in (None, "survey") and request.accept_mimetypes.best == (
        "application/json"
    ):
        return {"error": exc.name, "status": code}, code
    return _error_page(code), code


@bp.app_errorhandler(Exception)
def _server_error(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):  # pragma: no cover - routed above
        return _http_error(exc)
    current_app.logger.exception("unhandled error on %s", request.path)
    return _error_page(500), 500


def init_app(app: Flask) -> None:
    """Register the blueprint with its rate limits."""
    from surveyapp import security

    app.register_blueprint(bp)
    posts = ["survey.anonymous", "survey.invited", "survey.resume_form"]
    security.limit(app, posts, "SUBMIT_RATE_LIMIT", ["POST"])
    security.limit(app, ["survey.resume"], "RESUME_RATE_LIMIT", ["GET"])


# -- bulk import (simulated or imported data in the export format) -------------------------
def import_frame(
    db: dbm.Database, survey: m.Survey, frame: Any, *, source: str = "import", batch: int = 2000
) -> int:
    """Store a tidy frame in the export format (META_COLUMNS, then the instrument's
    columns) as responses of ``survey``; return the number stored.

    Every value is checked against the instrument first (as a web post would be); the
    whole frame is stored in one transaction or, on any problem, not at all.
    """
    import pandas as pd

    q = survey.questionnaire()
    checks = forms.column_checks(q)
    text_cols = {c for i in q.items if i.type in ("single_choice", "text") for c in i.columns()}
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
            answers.append((rid, col, value))
            values[col] = value
        started = _timestamp(rec.get("started_at"), now)
        submitted = _timestamp(rec.get("submitted_at"), None)
        status = str(rec.get("status") or "complete")
        suspect = rec.get("suspect")
        responses.append(
            {
                "response_id": rid,
                "survey_id": survey.id,
                "status": status if status in m.RESPONSE_STATUSES else "complete",
                "language": str(rec.get("language") or "zh-Hans"),
                "started_at": started,
                "updated_at": submitted or started,
                "submitted_at": submitted if status == "complete" else None,
                "page_reached": len(q.pages) - 1,
                "resume_code": None,
                "segments": {},
                "suspect": {"flagged": True} if suspect is True else {},
                "quarantined": False,
                "source": source,
                "values_json": m.encode_values(values),
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
