"""Database engine and sessions (plain SQLAlchemy 2, no Flask-SQLAlchemy).

SQLite gets WAL, foreign keys and a busy timeout on every connection. pysqlite's own
transaction handling is switched off so SQLAlchemy's ``BEGIN`` is what happens; a *write*
transaction (:meth:`Database.write`) starts with ``BEGIN IMMEDIATE``, which takes SQLite's
write lock up front. Without it two transactions that read and then write would collide
with ``SQLITE_BUSY`` (a WAL snapshot cannot be upgraded once another writer committed),
and the busy timeout would not help. PostgreSQL needs none of this: rows are locked with
``SELECT ... FOR UPDATE`` where it matters.

In a request, :func:`session` gives one read session per request (closed at teardown);
state changes go through ``with get_db().write() as s:`` so each page save is exactly one
transaction that commits or rolls back as a whole.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool


class Database:
    """An engine plus the session factories of one app."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 30_000,
        pool_size: int = 5,
        max_overflow: int = 10,
        echo: bool = False,
    ) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        if self.is_sqlite:
            # pooled: opening a connection runs the PRAGMAs, and closing the last one
            # checkpoints the WAL, both too slow per request. A pooled connection is used
            # by one thread at a time, so check_same_thread can be off. An in-memory
            # database would be a new empty one per connection: keep it to one.
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout_ms / 1000}
            if url in ("sqlite://", "sqlite:///:memory:"):
                kwargs["poolclass"] = StaticPool
        else:
            kwargs["pool_pre_ping"] = True
            kwargs["pool_size"] = pool_size
            kwargs["max_overflow"] = max_overflow
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_events(self.engine, busy_timeout_ms)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

        self._writer_lock = _WriterLock(url) if self.is_sqlite else None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads that need no transaction of their own.

        SQLite: a pooled connection, given back at the end. PostgreSQL, in a request: the
        request's one connection (checked out, and pinged, once), in autocommit, so each
        read is one round trip without BEGIN and ROLLBACK; a later :meth:`write` of the
        request runs its transaction on the same connection; it goes back to the pool
        when the request ends.
        """
        if self.is_sqlite or not has_app_context():
            with self.engine.connect() as conn:
                yield conn
            return
        shared = self._request_connection(create=True)
        if shared is None:  # pragma: no cover - has_app_context() was checked above
            msg = "no request connection outside an app context"
            raise RuntimeError(msg)
        shared.execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield shared
        finally:
            shared.rollback()  # ends SQLAlchemy's autobegun transaction; nothing is sent

    def _request_connection(self, *, create: bool) -> Connection | None:
        if not has_app_context():
            return None
        conns: dict[int, Connection] = g.setdefault("db_connections", {})
        conn = conns.get(id(self))
        if conn is None and create:
            conn = conns[id(self)] = self.engine.connect()
        return conn

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit at the end, roll back on any exception."""
        if self._writer_lock is None:
            conn = self._request_connection(create=False)
            if conn is not None:  # the request already holds a connection: use it
                conn.execution_options(isolation_level=self.engine.dialect.default_isolation_level)
                with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                    yield s
                return
            with self.write_sessions() as s, s.begin():
                yield s
            return
        with self._writer_lock, self.write_sessions() as s, s.begin():
            yield s

    def dispose(self) -> None:
        self.engine.dispose()


class _WriterLock:
    """Queue SQLite writers of all threads and processes on one lock file.

    SQLite admits one writer at a time; a writer that finds the database locked polls
    with growing sleeps (up to 100 ms) until the busy timeout. Under load those sleeps,
    not the work, set the latency. Waiting on an exclusive ``flock`` instead wakes the
    next writer the moment the previous one commits. (Threads of one process share the
    lock file, so they queue on a thread lock first.) Where ``fcntl`` is missing
    (Windows) or the database is in memory, the busy timeout alone does the queueing.
    """

    def __init__(self, url: str) -> None:
        import threading

        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        database = make_url(url).database
        try:
            import fcntl  # noqa: F401
        except ImportError:  # pragma: no cover - Windows
            return
        if database and database != ":memory:":
            self._path = f"{database}.writer-lock"

    def __enter__(self) -> None:
        self._thread_lock.acquire()
        path = getattr(self, "_path", None)
        if path is None:
            return
        import fcntl

        if self._fd is None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        try:
            if self._fd is not None:
                import fcntl

                fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def _sqlite_events(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> Database:
    db = Database(
        app.config["SQLALCHEMY_URL"],
        busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        pool_size=int(app.config["DB_POOL_SIZE"]),
        max_overflow=int(app.config["DB_MAX_OVERFLOW"]),
    )
    app.extensions["manyi_db"] = db

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        s = g.pop("db_session", None)
        if s is not None:
            s.close()
        for conn in g.pop("db_connections", {}).values():
            conn.close()

    return db


def get_db() -> Database:
    """The :class:`Database` of the current app."""
    return current_app.extensions["manyi_db"]  # type: ignore[no-any-return]


def session() -> Session:
    """The read session of the current request (closed when the request ends)."""
    if "db_session" not in g:
        g.db_session = get_db().sessions()
    return g.db_session  # type: ignore[no-any-return]


def release() -> None:
    """End the request's read transaction and give its connection back to the pool.

    Called before a write transaction, so a request never holds two pooled connections
    at once (with many parallel requests that would exhaust the pool). Loaded objects
    stay usable (``expire_on_commit=False``).
    """
    s = g.get("db_session")
    if s is not None:
        s.commit()


def create_all(db: Database) -> None:
    """Create every table directly (tests only; installations use ``manyi db upgrade``)."""
    from surveyapp.models import Base

    Base.metadata.create_all(db.engine)


# -- migrations --------------------------------------------------------------------------
def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for the packaged migrations, pointed at ``url``."""
    from alembic.config import Config

    here = Path(__file__).resolve().parent
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here / "migrations"))
    # ConfigParser interpolation: a literal % in a URL (encoded password) must be doubled
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema of ``db`` to ``revision`` with Alembic (``manyi db upgrade``)."""
    from alembic import command

    config = alembic_config(db.url)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
