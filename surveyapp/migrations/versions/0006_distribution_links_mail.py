"""Distribution: public links per branch or channel, e-mail state per invitation, opt-outs.

- ``survey_link``: a short code per survey and branch/channel (QR codes, posters);
- ``invitation``: how many mails were claimed and sent (the idempotency of a restarted
  send), when, and the last failure;
- ``opt_out``: addresses that asked for no more mail.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "survey_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=40), nullable=False),
        sa.Column("segments", sa.JSON(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_survey_link_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["survey.id"],
            name=op.f("fk_survey_link_survey_id_survey"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_link")),
        sa.UniqueConstraint("code", name=op.f("uq_survey_link_code")),
    )
    op.create_index(op.f("ix_survey_link_survey_id"), "survey_link", ["survey_id"])
    op.create_table(
        "opt_out",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["invitation.id"],
            name=op.f("fk_opt_out_invitation_id_invitation"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_out")),
        sa.UniqueConstraint("address", name=op.f("uq_opt_out_address")),
    )
    with op.batch_alter_table("invitation") as batch:
        batch.add_column(sa.Column("mails_claimed", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("mails_sent", sa.Integer(), server_default="0", nullable=False))
        batch.add_column(sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_mailed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("mail_error", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column("mail_failed", sa.Boolean(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("invitation") as batch:
        for name in (
            "mail_failed",
            "mail_error",
            "last_mailed_at",
            "sent_at",
            "mails_sent",
            "mails_claimed",
        ):
            batch.drop_column(name)
    op.drop_table("opt_out")
    op.drop_index(op.f("ix_survey_link_survey_id"), table_name="survey_link")
    op.drop_table("survey_link")
