"""``manyi simulate``: synthetic responses with a known ground truth."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import click

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
def simulate_cmd(
    questionnaire: str, n: int, seed: int, out: str, truth: str | None, wave: str | None
) -> None:
    """Write N synthetic responses to QUESTIONNAIRE (built-in id or file) in the export format.

    The data follow a known model (dimension effects, E/P correlation, segment
    differences, missing answers, a few straight-liners); --truth writes it as JSON.
    """
    dest = Path(out)
    if dest.suffix.lower() not in SUFFIXES:
        msg = f"--out must end in .csv or .xlsx; got {out!r}"
        raise UsageProblem(msg)
    if n < 1:
        msg = f"-n must be at least 1; got {n}"
        raise UsageProblem(msg)
    for path in (dest, Path(truth) if truth else None):
        if path is not None and not path.parent.is_dir():
            msg = f"folder {str(path.parent)!r} of {str(path)!r} does not exist"
            raise UsageProblem(msg)
    with user_errors():
        # lazy: the instrument loader loads only for the command that runs
        import questionnaires as qn
        from questionnaires.simulate import simulate

        q = qn.resolve(questionnaire)
        sim = simulate(q, n, seed=seed, wave=wave)
    data = sim.data
    writers: list[tuple[Path, Callable[[Path], object]]] = []
    if dest.suffix.lower() == ".csv":
        writers.append((dest, lambda p: data.to_csv(p, index=False, encoding="utf-8-sig")))
    else:
        if n > 1_048_575:
            msg = f"an .xlsx sheet holds at most 1,048,575 responses; got {n}; write .csv"
            raise UsageProblem(msg)
        writers.append((dest, lambda p: data.to_excel(p, index=False, sheet_name="responses")))
    if truth:
        text = json.dumps(sim.truth.to_dict(), ensure_ascii=False, indent=2)
        writers.append((Path(truth), lambda p: p.write_text(text, encoding="utf-8")))
    _write_all(writers)
    click.echo(f"wrote {n} responses to {dest}")
    if truth:
        click.echo(f"wrote the ground truth to {truth}")


COMMANDS = [simulate_cmd]
