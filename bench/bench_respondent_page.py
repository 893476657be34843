"""A respondent's first page: its weight and its server time under 16 concurrent clients.

``python bench/bench_respondent_page.py [--seconds 3] [--rounds 4] [--clients 16]``

The demo survey (the built-in SERVQUAL instrument, ``/s/demo``) is served by the app under
Werkzeug's threaded server on loopback (one process, as ``manyi serve --dev``), SQLite.

- **Weight**: the first page's HTML plus its CSS and JavaScript, each compressed with gzip
  level 6 (what a compressing proxy such as nginx sends by default). Goal: <= 60 kB.
- **Server time**: ``--clients`` threads each GET the first page in a loop, with a fresh
  cookie jar per request (a new respondent every time: the page creates a response id and
  sets the resume cookie); the time is from sending the request to the last byte. The
  baseline is ``/healthz`` (a database round trip and a tiny JSON body) under the same
  load, interleaved round by round; printed are the medians and the median of the
  per-round ratios. Goal (issue 15): first page median <= 30 ms at 16 clients.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _serve(tmp: Path) -> tuple[str, int, object]:
    from werkzeug.serving import make_server

    import questionnaires as qn
    from surveyapp import create_app
    from surveyapp import db as dbm
    from surveyapp.services.surveys import create_survey

    app = create_app(
        {"DATABASE": str(tmp / "bench.sqlite"), "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False}
    )
    database = app.extensions["manyi_db"]
    dbm.upgrade(database)
    with database.write() as s:
        create_survey(s, qn.builtin("servqual22"), slug="demo", access="anonymous")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return "127.0.0.1", server.server_port, server


def _get(host: str, port: int, path: str) -> tuple[int, bytes, float]:
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", path, headers={"Accept-Language": "zh-CN"})
    resp = conn.getresponse()
    body = resp.read()
    conn.close()
    return resp.status, body, time.perf_counter() - start


def weight(host: str, port: int) -> dict[str, int]:
    status, html, _ = _get(host, port, "/s/demo")
    assert status == 200, status
    out = {"html": len(gzip.compress(html, 6))}
    for asset in ("/static/css/manyi.css", "/static/js/survey.js"):
        _, body, _ = _get(host, port, asset)
        out[asset.rsplit("/", 1)[1]] = len(gzip.compress(body, 6))
    return out


def load(host: str, port: int, path: str, clients: int, seconds: float) -> list[float]:
    times: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        while time.perf_counter() < stop:
            status, _, took = _get(host, port, path)
            assert status == 200, (path, status)
            with lock:
                times.append(took)

    with ThreadPoolExecutor(clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    return times


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--clients", type=int, default=16)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host, port, server = _serve(Path(tmp))
        sizes = weight(host, port)
        total = sum(sizes.values())
        print(f"first page, gzip: {sizes} = {total / 1000:.1f} kB (goal <= 60 kB)")
        load(host, port, "/s/demo", args.clients, 0.5)  # warm-up, not timed
        pages: list[float] = []
        bases: list[float] = []
        ratios: list[float] = []
        for r in range(args.rounds):
            order = ("/healthz", "/s/demo") if r % 2 == 0 else ("/s/demo", "/healthz")
            got = {p: load(host, port, p, args.clients, args.seconds) for p in order}
            page, base = statistics.median(got["/s/demo"]), statistics.median(got["/healthz"])
            pages += got["/s/demo"]
            bases += got["/healthz"]
            ratios.append(page / base)
            print(f"round {r + 1}: page median {page * 1000:.1f} ms, /healthz {base * 1000:.1f} ms")
        server.shutdown()  # type: ignore[attr-defined]
    print(
        f"first page at {args.clients} clients: median {statistics.median(pages) * 1000:.1f} ms "
        f"(p90 {statistics.quantiles(pages, n=10)[-1] * 1000:.1f} ms, n={len(pages)}); "
        f"/healthz median {statistics.median(bases) * 1000:.1f} ms; median ratio "
        f"{statistics.median(ratios):.2f} (goal: page median <= 30 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
