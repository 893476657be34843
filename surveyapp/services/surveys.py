"""Surveys: a questionnaire stored as an immutable snapshot and served as a survey."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from questionnaires import Questionnaire
from surveyapp import models as m

SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def by_slug(s: Session, slug: str) -> m.Survey | None:
    """The survey of ``slug`` with its snapshot; the instrument's text is loaded only when
    this process has not parsed it yet (:meth:`surveyapp.models.QuestionnaireSnapshot.
    questionnaire` caches it by content hash)."""
    return s.scalar(
        select(m.Survey)
        .where(m.Survey.slug == slug[:64])
        .options(joinedload(m.Survey.snapshot).defer(m.QuestionnaireSnapshot.content))
    )


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
    if not SLUG.fullmatch(slug):
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
