"""A respondent's first page: its weight, and its server time under 16 concurrent clients
on the configuration it is meant for (gunicorn as deployed).

``python bench/bench_respondent_page.py [--seconds 3] [--rounds 4] [--clients 16]
[--workers N] [--port 5120] [--ratelimit-storage redis://127.0.0.1:6379/2]
[--database-url postgresql://...] [--profile]``

The demo survey (the built-in SERVQUAL instrument, ``/s/demo``) is served by gunicorn with
the deploy configuration (``deploy/gunicorn.conf.py``: sync workers, 2 per core unless
``--workers``; each worker builds its own app), SQLite in a temporary instance folder
unless ``--database-url``; rate limits on, counted in ``--ratelimit-storage`` (the
deployment's Redis, or ``memory://``), with budgets far above the load so no request is
refused.

- **Weight**: the first page's HTML plus its CSS and JavaScript, each compressed with gzip
  level 6 (what a compressing proxy such as nginx sends by default). Goal: <= 60 kB.
- **Server time**: the time gunicorn's worker spends on each request, from the parsed
  request to the last byte written, as its access log reports it (the ``%(D)s`` atom,
  microseconds; ``access_log_format`` is set on the command line, which overrides the
  configuration file). It is the app's own time at the WSGI boundary, without the
  clients' queueing for a free worker.
- **End to end**: ``--clients`` threads each GET the page in a loop, with a fresh cookie
  jar per request (a new respondent every time: the page creates a response id and sets
  the resume cookie), from sending the request to the last byte.
- **Baseline**: ``/healthz`` (a database round trip and a tiny JSON body) under the same
  load, interleaved round by round (each round's requests carry ``?round=N``, so the log
  lines are told apart); printed are the medians and the median of the per-round ratios.
- The 1-, 5- and 15-minute load averages before and after (the machine is shared).

Goal (issue 15): first page server time median <= 30 ms at 16 clients.

``--profile`` runs one first-page request in this process under cProfile (after one
warm-up request) and prints the 25 largest cumulative costs.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import http.client
import os
import pstats
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HOST = "127.0.0.1"
PAGE, BASE = "/s/demo", "/healthz"
LOG_FORMAT = "%(U)s %(q)s %(s)s %(D)s"  # path, query, status, microseconds


def _environment(instance: Path, args: argparse.Namespace) -> dict[str, str]:
    env = {
        **os.environ,
        "MANYI_INSTANCE": str(instance),
        "SECRET_KEY": "bench",
        "MANYI_RATELIMIT_STORAGE_URI": args.ratelimit_storage,
        "MANYI_SUBMIT_RATE_LIMIT": "1000000/minute",
        "MANYI_BIND": f"{HOST}:{args.port}",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    else:
        env.pop("DATABASE_URL", None)
    return env


def _prepare(env: dict[str, str]) -> None:
    """Migrate the database and add the demo survey (in this process, then released)."""
    code = (
        "import questionnaires as qn\n"
        "from surveyapp import create_app, db as dbm\n"
        "from surveyapp.services.surveys import create_survey, by_slug\n"
        "app = create_app(); database = app.extensions['manyi_db']; dbm.upgrade(database)\n"
        "with database.write() as s:\n"
        "    if by_slug(s, 'demo') is None:\n"
        "        create_survey(s, qn.builtin('servqual22'), slug='demo', access='anonymous')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=ROOT)


def _gunicorn(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    gunicorn = shutil.which("gunicorn") or "gunicorn"
    command = [
        gunicorn,
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--access-logfile",
        str(log),
        "--access-logformat",
        LOG_FORMAT,
        "surveyapp:create_app()",
    ]
    return subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True)


def _get(port: int, path: str) -> tuple[int, bytes, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    conn.request("GET", path, headers={"Accept-Language": "zh-CN"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, time.perf_counter() - start


def _wait_until_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if _get(port, BASE)[0] == 200:
                return
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            msg = f"gunicorn did not answer on port {port} (exit {proc.poll()})"
            raise SystemExit(msg)
        time.sleep(0.3)


def weight(port: int) -> dict[str, int]:
    status, html, _ = _get(port, PAGE)
    assert status == 200, status
    out = {"html": len(gzip.compress(html, 6))}
    for asset in ("/static/css/manyi.css", "/static/js/survey.js"):
        _, body, _ = _get(port, asset)
        out[asset.rsplit("/", 1)[1]] = len(gzip.compress(body, 6))
    return out


def load(port: int, path: str, clients: int, seconds: float) -> list[float]:
    """End-to-end seconds of each GET of ``path`` by ``clients`` threads for ``seconds``."""
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < stop:
            status, _, took = _get(port, path)
            assert status == 200, (path, status)
            with lock:
                times.append(took)

    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    return times


def server_times(log: Path) -> dict[tuple[str, str], list[float]]:
    """(path, query) -> the seconds gunicorn's access log reports for each request."""
    out: dict[tuple[str, str], list[float]] = defaultdict(list)
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[2] == "200":
            out[(parts[0], parts[1])].append(int(parts[3]) / 1e6)
    return out


def profile_one(env: dict[str, str]) -> None:
    """One first-page request in this process under cProfile (the same database)."""
    own = ("MANYI_", "SECRET_KEY", "DATABASE_URL")
    os.environ.update({k: v for k, v in env.items() if k.startswith(own)})
    if "DATABASE_URL" not in env:  # the temporary SQLite instance, as the server had it
        os.environ.pop("DATABASE_URL", None)
    from surveyapp import create_app

    client = create_app().test_client()
    client.get(PAGE, headers={"Accept-Language": "zh-CN"})  # warm-up: caches, imports
    client.delete_cookie("manyi_resume")
    profiler = cProfile.Profile()
    profiler.enable()
    r = client.get(PAGE, headers={"Accept-Language": "zh-CN"})
    profiler.disable()
    assert r.status_code == 200, r.status_code
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(25)
    stats.sort_stats("tottime").print_stats(15)


def _ms(x: float) -> str:
    return f"{x * 1000:.1f} ms"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=None, help="default: the deploy config's")
    ap.add_argument("--port", type=int, default=5120)
    ap.add_argument("--ratelimit-storage", default="memory://")
    ap.add_argument("--database-url", default=None)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        env = _environment(Path(tmp), args)
        _prepare(env)
        if args.profile:
            profile_one(env)
            return 0
        log = Path(tmp) / "access.log"
        proc = _gunicorn(env, log)
        try:
            _wait_until_up(args.port, proc)
            sizes = weight(args.port)
            total = sum(sizes.values())
            print(f"first page, gzip: {sizes} = {total / 1000:.1f} kB (goal <= 60 kB)")
            one = {p: load(args.port, f"{p}?round=single", 1, 1.0) for p in (PAGE, BASE)}
            load(args.port, f"{PAGE}?round=warm", args.clients, 0.5)  # warm-up, not timed
            e2e: dict[str, list[float]] = {PAGE: [], BASE: []}
            for r in range(args.rounds):
                order = (BASE, PAGE) if r % 2 == 0 else (PAGE, BASE)
                for p in order:
                    e2e[p] += load(args.port, f"{p}?round={r}", args.clients, args.seconds)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        logged = server_times(log)
    after = os.getloadavg()
    ratios = []
    for r in range(args.rounds):
        page = statistics.median(logged[(PAGE, f"round={r}")])
        base = statistics.median(logged[(BASE, f"round={r}")])
        ratios.append(page / base)
        print(f"round {r + 1}: server time median page {_ms(page)}, /healthz {_ms(base)}")
    server = {p: [t for r in range(args.rounds) for t in logged[(p, f"round={r}")]] for p in e2e}
    single = {p: statistics.median(logged[(p, "round=single")]) for p in e2e}
    print(f"load average before {before[0]:.1f} {before[1]:.1f} {before[2]:.1f}, "
          f"after {after[0]:.1f} {after[1]:.1f} {after[2]:.1f}")  # fmt: skip
    print(f"1 client: server time page {_ms(single[PAGE])}, /healthz {_ms(single[BASE])}; "
          f"end to end page {_ms(statistics.median(one[PAGE]))}, "
          f"/healthz {_ms(statistics.median(one[BASE]))}")  # fmt: skip
    for p in (PAGE, BASE):
        s, e = server[p], e2e[p]
        print(
            f"{p} at {args.clients} clients: server time median {_ms(statistics.median(s))} "
            f"(p90 {_ms(statistics.quantiles(s, n=10)[-1])}, n={len(s)}); end to end median "
            f"{_ms(statistics.median(e))} (p90 {_ms(statistics.quantiles(e, n=10)[-1])})"
        )
    print(f"page / healthz server time, median of per-round ratios: {statistics.median(ratios):.2f}"
          " (goal: page server time median <= 30 ms)")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
