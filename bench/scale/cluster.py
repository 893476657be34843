"""The processes of the scale test, each an existing engine, on loopback ports.

``Cluster`` starts them from the files in ``deploy/`` and can kill and restart each:

- a fresh PostgreSQL database on the server at ``admin_url`` (dropped at the end), reached
  by the app through :mod:`bench.scale.tcp_proxy` so the database can be made
  unreachable without touching the server;
- a throwaway ``redis-server`` (append-only file in the run's folder, so the queue
  survives a restart): the queue, the rate-limit counters and the report cache;
- two gunicorn app servers with ``deploy/gunicorn.conf.py``, each with its own instance
  folder (nothing is shared through files);
- one ``manyi worker``, sending the invitations to a local SMTP server
  (:mod:`bench.scale.smtp_sink`, aiosmtpd) that keeps what it accepted;
- nginx with ``deploy/nginx.conf``, round-robin over the app servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
STATIC = ROOT / "surveyapp" / "static"
SECRET = "scale-test-secret-" + "0" * 32


def wait_port(
    port: int, proc: subprocess.Popen[bytes] | None, name: str, timeout: float = 60
) -> None:
    """Return once something accepts connections on ``port``; raise if ``proc`` died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc is not None and proc.poll() is not None:
                msg = f"{name} exited with {proc.returncode} before listening on {port}"
                raise RuntimeError(msg) from None
            if time.monotonic() > deadline:
                msg = f"{name} did not listen on {port} within {timeout:.0f} s"
                raise RuntimeError(msg) from None
            time.sleep(0.1)


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        # as the servers bind: connections of a killed server in TIME_WAIT do not count
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class Service:
    """One process (group) of the cluster: how to start it, and the running one."""

    name: str
    cmd: list[str]
    env: dict[str, str]
    port: int | None
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        if self.port is not None and not port_free(self.port):
            msg = f"port {self.port} for {self.name} is taken; choose another --base-port"
            raise RuntimeError(msg)
        with self.log.open("ab") as out:
            # a session of its own: kill -9 reaches the whole group (gunicorn's workers)
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=ROOT,
            )
        self.starts += 1
        if self.port is not None:
            wait_port(self.port, self.proc, self.name)

    def kill9(self) -> None:
        """SIGKILL to the process and everything it started (its session)."""
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, sig)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
        except ProcessLookupError:
            pass

    def pids(self) -> set[int]:
        """The process and its descendants now (for CPU accounting)."""
        if self.proc is None or self.proc.poll() is not None:
            return set()
        return _descendants(self.proc.pid)


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(stat.parent.name))
    out, todo = set(), [root]
    while todo:
        pid = todo.pop()
        out.add(pid)
        todo.extend(children.get(pid, []))
    return out


@dataclass
class Ports:
    nginx: int
    apps: tuple[int, ...]
    redis: int
    proxy: int
    smtp: int

    @classmethod
    def from_base(cls, base: int, n_apps: int) -> Ports:
        apps = tuple(base + 11 + i for i in range(n_apps))
        return cls(base, apps, base + 20, base + 30, base + 25)


@dataclass
class Cluster:
    """Every process of the test. Use as a context manager: everything stops at the end."""

    folder: Path
    ports: Ports
    admin_url: str
    pg_port: int = 5432
    web_workers: int = 2
    extra_env: dict[str, str] = field(default_factory=dict)
    smtp_delay_s: float = 0.0  # the SMTP server's pause before it answers a message
    db_name: str = field(default_factory=lambda: f"manyi_scale_{uuid.uuid4().hex[:10]}")
    services: dict[str, Service] = field(default_factory=dict)

    # -- URLs -----------------------------------------------------------------------------
    @property
    def direct_url(self) -> str:
        """The test database, straight to the server (setup and checks)."""
        return self.admin_url.rsplit("/", 1)[0] + f"/{self.db_name}"

    @property
    def app_url(self) -> str:
        """The test database through the proxy (what the app and the worker use)."""
        base = self.admin_url.rsplit("/", 1)[0].replace(f":{self.pg_port}", f":{self.ports.proxy}")
        return base + f"/{self.db_name}"

    @property
    def mailbox(self) -> Path:
        """What the SMTP server accepted: one JSON line per recipient."""
        return self.folder / "mailbox.jsonl"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.ports.nginx}"

    def env(self, instance: str) -> dict[str, str]:
        """What deploy/manyi.env sets, pointed at this cluster's parts."""
        redis = f"redis://127.0.0.1:{self.ports.redis}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MANYI_")}
        env.update(
            {
                "DATABASE_URL": self.app_url,
                "SECRET_KEY": SECRET,
                "MANYI_INSTANCE": str(self.folder / f"instance-{instance}"),
                "MANYI_QUEUE_URL": f"{redis}/0",
                "MANYI_RATELIMIT_STORAGE_URI": f"{redis}/1",
                "MANYI_RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": "true",
                "MANYI_RATELIMIT_SWALLOW_ERRORS": "true",
                "MANYI_CACHE_TYPE": "RedisCache",
                "MANYI_CACHE_REDIS_URL": f"{redis}/2",
                "MANYI_DB_POOL_SIZE": "4",
                "MANYI_DB_MAX_OVERFLOW": "2",
                "MANYI_TRUSTED_PROXIES": "1",
                "MANYI_MAIL_HOST": "127.0.0.1",
                "MANYI_MAIL_PORT": str(self.ports.smtp),
                "MANYI_MAIL_SECURITY": "none",
                "MANYI_MAIL_SENDER": "survey@scale.test",
                "MANYI_PUBLIC_URL": self.base,
                "WEB_CONCURRENCY": str(self.web_workers),
                "PYTHONPATH": str(ROOT),
            }
        )
        env.update(self.extra_env)
        return env

    # -- start ----------------------------------------------------------------------------
    def __enter__(self) -> Cluster:
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            self._create_database()
            self._define()
            for name in ("proxy", "redis", "smtp", *self.app_names, "worker", "nginx"):
                self.services[name].start()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    @property
    def app_names(self) -> list[str]:
        return [f"app{i + 1}" for i in range(len(self.ports.apps))]

    def _create_database(self) -> None:
        from sqlalchemy import create_engine, text

        from surveyapp import db as dbm

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        admin.dispose()
        database = dbm.Database(self.direct_url)
        dbm.upgrade(database)  # what `manyi db upgrade` does on an upgrade
        database.dispose()

    def _define(self) -> None:
        logs = self.folder
        py = sys.executable
        proxy = [
            py,
            str(Path(__file__).with_name("tcp_proxy.py")),
            str(self.ports.proxy),
            str(self.pg_port),
        ]
        self.services["proxy"] = Service(
            "proxy", proxy, dict(os.environ), self.ports.proxy, logs / "proxy.log"
        )
        redis_dir = self.folder / "redis"
        redis_dir.mkdir(exist_ok=True)
        redis = [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(self.ports.redis),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(redis_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--daemonize",
            "no",
        ]
        self.services["redis"] = Service(
            "redis", redis, dict(os.environ), self.ports.redis, logs / "redis.log"
        )
        smtp = [py, str(Path(__file__).with_name("smtp_sink.py")), str(self.ports.smtp)]
        smtp += [str(self.mailbox), str(self.smtp_delay_s)]
        self.services["smtp"] = Service(
            "smtp", smtp, dict(os.environ), self.ports.smtp, logs / "smtp.log"
        )
        for name, port in zip(self.app_names, self.ports.apps, strict=True):
            env = self.env(name) | {"MANYI_BIND": f"127.0.0.1:{port}"}
            cmd = [
                py,
                "-m",
                "gunicorn",
                "-c",
                str(DEPLOY / "gunicorn.conf.py"),
                "surveyapp:create_app()",
            ]
            self.services[name] = Service(name, cmd, env, port, logs / f"{name}.log")
        worker = [py, "-c", "from surveyapp.cli import main; main()", "worker"]
        self.services["worker"] = Service(
            "worker", worker, self.env("worker"), None, logs / "worker.log"
        )
        conf = self._nginx_conf()
        nginx = [
            shutil.which("nginx") or "/usr/sbin/nginx",
            "-c",
            str(conf),
            "-p",
            str(self.folder / "nginx"),
            "-g",
            "daemon off;",
        ]
        self.services["nginx"] = Service(
            "nginx", nginx, dict(os.environ), self.ports.nginx, logs / "nginx.log"
        )

    def _nginx_conf(self) -> Path:
        prefix = self.folder / "nginx"
        prefix.mkdir(exist_ok=True)
        servers = "\n        ".join(
            f"server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in self.ports.apps
        )
        values = {
            "@USER@": pwd.getpwuid(os.geteuid()).pw_name,
            "@PREFIX@": str(prefix),
            "@LISTEN@": f"127.0.0.1:{self.ports.nginx}",
            "@APP_SERVERS@": servers,
            "@STATIC_ROOT@": str(STATIC),
            "@ERROR_ROOT@": str(DEPLOY / "errors"),
        }
        lines = (DEPLOY / "nginx.conf").read_text("utf-8").splitlines()
        for key, value in values.items():  # not in comments, which name the markers
            lines = [ln if ln.lstrip().startswith("#") else ln.replace(key, value) for ln in lines]
        text = "\n".join(lines) + "\n"
        path = prefix / "nginx.conf"
        path.write_text(text, "utf-8")
        return path

    # -- faults ---------------------------------------------------------------------------
    def restart(self, name: str, *, kill: bool = True, down_s: float = 0.0) -> None:
        """Kill ``name`` (SIGKILL, or SIGTERM when ``kill`` is false), wait ``down_s``,
        start it again."""
        service = self.services[name]
        if kill:
            service.kill9()
        else:
            service.stop()
        time.sleep(down_s)
        service.start()

    # -- stop -----------------------------------------------------------------------------
    def __exit__(self, *exc: Any) -> None:
        for name in ("nginx", "worker", *self.app_names, "smtp", "redis", "proxy"):
            if name in self.services:
                self.services[name].stop()
        from sqlalchemy import create_engine, text

        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        admin.dispose()
