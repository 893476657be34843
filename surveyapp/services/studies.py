"""Studies, surveys and their responses as the researchers see them: lists, counts, waves,
state changes (open, close, schedule) and the care of responses (quarantine, restore,
delete), each change in one transaction with its audit record (:mod:`surveyapp.audit`).

Reads use the app context's read session (:func:`surveyapp.db.session`), so the rows stay
usable while a page is rendered; writes end that read transaction and take one of their
own. A row that does
not exist is :class:`NotFound`; the blueprints turn it into 404.

Teams: the readers take ``teams``, the ids of the teams whose data the caller may see
(``None``: every team, for administrators and the CLI). A study or survey is seen when
its team is one of them or it has no team (unassigned); another team's row is
:class:`NotFound`, exactly like a missing one. The web layer passes the acting user's
teams (:func:`surveyapp.auth.acting_teams`); this module never reads the request.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import String, and_, case, cast, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import questionnaires as qn
from surveyapp import audit
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.invitations import create_invitations
from surveyapp.services.surveys import create_survey

PER_PAGE = 50
SEGMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
STATUS_FILTERS = ("complete", "partial", "suspect", "quarantined", "all")
INVITATION_STATES = ("all", "used", "unused")


class NotFound(LookupError):
    """No row with that key."""


class Taken(ValueError):
    """A unique code (a study's short code, a survey's link code) is already used."""


@contextmanager
def _write() -> Iterator[Session]:
    """A write transaction, after the read transaction has ended: a request holds one
    pooled connection at a time, and its reads after the change see the change."""
    dbm.release()
    with dbm.get_db().write() as ws:
        yield ws


def page_count(total: int) -> int:
    """Pages of PER_PAGE rows needed for ``total`` rows (at least one)."""
    return max((total + PER_PAGE - 1) // PER_PAGE, 1)


def get(model: type[Any], pk: Any, s: Session | None = None) -> Any:
    """``s.get(model, pk)``, or :class:`NotFound`. Without ``s``, the read session's row,
    loaded again so that a change written since is seen."""
    if s is None:
        row = dbm.session().get(model, pk, populate_existing=True)
    else:
        row = s.get(model, pk)
    if row is None:
        msg = f"no {model.__tablename__} {pk!r}"
        raise NotFound(msg)
    return row


Teams = Collection[int] | None
"""Team ids whose data a caller sees; ``None``: every team."""


def team_filter(column: Any, teams: Teams) -> Any:
    """SQL condition: ``column`` (a ``team_id``) is one of ``teams`` or unassigned."""
    if teams is None:
        return true()
    return or_(column.is_(None), column.in_(sorted(teams)))


def _check_team(row: Any, team_id: int | None, teams: Teams, what: str, key: Any) -> Any:
    if teams is not None and team_id is not None and team_id not in teams:
        msg = f"no {what} {key!r}"  # another team's: as if it did not exist
        raise NotFound(msg)
    return row


def survey(survey_id: int, teams: Teams = None) -> m.Survey:
    """The survey ``survey_id`` if ``teams`` see it, else :class:`NotFound`."""
    sv: m.Survey = get(m.Survey, survey_id)
    return _check_team(sv, sv.team_id, teams, "survey", survey_id)  # type: ignore[no-any-return]


def study(study_id: int, teams: Teams = None) -> m.Study:
    """The study ``study_id`` if ``teams`` see it, else :class:`NotFound`."""
    st: m.Study = get(m.Study, study_id)
    return _check_team(st, st.team_id, teams, "study", study_id)  # type: ignore[no-any-return]


def response(pk: int, teams: Teams = None) -> m.Response:
    """The response ``pk`` if ``teams`` see its survey, else :class:`NotFound`."""
    resp: m.Response = get(m.Response, pk)
    return _check_team(resp, resp.survey.team_id, teams, "response", pk)  # type: ignore[no-any-return]


def scoring_run(run_id: int, teams: Teams = None) -> m.ScoringRun:
    """The scoring run ``run_id`` if ``teams`` see its survey and study."""
    run: m.ScoringRun = get(m.ScoringRun, run_id)
    if run.survey_id is not None:
        survey(run.survey_id, teams)
    if run.study_id is not None:
        study(run.study_id, teams)
    return run


# -- lists and counts ---------------------------------------------------------------------
def survey_stats(survey_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per survey: complete, partial, suspect, quarantined responses and invitations."""
    stats = {
        i: {"complete": 0, "partial": 0, "suspect": 0, "quarantined": 0, "invitations": 0}
        for i in survey_ids
    }
    if not survey_ids:
        return stats
    s = dbm.session()
    r = m.Response
    flagged = case((cast(r.suspect, String).not_in(["{}", "null"]), 1), else_=0)
    rows = s.execute(
        select(r.survey_id, r.status, r.quarantined, func.sum(flagged), func.count())
        .where(r.survey_id.in_(survey_ids), r.source != m.TEST_SOURCE)  # not test responses
        .group_by(r.survey_id, r.status, r.quarantined)
    ).all()
    for sid, status, quarantined, n_flagged, n in rows:
        st = stats[sid]
        if quarantined:
            st["quarantined"] += int(n)
        else:
            st[status] += int(n)
        st["suspect"] += int(n_flagged or 0)
    inv = s.execute(
        select(m.Invitation.survey_id, func.count())
        .where(m.Invitation.survey_id.in_(survey_ids))
        .group_by(m.Invitation.survey_id)
    ).all()
    for sid, n in inv:
        stats[sid]["invitations"] = int(n)
    for st in stats.values():
        started = st["complete"] + st["partial"]
        st["completion"] = round(100 * st["complete"] / started) if started else 0
    return stats


def all_surveys(teams: Teams = None) -> list[m.Survey]:
    query = select(m.Survey).where(team_filter(m.Survey.team_id, teams))
    return list(dbm.session().scalars(query.order_by(m.Survey.id)))


def surveys_by_study(teams: Teams = None) -> list[tuple[m.Study | None, list[m.Survey]]]:
    """Every study with its surveys (by audience, wave), then the surveys of no study
    (newest first), as far as ``teams`` see them."""
    s = dbm.session()
    surveys = list(
        s.scalars(
            select(m.Survey)
            .where(team_filter(m.Survey.team_id, teams))
            .order_by(m.Survey.created_at.desc(), m.Survey.id)
        )
    )
    groups: list[tuple[m.Study | None, list[m.Survey]]] = []
    for study in list_studies(teams):
        members = [sv for sv in surveys if sv.study_id == study.id]
        members.sort(key=lambda sv: (sv.audience, sv.wave or "", sv.id))
        groups.append((study, members))
    loose = [sv for sv in surveys if sv.study_id is None]
    if loose:
        groups.append((None, loose))
    return groups


def waves_of(sv: m.Survey, teams: Teams = None) -> list[m.Survey]:
    """The surveys of the same study and audience (the waves), oldest first."""
    if sv.study_id is None:
        return [sv]
    return list(
        dbm.session().scalars(
            select(m.Survey)
            .where(m.Survey.study_id == sv.study_id, m.Survey.audience == sv.audience)
            .where(team_filter(m.Survey.team_id, teams))
            .order_by(m.Survey.created_at, m.Survey.id)
        )
    )


# -- studies ------------------------------------------------------------------------------
def list_studies(teams: Teams = None) -> list[m.Study]:
    query = select(m.Study).where(team_filter(m.Study.team_id, teams))
    return list(dbm.session().scalars(query.order_by(m.Study.name)))


def study_surveys(study_id: int, teams: Teams = None) -> list[m.Survey]:
    """The surveys of a study by audience and wave (:class:`NotFound` for no such study)."""
    study(study_id, teams)
    return list(
        dbm.session().scalars(
            select(m.Survey)
            .where(m.Survey.study_id == study_id, team_filter(m.Survey.team_id, teams))
            .order_by(m.Survey.audience, m.Survey.wave, m.Survey.id)
        )
    )


def study_survey_ids(study_id: int, audience: str | None = None, teams: Teams = None) -> list[int]:
    """The ids of a study's surveys, of one audience when ``audience`` is one."""
    query = select(m.Survey.id).where(
        m.Survey.study_id == study_id, team_filter(m.Survey.team_id, teams)
    )
    if audience in qn.AUDIENCES:
        query = query.where(m.Survey.audience == audience)
    return list(dbm.session().scalars(query.order_by(m.Survey.id)))


def create_study(
    slug: str,
    name: str,
    description: str | None,
    *,
    user_id: int | None,
    team_id: int | None = None,
) -> m.Study:
    """A new study of the team ``team_id``; :class:`Taken` when the short code is used."""
    try:
        with _write() as ws:
            study = m.Study(
                slug=slug,
                name=name,
                description=description or None,
                created_by_id=user_id,
                team_id=team_id,
            )
            ws.add(study)
            ws.flush()
            audit.record(ws, "created", study, detail={"name": study.name}, user_id=user_id)
    except IntegrityError:
        msg = f"the short code {slug!r} is taken"
        raise Taken(msg) from None
    return study


def create_draft(
    q: qn.Questionnaire,
    *,
    slug: str,
    access: str,
    wave: str | None,
    study_id: int | None,
    languages: list[str],
    title: str | None,
    user_id: int | None,
    team_id: int | None = None,
) -> m.Survey:
    """A new draft survey of ``q`` (audited) of the team ``team_id``, or of its study's
    team when it is in a study; :class:`Taken` when the link code, or the wave and
    audience in the study, is already used."""
    try:
        with _write() as ws:
            study = ws.get(m.Study, study_id) if study_id else None
            survey = create_survey(
                ws,
                q,
                slug=slug,
                access=access,
                status="draft",
                wave=wave,
                study=study,
                languages=languages,
                title=title,
            )
            survey.created_by_id = user_id
            survey.team_id = study.team_id if study is not None else team_id
            audit.record(
                ws,
                "created",
                survey,
                detail={"questionnaire": q.id, "version": q.version, "wave": survey.wave},
                user_id=user_id,
            )
    except IntegrityError:
        msg = f"the link code {slug!r}, or this wave and audience in the study, is taken"
        raise Taken(msg) from None
    return survey


def invite(survey_id: int, rows: list[dict[str, Any]], *, user_id: int | None) -> int:
    """One invitation per row of recipients (audited). The survey's access is left as it
    is: personal links always work, and an anonymous link stays open beside them (only
    :func:`set_access` changes it). Returns how many were made."""
    with _write() as ws:
        sv = get(m.Survey, survey_id, ws)
        made = create_invitations(ws, sv, rows, recipient_key="email")
        audit.record(ws, "invited", sv, detail={"count": len(made)}, user_id=user_id)
    return len(made)


def set_access(survey_id: int, access: str, *, user_id: int | None) -> m.Survey:
    """Turn the anonymous link on (``"anonymous"``: the public and branch links answer
    beside the personal invitations) or off (``"invitation"``: personal links only);
    audited with the previous value."""
    if access not in m.ACCESS_MODES:
        msg = f"access must be one of {m.ACCESS_MODES}; got {access!r}"
        raise ValueError(msg)
    with _write() as ws:
        sv: m.Survey = get(m.Survey, survey_id, ws)
        before, sv.access = sv.access, access
        detail = {"from": before, "to": access}
        audit.record(ws, "access_changed", sv, detail=detail, user_id=user_id)
    return sv


# -- the state of a survey ----------------------------------------------------------------
def set_state(
    survey_id: int,
    state: Literal["open", "closed"],
    *,
    user_id: int | None,
    detail: dict[str, Any] | None = None,
) -> m.Survey:
    """Open or close a survey now. Opening drops an opening time still to come and a
    closing time already past, so the survey is open from now on."""
    with _write() as ws:
        sv: m.Survey = get(m.Survey, survey_id, ws)
        sv.status = state
        if state == "open":
            if sv.opens_at is not None and sv.opens_at > m.utcnow():
                sv.opens_at = None
            if sv.closes_at is not None and sv.closes_at <= m.utcnow():
                sv.closes_at = None
        action = "opened" if state == "open" else "closed"
        audit.record(ws, action, sv, detail=detail, user_id=user_id)
    return sv


def schedule(
    survey_id: int, opens: datetime | None, closes: datetime | None, *, user_id: int | None
) -> m.Survey:
    """Set the opening and closing times (UTC); a draft with an opening time becomes open
    from then on."""
    with _write() as ws:
        sv: m.Survey = get(m.Survey, survey_id, ws)
        sv.opens_at, sv.closes_at = opens, closes
        if sv.status == "draft" and opens is not None:
            sv.status = "open"  # scheduled: open from opens_at on
        detail = {
            "opens_at": opens.isoformat() if opens else None,
            "closes_at": closes.isoformat() if closes else None,
        }
        audit.record(ws, "scheduled", sv, detail=detail, user_id=user_id)
    return sv


# -- invitations --------------------------------------------------------------------------
def invitation_query(survey_id: int, state: str) -> Any:
    """The invitations of a survey, all, used or unused, in the order they were made."""
    inv = m.Invitation
    q = select(inv).where(inv.survey_id == survey_id)
    if state == "used":
        q = q.where(inv.used_at.is_not(None))
    elif state == "unused":
        q = q.where(inv.used_at.is_(None))
    return q.order_by(inv.id)


def invitations_page(survey_id: int, state: str, page: int) -> tuple[list[m.Invitation], int]:
    """One page of the invitations in ``state`` and how many there are in that state."""
    s = dbm.session()
    query = invitation_query(survey_id, state)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(s.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    return rows, total


def invitations_used(survey_id: int) -> int:
    inv = m.Invitation
    query = select(func.count()).where(inv.survey_id == survey_id, inv.used_at.is_not(None))
    return dbm.session().scalar(query) or 0


def invitation_segment_names(survey_id: int) -> list[str]:
    """The segment names the invitations of a survey carry, sorted."""
    rows = dbm.session().scalars(
        select(m.Invitation.segments).where(m.Invitation.survey_id == survey_id)
    )
    return sorted({str(k) for seg in rows for k in (seg or {})})


# -- responses ----------------------------------------------------------------------------
def _response_filters(survey_id: int, status: str, seg_key: str, seg_value: str) -> list[Any]:
    r = m.Response
    conds: list[Any] = [r.survey_id == survey_id]
    if status == "complete":
        conds += [r.status == "complete", r.quarantined.is_(False)]
    elif status == "partial":
        conds += [r.status == "partial", r.quarantined.is_(False)]
    elif status == "suspect":
        conds += [cast(r.suspect, String).not_in(["{}", "null"]), r.quarantined.is_(False)]
    elif status == "quarantined":
        conds.append(r.quarantined.is_(True))
    if seg_key and SEGMENT_NAME.match(seg_key):
        conds.append(r.segments[seg_key].as_string() == seg_value)
    return conds


def responses_page(
    survey_id: int, *, status: str, segment: str, page: int
) -> tuple[list[m.Response], int]:
    """One page of a survey's responses (newest first) with a status filter
    (:data:`STATUS_FILTERS`) and a ``name=value`` segment filter, and how many match."""
    seg_key, _sep, seg_value = segment.partition("=")
    conds = _response_filters(survey_id, status, seg_key.strip(), seg_value.strip())
    s = dbm.session()
    total = s.scalar(select(func.count()).select_from(m.Response).where(and_(*conds))) or 0
    rows = list(
        s.scalars(
            select(m.Response)
            .where(and_(*conds))
            .order_by(m.Response.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
    )
    return rows, total


def responses_after(
    survey_id: int, *, after: int, limit: int, status: str, include_quarantined: bool
) -> tuple[list[m.Response], int]:
    """At most ``limit`` responses with a primary key above ``after``, in key order (a
    keyset page), and how many there are in all with that ``status`` (``complete``,
    ``partial`` or ``all``)."""
    r = m.Response
    conds: list[Any] = [r.survey_id == survey_id]
    if status != "all":
        conds.append(r.status == status)
    if not include_quarantined:
        conds.append(r.quarantined.is_(False))
    s = dbm.session()
    rows = list(s.scalars(select(r).where(*conds, r.id > after).order_by(r.id).limit(limit)))
    total = s.scalar(select(func.count()).select_from(r).where(*conds)) or 0
    return rows, total


def response_by_response_id(response_id: str, teams: Teams = None) -> m.Response:
    """The response with this client-generated id, or :class:`NotFound`."""
    query = select(m.Response).where(m.Response.response_id == response_id[:36])
    resp = dbm.session().scalar(query)
    if resp is None:
        msg = f"no response {response_id[:36]!r}"
        raise NotFound(msg)
    return _check_team(resp, resp.survey.team_id, teams, "response", response_id[:36])  # type: ignore[no-any-return]


def segment_options(survey_id: int) -> list[str]:
    """``name=value`` of the segments the invitations carry (at most 200, for a filter)."""
    rows = dbm.session().scalars(
        select(m.Invitation.segments).where(m.Invitation.survey_id == survey_id).limit(5000)
    )
    return sorted({f"{k}={v}" for seg in rows for k, v in (seg or {}).items()})[:200]


def response_log(pk: int) -> list[m.AuditLog]:
    """The audit records of one response, oldest first."""
    return list(
        dbm.session().scalars(
            select(m.AuditLog)
            .where(m.AuditLog.object_type == "response", m.AuditLog.object_id == str(pk))
            .order_by(m.AuditLog.at)
        )
    )


def set_quarantine(pk: int, on: bool, *, reason: str, user_id: int | None) -> m.Response:
    """Quarantine a response (left out of exports and reports) or restore it."""
    with _write() as ws:
        resp: m.Response = get(m.Response, pk, ws)
        resp.quarantined = on
        audit.record(
            ws,
            "quarantined" if on else "restored",
            resp,
            detail={"response_id": resp.response_id, "reason": reason[:500]},
            user_id=user_id,
        )
    return resp


def set_quarantine_many(
    survey_id: int, response_ids: Sequence[str], on: bool, *, reason: str, user_id: int | None
) -> int:
    """Quarantine (or restore) the complete responses of ``survey_id`` whose public ids are
    in ``response_ids``, in one transaction, each recorded in the audit log with
    ``reason``; ids of other surveys are ignored. Returns how many changed."""
    with _write() as ws:
        rows = ws.scalars(
            select(m.Response).where(
                m.Response.survey_id == survey_id,
                m.Response.response_id.in_(list(response_ids)),
                m.Response.quarantined.is_(not on),
            )
        ).all()
        for resp in rows:
            resp.quarantined = on
            audit.record(
                ws,
                "quarantined" if on else "restored",
                resp,
                detail={"response_id": resp.response_id, "reason": reason[:500], "bulk": True},
                user_id=user_id,
            )
    return len(rows)


def delete_response(pk: int, *, reason: str, user_id: int | None) -> int:
    """Delete a response and its answers, keeping what it was in the audit log; returns
    the id of its survey."""
    with _write() as ws:
        resp: m.Response = get(m.Response, pk, ws)
        survey_id = resp.survey_id
        detail = {
            "response_id": resp.response_id,
            "survey": resp.survey.slug,
            "status": resp.status,
            "answers": len(resp.answers),
            "reason": reason[:500],
        }
        audit.record(ws, "deleted", resp, detail=detail, user_id=user_id)
        ws.delete(resp)
    return survey_id


# -- the audit log ------------------------------------------------------------------------
def audit_page(page: int) -> list[Any]:
    """One page of the audit log, newest first: ``(AuditLog, user e-mail or None)`` rows."""
    return list(
        dbm.session()
        .execute(
            select(m.AuditLog, m.User.email)
            .outerjoin(m.User, m.User.id == m.AuditLog.user_id)
            .order_by(m.AuditLog.id.desc())
            .limit(PER_PAGE)
            .offset((page - 1) * PER_PAGE)
        )
        .all()
    )
