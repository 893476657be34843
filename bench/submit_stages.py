"""Where a submission's CPU goes in the worker, under load: a diagnostic for bench_submit.

``python bench/submit_stages.py [--seconds 12] [--clients 16] [--workers 2] [--sqlite]``

manyi runs under gunicorn exactly as in ``bench_submit.py`` (same form, same clients),
with the stages of a request wrapped in timers of the worker thread's CPU time
(``time.thread_time``, which counts the kernel's work for the thread too, and nothing
while it waits): the whole WSGI call, the session cookie, the form parsing, the CSRF
check, the rate limit (both of Flask-Limiter's checks), the view, the survey read, the
validation, the language choice, the store (one write transaction), the response hooks
and the teardown. Each worker writes its totals as it
goes; printed at the end: CPU per request of each stage, averaged over the workers.
Stages nest (the store is inside the view, the view inside the request), so they do not
add up.

Why in a loaded worker rather than in a loop in one process: there every stage costs
more, and not in proportion, so in-process profiles put the gap in the wrong places
(bench/README.md, "Fifth pass"). A timer costs about a microsecond, so the smallest stages
read high. Not a benchmark: it has no baseline and no goal.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_submit as bs  # noqa: E402 - after the path set-up

REPORT_EVERY = 100  # requests between a worker's writes of its totals


def staged_app() -> Any:
    """``surveyapp.create_app()`` with its stages timed (imported by gunicorn)."""
    from surveyapp import create_app, forms, security, survey
    from surveyapp.services import responses

    app = create_app()
    totals: dict[str, float] = {}
    out = Path(os.environ["BENCH_STAGES_DIR"]) / f"{os.getpid()}.json"

    def timed(stage: str, f: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(f)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = time.thread_time()
            try:
                return f(*args, **kwargs)
            finally:
                totals[stage] = totals.get(stage, 0.0) + time.thread_time() - start

        return wrapper

    inner = timed("request (WSGI call)", app.wsgi_app)

    def wsgi(environ: Any, start_response: Any) -> Any:
        try:
            return inner(environ, start_response)
        finally:
            totals["requests"] = totals.get("requests", 0) + 1
            if totals["requests"] % REPORT_EVERY == 0:
                out.write_text(json.dumps(totals))

    app.wsgi_app = wsgi  # type: ignore[method-assign]
    sessions = app.session_interface
    sessions.open_session = timed("session cookie", sessions.open_session)  # type: ignore[method-assign]
    hooks = app.before_request_funcs[None]
    hooks[:] = [timed("CSRF check", f) if "csrf" in f.__qualname__ else f for f in hooks]
    request_class = app.request_class
    request_class._load_form_data = timed("form parsing", request_class._load_form_data)  # type: ignore[method-assign]
    endpoint = "survey.anonymous"
    app.view_functions[endpoint] = timed("view", app.view_functions[endpoint])
    forms.check_post = timed("validation", forms.check_post)
    survey._read_survey = timed("survey read", survey._read_survey)
    limiter = security.limiter
    limiter._check_request_limit = timed("rate limit", limiter._check_request_limit)  # type: ignore[method-assign]
    survey.set_language_for = timed("language", survey.set_language_for)  # type: ignore[attr-defined]
    responses.store_page = timed("store", responses.store_page)
    app.process_response = timed("response hooks", app.process_response)  # type: ignore[method-assign]
    app.do_teardown_appcontext = timed("teardown", app.do_teardown_appcontext)  # type: ignore[method-assign]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--ports", default=bs.PORTS, type=bs.port_range, help=bs.PORTS_HELP)
    args = parser.parse_args()
    bs.PORTS = args.ports
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        if args.sqlite:
            url: str | None = f"sqlite:///{Path(tmp) / 'bench.sqlite'}"
        else:
            url = stack.enter_context(bs.postgres_database(args.postgres))
            if url is None:
                return
        env, q, app = bs.prepare(url, Path(tmp))
        app.extensions["manyi_db"].dispose()
        env["BENCH_STAGES_DIR"] = tmp
        server = bs.start("manyi", "submit_stages:staged_app()", env, args.workers)
        try:
            sessions = [bs._client_session(server, True) for _ in range(args.clients)]
            load = bs.run_load(server, bs.form_values(q), args.seconds, sessions, warmup=1.0)
        finally:
            server.stop()
        reports = [json.loads(p.read_text()) for p in Path(tmp).glob("*.json")]
    backend = "SQLite" if args.sqlite else "PostgreSQL"
    print(f"{backend}: {len(load.acked)} submissions in {args.seconds:g} s (+1 s warm-up), "
          f"{args.workers} workers, {args.clients} clients; CPU of the worker thread per "
          f"request, over {sum(r['requests'] for r in reports):.0f} requests reported")  # fmt: skip
    print("| stage | ms per request |\n|---|---|")
    stages = sorted({k for r in reports for k in r if k != "requests"})
    for stage in stages:
        spent = sum(r.get(stage, 0.0) for r in reports)
        count = sum(r["requests"] for r in reports)
        print(f"| {stage} | {1e3 * spent / count:.3f} |")


if __name__ == "__main__":
    main()
