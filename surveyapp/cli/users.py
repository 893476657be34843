"""``manyi users create | list | set-role | reset-password | token``.

The commands work on the database of the configured app (``DATABASE_URL`` or the SQLite
file in the instance folder, as ``manyi serve`` uses); run ``manyi db upgrade`` first.
Every change is written to the audit log (with no acting user: it came from the shell).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from surveyapp.cli._common import UsageProblem, user_errors


@contextmanager
def app_database() -> Iterator[Any]:
    """The configured app's :class:`~surveyapp.db.Database`, inside an app context."""
    from sqlalchemy import inspect

    from surveyapp import create_app
    from surveyapp.db import get_db

    with user_errors():
        app = create_app()
    with app.app_context():
        database = get_db()
        if not inspect(database.engine).has_table("user"):
            msg = f"the database {database.engine.url!r} has no tables; run 'manyi db upgrade'."
            raise UsageProblem(msg)
        try:
            yield database
        finally:
            database.dispose()


def _user(s: Any, email: str) -> Any:
    from surveyapp.auth import find_user

    user = find_user(s, email)
    if user is None:
        msg = f"no user with the e-mail {email!r}; see 'manyi users list'."
        raise UsageProblem(msg)
    return user


def _check_password(password: str) -> str:
    from surveyapp.auth import hash_password

    with user_errors():
        return hash_password(password)


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
    from surveyapp import audit
    from surveyapp import models as m
    from surveyapp.auth import find_user, normalise_email

    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        msg = f"{email!r} is not an e-mail address."
        raise UsageProblem(msg)
    hashed = _check_password(password)
    with app_database() as database, database.write() as s:
        if find_user(s, email) is not None:
            msg = f"a user with the e-mail {email!r} exists; use 'manyi users reset-password'."
            raise UsageProblem(msg)
        user = m.User(email=email, name=name, role=role, password_hash=hashed, active=True)
        s.add(user)
        s.flush()
        audit.record(s, "created", user, detail={"role": role, "via": "cli"})
    click.echo(f"created {email} ({role})")


@users_group.command("list")
def list_cmd() -> None:
    """List the accounts."""
    from sqlalchemy import select

    from surveyapp import models as m

    with app_database() as database, database.sessions() as s:
        users = s.scalars(select(m.User).order_by(m.User.email)).all()
        for u in users:
            last = u.last_login_at.strftime("%Y-%m-%d %H:%M") if u.last_login_at else "never"
            state = "active" if u.active else "inactive"
            token = "token" if u.api_token_hash else "-"
            click.echo(f"{u.email:<40} {u.role:<10} {state:<8} {token:<5} last login {last}")
    if not users:
        click.echo("no users; create one with 'manyi users create EMAIL --role admin'")


@users_group.command("set-role")
@click.argument("email")
@click.argument("role", type=click.Choice(["admin", "researcher", "viewer"]))
def set_role_cmd(email: str, role: str) -> None:
    """Change the role of an account."""
    from surveyapp import audit

    with app_database() as database, database.write() as s:
        user = _user(s, email)
        old = user.role
        user.role = role
        audit.record(s, "role_changed", user, detail={"from": old, "to": role, "via": "cli"})
    click.echo(f"{user.email}: {old} -> {role}")


@users_group.command("reset-password")
@click.argument("email")
@click.option("--password", prompt="New password", hide_input=True, confirmation_prompt=True)
def reset_password_cmd(email: str, password: str) -> None:
    """Set a new password for an account."""
    from surveyapp import audit

    hashed = _check_password(password)
    with app_database() as database, database.write() as s:
        user = _user(s, email)
        user.password_hash = hashed
        audit.record(s, "password_reset", user, detail={"via": "cli"})
    click.echo(f"password of {user.email} changed")


@users_group.command("token")
@click.argument("email")
def token_cmd(email: str) -> None:
    """Issue a new API token for an account (replaces the old one); printed once."""
    from surveyapp import audit
    from surveyapp.auth import new_api_token

    token, hashed = new_api_token()
    with app_database() as database, database.write() as s:
        user = _user(s, email)
        user.api_token_hash = hashed
        audit.record(s, "token_issued", user, detail={"via": "cli"})
    click.echo(token)
    click.echo(
        "Keep this token secret; it is shown only once. Send it as "
        "'Authorization: Bearer <token>'.",
        err=True,
    )


COMMANDS = [users_group]
