"""The ``survey`` blueprint: questionnaire pages for respondents (public).

URLs
----
``/s/<slug>``      an anonymous survey: GET shows page 1, ``?page=N`` page N+1 (of the
                   response this browser started); POST saves a page
``/i/<token>``     a personal invitation (same, one completed response per token)
``/r/<code>``      resume a saved response by its link or short code
``/resume``        type a resume code
``/s/<slug>/thanks``  the thank-you page

Post/Redirect/Get: a valid POST is stored and answered with a 303 redirect to the GET of
the next (or previous) page, the saved-answers page or the thank-you page, so the
browser's Back shows the previous page with its stored answers and a reload never posts
again. A page that fails its checks writes nothing to the database: what was typed is
kept in the session (Flask's signed cookie, :data:`UNSENT_KEY`, one page at a time) and
the POST is answered with a 303 to the GET of the same page, which shows it again with
the messages (checked again there, so the session holds only the typed values) until a
page is stored. A page too large for the cookie (:data:`UNSENT_BUDGET`, long
free texts) is answered directly instead (422), as is a page whose CSRF token was
refused (400, its session is the one that was lost).

Whose response: a page carries its response id (a UUID, hidden) and a signed start
token bound to that id. A browser's own responses are remembered in a signed cookie
(:data:`RESUME_COOKIE`, one response id per survey, kept ``RESUME_DAYS``), set when a
first page is shown and on every save. A stored partial response can be continued only
by the browser whose cookie holds it, through its invitation link, or after its resume
code (``/r/<code>``, which puts it in the cookie); knowing its response id is not
enough (:class:`surveyapp.services.responses.NotYours`). The start token counts only for
its own response id and for :data:`START_TOKEN_MAX_AGE` seconds, so one old token cannot
make a bot's many fresh responses look slow.

Every POST of a page is checked as a whole (:func:`surveyapp.forms.check_post`); a valid
page is stored by :func:`surveyapp.services.responses.store_page` in one transaction.
The answer routes, the thank-you page and the landing page (``/``) are rate-limited per
client address by ``SUBMIT_RATE_LIMIT``, resume codes (typed or in a link) by
``RESUME_RATE_LIMIT``, the branding files by ``DISTRIBUTION_RATE_LIMIT``, on every HTTP
method (a test checks every route of the respondents' blueprints).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    after_this_request,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException

from questionnaires import conditions
from surveyapp import db as dbm
from surveyapp import errors, forms, security
from surveyapp import models as m
from surveyapp.i18n import current_language, set_language_for
from surveyapp.services import branding, invitations, links, responses, surveys

bp = Blueprint("survey", __name__)

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ACTIONS = ("next", "back", "save", "submit")
START_SALT = "manyi-started-at"
START_TOKEN_MAX_AGE = 24 * 3600  # seconds a page's start token counts
RESUME_COOKIE = "manyi_resume"
RESUME_SALT = "manyi-resume"
RESUME_COOKIE_SURVEYS = 10  # the cookie remembers this many surveys' responses
PREVIEW_KEY = "preview_surveys"  # session: the surveys a researcher previews
UNSENT_KEY = "unsent_page"  # session: a page that failed its checks, as it was typed
# bytes of a failed page's typed values as JSON (non-ASCII escaped, as the session's
# serializer writes them before it compresses): browsers keep at most 4096 bytes per
# cookie, signature, base64 and the rest of the session included, so a page with more is
# answered directly
UNSENT_BUDGET = 2400
UNSENT_NOTICE = _l("Some answers need your attention; see the messages below.")


# -- preview (test mode) ------------------------------------------------------------------
def start_preview(survey_id: int) -> None:
    """Let this browser's session answer ``survey_id`` in preview: a draft, closed or
    invitation-only survey opens, and its answers are stored as test responses
    (``Response.source == TEST_SOURCE``: never exported, reported or scored; deleted in
    one action). Called by the research route that checked the researcher's right."""
    ids = [i for i in session.get(PREVIEW_KEY, []) if i != survey_id][-9:]
    session[PREVIEW_KEY] = [*ids, survey_id]


def _in_preview(survey: m.Survey) -> bool:
    return survey.id in session.get(PREVIEW_KEY, [])


PREVIEW_PAGES = ("survey.anonymous", "survey.thanks")  # what a preview frame shows


def previewed() -> bool:
    """Whether this request is for a page of a survey (``/s/<slug>``, its thank-you page)
    that this session previews (no database read for a session that previews none)."""
    ids = session.get(PREVIEW_KEY)
    slug = (request.view_args or {}).get("slug")
    if not ids or not slug or request.endpoint not in PREVIEW_PAGES:
        return False
    survey = surveys.by_slug(dbm.session(), str(slug))
    return survey is not None and survey.id in ids


# -- start tokens -------------------------------------------------------------------------
def _start_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=START_SALT)


def _start_token(response_id: str, at: float | None = None) -> str:
    """A signed (response id, start time) for a page of ``response_id``."""
    at = at if at is not None else time.time()
    return str(_start_signer().dumps([response_id, round(at, 3)]))


def _started_at(token: str | None, response_id: str) -> datetime:
    """The start time a page's token holds: now if the token is missing, forged, of
    another response or older than START_TOKEN_MAX_AGE; never later than now."""
    now = time.time()
    ts = now
    if token:
        try:
            rid, at = _start_signer().loads(token)
            if rid == response_id and now - float(at) <= START_TOKEN_MAX_AGE:
                ts = float(at)
        except (BadSignature, TypeError, ValueError):
            pass
    return datetime.fromtimestamp(min(ts, now), UTC)


# -- the browser's own responses (a signed cookie) ----------------------------------------
def _resume_max_age() -> int:
    return int(current_app.config["RESUME_DAYS"]) * 24 * 3600


def _resume_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=RESUME_SALT)


def _bound_responses() -> dict[str, str]:
    """Survey id -> the response id this browser started (from the signed cookie)."""
    raw = request.cookies.get(RESUME_COOKIE)
    if not raw:
        return {}
    try:
        data = _resume_signer().loads(raw, max_age=_resume_max_age())
    except BadSignature:  # includes an expired signature
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): str(v) for k, v in data.items() if UUID_RE.match(str(v))}


def _bound(survey: m.Survey) -> str | None:
    return _bound_responses().get(str(survey.id))


def _bind(survey: m.Survey, response_id: str) -> None:
    """Remember ``response_id`` as this browser's response to ``survey`` (the cookie is
    set on this request's response)."""
    bound = {k: v for k, v in _bound_responses().items() if k != str(survey.id)}
    bound[str(survey.id)] = response_id
    keep = dict(list(bound.items())[-RESUME_COOKIE_SURVEYS:])
    value = _resume_signer().dumps(keep)

    @after_this_request
    def _set_cookie(response: Any) -> Any:
        response.set_cookie(
            RESUME_COOKIE,
            value,
            max_age=_resume_max_age(),
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
            samesite="Lax",
        )
        return response


# -- request helpers ----------------------------------------------------------------------
def _read_survey(slug: str) -> m.Survey:
    """The survey of ``slug`` (404 if absent or a draft, unless in preview)."""
    survey = surveys.by_slug(dbm.session(), slug)
    if survey is None or (survey.status == "draft" and not _in_preview(survey)):
        abort(404)
    return survey


def _message(kind: str, survey: m.Survey | None = None, status: int = 200, **ctx: Any) -> Any:
    return render_template("survey/message.html", kind=kind, survey=survey, **ctx), status


def _closed_page(survey: m.Survey) -> Any | None:
    state = survey.state()
    if state == "open" or _in_preview(survey):
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
    continue_at: int | None = None,
    context: forms.Context | None = None,
) -> Any:
    q = survey.questionnaire()
    page = q.pages[page_index]
    if page.randomize:  # this response's own order of the page's items
        page = dataclasses.replace(page, items=page.shown_order(response_id))
    numbers: dict[str, int] = {}  # item id -> its number, counted in the order shown
    for p in q.pages:
        for item in page.items if p.id == page.id else p.items:
            numbers[item.id] = len(numbers) + 1
    hidden, dynamic, known = _display(q, page, context)
    last = page_index == len(q.pages) - 1
    if context is not None and not last:
        last = responses.next_page(q, page_index + 1, 1, context.answers, context.params) is None
    return (
        render_template(
            "survey/page.html",
            survey=survey,
            q=q,
            page=page,
            page_index=page_index,
            n_pages=len(q.pages),
            form=form,
            response_id=response_id,
            start_token=start_token,
            action_url=action_url,
            lang=current_language(),
            notice=notice,
            continue_at=continue_at,
            preview=_in_preview(survey),
            hidden=hidden,
            dynamic=dynamic,
            known=known,
            params=dict(context.params) if context is not None else {},
            last=last,
            pipe=_piper(q, context, current_language()),
            numbers=numbers,
            field_name=forms.field_name,
            blocks=forms.page_blocks,
        ),
        status,
    )


_READS_ANSWERS: dict[str, bool] = {}


def _has_conditions(q: Any) -> bool:
    """Whether the instrument's pages read answers: display conditions or piped texts."""
    found = _READS_ANSWERS.get(q.content_hash)
    if found is None:
        texts = [t for p in q.pages for t in (p.title, p.intro) if t is not None]
        texts += [t for i in q.items for t in (i.text, i.help) if t is not None]
        found = (
            any(p.relevant for p in q.pages)
            or any(i.relevant for i in q.items)
            or any(conditions.piped(v) for t in texts for v in t.to_dict().values())
        )
        _READS_ANSWERS[q.content_hash] = found
    return found


def _piper(q: Any, context: forms.Context | None, lang: str) -> Callable[[str], str]:
    """A text with its ``${name}`` replaced by the answer (a choice's label, a number
    as typed) and ``${param.key}`` by the link's parameter; "—" where there is none.
    The result is plain text: the template escapes it."""
    answers = context.answers if context is not None else {}
    params = context.params if context is not None else {}

    def show(match: re.Match[str]) -> str:
        name = match.group(2)
        if match.group(1):
            return str(params.get(name, "—"))
        try:
            item = q.item(name)
        except KeyError:
            item = None
        if item is not None and item.type == "multiple_choice":
            ticked = [c.label.get(lang) for c in item.choices if answers.get(f"{name}_{c.code}")]
            return ("、" if lang == "zh-Hans" else ", ").join(ticked) or "—"
        value = answers.get(name)
        if value is None:
            return "—"
        if item is not None and item.type == "single_choice":
            return next((c.label.get(lang) for c in item.choices if c.code == value), str(value))
        return forms.display_value(value)

    return lambda text: conditions.PIPE.sub(show, text)


def _context(
    q: Any,
    invitation: m.Invitation | None,
    stored: dict[str, forms.Value] | None,
    segments: dict[str, str] | None = None,
) -> forms.Context | None:
    """What the display conditions and piping read (None if the instrument has none):
    the stored answers and the link parameters, an invitation's segments or a branch
    link's signed ones."""
    if not _has_conditions(q):
        return None
    given = invitation.segments if invitation is not None else (segments or {})
    params = {str(k): str(v) for k, v in given.items()}
    return forms.Context(stored or {}, params)


def _display(
    q: Any, page: Any, context: forms.Context | None
) -> tuple[set[str], dict[str, str], dict[str, Any]]:
    """Items of ``page`` not shown (their condition, on earlier pages' answers, does not
    hold), items the browser shows or hides as the page is answered (their condition
    reads this page: without JavaScript they are shown and the server decides on the
    post), and the stored answers those conditions read."""
    if context is None:
        return set(), {}, {}
    on_page = {c for i in page.items for c in (i.id, *i.columns())}
    hidden: set[str] = set()
    dynamic: dict[str, str] = {}
    reads: set[str] = set()
    for item in page.items:
        if item.relevant is None:
            continue
        names = conditions.compiled(item.relevant).references
        if on_page.intersection(names):
            dynamic[item.id] = item.relevant
            reads.update(names)
        elif not conditions.holds(item.relevant, context.answers, context.params):
            hidden.add(item.id)
    known = {n: context.answers[n] for n in sorted(reads - on_page) if n in context.answers}
    # a multiple choice read by selected(): its columns
    for n in reads - on_page:
        known |= {c: v for c, v in context.answers.items() if c.startswith(f"{n}_")}
    return hidden, dynamic, known


def _resume_expired(resp: m.Response) -> bool:
    limit = timedelta(days=int(current_app.config["RESUME_DAYS"]))
    return resp.updated_at + limit < m.utcnow()


def _saved_page(survey: m.Survey, resp: m.Response) -> Any:
    code = resp.resume_code or ""
    link = url_for("survey.resume", code=code, _external=True)
    until = resp.updated_at + timedelta(days=int(current_app.config["RESUME_DAYS"]))
    return _message(
        "saved",
        survey,
        200,
        code=responses.format_code(code),
        link=link,
        until=until.strftime("%Y-%m-%d"),
    )


@dataclasses.dataclass(frozen=True)
class Unsent:
    """A page that failed its checks: where, whose, and the values as typed."""

    url: str
    response_id: str
    page_index: int
    start_token: str
    partial: bool
    values: dict[str, str]


def _keep_unsent(
    q: Any, url: str, rid: str, page_index: int, start_token: str, partial: bool
) -> bool:
    """Keep the posted page in the session for the GET that shows it again; False (and
    nothing kept) if its typed values are larger than :data:`UNSENT_BUDGET`."""
    cls = forms.page_form_class(q, q.pages[page_index])
    names = [forms.field_name(f[0]) for _i, _c, fields in cls.rules for f in fields]
    values = {n: request.form[n] for n in names if request.form.get(n)}
    if len(json.dumps(values)) > UNSENT_BUDGET:
        return False
    session[UNSENT_KEY] = [url, rid, page_index, start_token, partial, values]
    return True


def _unsent(url: str) -> Unsent | None:
    """The page kept by :func:`_keep_unsent` for the survey address ``url``, if any."""
    kept = session.get(UNSENT_KEY)
    if not kept or kept[0] != url:
        return None
    url_, rid, page_index, start_token, partial, values = kept
    return Unsent(
        url_,
        rid,
        int(page_index),
        start_token,
        bool(partial),
        {str(k): str(v) for k, v in values.items()},
    )


def _forget_unsent() -> None:
    if UNSENT_KEY in session:  # untouched otherwise: no new cookie on every page
        session.pop(UNSENT_KEY)


def _show(
    survey: m.Survey,
    invitation: m.Invitation | None,
    page_url: Callable[..., str],
    segments: dict[str, str] | None = None,
) -> Any:
    """GET of an answer page: page ``?page=`` of this browser's (or this invitation's)
    response, page 1 of a fresh response, the saved-answers page (``?saved=1``), or
    the thank-you page for a completed response's pages."""
    s = dbm.session()
    asked = request.args.get("page")
    unsaved: str | None = None
    resp: m.Response | None
    if invitation is not None:
        done, resp = responses.of_invitation(s, invitation)
        if done is not None:
            return _message("used", survey, 200)
    else:
        bound = _bound(survey)
        resp = responses.by_response_id(s, bound) if bound else None
        if resp is not None and resp.survey_id != survey.id:
            resp = None
        # a first page shown but not saved yet keeps its response id (and its order)
        unsaved = bound if bound and resp is None else None
    if resp is not None and resp.status == "complete":
        if asked is not None or request.args.get("saved"):
            return _message("thanks", survey)  # Back after the last page
        resp = None  # the survey's own link again: a new response
    if resp is not None and _resume_expired(resp):
        resp = None
    q = survey.questionnaire()
    unsent = _unsent(page_url())
    if resp is None:
        context = _context(q, invitation, {}, segments)
        if unsent is not None and unsent.page_index == 0:
            # the first page failed its checks: its response id, as posted by this
            # browser (not bound by this: whose it is is decided when it is stored)
            return _render_unsent(survey, q, unsent, page_url(), context)
        rid = unsaved if invitation is None and unsaved else str(uuid.uuid4())
        if invitation is None:
            _bind(survey, rid)  # a double-clicked first page then carries it too
        form = forms.page_form(q, 0, stored={})
        return _render_page(survey, form, 0, rid, _start_token(rid), page_url(), context=context)
    if request.args.get("saved"):
        return _saved_page(survey, resp)
    reached = min(resp.page_reached, len(q.pages) - 1)
    try:
        index = min(max(int(asked or 0), 0), reached)
    except ValueError:
        index = 0
    stored = responses.stored_values(s, resp.id)
    context = _context(q, invitation, stored, segments)
    if context is not None:  # a page whose condition does not hold is skipped
        found = responses.next_page(q, index, 1, stored, context.params)
        index = found if found is not None else index
    if unsent is not None and (unsent.response_id, unsent.page_index) == (
        resp.response_id,
        index,
    ):
        return _render_unsent(survey, q, unsent, page_url(), context)
    form = forms.page_form(q, index, stored=stored)
    notice = None
    if request.args.get("missing"):  # the stored answers checked as a fresh post
        posted = forms.formdata_from(q, index, stored)
        form = forms.page_form(q, index, posted)
        form.item_errors, _ = forms.check_post(q, index, posted, context=context)
        notice = str(_l("Some required questions are not answered yet."))
    token = _start_token(resp.response_id, resp.started_at.timestamp())
    continue_at = reached if asked is None and reached > 0 else None
    return _render_page(
        survey,
        form,
        index,
        resp.response_id,
        token,
        page_url(),
        notice=notice,
        continue_at=continue_at,
        context=context,
    )


def _render_unsent(
    survey: m.Survey, q: Any, unsent: Unsent, url: str, context: forms.Context | None
) -> Any:
    """The page that failed its checks, as typed, with its messages (checked again)."""
    posted = MultiDict(unsent.values)
    form = forms.page_form(q, unsent.page_index, posted, partial=unsent.partial)
    form.item_errors, _ = forms.check_post(
        q, unsent.page_index, posted, partial=unsent.partial, context=context
    )
    return _render_page(
        survey,
        form,
        unsent.page_index,
        unsent.response_id,
        unsent.start_token,
        url,
        notice=str(UNSENT_NOTICE),
        context=context,
    )


def _posted_position(page_count: int) -> tuple[str, int, str]:
    """The posted response id, page index and start token (400 if malformed)."""
    rid = request.form.get("response_id", "").strip().lower()
    if not UUID_RE.match(rid):
        abort(400)
    try:
        page_index = int(request.form.get("page", ""))
    except ValueError:
        abort(400)
    if not 0 <= page_index < page_count:
        abort(400)
    return rid, page_index, request.form.get("started", "")


def _post(
    survey: m.Survey,
    invitation: m.Invitation | None,
    page_url: Callable[..., str],
    segments: dict[str, str] | None = None,
) -> Any:
    q = survey.questionnaire()
    rid, page_index, start_token = _posted_position(len(q.pages))
    action = request.form.get("action", "next")
    if action.startswith("lang:"):
        # switch language: the page is kept as typed (like Back) and shown again
        set_language_for(survey.languages, action.removeprefix("lang:"))
        action = "lang"
    elif action not in ACTIONS:
        abort(400)
    context = None
    if _has_conditions(q):
        known = responses.by_response_id(dbm.session(), rid)
        stored = responses.stored_values(dbm.session(), known.id) if known is not None else {}
        context = _context(q, invitation, stored, segments)
    partial = action in ("save", "back", "lang")
    problems, values = forms.check_post(
        q, page_index, request.form, partial=partial, context=context
    )
    if problems:  # the page again (its GET), as typed, with the messages
        if _keep_unsent(q, page_url(), rid, page_index, start_token, partial):
            return redirect(page_url(page=page_index), code=303)
        form = forms.page_form(q, page_index, request.form, partial=partial)
        form.item_errors = problems
        return _render_page(
            survey,
            form,
            page_index,
            rid,
            start_token,
            page_url(),
            status=422,
            notice=str(UNSENT_NOTICE),
            context=context,
        )
    # where to go: the next (or previous) page whose condition holds on the answers
    after: dict[str, forms.Value] = dict(context.answers) if context is not None else {}
    after |= {c: v for c, v in values.items() if v is not None}
    params = context.params if context is not None else {}
    following = responses.next_page(q, page_index + 1, 1, after, params)
    final = action == "submit" and following is None
    if action == "submit" and not final:
        action = "next"
    if action == "next":
        target = following if following is not None else page_index
    elif action == "back":
        target = responses.next_page(q, page_index - 1, -1, after, params) or 0
    else:
        target = page_index
    reached = target if action == "next" else page_index
    save = responses.PageSave(
        response_id=rid,
        page_index=page_index,
        values=values,
        final=final,
        language=current_language(),
        started_at=_started_at(start_token, rid),
        honeypot=bool(request.form.get("website", "").strip()),
        page_reached=reached,
        # an invitation's responses are its link's; anonymous ones this browser's
        owned=invitation is not None or _bound(survey) == rid,
        source=m.TEST_SOURCE if _in_preview(survey) else "web",
        segments=segments,
        shown_order=responses.shown_order(q, page_index, rid),
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
    except responses.NotYours:
        return _message("not_yours", survey, 403)
    _forget_unsent()
    if invitation is None:
        _bind(survey, rid)
    if outcome.kind in ("completed", "already_complete"):
        return redirect(url_for("survey.thanks", slug=survey.slug), code=303)
    if outcome.kind == "invitation_used":
        return redirect(page_url(), code=303)  # which says so
    if outcome.kind == "missing":
        return redirect(page_url(page=outcome.page, missing=1), code=303)
    if action == "save":
        return redirect(page_url(saved=1), code=303)
    return redirect(page_url(page=target), code=303)


# -- routes -------------------------------------------------------------------------------
@bp.route("/")
@security.rate_limit("SUBMIT_RATE_LIMIT")
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
    if survey.access != "anonymous" and not _in_preview(survey):
        return _message("invitation_only", survey, 403)
    tag = request.args.get("k") or None  # a branch link's signed segments (services.links)
    try:
        segments = links.read_tag(current_app.config["SECRET_KEY"], tag, survey.id) if tag else None
    except links.BadTag:
        return render_template("distribution/link_refused.html", survey=survey), 400
    page_url = functools.partial(url_for, "survey.anonymous", slug=slug, k=tag)
    if request.method == "POST":
        return _post(survey, None, page_url, segments)
    return _show(survey, None, page_url, segments)


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
    page_url = functools.partial(url_for, "survey.invited", token=token)
    if request.method == "POST":
        return _post(survey, invitation, page_url)
    return _show(survey, invitation, page_url)


@bp.route("/r/<code>")
@security.rate_limit("RESUME_RATE_LIMIT")
def resume(code: str) -> Any:
    """A resume code or link: the response becomes this browser's, and its furthest
    page is shown (a redirect to the survey's own address)."""
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
    if _resume_expired(resp):
        return _message("code_expired", survey, 410)
    page = min(resp.page_reached, len(survey.questionnaire().pages) - 1)
    if resp.invitation is not None:
        return redirect(url_for("survey.invited", token=resp.invitation.token, page=page), 303)
    _bind(survey, resp.response_id)
    return redirect(url_for("survey.anonymous", slug=survey.slug, page=page), code=303)


@bp.route("/resume", methods=["GET", "POST"])
@security.rate_limit("RESUME_RATE_LIMIT")
def resume_form() -> Any:
    if request.method == "POST":
        code = responses.normalise_code(request.form.get("code", ""))
        if responses.is_resume_code(code):
            return redirect(url_for("survey.resume", code=code), code=303)
        return render_template("survey/index.html", code_error=True), 422
    return render_template("survey/index.html")


@bp.route("/s/<slug>/thanks")
@security.rate_limit("SUBMIT_RATE_LIMIT")
def thanks(slug: str) -> Any:
    survey = _read_survey(slug)
    set_language_for(survey.languages)
    return _message("thanks", survey)


# -- the study's branding (services.branding) ------------------------------------------------
BRAND_CACHE = "public, max-age=31536000, immutable"  # the URLs carry a version (?v=)


@bp.app_context_processor
def _brand_context() -> dict[str, Any]:
    return {"brand_of": lambda sv: branding.of(sv.study if sv is not None else None)}


def _study_of(slug: str) -> m.Study:
    survey = surveys.by_slug(dbm.session(), slug)
    if survey is None or survey.study is None:
        abort(404)
    return survey.study


@bp.route("/s/<slug>/brand.css")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def brand_css(slug: str) -> Any:
    """The stylesheet of the survey's study's branding (the CSP allows no inline style)."""
    body = branding.css(branding.of(_study_of(slug)))
    return Response(body, mimetype="text/css", headers={"Cache-Control": BRAND_CACHE})


@bp.route("/s/<slug>/logo")
@security.rate_limit("DISTRIBUTION_RATE_LIMIT")
def brand_logo(slug: str) -> Any:
    found = branding.logo(_study_of(slug).id)
    if found is None:
        abort(404)
    data, media_type = found
    return Response(data, mimetype=media_type, headers={"Cache-Control": BRAND_CACHE})


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
        rid, page_index, start_token = _posted_position(len(q.pages))
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
