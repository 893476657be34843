"""Database engine and sessions (plain SQLAlchemy 2, no Flask-SQLAlchemy).

SQLite gets WAL (checkpointed every ``SQLITE_WAL_AUTOCHECKPOINT`` pages), foreign keys
and a busy timeout on every connection. pysqlite's own
transaction handling is switched off so SQLAlchemy's ``BEGIN`` is what happens; a *write*
transaction (:meth:`Database.write`) starts with ``BEGIN IMMEDIATE``, which takes SQLite's
write lock up front. Without it two transactions that read and then write would collide
with ``SQLITE_BUSY`` (a WAL snapshot cannot be upgraded once another writer committed),
and the busy timeout would not help. PostgreSQL needs none of this: rows are locked with
``SELECT ... FOR UPDATE`` where it matters.

In a request, :func:`session` gives one read session per request (closed at teardown);
state changes go through ``with get_db().write() as s:`` so each page save is exactly one
transaction that commits or rolls back as a whole. The respondents' hot path (the survey
read and a response's first save, ``survey.py``) runs a few hand-written statements on
the bare driver instead (:meth:`Database.on_driver`, :class:`DriverTable`), with the same
transaction guarantees and SQLAlchemy's own value conversions.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import Engine, Table, create_engine, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import PoolProxiedConnection, StaticPool

T = TypeVar("T")
CHECKPOINT_EVERY = 500  # SQLite write transactions per process between passive checkpoints


class Database:
    """An engine plus the session factories of one app."""

    def __init__(
        self,
        url: str,
        *,
        busy_timeout_ms: int = 30_000,
        wal_autocheckpoint: int = 10_000,
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
            _sqlite_events(self.engine, busy_timeout_ms, wal_autocheckpoint)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        writer = self.engine.execution_options(sqlite_immediate=True)
        self.write_sessions = sessionmaker(writer, expire_on_commit=False)

        self._writer_lock = _WriterLock(url) if self.is_sqlite else None
        self._writes = 0  # write transactions since this process's last checkpoint
        self._checkpointing = threading.Lock()
        self._driver_tables: dict[str, DriverTable] = {}
        # PostgreSQL: the pool of on_driver(), in autocommit for good, without pre-ping
        self._driver_engine: Engine | None = None
        if not self.is_sqlite:
            self._driver_engine = create_engine(
                url,
                echo=echo,
                isolation_level="AUTOCOMMIT",
                pool_reset_on_return=None,  # autocommit: no transaction to end on return
                pool_size=pool_size,
                max_overflow=max_overflow,
            )

    def on_driver(self, work: Callable[[Any], T], *, write: bool = False) -> T:
        """``work(connection)`` on the bare DBAPI connection, for the few hand-written
        statements of the respondents' hot path (:class:`DriverTable`, ``survey.py``).
        The connection is in autocommit: each statement is its own transaction unless
        ``work`` begins one.

        SQLite: a pooled connection (sqlite3 with ``isolation_level=None``), given back at
        the end; ``write`` queues on the writer lock first, so that ``work``'s
        ``BEGIN IMMEDIATE`` takes SQLite's write lock at once (as :meth:`write` does).

        PostgreSQL: a connection of a pool of its own whose connections stay in
        autocommit (no switching back and forth), held by the request until it ends (one
        checkout per request). That pool does not ping a connection before lending it;
        if it turns out dead (a restarted server), it is dropped and ``work`` runs once
        more on a new one. ``work`` must therefore be safe to repeat: a read, or a single
        statement that a unique key makes harmless to send twice. A write there must be
        one statement, which is one transaction.
        """
        if self._driver_engine is None:
            if self._writer_lock is None or not write:
                return self._on_pooled(work)
            # the lock first: writers queued on it must not each hold a pooled connection
            with self._writer_lock:
                result = self._on_pooled(work)
            self._after_write()
            return result
        held = has_app_context()
        dialect = self._driver_engine.dialect
        for attempt in (1, 2):
            fairy: PoolProxiedConnection | None = g.get("db_driver") if held else None
            if fairy is None:
                fairy = self._driver_engine.raw_connection()
                if held:
                    g.db_driver = fairy
            try:
                return work(fairy.dbapi_connection)
            except dialect.loaded_dbapi.Error as exc:
                if attempt == 2 or not dialect.is_disconnect(exc, fairy.dbapi_connection, None):
                    raise
                fairy.invalidate(exc)  # dropped from the pool; try once more on a new one
                if held:
                    g.pop("db_driver").close()
            finally:
                if not held:
                    fairy.close()
        msg = "unreachable"  # pragma: no cover - the loop returns or raises
        raise AssertionError(msg)  # pragma: no cover

    def _on_pooled(self, work: Callable[[Any], T]) -> T:
        pooled = self.engine.raw_connection()
        try:
            return work(pooled.dbapi_connection)
        finally:
            pooled.close()

    def driver_table(self, table: Table) -> DriverTable:
        """:class:`DriverTable` of ``table`` for this database's dialect (made once)."""
        found = self._driver_tables.get(table.name)
        if found is None:
            found = self._driver_tables[table.name] = DriverTable(table, self.engine.dialect)
        return found

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit at the end, roll back on any exception."""
        if self._writer_lock is None:
            with self.write_sessions() as s, s.begin():
                yield s
            return
        with self._writer_lock, self.write_sessions() as s, s.begin():
            yield s
        self._after_write()

    def _after_write(self) -> None:
        """SQLite: every ``CHECKPOINT_EVERY`` write transactions of this process, copy the
        WAL back into the database file, after the writer lock is released. A PASSIVE
        checkpoint runs beside other writers instead of holding them all, as the
        automatic one does inside a commit (``SQLITE_WAL_AUTOCHECKPOINT``, which stays as
        the backstop)."""
        self._writes += 1
        if self._writes < CHECKPOINT_EVERY or not self._checkpointing.acquire(blocking=False):
            return
        try:
            self._writes = 0
            self._on_pooled(lambda raw: raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall())
        finally:
            self._checkpointing.release()

    def dispose(self) -> None:
        self.engine.dispose()
        if self._driver_engine is not None:
            self._driver_engine.dispose()


class DriverTable:
    """SQLAlchemy's own value conversions of one table's column types, for statements
    run on the bare DBAPI connection (:meth:`Database.on_driver`).

    The respondents' hot path writes a few rows per submission; going through
    ``Connection.execute`` (or an ORM session) costs several times what the driver takes
    to run them (bench/README.md, "Survey submission"). Its statements are written once
    as SQL with ``:name`` parameters (:func:`driver_sql` puts them in the driver's
    style), and values pass through the column types' bind and result processors, so
    they are stored and read exactly as through SQLAlchemy (dates, JSON, booleans).
    """

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self.dialect = dialect
        # dialect_impl: the dialect's own type (e.g. SQLite's DATETIME, which stores text)
        self._bind = {
            c.key: f
            for c in table.c
            if (f := c.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        self._results: dict[tuple[Any, ...], list[Callable[[Any], Any] | None]] = {}

    def params(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` (column key -> Python value; other keys pass as they are) for the
        driver."""
        out = dict(values)
        for key, process in self._bind.items():
            if key in out:
                out[key] = process(out[key])
        return out

    def values(self, keys: list[str], description: Any, row: Any) -> dict[str, Any]:
        """A driver row whose first ``len(keys)`` columns are this table's ``keys``, as
        Python values (column key -> value)."""
        codes = tuple(d[1] for d in description[: len(keys)])
        processors = self._results.get((*keys, *codes))
        if processors is None:
            processors = self._results[(*keys, *codes)] = [
                self.table.c[k].type.dialect_impl(self.dialect).result_processor(self.dialect, code)
                for k, code in zip(keys, codes, strict=True)
            ]
        return {
            k: (f(v) if f is not None else v)
            for k, f, v in zip(keys, processors, row, strict=False)
        }


_NAMED_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.cache
def driver_sql(sql: str, dialect_name: str) -> str:
    """``sql`` with its ``:name`` parameters in the driver's style: sqlite3 takes them as
    they are, psycopg wants ``%(name)s`` (and a literal ``%`` doubled)."""
    if dialect_name == "sqlite":
        return sql
    return _NAMED_PARAM.sub(r"%(\1)s", sql.replace("%", "%%"))


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
    )
    app.extensions["manyi_db"] = db

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        s = g.pop("db_session", None)
        if s is not None:
            s.close()
        fairy = g.pop("db_driver", None)
        if fairy is not None:
            fairy.close()

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
    """Create every table directly (tests only; installations use ``manyi db upgrade``).
    PostgreSQL's schema always comes from the migrations (its triggers are only there)."""
    from surveyapp.models import Base

    if db.engine.dialect.name == "postgresql":
        upgrade(db)
        return
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
