"""answer -> response: the key of an answer and its reference to the response, a foreign
key with ON DELETE CASCADE on both databases, and the migrations that changed it (0003
replaced it by triggers on PostgreSQL, 0004 restored it)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import MetaData, Table, create_engine, insert, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from surveyapp import db as dbm
from surveyapp import models as m
from tests.surveyapp.conftest import PG_ADMIN_URL, add_survey


def _response(conn: Any, survey_id: int, rid: str = "r1") -> int:
    return conn.execute(
        text(
            "INSERT INTO response (response_id, survey_id, status, language, started_at, "
            "updated_at, page_reached, segments, suspect, quarantined, source) VALUES "
            "(:rid, :sid, 'partial', 'en', :now, :now, 0, '{}', '{}', false, 'web') "
            "RETURNING id"
        ),
        {"rid": rid, "sid": survey_id, "now": m.utcnow()},
    ).scalar_one()


def _answers(conn: Any, pk: int, columns: tuple[str, ...] = ("a", "b", "c")) -> None:
    conn.execute(
        text('INSERT INTO answer (response_pk, "column", num) VALUES (:pk, :c, 1)'),
        [{"pk": pk, "c": c} for c in columns],
    )


def _count(conn: Any) -> int:
    return conn.execute(text("SELECT count(*) FROM answer")).scalar_one()


@pytest.fixture
def engine(any_app: Any, minimal: Any) -> tuple[Any, int]:
    survey_id, _ = add_survey(any_app, minimal)
    return any_app.extensions["manyi_db"].engine, survey_id


@pytest.fixture
def stored(engine: tuple[Any, int]) -> tuple[Any, int]:
    """A response with three answers: the engine and the response's pk."""
    eng, survey_id = engine
    with eng.begin() as conn:
        pk = _response(conn, survey_id)
        _answers(conn, pk)
    return eng, pk


def test_an_answer_must_refer_to_a_response(stored):
    eng, pk = stored
    with pytest.raises(IntegrityError), eng.begin() as conn:
        _answers(conn, pk + 1000, ("x",))
    with pytest.raises(IntegrityError), eng.begin() as conn:  # one bad row among good ones
        conn.execute(
            text('INSERT INTO answer (response_pk, "column", num) VALUES (:pk, :c, 1)'),
            [{"pk": pk, "c": "d"}, {"pk": pk + 1000, "c": "e"}],
        )
    with pytest.raises(IntegrityError), eng.begin() as conn:  # moved to no response
        conn.execute(text("UPDATE answer SET response_pk = response_pk + 1000"))
    with eng.connect() as conn:
        assert _count(conn) == 3


def test_one_value_per_response_and_column(engine):
    eng, survey_id = engine
    with eng.begin() as conn:
        pk = _response(conn, survey_id)
        _answers(conn, pk, ("a",))
    with pytest.raises(IntegrityError), eng.begin() as conn:
        _answers(conn, pk, ("a",))


def test_deleting_responses_or_their_survey_deletes_their_answers(engine, any_app):
    eng, survey_id = engine
    with eng.begin() as conn:
        one, two = _response(conn, survey_id, "r1"), _response(conn, survey_id, "r2")
        _answers(conn, one)
        _answers(conn, two)
    with eng.begin() as conn:
        conn.execute(text("DELETE FROM response WHERE id = :pk"), {"pk": one})
        assert conn.execute(text("SELECT DISTINCT response_pk FROM answer")).scalars().all() == [
            two
        ]
    with eng.begin() as conn:  # survey -> response by foreign key, then response -> answer
        conn.execute(text("DELETE FROM survey WHERE id = :sid"), {"sid": survey_id})
        assert _count(conn) == 0


def test_a_response_id_never_changes_under_its_answers(stored):
    eng, _ = stored
    with pytest.raises(IntegrityError), eng.begin() as conn:
        conn.execute(text("UPDATE response SET id = id + 1000"))


# -- PostgreSQL: the foreign key's rules under concurrency ---------------------------------
@pytest.fixture
def pg(postgres_url: str, minimal: Any, tmp_path: Any) -> Iterator[tuple[Any, int]]:
    from tests.surveyapp.conftest import _truncate, make_app

    _truncate(postgres_url)
    app = make_app(
        {"DATABASE_URL": postgres_url, "CREATE_TABLES": False, "INSTANCE_PATH": tmp_path}
    )
    survey_id, _ = add_survey(app, minimal)
    yield app.extensions["manyi_db"].engine, survey_id
    app.extensions["manyi_db"].dispose()


_FOREIGN_KEYS = (
    "SELECT conname, confdeltype FROM pg_constraint "
    "WHERE conrelid = 'answer'::regclass AND contype = 'f'"
)
_TRIGGERS = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname"


def _reference(database: dbm.Database) -> tuple[list[tuple[Any, ...]], list[str]]:
    """PostgreSQL: the foreign keys of answer (name, delete action) and the triggers."""
    with database.engine.connect() as conn:
        fks = [tuple(r) for r in conn.execute(text(_FOREIGN_KEYS))]
        return fks, list(conn.execute(text(_TRIGGERS)).scalars())


FOREIGN_KEY = [("fk_answer_response_pk_response", "c")]  # c: ON DELETE CASCADE
TRIGGERS_0003 = [
    "answer_response_exists_insert",
    "answer_response_exists_update",
    "response_delete_answers",
    "response_id_kept",
    "response_truncate_answers",
]


@pytest.mark.postgres
def test_postgresql_has_the_foreign_key_from_migrations_and_from_the_models(postgres_url):
    database = dbm.Database(postgres_url)  # the tests' database: built by the migrations
    try:
        assert _reference(database) == (FOREIGN_KEY, [])
    finally:
        database.dispose()
    with _new_postgres_database() as database:
        m.Base.metadata.create_all(database.engine)
        assert _reference(database) == (FOREIGN_KEY, [])


@pytest.mark.postgres
def test_postgresql_error_names_the_reference(pg):
    eng, survey_id = pg
    with pytest.raises(IntegrityError) as caught, eng.begin() as conn:
        _answers(conn, 123456, ("x",))
    diag = caught.value.orig.diag
    assert caught.value.orig.sqlstate == "23503"  # foreign_key_violation, as a foreign key
    assert diag.constraint_name == "fk_answer_response_pk_response"
    assert diag.table_name == "answer"


@pytest.mark.postgres
def test_postgresql_truncating_responses_needs_cascade(pg):
    eng, survey_id = pg
    with eng.begin() as conn:
        _answers(conn, _response(conn, survey_id))
    with pytest.raises(DBAPIError) as caught, eng.begin() as conn:
        conn.execute(text("TRUNCATE response"))
    assert caught.value.orig.sqlstate == "0A000"  # feature_not_supported: referenced table
    with eng.begin() as conn:
        conn.execute(text("TRUNCATE response CASCADE"))
        assert _count(conn) == 0


@pytest.mark.postgres
def test_postgresql_deleting_responses_deletes_answers_at_any_isolation_level(pg):
    eng, survey_id = pg
    with eng.begin() as conn:
        _answers(conn, _response(conn, survey_id))
    with eng.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        conn.execute(text("DELETE FROM response"))
        conn.commit()
    with eng.connect() as conn:
        assert _count(conn) == 0


def _blocked(eng: Any, statement: str, params: dict[str, Any]) -> bool:
    """Whether ``statement`` waits for a lock held by another transaction."""
    with eng.connect() as conn:
        conn.execute(text("SET lock_timeout = '300ms'"))
        try:
            conn.execute(text(statement), params)
        except DBAPIError as exc:
            if exc.orig.sqlstate == "55P03":  # lock_not_available
                conn.rollback()
                return True
            raise
        conn.rollback()
        return False


@pytest.mark.postgres
def test_postgresql_answers_lock_their_response_against_a_concurrent_delete(pg):
    """As a foreign key does: a transaction storing answers holds its response FOR KEY
    SHARE, so a delete waits, then deletes the answers committed meanwhile too."""
    eng, survey_id = pg
    with eng.begin() as conn:
        pk = _response(conn, survey_id)
    writer = eng.connect()
    writer.begin()
    _answers(writer, pk)
    assert _blocked(eng, "DELETE FROM response WHERE id = :pk", {"pk": pk})
    deleted = threading.Event()

    def delete() -> None:
        with eng.begin() as conn:
            conn.execute(text("DELETE FROM response WHERE id = :pk"), {"pk": pk})
        deleted.set()

    thread = threading.Thread(target=delete)
    thread.start()
    assert not deleted.wait(0.3)  # waiting for the writer
    writer.commit()
    writer.close()
    thread.join(10)
    assert deleted.is_set()
    with eng.connect() as conn:
        assert _count(conn) == 0  # no orphans


@pytest.mark.postgres
def test_postgresql_answers_to_a_response_being_deleted_fail(pg):
    eng, survey_id = pg
    with eng.begin() as conn:
        pk = _response(conn, survey_id)
    deleter = eng.connect()
    deleter.begin()
    deleter.execute(text("DELETE FROM response WHERE id = :pk"), {"pk": pk})
    assert _blocked(
        eng, "INSERT INTO answer (response_pk, \"column\", num) VALUES (:pk, 'a', 1)", {"pk": pk}
    )
    failed: list[BaseException] = []

    def write() -> None:
        try:
            with eng.begin() as conn:
                _answers(conn, pk)
        except IntegrityError as exc:
            failed.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    thread.join(0.3)
    deleter.commit()
    deleter.close()
    thread.join(10)
    assert len(failed) == 1
    with eng.connect() as conn:
        assert _count(conn) == 0


# -- migrations 0003 and 0004 keep the data, both ways ------------------------------------
def _fill(database: dbm.Database, q: Any) -> int:
    """A survey and a response with two answers, written at the schema the database is at
    (an old one: the survey row goes in through the reflected table, not today's model)."""
    from surveyapp.services.surveys import get_or_create_snapshot

    with database.write() as s:
        snapshot_id = get_or_create_snapshot(s, q).id
    survey = Table("survey", MetaData(), autoload_with=database.engine)
    with database.engine.begin() as conn:
        row = {"slug": "s", "snapshot_id": snapshot_id, "audience": q.audience,
               "languages": '["zh-Hans", "en"]', "status": "open", "access": "anonymous",
               "created_at": datetime.now(UTC).replace(tzinfo=None)}  # fmt: skip
        survey_id = conn.execute(insert(survey).values(row)).inserted_primary_key[0]
    with database.engine.begin() as conn:
        pk = _response(conn, survey_id)
        conn.execute(
            text('INSERT INTO answer (response_pk, "column", num, text) VALUES (:pk, :c, :n, :t)'),
            [
                {"pk": pk, "c": "q1", "n": 4.5, "t": None},
                {"pk": pk, "c": "q2", "n": None, "t": "好"},
            ],
        )
    return pk


def _rows(eng: Any) -> list[tuple[Any, ...]]:
    with eng.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text('SELECT response_pk, "column", num, text FROM answer ORDER BY "column"')
            )
        ]


@contextmanager
def _new_postgres_database() -> Iterator[dbm.Database]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"manyi_mig_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    database = dbm.Database(PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield database
    finally:
        database.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[dbm.Database]:
    if request.param == "sqlite":
        database = dbm.Database(f"sqlite:///{tmp_path / 'm.sqlite'}")
        yield database
        database.dispose()
        return
    request.getfixturevalue("postgres_url")  # skips (or fails in CI) when unreachable
    with _new_postgres_database() as database:
        yield database


def _downgrade(database: dbm.Database, revision: str) -> None:
    from alembic import command

    config = dbm.alembic_config(database.url)
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_migrations_0003_and_0004_keep_the_answers_both_ways(empty_database, minimal):
    database = empty_database
    postgres = database.engine.dialect.name == "postgresql"
    dbm.upgrade(database, "0002")
    pk = _fill(database, minimal)
    expected = [(pk, "q1", 4.5, None), (pk, "q2", None, "好")]

    def reference_holds() -> None:
        assert _rows(database.engine) == expected
        with pytest.raises(IntegrityError), database.engine.begin() as conn:
            _answers(conn, pk + 1000, ("x",))

    dbm.upgrade(database)
    reference_holds()
    if postgres:
        assert _reference(database) == (FOREIGN_KEY, [])
    _downgrade(database, "0003")
    reference_holds()
    if postgres:
        assert _reference(database) == ([], TRIGGERS_0003)
    dbm.upgrade(database)
    reference_holds()
    if postgres:
        assert _reference(database) == (FOREIGN_KEY, [])
    _downgrade(database, "0002")
    assert _rows(database.engine) == expected
    with database.engine.begin() as conn:  # answer.id is back and numbers new rows
        _answers(conn, pk, ("q3",))
        ids = conn.execute(text("SELECT id FROM answer ORDER BY id")).scalars().all()
    assert len(set(ids)) == 3
    dbm.upgrade(database)
    assert len(_rows(database.engine)) == 3
    if postgres:
        assert _reference(database) == (FOREIGN_KEY, [])
