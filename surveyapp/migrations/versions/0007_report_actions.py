"""report_action: improvement actions decided from a report's "fix first"; gap_owner: the
team that owns each gap in a study.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_action",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=True),
        sa.Column("gap", sa.String(length=20), nullable=True),
        sa.Column("dimension", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.Column("due_wave", sa.String(length=50), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_report_action_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["study_id"],
            ["study.id"],
            name=op.f("fk_report_action_study_id_study"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_report_action_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_action")),
    )
    with op.batch_alter_table("report_action", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_report_action_study_id"), ["study_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_report_action_survey_id"), ["survey_id"], unique=False)

    op.create_table(
        "gap_owner",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("gap", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["study.id"], name=op.f("fk_gap_owner_study_id_study"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gap_owner")),
        sa.UniqueConstraint("study_id", "gap", name="uq_gap_owner_study_gap"),
    )


def downgrade() -> None:
    op.drop_table("gap_owner")
    with op.batch_alter_table("report_action", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_report_action_survey_id"))
        batch_op.drop_index(batch_op.f("ix_report_action_study_id"))
    op.drop_table("report_action")
