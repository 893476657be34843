"""``manyi serve``, ``manyi demo`` and ``manyi db upgrade|current``.

The instance folder (SQLite database, secret key) is ``$MANYI_INSTANCE`` or ``./instance``
in the current directory; ``DATABASE_URL`` points elsewhere (PostgreSQL). ``serve`` runs
gunicorn when it is installed and Werkzeug's threaded server otherwise or with ``--dev``.

The rate limits must count every request once, whichever process serves it. Their
counters live in the limits library's storage (``RATELIMIT_STORAGE_URI``): with Redis,
every process shares them and gunicorn runs ``--workers`` processes (default 2); with
the embedded default (``memory://``, one process's memory) gunicorn runs **one** worker
process with ``--threads`` threads (gthread), so the counters are shared by every
request. Asking for more processes without a shared store is refused.

``demo`` also starts a ``manyi worker`` process beside the server (the long scoring
runs) and stops it when the server stops; with ``serve``, run ``manyi worker`` yourself
(e.g. a second service).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import click

from surveyapp.cli._common import UsageProblem, database_errors, db_reason, safe_url

DEMO_SLUG = "servqual-demo"
DEMO_WAVES = ("2026-Q1", "2026-Q2")  # an earlier closed wave, then the open demo wave
DEMO_INSTRUMENTS = ("servqual22", "service_short")


def _app(**config: Any) -> Any:
    # lazy: `manyi --help` loads no app
    from surveyapp import create_app

    try:
        with database_errors():
            return create_app(config or None)
    except ValueError as exc:  # a bad MANYI_* value names itself
        raise UsageProblem(str(exc)) from None


def _upgrade(app: Any) -> str:
    # lazy: `manyi --help` loads no app
    from sqlalchemy.exc import SQLAlchemyError

    # lazy: `manyi --help` loads no app
    from surveyapp import db as dbm

    database = app.extensions["manyi_db"]
    try:
        dbm.upgrade(database)
        return str(dbm.current_revision(database))
    except SQLAlchemyError as exc:
        msg = (
            f"cannot migrate the database {safe_url(database.url)}: "
            f"{db_reason(exc)}. Check DATABASE_URL and that the "
            "server is running."
        )
        raise UsageProblem(msg) from None


def _check_schema(app: Any) -> None:
    # lazy: `manyi --help` loads no app
    from sqlalchemy.exc import SQLAlchemyError

    # lazy: `manyi --help` loads no app
    from surveyapp import db as dbm

    database = app.extensions["manyi_db"]
    try:
        current = dbm.current_revision(database)
    except SQLAlchemyError as exc:
        msg = f"cannot open the database {safe_url(database.url)}: {db_reason(exc)}"
        raise UsageProblem(msg) from None
    if current != dbm.head_revision():
        msg = (
            f"the database {safe_url(database.url)} is at schema {current or '(empty)'}, "
            f"not {dbm.head_revision()}; run `manyi db upgrade` first."
        )
        raise UsageProblem(msg)


# -- db ------------------------------------------------------------------------------------
@click.group("db")
def db_group() -> None:
    """Create or migrate the database (DATABASE_URL, default: SQLite in ./instance)."""


@db_group.command("upgrade")
def upgrade_cmd() -> None:
    """Bring the database schema to the newest version (Alembic)."""
    app = _app()
    revision = _upgrade(app)
    click.echo(f"database {safe_url(app.config['SQLALCHEMY_URL'])} at schema {revision}")


@db_group.command("current")
def current_cmd() -> None:
    """Print the schema version of the database."""
    # lazy: `manyi --help` loads no app
    from surveyapp import db as dbm

    app = _app()
    with database_errors(app.config["SQLALCHEMY_URL"]):
        current = dbm.current_revision(app.extensions["manyi_db"])
    click.echo(f"{current or '(empty)'} (newest: {dbm.head_revision()})")


# -- serve ----------------------------------------------------------------------------------
GUNICORN_TIMEOUT_S = 30  # gunicorn's worker time-out; the database's are well below it


def shared_limits(app: Any) -> bool:
    """Whether the rate-limit counters are shared by processes (not in one's memory)."""
    uri = str(app.config["RATELIMIT_STORAGE_URI"])
    return not uri.startswith("memory") or not app.config["RATELIMIT_ENABLED"]


def worker_processes(app: Any, workers: int | None) -> int:
    """The gunicorn worker processes to run: ``workers``, or 2 with a shared rate-limit
    store and 1 without; more than one without a shared store is a :class:`UsageProblem`."""
    shared = shared_limits(app)
    if workers is None:
        return 2 if shared else 1
    if workers > 1 and not shared:
        msg = (
            f"--workers {workers} would give each process rate-limit counters of its own "
            "(MANYI_RATELIMIT_STORAGE_URI is memory://). Set MANYI_RATELIMIT_STORAGE_URI="
            "redis://HOST:6379/0 to share them, or serve with one worker and more --threads."
        )
        raise UsageProblem(msg)
    return workers


def _serve(app: Any, host: str, port: int, workers: int, dev: bool, threads: int = 8) -> None:
    try:
        # optional: gunicorn is absent on Windows
        import gunicorn.app.base  # noqa: F401
    except ImportError:  # pragma: no cover - gunicorn is a dependency, but not on Windows
        dev = True
    if dev:
        # lazy: `manyi --help` loads no app
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False, use_debugger=False)
        return
    _Gunicorn(host, port, workers, threads).run()


class _Gunicorn:
    """gunicorn with each worker building its own app (own database connections)."""

    def __init__(self, host: str, port: int, workers: int, threads: int) -> None:
        # optional: gunicorn is absent on Windows
        from gunicorn.app.base import BaseApplication

        class App(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)
                self.cfg.set("worker_class", "gthread")
                self.cfg.set("threads", threads)
                self.cfg.set("timeout", GUNICORN_TIMEOUT_S)
                self.cfg.set("accesslog", "-")
                self.cfg.set("graceful_timeout", 10)

            def load(self) -> Any:
                # lazy: `manyi --help` loads no app
                from surveyapp import create_app

                return create_app()

        self._app = App()

    def run(self) -> None:
        self._app.run()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=None,
    type=click.IntRange(1, 64),
    help="Worker processes (default 2 with Redis rate limits, else 1; more need Redis).",
)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256))
@click.option("--dev", is_flag=True, help="Werkzeug's threaded server (one process).")
def serve_cmd(host: str, port: int, workers: int | None, threads: int, dev: bool) -> None:
    """Serve the survey app (gunicorn with --workers processes of --threads threads, or
    Werkzeug with --dev)."""
    app = _app()
    _check_schema(app)
    processes = worker_processes(app, workers)
    click.echo(f"serving on http://{host}:{port}/ (instance folder {app.instance_path})")
    _serve(app, host, port, processes, dev, threads)


# -- demo -----------------------------------------------------------------------------------
def create_demo(app: Any, n: int, seed: int) -> tuple[str, int, bool]:
    """The demo survey (created once) with ``n`` simulated responses: (slug, count, new)."""
    # lazy: `manyi --help` loads no app
    from sqlalchemy import func, select

    # lazy: `manyi --help` loads no app
    import questionnaires as qn
    from questionnaires.simulate import simulate
    from surveyapp import models as m
    from surveyapp.services.responses import import_frame
    from surveyapp.services.surveys import create_survey

    database = app.extensions["manyi_db"]
    with database.sessions() as s:
        existing = s.scalar(select(m.Survey).where(m.Survey.slug == DEMO_SLUG))
        if existing is not None:
            count = s.scalar(
                select(func.count())
                .select_from(m.Response)
                .where(m.Response.survey_id == existing.id)
            )
            return DEMO_SLUG, int(count or 0), False
    ident = next(i for i in DEMO_INSTRUMENTS if i in qn.builtin_ids())
    q = qn.builtin(ident)
    with database.write() as s:
        study = m.Study(slug="demo", name="Demo study / 演示研究")
        s.add(study)
        # an earlier, closed wave first, so the waves view has a change to test
        earlier = create_survey(
            s,
            q,
            slug=f"{DEMO_SLUG}-{DEMO_WAVES[0].lower()}",
            wave=DEMO_WAVES[0],
            study=study,
            status="closed",
        )
        survey = create_survey(s, q, slug=DEMO_SLUG, wave=DEMO_WAVES[1], study=study)
    with database.sessions() as s:
        survey = s.get(m.Survey, survey.id)
        _ = survey.snapshot
    stored = 0
    if n:
        sim = simulate(q, n, seed=seed, survey=DEMO_SLUG, wave=DEMO_WAVES[1])
        stored = import_frame(database, survey, sim.data, source="simulated")
        before = simulate(q, n, seed=seed + 1, survey=earlier.slug, wave=DEMO_WAVES[0])
        import_frame(database, earlier, before.data, source="simulated")
        # the manager, staff and audit surveys of the same study and wave, so the
        # five-gap dashboard has every source (lazy: only when the demo is new)
        from surveyapp.reports.demo import add_linked_audiences

        add_linked_audiences(database, survey.id, seed=seed)
    return DEMO_SLUG, stored, True


DEMO_USER = "demo@manyi.local"


def demo_login(app: Any) -> str:
    """Create the demo administrator, or give it a fresh password; return the password.

    Only the hash is stored, so a new random password is set and printed on every run.
    """
    # lazy: `manyi --help` loads no app
    import secrets

    # lazy: `manyi --help` loads no app
    from surveyapp import models as m
    from surveyapp.services.accounts import find_user, hash_password

    password = secrets.token_urlsafe(12)
    with app.extensions["manyi_db"].write() as s:
        user = find_user(s, DEMO_USER)
        if user is None:
            user = m.User(email=DEMO_USER, name="Demo", role="admin", password_hash="")
            s.add(user)
        user.password_hash = hash_password(password)
        user.active = True
    return password


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--responses", "n", default=200, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Create the demo and exit.")
@click.option("--dev", is_flag=True, help="Werkzeug's threaded server (one process).")
def demo_cmd(host: str, port: int, n: int, seed: int, no_serve: bool, dev: bool) -> None:
    """Create a demo SERVQUAL survey with simulated responses, then serve it.

    The database and secret key go to ./instance (or $MANYI_INSTANCE); running it again
    reuses the demo survey.
    """
    app = _app()
    _upgrade(app)
    slug, count, new = create_demo(app, n, seed)
    what = "created with" if new else "already there, with"
    click.echo(f"demo survey {what} {count} responses")
    click.echo(f"answer it at http://{host}:{port}/s/{slug}")
    password = demo_login(app)
    click.echo(f"researchers: http://{host}:{port}/research/ as {DEMO_USER}, password {password}")
    if not no_serve:
        with _worker_beside():
            _serve(app, host, port, worker_processes(app, None), dev)


@contextmanager
def _worker_beside() -> Iterator[None]:
    """A ``manyi worker`` subprocess (same environment) for as long as the block runs."""
    # lazy: `manyi --help` loads no app
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-c", "from surveyapp.cli import main; main()", "worker"]
    )
    click.echo(f"worker started (process {proc.pid})")
    try:
        yield
    finally:
        proc.terminate()  # SIGTERM: Huey's consumer stops at once
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


COMMANDS = [db_group, serve_cmd, demo_cmd]
