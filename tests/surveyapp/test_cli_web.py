"""``manyi db upgrade``, ``manyi demo`` and ``manyi serve``."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from surveyapp import create_app
from surveyapp import models as m
from surveyapp.cli import main
from surveyapp.db import head_revision
from surveyapp.forms import column_checks


@pytest.fixture
def instance(tmp_path, monkeypatch):
    folder = tmp_path / "instance"
    monkeypatch.setenv("MANYI_INSTANCE", str(folder))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    return folder


def test_db_upgrade_creates_the_schema(instance):
    runner = CliRunner()
    res = runner.invoke(main, ["db", "current"])
    assert res.exit_code == 0, res.output
    assert res.output.startswith("(empty)")
    res = runner.invoke(main, ["db", "upgrade"])
    assert res.exit_code == 0, res.output
    head = head_revision()
    assert head is not None
    assert f"at schema {head}" in res.output
    assert (instance / "manyi.sqlite").is_file()
    assert (instance / "secret_key").is_file()
    assert runner.invoke(main, ["db", "current"]).output.startswith(head)


def test_db_upgrade_names_an_unreachable_server(instance, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u:pw@127.0.0.1:1/none")
    res = CliRunner().invoke(main, ["db", "upgrade"])
    assert res.exit_code == 2
    assert "cannot migrate the database postgresql+psycopg://u:***@127.0.0.1:1/none" in res.output
    assert "Traceback" not in res.output


def test_serve_refuses_an_unmigrated_database(instance):
    res = CliRunner().invoke(main, ["serve", "--port", "5999"])
    assert res.exit_code == 2
    assert "run `manyi db upgrade` first" in res.output


def test_demo_is_idempotent_and_stores_valid_responses(instance):
    runner = CliRunner()
    res = runner.invoke(main, ["demo", "--no-serve", "--responses", "40", "--port", "5077"])
    assert res.exit_code == 0, res.output
    assert "created with 40 responses" in res.output
    assert "http://127.0.0.1:5077/s/servqual-demo" in res.output
    res = runner.invoke(main, ["demo", "--no-serve", "--responses", "40"])
    assert "already there, with 40 responses" in res.output
    app = create_app()
    with app.extensions["manyi_db"].sessions() as s:
        survey = s.scalar(select(m.Survey).where(m.Survey.slug == "servqual-demo"))
        q = survey.questionnaire()
        assert q.id == "servqual22"
        responses = s.scalars(select(m.Response).where(m.Response.survey_id == survey.id)).all()
        assert len(responses) == 40
        surveys = s.scalars(select(m.Survey)).all()
        assert {x.audience for x in surveys} == {"customer", "manager", "staff", "audit"}
        waves = {x.wave for x in surveys if x.audience == "customer"}
        assert waves == {"2026-Q1", "2026-Q2"}
        checks = column_checks(q)
        for r in responses:
            values = r.values()
            assert all(checks[c](v) for c, v in values.items())
            assert sum(values[c] for c in q.item("imp").columns()) == 100
    assert app.test_client().get("/s/servqual-demo").status_code == 200
    password = re.search(r"password (\S+)", res.output)
    assert password is not None
    client = app.test_client()
    page = client.get("/research/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    login = client.post(
        "/research/login",
        data={
            "email": "demo@manyi.local",
            "password": password.group(1),
            "csrf_token": token.group(1),
        },
    )
    assert login.status_code in (302, 303), login.get_data(as_text=True)[:500]
    assert client.get("/research/").status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_runs_gunicorn_and_answers(instance, tmp_path):
    env = {**os.environ, "MANYI_INSTANCE": str(instance)}
    manyi = shutil.which("manyi") or sys.executable
    cmd = [manyi] if manyi != sys.executable else [sys.executable, "-m", "surveyapp.cli"]
    subprocess.run([*cmd, "demo", "--no-serve", "--responses", "5"], env=env, check=True)
    port = _free_port()
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port), "--threads", "4"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/servqual-demo") as r:
                    html = r.read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        assert 'name="response_id"' in html
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
    assert "Booting worker" in out


@pytest.mark.slow
def test_demo_starts_a_worker_and_stops_it_on_exit(instance):
    env = {**os.environ, "MANYI_INSTANCE": str(instance)}
    port = 5401  # this suite's port for a served demo
    proc = subprocess.Popen(
        [sys.executable, "-c", "from surveyapp.cli import main; main()", "demo"]
        + ["--responses", "5", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/s/servqual-demo") as r:
                    assert r.status == 200
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        children = subprocess.run(
            ["ps", "-ww", "-o", "pid=,args=", "--ppid", str(proc.pid)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.splitlines()
        workers = [int(line.split()[0]) for line in children if line.rstrip().endswith("worker")]
        assert len(workers) == 1, children
        proc.send_signal(signal.SIGTERM)  # the demo only: it must stop its worker itself
        out, _ = proc.communicate(timeout=60)
        assert "worker started" in out.decode()
        with pytest.raises(ProcessLookupError):
            os.kill(workers[0], 0)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.communicate(timeout=30)
