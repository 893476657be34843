"""Submission throughput: manyi under gunicorn against a bare Flask endpoint, side by side.

``python bench/bench_submit.py [--seconds 3] [--rounds 6] [--clients 16] [--workers 2]
[--no-postgres] [--no-sqlite]``

Both servers run under gunicorn with the same number of sync workers on loopback, and
take the same form: the whole SERVQUAL instrument (22 items rated as E and P, a 5-way
allocation, overall ratings, segments, a comment: 55 answer fields) on one page.

- **manyi**: ``surveyapp.create_app()`` with CSRF (each client fetches a page once for
  its cookie and token, and keeps any cookie a response sets, as a browser does), the
  rate limiter in the request path (with a limit too high to trigger), full server-side
  validation, and the page stored as one Response row plus one Answer row per value in
  one transaction, completed on submit.
- **baseline**: a bare Flask endpoint that stores the posted form as one JSON row with
  one INSERT (no validation, no CSRF).

The load generator is a thread pool of ``--clients`` keep-alive-free HTTP clients
(``http.client``). Both servers run at the same time (the idle one costs nothing) and
take the load in turn, in ``--rounds`` rounds of ``--seconds`` each, alternating the
order (baseline-manyi, manyi-baseline, ...) so that a shared, loaded machine slows both
alike; each slice starts with a 0.5 s warm-up that is not timed. The ratio is the
**median over the rounds** of manyi's throughput over the baseline's in the same round.
Every acknowledged submission (303 for manyi, 200 for the baseline) is counted and
compared with what the database holds afterwards: lost = acknowledged but not stored,
doubled = stored more than once. Printed: throughput (median over the rounds), p50/p99
latency over all rounds, the median ratio with its range, the peak RSS (VmHWM) of
the busiest worker process, and the CPU time per acknowledged submission of the server's
processes, the PostgreSQL server processes and the load generator (from /proc). Goal
(issue 14): manyi >= 40 % of the baseline's throughput on SQLite and >= 30 % on
PostgreSQL, zero lost or doubled. Runs on SQLite (WAL, in
a temporary instance folder) and, unless ``--no-postgres`` or unreachable, on PostgreSQL
(``--postgres URL``, a temporary database is created and dropped).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SLUG = "bench"
CPU_PARTS = ("server", "database", "client")


# -- the baseline server (imported by gunicorn from this file) --------------------------
def baseline_app() -> Any:
    """A bare Flask app: POST /submit stores the form as one JSON row in one INSERT."""
    from flask import Flask, request
    from sqlalchemy import text

    engine = _create_engine(os.environ["BENCH_URL"])
    app = Flask("baseline")

    @app.post("/submit")
    def submit() -> tuple[str, int]:
        form = request.form.to_dict()
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO baseline (response_id, data) VALUES (:r, :d)"),
                {"r": form.get("response_id", ""), "d": json.dumps(form)},
            )
        return "ok", 200

    return app


def _create_engine(url: str) -> Any:
    """An engine like the app's: SQLite in WAL with a busy timeout, or pooled PostgreSQL."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import NullPool

    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _rec: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    return engine


# -- the form -----------------------------------------------------------------------------
def one_page_servqual() -> Any:
    import questionnaires as qn

    data = qn.builtin("servqual22").to_dict()
    items = [i for p in data["pages"] for i in p["items"]]
    data["pages"] = [{"id": "all", "title": data["title"], "items": items}]
    return qn.from_dict(data, source="servqual22 (one page)")


def form_values(q: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, item in enumerate(q.items):
        if item.type == "rating":
            for j, col in enumerate(item.columns()):
                out[f"a-{col}"] = str(item.scale.min + (k + j) % item.scale.n_points)
        elif item.type == "allocation":
            n = len(item.choices)
            shares = [item.total // n] * n
            shares[0] += item.total - sum(shares)
            out.update({f"a-{c}": str(v) for c, v in zip(item.columns(), shares, strict=True)})
        elif item.type == "single_choice":
            out[f"a-{item.id}"] = item.choices[0].code
        elif item.type == "multiple_choice":
            out[f"a-{item.columns()[0]}"] = "y"
        elif item.type == "text":
            out[f"a-{item.id}"] = "服务很好，谢谢 / good service"
    return out


# -- servers ------------------------------------------------------------------------------
PORTS = range(5301, 5320)  # the loopback ports the servers may listen on (--ports)
PORTS_HELP = "FIRST-LAST: the loopback ports the servers may listen on (default 5301-5319)"


def port_range(text: str) -> range:
    """``"5301-5319"`` -> the range of those ports (``--ports``)."""
    first, _, last = text.partition("-")
    try:
        return range(int(first), int(last or first) + 1)
    except ValueError:
        msg = f"--ports takes FIRST-LAST, e.g. 5301-5319; got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None


def _free_port() -> int:
    """The first port of PORTS that nothing listens on (a server started before has its
    port bound by then: start() returns once it accepts connections)."""
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    msg = f"no free port in {PORTS.start}-{PORTS.stop - 1}; pass --ports FIRST-LAST"
    raise RuntimeError(msg)


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int

    def worker_peak_rss_mib(self) -> float:
        """Largest VmHWM among the gunicorn workers (children of the master)."""
        peaks = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            if re.search(rf"^PPid:\s+{self.proc.pid}$", text, re.M):
                found = re.search(r"^VmHWM:\s+(\d+) kB", text, re.M)
                if found:
                    peaks.append(int(found.group(1)) / 1024)
        return max(peaks, default=float("nan"))

    def stop(self) -> None:
        os.killpg(self.proc.pid, signal.SIGTERM)
        self.proc.wait(timeout=30)


def _cpu_seconds() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command line, user + system CPU seconds) of every process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out[int(proc.name)] = (int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / tick)
    return out


def cpu_split(server: Server, before: dict[int, Any], after: dict[int, Any]) -> dict[str, float]:
    """CPU seconds spent between two :func:`_cpu_seconds` snapshots by the server (its
    gunicorn master and workers), the PostgreSQL server processes, and this process
    (the load generator)."""
    split = dict.fromkeys(CPU_PARTS, 0.0)
    for pid, (ppid, cmdline, cpu) in after.items():
        spent = cpu - (before[pid][2] if pid in before else 0.0)
        if pid == server.proc.pid or ppid == server.proc.pid:
            split["server"] += spent
        elif cmdline.startswith("postgres"):
            split["database"] += spent
        elif pid == os.getpid():
            split["client"] += spent
    return split


def start(name: str, target: str, env: dict[str, str], workers: int) -> Server:
    port = _free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind",
        f"127.0.0.1:{port}", "--pythonpath", f"{ROOT / 'bench'},{ROOT}", "--log-level",
        "warning", target,
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, start_new_session=True)
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                msg = f"{name} server did not start"
                raise RuntimeError(msg) from None
            time.sleep(0.2)
    return Server(name, proc, port)


# -- load ---------------------------------------------------------------------------------
@dataclass
class Load:
    acked: list[str]
    latencies: list[float]
    errors: int
    seconds: float
    cpu: dict[str, float] | None = None  # CPU seconds by server, database and client


def _request(port: int, method: str, path: str, body: str = "", headers: Any = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, r.getheader("Set-Cookie"), data.decode("utf-8", "replace")
    finally:
        conn.close()


def _client_session(server: Server, manyi: bool) -> tuple[str, dict[str, str]]:
    if not manyi:
        return "/submit", {}
    status, cookie, html = _request(server.port, "GET", f"/s/{SLUG}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    if status != 200 or not token or not cookie:
        msg = f"could not open the survey page (status {status})"
        raise RuntimeError(msg)
    return f"/s/{SLUG}", {"csrf_token": token.group(1), "Cookie": cookie.split(";", 1)[0]}


def run_load(
    server: Server,
    form: dict[str, str],
    seconds: float,
    sessions: list[tuple[str, dict[str, str]]],
    warmup: float = 0.5,
) -> Load:
    """``len(sessions)`` clients posting ``form`` for ``warmup`` + ``seconds``."""
    manyi = server.name == "manyi"
    ok_status = 303 if manyi else 200
    acked: list[str] = []
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    clients = len(sessions)
    warmup_end = time.monotonic() + warmup
    end = warmup_end + seconds

    def client(k: int) -> None:
        nonlocal errors
        path, sess = sessions[k]
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if "Cookie" in sess:
            headers["Cookie"] = sess["Cookie"]
        while True:
            now = time.monotonic()
            if now >= end:
                return
            rid = str(uuid.uuid4())
            data = {**form, "response_id": rid, "page": "0", "action": "submit"}
            if "csrf_token" in sess:
                data["csrf_token"] = sess["csrf_token"]
            t0 = time.perf_counter()
            try:
                status, cookie, _b = _request(
                    server.port, "POST", path, urllib.parse.urlencode(data), headers
                )
            except OSError:
                status, cookie = -1, None
            if cookie:  # keep what the server set, as a browser does
                headers["Cookie"] = cookie.split(";", 1)[0]
            dt = time.perf_counter() - t0
            with lock:
                if status == ok_status:
                    acked.append(rid)  # stored even in warm-up: counted for loss
                    if now >= warmup_end:
                        latencies.append(dt)
                else:
                    errors += 1

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client, range(clients)))
    return Load(acked, latencies, errors, seconds)


def _pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))] * 1000 if s else float("nan")


# -- one backend -----------------------------------------------------------------------------
def _server_env(url: str, instance: Path) -> dict[str, str]:
    """Both apps' configuration: rate limit in the path but never reached, no too-fast flag."""
    return {
        "MANYI_INSTANCE": str(instance),
        "DATABASE_URL": url,
        "SECRET_KEY": "bench-secret",
        "MANYI_SUBMIT_RATE_LIMIT": "100000000/minute",
        "MANYI_MIN_SECONDS": "0",
        "BENCH_URL": url,
    }


def bench_backend(label: str, url: str, instance: Path, args: argparse.Namespace) -> list[str]:
    from sqlalchemy import text

    env, q, app = prepare(url, instance)
    database = app.extensions["manyi_db"]
    engine = _create_engine(url)
    form = form_values(q)
    rows = []
    targets = {"baseline": "bench_submit:baseline_app()", "manyi": "surveyapp:create_app()"}
    servers = {name: start(name, t, env, args.workers) for name, t in targets.items()}
    loads: dict[str, list[Load]] = {"baseline": [], "manyi": []}
    try:
        sessions = {
            name: [_client_session(srv, name == "manyi") for _ in range(args.clients)]
            for name, srv in servers.items()
        }
        for r in range(args.rounds):
            order = ("baseline", "manyi") if r % 2 == 0 else ("manyi", "baseline")
            for name in order:
                before = _cpu_seconds()
                load = run_load(servers[name], form, args.seconds, sessions[name])
                load.cpu = cpu_split(servers[name], before, _cpu_seconds())
                loads[name].append(load)
        rss = {name: srv.worker_peak_rss_mib() for name, srv in servers.items()}
    finally:
        for srv in servers.values():
            srv.stop()

    with engine.connect() as conn:
        stored = {
            "manyi": conn.execute(
                text("SELECT response_id FROM response WHERE status = 'complete'")
            )
            .scalars()
            .all(),
            "baseline": conn.execute(text("SELECT response_id FROM baseline")).scalars().all(),
        }
        n_answers = conn.execute(text("SELECT count(*) FROM answer")).scalar()
    engine.dispose()
    database.dispose()
    n_fields = len(q.columns(meta=False))
    per_round = {k: [len(ld.latencies) / ld.seconds for ld in v] for k, v in loads.items()}
    ratios = sorted(
        m / b for m, b in zip(per_round["manyi"], per_round["baseline"], strict=True) if b
    )
    for name in ("baseline", "manyi"):
        acked = [rid for ld in loads[name] for rid in ld.acked]
        latencies = [t for ld in loads[name] for t in ld.latencies]
        errors = sum(ld.errors for ld in loads[name])
        got = stored[name]
        lost = len(set(acked) - set(got))
        doubled = len(got) - len(set(got))
        cpu = {k: sum((ld.cpu or {}).get(k, 0.0) for ld in loads[name]) for k in CPU_PARTS}
        per_request = " + ".join(f"{1e3 * cpu[k] / max(len(acked), 1):.2f}" for k in CPU_PARTS)
        rows.append(
            f"| {label} | {name} | {statistics.median(per_round[name]):.0f}/s | "
            f"{_pct(latencies, 50):.1f} ms | {_pct(latencies, 99):.1f} ms | {len(acked)} | "
            f"{len(got)} | {lost} | {doubled} | {errors} | {rss[name]:.0f} MiB | "
            f"{per_request} ms |"
        )
    ratio = statistics.median(ratios) if ratios else float("nan")
    spread = f"{ratios[0]:.0%}–{ratios[-1]:.0%}" if ratios else ""
    rows.append(
        f"| {label} | **manyi / baseline** | **{ratio:.0%}** (rounds {spread}) | | | | | | | | | |"
    )
    expected_answers = len(stored["manyi"]) * n_fields
    if n_answers != expected_answers:
        rows.append(f"| {label} | answers stored {n_answers} != {expected_answers} expected |")
    return rows


def prepare(url: str, instance: Path) -> tuple[dict[str, str], Any, Any]:
    """The benchmark's database at ``url``: the schema by the migrations, the one-page
    survey and the baseline's table. The servers' environment is set in this process too.
    Returns (that environment, the questionnaire, the manyi app of this process)."""
    from sqlalchemy import text

    from surveyapp import create_app
    from surveyapp import db as dbm
    from surveyapp.services.surveys import create_survey

    q = one_page_servqual()
    env = _server_env(url, instance)
    os.environ.update(env)
    app = create_app()
    database = app.extensions["manyi_db"]
    dbm.upgrade(database)
    with database.write() as s:
        create_survey(s, q, slug=SLUG)
    with database.engine.begin() as conn:
        conn.execute(text("CREATE TABLE baseline (id INTEGER PRIMARY KEY, response_id "
                          "VARCHAR(36) NOT NULL, data TEXT NOT NULL)"))  # fmt: skip
        if not url.startswith("sqlite"):
            conn.execute(text("CREATE SEQUENCE baseline_seq OWNED BY baseline.id"))
            conn.execute(text("ALTER TABLE baseline ALTER id SET DEFAULT nextval('baseline_seq')"))
    return env, q, app


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    """The URL of a new database on the PostgreSQL server of ``admin_url``, dropped
    afterwards; None (reported) if the server is unreachable."""
    from sqlalchemy import create_engine, text

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"manyi_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report and go on without PostgreSQL
        print(f"PostgreSQL at {admin_url} unreachable ({type(exc).__name__}); skipped")
        admin.dispose()
        yield None
        return
    try:
        yield admin_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def in_process(label: str, url: str, instance: Path, pairs: int, profile: bool) -> str:
    """Server side alone: both apps' WSGI callables called in this process, alternating.

    Each call gets a prebuilt environ (a fresh response id for manyi, with its CSRF token
    and session cookie); the median per-submission time of each and the median of the
    paired ratios are returned. ``profile`` prints manyi's cProfile instead of timing
    (sorted by cumulative time, or by ``$BENCH_SORT``, e.g. ``tottime``).
    """
    from werkzeug.test import EnvironBuilder

    _env, q, app = prepare(url, instance)
    database = app.extensions["manyi_db"]
    base = baseline_app()
    client = app.test_client()
    html = client.get(f"/s/{SLUG}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    cookie = client.get_cookie("session")
    assert cookie is not None
    form = form_values(q)

    def environ(path: str, manyi: bool) -> dict[str, Any]:
        data = {**form, "response_id": str(uuid.uuid4()), "page": "0", "action": "submit"}
        headers: list[tuple[str, str]] = []
        if manyi:
            data["csrf_token"] = token.group(1)
            headers.append(("Cookie", f"session={cookie.value}"))
        return EnvironBuilder(
            path=path, method="POST", data=urllib.parse.urlencode(data), headers=headers,
            content_type="application/x-www-form-urlencoded",
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
        ).get_environ()  # fmt: skip

    def call(wsgi: Any, env: dict[str, Any], ok: str) -> float:
        status: list[str] = []
        t0 = time.perf_counter()
        body = wsgi(env, lambda s, h, e=None: status.append(s))
        b"".join(body)
        if hasattr(body, "close"):
            body.close()
        dt = time.perf_counter() - t0
        if not status[0].startswith(ok):
            msg = f"unexpected status {status[0]}"
            raise RuntimeError(msg)
        return dt

    for _ in range(50):  # warm-up
        call(app, environ(f"/s/{SLUG}", True), "303")
        call(base, environ("/submit", False), "200")
    if profile:
        import cProfile
        import pstats

        envs = [environ(f"/s/{SLUG}", True) for _ in range(pairs)]
        prof = cProfile.Profile()
        prof.enable()
        for env in envs:
            call(app, env, "303")
        prof.disable()
        pstats.Stats(prof).sort_stats(os.environ.get("BENCH_SORT", "cumulative")).print_stats(60)
        return ""
    times: dict[str, list[float]] = {"manyi": [], "baseline": []}
    ratios = []
    for k in range(pairs):
        e_m, e_b = environ(f"/s/{SLUG}", True), environ("/submit", False)
        if k % 2:
            tb, tm = call(base, e_b, "200"), call(app, e_m, "303")
        else:
            tm, tb = call(app, e_m, "303"), call(base, e_b, "200")
        times["manyi"].append(tm)
        times["baseline"].append(tb)
        ratios.append(tm / tb)
    database.dispose()
    return (
        f"| {label} | {statistics.median(times['manyi']) * 1e3:.2f} ms | "
        f"{statistics.median(times['baseline']) * 1e3:.2f} ms | {statistics.median(ratios):.2f} |"
    )


def main() -> None:
    global PORTS  # the servers' ports, from --ports
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per slice")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-sqlite", action="store_true")
    parser.add_argument(
        "--in-process", type=int, metavar="PAIRS", default=0,
        help="time the WSGI callables in this process instead (PAIRS alternating calls)",
    )  # fmt: skip
    parser.add_argument("--profile", action="store_true", help="with --in-process: cProfile")
    parser.add_argument("--ports", default=PORTS, type=port_range, help=PORTS_HELP)
    args = parser.parse_args()
    PORTS = args.ports
    if args.in_process:
        print(
            "| backend | manyi | baseline | manyi / baseline (median of pairs) |\n|---|---|---|---|"
        )
        with tempfile.TemporaryDirectory() as tmp:
            print(in_process("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite'}", Path(tmp),
                             args.in_process, args.profile))  # fmt: skip
            if not args.no_postgres:
                with postgres_database(args.postgres) as url:
                    if url is not None:
                        print(in_process("PostgreSQL", url, Path(tmp) / "pg", args.in_process,
                                         args.profile))  # fmt: skip
        return
    print(
        f"{args.clients} clients, {args.workers} gunicorn workers each, {args.rounds} rounds "
        f"of {args.seconds:g} s per server after 0.5 s warm-up, alternating order, "
        f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    header = (
        "| backend | server | throughput | p50 | p99 | acknowledged | stored | lost | doubled "
        "| errors | worker peak RSS | CPU per request (server + database + load generator) |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        instance = Path(tmp) / "sqlite"
        if not args.no_sqlite:
            url = f"sqlite:///{instance / 'bench.sqlite'}"
            rows += bench_backend("SQLite", url, instance, args)
        if not args.no_postgres:
            with postgres_database(args.postgres) as url:
                if url is not None:
                    rows += bench_backend("PostgreSQL", url, Path(tmp) / "pg", args)
    print(header)
    print("\n".join(rows))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load generator peak RSS: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
