"""Sending invitations: 10,000 e-mails through ``manyi worker`` to a local SMTP server,
while respondents keep answering.

``python bench/bench_mail.py [--invitations 10000] [--seconds 8] [--clients 2]
[--ports 5250-5299]``

Set-up (SQLite, a temporary instance folder): one open survey (the one-page SERVQUAL of
``bench_submit.py``) with ``--invitations`` invitations that have an address; an aiosmtpd
server on loopback that accepts and counts every message (a sink); the web app under
gunicorn (2 sync workers, rate limits off); ``manyi worker`` (one thread) on the SQLite
queue in the instance folder; no sending rate limit (``MAIL_RATE_PER_MINUTE=0``).

Measured:

- **respondent latency**: ``--clients`` threads open the survey's first page
  (``GET /s/<slug>``) in a loop; p50 and p95 over ``--seconds`` *before* the send, then
  *during* it, then again *after* it (a second baseline: the machine is shared). The
  ratio is the p50 during the send over the mean of the p50 before and after.
  Goal (issue 16): at most 1.2.
- **worker throughput**: messages recorded as sent per second, from queuing the task to
  the last one recorded; the SMTP sink's count must equal it (nobody mailed twice).
- **worker peak memory**: VmHWM of the ``manyi worker`` process.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_submit  # noqa: E402 - the servers and the instrument of the submit benchmark

SLUG = "mailbench"


class Sink:
    """aiosmtpd handler: counts messages per recipient."""

    def __init__(self) -> None:
        self.count = 0
        self.recipients: dict[str, int] = {}
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.count += 1
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt] = self.recipients.get(rcpt, 0) + 1
        return "250 OK"


def _latencies(port: int, seconds: float, clients: int) -> list[float]:
    """Seconds per GET of the survey's first page, from ``clients`` threads."""
    out: list[float] = []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def loop() -> None:
        mine = []
        while time.monotonic() < stop:
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", f"/s/{SLUG}")
            r = conn.getresponse()
            r.read()
            conn.close()
            if r.status == 200:
                mine.append(time.perf_counter() - start)
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=loop) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def _vm_hwm_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
    return int(found.group(1)) / 1024 if found else float("nan")


def _sent(database: Any, survey_id: int) -> int:
    from sqlalchemy import func, select

    from surveyapp import models as m

    with database.sessions() as s:
        query = select(func.count()).where(
            m.Invitation.survey_id == survey_id, m.Invitation.mails_sent >= 1
        )
        return int(s.scalar(query) or 0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invitations", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--ports", type=bench_submit.port_range, default=range(5250, 5300))
    args = parser.parse_args(argv)
    bench_submit.PORTS = args.ports

    from aiosmtpd.controller import Controller

    from surveyapp import db as dbm
    from surveyapp.services.invitations import create_invitations
    from surveyapp.services.surveys import create_survey

    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=bench_submit._free_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp)
        url = f"sqlite:///{instance / 'manyi.sqlite'}"
        env = {
            **bench_submit._server_env(url, instance),
            "MANYI_RATELIMIT_ENABLED": "false",
            "MANYI_MAIL_HOST": "127.0.0.1",
            "MANYI_MAIL_PORT": str(smtp.port),
            "MANYI_MAIL_SECURITY": "none",
            "MANYI_MAIL_RATE_PER_MINUTE": "0",
            "MANYI_QUEUE_IMMEDIATE": "false",
        }
        os.environ.update(env)
        from surveyapp import create_app

        app = create_app()
        database = app.extensions["manyi_db"]
        dbm.upgrade(database)
        with database.write() as s:
            survey = create_survey(s, bench_submit.one_page_servqual(), slug=SLUG)
            rows = [
                {"email": f"r{i}@example.cn", "branch": f"b{i % 20}"}
                for i in range(args.invitations)
            ]
            create_invitations(s, survey, rows)
            survey_id = survey.id
        web = bench_submit.start("manyi", "surveyapp:create_app()", env, 2)
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "manyi"), "worker", "--workers", "1"],
            env={**os.environ, **env},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _latencies(web.port, 3.0, args.clients)  # warm-up (and the worker starts)
            before = _latencies(web.port, args.seconds, args.clients)
            start = time.perf_counter()
            with app.app_context():
                app.extensions["manyi_queue"].send_messages(survey_id, "invitation", "http://x/")
            during: list[float] = []
            while _sent(database, survey_id) < args.invitations:
                if worker.poll() is not None:
                    print(f"manyi worker ended with exit code {worker.returncode}")
                    return 1
                during += _latencies(web.port, 1.0, args.clients)
                if time.perf_counter() - start > 600:
                    print("the send did not finish in 10 minutes")
                    return 1
            elapsed = time.perf_counter() - start
            peak = _vm_hwm_mib(worker.pid)
            after = _latencies(web.port, args.seconds, args.clients)
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=30)
            web.stop()
            smtp.stop()
        sent = _sent(database, survey_id)
        database.dispose()

    phases = {"before": before, "during": during, "after": after}
    p50 = {k: statistics.median(v) * 1000 for k, v in phases.items()}
    ratio = p50["during"] / ((p50["before"] + p50["after"]) / 2)
    twice = sum(1 for n in sink.recipients.values() if n > 1)
    print(
        f"invitations: {args.invitations}, recorded sent: {sent}, "
        f"SMTP received: {sink.count}, mailed twice: {twice}"
    )
    print(f"worker: {sent / elapsed:.0f} messages/s ({elapsed:.1f} s), peak RSS {peak:.0f} MiB")
    for k, values in phases.items():
        p95 = bench_submit._pct(values, 95)
        print(
            f"respondent GET /s/<slug> {k:>6}: p50 {p50[k]:.1f} ms, p95 {p95:.1f} ms "
            f"({len(values)} requests)"
        )
    print(f"p50 during / p50 before-and-after: {ratio:.2f} (goal <= 1.20)")
    return 0 if sent == sink.count == args.invitations and twice == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
