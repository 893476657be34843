"""Storage: the Alembic migration, the constraints that carry the guarantees, config."""

from __future__ import annotations

import os
import stat
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from surveyapp import config as cfg
from surveyapp import create_app
from surveyapp import db as dbm
from surveyapp import models as m
from surveyapp.services.surveys import create_survey, get_or_create_snapshot
from tests.surveyapp.conftest import add_survey


def _diff(database: dbm.Database) -> list:
    with database.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), m.Base.metadata)


def test_migration_builds_exactly_the_models_on_sqlite(tmp_path):
    database = dbm.Database(f"sqlite:///{tmp_path / 'mig.sqlite'}")
    assert dbm.current_revision(database) is None
    dbm.upgrade(database)
    assert dbm.current_revision(database) == dbm.head_revision()
    assert _diff(database) == []
    dbm.upgrade(database)  # idempotent
    database.dispose()


@pytest.mark.postgres
def test_migration_builds_exactly_the_models_on_postgresql(postgres_url):
    database = dbm.Database(postgres_url)
    assert dbm.current_revision(database) == dbm.head_revision()
    assert _diff(database) == []
    database.dispose()


def test_sqlite_connections_use_wal_and_foreign_keys(app):
    with app.extensions["manyi_db"].engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 10_000


def test_sqlite_checkpoint_interval_is_a_setting(tmp_path):
    from tests.surveyapp.conftest import make_app

    app = make_app({"DATABASE": tmp_path / "t.sqlite"}, SQLITE_WAL_AUTOCHECKPOINT=500)
    with app.extensions["manyi_db"].engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 500


def test_one_completed_response_per_invitation_is_a_database_rule(any_app, minimal):
    _, [token] = add_survey(any_app, minimal, invitations=1)
    db = any_app.extensions["manyi_db"]
    with db.write() as s:
        inv = s.scalar(select(m.Invitation).where(m.Invitation.token == token))
        for rid in ("a", "b"):  # two partial responses of one invitation are fine
            s.add(
                m.Response(
                    response_id=rid, survey_id=inv.survey_id, invitation_id=inv.id, language="en"
                )
            )

    def complete_both() -> None:
        with db.write() as s:
            for r in s.scalars(select(m.Response)).all():
                r.status = "complete"
                r.completed_invitation_id = r.invitation_id

    with pytest.raises(IntegrityError):
        complete_both()
    with db.sessions() as s:  # rolled back as a whole
        assert {r.status for r in s.scalars(select(m.Response))} == {"partial"}


def test_response_id_is_unique(any_app, minimal):
    survey_id, _ = add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]
    with db.write() as s:
        s.add(m.Response(response_id="x", survey_id=survey_id, language="en"))
    with pytest.raises(IntegrityError), db.write() as s:
        s.add(m.Response(response_id="x", survey_id=survey_id, language="en"))


@pytest.mark.parametrize(("num", "text"), [(None, None), (1.0, "a")])
def test_answer_holds_exactly_one_value(any_app, minimal, num, text):
    survey_id, _ = add_survey(any_app, minimal)
    db = any_app.extensions["manyi_db"]

    def store() -> None:
        with db.write() as s:
            r = m.Response(response_id="x", survey_id=survey_id, language="en")
            s.add(r)
            s.flush()
            s.add(m.Answer(response_pk=r.id, column="sat", num=num, text=text))

    with pytest.raises(IntegrityError):
        store()


def test_snapshot_is_stored_once_and_reloads_the_same_instrument(app, minimal):
    db = app.extensions["manyi_db"]
    with db.write() as s:
        a = create_survey(s, minimal, slug="w1", wave="2026-Q1")
        b = create_survey(s, minimal, slug="w2", wave="2026-Q2")
        assert a.snapshot_id == b.snapshot_id
        assert get_or_create_snapshot(s, minimal).id == a.snapshot_id
    with db.sessions() as s:
        snap = s.scalar(select(m.QuestionnaireSnapshot))
        q = snap.questionnaire()
        assert q.columns() == minimal.columns()
        assert snap.content_hash == minimal.content_hash


def test_bad_slug_is_refused(app, minimal):
    with pytest.raises(ValueError, match="slug must be"), app.extensions["manyi_db"].write() as s:
        create_survey(s, minimal, slug="a b/c")


def test_utc_datetimes_round_trip_aware(app, minimal):
    survey_id, _ = add_survey(app, minimal)
    with app.extensions["manyi_db"].sessions() as s:
        created = s.get(m.Survey, survey_id).created_at
    assert created.tzinfo is not None

    def store_naive() -> None:
        with app.extensions["manyi_db"].write() as s:
            s.get(m.Survey, survey_id).opens_at = datetime(2026, 1, 1)  # noqa: DTZ001

    with pytest.raises(StatementError, match="naive datetime"):
        store_naive()


# -- configuration ------------------------------------------------------------------------
def test_environment_settings(monkeypatch, tmp_path):
    monkeypatch.setenv("MANYI_MIN_SECONDS", "12.5")
    monkeypatch.setenv("MANYI_HSTS", "yes")
    monkeypatch.setenv("MANYI_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    settings = cfg.build({"INSTANCE_PATH": tmp_path})
    assert settings["MIN_SECONDS"] == 12.5
    assert settings["HSTS"] is True
    assert settings["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/0"
    assert settings["SQLALCHEMY_URL"] == "postgresql+psycopg://u@h/db"
    assert settings["SECRET_KEY"] == "s3cret"


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [("MANYI_HSTS", "maybe", "MANYI_HSTS must be one of"), ("MANYI_MIN_SECONDS", "x", "float")],
)
def test_bad_environment_values_are_named(monkeypatch, tmp_path, name, value, match):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=match):
        cfg.build({"INSTANCE_PATH": tmp_path})


def test_secret_key_is_generated_once_and_private(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MANYI_INSTANCE", str(tmp_path / "inst"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    a = create_app({"TESTING": True})
    b = create_app({"TESTING": True})
    key = tmp_path / "inst" / "secret_key"
    assert a.secret_key == b.secret_key == key.read_text().strip()
    assert len(a.secret_key) == 64
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert a.config["SQLALCHEMY_URL"] == f"sqlite:///{tmp_path / 'inst' / 'manyi.sqlite'}"


def test_default_instance_folder_is_in_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("MANYI_INSTANCE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cfg.instance_path() == tmp_path.resolve() / "instance"


def test_sqlite_wal_is_checkpointed_outside_commits(tmp_path, minimal, monkeypatch):
    """Every CHECKPOINT_EVERY write transactions a process copies the WAL back (a
    PASSIVE checkpoint after the writer lock is released), so with SQLite's own
    checkpoints off the WAL is reused instead of growing with every response."""
    import uuid

    from surveyapp import db as dbm
    from tests.surveyapp.conftest import VALID, add_survey, make_app, post_page

    def wal_after(posts: int, every: int) -> int:
        monkeypatch.setattr(dbm, "CHECKPOINT_EVERY", every)
        folder = tmp_path / f"every{every}"
        folder.mkdir()
        app = make_app({"DATABASE": folder / "t.sqlite"}, SQLITE_WAL_AUTOCHECKPOINT=0)
        add_survey(app, minimal)
        client = app.test_client()
        for _ in range(posts):
            assert post_page(client, "/s/demo", str(uuid.uuid4()), VALID).status_code == 303
        size = (folder / "t.sqlite-wal").stat().st_size
        app.extensions["manyi_db"].dispose()
        return size

    grown = wal_after(60, every=10_000)  # never checkpointed
    reused = wal_after(60, every=5)
    assert reused < grown / 3
