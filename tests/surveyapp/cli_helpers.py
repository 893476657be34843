"""Running ``manyi`` as a user does: a fresh interpreter, its output and exit status."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

import questionnaires as qn
from questionnaires.simulate import simulate

CLI = "from surveyapp.cli import main; main()"


def run(
    *args: str,
    cwd: Path | None = None,
    code: str = CLI,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """``manyi ARGS`` in a fresh interpreter (``code`` runs the CLI), as a user runs it.

    ``env`` replaces the environment when given."""
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        check=False,
    )


def manyi(*args: str) -> subprocess.CompletedProcess[str]:
    """:func:`run` that also asserts no traceback reached the user."""
    proc = run(*args)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def assert_refused(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit status 2, one ``Error:`` line naming each of ``words``, no traceback."""
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("Error:") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


def clean_environ(**extra: str) -> dict[str, str]:
    """This environment without the app's settings (``MANYI_*``, ``DATABASE_URL``,
    ``SECRET_KEY``), plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MANYI_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(extra)
    return env


def simulated_csv(folder: Path, ident: str, n: int, seed: int, **kw: float) -> Path:
    """Simulated answers to the built-in ``ident`` written to ``folder/<ident>.csv``."""
    path = folder / f"{ident}.csv"
    data: pd.DataFrame = simulate(qn.builtin(ident), n, seed=seed, **kw).data
    data.to_csv(path, index=False)
    return path
