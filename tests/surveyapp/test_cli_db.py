"""``manyi db backup`` / ``manyi db restore`` (issue 22, item 11): a round trip while
responses are being written, on SQLite and on PostgreSQL."""

from __future__ import annotations

import shutil
import threading
import time
import uuid

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, func, select, text

from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.services.surveys import create_survey
from tests.surveyapp.research_helpers import migrated_database


def _invoke(*args, input=None):
    return CliRunner().invoke(main, ["db", *args], input=input)


class Writer:
    """Stores complete responses with their answers, one transaction each, until stopped."""

    def __init__(self, database: dbm.Database, survey_id: int) -> None:
        self.database = database
        self.survey_id = survey_id
        self.stop = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            with self.database.write() as s:
                resp = m.Response(
                    response_id=str(uuid.uuid4()),
                    survey_id=self.survey_id,
                    status="complete",
                    language="en",
                    submitted_at=m.utcnow(),
                )
                s.add(resp)
                s.flush()
                s.add_all(
                    [
                        m.Answer(response_pk=resp.id, column="sat", num=4.0),
                        m.Answer(response_pk=resp.id, column="comment", text="ok"),
                    ]
                )
            self.written += 1

    def __enter__(self) -> Writer:
        self.thread.start()
        while self.written < 20:
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


def _counts(database: dbm.Database) -> tuple[int, int]:
    with database.sessions() as s:
        responses = s.scalar(select(func.count()).select_from(m.Response)) or 0
        answers = s.scalar(select(func.count()).select_from(m.Answer)) or 0
    return responses, answers


def _survey(database: dbm.Database, minimal) -> int:
    with database.write() as s:
        return create_survey(s, minimal, slug="backup").id


def test_sqlite_round_trip_under_write_load(tmp_path, monkeypatch, minimal):
    _url, database = migrated_database(tmp_path, monkeypatch)
    survey_id = _survey(database, minimal)
    backup = tmp_path / "copy.sqlite"
    with Writer(database, survey_id) as writer:
        r = _invoke("backup", str(backup))
        during = writer.written
    assert r.exit_code == 0, r.output
    assert "backed up" in r.output
    assert not list(tmp_path.glob(".copy.sqlite.*"))  # no temporary file left
    total, _answers = _counts(database)
    assert total > during > 20  # the writes went on during the backup
    # the copy is one consistent moment: every response has both its answers
    copy = dbm.Database(f"sqlite:///{backup}")
    saved, saved_answers = _counts(copy)
    assert dbm.current_revision(copy) == dbm.head_revision()
    copy.dispose()
    assert 20 <= saved <= total
    assert saved_answers == 2 * saved
    # restore: the database is the copy again
    assert _invoke("restore", str(backup), input="n\n").exit_code == 1  # asked, declined
    r = _invoke("restore", str(backup), "--yes")
    assert r.exit_code == 0, r.output
    database.dispose()
    assert _counts(database) == (saved, saved_answers)
    database.dispose()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"hello", "is not a SQLite database"), (b"", "is not a SQLite database")],
)
def test_restore_refuses_what_is_not_a_backup(tmp_path, monkeypatch, content, message):
    _url, database = migrated_database(tmp_path, monkeypatch)
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(content)
    r = _invoke("restore", str(bad), "--yes")
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    database.dispose()


def test_restore_refuses_an_empty_sqlite_database(tmp_path, monkeypatch):
    _url, database = migrated_database(tmp_path, monkeypatch)
    empty = dbm.Database(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with empty.engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    empty.dispose()
    r = _invoke("restore", str(tmp_path / "empty.sqlite"), "--yes")
    assert r.exit_code == 2
    assert "is not a manyi backup" in r.output
    database.dispose()


def test_a_backup_into_a_missing_folder_is_refused(tmp_path, monkeypatch):
    _url, database = migrated_database(tmp_path, monkeypatch)
    r = _invoke("backup", str(tmp_path / "nope" / "x.sqlite"))
    assert r.exit_code == 2
    assert "does not exist" in r.output
    database.dispose()


@pytest.mark.postgres
def test_postgresql_round_trip_under_write_load(postgres_url, tmp_path, monkeypatch, minimal):
    if shutil.which("pg_dump") is None:
        pytest.skip("pg_dump is not installed")
    from tests.surveyapp.conftest import _truncate

    _truncate(postgres_url)
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("SECRET_KEY", "cli-test")
    database = dbm.Database(postgres_url)
    survey_id = _survey(database, minimal)
    backup = tmp_path / "copy.dump"
    with Writer(database, survey_id) as writer:
        r = _invoke("backup", str(backup))
        during = writer.written
    assert r.exit_code == 0, r.output
    total, _answers = _counts(database)
    assert total > during
    with database.write() as s:
        s.execute(text("DELETE FROM response"))  # lose everything
    r = _invoke("restore", str(backup), "--yes")
    assert r.exit_code == 0, r.output
    database.dispose()
    saved, saved_answers = _counts(database)
    assert 20 <= saved <= total
    assert saved_answers == 2 * saved
    engine = create_engine(postgres_url)
    engine.dispose()
    database.dispose()


def test_a_missing_pg_dump_is_named(tmp_path, monkeypatch, postgres_url):
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", postgres_url)
    monkeypatch.setenv("SECRET_KEY", "cli-test")
    monkeypatch.setenv("PATH", str(tmp_path))  # no PostgreSQL client tools here
    r = _invoke("backup", str(tmp_path / "x.dump"))
    assert r.exit_code == 2
    assert "pg_dump is not installed" in r.output
    assert "postgresql-client" in r.output
