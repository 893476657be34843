"""The task queue with a real consumer: ``manyi worker`` in a subprocess, against the
test's instance folder (its SQLite database and its SQLite queue), and once on Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask

import questionnaires as qn
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.reports import runs, views
from surveyapp.services import exports
from surveyapp.tasks import Queue, make_huey
from tests.surveyapp.conftest import make_app
from tests.surveyapp.reports_helpers import store
from tests.surveyapp.research_helpers import add_user, login

REDIS_URL = "redis://127.0.0.1:6379/11"  # a database of its own; only its queue is flushed
WEB = {"QUEUE_IMMEDIATE": False, "REPORT_RUN_STALE_S": 3.0}


def _web(tmp_path: Path, **extra: Any) -> Flask:
    """A web app on the test's instance folder whose runs go to the real queue (the
    database migrated by Alembic, as ``manyi worker`` checks)."""
    web = make_app({"DATABASE": tmp_path / "t.sqlite"}, CREATE_TABLES=False, **{**WEB, **extra})
    dbm.upgrade(web.extensions["manyi_db"])
    return web


@pytest.fixture
def app(tmp_path: Path) -> Flask:
    return _web(tmp_path)


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start ``manyi worker`` processes on the test's instance folder (stopped after)."""
    started: list[subprocess.Popen[bytes]] = []

    def start(**env: str) -> subprocess.Popen[bytes]:
        environ = {
            **os.environ,
            "MANYI_INSTANCE": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 't.sqlite'}",
            "MANYI_REPORT_RUN_STALE_S": "3",
            **env,
        }
        with (tmp_path / f"worker-{len(started)}.log").open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-c", "from surveyapp.cli import main; main()", "worker"],
                env=environ,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def _acsi(app: Flask, n: int) -> tuple[m.Survey, Any]:
    sid = store(app, qn.builtin("acsi"), "acsi", n, 4, wave="2026-Q1")
    with app.extensions["manyi_db"].sessions() as s:
        sv = s.get(m.Survey, sid)
        sv.questionnaire()
        return sv, exports.responses_frame(s, [sid])


def _queue_run(app: Flask, sv: m.Survey, frame: Any, bootstrap: int, budget: float = 600) -> int:
    """A long run queued as the run form does (beyond the form's limit where a test needs
    a run that lasts)."""
    queue = app.extensions["manyi_queue"]
    with app.app_context():
        run, created = runs.get_or_start(
            app.extensions["manyi_db"],
            survey=sv,
            frame=frame,
            method="csi",
            params={"bootstrap": bootstrap, "seed": 1},
            user_id=None,
            enqueue=lambda run_id: queue.scoring_run(run_id, budget),
        )
    assert created
    return run.id


def _row(app: Flask, run_id: int) -> m.ScoringRun:
    with app.extensions["manyi_db"].sessions() as s:
        row = s.get(m.ScoringRun, run_id)
        assert row is not None
        return row


def _until(app: Flask, run_id: int, ok: Callable[[m.ScoringRun], bool]) -> m.ScoringRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = _row(app, run_id)
        if ok(row):
            return row
        time.sleep(0.05)
    pytest.fail(f"run {run_id} never reached the expected state: {row.status} {row.progress}")


def test_a_run_queued_from_the_web_is_done_by_a_worker_started_later(
    app, tmp_path, users, worker
) -> None:
    sv, frame = _acsi(app, 1000)
    c = app.test_client()
    assert login(c, users["researcher"]).status_code == 303
    r = c.post(
        f"/research/reports/surveys/{sv.id}/runs",
        data={"method": "csi", "csi-bootstrap": "5000", "csi-seed": "3"},
    )
    assert r.status_code == 303
    run_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert _row(app, run_id).status == "queued"  # no worker is up
    # the web process restarts: a new app on the same instance folder still sees it
    web = _web(tmp_path)
    c = web.test_client()
    assert login(c, users["viewer"]).status_code == 303
    page = c.get(f"/research/reports/runs/{run_id}").get_data(as_text=True)
    assert "manyi worker" in page  # the queued run says what it waits for
    worker()
    seen = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = c.get(f"/research/reports/runs/{run_id}.json").get_json()
        seen.append((got["status"], got["progress"]))
        if got["status"] in ("done", "failed"):
            break
        time.sleep(0.05)
    assert got["status"] == "done", got["error"]
    running = [p for st, p in seen if st == "running"]
    assert running == sorted(running)
    assert any(0 < p < 1 for p in running), seen
    row = _row(web, run_id)
    assert row.progress == 1.0
    progress_calls = []
    in_process = runs.compute(
        sv.questionnaire(),
        frame,
        "csi",
        {"bootstrap": 5000, "seed": 3, "progress": lambda d, t: progress_calls.append(d)},
    )
    assert row.result == runs.compact(in_process)
    assert len(progress_calls) == 100


def test_cancel_from_the_run_page_stops_the_task(app, users, worker, client_as) -> None:
    sv, frame = _acsi(app, 300)
    worker()
    run_id = _queue_run(app, sv, frame, bootstrap=200_000)
    _until(app, run_id, lambda row: row.status == "running" and row.progress > 0)
    url = f"/research/reports/runs/{run_id}/cancel"
    assert client_as("viewer").post(url).status_code == 403
    researcher = client_as("researcher")
    r = researcher.post(url)
    assert r.status_code == 303
    assert r.headers["Location"].endswith(f"/runs/{run_id}")
    row = _row(app, run_id)
    assert (row.status, row.error) == ("failed", "cancelled by researcher@example.org")
    # the task stops at its next progress call and drops its heartbeat
    queue = app.extensions["manyi_queue"]
    deadline = time.monotonic() + 60
    while queue.last_beat(run_id) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert queue.last_beat(run_id) is None
    stopped = _row(app, run_id)
    assert (stopped.status, stopped.error, stopped.result) == (row.status, row.error, None)
    assert stopped.progress < 0.5
    page = researcher.get(f"/research/reports/runs/{run_id}").get_data(as_text=True)
    assert "运行已取消。" in page  # the flash of the POST (zh-Hans, the default)
    assert "cancelled by researcher@example.org" in page


def test_the_time_budget_stops_a_run_in_the_worker(app, worker) -> None:
    sv, frame = _acsi(app, 300)
    worker()
    run_id = _queue_run(app, sv, frame, bootstrap=200_000, budget=1.0)
    row = _until(app, run_id, lambda row: row.status != "queued" and row.status != "running")
    assert row.status == "failed"
    assert "time budget of 1 s" in row.error
    assert row.result is None


def test_a_killed_worker_leaves_a_failed_run_not_a_running_one(
    app, tmp_path, worker, client_as
) -> None:
    sv, frame = _acsi(app, 300)
    first = worker()
    run_id = _queue_run(app, sv, frame, bootstrap=200_000)
    _until(app, run_id, lambda row: row.status == "running" and row.progress > 0)
    first.send_signal(signal.SIGKILL)
    first.wait(20)
    c = client_as("viewer")
    # documented outcome: once the heartbeat is older than REPORT_RUN_STALE_S (3 s here),
    # the next page view (or a worker's start) marks the run failed; it is not re-run
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = c.get(f"/research/reports/runs/{run_id}.json").get_json()
        if got["status"] != "running":
            break
        time.sleep(0.2)
    assert got["status"] == "failed"
    assert "no sign of life for 3 s" in got["error"]
    worker()  # a new worker does not pick it up again
    later = _queue_run(app, sv, frame, bootstrap=50)
    assert _until(app, later, lambda row: row.status == "done").status == "done"
    assert _row(app, run_id).status == "failed"


def test_the_redis_queue(tmp_path, worker) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    web = _web(tmp_path, QUEUE_URL=REDIS_URL)
    huey = web.extensions["manyi_queue"].huey
    assert type(huey).__name__ == "PriorityRedisHuey"
    huey.flush()
    try:
        sv, frame = _acsi(web, 300)
        run_id = _queue_run(web, sv, frame, bootstrap=300)
        assert _row(web, run_id).status == "queued"
        worker(MANYI_QUEUE_URL=REDIS_URL)
        row = _until(web, run_id, lambda row: row.status in ("done", "failed"))
        assert row.status == "done", row.error
        assert row.progress == 1.0
    finally:
        huey.flush()


def test_queue_url_must_be_redis(tmp_path) -> None:
    with pytest.raises(ValueError, match="QUEUE_URL must be a Redis URL"):
        make_huey({"QUEUE_URL": "amqp://x", "INSTANCE_PATH": str(tmp_path)})
    huey = make_huey({"INSTANCE_PATH": str(tmp_path), "QUEUE_IMMEDIATE": False})
    assert type(huey).__name__ == "SqliteHuey"
    assert huey.storage.filename == str(tmp_path / "queue.sqlite")


def test_the_redis_report_cache(tmp_path) -> None:
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip("Redis at 127.0.0.1:6379 is unreachable")
    prefix = f"manyi-test-{os.getpid()}-{time.monotonic_ns()}:"
    web = _web(
        tmp_path, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=prefix
    )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        sv, frame = _acsi(web, 60)
        built: list[int] = []

        def make() -> dict[str, Any]:
            built.append(1)
            return {"n": len(frame)}

        inputs: dict[str, Any] = {"section": "full", "surveys": [sv], "params": {"x": 1}}
        versions = {sv.id: exports.DataVersion(60, 0, 1830, 60, None)}
        with web.app_context():
            for _ in range(2):
                got = runs.cached_report(views.cache, versions=versions, build=make, **inputs)
                assert got == {"n": 60}
            # other data: another key, built again
            fewer = {sv.id: exports.DataVersion(59, 0, 1770, 59, None)}
            runs.cached_report(views.cache, versions=fewer, build=make, **inputs)
        assert len(built) == 2
        assert len(client.keys(f"{prefix}report:full:*")) == 2
    finally:
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)


def test_a_report_cache_that_is_down_builds_the_page(tmp_path) -> None:
    """A Redis restart under the report cache: the dashboard is built (and not kept), never
    a 500. The cache's Redis is a socket that does not exist: every call fails to connect."""
    web = _web(
        tmp_path, CACHE_TYPE="RedisCache", CACHE_REDIS_URL=f"unix://{tmp_path}/no-redis.sock"
    )
    web.testing = False  # the error handlers, not the test client's exceptions
    sv, _frame = _acsi(web, 60)
    add_user(web, "viewer@example.org", "viewer")
    c = web.test_client()
    assert login(c, "viewer@example.org").status_code == 303
    for _ in range(2):
        r = c.get(f"/research/reports/surveys/{sv.id}")
        assert r.status_code == 200, r.text[:300]
    with web.app_context():
        with pytest.raises(redis.ConnectionError):
            views.cache.get("report:any")  # the store is really down


def test_the_pdf_is_rendered_by_the_worker(app, worker, client_as) -> None:
    sv, _frame = _acsi(app, 120)
    c = client_as("viewer")
    r = c.get(f"/research/reports/surveys/{sv.id}/report.pdf?lang=en")
    assert r.status_code == 202  # no worker yet: a page that waits for the job
    page = r.get_data(as_text=True)
    assert "manyi worker" in page
    status_url = page.split('data-pdf-job="', 1)[1].split('"', 1)[0]
    pdf_url = page.split('data-pdf-url="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert c.get(status_url).get_json() == {"ready": False}
    worker()
    deadline = time.monotonic() + 120
    while not c.get(status_url).get_json()["ready"] and time.monotonic() < deadline:
        time.sleep(0.2)
    got = c.get(pdf_url)
    assert got.status_code == 200
    assert got.mimetype == "application/pdf"
    assert got.data.startswith(b"%PDF")
    assert c.get(pdf_url).status_code == 202  # a job is fetched once
    with app.extensions["manyi_db"].sessions() as s:
        logged = s.query(m.AuditLog).filter_by(action="exported").all()
        assert [a.detail["report"] for a in logged] == ["pdf"]


def test_the_pdf_in_immediate_mode_is_one_redirect_away(tmp_path) -> None:
    web = make_app({"DATABASE": tmp_path / "i.sqlite"})  # the tests' default: immediate
    sv, _frame = _acsi(web, 120)
    add_user(web, "v@example.org", "viewer")
    c = web.test_client()
    assert login(c, "v@example.org").status_code == 303
    r = c.get(f"/research/reports/surveys/{sv.id}/report.pdf")
    assert r.status_code == 303
    assert "job=" in r.headers["Location"]
    got = c.get(r.headers["Location"])
    assert got.status_code == 200
    assert got.data.startswith(b"%PDF")


def test_a_heartbeat_while_the_queue_store_is_down_is_skipped(tmp_path, caplog):
    # a Redis restart must not fail a running bootstrap run (found by bench/scale): the
    # heartbeat is skipped; only one missing for REPORT_RUN_STALE_S marks the run failed
    huey = make_huey({"QUEUE_URL": "redis://127.0.0.1:5899/0", "INSTANCE_PATH": str(tmp_path)})
    queue = Queue(
        huey=huey, scoring_run=None, report_pdf=None, purge_contacts=None, send_messages=None
    )
    queue.beat(7)
    queue.forget(7)
    assert "heartbeat of run 7 skipped" in caplog.text
    assert "heartbeat of run 7 not dropped" in caplog.text
