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
``/surveys/<id>/preview/devices``    the survey in preview in a phone and a desktop frame
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
from flask_babel import ngettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.exceptions import NotFound, RequestEntityTooLarge
from werkzeug.utils import secure_filename
from wtforms import BooleanField, RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

import questionnaires as qn
from surveyapp import audit, messaging, security
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp import survey as respondent
from surveyapp.auth import (
    acting_teams,
    acting_user_id,
    home_team,
    owned_response,
    owned_study,
    owned_survey,
    requires,
)
from surveyapp.downloads import export_download
from surveyapp.i18n import current_language
from surveyapp.reports import render
from surveyapp.security import id_arg, page_arg
from surveyapp.services import branding, exports, links, mailing, posters, studies
from surveyapp.services import responses as response_service
from surveyapp.services.instruments import UPLOAD_LIMITS, UploadTooLarge, load_upload
from surveyapp.services.recipients import (
    ENCODINGS,
    MAX_INVITATION_BYTES,
    MAX_INVITATIONS,
    InvitationError,
    parse_recipients,
)
from surveyapp.tasks import get_queue

bp = Blueprint("research", __name__, url_prefix="/research")

# the largest questionnaire file plus the multipart envelope and the form's other fields
UPLOAD_MAX_BYTES = max(UPLOAD_LIMITS.values()) + 64_000


# -- helpers ------------------------------------------------------------------------------
def _title(survey: m.Survey) -> str:
    return survey.title or survey.questionnaire().title.get(current_language())


def _new_slug() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


# -- dashboard -----------------------------------------------------------------------------
@bp.route("/")
@requires("view")
def dashboard() -> Any:
    groups = studies.surveys_by_study(acting_teams())
    stats = studies.survey_stats([sv.id for _study, members in groups for sv in members])
    return render_template("research/dashboard.html", groups=groups, stats=stats, title_of=_title)


# -- studies -------------------------------------------------------------------------------
class StudyForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    slug = StringField(
        _l("Short code"),
        validators=[
            DataRequired(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z", message=_l("Letters, digits, - and _.")),
        ],
    )
    description = StringField(_l("Description"), validators=[Optional(), Length(max=2000)])


def _studies_page(form: StudyForm) -> str:
    return render_template(
        "research/studies.html", studies=studies.list_studies(acting_teams()), form=form
    )


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
            form.slug.data,
            form.name.data,
            form.description.data,
            user_id=acting_user_id(),
            team_id=home_team(),
        )
    except studies.Taken:
        form.slug.errors = [_("This short code is taken; choose another.")]
        return _studies_page(form), 409
    flash(_("Study created."), "info")
    return redirect(url_for("research.study", study_id=study.id), code=303)


class BrandForm(FlaskForm):  # type: ignore[misc]
    """A study's branding (:mod:`surveyapp.services.branding`); blank fields: neutral."""

    org_name = StringField(_l("Organisation name"), validators=[Optional(), Length(max=200)])
    primary = StringField(
        _l("Header colour"),
        validators=[
            Optional(),
            Regexp(
                branding.HEX.pattern,
                message=_l("Header colour: write # and six hex digits, e.g. #1f4e79."),
            ),
        ],
    )
    accent = StringField(
        _l("Accent colour (links and buttons)"),
        validators=[
            Optional(),
            Regexp(
                branding.HEX.pattern,
                message=_l("Accent colour: write # and six hex digits, e.g. #0b5cad."),
            ),
        ],
    )
    logo = FileField(_l("Logo (PNG or JPEG, at most 200 kB)"))
    remove_logo = BooleanField(_l("Remove the logo"))

    def validate_accent(self, field: StringField) -> None:
        if field.data and branding.is_colour(field.data):
            try:
                branding.check_accent(field.data)
            except branding.ContrastTooLow as exc:
                raise ValidationError(
                    _(
                        "Accent colour: %(colour)s reaches only %(ratio).1f:1 against the page; "
                        "text needs at least 4.5:1. Choose a darker colour.",
                        colour=exc.colour,
                        ratio=exc.ratio,
                    )
                ) from exc


LOGO_REFUSALS = {
    "size": _l("Logo: the file is larger than 200 kB; save it smaller."),
    "type": _l("Logo: only PNG or JPEG images are accepted (not SVG or other files)."),
    "dimensions": _l("Logo: the image is larger than 2000 pixels a side; scale it down."),
}


def _brand_form(st: m.Study) -> BrandForm:
    return BrandForm(
        formdata=None,
        org_name=st.brand_name,
        primary=st.brand_primary,
        accent=st.brand_accent,
    )


def _study_page(st: m.Study, brand_form: BrandForm) -> str:
    surveys = studies.study_surveys(st.id, acting_teams())
    audiences = [a for a in qn.AUDIENCES if any(sv.audience == a for sv in surveys)]
    waves = sorted({sv.wave or "" for sv in surveys})
    grid = {(sv.audience, sv.wave or ""): sv for sv in surveys}
    return render_template(
        "research/study.html",
        study=st,
        surveys=surveys,
        audiences=audiences,
        waves=waves,
        grid=grid,
        stats=studies.survey_stats([sv.id for sv in surveys]),
        title_of=_title,
        brand_form=brand_form,
        brand=branding.of(st),
    )


@bp.route("/studies/<int:study_id>")
@requires("view")
def study(study_id: int) -> Any:
    st = owned_study(study_id)
    return _study_page(st, _brand_form(st))


@bp.route("/studies/<int:study_id>/logo")
@requires("view")
def study_logo(study_id: int) -> Any:
    found = branding.logo(owned_study(study_id).id)
    if found is None:
        abort(404)
    data, media_type = found
    return Response(data, mimetype=media_type, headers={"Cache-Control": "private, max-age=86400"})


@bp.route("/studies/<int:study_id>/branding", methods=["POST"])
@requires("manage")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def study_branding(study_id: int) -> Any:
    st = owned_study(study_id)
    form = BrandForm()
    if not form.validate_on_submit():
        return _study_page(st, form), 422
    upload = form.logo.data
    data = None
    if upload and getattr(upload, "filename", ""):
        data = upload.read(branding.LOGO_MAX_BYTES + 1)
        upload.close()
    try:
        branding.save(
            st.id,
            name=(form.org_name.data or "").strip() or None,
            primary=form.primary.data or None,
            accent=form.accent.data or None,
            logo=data,
            remove_logo=bool(form.remove_logo.data),
            user_id=acting_user_id(),
        )
    except branding.LogoRefused as exc:
        form.logo.errors = [str(LOGO_REFUSALS[exc.reason])]
        return _study_page(st, form), 422
    flash(_("Branding saved."), "info")
    return redirect(url_for("research.study", study_id=study_id), code=303)


# -- creating a survey -------------------------------------------------------------------------
def _builtin_choices() -> list[SelectChoice]:
    lang = current_language()
    return [SelectChoice("", _("— upload a file instead —"))] + [
        SelectChoice(i, f"{qn.builtin(i).title.get(lang)} ({i})") for i in qn.builtin_ids()
    ]


def _study_choices() -> list[SelectChoice]:
    rows = studies.list_studies(acting_teams())
    return [SelectChoice("", _("— none —"))] + [SelectChoice(str(st.id), st.name) for st in rows]


class SurveyForm(FlaskForm):  # type: ignore[misc]
    builtin = SelectField(_l("Built-in questionnaire"), validators=[Optional()])
    upload = FileField(_l("Or upload a questionnaire (YAML or XLSForm .xlsx)"))
    title = StringField(_l("Title (optional)"), validators=[Optional(), Length(max=300)])
    slug = StringField(
        _l("Link code (optional)"),
        validators=[
            Optional(),
            Regexp(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z", message=_l("Letters, digits, - and _.")),
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
                try:
                    q = load_upload(upload.filename, data)
                except UploadTooLarge as exc:
                    return _upload_too_large(exc.size)
            elif form.builtin.data:
                q = qn.builtin(form.builtin.data)
            else:
                form.builtin.errors = [_("Choose a built-in questionnaire or upload a file.")]
                return render_template("research/survey_new.html", form=form), 422
        except qn.QuestionnaireError as exc:
            n = len(exc.problems)
            heading = ngettext(
                "The questionnaire %(name)s cannot be used: %(n)d problem. Fix it and "
                "upload it again.",
                "The questionnaire %(name)s cannot be used: %(n)d problems. Fix them and "
                "upload it again.",
                n,
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


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:g} MB"


def _upload_too_large(size: int | None = None) -> Any:
    form = SurveyForm(formdata=None)
    form.builtin.choices = _builtin_choices()
    form.study.choices = _study_choices()
    heading = _("The file is too large.")
    limits = _(
        "A questionnaire file may have at most %(yaml)s (YAML) or %(xlsx)s (XLSForm .xlsx).",
        yaml=_megabytes(UPLOAD_LIMITS["yaml"]),
        xlsx=_megabytes(UPLOAD_LIMITS["xlsx"]),
    )
    if size is not None:
        shown = f"{size:,}"
        limits += " " + _("This one has %(size)s bytes.", size=shown)
    problems = [limits]
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
            team_id=home_team(),
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
    sv = owned_survey(survey_id)
    q = sv.questionnaire()
    survey_links = links.links_of(sv.id)
    counts = links.response_counts(sv.id)
    return render_template(
        "research/survey.html",
        survey=sv,
        q=q,
        title=_title(sv),
        stats=studies.survey_stats([sv.id])[sv.id],
        link=_public_url("survey.anonymous", slug=sv.slug),
        links=survey_links,
        short_url=lambda code: _public_url("distribution.short_link", code=code),
        counts=counts,
        channels=links.channel_counts(counts, survey_links),
        no_count=links.LinkCount("", 0, 0),
        formats=exports.FORMATS,
        state=sv.state(),
        lang=current_language(),
        test_responses=response_service.count_test_responses(dbm.session(), sv.id),
    )


def _public_url(endpoint: str, **values: Any) -> str:
    """An address respondents open: under ``PUBLIC_URL`` when set, else this request's."""
    base = current_app.config.get("PUBLIC_URL")
    if not base:
        return url_for(endpoint, _external=True, **values)
    return str(base).rstrip("/") + url_for(endpoint, **values)


def _back(survey_id: int, anchor: str = "") -> Any:
    target = url_for("research.survey", survey_id=survey_id)
    return redirect(target + (f"#{anchor}" if anchor else ""), code=303)


@bp.route("/surveys/<int:survey_id>/access", methods=["POST"])
@requires("manage")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def survey_access(survey_id: int) -> Any:
    owned_survey(survey_id)
    access = request.form.get("access", "")
    if access not in m.ACCESS_MODES:
        abort(400)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to change who can answer."), "error")
        return _back(survey_id, "links")
    studies.set_access(survey_id, access, user_id=acting_user_id())
    if access == "anonymous":
        flash(_("The anonymous link and the branch links answer again."), "info")
    else:
        flash(_("Only personal invitations answer now; the anonymous link is off."), "info")
    return _back(survey_id, "links")


@bp.route("/surveys/<int:survey_id>/links", methods=["POST"])
@requires("manage")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def link_create(survey_id: int) -> Any:
    owned_survey(survey_id)
    try:
        segments = links.parse_segments(request.form.get("segments", ""))
        link = links.create_link(
            survey_id, request.form.get("channel", ""), segments, user_id=acting_user_id()
        )
    except links.LinkError as exc:
        flash(str(exc), "error")
        return _back(survey_id, "links")
    flash(_("Link %(code)s created.", code=link.code), "info")
    return _back(survey_id, "links")


def _link_or_404(survey_id: int, code: str | None) -> m.SurveyLink | None:
    if code is None:
        return None
    link = links.by_code(dbm.session(), code)
    if link is None or link.survey_id != survey_id:
        abort(404)
    return link


@bp.route("/surveys/<int:survey_id>/qr.<fmt>")
@bp.route("/surveys/<int:survey_id>/links/<code>/qr.<fmt>")
@requires("view")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def qr_code(survey_id: int, fmt: str, code: str | None = None) -> Any:
    sv = owned_survey(survey_id)
    if fmt not in links.QR_FORMATS:
        abort(404)
    link = _link_or_404(survey_id, code)
    if link is None:
        url = _public_url("survey.anonymous", slug=sv.slug)
    else:
        url = _public_url("distribution.short_link", code=link.code)
    body = links.qr_code(url, "svg" if fmt == "svg" else "png")
    name = f"{secure_filename(sv.slug) or 'survey'}-{link.code if link else 'link'}-qr.{fmt}"
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    disposition = "attachment" if request.args.get("download") else "inline"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'{disposition}; filename="{name}"'},
    )


@bp.route("/surveys/<int:survey_id>/preview")
@requires("manage")
def survey_preview(survey_id: int) -> Any:
    """Answer the survey (draft, closed or open) in preview: test responses only."""
    sv = owned_survey(survey_id)
    respondent.start_preview(sv.id)
    return redirect(url_for("survey.anonymous", slug=sv.slug), code=303)


@bp.route("/surveys/<int:survey_id>/preview/devices")
@requires("manage")
def survey_preview_devices(survey_id: int) -> Any:
    """The survey in preview on a phone (390 px) and a desktop (1366 px, scaled) side by
    side: two frames of the same preview, which only preview pages allow (their
    ``frame-ancestors 'self'``, :func:`surveyapp.distribution.init_app`). Each frame opens
    :func:`survey_preview`, which grants the preview in the frame's own request: a grant
    made by this page could be overwritten by a concurrent request of the researcher's
    (every logged-in request writes the session cookie, with what it was sent)."""
    sv = owned_survey(survey_id)
    frame_url = url_for("research.survey_preview", survey_id=sv.id)
    return render_template(
        "research/preview.html", survey=sv, title=_title(sv), frame_url=frame_url
    )


@bp.route("/surveys/<int:survey_id>/test-responses/delete", methods=["POST"])
@requires("manage")
def test_responses_delete(survey_id: int) -> Any:
    sv = owned_survey(survey_id)
    n = response_service.delete_test_responses(dbm.get_db(), sv.id, user_id=acting_user_id())
    flash(ngettext("%(n)d test response deleted.", "%(n)d test responses deleted.", n, n=n), "info")
    return redirect(url_for("research.survey", survey_id=sv.id), code=303)


@bp.route("/surveys/<int:survey_id>/open", methods=["POST"])
@requires("manage")
def survey_open(survey_id: int) -> Any:
    owned_survey(survey_id)
    studies.set_state(survey_id, "open", user_id=acting_user_id())
    flash(_("Survey opened."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/close", methods=["POST"])
@requires("manage")
def survey_close(survey_id: int) -> Any:
    owned_survey(survey_id)
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
    owned_survey(survey_id)
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
    sv = owned_survey(survey_id)
    state = request.args.get("state", "all")
    if state not in studies.INVITATION_STATES:
        state = "all"
    page = _page()
    rows, total = studies.invitations_page(survey_id, state, page)
    counts = studies.survey_stats([sv.id])[sv.id]
    policy = mailing.Policy.from_config(current_app.config)
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
        mail=mailing.progress(survey_id),
        due_invitations=mailing.due_count(survey_id, "invitation", policy),
        due_reminders=mailing.due_count(survey_id, "reminder", policy),
        policy=policy,
        opted_out=mailing.opted_out_of([inv.recipient for inv in rows]),
        started=mailing.started_of([inv.id for inv in rows]),
        can_send=messaging.can_send(current_app.config),
        lease_s=round(mailing.lease(current_app.config).total_seconds()),
        rates=mailing.rates_by_segment(survey_id, studies.invitation_segment_names(survey_id)),
    )


@bp.route("/surveys/<int:survey_id>/invitations", methods=["POST"])
@requires("manage")
def invitations_create(survey_id: int) -> Any:
    owned_survey(survey_id)
    request.max_content_length = MAX_INVITATION_BYTES + 100_000
    try:
        upload = request.files.get("recipients")
        count_raw = request.form.get("count", "").strip()
    except RequestEntityTooLarge:
        flash(_("The file is too large; split it into files of at most 5 MB."), "error")
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    try:
        if upload is not None and upload.filename:
            data = upload.read(MAX_INVITATION_BYTES + 1)
            upload.close()
            encoding = request.form.get("encoding", "auto")
            if encoding not in ENCODINGS:
                encoding = "auto"
            # the name as the researcher sees it (escaped when shown), not secure_filename's
            # ASCII-only form, which turns 客户名单.csv into csv
            name = (upload.filename or "").replace("\\", "/").rsplit("/", 1)[-1][:100]
            rows = parse_recipients(data, name, encoding=encoding)  # type: ignore[arg-type]
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
    flash(ngettext("%(n)d invitation created.", "%(n)d invitations created.", made, n=made), "info")
    return redirect(url_for("research.invitations", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/poster.pdf")
@bp.route("/surveys/<int:survey_id>/links/<code>/poster.pdf")
@requires("view")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def poster(survey_id: int, code: str | None = None) -> Any:
    sv = owned_survey(survey_id)
    link = _link_or_404(survey_id, code)
    size = request.args.get("size", "A4")
    if size not in posters.SIZES:
        abort(404)
    q = sv.questionnaire()
    place = None
    if link is not None:
        place = " · ".join(f"{k}: {v}" for k, v in link.segments.items()) or None
    content = posters.Poster(
        title_zh=sv.title or q.title.get("zh-Hans"),
        title_en=sv.title or q.title.get("en"),
        url=_public_url("distribution.short_link", code=link.code)
        if link
        else _public_url("survey.anonymous", slug=sv.slug),
        brand=(sv.study.brand_name or sv.study.name) if sv.study else None,
        logo=branding.logo_data_uri(sv.study),
        primary=sv.study.brand_primary if sv.study else None,
        place=place,
    )
    try:
        body = posters.poster_pdf(content, size)  # type: ignore[arg-type]
    except render.FontMissingError as exc:
        flash(str(exc), "error")
        return _back(survey_id, "links")
    name = f"{secure_filename(sv.slug) or 'survey'}-{link.code if link else 'link'}-{size}.pdf"
    return Response(
        body,
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/surveys/<int:survey_id>/invitations/send", methods=["POST"])
@requires("manage")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def invitations_send(survey_id: int) -> Any:
    sv = owned_survey(survey_id)
    kind = request.form.get("kind", "")
    if kind not in ("invitation", "reminder"):
        abort(400)
    if sv.state() != "open":
        flash(_("Open the survey before sending; a closed link helps nobody."), "error")
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    if not messaging.can_send(current_app.config):
        flash(
            _("Sending is not set up: the administrator sets MAIL_HOST (see the README)."), "error"
        )
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    base = current_app.config.get("PUBLIC_URL") or request.url_root
    get_queue().send_messages(survey_id, kind, str(base))
    audit.record_now("mail_queued", sv, detail={"kind": kind}, user_id=acting_user_id())
    if kind == "invitation":
        flash(_("Sending the invitations; this page shows the progress."), "info")
    else:
        flash(_("Sending the reminders that are due; this page shows the progress."), "info")
    return redirect(url_for("research.invitations", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/invitations/resend-interrupted", methods=["POST"])
@requires("manage")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def invitations_resend_interrupted(survey_id: int) -> Any:
    """Send the interrupted messages again (the same Message-ID; see services.mailing)."""
    sv = owned_survey(survey_id)
    back = redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    if request.form.get("confirm") != "yes":
        flash(_("Tick the box to confirm that some may arrive twice."), "error")
        return back
    if sv.state() != "open":
        flash(_("Open the survey before sending; a closed link helps nobody."), "error")
        return back
    if not messaging.can_send(current_app.config):
        flash(
            _("Sending is not set up: the administrator sets MAIL_HOST (see the README)."), "error"
        )
        return back
    lease = mailing.lease(current_app.config)
    released = mailing.release_interrupted(survey_id, lease, user_id=acting_user_id())
    n = sum(released.values())
    if not n:
        flash(
            _(
                "None to send again: an interruption younger than %(s)d seconds may still be"
                " under way; try again later.",
                s=round(lease.total_seconds()),
            ),
            "info",
        )
        return back
    base = str(current_app.config.get("PUBLIC_URL") or request.url_root)
    for kind, count in released.items():
        if count:
            get_queue().send_messages(survey_id, kind, base)
    flash(
        ngettext(
            "Sending %(n)d interrupted message again; this page shows the progress.",
            "Sending %(n)d interrupted messages again; this page shows the progress.",
            n,
            n=n,
        ),
        "info",
    )
    return back


@bp.route("/surveys/<int:survey_id>/nonresponders.csv")
@requires("export")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def nonresponders_csv(survey_id: int) -> Any:
    sv = owned_survey(survey_id)
    base = _public_url("survey.invited", token="TOKEN").removesuffix("TOKEN")
    body = exports.iter_invitation_csv(sv, "unused", base, user_id=acting_user_id())
    filename = f"{secure_filename(sv.slug) or 'survey'}-nonresponders.csv"
    return Response(
        stream_with_context(body),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.route("/surveys/<int:survey_id>/invitations.csv")
@requires("manage")
def invitations_csv(survey_id: int) -> Any:
    sv = owned_survey(survey_id)
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
    sv = owned_survey(survey_id)
    waves = studies.waves_of(sv, acting_teams())
    wave_id = request.args.get("wave", type=id_arg)
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
    skipped = set(resp.not_applicable or ())  # not shown by their condition: not missing
    out = []
    lay = exports.item_columns(q, lang)
    for col in lay:
        value = values.get(col.name)
        shown: Any = "" if value is None else value
        label = ""
        if value is None and col.name in skipped:
            shown, label = exports.NA_TEXT, exports.NA_LABEL.get(lang)
        elif value is not None:
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
    resp = owned_response(pk)
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
    owned_response(pk)
    studies.set_quarantine(pk, True, reason=_reason(), user_id=acting_user_id())
    flash(_("Response quarantined."), "info")
    return redirect(url_for("research.response", pk=pk), code=303)


@bp.route("/responses/<int:pk>/restore", methods=["POST"])
@requires("manage")
def response_restore(pk: int) -> Any:
    owned_response(pk)
    studies.set_quarantine(pk, False, reason=_reason(), user_id=acting_user_id())
    flash(_("Response restored."), "info")
    return redirect(url_for("research.response", pk=pk), code=303)


@bp.route("/responses/<int:pk>/delete", methods=["POST"])
@requires("delete")
def response_delete(pk: int) -> Any:
    owned_response(pk)
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
    sv = owned_survey(survey_id)
    return _export([sv.id], fmt, sv.slug)


@bp.route("/studies/<int:study_id>/export.<fmt>")
@requires("export")
def study_export(study_id: int, fmt: str) -> Any:
    st = owned_study(study_id)
    ids = studies.study_survey_ids(study_id, request.args.get("audience"), acting_teams())
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
    return request.args.get("page", 1, type=page_arg)


def init_app(app: Flask) -> None:
    """Register the researchers' pages."""
    app.register_blueprint(bp)
