"""``manyi users create | list | set-role | reset-password | deactivate | activate | logout
| teams | set-teams | token | tokens | revoke-token``.

The commands work on the database of the configured app (``DATABASE_URL`` or the SQLite
file in the instance folder, as ``manyi serve`` uses); run ``manyi db upgrade`` first.
Every change is written to the audit log (with no acting user: it came from the shell).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from surveyapp.cli._common import (
    UsageProblem,
    database_errors,
    existing_instance,
    safe_url,
    user_errors,
)


@contextmanager
def app_database() -> Iterator[Any]:
    """The configured app's :class:`~surveyapp.db.Database`, inside an app context."""
    # lazy: the web app and SQLAlchemy load only for the commands that use the database,
    # so `manyi --help` and the file-only commands start quickly
    from sqlalchemy import inspect

    from surveyapp import create_app  # lazy: as above
    from surveyapp.db import get_db  # lazy: as above

    existing_instance()
    with database_errors():
        with user_errors():
            app = create_app()
        url = app.config["SQLALCHEMY_URL"]
    with app.app_context(), database_errors(url):
        database = get_db()
        if not inspect(database.engine).has_table("user"):
            msg = f"the database {safe_url(url)} has no tables; run 'manyi db upgrade'."
            raise UsageProblem(msg)
        try:
            yield database
        finally:
            database.dispose()


def _accounts() -> Any:
    # lazy: the account service loads SQLAlchemy and argon2, which `manyi --help` never needs
    from surveyapp.services import accounts

    return accounts


def _hash(password: str) -> str:
    with user_errors():
        return _accounts().hash_password(password)  # type: ignore[no-any-return]


@click.group("users")
def users_group() -> None:
    """Accounts of researchers (roles: admin, researcher, viewer)."""


@users_group.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["admin", "researcher", "viewer"]),
    default="researcher",
    show_default=True,
)
@click.option("--name", default=None, help="Display name.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for when not given (prefer the prompt: options end up in shell history).",
)
def create_cmd(email: str, role: str, name: str | None, password: str) -> None:
    """Create an account."""
    accounts = _accounts()
    with user_errors():
        email = accounts.check_email(email)
    hashed = _hash(password)
    with app_database(), user_errors():
        accounts.create_user(email, role=role, password_hash=hashed, name=name, via="cli")
    click.echo(f"created {email} ({role})")


@users_group.command("list")
def list_cmd() -> None:
    """List the accounts."""
    with app_database():
        users = _accounts().list_users()
    for u in users:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
        state = "active" if u.active else "inactive"
        teams = ",".join(t.name for t in u.teams) or "-"
        click.echo(f"{u.email:<40} {u.role:<10} {state:<8} {teams:<20} last login {last}")
    if not users:
        click.echo("no users; create one with 'manyi users create EMAIL --role admin'")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "researcher", "viewer"]))
def set_role_cmd(email: str, role: str) -> None:
    """Change the role of an account."""
    with app_database(), user_errors():
        user, old = _accounts().set_role(email, role, via="cli")
    click.echo(f"{user.email}: {old} -> {role}")


@users_group.command("reset-password")
@click.argument("email")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def reset_password_cmd(email: str, password: str) -> None:
    """Set a new password for an account."""
    hashed = _hash(password)
    with app_database(), user_errors():
        user = _accounts().reset_password(email, hashed, via="cli")
    click.echo(f"password of {user.email} changed")


@users_group.command("deactivate")
@click.argument("email")
def deactivate_cmd(email: str) -> None:
    """Deactivate an account: it cannot log in, its sessions and API tokens end at once."""
    with app_database(), user_errors():
        _accounts().set_active(email, False, via="cli")
    click.echo(f"{email} deactivated; every session of it has ended")


@users_group.command("activate")
@click.argument("email")
def activate_cmd(email: str) -> None:
    """Re-activate a deactivated account."""
    with app_database(), user_errors():
        _accounts().set_active(email, True, via="cli")
    click.echo(f"{email} active again")


@users_group.command("logout")
@click.argument("email")
def logout_cmd(email: str) -> None:
    """End every session of an account (on every device)."""
    with app_database() as database, user_errors():
        with database.sessions() as s:
            user = _accounts().find_user(s, email)
        if user is None:
            msg = f"no user with the e-mail {email!r}; see 'manyi users list'."
            raise UsageProblem(msg)
        _accounts().end_sessions(user.id, via="cli")
    click.echo(f"every session of {email} has ended")


@users_group.command("teams")
@click.option("--create", "new", metavar="NAME", help="Create a team of this name first.")
def teams_cmd(new: str | None) -> None:
    """List the teams (and create one with --create NAME)."""
    with app_database(), user_errors():
        if new:
            _accounts().create_team(new, via="cli")
        teams = _accounts().list_teams()
    for t in teams:
        click.echo(t.name)
    if not teams:
        click.echo("no teams; create one with 'manyi users teams --create NAME'")


@users_group.command("set-teams")
@click.argument("email")
@click.argument("teams", nargs=-1)
def set_teams_cmd(email: str, teams: tuple[str, ...]) -> None:
    """Make TEAMS the teams of an account (none: no team; its sessions end)."""
    with app_database(), user_errors():
        _accounts().set_teams(email, list(teams), via="cli")
    click.echo(f"{email}: teams {', '.join(teams) or '(none)'}")


@users_group.command("token")
@click.argument("email")
@click.option("--name", default="cli", show_default=True, help="What the token is for.")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    type=click.Choice(["read", "export", "manage"]),
    help="What the token may do (repeat; default: all three, within the role).",
)
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(0, 730),
    help="Days until it expires (0: never).",
)
def token_cmd(email: str, name: str, scopes: tuple[str, ...], days: int) -> None:
    """Issue a new API token for an account; printed once."""
    with app_database(), user_errors():
        token = _accounts().issue_token(
            email, name=name, scopes=list(scopes) or None, days=days or None, via="cli"
        )
    click.echo(token)
    click.echo(
        "Keep this token secret; it is shown only once. Send it as "
        "'Authorization: Bearer <token>'.",
        err=True,
    )


@users_group.command("tokens")
@click.argument("email")
def tokens_cmd(email: str) -> None:
    """List the API tokens of an account: state, scopes, expiry and last use."""
    with app_database(), user_errors():
        rows = _accounts().list_tokens(email)

    def when(value: Any) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"

    for t in rows:
        click.echo(
            f"{t.id:>5} {t.name[:20]:<20} {t.state():<8} {','.join(t.scopes):<20} "
            f"expires {when(t.expires_at):<16} last used {when(t.last_used_at)}"
        )
    if not rows:
        click.echo(f"no tokens; issue one with 'manyi users token {email}'")


@users_group.command("revoke-token")
@click.argument("email")
@click.argument("token_id", type=click.IntRange(1, 2**63 - 1))
def revoke_token_cmd(email: str, token_id: int) -> None:
    """Revoke an API token (see 'manyi users tokens EMAIL' for the ids)."""
    with app_database(), user_errors():
        _accounts().revoke_token(email, token_id, via="cli")
    click.echo(f"token {token_id} of {email} revoked")


COMMANDS = [users_group]
