"""``manyi export SURVEY --format csv|xlsx|sav --out FILE``: the tidy export from the CLI.

The same files as the web export (:mod:`surveyapp.services.exports`), written whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

import click

from surveyapp.cli._common import UsageProblem, find_survey, user_errors
from surveyapp.cli.users import app_database


@click.command("export")
@click.argument("survey")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "xlsx", "sav"]),
    default=None,
    help="Default: from the extension of --out.",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--language",
    type=click.Choice(["zh-Hans", "en"]),
    default="zh-Hans",
    show_default=True,
    help="Language of variable and value labels (XLSX codebook, SPSS).",
)
@click.option("--partial", is_flag=True, help="Include responses never submitted.")
@click.option("--quarantined", is_flag=True, help="Include quarantined responses.")
def export_cmd(
    survey: str, fmt: str | None, out: Path, language: str, partial: bool, quarantined: bool
) -> None:
    """Export the responses of SURVEY (its link code or its number) to FILE."""

    # lazy: the export service loads pandas and the web app's models, which `manyi --help`
    # never needs
    from surveyapp.services import exports

    fmt = fmt or out.suffix.lower().lstrip(".")
    if fmt not in exports.FORMATS:
        msg = f"cannot tell the format from {out.name!r}; give --format csv, xlsx or sav."
        raise UsageProblem(msg)
    if not out.parent.is_dir():
        msg = f"the folder {str(out.parent)!r} does not exist; create it or choose another --out."
        raise UsageProblem(msg)
    with app_database() as database, database.sessions() as s:
        found = find_survey(s, survey)
        with user_errors():
            n = exports.export_to_file(
                found.id,
                fmt,
                out,
                language=language,
                include_partial=partial,
                include_quarantined=quarantined,
            )
    click.echo(f"{out}: {n} responses of {found.slug} ({fmt})")


COMMANDS = [export_cmd]
