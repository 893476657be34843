"""response: the columns not applicable to it and the item order each random page showed.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = (
    # the answer columns of items hidden by a display condition (stored at completion)
    ("not_applicable", sa.JSON()),
    # page id -> the item ids in the order shown, for pages with a random order
    ("shown_order", sa.JSON()),
)


def upgrade() -> None:
    for name, type_ in COLUMNS:
        op.add_column("response", sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    # plain DROP COLUMN (SQLite >= 3.35): the columns carry no constraint; a batch (table
    # copy) would re-create `response` and cascade to its answers
    for name, _type in reversed(COLUMNS):
        op.drop_column("response", name)
