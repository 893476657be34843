"""answer -> response: the FOREIGN KEY (ON DELETE CASCADE) again on PostgreSQL, instead
of the statement-level triggers of migration 0003.

The triggers saved a fraction of a millisecond per submission at the price of PL/pgSQL
that re-implements what the database's own constraint guarantees (issue 14). SQLite kept
its foreign key throughout and is not touched. The answer table keeps 0003's primary key
(response_pk, column).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from typing import Any

from alembic import context, op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FK = "fk_answer_response_pk_response"


def _migration_0003() -> Any:
    """Migration 0003's module, whose trigger statements this one drops and restores."""
    revision_0003 = context.script.get_revision("0003")
    if revision_0003 is None:  # pragma: no cover - it ships with this one
        msg = "migration 0003 is missing from the scripts folder"
        raise RuntimeError(msg)
    return revision_0003.module


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for statement in _migration_0003().PG_DROP:
        op.execute(statement)
    op.create_foreign_key(FK, "answer", "response", ["response_pk"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_constraint(FK, "answer", type_="foreignkey")
    for statement in _migration_0003().PG_CREATE:
        op.execute(statement)
