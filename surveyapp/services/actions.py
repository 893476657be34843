"""Improvement actions decided from a report (the "fix first" list): create and list.

An action names the dimension (and the gap, when the five gaps named one) it should move,
the team that owns it, the wave by which it should show and a note. Actions belong to the
survey they were decided from and to its study, so every wave's report of the study lists
them with the tested change of their dimension (:func:`surveyapp.reports.build.action_rows`).
Each creation is audited. A study may also name its own team for each gap
(:func:`set_gap_owners`), shown instead of the report's default.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from surveyapp import audit
from surveyapp import db as dbm
from surveyapp import models as m

__all__ = ["create_action", "gap_owners", "set_gap_owners", "study_actions"]


def create_action(
    survey: m.Survey,
    *,
    dimension: str,
    gap: str | None,
    owner: str,
    due_wave: str | None,
    note: str | None,
    user_id: int | None,
) -> int:
    """Store an action decided from ``survey``'s report (audited); returns its id."""
    dbm.release()
    with dbm.get_db().write() as ws:
        row = m.ReportAction(
            survey_id=survey.id,
            study_id=survey.study_id,
            gap=gap,
            dimension=dimension[:64],
            owner=owner[:200],
            due_wave=(due_wave or None) and due_wave[:50],
            note=note or None,
            created_by_id=user_id,
        )
        ws.add(row)
        ws.flush()
        audit.record(
            ws,
            "created",
            row,
            detail={"survey": survey.id, "dimension": dimension, "gap": gap, "owner": owner},
            user_id=user_id,
        )
        return int(row.id)


def study_actions(survey: m.Survey) -> list[dict[str, Any]]:
    """The actions of ``survey``'s study (or of the survey alone when it has none), oldest
    first, with the wave they were decided in."""
    cond = (
        m.ReportAction.study_id == survey.study_id
        if survey.study_id is not None
        else m.ReportAction.survey_id == survey.id
    )
    rows = dbm.session().execute(
        select(m.ReportAction, m.Survey.wave, m.Survey.slug)
        .join(m.Survey, m.Survey.id == m.ReportAction.survey_id)
        .where(cond)
        .order_by(m.ReportAction.id)
    )
    return [
        {
            "id": a.id,
            "dimension": a.dimension,
            "gap": a.gap,
            "owner": a.owner,
            "due_wave": a.due_wave,
            "note": a.note,
            "decided_in": wave or slug,
        }
        for a, wave, slug in rows
    ]


def gap_owners(survey: m.Survey) -> dict[str, str]:
    """Gap -> the team its study named for it ({} without a study or names)."""
    if survey.study_id is None:
        return {}
    rows = dbm.session().execute(
        select(m.GapOwner.gap, m.GapOwner.owner).where(m.GapOwner.study_id == survey.study_id)
    )
    return {str(g): str(o) for g, o in rows}


def set_gap_owners(survey: m.Survey, owners: dict[str, str], *, user_id: int | None) -> None:
    """Name the team of each gap in ``survey``'s study (an empty name restores the
    report's default), audited as one change."""
    if survey.study_id is None:
        msg = "the survey is not part of a study; owners are named per study."
        raise ValueError(msg)
    dbm.release()
    with dbm.get_db().write() as ws:
        current = {
            r.gap: r
            for r in ws.scalars(select(m.GapOwner).where(m.GapOwner.study_id == survey.study_id))
        }
        for gap, owner in owners.items():
            row = current.get(gap)
            if not owner:
                if row is not None:
                    ws.delete(row)
            elif row is None:
                ws.add(m.GapOwner(study_id=survey.study_id, gap=gap, owner=owner[:200]))
            else:
                row.owner = owner[:200]
        # each save records the study's new naming (the log has no "changed" action)
        audit.record(
            ws,
            "created",
            object_type="gap_owner",
            object_id=survey.study_id,
            detail={"study": survey.study_id, "gap_owners": owners},
            user_id=user_id,
        )
