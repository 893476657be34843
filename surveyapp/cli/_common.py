"""Helpers shared by the CLI modules: user-facing errors and output formats."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

    try:
        yield
    except QuestionnaireError as exc:
        raise UsageProblem("\n".join(exc.messages)) from None
    except (ValueError, KeyError, TypeError, FileNotFoundError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise UsageProblem(str(text)) from None


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
