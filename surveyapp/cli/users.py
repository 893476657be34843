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
        token = "token" if u.api_token_hash else "-"
        click.echo(f"{u.email:<40} {u.role:<10} {state:<8} {token:<5} last login {last}")
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


@users_group.command("token")
@click.argument("email")
def token_cmd(email: str) -> None:
    """Issue a new API token for an account (replaces the old one); printed once."""
    with app_database(), user_errors():
        token = _accounts().issue_token(email, via="cli")
    click.echo(token)
    click.echo(
        "Keep this token secret; it is shown only once. Send it as "
        "'Authorization: Bearer <token>'.",
        err=True,
    )


COMMANDS = [users_group]
