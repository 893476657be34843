"""study branding: organisation name, two colours and a logo per study.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (
    ("brand_name", sa.String(length=200)),
    ("brand_primary", sa.String(length=7)),
    ("brand_accent", sa.String(length=7)),
    ("brand_logo", sa.LargeBinary()),
    ("brand_logo_type", sa.String(length=20)),
    ("brand_logo_hash", sa.String(length=16)),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("study", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): the columns carry no constraint. A batch (table
    # copy) on SQLite would drop and re-create `study`, which cascades to its surveys and
    # rewrites team_id's foreign key so that 0005's downgrade can no longer drop it.
    for name, _type in reversed(COLUMNS):
        op.drop_column("study", name)
