"""``manyi simulate``: synthetic responses with a known ground truth."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click
import pandas as pd

from surveyapp.cli._common import UsageProblem, user_errors

SUFFIXES = (".csv", ".xlsx")


def _write_all(writers: list[tuple[Path, Callable[[Path], object]]]) -> None:
    """Write every file through a temporary file in its folder, then rename them all, so
    a failure leaves no partial or half-updated output."""
    temps: list[tuple[Path, Path]] = []
    try:
        for dest, write in writers:
            fd, name = tempfile.mkstemp(
                prefix=f".{dest.name}.", suffix=dest.suffix, dir=dest.parent
            )
            os.close(fd)
            temps.append((Path(name), dest))
            write(Path(name))
        for tmp, final in temps:
            os.replace(tmp, final)
    finally:
        for tmp, _ in temps:
            tmp.unlink(missing_ok=True)


@click.command("simulate")
@click.argument("questionnaire")
@click.option("-n", "n", type=int, required=True, help="Number of responses.")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option(
    "--out",
    "-o",
    type=click.Path(dir_okay=False),
    required=True,
    help="Output file: .csv (UTF-8 with BOM, opens in Excel) or .xlsx.",
)
@click.option(
    "--truth", type=click.Path(dir_okay=False), help="Also write the ground truth as JSON."
)
@click.option("--wave", default=None, help="Value of the wave column (default: sim).")
@click.option(
    "--outcomes",
    type=click.Path(dir_okay=False),
    help="Also write each customer's outcomes (churned, retained, tenure, revenue), linked "
    "by a customer_id column, with churn driven by the overall satisfaction answer.",
)
@click.option(
    "--staff",
    type=click.Path(dir_okay=False),
    help="Also write a staff survey whose branches' satisfaction drives the customers'.",
)
@click.option("--staff-n", type=int, help="Staff responses (default: N / 5).")
@click.option(
    "--staff-questionnaire",
    default="staff_satisfaction",
    show_default=True,
    metavar="ID_OR_FILE",
    help="Instrument of the staff survey.",
)
def simulate_cmd(
    questionnaire: str,
    n: int,
    seed: int,
    out: str,
    truth: str | None,
    wave: str | None,
    outcomes: str | None,
    staff: str | None,
    staff_n: int | None,
    staff_questionnaire: str,
) -> None:
    """Write N synthetic responses to QUESTIONNAIRE (built-in id or file) in the export format.

    The data follow a known model (dimension effects, E/P correlation, segment
    differences, missing answers, a few straight-liners); --truth writes it as JSON. With
    --outcomes or --staff the responses, the outcomes and the staff survey come from one
    known service-profit chain (branch staff satisfaction -> customer satisfaction ->
    churn) for `manyi score loyalty` and `manyi score chain` to recover.
    """
    dest = Path(out)
    extra = [Path(p) for p in (outcomes, staff) if p]
    for option, given in (("--out", out), ("--outcomes", outcomes), ("--staff", staff)):
        if given and Path(given).suffix.lower() not in SUFFIXES:
            msg = f"{option} must end in .csv or .xlsx; got {given!r}"
            raise UsageProblem(msg)
    if n < 1:
        msg = f"-n must be at least 1; got {n}"
        raise UsageProblem(msg)
    for target in (dest, Path(truth) if truth else None, *extra):
        if target is not None and not target.parent.is_dir():
            msg = f"folder {str(target.parent)!r} of {str(target)!r} does not exist"
            raise UsageProblem(msg)
    with user_errors():
        # lazy: the instrument loader loads only for the command that runs
        import questionnaires as qn
        from questionnaires.simulate import simulate, simulate_chain

        q = qn.resolve(questionnaire)
        frames: list[tuple[Path, pd.DataFrame, str]] = []
        if extra:
            chain = simulate_chain(
                q,
                qn.resolve(staff_questionnaire),
                n,
                staff_n or max(n // 5, 1),
                seed=seed,
                wave=wave,
            )
            sim = chain.customers
            if outcomes:
                frames.append((Path(outcomes), chain.outcomes, "outcomes"))
            if staff:
                frames.append((Path(staff), chain.staff.data, "responses"))
            truth_doc = {
                "customers": sim.truth.to_dict(),
                "staff": chain.staff.truth.to_dict(),
                "chain": chain.truth.to_dict(),
            }
        else:
            sim = simulate(q, n, seed=seed, wave=wave)
            truth_doc = sim.truth.to_dict()
    frames.insert(0, (dest, sim.data, "responses"))
    writers: list[tuple[Path, Callable[[Path], object]]] = []
    for path, frame, sheet in frames:
        if path.suffix.lower() == ".csv":
            writers.append((path, _csv_writer(frame)))
        else:
            if len(frame) > 1_048_575:
                msg = (
                    f"an .xlsx sheet holds at most 1,048,575 rows; {path} would need "
                    f"{len(frame)}; write .csv"
                )
                raise UsageProblem(msg)
            writers.append((path, _xlsx_writer(frame, sheet)))
    if truth:
        text = json.dumps(truth_doc, ensure_ascii=False, indent=2)
        writers.append((Path(truth), lambda p: p.write_text(text, encoding="utf-8")))
    _write_all(writers)
    click.echo(f"wrote {n} responses to {dest}")
    for path, frame, sheet in frames[1:]:
        click.echo(
            f"wrote {len(frame)} {'staff responses' if sheet == 'responses' else sheet} to {path}"
        )
    if truth:
        click.echo(f"wrote the ground truth to {truth}")


def _csv_writer(frame: pd.DataFrame) -> Callable[[Path], object]:
    return lambda p: frame.to_csv(p, index=False, encoding="utf-8-sig")


def _xlsx_writer(frame: pd.DataFrame, sheet: str) -> Callable[[Path], object]:
    return lambda p: frame.to_excel(p, index=False, sheet_name=sheet)


COMMANDS = [simulate_cmd]
