"""invitation: when its latest message was claimed (an interrupted one is released only
once the claim is older than the mailing's lease).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # nullable, no default: claims made before this revision have no time (treated as old)
    op.add_column(
        "invitation", sa.Column("mail_claimed_at", sa.DateTime(timezone=True), nullable=True)
    )


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): the column carries no constraint, so no batch
    # (table copy) of `invitation`, which the responses reference
    op.drop_column("invitation", "mail_claimed_at")
