"""``manyi report``: the shareable report (HTML or PDF) or its numbers (JSON) from the shell.

``manyi report SURVEY --out FILE.html|pdf|json`` reports on a stored survey exactly as the
web page does (its waves and the linked manager / staff / audit surveys of its study);
``.json`` writes the dict the dashboard renders, every number unrounded, so the page can
be checked against ``manyi score`` (the five gaps against ``manyi score gaps``).
``manyi report --data FILE --questionnaire ID --out FILE`` reports on a data file without
a database; ``--linked AUDIENCE FILE QUESTIONNAIRE`` adds the manager, staff or audit data
of a gap study (repeat per audience).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from surveyapp.cli._common import UsageProblem, encoding_option, find_survey, user_errors

AUDIENCES = ("manager", "staff", "audit")


def _segment(q: Any, raw: str | None) -> tuple[str, str] | None:
    from surveyapp.reports.build import parse_segment  # lazy: pandas and scipy are slow

    try:
        return parse_segment(q, raw)
    except ValueError as exc:
        msg = f"--{exc}"
        raise UsageProblem(msg) from None


def _from_files(
    data: Path,
    questionnaire: str,
    linked: tuple[tuple[str, str, str], ...],
    segment: str | None,
    language: str,
    encoding: str | None,
    exclude_suspects: bool,
) -> dict[str, Any]:
    # lazy: the report builder loads pandas and scipy, slow for the other commands
    import questionnaires as qn
    from surveyapp.datafiles import read_responses
    from surveyapp.reports import build

    with user_errors():
        q = qn.resolve(questionnaire)
        frame = read_responses(data, q, encoding=encoding)
        sources: dict[str, Any] = {}
        for audience, path, qid in linked:
            if audience not in AUDIENCES:
                msg = f"--linked AUDIENCE must be one of {', '.join(AUDIENCES)}; got {audience!r}."
                raise UsageProblem(msg)
            lq = qn.resolve(qid)
            sources[audience] = (lq, read_responses(path, lq, encoding=encoding))
        seg = _segment(q, segment)
        gap_sources = build.GapSources(customer=(q, frame), **sources)
        wave_segment = q.segments[0].id if q.segments else None
        return build.full_report(
            q,
            frame,
            gap_sources=gap_sources,
            segment=seg,
            language=language,
            wave_segment=wave_segment,
            exclude_suspects=exclude_suspects,
        )


def _from_database(
    survey: str, segment: str | None, language: str, exclude_suspects: bool
) -> dict[str, Any]:

    # lazy: the app and the report builder are slow to import for the other commands
    from surveyapp import audit
    from surveyapp import db as dbm
    from surveyapp.cli.users import app_database
    from surveyapp.reports.views import survey_report

    with app_database() as database:
        s = dbm.session()
        found = find_survey(s, survey)
        seg = _segment(found.questionnaire(), segment)
        with user_errors():
            report = survey_report(
                found, segment=seg, language=language, exclude_suspects=exclude_suspects
            )
        with database.write() as ws:
            audit.record(
                ws,
                "exported",
                object_type="survey",
                object_id=found.id,
                detail={"report": "cli", "segment": segment},
            )
        return report


@click.command("report")
@click.argument("survey", required=False)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="FILE.html (self-contained, opens offline), FILE.pdf, or FILE.json (the "
    "dashboard's numbers, unrounded).",
)
@click.option(
    "--data",
    "data",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Report on this data file (CSV/XLSX/SAV) instead of a stored survey.",
)
@click.option("--questionnaire", help="Instrument of --data: built-in id or a YAML/XLSForm file.")
@click.option(
    "--linked",
    multiple=True,
    nargs=3,
    type=(str, click.Path(exists=True), str),
    metavar="AUDIENCE FILE QUESTIONNAIRE",
    help="With --data: manager, staff or audit data of the gap study.",
)
@encoding_option
@click.option("--segment", help="Five gaps for one segment level only, e.g. branch=east.")
@click.option(
    "--language", type=click.Choice(["zh-Hans", "en"]), default="zh-Hans", show_default=True
)
@click.option(
    "--include-suspect",
    is_flag=True,
    help="Keep the responses screening flags as suspect (left out by default, as on the "
    "report pages and in manyi score). Quarantined responses are always left out.",
)
def report_cmd(
    survey: str | None,
    out: Path,
    data: Path | None,
    questionnaire: str | None,
    linked: tuple[tuple[str, str, str], ...],
    segment: str | None,
    language: str,
    encoding: str | None,
    include_suspect: bool,
) -> None:
    """Write the report of SURVEY (its link code or number), or of --data, to FILE."""
    # lazy: scoring and the renderer load numpy, pandas and scipy, slow for the other
    # commands (and `manyi --help`)
    from scoring._results import jsonable
    from surveyapp.reports import render

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("html", "pdf", "json"):
        msg = f"--out must end in .html, .pdf or .json; got {out.name!r}."
        raise UsageProblem(msg)
    if not out.parent.is_dir():
        msg = f"the folder {str(out.parent)!r} does not exist; create it or choose another --out."
        raise UsageProblem(msg)
    if (survey is None) == (data is None):
        msg = "give either SURVEY (a stored survey) or --data FILE --questionnaire ID."
        raise UsageProblem(msg)
    if data is not None and not questionnaire:
        msg = "--data needs --questionnaire (a built-in id such as servqual22, or a file)."
        raise UsageProblem(msg)
    if linked and data is None:
        msg = "--linked goes with --data; a stored survey finds its linked surveys itself."
        raise UsageProblem(msg)
    if data is not None:
        report = _from_files(
            data, str(questionnaire), linked, segment, language, encoding, not include_suspect
        )
    else:
        report = _from_database(str(survey), segment, language, not include_suspect)
    try:
        if fmt == "json":
            # NaN -> null, numpy -> Python: the same values the page rounds for display
            text = json.dumps(jsonable(report), ensure_ascii=False, allow_nan=False, indent=1)
            body = text.encode("utf-8")
        elif fmt == "pdf":
            body = render.render_pdf(report, language=language)
        else:
            body = render.render_html(report, language=language).encode("utf-8")
    except render.FontMissingError as exc:
        raise UsageProblem(str(exc)) from None
    tmp = out.with_name(out.name + ".part")
    tmp.write_bytes(body)
    tmp.replace(out)  # whole or not at all
    click.echo(f"wrote {out} ({len(body) // 1024} KiB, {report['n']} responses)")


COMMANDS = [report_cmd]
