"""response.values_json: each response's answers as one JSON object, for fast exports.

The Answer rows stay the normalised truth; ``values_json`` repeats them as
``{column: value}`` so an export reads one row per response instead of about fifty answer
rows (bench/README.md, "Exports"). Existing responses are backfilled here from their
Answer rows, in batches of responses.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:10:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000  # responses per backfill round trip

response = sa.table("response", sa.column("id", sa.Integer), sa.column("values_json", sa.Text))
answer = sa.table(
    "answer",
    sa.column("response_pk", sa.Integer),
    sa.column("column", sa.String),
    sa.column("num", sa.Float),
    sa.column("text", sa.Text),
)


def _encode(values: dict[str, Any]) -> str:
    # the encoding of surveyapp.models.encode_values, frozen here as of this revision
    out = {
        c: v if isinstance(v, str) or not float(v).is_integer() or abs(v) > 2**53 else int(v)
        for c, v in values.items()
    }
    return json.dumps(out, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def upgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("values_json", sa.Text(), nullable=True))

    conn = op.get_bind()
    last = 0
    while True:
        pks = (
            conn.execute(
                sa.select(response.c.id)
                .where(response.c.id > last)
                .order_by(response.c.id)
                .limit(BATCH)
            )
            .scalars()
            .all()
        )
        if not pks:
            break
        values: dict[int, dict[str, Any]] = {pk: {} for pk in pks}
        rows = conn.execute(
            sa.select(answer.c.response_pk, answer.c.column, answer.c.num, answer.c.text).where(
                answer.c.response_pk >= pks[0], answer.c.response_pk <= pks[-1]
            )
        )
        for pk, column, num, text in rows:
            if pk in values:
                values[pk][column] = text if text is not None else num
        conn.execute(
            response.update()
            .where(response.c.id == sa.bindparam("pk"))
            .values(values_json=sa.bindparam("vj")),
            [{"pk": pk, "vj": _encode(v)} for pk, v in values.items()],
        )
        last = pks[-1]


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("values_json")
