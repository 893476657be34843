"""``manyi worker``: refuses what it cannot serve, marks stale runs failed on start."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from click.testing import CliRunner

from surveyapp import create_app
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.reports import runs

WORKER = [sys.executable, "-c", "from surveyapp.cli import main; main()", "worker"]


def test_worker_refuses_an_unmigrated_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    res = CliRunner().invoke(main, ["worker"])
    assert res.exit_code == 2
    assert f"no manyi database at {tmp_path / 'manyi.sqlite'}" in res.output
    assert "`manyi db upgrade`" in res.output


def test_worker_refuses_immediate_mode(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    monkeypatch.setenv("MANYI_QUEUE_IMMEDIATE", "yes")
    res = CliRunner().invoke(main, ["worker"])
    assert res.exit_code == 2
    assert "QUEUE_IMMEDIATE is on" in res.output
    monkeypatch.setenv("MANYI_QUEUE_IMMEDIATE", "maybe")
    res = CliRunner().invoke(main, ["worker"])
    assert res.exit_code == 2
    assert "MANYI_QUEUE_IMMEDIATE must be one of" in res.output


def test_worker_marks_runs_of_a_dead_worker_failed_when_it_starts(tmp_path, monkeypatch):
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    db = app.extensions["manyi_db"]
    dbm.upgrade(db)
    with db.write() as s:
        run = m.ScoringRun(
            method="csi",
            parameters={"bootstrap": 100},
            parameters_hash="p",
            snapshot_hash="s",
            data_hash="d",
            status="queued",
        )
        s.add(run)
    assert runs._mark_running(db, run.id)  # a worker took it, then died: no heartbeat
    proc = subprocess.Popen(
        WORKER,
        env={**os.environ, "MANYI_INSTANCE": str(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.strip() == f"marked 1 stale run(s) failed: {run.id}"
        assert "worker: 2 thread(s) on the SqliteHuey queue" in proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    with db.sessions() as s:
        row = s.get(m.ScoringRun, run.id)
        assert row.status == "failed"
        assert "the worker doing this run stopped" in row.error


def test_worker_runs_the_periodic_retention_purge(tmp_path, monkeypatch):
    """The worker's consumer schedules periodic tasks: without it the hourly purge of
    contact details past their study's retention period never ran."""
    from datetime import datetime  # only for this test

    from huey import Huey  # only for this test: to catch the consumer the worker makes

    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    made = {}

    class Consumer:
        def run(self) -> None:
            pass

    def create_consumer(self, **options):
        due = self.read_periodic(datetime(2026, 1, 1, 0, 7))  # the purge runs at minute 7
        made.update(options, periodic_tasks=[t.name for t in due])
        return Consumer()

    monkeypatch.setattr(Huey, "create_consumer", create_consumer)
    res = CliRunner().invoke(main, ["worker"])
    assert res.exit_code == 0, res.output
    assert made["periodic"] is True
    assert "purge_contacts" in made["periodic_tasks"]
