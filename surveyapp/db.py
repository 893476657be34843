"""Database engine and sessions (plain SQLAlchemy 2, no Flask-SQLAlchemy).

SQLite gets WAL (checkpointed every ``SQLITE_WAL_AUTOCHECKPOINT`` pages), foreign keys
and a busy timeout on every connection. pysqlite's own transaction handling is switched
off so SQLAlchemy's ``BEGIN`` is what happens (the recipe of SQLAlchemy's SQLite
documentation, "Serializable isolation / Savepoints / Transactional DDL"); a *write*
transaction (:meth:`Database.write`) starts with ``BEGIN IMMEDIATE``, which takes SQLite's
write lock up front. Without it two transactions that read and then write would collide
with ``SQLITE_BUSY`` (a WAL snapshot cannot be upgraded once another writer committed),
and the busy timeout would not help; with it, a second writer waits in the busy timeout
until the first commits. PostgreSQL needs none of this: rows are locked with
``SELECT ... FOR UPDATE`` where it matters.

Time-outs end well before gunicorn's 30 s worker time-out, so a hung or locked database
gives the request the friendly "database unavailable" page (503, :mod:`surveyapp.errors`)
instead of a dropped connection: SQLite's busy time-out (``SQLITE_BUSY_TIMEOUT_MS``);
PostgreSQL's ``connect_timeout`` (libpq: opening a connection, the server's answer
included) and the pool's wait for a free connection (``DB_CONNECT_TIMEOUT_S``), and the
server's ``statement_timeout`` and ``lock_timeout`` (``DB_STATEMENT_TIMEOUT_S``), and the
same as libpq's ``tcp_user_timeout`` (a network that stops acknowledging) with TCP
keepalives. libpq has no time-out of its own for the answer on an open connection whose
peer still acknowledges but never answers (a frozen proxy): that one waits.

In a request, :func:`session` gives one read session per request (closed at teardown);
state changes go through ``with get_db().write() as s:`` so each page save is exactly one
transaction that commits or rolls back as a whole.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from surveyapp.models import Base

CHECKPOINT_EVERY = 500  # SQLite write transactions per process between passive checkpoints


class Database:
    """An engine plus the session factories of one app."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 10_000,
        wal_autocheckpoint: int = 10_000,
        pool_size: int = 5,
        max_overflow: int = 10,
        connect_timeout_s: float = 5.0,
        statement_timeout_s: float = 20.0,
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
            kwargs["pool_timeout"] = connect_timeout_s
            if url.startswith("postgresql"):
                ms = int(statement_timeout_s * 1000)
                kwargs["connect_args"] = {
                    "connect_timeout": max(int(round(connect_timeout_s)), 2),  # libpq's minimum
                    "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
                    # a server that stops acknowledging (a lost network): cut off in time
                    "tcp_user_timeout": ms,
                    "keepalives": 1,
                    "keepalives_idle": 10,
                    "keepalives_interval": 5,
                    "keepalives_count": 2,
                }
        self.engine: Engine = create_engine(url, **kwargs)
        if self.is_sqlite:
            _sqlite_events(self.engine, busy_timeout_ms, wal_autocheckpoint)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

        self._writes = 0  # write transactions since this process's last checkpoint
        self._checkpointing = threading.Lock()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit at the end, roll back on any exception."""
        with self.write_sessions() as s, s.begin():
            yield s
        if self.is_sqlite:
            self._after_write()

    def _after_write(self) -> None:
        """SQLite: every ``CHECKPOINT_EVERY`` write transactions of this process, copy the
        WAL back into the database file, after the transaction. A PASSIVE
        checkpoint runs beside other writers instead of holding them all, as the
        automatic one does inside a commit (``SQLITE_WAL_AUTOCHECKPOINT``, which stays as
        the backstop)."""
        self._writes += 1
        if self._writes < CHECKPOINT_EVERY or not self._checkpointing.acquire(blocking=False):
            return
        try:
            self._writes = 0
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").all()
        finally:
            self._checkpointing.release()

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_events(engine: Engine, busy_timeout_ms: int, wal_autocheckpoint: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy emit BEGIN itself
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute(f"PRAGMA wal_autocheckpoint={int(wal_autocheckpoint)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def init_app(app: Flask) -> Database:
    db = Database(
        app.config["SQLALCHEMY_URL"],
        busy_timeout_ms=app.config["SQLITE_BUSY_TIMEOUT_MS"],
        wal_autocheckpoint=app.config["SQLITE_WAL_AUTOCHECKPOINT"],
        pool_size=int(app.config["DB_POOL_SIZE"]),
        max_overflow=int(app.config["DB_MAX_OVERFLOW"]),
        connect_timeout_s=float(app.config["DB_CONNECT_TIMEOUT_S"]),
        statement_timeout_s=float(app.config["DB_STATEMENT_TIMEOUT_S"]),
    )
    app.extensions["manyi_db"] = db

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        s = g.pop("db_session", None)
        if s is not None:
            s.close()

    return db


def healthy(database: Database) -> bool:
    """Whether the database answers ``SELECT 1`` (within the time-outs above)."""
    try:
        with database.engine.connect() as conn:
            conn.execute(select(1)).scalar_one()
    except SQLAlchemyError:
        return False
    return True


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
    Base.metadata.create_all(db.engine)


# -- migrations --------------------------------------------------------------------------
def alembic_config(url: str) -> Any:
    """An Alembic ``Config`` for the packaged migrations, pointed at ``url``."""
    here = Path(__file__).resolve().parent
    config = Config(str(here / "alembic.ini"))
    config.set_main_option("script_location", str(here / "migrations"))
    # ConfigParser interpolation: a literal % in a URL (encoded password) must be doubled
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(db: Database, revision: str = "head") -> None:
    """Bring the schema of ``db`` to ``revision`` with Alembic (``manyi db upgrade``)."""
    config = alembic_config(db.url)
    with db.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    """The schema's Alembic revision, or None for an empty database."""
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
