"""response: one index serves the reads by survey and status (in id order, as before) and
the reports' data versions from the index alone (it replaces ix_response_survey_status,
its prefix).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 22:40:00
"""

from __future__ import annotations

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

COLUMNS = ["survey_id", "status", "id", "source", "quarantined", "updated_at"]


def upgrade() -> None:
    op.create_index("ix_response_version", "response", COLUMNS)
    op.drop_index("ix_response_survey_status", table_name="response")


def downgrade() -> None:
    op.create_index("ix_response_survey_status", "response", ["survey_id", "status"])
    op.drop_index("ix_response_version", table_name="response")
