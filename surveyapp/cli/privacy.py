"""``manyi privacy find | export | erase | retention``: one person's data (PIPL, GDPR).

See :mod:`surveyapp.services.privacy` for what is found and what an erasure removes.
Every erasure is in the audit log (counts only: no personal data); ``erase`` asks before
it changes anything unless given ``--yes``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from surveyapp.cli._common import UsageProblem, user_errors
from surveyapp.cli.users import app_database


def _privacy() -> Any:
    # lazy: the service loads SQLAlchemy, which `manyi --help` never needs
    from surveyapp.services import privacy

    return privacy


@click.group("privacy")
def privacy_group() -> None:
    """One person's data: find it, export it, erase it; retention periods."""


@privacy_group.command("find")
@click.argument("identifier")
def find_cmd(identifier: str) -> None:
    """What is stored about IDENTIFIER (an e-mail, phone number or external id)."""
    with app_database() as database, user_errors(), database.sessions() as s:
        found = _privacy().find(s, identifier)
        for inv in found.invitations:
            state = "used" if inv.used_at else "unused"
            click.echo(f"invitation {inv.id} survey {inv.survey.slug} ({state})")
        for resp in found.responses:
            click.echo(f"response {resp.id} survey {resp.survey.slug} ({resp.status})")
    if not found:
        click.echo("nothing stored about this identifier")


@privacy_group.command("export")
@click.argument("identifier")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
def export_cmd(identifier: str, out: Path) -> None:
    """Write everything stored about IDENTIFIER to a JSON file (the person's copy)."""
    with app_database() as database, user_errors(), database.sessions() as s:
        data = _privacy().export(s, identifier)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    n = len(data["invitations"]) + len(data["responses"])
    click.echo(f"wrote {n} record(s) to {out}")


@privacy_group.command("erase")
@click.argument("identifier")
@click.option("--responses", is_flag=True, help="Delete the person's responses too.")
@click.option("--yes", is_flag=True, help="Do not ask first.")
def erase_cmd(identifier: str, responses: bool, yes: bool) -> None:
    """Erase IDENTIFIER's contact details (and with --responses their responses)."""
    if not yes:
        what = "contact details and responses" if responses else "contact details"
        click.confirm(f"Erase the {what} of this person?", abort=True)
    with app_database() as database, user_errors():
        counts = _privacy().erase(database, identifier, responses=responses, user_id=None)
    click.echo(
        f"erased: {counts['invitations']} invitation(s), {counts['responses']} response(s) "
        f"found, {counts['responses_deleted']} deleted"
    )


@privacy_group.command("retention")
@click.argument("study")
@click.argument("days", type=click.IntRange(0, 36_500))
def retention_cmd(study: str, days: int) -> None:
    """Purge the recipients of STUDY's invitations DAYS days after they were made (0: keep
    them until erased). The worker purges every hour."""
    # lazy: SQLAlchemy only for the commands that use the database
    from sqlalchemy import select

    from surveyapp import models as m  # lazy: as above

    with app_database() as database, user_errors(), database.write() as s:
        row = s.scalar(select(m.Study).where(m.Study.slug == study))
        if row is None:
            msg = f"no study with the short code {study!r}."
            raise UsageProblem(msg)
        row.retention_days = days or None
    click.echo(f"study {study}: recipients kept {days} days" if days else f"study {study}: kept")


COMMANDS = [privacy_group]
