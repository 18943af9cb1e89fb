"""The dataset's content hash kept in the database, so that ``cite`` reads it instead of
hashing every record on each call (issue 27: a MemoryError at a million records).

- ``derived_state.value``: the derived value, when the derived thing is one value. The
  row ``content_hash`` holds ``sha256:...`` of the load-format document
  (``kzdiplo.dataset.content_hash``), written by every load and seed in their own
  transaction, and trusted only while ``stale`` is false.
- Any write to a table the document is read from marks it stale, whoever writes (the
  loader, ``sqlite3``, ad-hoc SQL): on SQLite a trigger per table and event, on
  PostgreSQL one statement-level trigger per table. A stale hash is computed from the
  data by whoever needs it, as before.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every table the load-format document (kzdiplo.export.sections) is read from: all but
# the derived ones (derived_state, partner_totals_cache, the search index).
CONTENT = ("sources", "source_links", "sectors", "countries", "organizations", "agreements",
           "deals", "mineral_deposits", "infrastructure_projects", "events", "parties",
           "record_sectors", "citations", "discrepancies", "stage_changes",
           "deal_overlaps")  # fmt: skip
EVENTS = ("insert", "update", "delete")
MARK = "UPDATE derived_state SET stale = {true} WHERE name = 'content_hash' AND stale = {false}"
FUNCTION = f"""
CREATE FUNCTION content_hash_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {MARK.format(true="true", false="false")};
    RETURN NULL;
END $$"""


def _sqlite_triggers() -> list[tuple[str, str]]:
    return [
        (f"content_stale_{table}_{event}",
         f"CREATE TRIGGER content_stale_{table}_{event} AFTER {event.upper()} ON {table} "
         f"BEGIN {MARK.format(true=1, false=0)}; END")
        for table in CONTENT
        for event in EVENTS
    ]  # fmt: skip


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    op.add_column(
        "derived_state",
        sa.Column("value", sa.Text(), nullable=True,
                  comment="The derived value, when it is one value (the content hash)"),
    )  # fmt: skip
    op.execute("INSERT INTO derived_state (name, stale) VALUES ('content_hash', true)")
    if sqlite:
        for _, statement in _sqlite_triggers():
            op.execute(statement)
        return
    op.execute(FUNCTION)
    for table in CONTENT:
        op.execute(
            f"CREATE TRIGGER content_stale_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION content_hash_stale()"
        )


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name, _ in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        for table in CONTENT:
            op.execute(f"DROP TRIGGER IF EXISTS content_stale_{table} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS content_hash_stale()")
    op.execute("DELETE FROM derived_state WHERE name = 'content_hash'")
    if sqlite:
        op.execute("ALTER TABLE derived_state DROP COLUMN value")
    else:
        op.drop_column("derived_state", "value")
