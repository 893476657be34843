"""The ``survey`` blueprint: questionnaire pages for respondents (public).

URLs
----
``/s/<slug>``      an anonymous survey (GET shows the first page, POST saves a page)
``/i/<token>``     a personal invitation (same, one completed response per token)
``/r/<code>``      resume a saved response by its link or short code
``/resume``        type a resume code
``/s/<slug>/thanks``  the thank-you page

The first page carries a fresh UUID (``response_id``, hidden) and a signed start time.
Every POST of a page is checked as a whole (:func:`surveyapp.forms.check_post`, the
validator of the page's WTForms form); an invalid page is shown again with the errors
next to the items and nothing is written. A
valid page is stored by :func:`surveyapp.services.responses.store_page` in one
transaction. The answer routes are rate-limited per client address by
``SUBMIT_RATE_LIMIT``, resume-code look-ups by ``RESUME_RATE_LIMIT`` (which would
otherwise let anyone guess codes).
"""

from __future__ import annotations

import functools
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from questionnaires import Questionnaire
from surveyapp import db as dbm
from surveyapp import errors, forms, security
from surveyapp import models as m
from surveyapp.i18n import current_language, set_language_for
from surveyapp.services import invitations, links, responses, surveys

bp = Blueprint("survey", __name__)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACTIONS = ("next", "back", "save", "submit")
START_SALT = "manyi-started-at"


# -- request helpers ----------------------------------------------------------------------
def _start_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=START_SALT)


def _start_token(at: float | None = None) -> str:
    return str(_start_signer().dumps(round(at if at is not None else time.time(), 3)))


def _started_at(token: str | None) -> datetime:
    """The start time a page's token holds (now if it is missing, forged or unreadable;
    never later than now)."""
    now = time.time()
    ts = now
    if token:
        try:
            ts = float(_start_signer().loads(token))
        except (BadSignature, TypeError, ValueError):
            pass
    return datetime.fromtimestamp(min(ts, now), UTC)


def _read_survey(slug: str) -> m.Survey:
    """The survey of ``slug`` (404 if absent or a draft)."""
    survey = surveys.by_slug(dbm.session(), slug)
    if survey is None or survey.status == "draft":
        abort(404)
    return survey


def _message(kind: str, survey: m.Survey | None = None, status: int = 200, **ctx: Any) -> Any:
    return render_template("survey/message.html", kind=kind, survey=survey, **ctx), status


def _closed_page(survey: m.Survey) -> Any | None:
    state = survey.state()
    if state == "open":
        return None
    if state == "not_yet":
        return _message("not_yet", survey, 403)
    return _message("closed", survey, 410)


def _render_page(
    survey: m.Survey,
    form: forms.PageFormBase,
    page_index: int,
    response_id: str,
    start_token: str,
    action_url: str,
    *,
    status: int = 200,
    notice: str | None = None,
) -> Any:
    q = survey.questionnaire()
    return (
        render_template(
            "survey/page.html",
            survey=survey,
            q=q,
            page=q.pages[page_index],
            page_index=page_index,
            n_pages=len(q.pages),
            form=form,
            response_id=response_id,
            start_token=start_token,
            action_url=action_url,
            lang=current_language(),
            notice=notice,
            field_name=forms.field_name,
            blocks=forms.page_blocks,
        ),
        status,
    )


def _fresh(survey: m.Survey, action_url: str) -> Any:
    q = survey.questionnaire()
    form = forms.page_form(q, 0, stored={})
    return _render_page(survey, form, 0, str(uuid.uuid4()), _start_token(), action_url)


def _resume_response(resp: m.Response, action_url: str) -> Any:
    survey = resp.survey
    q = survey.questionnaire()
    index = min(resp.page_reached, len(q.pages) - 1)
    stored = responses.stored_values(dbm.session(), resp.id)
    form = forms.page_form(q, index, stored=stored)
    token = _start_token(resp.started_at.timestamp())
    return _render_page(survey, form, index, resp.response_id, token, action_url)


def _formdata_from(
    q: Questionnaire, page_index: int, stored: dict[str, forms.Value]
) -> MultiDict[str, str]:
    """Stored answers as posted form data, to validate them like a fresh post."""
    form = forms.page_form(q, page_index, stored=stored)
    data: MultiDict[str, str] = MultiDict()
    for f in form:
        if f.type == "BooleanField":
            if f.data:
                data.add(f.name, "y")
        elif f.data not in (None, ""):
            data.add(f.name, str(f.data))
    return data


def _posted_position(q: Questionnaire) -> tuple[str, int, str]:
    """The posted response id, page index and start token (400 if malformed)."""
    rid = request.form.get("response_id", "").strip().lower()
    if not UUID_RE.match(rid):
        abort(400)
    try:
        page_index = int(request.form.get("page", ""))
    except ValueError:
        abort(400)
    if not 0 <= page_index < len(q.pages):
        abort(400)
    return rid, page_index, request.form.get("started", "")


def _post(
    survey: m.Survey,
    invitation: m.Invitation | None,
    action_url: Callable[[], str],
    segments: dict[str, str] | None = None,
) -> Any:
    q = survey.questionnaire()
    rid, page_index, start_token = _posted_position(q)
    action = request.form.get("action", "next")
    if action.startswith("lang:"):
        # switch language without saving: show the same page with what was typed
        set_language_for(survey.languages, action.removeprefix("lang:"))
        form = forms.page_form(q, page_index, request.form, partial=True)
        return _render_page(survey, form, page_index, rid, start_token, action_url())
    if action not in ACTIONS:
        abort(400)
    final = action == "submit" and page_index == len(q.pages) - 1
    if action == "submit" and not final:
        action = "next"
    partial = action in ("save", "back")
    problems, values = forms.check_post(q, page_index, request.form, partial=partial)
    if problems:  # the page again, bound to what was posted, with the messages
        form = forms.page_form(q, page_index, request.form, partial=partial)
        form.item_errors = problems
        notice = str(_l("Some answers need your attention; see the messages below."))
        return _render_page(
            survey, form, page_index, rid, start_token, action_url(), status=422, notice=notice
        )
    reached = page_index + 1 if action == "next" else page_index
    save = responses.PageSave(
        response_id=rid,
        page_index=page_index,
        values=values,
        final=final,
        language=current_language(),
        started_at=_started_at(start_token),
        honeypot=bool(request.form.get("website", "").strip()),
        page_reached=min(reached, len(q.pages) - 1),
        segments=segments,
    )
    dbm.release()  # the read transaction ends before the write begins
    try:
        outcome = responses.store_page(
            dbm.get_db(),
            survey,
            invitation,
            save,
            min_seconds=float(current_app.config["MIN_SECONDS"]),
        )
    except responses.ResponseMismatch:
        abort(400)
    if outcome.kind in ("completed", "already_complete"):
        return redirect(url_for("survey.thanks", slug=survey.slug), code=303)
    if outcome.kind == "invitation_used":
        return _message("used", survey, 409)
    if outcome.kind == "missing":
        target = outcome.page
        form = forms.page_form(q, target, _formdata_from(q, target, outcome.values))
        form.validate()
        notice = str(_l("Some required questions are not answered yet."))
        return _render_page(
            survey, form, target, rid, start_token, action_url(), status=422, notice=notice
        )
    if action == "save":
        code = outcome.resume_code or ""
        link = url_for("survey.resume", code=code, _external=True)
        return _message("saved", survey, 200, code=responses.format_code(code), link=link)
    target = page_index + 1 if action == "next" else page_index - 1
    target = min(max(target, 0), len(q.pages) - 1)  # "next" on the last page stays there
    form = forms.page_form(q, target, stored=outcome.values)
    return _render_page(survey, form, target, rid, start_token, action_url())


# -- routes -------------------------------------------------------------------------------
@bp.route("/")
def index() -> Any:
    return render_template("survey/index.html")


@bp.route("/s/<slug>", methods=["GET", "POST"])
@security.rate_limit("SUBMIT_RATE_LIMIT")
def anonymous(slug: str) -> Any:
    survey = _read_survey(slug)
    set_language_for(survey.languages)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if survey.access != "anonymous":
        return _message("invitation_only", survey, 403)
    tag = request.args.get("k") or None  # a branch link's signed segments (services.links)
    try:
        segments = links.read_tag(current_app.config["SECRET_KEY"], tag, survey.id) if tag else None
    except links.BadTag:
        return render_template("distribution/link_refused.html", survey=survey), 400
    url = functools.partial(url_for, "survey.anonymous", slug=slug, k=tag)
    if request.method == "POST":
        # the form's address: needed only to show a page again, not for the redirect
        return _post(survey, None, url, segments)
    return _fresh(survey, url())


@bp.route("/i/<token>", methods=["GET", "POST"])
@security.rate_limit("SUBMIT_RATE_LIMIT")
def invited(token: str) -> Any:
    invitation = invitations.by_token(dbm.session(), token)
    if invitation is None or invitation.survey.status == "draft":
        abort(404)
    survey = invitation.survey
    set_language_for(survey.languages)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if invitation.expires_at is not None and m.utcnow() >= invitation.expires_at:
        return _message("expired", survey, 410)
    if request.method == "POST":
        return _post(survey, invitation, functools.partial(url_for, "survey.invited", token=token))
    url = url_for("survey.invited", token=token)
    done, partial = responses.of_invitation(dbm.session(), invitation)
    if done is not None:
        return _message("used", survey, 200)
    if partial is not None:
        return _resume_response(partial, url)
    return _fresh(survey, url)


@bp.route("/r/<code>")
@security.rate_limit("RESUME_RATE_LIMIT")
def resume(code: str) -> Any:
    resp = responses.by_resume_code(dbm.session(), code)
    if resp is None:
        return _message("unknown_code", None, 404)
    survey = resp.survey
    set_language_for(survey.languages)
    if resp.status == "complete":
        return _message("thanks", survey)
    closed = _closed_page(survey)
    if closed is not None:
        return closed
    if resp.invitation is not None:
        url = url_for("survey.invited", token=resp.invitation.token)
    else:
        url = url_for("survey.anonymous", slug=survey.slug)
    return _resume_response(resp, url)


@bp.route("/resume", methods=["GET", "POST"])
@security.rate_limit("SUBMIT_RATE_LIMIT")
def resume_form() -> Any:
    if request.method == "POST":
        code = responses.normalise_code(request.form.get("code", ""))
        if responses.is_resume_code(code):
            return redirect(url_for("survey.resume", code=code), code=303)
        return render_template("survey/index.html", code_error=True), 422
    return render_template("survey/index.html")


@bp.route("/s/<slug>/thanks")
def thanks(slug: str) -> Any:
    survey = _read_survey(slug)
    set_language_for(survey.languages)
    return _message("thanks", survey)


# -- a CSRF failure on an answer page -------------------------------------------------------
@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Any:
    if request.method == "POST" and request.endpoint in ("survey.anonymous", "survey.invited"):
        # a respondent whose session cookie expired or was lost must not lose the page:
        # show it again with what was typed and a fresh token; nothing is stored
        page = _page_after_csrf_failure()
        if page is not None:
            return page
    return errors.csrf_error(exc)


def _page_after_csrf_failure() -> Any | None:
    args = request.view_args or {}
    if "slug" in args:
        survey = surveys.by_slug(dbm.session(), str(args["slug"]))
        url = url_for("survey.anonymous", slug=args["slug"], k=request.args.get("k") or None)
    else:
        token = str(args.get("token", ""))[:64]
        invitation = invitations.by_token(dbm.session(), token)
        survey = invitation.survey if invitation is not None else None
        url = url_for("survey.invited", token=token)
    if survey is None or survey.state() != "open":
        return None
    set_language_for(survey.languages)
    q = survey.questionnaire()
    try:
        rid, page_index, start_token = _posted_position(q)
    except HTTPException:
        return None
    form = forms.page_form(q, page_index, request.form, partial=True)
    notice = str(
        _l("Your session had expired, so this page is not saved yet. Check it and send it again.")
    )
    return _render_page(survey, form, page_index, rid, start_token, url, status=400, notice=notice)


def init_app(app: Flask) -> None:
    """Register the blueprint."""
    app.register_blueprint(bp)
