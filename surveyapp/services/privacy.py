"""Personal data of respondents (PIPL, GDPR): find everything stored about one person,
export it, erase it; and the retention period after which contact details are purged.

A person is named by an identifier: an e-mail address, a phone number or an external id,
as the recipients file gave it. It is found in an invitation's ``recipient`` and in the
segment values of invitations and responses (where an external id or a phone number
travels); the person's responses are those of the invitations found.

Erasing removes the contact details: the recipient and the segment values of the person's
invitations (together they may identify the person), the same segments from the
person's responses, and every segment value equal to the identifier; the answers stay,
no longer linked to anyone. With ``responses=True`` the person's responses are deleted
as well (their answers with them). The audit record of an
erasure holds counts only, never the identifier, so the log keeps no personal data.
Exports then hold nothing of the person: they are read from the same rows.

Retention: a study's ``retention_days`` (None: kept until erased) purges the recipients
of its invitations once that many days have passed since the invitation was made; the
queue runs :func:`purge_expired` every hour (:mod:`surveyapp.tasks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from surveyapp import audit
from surveyapp import models as m
from surveyapp.db import Database


@dataclass
class Found:
    """What is stored about one person."""

    invitations: list[m.Invitation] = field(default_factory=list)
    responses: list[m.Response] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.invitations or self.responses)


def _clean(identifier: str) -> str:
    ident = identifier.strip()
    if len(ident) < 3:
        msg = "give an e-mail address, phone number or external id of at least 3 characters."
        raise ValueError(msg)
    return ident


def _holds(segments: Any, ident: str) -> bool:
    return any(str(v).strip().lower() == ident.lower() for v in (segments or {}).values())


def find(s: Session, identifier: str) -> Found:
    """Every invitation and response that holds ``identifier`` (case-insensitive)."""
    ident = _clean(identifier)
    like = f"%{ident.lower()}%"
    inv = m.Invitation
    invitations = [
        row
        for row in s.scalars(
            select(inv).where(
                or_(
                    func.lower(inv.recipient) == ident.lower(),
                    func.lower(cast(inv.segments, String)).like(like),
                )
            )
        )
        if (row.recipient or "").strip().lower() == ident.lower() or _holds(row.segments, ident)
    ]
    ids = [row.id for row in invitations]
    r = m.Response
    conds = [func.lower(cast(r.segments, String)).like(like)]
    if ids:
        conds.append(r.invitation_id.in_(ids))
    responses = [
        row
        for row in s.scalars(select(r).where(or_(*conds)).order_by(r.id))
        if row.invitation_id in ids or _holds(row.segments, ident)
    ]
    return Found(invitations, responses)


def export(s: Session, identifier: str) -> dict[str, Any]:
    """Everything stored about the person as JSON-ready data (their copy of it)."""
    found = find(s, identifier)

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "identifier": identifier.strip(),
        "invitations": [
            {
                "survey": i.survey.slug,
                "recipient": i.recipient,
                "segments": dict(i.segments or {}),
                "created_at": when(i.created_at),
                "used_at": when(i.used_at),
            }
            for i in found.invitations
        ],
        "responses": [
            {
                "survey": r.survey.slug,
                "response_id": r.response_id,
                "status": r.status,
                "language": r.language,
                "started_at": when(r.started_at),
                "submitted_at": when(r.submitted_at),
                "segments": dict(r.segments or {}),
                "answers": dict(sorted(r.values().items())),
            }
            for r in found.responses
        ],
    }


def erase(
    database: Database, identifier: str, *, responses: bool, user_id: int | None
) -> dict[str, int]:
    """Erase the person's contact details (and, with ``responses``, their responses) in
    one transaction with an audit record of counts only. Returns the counts."""
    ident = _clean(identifier)
    with database.write() as s:
        found = find(s, ident)
        # the invitation's segment values may identify the person with the others
        # (member number, branch and job title): they go with the contact details
        invitation_keys = {str(k) for inv in found.invitations for k in (inv.segments or {})}
        for inv in found.invitations:
            inv.recipient = None
            inv.segments = {}
        deleted = 0
        for resp in found.responses:
            if responses:
                s.delete(resp)
                deleted += 1
            else:
                resp.segments = {
                    k: v
                    for k, v in (resp.segments or {}).items()
                    if k not in invitation_keys and not _same(v, ident)
                }
        counts = {
            "invitations": len(found.invitations),
            "responses": len(found.responses),
            "responses_deleted": deleted,
        }
        audit.record(s, "erased", object_type="person", detail=counts, user_id=user_id)
    return counts


def _same(value: Any, ident: str) -> bool:
    return str(value).strip().lower() == ident.lower()


def purge_expired(database: Database, now: Any = None) -> int:
    """Purge the recipients of invitations older than their study's retention period;
    returns how many were purged (audited as one record of counts)."""
    now = now or m.utcnow()
    purged = 0
    with database.write() as s:
        studies = s.scalars(select(m.Study).where(m.Study.retention_days.is_not(None)))
        for study in studies:
            cutoff = now - timedelta(days=int(study.retention_days or 0))
            rows = s.scalars(
                select(m.Invitation)
                .join(m.Survey, m.Survey.id == m.Invitation.survey_id)
                .where(
                    m.Survey.study_id == study.id,
                    m.Invitation.recipient.is_not(None),
                    m.Invitation.created_at < cutoff,
                )
            )
            for inv in rows:
                inv.recipient = None
                purged += 1
        if purged:
            audit.record(
                s, "purged", object_type="invitation", detail={"recipients": purged}, user_id=None
            )
    return purged
