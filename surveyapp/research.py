"""The ``research`` blueprint: surveys, studies, invitations, responses and exports.

Everything here is behind a login (:mod:`surveyapp.auth`): each view is wrapped in
``requires(<permission>)``; a test walks the URL map and checks every route. State
changes are POSTs with a CSRF token, each one transaction that also writes its audit
record (:mod:`surveyapp.audit`).

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

import csv
import io
import re
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
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
from sqlalchemy import String, and_, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename
from wtforms import RadioField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

import questionnaires as qn
from surveyapp import audit, exports
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.auth import acting_user, requires
from surveyapp.i18n import current_language

bp = Blueprint("research", __name__, url_prefix="/research")

PER_PAGE = 50
MAX_INVITATIONS = 50_000  # per upload
MAX_INVITATION_BYTES = 5_000_000
MAX_CELL = 300
UPLOAD_MAX_BYTES = 6_000_000  # a little above the XLSForm limit, so the loader names it
SEGMENT_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
RECIPIENT_HEADERS = ("email", "recipient", "e-mail", "mail")
MARKUP = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style|link|meta|svg|img|form|input|base)\b"
    r"|javascript\s*:|\bon[a-z]+\s*=",
    re.IGNORECASE,
)
STATUS_FILTERS = ("complete", "partial", "suspect", "quarantined", "all")


def _page_count(total: int) -> int:
    """Pages of PER_PAGE rows needed for ``total`` rows (at least one)."""
    return max((total + PER_PAGE - 1) // PER_PAGE, 1)


# -- helpers ------------------------------------------------------------------------------
def get_or_404(s: Any, model: type[Any], pk: Any) -> Any:
    """``s.get(model, pk)``, or a 404 when there is no such row."""
    row = s.get(model, pk)
    if row is None:
        abort(404)
    return row


def _survey(survey_id: int) -> m.Survey:
    return get_or_404(dbm.session(), m.Survey, survey_id)  # type: ignore[no-any-return]


def _title(survey: m.Survey) -> str:
    return survey.title or survey.questionnaire().title.get(current_language())


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
        .where(r.survey_id.in_(survey_ids))
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


def _waves_of(survey: m.Survey) -> list[m.Survey]:
    """The surveys of the same study and audience (the waves), oldest first."""
    if survey.study_id is None:
        return [survey]
    return list(
        dbm.session().scalars(
            select(m.Survey)
            .where(m.Survey.study_id == survey.study_id, m.Survey.audience == survey.audience)
            .order_by(m.Survey.created_at, m.Survey.id)
        )
    )


def _new_slug() -> str:
    return secrets.token_urlsafe(6).replace("-", "x").replace("_", "y")


def markup_problems(q: qn.Questionnaire) -> list[qn.Problem]:
    """Texts of ``q`` holding HTML markup or script (refused on upload)."""
    problems: list[qn.Problem] = []

    def walk(obj: Any, path: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{path}.{k}" if path else str(k))
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{path}[{i}]")
        elif isinstance(obj, str) and MARKUP.search(obj):
            found = MARKUP.search(obj)
            shown = found.group(0) if found else ""
            problems.append(
                qn.Problem(
                    path,
                    f"contains HTML markup or script ({shown!r}); questionnaire texts are "
                    "shown as plain text",
                    "remove the markup and write plain text",
                )
            )

    walk(q.to_dict(), "")
    return problems


def load_upload(filename: str, data: bytes) -> qn.Questionnaire:
    """Validate an uploaded instrument (YAML or XLSForm); raise ``QuestionnaireError``."""
    name = secure_filename(filename) or "upload"
    suffix = Path(name).suffix.lower()
    if suffix in (".xlsx", ".xls"):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / name
            path.write_bytes(data)
            q = qn.load(path)
    elif suffix in (".yaml", ".yml", ".json", ""):
        q = qn.loads(data, source=name)
    else:
        problem = qn.Problem(
            "", f"has the extension {suffix!r}", "upload a .yaml file or an XLSForm .xlsx"
        )
        raise qn.QuestionnaireError(name, [problem])
    problems = markup_problems(q)
    if problems:
        raise qn.QuestionnaireError(name, problems)
    return q


# -- dashboard -----------------------------------------------------------------------------
@bp.route("/")
@requires("view")
def dashboard() -> Any:
    s = dbm.session()
    surveys = list(s.scalars(select(m.Survey).order_by(m.Survey.created_at.desc(), m.Survey.id)))
    studies = {st.id: st for st in s.scalars(select(m.Study).order_by(m.Study.name))}
    stats = survey_stats([sv.id for sv in surveys])
    groups: list[tuple[m.Study | None, list[m.Survey]]] = []
    for sid, study in studies.items():
        members = [sv for sv in surveys if sv.study_id == sid]
        members.sort(key=lambda sv: (sv.audience, sv.wave or "", sv.id))
        groups.append((study, members))
    loose = [sv for sv in surveys if sv.study_id is None]
    if loose:
        groups.append((None, loose))
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


@bp.route("/studies")
@requires("view")
def studies() -> Any:
    s = dbm.session()
    rows = list(s.scalars(select(m.Study).order_by(m.Study.name)))
    return render_template("research/studies.html", studies=rows, form=StudyForm())


@bp.route("/studies/new", methods=["POST"])
@requires("manage")
def study_new() -> Any:
    form = StudyForm()
    if not form.validate_on_submit():
        s = dbm.session()
        rows = list(s.scalars(select(m.Study).order_by(m.Study.name)))
        return render_template("research/studies.html", studies=rows, form=form), 422
    user = acting_user()
    try:
        with dbm.get_db().write() as ws:
            study = m.Study(
                slug=form.slug.data,
                name=form.name.data,
                description=form.description.data or None,
                created_by_id=user.id if user else None,
            )
            ws.add(study)
            ws.flush()
            audit.record(ws, "created", study, detail={"name": study.name})
    except IntegrityError:
        form.slug.errors = [_("This short code is taken; choose another.")]
        s = dbm.session()
        rows = list(s.scalars(select(m.Study).order_by(m.Study.name)))
        return render_template("research/studies.html", studies=rows, form=form), 409
    flash(_("Study created."), "info")
    return redirect(url_for("research.study", study_id=study.id), code=303)


@bp.route("/studies/<int:study_id>")
@requires("view")
def study(study_id: int) -> Any:
    s = dbm.session()
    st = get_or_404(s, m.Study, study_id)
    surveys = list(
        s.scalars(
            select(m.Survey)
            .where(m.Survey.study_id == study_id)
            .order_by(m.Survey.audience, m.Survey.wave, m.Survey.id)
        )
    )
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
        stats=survey_stats([sv.id for sv in surveys]),
        title_of=_title,
    )


# -- creating a survey -------------------------------------------------------------------------
def _builtin_choices() -> list[SelectChoice]:
    lang = current_language()
    return [SelectChoice("", _("— upload a file instead —"))] + [
        SelectChoice(i, f"{qn.builtin(i).title.get(lang)} ({i})") for i in qn.builtin_ids()
    ]


def _study_choices() -> list[SelectChoice]:
    rows = dbm.session().scalars(select(m.Study).order_by(m.Study.name))
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
    from surveyapp.services.surveys import create_survey

    user = acting_user()
    slug = form.slug.data or _new_slug()
    study = None
    try:
        with dbm.get_db().write() as ws:
            if form.study.data:
                study = ws.get(m.Study, int(form.study.data))
            languages = [lang for lang in (form.languages.data or []) if lang in qn.LANGUAGES]
            survey = create_survey(
                ws,
                q,
                slug=slug,
                access=form.access.data or "invitation",
                status="draft",
                wave=form.wave.data or None,
                study=study,
                languages=languages or list(qn.LANGUAGES),
                title=form.title.data or None,
            )
            survey.created_by_id = user.id if user else None
            audit.record(
                ws,
                "created",
                survey,
                detail={"questionnaire": q.id, "version": q.version, "wave": survey.wave},
            )
    except IntegrityError:
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
    sv = _survey(survey_id)
    q = sv.questionnaire()
    link = url_for("survey.anonymous", slug=sv.slug, _external=True)
    return render_template(
        "research/survey.html",
        survey=sv,
        q=q,
        title=_title(sv),
        stats=survey_stats([sv.id])[sv.id],
        link=link,
        formats=exports.FORMATS,
        state=sv.state(),
        lang=current_language(),
    )


def _change_state(survey_id: int, action: str) -> Any:
    with dbm.get_db().write() as ws:
        sv = get_or_404(ws, m.Survey, survey_id)
        if action == "opened":
            sv.status = "open"
            if sv.opens_at is not None and sv.opens_at > m.utcnow():
                sv.opens_at = None
            if sv.closes_at is not None and sv.closes_at <= m.utcnow():
                sv.closes_at = None
        else:
            sv.status = "closed"
        audit.record(ws, action, sv)
    flash(_("Survey opened.") if action == "opened" else _("Survey closed."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/open", methods=["POST"])
@requires("manage")
def survey_open(survey_id: int) -> Any:
    return _change_state(survey_id, "opened")


@bp.route("/surveys/<int:survey_id>/close", methods=["POST"])
@requires("manage")
def survey_close(survey_id: int) -> Any:
    return _change_state(survey_id, "closed")


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
    _survey(survey_id)
    try:
        opens = _parse_when(request.form.get("opens_at", ""), _("Opens at"))
        closes = _parse_when(request.form.get("closes_at", ""), _("Closes at"))
        if opens and closes and closes <= opens:
            raise ValueError(_("The closing time must come after the opening time."))
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("research.survey", survey_id=survey_id), code=303)
    with dbm.get_db().write() as ws:
        sv = get_or_404(ws, m.Survey, survey_id)
        sv.opens_at, sv.closes_at = opens, closes
        if sv.status == "draft" and opens is not None:
            sv.status = "open"  # scheduled: open from opens_at on
        audit.record(
            ws,
            "scheduled",
            sv,
            detail={
                "opens_at": opens.isoformat() if opens else None,
                "closes_at": closes.isoformat() if closes else None,
            },
        )
    flash(_("Schedule saved (times in UTC)."), "info")
    return redirect(url_for("research.survey", survey_id=survey_id), code=303)


# -- invitations --------------------------------------------------------------------------------
class InvitationError(ValueError):
    """A recipients CSV that cannot be used; the message names the row and column."""


def parse_recipients(data: bytes, filename: str = "recipients.csv") -> list[dict[str, str]]:
    """Rows of a recipients CSV: an optional ``email`` column plus segment columns.

    The header names the segments (letters, digits, underscore, starting with a letter);
    every row becomes one invitation whose segment values travel with its response.
    Raises :class:`InvitationError` naming the file, row and column of the first problem.
    """
    if len(data) > MAX_INVITATION_BYTES:
        msg = f"{filename}: is {len(data)} bytes; the limit is {MAX_INVITATION_BYTES}."
        raise InvitationError(msg)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"{filename}: is not UTF-8 text (byte {exc.start}); save it as CSV UTF-8."
        raise InvitationError(msg) from None
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except StopIteration:
        msg = f"{filename}: is empty; the first row must name the columns (email, segments)."
        raise InvitationError(msg) from None
    names = [h.strip() for h in header]
    seen: set[str] = set()
    for j, name in enumerate(names, start=1):
        lowered = name.lower()
        if lowered in RECIPIENT_HEADERS:
            names[j - 1] = "email"
            lowered = "email"
        elif not SEGMENT_NAME.match(name):
            msg = (
                f"{filename}: row 1, column {j}: the heading {name[:40]!r} is not a valid "
                "segment name; use letters, digits and underscores, starting with a letter "
                "(at most 40 characters)."
            )
            raise InvitationError(msg)
        if lowered in seen:
            msg = f"{filename}: row 1, column {j}: the heading {name!r} appears twice."
            raise InvitationError(msg)
        seen.add(lowered)
    rows: list[dict[str, str]] = []
    try:
        for i, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) > len(names):
                msg = (
                    f"{filename}: row {i} has {len(raw)} cells but the header names "
                    f"{len(names)} columns; remove the extra cells or add headings."
                )
                raise InvitationError(msg)
            row: dict[str, str] = {}
            for j, (name, cell) in enumerate(zip(names, raw, strict=False), start=1):
                value = cell.strip()
                if len(value) > MAX_CELL:
                    msg = (
                        f"{filename}: row {i}, column {j} ({name}): {len(value)} characters; "
                        f"the limit is {MAX_CELL}."
                    )
                    raise InvitationError(msg)
                if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", value):
                    msg = f"{filename}: row {i}, column {j} ({name}): control characters."
                    raise InvitationError(msg)
                if value:
                    row[name] = value
            rows.append(row)
            if len(rows) > MAX_INVITATIONS:
                msg = f"{filename}: more than {MAX_INVITATIONS} rows; split the file."
                raise InvitationError(msg)
    except csv.Error as exc:
        msg = f"{filename}: row {reader.line_num}: not valid CSV ({exc})."
        raise InvitationError(msg) from None
    if not rows:
        msg = f"{filename}: has a header but no recipients."
        raise InvitationError(msg)
    return rows


def _invitation_query(survey_id: int, state: str) -> Any:
    inv = m.Invitation
    q = select(inv).where(inv.survey_id == survey_id)
    if state == "used":
        q = q.where(inv.used_at.is_not(None))
    elif state == "unused":
        q = q.where(inv.used_at.is_(None))
    return q.order_by(inv.id)


@bp.route("/surveys/<int:survey_id>/invitations")
@requires("manage")
def invitations(survey_id: int) -> Any:
    sv = _survey(survey_id)
    state = request.args.get("state", "all")
    if state not in ("all", "used", "unused"):
        state = "all"
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    s = dbm.session()
    query = _invitation_query(survey_id, state)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(s.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)))
    counts = survey_stats([sv.id])[sv.id]
    used = s.scalar(
        select(func.count())
        .select_from(m.Invitation)
        .where(m.Invitation.survey_id == survey_id, m.Invitation.used_at.is_not(None))
    )
    return render_template(
        "research/invitations.html",
        survey=sv,
        title=_title(sv),
        invitations=rows,
        state=state,
        page=page,
        pages=_page_count(total),
        total=total,
        n_all=counts["invitations"],
        n_used=used or 0,
    )


@bp.route("/surveys/<int:survey_id>/invitations", methods=["POST"])
@requires("manage")
def invitations_create(survey_id: int) -> Any:
    from surveyapp.services.invitations import create_invitations

    request.max_content_length = MAX_INVITATION_BYTES + 100_000
    try:
        upload = request.files.get("recipients")
        count_raw = request.form.get("count", "").strip()
    except RequestEntityTooLarge:
        flash(_("The file is too large; split it into files of at most 5 MB."), "error")
        return redirect(url_for("research.invitations", survey_id=survey_id), code=303)
    _survey(survey_id)
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
    with dbm.get_db().write() as ws:
        sv = get_or_404(ws, m.Survey, survey_id)
        made = create_invitations(ws, sv, rows, recipient_key="email")
        if sv.access != "invitation":
            sv.access = "invitation"
        audit.record(ws, "invited", sv, detail={"count": len(made)})
    flash(_("%(n)d invitations created.", n=len(made)), "info")
    return redirect(url_for("research.invitations", survey_id=survey_id), code=303)


@bp.route("/surveys/<int:survey_id>/invitations.csv")
@requires("manage")
def invitations_csv(survey_id: int) -> Any:
    sv = _survey(survey_id)
    state = request.args.get("state", "all")
    s = dbm.session()
    names = sorted(
        {
            str(k)
            for seg in s.scalars(
                select(m.Invitation.segments).where(m.Invitation.survey_id == survey_id)
            )
            for k in (seg or {})
        }
    )
    base = url_for("survey.invited", token="TOKEN", _external=True).removesuffix("TOKEN")
    audit.record_now("exported", sv, detail={"what": "invitation links"})

    def cell(value: Any) -> str:
        return exports.neutralise("" if value is None else str(value))

    def generate() -> Any:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\r\n")
        writer.writerow(["email", "link", "token", *names, "used", "used_at"])
        yield "\ufeff" + buf.getvalue()
        query = _invitation_query(survey_id, state)
        with dbm.get_db().sessions() as rs:
            for inv in rs.scalars(query).yield_per(1000):
                buf.seek(0)
                buf.truncate()
                writer.writerow(
                    [
                        cell(inv.recipient),
                        base + inv.token,
                        inv.token,
                        *(cell((inv.segments or {}).get(n)) for n in names),
                        "yes" if inv.used_at else "no",
                        inv.used_at.strftime("%Y-%m-%dT%H:%M:%SZ") if inv.used_at else "",
                    ]
                )
                yield buf.getvalue()

    filename = f"{secure_filename(sv.slug) or 'survey'}-invitations.csv"
    return Response(
        stream_with_context(generate()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# -- responses --------------------------------------------------------------------------------
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


@bp.route("/surveys/<int:survey_id>/responses")
@requires("view")
def responses(survey_id: int) -> Any:
    sv = _survey(survey_id)
    waves = _waves_of(sv)
    wave_id = request.args.get("wave", type=int)
    if wave_id is not None and wave_id != sv.id:
        if any(w.id == wave_id for w in waves):
            args: dict[str, Any] = request.args.to_dict()
            args.pop("wave", None)
            args["survey_id"] = wave_id
            return redirect(url_for("research.responses", **args))
    status = request.args.get("status", "all")
    if status not in STATUS_FILTERS:
        status = "all"
    segment = request.args.get("segment", "")
    seg_key, _sep, seg_value = segment.partition("=")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    s = dbm.session()
    conds = _response_filters(survey_id, status, seg_key.strip(), seg_value.strip())
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
    seg_options = sorted(
        {
            f"{k}={v}"
            for seg in s.scalars(
                select(m.Invitation.segments).where(m.Invitation.survey_id == survey_id).limit(5000)
            )
            for k, v in (seg or {}).items()
        }
    )[:200]
    return render_template(
        "research/responses.html",
        survey=sv,
        title=_title(sv),
        rows=rows,
        total=total,
        page=page,
        pages=_page_count(total),
        status=status,
        statuses=STATUS_FILTERS,
        segment=segment,
        seg_options=seg_options,
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
    s = dbm.session()
    resp = get_or_404(s, m.Response, pk)
    log = list(
        s.scalars(
            select(m.AuditLog)
            .where(m.AuditLog.object_type == "response", m.AuditLog.object_id == str(pk))
            .order_by(m.AuditLog.at)
        )
    )
    return render_template(
        "research/response.html",
        resp=resp,
        survey=resp.survey,
        title=_title(resp.survey),
        answers=_answer_rows(resp, current_language()),
        log=log,
    )


def _set_quarantine(pk: int, on: bool) -> Any:
    reason = (request.form.get("reason") or "").strip()[:500]
    with dbm.get_db().write() as ws:
        resp = get_or_404(ws, m.Response, pk)
        resp.quarantined = on
        audit.record(
            ws,
            "quarantined" if on else "restored",
            resp,
            detail={"response_id": resp.response_id, "reason": reason},
        )
    flash(_("Response quarantined.") if on else _("Response restored."), "info")
    return redirect(url_for("research.response", pk=pk), code=303)


@bp.route("/responses/<int:pk>/quarantine", methods=["POST"])
@requires("manage")
def response_quarantine(pk: int) -> Any:
    return _set_quarantine(pk, True)


@bp.route("/responses/<int:pk>/restore", methods=["POST"])
@requires("manage")
def response_restore(pk: int) -> Any:
    return _set_quarantine(pk, False)


@bp.route("/responses/<int:pk>/delete", methods=["POST"])
@requires("delete")
def response_delete(pk: int) -> Any:
    if request.form.get("confirm") != "yes":
        flash(_("Tick the confirmation box to delete the response."), "error")
        return redirect(url_for("research.response", pk=pk), code=303)
    with dbm.get_db().write() as ws:
        resp = get_or_404(ws, m.Response, pk)
        survey_id = resp.survey_id
        detail = {
            "response_id": resp.response_id,
            "survey": resp.survey.slug,
            "status": resp.status,
            "answers": len(resp.answers),
            "reason": (request.form.get("reason") or "").strip()[:500],
        }
        audit.record(ws, "deleted", resp, detail=detail)
        ws.delete(resp)
    flash(_("Response deleted; the deletion is in the audit log."), "info")
    return redirect(url_for("research.responses", survey_id=survey_id), code=303)


# -- exports -----------------------------------------------------------------------------------
def export_response(survey_ids: list[int], fmt: str, slug: str, args: Any) -> Any:
    """The export download (shared by the research pages and the API)."""
    if fmt not in exports.FORMATS:
        abort(404)
    include_partial = args.get("partial") in ("1", "true", "yes")
    include_quarantined = args.get("quarantined") in ("1", "true", "yes")
    language = args.get("lang") if args.get("lang") in qn.LANGUAGES else current_language()
    kw = {"include_partial": include_partial, "include_quarantined": include_quarantined}
    filename = exports.export_filename(slug, fmt)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    s = dbm.session()
    n = exports.count_responses(s, survey_ids, **kw)
    audit.record_now(
        "exported",
        object_type="survey",
        object_id=",".join(str(i) for i in survey_ids),
        detail={"format": fmt, "responses": n, **kw},
    )
    if fmt == "csv":

        def generate() -> Any:
            with dbm.get_db().sessions() as rs:
                yield from exports.iter_csv(rs, survey_ids, **kw)

        return Response(stream_with_context(generate()), mimetype="text/csv", headers=headers)
    tmp = tempfile.NamedTemporaryFile(suffix=f".{fmt}", delete=False)  # noqa: SIM115
    tmp.close()
    path = Path(tmp.name)
    try:
        exports.write_export(s, survey_ids, fmt, path, language=language, **kw)
    except ValueError as exc:
        path.unlink(missing_ok=True)
        if request.blueprint == "api":
            return {"error": str(exc), "status": 422}, 422
        flash(str(exc), "error")
        return redirect(url_for("research.survey", survey_id=survey_ids[0]), code=303)

    def stream() -> Any:
        try:
            with path.open("rb") as fh:
                while block := fh.read(1 << 16):
                    yield block
        finally:
            path.unlink(missing_ok=True)

    headers["Content-Length"] = str(path.stat().st_size)
    return Response(stream(), mimetype=exports.MEDIA_TYPES[fmt], headers=headers)


@bp.route("/surveys/<int:survey_id>/export.<fmt>")
@requires("export")
def export(survey_id: int, fmt: str) -> Any:
    sv = _survey(survey_id)
    return export_response([sv.id], fmt, sv.slug, request.args)


@bp.route("/studies/<int:study_id>/export.<fmt>")
@requires("export")
def study_export(study_id: int, fmt: str) -> Any:
    s = dbm.session()
    st = get_or_404(s, m.Study, study_id)
    audience = request.args.get("audience")
    query = select(m.Survey.id).where(m.Survey.study_id == study_id)
    if audience in qn.AUDIENCES:
        query = query.where(m.Survey.audience == audience)
    ids = list(s.scalars(query.order_by(m.Survey.id)))
    if not ids:
        abort(404)
    return export_response(ids, fmt, st.slug, request.args)


# -- audit log ----------------------------------------------------------------------------------
@bp.route("/audit")
@requires("admin")
def audit_log() -> Any:
    s = dbm.session()
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    rows = s.execute(
        select(m.AuditLog, m.User.email)
        .outerjoin(m.User, m.User.id == m.AuditLog.user_id)
        .order_by(m.AuditLog.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    ).all()
    return render_template("research/audit.html", rows=rows, page=page)


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


def init_app(app: Flask) -> None:
    """Register the researchers' side: accounts, these pages and the JSON API."""
    from surveyapp import api, auth

    auth.init_app(app)
    app.register_blueprint(bp)
    api.init_app(app)

    @app.context_processor
    def _research_helpers() -> dict[str, Any]:
        return {"can": _can}


def _can(need: str) -> bool:
    from surveyapp.auth import allowed

    user = acting_user()
    return user is not None and allowed(user.role, need)
