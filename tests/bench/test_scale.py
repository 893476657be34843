"""The short scale test in CI: two gunicorn app servers on PostgreSQL behind nginx, one
worker, a throwaway Redis, a local SMTP server; a small wave through the balancer (200
invitations mailed by the worker, respondents answering from the mails) with the worker
killed (kill -9) while it sends and one app server killed, both started again; the
interrupted invitation, if any, sent again with the same Message-ID. The full version
with every fault is ``make scale-test``."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bench.scale import Plan, run
from tests.surveyapp.conftest import PG_ADMIN_URL

pytestmark = [pytest.mark.scale, pytest.mark.postgres, pytest.mark.slow]


def _nginx() -> str | None:
    """nginx's path; installed from Debian first where that is possible (root, apt)."""
    found = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "nginx"],
            env=env,
            check=False,
            capture_output=True,
            timeout=600,
        )
        found = shutil.which("nginx") or (
            "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
        )
    return found


def _postgres_reachable() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_ADMIN_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any connection problem means "unreachable"
        reason = f"PostgreSQL at {PG_ADMIN_URL} is unreachable ({type(exc).__name__})"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        engine.dispose()


def test_wave_on_two_app_servers_survives_a_killed_server_and_worker(tmp_path: Path) -> None:
    if _nginx() is None:
        pytest.skip("nginx is not installed and cannot be installed here (apt-get install nginx)")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    _postgres_reachable()
    plan = Plan(
        folder=tmp_path,
        admin_url=PG_ADMIN_URL,
        base_port=int(os.environ.get("MANYI_SCALE_BASE_PORT", "5850")),
        invitations=200,
        mail_rate_per_minute=600.0,  # 10 a second: the mailing is under way at the kill
        smtp_delay_s=0.3,  # the kill lands inside a delivery: one interrupted, sent again
        respondents=3,
        readers=1,
        measure_s=4.0,
        fault_gap_s=6.0,
        faults=("mail", "app"),
        bootstrap=50,
        run_responses=150,
    )
    result = run(plan)
    assert result.ok, result.problems
    figures = result.figures
    assert figures["acknowledged responses"] > 0
    assert figures["lost"] == figures["doubled"] == 0
    assert figures["invitations completed twice"] == 0
    assert figures["saved and resumed"] > 0
    assert figures["error pages not friendly"] == 0
    assert [f["fault"] for f in result.faults] == ["mail", "app"]
    mail = figures["mail"]
    assert mail["worker kills while sending"] == 1
    # the interrupted one (in flight at the kill) is sent again with the same Message-ID:
    # nobody lost, nobody with two different messages
    assert mail["lost"] == mail["doubled with different Message-IDs"] == 0
    assert mail["interrupted after sending them again"] == 0
    interrupted = mail["interrupted (claimed, not recorded) after the mailing"]
    assert mail["repeated with the same Message-ID"] <= interrupted <= 1
    assert mail["sending the interrupted again pressed"] == (1 if interrupted else 0)
    assert mail["mailed once"] + mail["repeated with the same Message-ID"] == mail["invitations"]
