"""The database commands when the database is not there (issue 18, item 5).

An unreachable PostgreSQL, a missing psycopg and a command run outside the folder of the
instance each give one message and exit 2. The commands run as subprocesses: a traceback
would show on stderr.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# nothing listens on this port of the test machine's range for this branch
UNREACHABLE = "postgresql://manyi:s3cret@127.0.0.1:5599/manyi"

# an import hook that makes psycopg look uninstalled, then the CLI
WITHOUT_PSYCOPG = """
import sys
from importlib.abc import MetaPathFinder

class NoPsycopg(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("psycopg", "psycopg_binary", "psycopg2"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoPsycopg())
from surveyapp.cli import main
main()
"""


def _env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MANYI_") and k not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(extra)
    return env


def manyi(
    *args: str, cwd: Path, code: str = "from surveyapp.cli import main; main()", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=_env(**env),
        check=False,
    )


def assert_one_error(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("Error:") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("users", "list"),
        ("export", "demo", "--out", "x.csv"),
        ("report", "demo", "--out", "r.json"),
        ("db", "current"),
        ("db", "upgrade"),
    ],
)
def test_unreachable_postgresql_is_one_message(tmp_path, args):
    proc = manyi(*args, cwd=tmp_path, DATABASE_URL=UNREACHABLE)
    assert_one_error(proc, "127.0.0.1:5599", "Check DATABASE_URL")
    assert "s3cret" not in proc.stderr  # the password is never shown


@pytest.mark.parametrize(
    "args", [("users", "list"), ("export", "demo", "--out", "x.csv"), ("db", "upgrade")]
)
def test_missing_psycopg_is_one_message(tmp_path, args):
    proc = manyi(*args, cwd=tmp_path, code=WITHOUT_PSYCOPG, DATABASE_URL=UNREACHABLE)
    assert_one_error(proc, "psycopg is not installed", "pip install 'manyi[postgres]'")


def test_outside_the_instance_folder_says_how_and_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (("users", "list"), ("export", "demo", "--out", "x.csv")):
        proc = manyi(*args, cwd=elsewhere)
        assert_one_error(proc, "MANYI_INSTANCE", str(elsewhere / "instance"))
    assert list(elsewhere.iterdir()) == []  # no empty ./instance left behind

    # the instance made in its own folder is found from anywhere through MANYI_INSTANCE
    home = tmp_path / "home"
    home.mkdir()
    made = manyi("db", "upgrade", cwd=home)
    assert made.returncode == 0, made.stderr
    found = manyi("users", "list", cwd=elsewhere, MANYI_INSTANCE=str(home / "instance"))
    assert found.returncode == 0, found.stderr
    assert list(elsewhere.iterdir()) == []
