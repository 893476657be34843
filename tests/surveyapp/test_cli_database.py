"""The database commands when the database is not there (issue 18, item 5).

An unreachable PostgreSQL, a missing psycopg and a command run outside the folder of the
instance each give one message and exit 2. The commands run as subprocesses: a traceback
would show on stderr.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.surveyapp.cli_helpers import CLI, assert_refused, clean_environ, run

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


def manyi(*args: str, cwd: Path, code: str = CLI, **env: str) -> subprocess.CompletedProcess[str]:
    return run(*args, cwd=cwd, code=code, env=clean_environ(**env))


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
    assert_refused(proc, "127.0.0.1:5599", "Check DATABASE_URL")
    assert "s3cret" not in proc.stderr  # the password is never shown


@pytest.mark.parametrize(
    "args", [("users", "list"), ("export", "demo", "--out", "x.csv"), ("db", "upgrade")]
)
def test_missing_psycopg_is_one_message(tmp_path, args):
    proc = manyi(*args, cwd=tmp_path, code=WITHOUT_PSYCOPG, DATABASE_URL=UNREACHABLE)
    assert_refused(proc, "psycopg is not installed", "pip install 'manyi[postgres]'")


def test_outside_the_instance_folder_says_how_and_creates_nothing(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for args in (("users", "list"), ("export", "demo", "--out", "x.csv"), ("worker",)):
        proc = manyi(*args, cwd=elsewhere)
        assert_refused(proc, "MANYI_INSTANCE", str(elsewhere / "instance"))
    assert list(elsewhere.iterdir()) == []  # no empty ./instance left behind

    # the instance made in its own folder is found from anywhere through MANYI_INSTANCE
    home = tmp_path / "home"
    home.mkdir()
    made = manyi("db", "upgrade", cwd=home)
    assert made.returncode == 0, made.stderr
    found = manyi("users", "list", cwd=elsewhere, MANYI_INSTANCE=str(home / "instance"))
    assert found.returncode == 0, found.stderr
    assert list(elsewhere.iterdir()) == []
