"""``manyi questionnaires list | show | validate | convert``."""

from __future__ import annotations

import json
from pathlib import Path

import click

from surveyapp.cli._common import UsageProblem, out_folder_exists, user_errors


@click.group("questionnaires")
def questionnaires_group() -> None:
    """List, show, validate and convert questionnaire files."""


@questionnaires_group.command("list")
def list_cmd() -> None:
    """List the built-in instruments."""
    # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
    import questionnaires as qn

    for ident in qn.builtin_ids():
        q = qn.builtin(ident)
        n = len(q.items)
        click.echo(f"{ident:<20} {q.audience:<9} {n:>3} items  {q.title.en} / {q.title.zh_hans}")


@questionnaires_group.command("show")
@click.argument("ident")
@click.option("--language", "-l", type=click.Choice(["en", "zh-Hans"]), default="en")
@click.option("--columns", is_flag=True, help="Print the export column names only.")
def show_cmd(ident: str, language: str, columns: bool) -> None:
    """Show an instrument (built-in id or file): pages, items and export columns."""
    with user_errors():
        # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
        import questionnaires as qn

        q = qn.resolve(ident)
    if columns:
        for c in q.columns():
            click.echo(c)
        return
    click.echo(f"{q.title.get(language)}  [{q.id} v{q.version}, audience {q.audience}]")
    if q.citation:
        click.echo(f"Source: {q.citation.strip()}")
    for page in q.pages:
        click.echo(f"\n== {page.title.get(language)} ==")
        for item in page.items:
            extra = []
            if item.scale:
                extra.append(f"{item.scale.min}-{item.scale.max}")
            if item.roles:
                extra.append("+".join(item.roles))
            if item.dimension:
                extra.append(f"dim={item.dimension}")
            if item.reverse:
                extra.append("reversed")
            cols = ", ".join(item.columns())
            click.echo(f"  {item.id:<10} {item.type:<15} {item.text.get(language)}")
            click.echo(f"  {'':<10} {'':<15} [{'; '.join(extra)}] -> {cols}")


@questionnaires_group.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
def validate_cmd(files: tuple[str, ...]) -> None:
    """Validate questionnaire files; print every problem; exit 2 if any file is invalid."""
    # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
    import questionnaires as qn

    bad = 0
    for f in files:
        try:
            q = qn.load(f)
        except qn.QuestionnaireError as exc:
            bad += 1
            for line in exc.messages:
                click.echo(line, err=True)
            continue
        click.echo(
            f"{f}: valid ({q.id}, {len(q.items)} items, {len(q.columns(meta=False))} columns)"
        )
    if bad:
        msg = f"{bad} of {len(files)} file(s) invalid"
        raise UsageProblem(msg)


@questionnaires_group.command("convert")
@click.argument("file")
@click.option("--to", "target", type=click.Choice(["xlsform", "yaml", "json"]), required=True)
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    callback=out_folder_exists,
    help="Output file (default: beside the input file; a built-in id: the current folder).",
)
def convert_cmd(file: str, target: str, out: str | None) -> None:
    """Convert an instrument (built-in id, YAML or XLSForm) to XLSForm, YAML or JSON."""
    with user_errors():
        # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
        import questionnaires as qn

        q = qn.resolve(file)
        suffix = {"xlsform": ".xlsx", "yaml": ".yaml", "json": ".json"}[target]
        source = Path(file)
        if out:
            dest = Path(out)
        elif source.is_file():
            dest = source.with_suffix(suffix)
        else:
            dest = Path(file + suffix)
        if source.is_file() and dest.resolve() == source.resolve():
            msg = f"{dest} is the input file; give another --out to keep the input."
            raise UsageProblem(msg)
        if target == "xlsform":
            # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
            from questionnaires.xlsform import write_xlsform

            write_xlsform(q, dest)
        elif target == "yaml":
            # lazy: the instrument loader (YAML, JSON Schema) loads only for the command that runs
            from questionnaires.yamlio import dump_yaml

            dest.write_text(dump_yaml(q), encoding="utf-8")
        else:
            dest.write_text(json.dumps(q.to_dict(), ensure_ascii=False, indent=2), "utf-8")
    click.echo(f"wrote {dest}")


COMMANDS = [questionnaires_group]
