"""Rate limits hold across the processes of ``manyi serve``, for every HTTP method.

A real gunicorn serves the app: with Redis (this suite's database 4) in two worker
processes, with the embedded default in one process of several threads. GET and HEAD
requests draw on one budget, and the server lets through exactly the configured number.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from surveyapp.cli._common import UsageProblem
from surveyapp.cli.web import worker_processes
from tests.surveyapp.conftest import add_survey, make_app

REDIS_URL = "redis://127.0.0.1:6379/4"
LIMIT = 12


def _status(url: str, method: str) -> int:
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def _served(tmp_path: Path, port: int, *args: str, **env_extra: str) -> Iterator[str]:
    env = {
        **os.environ,
        "MANYI_INSTANCE": str(tmp_path / "instance"),
        "MANYI_RESUME_RATE_LIMIT": f"{LIMIT}/minute",
        **env_extra,
    }
    env.pop("DATABASE_URL", None)
    manyi = shutil.which("manyi")
    cmd = [manyi] if manyi else [sys.executable, "-m", "surveyapp.cli"]
    subprocess.run([*cmd, "db", "upgrade"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen(
        [*cmd, "serve", "--port", str(port), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=5):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out = proc.communicate(timeout=30)[0].decode()
        print(out)


def _guesses(base: str) -> list[int]:
    # unknown resume codes: each answer (404 or 429) says whether the guess was counted
    return [_status(f"{base}/r/ABCD{n:04d}", "HEAD" if n % 2 else "GET") for n in range(3 * LIMIT)]


@pytest.mark.slow
def test_two_workers_share_the_limit_in_redis_for_get_and_head(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({exc})")
    with _served(tmp_path, 5410, "--workers", "2", MANYI_RATELIMIT_STORAGE_URI=REDIS_URL) as base:
        codes = _guesses(base)
    redis.Redis.from_url(REDIS_URL).flushdb()
    assert codes.count(404) == LIMIT, codes
    assert set(codes[LIMIT:]) == {429}, codes


@pytest.mark.slow
def test_the_embedded_default_holds_the_limit_in_one_threaded_process(tmp_path):
    with _served(tmp_path, 5411, "--threads", "4") as base:
        codes = _guesses(base)
    assert codes.count(404) == LIMIT, codes
    assert set(codes[LIMIT:]) == {429}, codes


def test_more_processes_without_a_shared_store_are_refused(tmp_path):
    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, RATELIMIT_ENABLED=True)
    assert worker_processes(app, None) == 1
    assert worker_processes(app, 1) == 1
    with pytest.raises(UsageProblem, match="MANYI_RATELIMIT_STORAGE_URI=redis://"):
        worker_processes(app, 2)
    shared = make_app(
        {"DATABASE": tmp_path / "u.sqlite"}, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=REDIS_URL
    )
    assert worker_processes(shared, None) == 2
    assert worker_processes(shared, 4) == 4


RESPONDENT_BLUEPRINTS = ("survey", "distribution")  # every route a respondent reaches


def test_every_respondent_route_is_limited_on_every_method(tmp_path, minimal):
    """Each route of the respondents' blueprints, on each of its methods (HEAD
    included), answers 429 once its budget is spent: every limit set to 2 a minute, each
    (route, method) from its own client address, so budgets never mix. (OPTIONS is
    answered by Flask itself from the route's methods, without running the view.)"""
    limits = {s: "2/minute" for s in ("SUBMIT", "RESUME", "DISTRIBUTION")}
    app = make_app(
        {"DATABASE": tmp_path / "t.sqlite"},
        RATELIMIT_ENABLED=True,
        **{f"{name}_RATE_LIMIT": value for name, value in limits.items()},
    )
    add_survey(app, minimal)
    client = app.test_client()
    values = {"slug": "demo", "token": "x", "code": "ABCD2345"}
    rules = [
        r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in RESPONDENT_BLUEPRINTS
    ]
    assert {r.rule for r in rules} >= {"/", "/s/<slug>", "/s/<slug>/thanks", "/resume"}
    unlimited = []
    n = 0
    for rule in rules:
        url = rule.build({a: values[a] for a in rule.arguments})[1]
        for method in sorted(set(rule.methods or ()) - {"OPTIONS"}):
            n += 1
            address = {"REMOTE_ADDR": f"10.0.{n // 250}.{n % 250 + 1}"}
            codes = [
                client.open(url, method=method, environ_base=address).status_code for _ in range(3)
            ]
            if codes[-1] != 429 or 429 in codes[:2]:
                unlimited.append((rule.rule, method, codes))
    assert unlimited == []
