"""The ``reports`` blueprint: scoring runs from the web, dashboards, shareable reports.

URLs (prefix ``/research/reports``; every view is wrapped in :func:`surveyapp.auth.requires`)

``/``                                   surveys with reports (view)
``/surveys/<id>``                       overview: headline, change since the previous wave,
                                        what to fix first and its owner, warnings (view)
``/surveys/<id>/sections/<page>``       one section (segment filter): five gaps, SERVQUAL,
                                        what to fix first, the CSI model, waves, methods,
                                        data quality, comments (view)
``/surveys/<id>/items/<item>``          one item's five-gap drill-down (view)
``/surveys/<id>/runs``                  stored runs and the run form (view; POST: manage)
``/runs/<id>``, ``/runs/<id>.json``     one run, its progress (view)
``/runs/<id>/cancel``                   cancel a queued or running run (POST: manage)
``/runs/<id>/delete``                   delete a run, logged (POST: manage)
``/surveys/<id>/report.html|pdf``       the shareable report (view; logged as exported);
                                        the PDF is rendered by the queue: ``report.pdf``
                                        queues it and answers 202 with a page that waits
                                        for ``/pdf-jobs/<job>.json``, then fetches
                                        ``report.pdf?job=<job>``

A report reads only the surveys of its own study: the survey itself, the other waves of
the same instrument, and the manager / staff / audit surveys of the same wave. Data come
from :func:`surveyapp.services.exports.responses_frame` (complete, not quarantined responses).
Charts are inline SVG drawn on the server (:func:`charts.figure_svg`), the same
drawing as in the downloadable report and the PDF: no chart script at all.

Long scoring runs go to the task queue (:mod:`surveyapp.tasks`); the run pages first mark
runs whose worker died as failed (:func:`surveyapp.reports.runs.fail_stale`). The full
report of a survey is kept in :data:`cache` (Flask-Caching, the ``CACHE_*`` settings),
keyed by the surveys' data versions (:func:`surveyapp.services.exports.data_versions`,
one query), so a cached page reads no response; the frames a build reads are cached
there too (:func:`surveyapp.reports.runs.cached_frame`).
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    has_request_context,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_caching import Cache
from sqlalchemy import func, select

from scoring.errors import ScoringError
from surveyapp import audit, tasks
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.auth import (
    acting_teams,
    acting_user,
    acting_user_id,
    owned_run,
    owned_survey,
    requires,
)
from surveyapp.i18n import current_language
from surveyapp.reports import build, charts, render, runs
from surveyapp.services import actions, branding, exports, studies
from surveyapp.services.accounts import allowed

bp = Blueprint("reports", __name__, url_prefix="/research/reports")

RUN_PAGE = 50
cache = Cache()  # report sections; configured by the CACHE_* settings in init_app


class _ReportCache:
    """:data:`cache` as :func:`runs.cached_report` uses it, best-effort: while the cache's
    store is unreachable (a Redis restart) a lookup is a miss and nothing is kept, so the
    report is built, not refused with a 500."""

    def get(self, key: str) -> Any:
        try:
            return cache.get(key)
        except tasks.STORE_DOWN as exc:
            current_app.logger.warning("report cache unreachable, building: %s", exc)
            return None

    def set(self, key: str, value: Any) -> None:
        try:
            cache.set(key, value)
        except tasks.STORE_DOWN as exc:
            current_app.logger.warning("report cache unreachable, not kept: %s", exc)


# -- data ----------------------------------------------------------------------------------
def _survey(survey_id: int) -> m.Survey:
    return owned_survey(survey_id)


def linked_surveys(sv: m.Survey) -> tuple[list[m.Survey], dict[str, m.Survey]]:
    """The waves of ``sv``'s instrument in its study (in wave order), and the manager /
    staff / audit surveys of its wave: nothing outside the study."""
    if sv.study_id is None:
        return [sv], {}
    s = dbm.session()
    same_study = s.scalars(
        select(m.Survey).where(m.Survey.study_id == sv.study_id).order_by(m.Survey.id)
    ).all()
    qid = sv.snapshot.questionnaire_id
    waves = [
        x for x in same_study if x.audience == sv.audience and x.snapshot.questionnaire_id == qid
    ]
    waves.sort(key=lambda x: (x.wave or "", x.id))
    linked: dict[str, m.Survey] = {}
    if sv.audience == "customer":
        for x in same_study:
            if x.audience in ("manager", "staff", "audit") and x.wave == sv.wave:
                linked[x.audience] = x  # the newest one of an audience wins
    return waves, linked


def _frame(survey_ids: list[int]) -> pd.DataFrame:
    return exports.responses_frame(dbm.session(), survey_ids)


def _cached_frame(
    surveys: list[m.Survey], versions: dict[int, exports.DataVersion]
) -> pd.DataFrame:
    """The report frame of ``surveys`` from this process's memory or :data:`cache`
    (:func:`runs.cached_frame`)."""
    local = current_app.extensions["manyi_frames"]
    return runs.cached_frame(_ReportCache(), dbm.session(), surveys, versions, local)


def _parse_segment(q: Any, raw: str | None) -> tuple[str, str] | None:
    """:func:`build.parse_segment`, with its message in the page's language."""
    try:
        return build.parse_segment(q, raw)
    except ValueError:
        msg = _("Unknown segment %(s)s; choose one from the list.", s=(raw or "")[:80])
        raise ValueError(msg) from None


def _user_id() -> int | None:
    if not has_request_context():  # the CLI
        return None
    user = acting_user()
    return user.id if user is not None else None


def survey_report(
    sv: m.Survey,
    *,
    segment: tuple[str, str] | None,
    language: str,
    exclude_suspects: bool = False,
    comments: bool = True,
) -> dict[str, Any]:
    """The full report of a survey (cached; unchanged inputs are not rebuilt).

    Quarantined responses are never scored; with ``exclude_suspects`` the suspect ones
    (:func:`build.suspects`) are left out too -- what the pages, the report JSON (API
    and CLI) and ``manyi score`` do unless asked to keep them (``?suspects=include``,
    ``--include-suspect``: :func:`exclude_suspects`).

    The comments section (every wave's comments, segmented and counted) is built and
    cached on its own (:func:`build.comments_report`); without ``comments`` it is left
    out, so a page that does not show it (all but the comments page) does not build it
    after new responses."""
    q = sv.questionnaire()
    waves, linked = linked_surveys(sv)
    study_surveys = [sv, *[x for x in waves if x.id != sv.id]]  # what the comments read
    surveys = [*study_surveys, *linked.values()]
    versions = exports.data_versions(dbm.session(), [x.id for x in surveys])
    params = {
        "segment": list(segment) if segment else None,
        "language": language,
        "exclude_suspects": exclude_suspects,
    }

    @functools.cache  # the report and its comments both missing: read and screened once
    def study_frame() -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The survey's own rows, and every wave of the study (screened as the report
        is) when there is more than one wave."""
        frame_all = _cached_frame(waves, versions)
        data = frame_all.loc[
            frame_all["survey"].astype("string").eq(sv.slug).fillna(False).to_numpy(bool)
        ]
        study = None
        if len(waves) > 1:
            study = _screened(q, frame_all) if exclude_suspects else frame_all
        return data.reset_index(drop=True), study

    def make() -> dict[str, Any]:
        data, study = study_frame()
        linked_frames = {
            aud: (x.questionnaire(), _cached_frame([x], versions)) for aud, x in linked.items()
        }
        sources = build.GapSources(
            customer=(q, data),
            manager=linked_frames.get("manager"),
            staff=linked_frames.get("staff"),
            audit=linked_frames.get("audit"),
        )
        rep = build.full_report(
            q,
            data,
            gap_sources=sources,
            segment=segment,
            language=language,
            wave_segment=q.segments[0].id if q.segments else None,
            title=sv.title or q.title.get(language),
            excluded=versions[sv.id].quarantined,
            exclude_suspects=exclude_suspects,
            comments=False,
            waves_data=study,  # every wave of the study, screened once
            wave_order=[w.wave or w.slug for w in waves],
        )
        rep["survey"] = {"id": sv.id, "slug": sv.slug, "wave": sv.wave}
        rep["overview"] = build.overview(rep, language=language, wave=sv.wave or sv.slug)
        return rep

    rep = runs.cached_report(
        _ReportCache(),
        section="full",
        surveys=surveys,
        versions=versions,
        params=params,
        build=make,
    )
    if not comments:
        return rep

    def make_comments() -> dict[str, Any]:
        if not build.has_open_text(q):  # nothing to read: no frame
            return build.comments_report(q, pd.DataFrame(), n=rep["n"], language=language)
        data, study = study_frame()
        if study is None and exclude_suspects:
            data = _screened(q, data)
        said = data if study is None else study  # the comments page filters by wave
        return build.comments_report(q, said, n=rep["n"], language=language)

    part = runs.cached_report(
        _ReportCache(),
        section="comments",
        surveys=study_surveys,
        versions=versions,
        params={"language": language, "exclude_suspects": exclude_suspects},
        build=make_comments,
    )
    rep["unavailable"] = {**rep["unavailable"], **part["unavailable"]}
    if "comments" in part:
        rep["comments"] = part["comments"]
    return rep


def _screened(q: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` without its suspect responses (:func:`build.suspects`)."""
    if frame.empty:
        return frame
    keep = ~build.suspects(q, frame)["suspect"].to_numpy(bool)
    return frame.loc[keep].reset_index(drop=True)


def _page_args(segment: str | None) -> dict[str, Any]:
    """The query arguments every link between report pages carries: the segment and
    the suspects switch."""
    out: dict[str, Any] = {"segment": segment} if segment else {}
    if include_suspects():
        out["suspects"] = "include"
    return out


def include_suspects() -> bool:
    """The request's switch: ``?suspects=include`` scores the suspect responses too."""
    return request.args.get("suspects") == "include"


#: values of the report's ``suspects`` switch; the first is the default
SUSPECTS = ("exclude", "include")


def exclude_suspects(raw: str | None) -> bool:
    """Whether the report JSON leaves the suspect responses out, from its ``suspects``
    parameter: ``exclude`` (the default, as the pages and ``manyi score``) or
    ``include``; :class:`ValueError` names anything else."""
    value = raw or SUSPECTS[0]
    if value not in SUSPECTS:
        msg = f"suspects must be one of {', '.join(SUSPECTS)}; got {value[:40]!r}."
        raise ValueError(msg)
    return value == "exclude"


def _page_context(report: dict[str, Any], language: str) -> dict[str, Any]:
    return render.context(report, language, _)


# -- pages ---------------------------------------------------------------------------------
@bp.route("/")
@requires("view")
def index() -> Any:
    s = dbm.session()
    surveys = s.scalars(
        select(m.Survey)
        .where(studies.team_filter(m.Survey.team_id, acting_teams()))
        .order_by(m.Survey.study_id, m.Survey.wave, m.Survey.id)
    ).all()
    counts = dict(
        s.execute(
            select(m.Response.survey_id, func.count())
            .where(m.Response.status == "complete", m.Response.quarantined.is_(False))
            .group_by(m.Response.survey_id)
        ).all()
    )
    return render_template(
        "reports/index.html", surveys=surveys, counts=counts, lang=current_language()
    )


#: page slug -> section of the report (one page each, after the overview)
SECTION_PAGES = {
    "five-gaps": "five_gaps",
    "servqual": "servqual",
    "fix-first": "importance_performance",
    "csi-model": "csi",
    "waves": "waves",
    "methods": "methods",
    "quality": "data_quality",
    "comments": "comments",
}


@bp.route("/surveys/<int:survey_id>")
@requires("view")
def dashboard(survey_id: int) -> Any:
    """The overview: headline, change since the previous wave, what to fix first and
    who owns it, warnings, and the state of every section."""
    return _report_page(survey_id, None)


@bp.route("/surveys/<int:survey_id>/sections/<page>")
@requires("view")
def section(survey_id: int, page: str) -> Any:
    """One section of the report (:data:`SECTION_PAGES`)."""
    if page not in SECTION_PAGES:
        abort(404)
    return _report_page(survey_id, page)


def _report_page(survey_id: int, page: str | None) -> Any:
    sv = _survey(survey_id)
    lang = current_language()
    q = sv.questionnaire()
    report, raw = _segment_report(sv, comments=page == "comments")
    if report is None:
        if raw:  # an unknown segment: the same page without it
            return redirect(_page_url(survey_id, page), code=303)
        return render_template(
            "reports/dashboard.html",
            survey=sv,
            report=None,
            q=q,
            page=page,
            pages=SECTION_PAGES,
            segment_value="",
            page_args=_page_args(None),
            lang=lang,
            **_empty(),
        ), 422
    return render_template(
        "reports/section.html" if page else "reports/dashboard.html",
        survey=sv,
        q=q,
        page=page,
        pages=SECTION_PAGES,
        section_key=SECTION_PAGES.get(page or ""),
        segment_value=raw,
        page_args=_page_args(raw),
        **_page_context(report, lang),
        quarantine_url=url_for("reports.quarantine", survey_id=sv.id),
        quarantined=_quarantined_ids(sv.id) if page == "quality" else [],
        comment_query=(request.args.get("q") or "").strip()[:200],
        comment_wave=(request.args.get("wave") or "").strip()[:80],
        response_pks=_response_pks(sv, report) if page == "comments" else {},
        actions=build.action_rows(
            actions.study_actions(sv), report, wave=sv.wave or sv.slug, language=lang
        )
        if not page
        else [],
        owners=actions.gap_owners(sv) if not page else {},
        gap_rows=[
            {"gap": g, "label": build.GAP_LABELS[g].get(lang), "default": t.get(lang)}
            for g, t in build.OWNERS.items()
        ],
        can_manage=_can_manage(),
        item_url=lambda item: url_for(
            "reports.item", survey_id=sv.id, item_id=item, **_page_args(raw)
        ),
    )


@bp.route("/surveys/<int:survey_id>/quarantine", methods=["POST"])
@requires("manage")
def quarantine(survey_id: int) -> Any:
    """Quarantine the ticked suspect responses (``action=quarantine``) or restore the
    ticked quarantined ones (``action=restore``), with the reason given; each change is
    audited, and restoring undoes a quarantine."""
    sv = _survey(survey_id)
    on = request.form.get("action") != "restore"
    ids = request.form.getlist("response")
    reason = (request.form.get("reason") or "").strip()
    back = _page_url(sv.id, "quality")
    if not ids:
        flash(_("Tick at least one response."), "error")
        return redirect(back, code=303)
    if on and not reason:
        flash(_("Give the reason for the quarantine (it is kept in the audit log)."), "error")
        return redirect(back, code=303)
    n = studies.set_quarantine_many(sv.id, ids, on, reason=reason, user_id=acting_user_id())
    if on:
        flash(
            ngettext(
                "%(n)s response quarantined; it is left out of every score.",
                "%(n)s responses quarantined; they are left out of every score.",
                n,
                n=n,
            ),
            "info",
        )
    else:
        flash(ngettext("%(n)s response restored.", "%(n)s responses restored.", n, n=n), "info")
    return redirect(back, code=303)


@bp.route("/surveys/<int:survey_id>/actions", methods=["POST"])
@requires("manage")
def action_create(survey_id: int) -> Any:
    """Create an action from the overview's "fix first" (audited): ``target`` is
    ``dimension`` or ``dimension:gap``; the owner defaults to the gap's team."""
    sv = _survey(survey_id)
    dim, _sep, gap = (request.form.get("target") or "").partition(":")
    q = sv.questionnaire()
    known = {d.id for d in q.dimensions}
    if dim not in known or (gap and gap not in build.GAPS):
        flash(_("Choose what the action should improve from the list."), "error")
        return redirect(url_for("reports.dashboard", survey_id=sv.id), code=303)
    lang = current_language()
    owner = (request.form.get("owner") or "").strip()
    if not owner and gap:
        owner = actions.gap_owners(sv).get(gap) or build.OWNERS[gap].get(lang)
    if not owner:
        flash(_("Name the team that owns the action."), "error")
        return redirect(url_for("reports.dashboard", survey_id=sv.id), code=303)
    actions.create_action(
        sv,
        dimension=dim,
        gap=gap or None,
        owner=owner,
        due_wave=(request.form.get("due_wave") or "").strip() or None,
        note=(request.form.get("note") or "").strip()[:2000] or None,
        user_id=acting_user_id(),
    )
    flash(_("The action was saved; the next wave's report shows its tested change."), "info")
    return redirect(url_for("reports.dashboard", survey_id=sv.id) + "#actions", code=303)


@bp.route("/surveys/<int:survey_id>/owners", methods=["POST"])
@requires("manage")
def owners_update(survey_id: int) -> Any:
    """Name the team that owns each gap in the survey's study (audited)."""
    sv = _survey(survey_id)
    if sv.study_id is None:
        flash(_("Gap owners are named per study; link the survey to a study first."), "error")
    else:
        owners = {g: (request.form.get(f"owner-{g}") or "").strip() for g in build.GAPS}
        actions.set_gap_owners(sv, owners, user_id=acting_user_id())
        flash(_("The teams that own the gaps were saved."), "info")
    return redirect(url_for("reports.dashboard", survey_id=sv.id) + "#owners", code=303)


def _response_pks(sv: m.Survey, report: dict[str, Any]) -> dict[str, int]:
    """Public id -> primary key of the responses whose comments are listed (their links):
    the survey's and its other waves' (:func:`linked_surveys`)."""
    ids = {
        c["response_id"]
        for it in (report.get("comments") or {}).get("items", [])
        for c in it["comments"]
        if c["response_id"]
    }
    if not ids:
        return {}
    waves, _linked = linked_surveys(sv)
    rows = dbm.session().execute(
        select(m.Response.response_id, m.Response.id).where(
            m.Response.survey_id.in_([w.id for w in waves]), m.Response.response_id.in_(ids)
        )
    )
    return {str(rid): int(pk) for rid, pk in rows}


def _can_manage() -> bool:
    user = acting_user()
    return user is not None and allowed(user.role, "manage")


def _quarantined_ids(survey_id: int) -> list[str]:
    """Public ids of the survey's quarantined complete responses (the restore list)."""
    return list(
        dbm.session().scalars(
            select(m.Response.response_id)
            .where(
                m.Response.survey_id == survey_id,
                m.Response.quarantined.is_(True),
                m.Response.status == "complete",
            )
            .order_by(m.Response.id)
            .limit(build.SUSPECTS_LISTED)
        )
    )


def _page_url(survey_id: int, page: str | None, **args: Any) -> str:
    if page:
        return url_for("reports.section", survey_id=survey_id, page=page, **args)
    return url_for("reports.dashboard", survey_id=survey_id, **args)


def _segment_report(sv: m.Survey, *, comments: bool = True) -> tuple[dict[str, Any] | None, str]:
    """The survey's report for the request's ``?segment=`` (None once the reason it
    cannot be built is flashed), and the raw segment value; ``comments``: with the
    comments section (:func:`survey_report`)."""
    raw = request.args.get("segment", "")
    try:
        segment = _parse_segment(sv.questionnaire(), raw)
        report = survey_report(
            sv,
            segment=segment,
            language=current_language(),
            exclude_suspects=not include_suspects(),
            comments=comments,
        )
        return report, raw
    except (ValueError, ScoringError) as exc:
        flash(str(exc), "error")
        return None, raw


def _empty() -> dict[str, Any]:
    return {"charts": {}, "labels": render.labels(_), "names": {}}


@bp.route("/surveys/<int:survey_id>/items/<item_id>")
@requires("view")
def item(survey_id: int, item_id: str) -> Any:
    sv = _survey(survey_id)
    lang = current_language()
    report, raw = _segment_report(sv, comments=False)
    if report is None:
        return redirect(url_for("reports.dashboard", survey_id=survey_id), code=303)
    fg = report.get("five_gaps")
    if fg is None:  # too few responses: the section page says how many it needs
        return redirect(_page_url(survey_id, "five-gaps", **_page_args(raw)), code=303)
    entry = next((i for i in fg["items"] if i["item"] == item_id), None)
    if entry is None:
        abort(404)
    lab = render.labels(_)
    chart = charts.draw(charts.waterfall(entry, lab)) if len(entry["waterfall"]) > 1 else None
    return render_template(
        "reports/item.html",
        survey=sv,
        entry=entry,
        fig=chart,
        fg=fg,
        labels=lab,
        segment_value=raw,
        page_args=_page_args(raw),
        lang=lang,
    )


# -- runs ----------------------------------------------------------------------------------
@bp.route("/surveys/<int:survey_id>/runs")
@requires("view")
def run_list(survey_id: int) -> Any:
    sv = _survey(survey_id)
    _fail_stale()
    rows = (
        dbm.session()
        .scalars(
            select(m.ScoringRun)
            # report:* rows were report sections stored by versions before the cache
            .where(m.ScoringRun.survey_id == sv.id, m.ScoringRun.method.not_like("report:%"))
            .order_by(m.ScoringRun.id.desc())
            .limit(RUN_PAGE)
        )
        .all()
    )
    users = dict(dbm.session().execute(select(m.User.id, m.User.email)).all())
    q = sv.questionnaire()
    return render_template(
        "reports/runs.html",
        survey=sv,
        runs=rows,
        users=users,
        methods=_methods_for(q),
        parameters=runs.PARAMETERS,
        segments=[i.id for i in q.segments],
        lang=current_language(),
    )


def _methods_for(q: Any) -> list[str]:
    applicable = build._applicable(q)
    return [mth for mth in runs.METHODS if mth in applicable]


@bp.route("/surveys/<int:survey_id>/runs", methods=["POST"])
@requires("manage")
def run_create(survey_id: int) -> Any:
    sv = _survey(survey_id)
    q = sv.questionnaire()
    method = request.form.get("method", "")
    raw = {
        k.removeprefix(f"{method}-"): v
        for k, v in request.form.items()
        if k.startswith(f"{method}-")
    }
    try:
        params = runs.validate_params(method, raw, segments=[i.id for i in q.segments])
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.run_list", survey_id=sv.id), code=303)
    frame = _frame([sv.id])
    budget = float(current_app.config["REPORT_RUN_BUDGET_S"])
    queue = tasks.get_queue()
    run, created = runs.get_or_start(
        dbm.get_db(),
        survey=sv,
        frame=frame,
        method=method,
        params=params,
        user_id=_user_id(),
        enqueue=lambda run_id: queue.scoring_run(run_id, budget),
    )
    if not created:
        flash(
            _("These data were already scored with these parameters; here is the stored run."),
            "info",
        )
    return redirect(url_for("reports.run_detail", run_id=run.id), code=303)


def _fail_stale() -> None:
    """Mark the runs whose worker stopped giving heartbeats as failed."""
    runs.fail_stale(
        dbm.get_db(),
        tasks.get_queue().last_beat,
        stale_after_s=float(current_app.config["REPORT_RUN_STALE_S"]),
    )


def _run(run_id: int) -> tuple[m.ScoringRun, int]:
    """The run and its survey's id (404 for a missing run or one of no survey)."""
    _fail_stale()
    row = owned_run(run_id)
    if row.survey_id is None:
        abort(404)
    return row, row.survey_id


@bp.route("/runs/<int:run_id>")
@requires("view")
def run_detail(run_id: int) -> Any:
    row, survey_id = _run(run_id)
    sv = _survey(survey_id)
    tables = []
    if row.result:
        for key, value in row.result.items():
            if isinstance(value, dict) and {"columns", "data"} <= set(value):
                tables.append((key, value))
    scalars = {
        k: v
        for k, v in (row.result or {}).items()
        if not isinstance(v, dict | list) and k != "type"
    }
    creator = dbm.session().get(m.User, row.created_by_id) if row.created_by_id else None
    return render_template(
        "reports/run.html",
        run=row,
        survey=sv,
        tables=tables,
        scalars=scalars,
        creator=creator,
        lang=current_language(),
    )


@bp.route("/runs/<int:run_id>.json")
@requires("view")
def run_progress(run_id: int) -> Any:
    row, _survey_id = _run(run_id)
    return {"id": row.id, "status": row.status, "progress": row.progress, "error": row.error}


@bp.route("/runs/<int:run_id>/cancel", methods=["POST"])
@requires("manage")
def run_cancel(run_id: int) -> Any:
    row, _survey_id = _run(run_id)
    user = acting_user()
    if runs.cancel(dbm.get_db(), row.id, by=user.email if user is not None else "?"):
        flash(_("The run was cancelled."), "info")
    else:
        flash(_("The run had already ended."), "info")
    return redirect(url_for("reports.run_detail", run_id=row.id), code=303)


@bp.route("/runs/<int:run_id>/delete", methods=["POST"])
@requires("manage")
def run_delete(run_id: int) -> Any:
    row, survey_id = _run(run_id)
    runs.delete_run(dbm.get_db(), row.id, user_id=_user_id())
    flash(_("The run was deleted."), "info")
    return redirect(url_for("reports.run_list", survey_id=survey_id), code=303)


# -- downloads -----------------------------------------------------------------------------
@bp.route("/surveys/<int:survey_id>/report.<fmt>")
@requires("view")
def download(survey_id: int, fmt: str) -> Any:
    if fmt not in ("html", "pdf"):
        abort(404)
    sv = _survey(survey_id)
    lang = current_language()
    if fmt == "pdf":
        return _pdf(sv, lang)
    try:
        segment = _parse_segment(sv.questionnaire(), request.args.get("segment", ""))
        report = survey_report(
            sv, segment=segment, language=lang, exclude_suspects=not include_suspects()
        )
        report = {**report, "brand": branding.report_brand(sv.study)}
        body = render.render_html(report, language=lang).encode("utf-8")
    except (ValueError, ScoringError) as exc:
        flash(str(exc), "error")
        return redirect(url_for("reports.dashboard", survey_id=survey_id), code=303)
    return _attachment(sv, "html", body, "text/html; charset=utf-8")


def _pdf(sv: m.Survey, lang: str) -> Any:
    """Queue the PDF of the report (then wait for it), or send the one the queue made
    (``?job=``)."""
    queue = tasks.get_queue()
    segment_raw = request.args.get("segment") or None
    job = request.args.get("job")
    if not job:
        try:
            segment = _parse_segment(sv.questionnaire(), segment_raw)
            report = survey_report(
                sv, segment=segment, language=lang, exclude_suspects=not include_suspects()
            )
        except (ValueError, ScoringError) as exc:
            flash(str(exc), "error")
            return redirect(url_for("reports.dashboard", survey_id=sv.id), code=303)
        report = {**report, "brand": branding.report_brand(sv.study)}
        job = queue.report_pdf(sv.id, report, lang).id
    args = _page_args(segment_raw)
    pdf_url = url_for("reports.download", survey_id=sv.id, fmt="pdf", job=job, **args)
    done = queue.huey.result(job, preserve=True)
    if done is None:  # not made yet (or fetched already): a page that waits for it
        return render_template(
            "reports/preparing.html",
            survey=sv,
            status_url=url_for("reports.pdf_job", job=job),
            pdf_url=pdf_url,
            again_url=url_for("reports.download", survey_id=sv.id, fmt="pdf", **args),
            lang=lang,
        ), 202
    if not request.args.get("job"):  # made at once (immediate mode): fetch it by its job
        return redirect(pdf_url, code=303)
    survey_id, body, error = done
    if survey_id != sv.id:
        abort(404)
    queue.huey.result(job)  # fetched: Huey forgets it
    if error is not None:
        flash(error, "error")
        return redirect(url_for("reports.dashboard", survey_id=sv.id), code=303)
    return _attachment(sv, "pdf", body, "application/pdf")


@bp.route("/pdf-jobs/<job>.json")
@requires("view")
def pdf_job(job: str) -> Any:
    """Whether the queued PDF ``job`` is made (the waiting page polls it)."""
    return {"ready": tasks.get_queue().huey.result(job, preserve=True) is not None}


def _attachment(sv: m.Survey, fmt: str, body: bytes, mime: str) -> Any:
    """Send a report file (logged as exported)."""
    with dbm.get_db().write() as ws:
        audit.record(
            ws,
            "exported",
            object_type="survey",
            object_id=sv.id,
            detail={"report": fmt, "segment": request.args.get("segment") or None},
            user_id=acting_user_id(),
        )
    name = f"manyi-report-{sv.slug}.{fmt}"
    resp = Response(body, mimetype=mime)
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return resp


def init_app(app: Flask) -> None:
    """Register the blueprint, its report cache and the task queue its runs go to."""
    cache.init_app(app)
    app.extensions["manyi_frames"] = runs.LocalFrames(app.config["REPORT_FRAME_ROWS"])
    tasks.init_app(app)
    app.register_blueprint(bp)
