"""The login side of the researchers' pages: Flask-Login, permissions on views, API tokens.

Roles, permissions, passwords and tokens are the account service's
(:mod:`surveyapp.services.accounts`); this module asks it who the user of a request is.

Every view of the ``research``, ``api`` and ``reports`` blueprints is wrapped in
:func:`requires`, which refuses an anonymous request (a redirect to the login page, or 401
from the API) and a user without the permission (403). The wrapper leaves the permission on
the view (``view.required_permission``) so a test can check that *every* route has one.

The API accepts only ``Authorization: Bearer <token>``, never the session cookie, so the
API needs no CSRF token and a page on another site cannot act through a logged-in browser.
A token works until it expires or is revoked, and only within its scopes (``read``,
``export``, ``manage``): a request beyond them is 403, like one beyond the role.

Sessions expire: ``LOGIN_LIFETIME_HOURS`` after login (default 12) and after
``LOGIN_IDLE_MINUTES`` without a request (default 60). Login attempts are rate-limited per
client address by ``LOGIN_RATE_LIMIT`` (default ``10/minute;100/hour``).

Sessions are revocable: the id Flask-Login keeps in the cookie is ``"<user id>:<session
version>"`` (Flask-Login's "alternative tokens"), and the user loader accepts it only
while the user is active and its version unchanged. Logging out raises the version, so
it ends *every* session of the account, copies of the cookie included; so do a password
reset, a role change, a change of teams and a deactivation (:mod:`surveyapp.services.accounts`).

Ownership: researchers and viewers see only the studies and surveys of their teams (and
unassigned ones); administrators see all. Routes load what they act on through
:func:`owned_survey`, :func:`owned_study`, :func:`owned_response` and
:func:`owned_run`, the one place that applies this rule; they answer **404** for another
team's object, so that its existence is not revealed (the same page as an unknown id).
Lists pass :func:`acting_teams` to the services, which take the team ids explicitly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp import security
from surveyapp.services import accounts, studies
from surveyapp.services.accounts import PERMISSIONS, ROLES, allowed

F = TypeVar("F", bound=Callable[..., Any])

API_BLUEPRINTS = frozenset({"api"})
SKIP_EXPIRY = API_BLUEPRINTS | {"survey"}

bp = Blueprint("auth", __name__, url_prefix="/research")
login_manager = LoginManager()


# -- the user objects Flask-Login sees ----------------------------------------------------
class AccountUser:
    """A logged-in account as Flask-Login needs it (a detached copy of the row's fields)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, row: m.User) -> None:
        self.id = row.id
        self.email = row.email
        self.name = row.name
        self.role = row.role
        self.is_active = bool(row.active)
        self.session_version = int(row.session_version or 0)
        self.teams = accounts.visible_teams(row)
        # the teams the user belongs to, by name (an administrator's too)
        self.memberships = [t.id for t in row.teams]
        # an API token's scopes (None: a login session, limited by the role alone)
        self.scopes: frozenset[str] | None = None

    def get_id(self) -> str:
        # the session version travels in the cookie: raising it ends every session
        return f"{self.id}:{self.session_version}"

    def can(self, permission: str) -> bool:
        if self.scopes is not None and accounts.SCOPE_OF[permission] not in self.scopes:
            return False
        return allowed(self.role, permission)

    @property
    def label(self) -> str:
        return self.name or self.email


@login_manager.user_loader  # type: ignore[untyped-decorator]
def _load_user(user_id: str) -> AccountUser | None:
    pk, _sep, version = user_id.partition(":")
    if not (pk.isdigit() and version.isdigit()) or len(pk) > 18 or len(version) > 18:
        return None
    row = accounts.session_user(dbm.session(), int(pk), int(version))
    return AccountUser(row) if row is not None else None


def _token_user() -> AccountUser | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    found = accounts.token_user(dbm.session(), token.strip())
    if found is None:
        return None
    row, tok = found
    now = m.utcnow()
    last = tok.last_used_at
    if last is None or (now - last).total_seconds() > accounts.LAST_USE_EVERY_S:
        dbm.release()
        accounts.record_token_use(tok.id, now)
    user = AccountUser(row)
    user.scopes = frozenset(tok.scopes)
    return user


def acting_user() -> AccountUser | None:
    """The user of this request: the API token's on the API, the session's elsewhere."""
    if "acting_user" in g:
        return g.acting_user  # type: ignore[no-any-return]
    if request.blueprint in API_BLUEPRINTS:
        user = _token_user()
    else:
        user = current_user if current_user.is_authenticated else None
    g.acting_user = user
    return user


def acting_user_id() -> int | None:
    """The id of :func:`acting_user` (what the services record as the actor), or None."""
    user = acting_user()
    return user.id if user is not None else None


def acting_teams() -> frozenset[int] | None:
    """The ids of the teams whose data the user of this request sees (None: all teams,
    for administrators; an empty set for no user)."""
    user = acting_user()
    return user.teams if user is not None else frozenset()


def home_team() -> int | None:
    """The team that owns what the acting user creates: the first of its teams by name
    (None, unassigned, for a user of no team)."""
    user = acting_user()
    return user.memberships[0] if user is not None and user.memberships else None


def _owned(loader: Callable[..., Any], key: Any) -> Any:
    try:
        return loader(key, teams=acting_teams())
    except studies.NotFound:
        abort(404)


def owned_survey(survey_id: int) -> m.Survey:
    """The survey ``survey_id`` if the acting user's teams own it; 404 otherwise."""
    return _owned(studies.survey, survey_id)  # type: ignore[no-any-return]


def owned_study(study_id: int) -> m.Study:
    """The study ``study_id`` if the acting user's teams own it; 404 otherwise."""
    return _owned(studies.study, study_id)  # type: ignore[no-any-return]


def owned_response(pk: int | str) -> m.Response:
    """The response (primary key, or the client's ``response_id`` string) if the acting
    user's teams own its survey; 404 otherwise."""
    loader = studies.response_by_response_id if isinstance(pk, str) else studies.response
    return _owned(loader, pk)  # type: ignore[no-any-return]


def owned_run(run_id: int) -> m.ScoringRun:
    """The scoring run ``run_id`` if the acting user's teams own its survey or study."""
    return _owned(studies.scoring_run, run_id)  # type: ignore[no-any-return]


def can(need: str) -> bool:
    """Whether the user of this request may ``need`` (for templates: hide what is refused)."""
    user = acting_user()
    return user is not None and user.can(need)


def _refuse_anonymous() -> Any:
    if request.blueprint in API_BLUEPRINTS:
        body = {"error": "authentication required", "status": 401}
        return body, 401, {"WWW-Authenticate": 'Bearer realm="manyi"'}
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def requires(need: str) -> Callable[[F], F]:
    """Refuse the view to anonymous users and to users whose role lacks ``need``.

    ``need`` is a permission (:data:`PERMISSIONS`) or a role (:data:`ROLES`, meaning that
    role or a stronger one).
    """
    if need not in PERMISSIONS and need not in ROLES:
        msg = f"requires() needs a permission {PERMISSIONS} or a role {ROLES}; got {need!r}."
        raise ValueError(msg)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = acting_user()
            if user is None:
                return _refuse_anonymous()
            if not user.can(need):
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_permission = need  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


# -- session expiry -----------------------------------------------------------------------
def _expire_sessions() -> None:
    # respondent pages (the survey blueprint) have no login; skipping them spares every
    # submission loading the anonymous user. Static files need no user (they load while
    # the database is down: the 503 page keeps its style), are not activity, and must not
    # write the session: a stylesheet's response would send the cookie back as the
    # browser sent it, undoing what a page answered at the same time wrote (a preview
    # grant, say)
    if (
        request.blueprint in SKIP_EXPIRY
        or request.endpoint == "static"
        or not current_user.is_authenticated
    ):
        return
    now = time.time()
    cfg = current_app.config
    lifetime = float(cfg["LOGIN_LIFETIME_HOURS"]) * 3600
    idle = float(cfg["LOGIN_IDLE_MINUTES"]) * 60
    auth_at = float(session.get("auth_at", 0))
    seen_at = float(session.get("seen_at", 0))
    if now - auth_at > lifetime or now - seen_at > idle:
        logout_user()
        for key in ("auth_at", "seen_at"):
            session.pop(key, None)
        g.pop("acting_user", None)
        flash(str(_l("Your session has expired; please log in again.")), "info")
        return
    session["seen_at"] = now


# -- pages ---------------------------------------------------------------------------------
class LoginForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1000)])


def _safe_next(target: str | None) -> str:
    default = url_for("research.dashboard")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


@bp.route("/login", methods=["GET", "POST"])
@security.rate_limit("LOGIN_RATE_LIMIT")
def login() -> Any:
    form = LoginForm()
    if form.validate_on_submit():
        row = accounts.log_in(form.email.data or "", form.password.data or "")
        if row is not None:
            session.clear()  # a fresh session: no fixation of a pre-login session
            session.permanent = True
            login_user(AccountUser(row))
            now = time.time()
            session["auth_at"] = now
            session["seen_at"] = now
            return redirect(_safe_next(request.args.get("next")), code=303)
        flash(str(_l("The e-mail or the password is wrong.")), "error")
        return render_template("research/login.html", form=form), 401
    status = 422 if request.method == "POST" else 200
    return render_template("research/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    if current_user.is_authenticated:
        # every copy of this session's cookie, and every other session, ends too
        accounts.end_sessions(current_user.id, via="logout", actor=current_user.id)
    logout_user()
    session.clear()
    flash(str(_l("You are logged out.")), "info")
    return redirect(url_for("auth.login"), code=303)


def init_app(app: Flask) -> None:
    """Set up Flask-Login, session expiry and the rate-limited login page."""
    app.permanent_session_lifetime = timedelta(hours=float(app.config["LOGIN_LIFETIME_HOURS"]))
    # the cookie is set when the session changes (a page's ``seen_at``), not on every
    # response: with Flask's default a static file's response re-sent the logged-in
    # session as its request carried it, over a change made meanwhile. The lifetime is
    # the absolute limit (``auth_at``), so a cookie set at the last change outlives it
    app.config["SESSION_REFRESH_EACH_REQUEST"] = False
    # no Flask-Login context processor: it loads the user for every page, the 503 page too
    # (templates get the user as ``account`` from ``_user`` below)
    login_manager.init_app(app, add_context_processor=False)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = "basic"
    app.before_request(_expire_sessions)
    app.register_blueprint(bp)

    @app.context_processor
    def _user() -> dict[str, Any]:
        if g.get("database_down"):
            # the 503 page: who is logged in is in the database that is not answering
            return {"account": None, "can": lambda _permission: False}
        user = current_user if current_user.is_authenticated else None
        return {"account": user, "can": can}
