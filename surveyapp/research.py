"""The ``research`` blueprint: surveys, studies, invitations, responses and exports.

Everything here is behind a login (:mod:`surveyapp.auth`): each view is wrapped in
``requires(<permission>)``; a test walks the URL map and checks every route. State
changes are POSTs with a CSRF token. The views parse the request, call a service
(:mod:`surveyapp.services.studies`, :mod:`~surveyapp.services.exports`,
:mod:`~surveyapp.services.recipients`), which writes the change with its audit record in
one transaction, and render the answer.

URLs (prefix ``/research``)
---------------------------
``/``                                dashboard: studies, surveys, per-wave counts
``/surveys/new``                     create a survey from a built-in or uploaded instrument
``/surveys/<id>``                    one survey: state, links, counts; open / close / schedule
``/surveys/<id>/invitations``        invitations: used / unused; generate from a CSV or a count
``/surveys/<id>/invitations.csv``    the links for a mail merge
``/surveys/<id>/responses``          responses, paginated, filtered
``/surveys/<id>/export.<fmt>``       CSV / XLSX / SPSS export
``/responses/<pk>``                  one response; quarantine / restore / delete (admin)
``/studies``, ``/studies/<id>``      studies: the waves and audiences of one study
``/audit``                           the audit log (admins)
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound, RequestEntityTooLarge
from werkzeug.utils import secure_filename
from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

import questionnaires as qn
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp import survey as respondent
from surveyapp.auth import acting_user_id, requires
from surveyapp.downloads import export_download
from surveyapp.i18n import current_language
from surveyapp.services import exports, studies
from surveyapp.services import responses as response_service
from surveyapp.services.instruments import load_upload
from surveyapp.services.recipients import (
    MAX_INVITATION_BYTES,
    MAX_INVITATIONS,
    InvitationError,
    parse_recipients,
)

bp = Blueprint("research", __name__, url_prefix="/research")

UPLOAD_MAX_BYTES = 6_000_000  # a little above the XLSForm limit, so the loader names it


# -- helpers ------------------------------------------------------------------------------
def _title(survey: m.Survey) -> str:
    return survey.title or survey.questionnaire().title.get(current_language())


def _new_slug() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


# -- dashboard -----------------------------------------------------------------------------
@bp.route("/")
@requires("view")
def dashboard() -> Any:
    groups = studies.surveys_by_study()
    stats = studies.survey_stats([sv.id for _study, members in groups for sv in members])
    return render_template("research/dashboard.html", groups=groups, stats=stats, title_of=_title)


# -- studies -------------------------------------------------------------------------------
class StudyForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Short code"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", message=_l("Letters, digits, - and _.")),
        ],
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=2000)])


def _studies_page(form: StudyForm) -> str:
    return render_template("research/studies.html", studies=studies.list_studies(), form=form)


@bp.route("/studies", endpoint="studies")
@requires("view")
def study_list() -> Any:
    return _studies_page(StudyForm())


@bp.route("/studies/new", methods=["POST"])
@requires("manage")
def study_new() -> Any:
    form = StudyForm()
    if not form.validate_on_submit():
        return _studies_page(form), 422
    try:
        study = studies.create_study(
            form.slug.data, form.name.data, form.description.data, user_id=acting_user_id()
        )
    except studies.Taken:
        form.slug.errors = [_("This short code is taken; choose another.")]
        return _studies_page(form), 409
    flash(_("Study created."), "info")
    return redirect(url_for("research.study", study_id=study.id), code=303)


@bp.route("/studies/<int:study_id>")
@requires("view")
def study(study_id: int) -> Any:
    surveys = studies.study_surveys(study_id)
    audiences = [a for a in qn.AUDIENCES if any(sv.audience == a for sv in surveys)]
    waves = sorted({sv.wave or "" for sv in surveys})
    grid = {(sv.audience, sv.wave or ""): sv for sv in surveys}
    return render_template(
        "research/study.html",
        study=studies.get(m.Study, study_id),
        surveys=surveys,
        audiences=audiences,
        waves=waves,
        grid=grid,
        stats=studies.survey_stats([sv.id for sv in surveys]),
        title_of=_title,
    )


# -- creating a survey -------------------------------------------------------------------------
def _builtin_choices() -> list[SelectChoice]:
    lang = current_language()
    return [SelectChoice("", _("— upload a file instead —"))] + [
        SelectChoice(i, f"{qn.builtin(i).title.get(lang)} ({i})") for i in qn.builtin_ids()
    ]


def _study_choices() -> list[SelectChoice]:
    rows = studies.list_studies()
    return [SelectChoice("", _("— none —"))] + [SelectChoice(str(st.id), st.name) for st in rows]


class SurveyForm(FlaskForm):  # type: ignore[misc]
    builtin = SelectField(_l("Built-in questionnaire"), validators=[Optional()])
    upload = FileField(_l("Or upload a questionnaire (YAML or XLSForm .xlsx)"))
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=300)])
    slug = StringField(
        _l("Link code (optional)"),
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", message=_l("Letters, digits, - and _.")),
        ],
    )
    study = SelectField(_l("Study"), validators=[Optional()])
    wave = StringField(_l("Wave (e.g. 2026-Q1)"), validators=[Optional(), Length(max=50)])
    access = RadioField(
        _l("Access"),
        choices=[
            SelectChoice("invitation", _l("Personal invitations (one response per link)")),
            SelectChoice("anonymous", _l("Anonymous link")),
        ],
        default="invitation",
    )
    languages = SelectMultipleField(
        _l("Languages"),
        choices=[SelectChoice("zh-Hans", "中文"), SelectChoice("en", "English")],
        default=["zh-Hans", "en"],
    )


@bp.route("/surveys/new", methods=["GET", "POST"])
@requires("manage")
def survey_new() -> Any:
    request.max_content_length = UPLOAD_MAX_BYTES
    try:
        form = SurveyForm()
    except RequestEntityTooLarge:
        return _upload_too_large()
    form.builtin.choices = _builtin_choices()
    form.study.choices = _study_choices()
    problems: list[str] = []
    heading = None
    if request.method == "POST" and form.validate_on_submit():
        upload = form.upload.data
        try:
            if upload and getattr(upload, "filename", ""):
                data = upload.read(UPLOAD_MAX_BYTES + 1)
                upload.close()  # a large upload is a temporary file: release it now
                q = load_upload(upload.filename, data)
            elif form.builtin.data:
                q = qn.builtin(form.builtin.data)
            else:
                form.builtin.errors = [_("Choose a built-in questionnaire or upload a file.")]
                return render_template("research/survey_new.html", form=form), 422
        except qn.QuestionnaireError as exc:
            n = len(exc.problems)
            heading = _(
                "The questionnaire %(name)s cannot be used: %(n)d problem(s). Fix them and "
                "upload it again.",
                name=exc.source,
                n=n,
            )
            problems = exc.messages
            return (
                render_template(
                    "research/survey_new.html", form=form, problems=problems, heading=heading
                ),
                422,
            )
        return _create_survey(form, q)
    status = 422 if request.method == "POST" else 200
    return render_template("research/survey_new.html", form=form), status


def _upload_too_large() -> Any:
    form = SurveyForm(formdata=None)
    form.builtin.choices = _builtin_choices()
    form.study.choices = _study_choices()
    heading = _("The file is too large.")
    problems = [
        _(
            "An upload may have at most %(n)d bytes; a questionnaire never needs more.",
            n=UPLOAD_MAX_BYTES,
        )
    ]
    return (
        render_template("research/survey_new.html", form=form, problems=problems, heading=heading),
        413,
    )


def _create_survey(form: SurveyForm, q: qn.Questionnaire) -> Any:
    languages = [lang for lang in (form.languages.data or []) if lang in qn.LANGUAGES]
    try:
        survey = studies.create_draft(
            q,
            slug=form.slug.data or _new_slug(),
            access=form.access.data or "invitation",
            wave=form.wave.data or None,
            study_id=int(form.study.data) if form.study.data else None,
            languages=languages or list(qn.LANGUAGES),
            title=form.title.data or None,
            user_id=acting_user_id(),
        )
    except studies.Taken:
        form.slug.errors = [
            _("This link code, or this wave and audience in the study, is already used.")
        ]
        return render_template("research/survey_new.html", form=form), 409
    flash(_("Survey created as a draft; open it when you are ready."), "info")
    return redirect(url_for("research.survey", survey_id=survey.id), code=303)


# -- one survey ---------------------------------------------------------------------------------
@bp.route("/surveys/<int:survey_id>")
@requires("view")
def survey(survey_id: int) -> Any:
    sv = studies.survey(survey_id)
    q = sv.questionnaire()
    link = url_for("survey.anonymous", slug=sv.slug, _external=True)
    return render_template(
        "research/survey.html",
        survey=sv,
        q=q,
        title=_title(sv),
        stats=studies.survey_stats([sv.id])[sv.id],
        link=link,
        formats=exports.FORMATS,
        state=sv.state(),
        lang=current_language(),
        test_responses=response_service.count_test_responses(dbm.session(), sv.id),
    )


@bp.route("/surveys/<int:survey_id>/preview")
@requires("manage")
def survey_preview(survey_id: int) -> Any:
    """Answer the survey (draft, closed or open) in preview: test responses only."""
    sv = studies.survey(survey_id)
    respondent.start_preview(sv.id)
    return redirect(url_for("survey.anonymous", slug=sv.slug), code=303)


@bp.route("/surveys/<int:survey_id>/test-responses/delete", methods=["POST"])
@requires("manage")
def test_responses_delete(survey_id: int) -> Any:
    sv = studies.survey(survey_id)
    n = response_service.delete_test_responses(dbm.get_db(), sv.id, user_id=acting_user_id())
    flash(_("%(n)d test responses deleted.", n=n), "info")
    return redirect(url_for("research.survey", survey_id=sv.id), code=303)


@bp.route("/surveys/<int:survey_id>/open", methods=["POST"])
@requires("manage")
def survey_open(survey_id: int) -> Any:
    studies.set_state(survey_id, "open", user_id=acting_user_id())
    flash(_("Survey opened."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/close", methods=["POST"])
@requires("manage")
def survey_close(survey_id: int) -> Any:
    studies.set_state(survey_id, "closed", user_id=acting_user_id())
    flash(_("Survey closed."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


def _parse_when(raw: str, field: str) -> datetime | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        msg = _(
            "%(field)s must be a date and time like 2026-03-01T09:00; got %(raw)s.",
            field=field,
            raw=raw[:40],
        )
        raise ValueError(msg) from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


@bp.route("/surveys/<int:survey_id>/schedule", methods=["POST"])
@requires("manage")
def survey_schedule(survey_id: int) -> Any:
    studies.survey(survey_id)
    try:
        opens = _parse_when(request.form.get("opens_at", ""), _("Opens at"))
        closes = _parse_when(request.form.get("closes_at", ""), _("Closes at"))
        if opens and closes and closes <= opens:
            raise ValueError(_("The closing time must come after the opening time."))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("research.survey", survey_id=survey_id), code=303)
    studies.schedule(survey_id, opens, closes, user_id=acting_user_id())
    flash(_("Schedule saved (times in UTC)."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


# -- invitations --------------------------------------------------------------------------------
@bp.route("/surveys/<int:survey_id>/invitations")
@requires("manage")
def invitations(survey_id: int) -> Any:
    sv = studies.survey(survey_id)
    state = request.args.get("state", "all")
    if state not in studies.INVITATION_STATES:
        state = "all"
    page = _page()
    rows, total = studies.invitations_page(survey_id, state, page)
    counts = studies.survey_stats([sv.id])[sv.id]
    return render_template(
        "research/invitations.html",
        survey=sv,
        title=_title(sv),
        invitations=rows,
        state=state,
        page=page,
        pages=studies.page_count(total),
        total=total,
        n_all=counts["invitations"],
        n_used=studies.invitations_used(survey_id),
    )


@bp.route("/surveys/<int:survey_id>/invitations", methods=["POST"])
@requires("manage")
def invitations_create(survey_id: int) -> Any:
    request.max_content_length = MAX_INVITATION_BYTES + 100_000
    try:
        upload = request.files.get("recipients")
        count_raw = request.form.get("count", "").strip()
    except RequestEntityTooLarge:
        flash(_("The file is too large; split it into files of at most 5 MB."), "error")
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    studies.survey(survey_id)
    try:
        if upload is not None and upload.filename:
            data = upload.read(MAX_INVITATION_BYTES + 1)
            upload.close()
            rows = parse_recipients(data, secure_filename(upload.filename))
        elif count_raw:
            if not count_raw.isdigit() or not 1 <= int(count_raw) <= MAX_INVITATIONS:
                raise InvitationError(
                    _(
                        "The number of invitations must be a whole number from 1 to %(n)d.",
                        n=MAX_INVITATIONS,
                    )
                )
            rows = [{} for _ in range(int(count_raw))]
        else:
            raise InvitationError(_("Upload a CSV of recipients or give a number."))
    except InvitationError as exc:
        flash(str(exc), "error")
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    made = studies.invite(survey_id, rows, user_id=acting_user_id())
    flash(_("%(n)d invitations created.", n=made), "info")
    return redirect(url_for("research.invitations", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/invitations.csv")
@requires("manage")
def invitations_csv(survey_id: int) -> Any:
    sv = studies.survey(survey_id)
    state = request.args.get("state", "all")
    base = url_for("survey.invited", token="TOKEN", _external=True).removesuffix("TOKEN")
    body = exports.iter_invitation_csv(sv, state, base, user_id=acting_user_id())
    filename = f"{secure_filename(sv.slug) or 'survey'}-invitations.csv"
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- responses --------------------------------------------------------------------------------
@bp.route("/surveys/<int:survey_id>/responses")
@requires("view")
def responses(survey_id: int) -> Any:
    sv = studies.survey(survey_id)
    waves = studies.waves_of(sv)
    wave_id = request.args.get("wave", type=int)
    if wave_id is not None and wave_id != sv.id:
        if any(w.id == wave_id for w in waves):
            args: dict[str, Any] = request.args.to_dict()
            args.pop("wave", None)
            args["survey_id"] = wave_id
            return redirect(url_for("research.responses", **args))
    status = request.args.get("status", "all")
    if status not in studies.STATUS_FILTERS:
        status = "all"
    segment = request.args.get("segment", "")
    page = _page()
    rows, total = studies.responses_page(survey_id, status=status, segment=segment, page=page)
    return render_template(
        "research/responses.html",
        survey=sv,
        title=_title(sv),
        rows=rows,
        total=total,
        page=page,
        pages=studies.page_count(total),
        status=status,
        statuses=studies.STATUS_FILTERS,
        segment=segment,
        seg_options=studies.segment_options(survey_id),
        waves=waves,
    )


def _answer_rows(resp: m.Response, lang: str) -> list[dict[str, Any]]:
    q = resp.survey.questionnaire()
    values = resp.values()
    out = []
    lay = exports.item_columns(q, lang)
    for col in lay:
        value = values.get(col.name)
        shown: Any = "" if value is None else value
        label = ""
        if value is not None:
            if col.kind == "code":
                label = col.value_labels.get(value, "")
            elif isinstance(value, float):
                shown = int(value) if value.is_integer() else value
                label = col.value_labels.get(int(value), "") if value.is_integer() else ""
        out.append({"column": col.name, "label": col.label, "value": shown, "meaning": label})
    return out


@bp.route("/responses/<int:pk>")
@requires("view")
def response(pk: int) -> Any:
    resp = studies.get(m.Response, pk)
    return render_template(
        "research/response.html",
        resp=resp,
        survey=resp.survey,
        title=_title(resp.survey),
        answers=_answer_rows(resp, current_language()),
        log=studies.response_log(pk),
    )


def _reason() -> str:
    return (request.form.get("reason") or "").strip()


@bp.route("/responses/<int:pk>/quarantine", methods=["POST"])
@requires("manage")
def response_quarantine(pk: int) -> Any:
    studies.set_quarantine(pk, True, reason=_reason(), user_id=acting_user_id())
    flash(_("Response quarantined."), "info")
    return redirect(url_for("research.response", pk=pk), code=303)


@bp.route("/responses/<int:pk>/restore", methods=["POST"])
@requires("manage")
def response_restore(pk: int) -> Any:
    studies.set_quarantine(pk, False, reason=_reason(), user_id=acting_user_id())
    flash(_("Response restored."), "info")
    return redirect(url_for("research.response", pk=pk), code=303)


@bp.route("/responses/<int:pk>/delete", methods=["POST"])
@requires("delete")
def response_delete(pk: int) -> Any:
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to delete the response."), "error")
        return redirect(url_for("research.response", pk=pk), code=303)
    survey_id = studies.delete_response(pk, reason=_reason(), user_id=acting_user_id())
    flash(_("Response deleted; the deletion is in the audit log."), "info")
    return redirect(url_for("research.responses", survey_id=survey_id), code=303)


# -- exports -----------------------------------------------------------------------------------
def _export(survey_ids: list[int], fmt: str, slug: str) -> Any:
    if fmt not in exports.FORMATS:
        abort(404)
    try:
        return export_download(survey_ids, fmt, slug)
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("research.survey", survey_id=survey_ids[0]), code=303)


@bp.route("/surveys/<int:survey_id>/export.<fmt>")
@requires("export")
def export(survey_id: int, fmt: str) -> Any:
    sv = studies.survey(survey_id)
    return _export([sv.id], fmt, sv.slug)


@bp.route("/studies/<int:study_id>/export.<fmt>")
@requires("export")
def study_export(study_id: int, fmt: str) -> Any:
    st = studies.get(m.Study, study_id)
    ids = studies.study_survey_ids(study_id, request.args.get("audience"))
    if not ids:
        abort(404)
    return _export(ids, fmt, st.slug)


# -- audit log ----------------------------------------------------------------------------------
@bp.route("/audit")
@requires("admin")
def audit_log() -> Any:
    page = _page()
    return render_template("research/audit.html", rows=studies.audit_page(page), page=page)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(exc: RequestEntityTooLarge) -> Any:
    if request.endpoint == "research.survey_new":
        return _upload_too_large()
    return render_template(
        "errors/error.html",
        code=413,
        title=_("Too much data"),
        text=_("The file is too large."),
        detail=None,
    ), 413


@bp.errorhandler(studies.NotFound)
def _not_found(exc: studies.NotFound) -> Any:
    return current_app.handle_http_exception(NotFound())


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)


def init_app(app: Flask) -> None:
    """Register the researchers' pages."""
    app.register_blueprint(bp)
