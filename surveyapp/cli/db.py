"""``manyi db backup FILE`` and ``manyi db restore FILE``: a consistent copy of the whole
database while the app keeps running, and that copy put back.

- SQLite: Python's ``sqlite3`` online backup API (``Connection.backup``) copies the
  database in one step from one read snapshot: writers go on during the copy (WAL) and
  the file holds exactly the committed state of one moment. ``restore`` copies a backup
  into the configured database the same way, replacing every row in one step (a
  running server's next request sees the restored data).
- PostgreSQL: ``pg_dump --format=custom`` (one snapshot, writers not blocked) and
  ``pg_restore --clean --if-exists --single-transaction``; both must be installed (the
  PostgreSQL client tools), or the command says so and stops.

A backup is written to a temporary file beside ``FILE`` and renamed when complete, so a
failed backup never leaves a partial file. ``restore`` refuses a file that is not a
backup of this kind, or of a newer schema than this version of manyi knows, and asks
before it overwrites (``--yes`` does not ask).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from surveyapp.cli._common import UsageProblem, safe_url
from surveyapp.cli.web import _app, _check_schema, db_group


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = (
            f"{name} is not installed, and a PostgreSQL database is backed up and restored "
            f"with it: install the PostgreSQL client tools (Debian/Ubuntu: apt install "
            f"postgresql-client; the same major version as the server or newer)."
        )
        raise UsageProblem(msg)
    return path


def _libpq_url(database: Any) -> str:
    # lazy: `manyi --help` loads no SQLAlchemy
    from sqlalchemy.engine import make_url

    url = make_url(database.url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _run(cmd: list[str], what: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip().splitlines()
        msg = f"{what} failed: {reason[-1] if reason else f'exit status {done.returncode}'}"
        raise UsageProblem(msg)


def _sqlite_file_revision(path: Path) -> str | None:
    # lazy: only restore reads a backup's schema version
    from surveyapp import db as dbm

    backup = dbm.Database(f"sqlite:///{path}")
    try:
        return dbm.current_revision(backup)
    finally:
        backup.dispose()


def _check_backup_revision(revision: str | None, file: Path) -> None:
    # lazy: `manyi --help` loads no Alembic
    from alembic.script import ScriptDirectory

    from surveyapp import db as dbm  # lazy: as above

    if revision is None:
        msg = f"{file.name} is not a manyi backup (it has no schema version)."
        raise UsageProblem(msg)
    scripts = ScriptDirectory.from_config(dbm.alembic_config("sqlite://"))
    if scripts.get_revision(revision) is None:
        msg = (
            f"{file.name} is a backup of schema {revision}, which this version of manyi "
            "does not know; restore it with the version that made it."
        )
        raise UsageProblem(msg)


@db_group.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_cmd(file: Path) -> None:
    """Copy the whole database into FILE, while the app keeps running."""
    with _configured() as (app, database):
        _check_schema(app)
        _backup(database, file)


@contextmanager
def _configured() -> Iterator[tuple[Any, Any]]:
    """The configured app and its database, whose connections are closed at the end."""
    app = _app()
    database = app.extensions["manyi_db"]
    try:
        yield app, database
    finally:
        database.dispose()


def _backup(database: Any, file: Path) -> None:
    target = file.resolve()
    if not target.parent.is_dir():
        msg = f"the folder of {file} does not exist; create it first."
        raise UsageProblem(msg)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        if database.is_sqlite:
            _sqlite_backup(database, tmp)
        else:
            pg_dump = _pg_tool("pg_dump")
            cmd = [pg_dump, "--format=custom", "--no-owner", "--file", str(tmp)]
            _run([*cmd, _libpq_url(database)], "pg_dump")
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    size = target.stat().st_size
    click.echo(f"backed up {safe_url(database.url)} to {file} ({size:,} bytes)")


def _sqlite_backup(database: Any, tmp: Path) -> None:
    # lazy: only the SQLite backup needs the driver module
    import sqlite3

    with database.engine.connect() as conn:
        source = conn.connection.driver_connection
        dest = sqlite3.connect(tmp)
        try:
            # one step, in one read snapshot: writers go on (WAL), and a copy made in
            # several steps would start over after each of their commits
            source.backup(dest, pages=-1)
        finally:
            dest.close()


@db_group.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database.")
def restore_cmd(file: Path, yes: bool) -> None:
    """Replace the whole database by the backup FILE (from `manyi db backup`)."""
    with _configured() as (_, database):
        _restore(database, file, yes)


def _restore(database: Any, file: Path, yes: bool) -> None:
    # lazy: `manyi --help` loads no app
    from surveyapp import db as dbm

    shown = safe_url(database.url)
    if database.is_sqlite:
        _check_backup_revision(_sqlite_backup_revision(file), file)
    elif not file.read_bytes()[:5] == b"PGDMP":
        msg = f"{file.name} is not a pg_dump backup in the custom format (from manyi db backup)."
        raise UsageProblem(msg)
    if not yes:
        click.confirm(f"Replace every row of {shown} by {file.name}?", abort=True)
    if database.is_sqlite:
        _sqlite_restore(database, file)
    else:
        pg_restore = _pg_tool("pg_restore")
        cmd = [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction"]
        _run([*cmd, "--dbname", _libpq_url(database), str(file)], "pg_restore")
    database.dispose()
    click.echo(f"restored {shown} from {file} (schema {dbm.current_revision(database)})")
    if dbm.current_revision(database) != dbm.head_revision():
        click.echo("the backup's schema is older; run `manyi db upgrade` next")


def _sqlite_backup_revision(file: Path) -> str | None:
    with file.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            msg = f"{file.name} is not a SQLite database (a backup from manyi db backup)."
            raise UsageProblem(msg)
    try:
        return _sqlite_file_revision(file)
    except Exception as exc:  # noqa: BLE001 - any failure to read it means "not a backup"
        msg = f"{file.name} cannot be read as a manyi backup ({type(exc).__name__})."
        raise UsageProblem(msg) from None


def _sqlite_restore(database: Any, file: Path) -> None:
    # lazy: only the SQLite restore needs the driver module
    import sqlite3

    source = sqlite3.connect(f"file:{file}?mode=ro", uri=True)
    try:
        with database.engine.connect() as conn:
            source.backup(conn.connection.driver_connection)
    finally:
        source.close()


COMMANDS: list[Any] = []  # the commands join `manyi db` (surveyapp.cli.web)
