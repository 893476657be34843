"""Helpers shared by the CLI modules: user-facing errors and output formats."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class UsageProblem(click.ClickException):
    """A problem the user can fix: printed as one message, exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"Error: {self.format_message()}", err=True, file=file)


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn the named input errors of questionnaires/scoring into a clean exit 2."""
    # lazy: questionnaires loads YAML and JSON Schema, which `manyi --help` never needs
    from questionnaires import QuestionnaireError
    from scoring.errors import ConvergenceWarning, SmallSampleWarning  # lazy: as above

    try:
        with warnings.catch_warnings(record=True) as caught:
            # scoring's warnings about the data go to the user as one line each (Python's
            # own format adds the source line of the warning)
            warnings.simplefilter("always", SmallSampleWarning)
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                yield
            finally:
                for w in caught:
                    click.echo(f"Warning: {w.message}", err=True)
    except QuestionnaireError as exc:
        raise UsageProblem("\n".join(exc.messages)) from None
    except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise UsageProblem(str(text)) from None


def safe_url(url: Any) -> str:
    """A database URL as it may be shown: without its password."""
    # lazy: SQLAlchemy loads only for the commands that use the database
    from sqlalchemy.engine import make_url

    return make_url(str(url)).render_as_string(hide_password=True)


def db_reason(exc: Exception) -> str:
    """The driver's message of a database error (its first line), else the error's."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


# the database drivers SQLAlchemy imports for a DATABASE_URL (the `postgres` extra)
DRIVERS = ("psycopg", "psycopg_binary", "psycopg2")


@contextmanager
def database_errors(url: str | None = None) -> Iterator[None]:
    """Turn a database that cannot be reached, or a driver that is not installed, into
    one message naming the database (without its password) and the fix; exit 2."""
    # lazy: SQLAlchemy loads only for the commands that use the database
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] not in DRIVERS:
            raise
        msg = (
            "DATABASE_URL names a PostgreSQL database, but its driver psycopg is not "
            "installed; install it with: pip install 'manyi[postgres]'."
        )
        raise UsageProblem(msg) from None
    except SQLAlchemyError as exc:
        where = f" {safe_url(url)}" if url else ""
        msg = (
            f"cannot use the database{where}: {db_reason(exc)}. Check DATABASE_URL "
            "and that the database server is running."
        )
        raise UsageProblem(msg) from None


def existing_instance() -> None:
    """Refuse, before an app is made, to work on a database that is not there.

    Without ``DATABASE_URL`` the database is the SQLite file of the instance folder
    (``$MANYI_INSTANCE``, else ``./instance``). A command run outside the folder of the
    installation would create an empty instance there and then fail on its missing
    tables; this says where it looked and how to point at the right one instead.
    """
    # lazy: the settings module loads only for the commands that use the database
    from surveyapp import config

    try:
        settings = config.from_environ()
    except ValueError as exc:  # a bad MANYI_* value names itself
        raise UsageProblem(str(exc)) from None
    if settings.get("DATABASE_URL"):
        return
    instance = config.instance_path(settings)
    database = Path(settings["DATABASE"]) if settings.get("DATABASE") else instance / "manyi.sqlite"
    if not database.is_file():
        msg = (
            f"no manyi database at {database}. Run the command in the folder that holds "
            "the 'instance' folder (where you ran `manyi demo` or `manyi db upgrade`), or "
            "set MANYI_INSTANCE=/path/to/instance (or DATABASE_URL for PostgreSQL)."
        )
        raise UsageProblem(msg)


def out_folder_exists(_ctx: click.Context, _param: click.Parameter, out: str | None) -> str | None:
    """Click callback of an ``--out`` option: refuse a file in a folder that does not exist
    before any work is done."""
    if out is not None and not Path(out).resolve().parent.is_dir():
        msg = f"--out {out}: the folder {Path(out).parent} does not exist; create it first."
        raise UsageProblem(msg)
    return out


def encoding_option(func: F) -> F:
    """The ``--encoding`` option of commands that read CSV data files."""
    return click.option(
        "--encoding",
        metavar="NAME",
        help="Text encoding of CSV data (default: detected; UTF-8 with or without BOM, "
        "else GB18030/GBK).",
    )(func)


def find_survey(session: Any, ident: str) -> Any:
    """The survey whose link code (slug) or number is ``ident``, or a clear UsageProblem
    that lists the surveys there are."""
    # lazy: SQLAlchemy and the models load only for the commands that use the database
    from sqlalchemy import select

    from surveyapp import models as m  # lazy: as above

    found = session.scalar(select(m.Survey).where(m.Survey.slug == ident))
    if found is None and ident.isdigit():
        found = session.get(m.Survey, int(ident))
    if found is None:
        slugs = ", ".join(session.scalars(select(m.Survey.slug).order_by(m.Survey.id).limit(20)))
        msg = f"no survey {ident!r}; surveys: {slugs or 'none yet'}."
        raise UsageProblem(msg)
    return found


def echo_err(message: str) -> None:
    click.echo(message, err=True)


def stdout_is_tty() -> bool:
    return sys.stdout.isatty()
