"""answer: primary key (response_pk, column); on PostgreSQL the reference to the response
is kept by statement-level triggers instead of a per-row foreign key.

The surrogate ``answer.id`` served nothing (no code reads it) and cost a sequence and a
second index on every insert; the unique (response_pk, column) becomes the primary key.
SQLite stores the table WITHOUT ROWID, in that key's b-tree, and keeps its foreign key.

On PostgreSQL a foreign key checks each inserted row on its own: 55 look-ups and row
locks for one submitted SERVQUAL page, a third of the database's time per submission
(bench/README.md). The triggers below check all rows of a statement at once, with the
rules of the foreign key they replace:

- every answer inserted or updated refers to an existing response, locked FOR KEY SHARE
  as a foreign key locks it, so a concurrent delete waits for the transaction; a missing
  one raises foreign_key_violation (SQLSTATE 23503) naming the old constraint;
- deleting responses deletes their answers (ON DELETE CASCADE); TRUNCATE of response
  empties answer;
- a response's id never changes.

The cascade reads the answers with a fresh snapshot, so it refuses to run in a REPEATABLE
READ or SERIALIZABLE transaction (SQLSTATE 55000), whose snapshot could miss answers
committed since it began; a foreign key there raises a serialization failure when that
happens. The models name the replaced constraint in ``NOT_ON_POSTGRESQL``; tests in
``tests/surveyapp/test_answer_reference.py``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FK = "fk_answer_response_pk_response"

PG_CREATE = (
    # one index probe per response (a page's answers all belong to one), whatever the
    # planner would guess of a transition table's size
    """CREATE FUNCTION answer_response_exists() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    pk integer;
BEGIN
    FOR pk IN SELECT DISTINCT response_pk FROM new_answers LOOP
        PERFORM FROM response WHERE id = pk FOR KEY SHARE;
        IF NOT FOUND THEN
            RAISE foreign_key_violation USING
                MESSAGE = format('insert or update on table "answer": response %s is missing', pk),
                DETAIL = 'Every answer.response_pk must be the id of a row of "response".',
                TABLE = 'answer', CONSTRAINT = 'fk_answer_response_pk_response';
        END IF;
    END LOOP;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER answer_response_exists_insert AFTER INSERT ON answer "
    "REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT "
    "EXECUTE FUNCTION answer_response_exists()",
    "CREATE TRIGGER answer_response_exists_update AFTER UPDATE ON answer "
    "REFERENCING NEW TABLE AS new_answers FOR EACH STATEMENT "
    "EXECUTE FUNCTION answer_response_exists()",
    """CREATE FUNCTION response_delete_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('transaction_isolation') <> 'read committed' THEN
        RAISE object_not_in_prerequisite_state USING
            MESSAGE = 'responses can only be deleted in a READ COMMITTED transaction',
            HINT = 'Its snapshot could miss answers committed since it began; delete '
                   'them in READ COMMITTED, PostgreSQL''s default.';
    END IF;
    DELETE FROM answer WHERE response_pk IN (SELECT id FROM old_responses);
    RETURN NULL;
END $$""",
    "CREATE TRIGGER response_delete_answers AFTER DELETE ON response "
    "REFERENCING OLD TABLE AS old_responses FOR EACH STATEMENT "
    "EXECUTE FUNCTION response_delete_answers()",
    """CREATE FUNCTION response_truncate_answers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: the same TRUNCATE command may be emptying answer already
    DELETE FROM answer;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER response_truncate_answers AFTER TRUNCATE ON response "
    "FOR EACH STATEMENT EXECUTE FUNCTION response_truncate_answers()",
    """CREATE FUNCTION response_id_kept() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE foreign_key_violation USING
        MESSAGE = 'the id of a response never changes (its answers refer to it)',
        TABLE = 'response', CONSTRAINT = 'fk_answer_response_pk_response';
END $$""",
    "CREATE TRIGGER response_id_kept BEFORE UPDATE OF id ON response FOR EACH ROW "
    "WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION response_id_kept()",
)
PG_DROP = (
    "DROP TRIGGER response_id_kept ON response",
    "DROP TRIGGER response_truncate_answers ON response",
    "DROP TRIGGER response_delete_answers ON response",
    "DROP TRIGGER answer_response_exists_update ON answer",
    "DROP TRIGGER answer_response_exists_insert ON answer",
    "DROP FUNCTION response_id_kept()",
    "DROP FUNCTION response_truncate_answers()",
    "DROP FUNCTION response_delete_answers()",
    "DROP FUNCTION answer_response_exists()",
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.drop_constraint(FK, "answer", type_="foreignkey")
    # SQLite rebuilds the table (keeping its foreign key), WITHOUT ROWID
    with op.batch_alter_table("answer", table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        batch_op.drop_constraint("uq_answer_response_column", type_="unique")
        batch_op.drop_constraint("pk_answer", type_="primary")
        batch_op.drop_column("id")
        batch_op.create_primary_key("pk_answer", ["response_pk", "column"])
    if postgres:
        for statement in PG_CREATE:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in PG_DROP:
            op.execute(statement)
        op.drop_constraint("pk_answer", "answer", type_="primary")
        op.execute("ALTER TABLE answer ADD COLUMN id SERIAL")  # numbers the rows as 0001 did
        op.create_primary_key("pk_answer", "answer", ["id"])
        op.create_unique_constraint("uq_answer_response_column", "answer", ["response_pk", "column"])
        op.create_foreign_key(FK, "answer", "response", ["response_pk"], ["id"], ondelete="CASCADE")
        return
    with op.batch_alter_table(
        "answer", recreate="always", table_kwargs={"sqlite_with_rowid": True}
    ) as batch_op:
        batch_op.drop_constraint("pk_answer", type_="primary")
        # copied rows give the new INTEGER PRIMARY KEY no value: SQLite numbers them
        batch_op.add_column(sa.Column("id", sa.Integer(), nullable=False))
        batch_op.create_primary_key("pk_answer", ["id"])
        batch_op.create_unique_constraint("uq_answer_response_column", ["response_pk", "column"])
