"""Teams own studies and surveys; a session version per user ends every session at once;
API tokens of their own (expiry, scopes, revocation, last use).

- ``team`` and ``team_member``: who belongs to which team.
- ``study.team_id``, ``survey.team_id``: the owning team; existing rows stay unassigned
  (NULL, seen by every role as before) until an administrator gives them a team.
- ``user.session_version``: part of every session cookie's user id; raising it (log-out,
  password reset, role change, deactivation) ends every session of the user.
- ``study.retention_days``: days after which its invitations' recipients are purged.
- ``api_token``: any number of tokens per user. The one token a user had
  (``user.api_token_hash``) becomes a token named "migrated" with every scope and no
  expiry; the old column is emptied, not dropped (dropping a UNIQUE column needs SQLite's
  copy-and-move of the user table, whose foreign keys would null the audit log's users).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

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
    op.add_column("study", sa.Column("retention_days", sa.Integer(), nullable=True))
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user.id"], name=op.f("fk_api_token_user_id_user"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    op.create_index(op.f("ix_api_token_user_id"), "api_token", ["user_id"])
    user = sa.table(
        "user", sa.column("id", sa.Integer), sa.column("api_token_hash", sa.String)
    )
    token = sa.table(
        "api_token",
        sa.column("user_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("token_hash", sa.String),
        sa.column("scopes", sa.JSON),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(user.c.id, user.c.api_token_hash).where(user.c.api_token_hash.is_not(None))
    ).all()
    if rows:
        now = datetime.now(UTC)
        conn.execute(
            token.insert(),
            [
                {
                    "user_id": uid,
                    "name": "migrated",
                    "token_hash": hashed,
                    "scopes": ["read", "export", "manage"],
                    "created_at": now,
                }
                for uid, hashed in rows
            ],
        )
        conn.execute(user.update().values(api_token_hash=None))


def downgrade() -> None:
    op.drop_index(op.f("ix_api_token_user_id"), table_name="api_token")
    op.drop_table("api_token")  # the tokens are gone: issue new ones after a downgrade
    op.drop_column("study", "retention_days")
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
