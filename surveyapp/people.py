"""The ``people`` blueprint: administrators manage accounts and teams in the browser;
everyone manages their own API tokens.

URLs (prefix ``/research``)
---------------------------
``/people``                      accounts and teams (admin: permission ``users``); create
``/people/<id>``                 one account: role, teams, deactivate / re-activate, a new
                                 password, "log out everywhere" (each change audited and,
                                 but the last, ending the account's sessions)
``/people/teams``                create a team (POST)
``/tokens``                      the user's own API tokens: scopes, expiry, last use; a new
                                 one is shown once; revoke (permission ``view``)

The views parse the form and call :mod:`surveyapp.services.accounts`, which writes each
change with its audit record; the acting administrator is the audit record's user.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from surveyapp.auth import acting_user, acting_user_id, requires
from surveyapp.services import accounts

bp = Blueprint("people", __name__, url_prefix="/research")

ROLE_CHOICES = [
    SelectChoice("viewer", _l("Viewer: sees surveys, responses and reports")),
    SelectChoice("researcher", _l("Researcher: also creates, opens, invites and exports")),
    SelectChoice("admin", _l("Administrator: everything, every team")),
]
SCOPE_CHOICES = [
    SelectChoice("read", _l("read")),
    SelectChoice("export", _l("export")),
    SelectChoice("manage", _l("manage")),
]


class PersonForm(FlaskForm):  # type: ignore[misc]
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=320)])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default="researcher")
    teams = SelectMultipleField(_l("Teams"), choices=[], validate_choice=True)
    password = PasswordField(
        _l("Password (at least 10 characters)"),
        validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD, max=1000)],
    )


class EditForm(FlaskForm):  # type: ignore[misc]
    role = SelectField(_l("Role"), choices=ROLE_CHOICES)
    teams = SelectMultipleField(_l("Teams"), choices=[], validate_choice=True)


class PasswordForm(FlaskForm):  # type: ignore[misc]
    password = PasswordField(
        _l("New password (at least 10 characters)"),
        validators=[DataRequired(), Length(min=accounts.MIN_PASSWORD, max=1000)],
    )


class TeamForm(FlaskForm):  # type: ignore[misc]
    team = StringField(_l("Team name"), validators=[DataRequired(), Length(max=100)])


class TokenForm(FlaskForm):  # type: ignore[misc]
    name = StringField(_l("What it is for"), validators=[DataRequired(), Length(max=100)])
    scopes = SelectMultipleField(
        _l("Scopes"), choices=SCOPE_CHOICES, default=["read"], validators=[DataRequired()]
    )
    days = IntegerField(
        _l("Days until it expires"),
        default=accounts.TOKEN_DAYS,
        validators=[DataRequired(), NumberRange(1, accounts.MAX_TOKEN_DAYS)],
    )


def _team_choices() -> list[SelectChoice]:
    return [SelectChoice(t.name, t.name) for t in accounts.list_teams()]


def _people_page(form: PersonForm, team_form: TeamForm, status: int = 200) -> Any:
    users = accounts.list_users()
    page = render_template("research/people.html", users=users, form=form, team_form=team_form)
    return page, status


@bp.route("/people")
@requires("users")
def people() -> Any:
    form = PersonForm(formdata=None)
    form.teams.choices = _team_choices()
    return _people_page(form, TeamForm(formdata=None))


@bp.route("/people", methods=["POST"])
@requires("users")
def person_new() -> Any:
    form = PersonForm()
    form.teams.choices = _team_choices()
    if not form.validate_on_submit():
        return _people_page(form, TeamForm(formdata=None), 422)
    try:
        accounts.create_user(
            form.email.data,
            role=form.role.data,
            password_hash=accounts.hash_password(form.password.data),
            name=form.name.data or None,
            via="web",
            actor=acting_user_id(),
        )
        if form.teams.data:
            accounts.set_teams(form.email.data, form.teams.data, via="web", actor=acting_user_id())
    except accounts.AccountError:
        form.email.errors = [_("An account with this e-mail exists.")]
        return _people_page(form, TeamForm(formdata=None), 409)
    flash(_("Account created."), "info")
    return redirect(url_for("people.people"), code=303)


@bp.route("/people/teams", methods=["POST"])
@requires("users")
def team_new() -> Any:
    team_form = TeamForm()
    form = PersonForm(formdata=None)
    form.teams.choices = _team_choices()
    if not team_form.validate_on_submit():
        return _people_page(form, team_form, 422)
    try:
        accounts.create_team(team_form.team.data, via="web", actor=acting_user_id())
    except accounts.AccountError:
        team_form.team.errors = [_("A team of this name exists.")]
        return _people_page(form, team_form, 409)
    flash(_("Team created."), "info")
    return redirect(url_for("people.people"), code=303)


def _person(user_id: int) -> Any:
    try:
        return accounts.get_user(user_id)
    except accounts.AccountError:
        abort(404)


def _person_page(user: Any, form: EditForm, pw_form: PasswordForm, status: int = 200) -> Any:
    page = render_template(
        "research/person.html", person=user, form=form, pw_form=pw_form, me=acting_user_id()
    )
    return page, status


@bp.route("/people/<int:user_id>", methods=["GET", "POST"])
@requires("users")
def person(user_id: int) -> Any:
    user = _person(user_id)
    form = EditForm(
        formdata=request.form if request.method == "POST" else None,
        role=user.role,
        teams=[t.name for t in user.teams],
    )
    form.teams.choices = _team_choices()
    pw_form = PasswordForm(formdata=None)
    if request.method == "GET":
        return _person_page(user, form, pw_form)
    if not form.validate_on_submit():
        return _person_page(user, form, pw_form, 422)
    actor = acting_user_id()
    if form.role.data != user.role:
        accounts.set_role(user.email, form.role.data, via="web", actor=actor)
    if sorted(form.teams.data or []) != sorted(t.name for t in user.teams):
        accounts.set_teams(user.email, form.teams.data or [], via="web", actor=actor)
    flash(_("Saved; the account's sessions have ended where its rights changed."), "info")
    return redirect(url_for("people.person", user_id=user_id), code=303)


@bp.route("/people/<int:user_id>/password", methods=["POST"])
@requires("users")
def person_password(user_id: int) -> Any:
    user = _person(user_id)
    pw_form = PasswordForm()
    if not pw_form.validate_on_submit():
        form = EditForm(formdata=None, role=user.role, teams=[t.name for t in user.teams])
        form.teams.choices = _team_choices()
        return _person_page(user, form, pw_form, 422)
    hashed = accounts.hash_password(pw_form.password.data)
    accounts.reset_password(user.email, hashed, via="web", actor=acting_user_id())
    flash(_("Password set; the account's sessions have ended."), "info")
    return redirect(url_for("people.person", user_id=user_id), code=303)


@bp.route("/people/<int:user_id>/active", methods=["POST"])
@requires("users")
def person_active(user_id: int) -> Any:
    user = _person(user_id)
    active = request.form.get("active") == "1"
    try:
        accounts.set_active(user.email, active, via="web", actor=acting_user_id())
    except accounts.AccountError:
        flash(_("You cannot deactivate your own account; ask another administrator."), "error")
        return redirect(url_for("people.person", user_id=user_id), code=303)
    if active:
        flash(_("Account active again."), "info")
    else:
        flash(_("Account deactivated; it is logged out everywhere."), "info")
    return redirect(url_for("people.person", user_id=user_id), code=303)


@bp.route("/people/<int:user_id>/logout", methods=["POST"])
@requires("users")
def person_logout(user_id: int) -> Any:
    _person(user_id)
    accounts.end_sessions(user_id, via="web", actor=acting_user_id())
    flash(_("The account is logged out everywhere."), "info")
    return redirect(url_for("people.person", user_id=user_id), code=303)


# -- one's own API tokens --------------------------------------------------------------------
def _tokens_page(form: TokenForm, new_token: str | None = None, status: int = 200) -> Any:
    user = acting_user()
    if user is None:  # pragma: no cover - requires() refused it
        abort(401)
    rows = accounts.list_tokens(user.email)
    page = render_template("research/tokens.html", tokens=rows, form=form, new_token=new_token)
    return page, status


@bp.route("/tokens")
@requires("view")
def tokens() -> Any:
    return _tokens_page(TokenForm(formdata=None))


@bp.route("/tokens", methods=["POST"])
@requires("view")
def token_new() -> Any:
    form = TokenForm()
    user = acting_user()
    if user is None:  # pragma: no cover - requires() refused it
        abort(401)
    if not form.validate_on_submit():
        return _tokens_page(form, status=422)
    token = accounts.issue_token(
        user.email,
        name=form.name.data,
        scopes=form.scopes.data,
        days=form.days.data,
        via="web",
        actor=user.id,
    )
    return _tokens_page(TokenForm(formdata=None), new_token=token, status=201)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@requires("view")
def token_revoke(token_id: int) -> Any:
    user = acting_user()
    if user is None:  # pragma: no cover - requires() refused it
        abort(401)
    try:
        accounts.revoke_token(user.email, token_id, via="web", actor=user.id)
    except accounts.AccountError:
        abort(404)
    flash(_("Token revoked."), "info")
    return redirect(url_for("people.tokens"), code=303)


def init_app(app: Flask) -> None:
    """Register the people and token pages."""
    app.register_blueprint(bp)
