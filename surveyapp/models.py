"""The storage schema of the whole app (SQLAlchemy 2 typed models).

The Alembic migrations (``surveyapp/migrations``) create all of it. The tables and the
guarantees they carry:

- :class:`QuestionnaireSnapshot`: an immutable copy of an instrument, identified by its
  content hash, so old responses always score against the instrument they answered.
- :class:`Study` groups surveys: the waves of one instrument and the linked audiences of
  a gap study (customers, managers, staff, audit).
- :class:`Survey`: a snapshot served to one audience in one wave, with languages, dates,
  status and access mode (anonymous link or personal invitations).
- :class:`Invitation`: a personal token with the recipient's segment values.
- :class:`Response`: one respondent's answers. ``response_id`` is generated once per
  respondent (a UUID in a hidden field) and is UNIQUE, so a retried or double-clicked
  submit finds the same row. ``completed_invitation_id`` stays NULL until the response is
  completed and is UNIQUE, so two parallel completions with one token cannot both commit
  (on SQLite and PostgreSQL alike; NULLs do not collide).
- :class:`Answer`: one value per export column (the rule in
  :meth:`questionnaires.Item.columns`); its primary key is (response, column).
- :class:`User`, :class:`AuditLog`, :class:`ScoringRun`: the researchers' side.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    update,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

import questionnaires as qn

# deterministic constraint names, so migrations can refer to them on every backend
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SURVEY_STATUSES = ("draft", "open", "closed")
ACCESS_MODES = ("anonymous", "invitation")
RESPONSE_STATUSES = ("partial", "complete")
TEST_SOURCE = "preview"  # Response.source of a test response, given in preview
ROLES = ("admin", "researcher", "viewer")
RUN_STATUSES = ("queued", "running", "done", "failed")


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column; use datetime.now(UTC)"
            raise ValueError(msg)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON, list[str]: JSON}


def _enum_check(column: str, values: tuple[str, ...]) -> CheckConstraint:
    allowed = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=f"{column}_allowed")


class QuestionnaireSnapshot(Base):
    """An instrument as it was served: its normalised data as JSON, never changed."""

    __tablename__ = "questionnaire_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    questionnaire_id: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[str] = mapped_column(String(50))
    audience: Mapped[str] = mapped_column(String(20))
    # canonical JSON of Questionnaire.to_dict(); parsed once per process (cached by hash)
    content: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @classmethod
    def from_questionnaire(cls, q: qn.Questionnaire) -> QuestionnaireSnapshot:
        data = q.to_dict()
        return cls(
            content_hash=qn.content_hash(data),
            questionnaire_id=q.id,
            version=q.version,
            audience=q.audience,
            content=json.dumps(data, ensure_ascii=False, sort_keys=True),
            source=q.source[:255] if q.source else None,
        )

    def questionnaire(self) -> qn.Questionnaire:
        """The instrument (validated again on first use; cached by content hash)."""
        q = _SNAPSHOTS.get(self.content_hash)
        if q is None:
            q = qn.from_dict(json.loads(self.content), source=f"snapshot {self.content_hash[:12]}")
            with _SNAPSHOTS_LOCK:
                if len(_SNAPSHOTS) >= _SNAPSHOT_CACHE_SIZE:
                    _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))
                _SNAPSHOTS[self.content_hash] = q
        return q


# content hash -> instrument; snapshots never change, so the cache never goes stale
_SNAPSHOTS: dict[str, qn.Questionnaire] = {}
_SNAPSHOT_CACHE_SIZE = 64
# threads of one process (gthread app servers, the worker) must not evict the same entry
_SNAPSHOTS_LOCK = threading.Lock()


class Study(Base):
    """Surveys that belong together: the waves of an instrument, the audiences of a gap study."""

    __tablename__ = "study"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # days after which its invitations' recipients are purged (None: kept until erased)
    retention_days: Mapped[int | None] = mapped_column(Integer)
    # the owning team; NULL: unassigned (made by the CLI or before teams), seen by every role
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    # branding shown to its respondents, in its PDF report and on its posters
    # (services.branding); all NULL: the neutral look
    brand_name: Mapped[str | None] = mapped_column(String(200))  # the organisation
    brand_primary: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb": the header
    brand_accent: Mapped[str | None] = mapped_column(String(7))  # links, buttons, choices
    brand_logo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))  # PNG or JPEG
    brand_logo_type: Mapped[str | None] = mapped_column(String(20))  # its media type
    brand_logo_hash: Mapped[str | None] = mapped_column(String(16))  # its URL's version

    surveys: Mapped[list[Survey]] = relationship(back_populates="study")


class Survey(Base):
    """A questionnaire snapshot served to one audience in one wave."""

    __tablename__ = "survey"
    __table_args__ = (
        _enum_check("status", SURVEY_STATUSES),
        _enum_check("access", ACCESS_MODES),
        # one survey per audience and wave within a study
        UniqueConstraint("study_id", "audience", "wave", name="uq_survey_study_audience_wave"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # public code in /s/<slug>
    title: Mapped[str | None] = mapped_column(String(300))  # None -> the instrument's title
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("questionnaire_snapshot.id", ondelete="RESTRICT"), index=True
    )
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="SET NULL"), index=True
    )
    audience: Mapped[str] = mapped_column(String(20))
    wave: Mapped[str | None] = mapped_column(String(50))  # e.g. "2026-Q1"
    languages: Mapped[list[str]] = mapped_column(default=lambda: list(qn.LANGUAGES))
    opens_at: Mapped[datetime | None]
    closes_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(10), default="draft")
    access: Mapped[str] = mapped_column(String(12), default="anonymous")
    min_seconds: Mapped[float | None] = mapped_column(Float)  # None -> app's MIN_SECONDS
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the owning team (its study's, when it has one); NULL: unassigned, seen by every role
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)

    snapshot: Mapped[QuestionnaireSnapshot] = relationship(lazy="joined")
    study: Mapped[Study | None] = relationship(back_populates="surveys")

    def questionnaire(self) -> qn.Questionnaire:
        return self.snapshot.questionnaire()

    def state(self, now: datetime | None = None) -> str:
        """``"open"``, ``"closed"``, ``"not_yet"`` or ``"draft"`` at ``now``."""
        now = now or utcnow()
        if self.status == "draft":
            return "draft"
        if self.status == "closed":
            return "closed"
        if self.opens_at is not None and now < self.opens_at:
            return "not_yet"
        if self.closes_at is not None and now >= self.closes_at:
            return "closed"
        return "open"


class Invitation(Base):
    """A personal link: one completed response per token."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    recipient: Mapped[str | None] = mapped_column(String(320))  # e.g. e-mail, for mail merge
    segments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # travel with the response
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]  # set when its response is completed
    # e-mail (services.mailing): mail number k (0 the invitation, 1.. reminders) is sent
    # only after a transaction moved mails_claimed from k to k + 1 (at mail_claimed_at),
    # so a restarted send never mails anyone twice by itself; mails_claimed > mails_sent:
    # interrupted, sent again (with the same Message-ID) only when a researcher asks
    # and the claim is older than mailing's lease
    mails_claimed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mails_sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    mail_claimed_at: Mapped[datetime | None]  # the latest claim (None: before 0010)
    sent_at: Mapped[datetime | None]  # the invitation mail
    last_mailed_at: Mapped[datetime | None]  # the latest mail (invitation or reminder)
    mail_error: Mapped[str | None] = mapped_column(Text)  # the last failure or bounce
    mail_failed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    survey: Mapped[Survey] = relationship()


class Response(Base):
    """One respondent's response, partial until submitted."""

    __tablename__ = "response"
    __table_args__ = (
        _enum_check("status", RESPONSE_STATUSES),
        CheckConstraint(
            "completed_invitation_id IS NULL OR completed_invitation_id = invitation_id",
            name="completed_invitation_matches",
        ),
        # every read of a survey's responses by status, in id order (the rows of the
        # table in the order they were written), and the reports' data versions
        # (exports.data_versions) from the index alone
        Index(
            "ix_response_version",
            "survey_id",
            "status",
            "id",
            "source",
            "quarantined",
            "updated_at",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[str] = mapped_column(String(36), unique=True)  # client-generated UUID
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), index=True
    )
    # NULL until completion; UNIQUE -> at most one completed response per invitation
    completed_invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL"), unique=True
    )
    status: Mapped[str] = mapped_column(String(10), default="partial")
    language: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    # set by every UPDATE of the row that does not set it itself (quarantine, erasure,
    # ORM answer edits): the reports' cache key reads it (exports.data_versions)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    page_reached: Mapped[int] = mapped_column(Integer, default=0)  # index of the next page
    resume_code: Mapped[str | None] = mapped_column(String(16), unique=True)
    segments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # copied from invitation
    suspect: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. {"too_fast": true}
    quarantined: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="web")  # web|simulated|import|preview
    # the Answer rows again as {column: value} (encode_values), written in the same
    # transaction, so an export reads one row per response; NULL -> read the Answer rows
    values_json: Mapped[str | None] = mapped_column(Text)
    # the answer columns of items whose display condition (or their page's) did not hold
    # when the response was completed: *not applicable*, not missing (DOMAIN.md)
    not_applicable: Mapped[list[str] | None] = mapped_column(JSON)
    # page id -> the ids of its items in the order this response was shown them (pages
    # with ``randomize``), stored when the page is saved
    shown_order: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    survey: Mapped[Survey] = relationship()
    invitation: Mapped[Invitation | None] = relationship(foreign_keys=[invitation_id])
    answers: Mapped[list[Answer]] = relationship(
        back_populates="response", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def duration_s(self) -> float | None:
        if self.submitted_at is None:
            return None
        return (self.submitted_at - self.started_at).total_seconds()

    def values(self) -> dict[str, float | str]:
        """Column -> stored value."""
        return {a.column: a.value for a in self.answers}


class Answer(Base):
    """One export column's value of one response: a number or a text."""

    __tablename__ = "answer"
    __table_args__ = (
        ForeignKeyConstraint(["response_pk"], ["response.id"], ondelete="CASCADE"),
        CheckConstraint("(num IS NULL) <> (text IS NULL)", name="exactly_one_value"),
        # SQLite: the rows live in the primary key's b-tree (one b-tree per insert, not two)
        {"sqlite_with_rowid": False},
    )

    # the natural key: a response has one value per column
    response_pk: Mapped[int] = mapped_column(primary_key=True)
    column: Mapped[str] = mapped_column(String(64), primary_key=True)
    num: Mapped[float | None] = mapped_column(Float)
    text: Mapped[str | None] = mapped_column(Text)

    response: Mapped[Response] = relationship(back_populates="answers")

    @property
    def value(self) -> float | str:
        return self.text if self.text is not None else float(self.num)  # type: ignore[arg-type]


def encode_values(values: Mapping[str, float | str]) -> str:
    """``Response.values_json`` of ``values`` (column -> number or text): sorted keys, whole
    numbers without ``.0``, other numbers exact (``repr``).

    >>> encode_values({"q2": "好", "q1": 4.0, "w": 0.25})
    '{"q1":4,"q2":"好","w":0.25}'
    """
    out = {
        c: int(v) if not isinstance(v, str) and float(v).is_integer() and abs(v) <= 2**53 else v
        for c, v in values.items()
    }
    return json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


@event.listens_for(Answer, "after_insert")
@event.listens_for(Answer, "after_update")
@event.listens_for(Answer, "after_delete")
def _answer_written(mapper: Any, connection: Any, target: Answer) -> None:
    # An Answer written through the ORM (tests, scripts) leaves the response's
    # values_json unknown: NULL, so exports read its Answer rows. The Core write paths
    # (services.responses) write values_json themselves.
    connection.execute(
        update(Response).where(Response.id == target.response_pk).values(values_json=None)
    )


class User(Base):
    """A researcher account (the respondents are anonymous)."""

    __tablename__ = "user"
    __table_args__ = (_enum_check("role", ROLES),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(12), default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the single token of versions before 0005, moved into ApiToken then; no longer read
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    language: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # part of every session cookie's user id: raising it ends every session of the user
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    teams: Mapped[list[Team]] = relationship(secondary="team_member", order_by="Team.name")


class AuditLog(Base):
    """Who did what to which object, and when (never updated or deleted by the app)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    action: Mapped[str] = mapped_column(String(50))  # created, opened, closed, exported, ...
    object_type: Mapped[str] = mapped_column(String(50))
    object_id: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ScoringRun(Base):
    """A stored scoring result: method, parameters and the exact inputs (by hash)."""

    __tablename__ = "scoring_run"
    __table_args__ = (
        _enum_check("status", RUN_STATUSES),
        # re-opening an unchanged run finds it instead of recomputing
        Index("ix_scoring_run_lookup", "method", "snapshot_hash", "data_hash", "parameters_hash"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    wave: Mapped[str | None] = mapped_column(String(50))
    method: Mapped[str] = mapped_column(String(30))
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)
    parameters_hash: Mapped[str] = mapped_column(String(64))
    snapshot_hash: Mapped[str] = mapped_column(String(64))
    data_hash: Mapped[str] = mapped_column(String(64))
    n_responses: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)  # 0..1
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class Team(Base):
    """A group of users that owns studies and surveys: its members see only its data."""

    __tablename__ = "team"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TeamMember(Base):
    """A user's membership of a team."""

    __tablename__ = "team_member"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiToken(Base):
    """An API token of a user: only its SHA-256 is stored; it can expire and be revoked,
    and its scopes (``read``, ``export``, ``manage``) narrow what the user's role allows."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def state(self, now: datetime | None = None) -> str:
        """``"active"``, ``"expired"`` or ``"revoked"`` at ``now``."""
        now = now or utcnow()
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "expired"
        return "active"


class SurveyLink(Base):
    """A public link to an anonymous survey for one branch or channel (a counter's QR code,
    a poster, a WeChat group): a short code that resolves to the survey with its segment
    values signed into the address, so each response is tagged without asking."""

    __tablename__ = "survey_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)  # the short link /l/<code>
    survey_id: Mapped[int] = mapped_column(ForeignKey("survey.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(40))  # e.g. "poster", "counter", "wechat"
    segments: Mapped[dict[str, Any]] = mapped_column(default=dict)  # e.g. {"branch": "east"}
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    survey: Mapped[Survey] = relationship()


class OptOut(Base):
    """An address that asked for no more mail: honoured by every later mailing, forever
    (the row is never deleted by the app)."""

    __tablename__ = "opt_out"

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    invitation_id: Mapped[int | None] = mapped_column(
        ForeignKey("invitation.id", ondelete="SET NULL")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportAction(Base):
    """An improvement action decided from a report's "fix first": the gap and dimension
    it addresses, the team that owns it, the wave by which it should show, a note. The
    report of a later wave shows beside it the tested change of its dimension."""

    __tablename__ = "report_action"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(
        ForeignKey("survey.id", ondelete="CASCADE"), index=True
    )  # the survey (wave) whose report it was decided from
    study_id: Mapped[int | None] = mapped_column(
        ForeignKey("study.id", ondelete="CASCADE"), index=True
    )
    gap: Mapped[str | None] = mapped_column(String(20))
    dimension: Mapped[str] = mapped_column(String(64))
    owner: Mapped[str] = mapped_column(String(200))
    due_wave: Mapped[str | None] = mapped_column(String(50))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class GapOwner(Base):
    """The team that owns one of the five gaps in a study (the report's default names
    the team the gap model gives; a study may name its own)."""

    __tablename__ = "gap_owner"
    __table_args__ = (UniqueConstraint("study_id", "gap", name="uq_gap_owner_study_gap"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    study_id: Mapped[int] = mapped_column(ForeignKey("study.id", ondelete="CASCADE"))
    gap: Mapped[str] = mapped_column(String(20))
    owner: Mapped[str] = mapped_column(String(200))
