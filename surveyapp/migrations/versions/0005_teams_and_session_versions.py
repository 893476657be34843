"""Teams own studies and surveys; a session version per user ends every session at once.

- ``team`` and ``team_member``: who belongs to which team.
- ``study.team_id``, ``survey.team_id``: the owning team; existing rows stay unassigned
  (NULL, seen by every role as before) until an administrator gives them a team.
- ``user.session_version``: part of every session cookie's user id; raising it (log-out,
  password reset, role change, deactivation) ends every session of the user.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("name", name=op.f("uq_team_name")),
    )
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_team_member_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_member")),
    )
    op.create_index(op.f("ix_team_member_user_id"), "team_member", ["user_id"])
    # ALTER TABLE ... ADD COLUMN with the foreign key inline, never a batch "move and
    # copy": on SQLite that drops the old table, and ON DELETE CASCADE would empty the
    # tables that refer to it (responses, invitations)
    # (Alembic's add_column takes no foreign key on SQLite: SQLite's own DDL does. No ON
    # DELETE: a team that still owns a study or survey cannot be deleted)
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("study", "survey"):
        fk = f"fk_{table}_team_id_team"
        if sqlite:
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN team_id INTEGER "
                f"CONSTRAINT {fk} REFERENCES team (id)"
            )
        else:
            op.add_column(table, sa.Column("team_id", sa.Integer(), nullable=True))
            op.create_foreign_key(op.f(fk), table, "team", ["team_id"], ["id"])
        op.create_index(op.f(f"ix_{table}_team_id"), table, ["team_id"])
    op.add_column(
        "user", sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
    )


def downgrade() -> None:
    op.drop_column("user", "session_version")
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in ("survey", "study"):
        op.drop_index(op.f(f"ix_{table}_team_id"), table_name=table)
        if not sqlite:
            op.drop_constraint(op.f(f"fk_{table}_team_id_team"), table, type_="foreignkey")
        op.drop_column(table, "team_id")
    op.drop_index(op.f("ix_team_member_user_id"), table_name="team_member")
    op.drop_table("team_member")
    op.drop_table("team")
