"""Invitations: personal links to a survey, one completed response each."""

from __future__ import annotations

import secrets
import string
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from surveyapp import models as m


def create_invitations(
    s: Session, survey: m.Survey, segments: list[dict[str, Any]], *, recipient_key: str = "email"
) -> list[m.Invitation]:
    """One invitation per mapping of segment values (``recipient_key`` is kept apart)."""
    out = []
    for seg in segments:
        seg = dict(seg)
        recipient = seg.pop(recipient_key, None)
        inv = m.Invitation(
            token=new_token(),
            survey_id=survey.id,
            recipient=recipient,
            segments=seg,
        )
        s.add(inv)
        out.append(inv)
    s.flush()
    return out


def new_token() -> str:
    """A fresh invitation token: 33 URL-safe characters, starting with a letter, so a
    token pasted into a spreadsheet never starts a formula (``=``, ``+``, ``-``, ``@``)."""
    return secrets.choice(string.ascii_letters) + secrets.token_urlsafe(24)


def by_token(s: Session, token: str) -> m.Invitation | None:
    """The invitation of a link's ``token``."""
    return s.scalar(select(m.Invitation).where(m.Invitation.token == token[:64]))
