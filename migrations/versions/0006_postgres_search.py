"""PostgreSQL at scale: a search table with a GIN index; the partners cache in use.

Until now PostgreSQL searched the ``search_documents`` view (migration 0002) with
``to_tsvector`` computed for every document on every search: a full scan, seconds at a
million records (docs/benchmarks-postgres.md). This revision gives PostgreSQL what
SQLite has had since 0002: a ``search_index`` table holding each record's document
(the view's rows, same ``doc_id``), with a generated ``document`` tsvector column
(``to_tsvector('english', title || ' ' || body)``, the expression the search used) and
a GIN index on it, kept in step by triggers: one per record table (its own document)
and one on ``citations`` (the documents of the records a quote belongs to). Each
trigger re-reads the record's row from the view, so the documents stay exactly the
view's. On SQLite this revision does nothing (FTS5 already serves search there).

The table is left out of the model comparison like SQLite's (``search_index*``,
migrations/env.py). TRUNCATE of a record table does not reach it (row triggers).

The partners cache (``partner_totals_cache``, migration 0005) was only read on SQLite,
where triggers mark it stale; PostgreSQL ran the live aggregate over every party row
(seconds at a million agreements). Statement-level triggers now mark it stale here too,
on any write to the tables it is derived from, so ``kzdiplo partners`` reads the cache
while it is fresh. The upgrade marks it stale (writes before it were not tracked); the
next load or seed rebuilds it.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (noun number in doc_id = id * 8 + number, table, key column, citations column):
# the numbering of migration 0002's search_documents view.
RECORDS = [
    (0, "agreements", "slug", "agreement_id"),
    (1, "deals", "slug", "deal_id"),
    (2, "mineral_deposits", "slug", "deposit_id"),
    (3, "infrastructure_projects", "slug", "project_id"),
    (4, "events", "slug", "event_id"),
    (5, "countries", "code", "country_id"),
    (6, "organizations", "slug", "organization_id"),
]

TABLE = """
CREATE TABLE search_index (
    doc_id bigint PRIMARY KEY,
    noun text NOT NULL,
    key text NOT NULL,
    label text,
    title text NOT NULL,
    body text NOT NULL,
    document tsvector NOT NULL
        GENERATED ALWAYS AS (to_tsvector('english'::regconfig, title || ' ' || body)) STORED
)"""

# Replace one document with the view's current row (none when the record is gone). The
# key lets the planner push the filter into the view's UNION ALL branches as an index
# lookup on each table's unique key; doc_id picks the one branch.
REFRESH = """
CREATE FUNCTION search_index_refresh(doc bigint, doc_key text) RETURNS void
LANGUAGE sql AS $$
    DELETE FROM search_index WHERE doc_id = doc;
    INSERT INTO search_index (doc_id, noun, key, label, title, body)
    SELECT doc_id, noun, key, label, title, body FROM search_documents
    WHERE key = doc_key AND doc_id = doc;
$$"""


def _record_trigger(number: int, table: str, key: str) -> list[str]:
    return [
        f"""CREATE FUNCTION search_index_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        DELETE FROM search_index WHERE doc_id = OLD.id * 8 + {number};
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM search_index_refresh(NEW.id * 8 + {number}, NEW.{key});
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER search_index_{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION search_index_{table}()",
    ]


def _citation_trigger() -> list[str]:
    def refresh(row: str) -> str:
        return "".join(
            f"        IF {row}.{column} IS NOT NULL THEN\n"
            f"            PERFORM search_index_refresh({row}.{column} * 8 + {number}, "
            f"(SELECT {key} FROM {table} WHERE id = {row}.{column}));\n"
            f"        END IF;\n"
            for number, table, key, column in RECORDS
        )

    return [
        f"""CREATE FUNCTION search_index_citations() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
{refresh("OLD")}    END IF;
    IF TG_OP <> 'DELETE' THEN
{refresh("NEW")}    END IF;
    RETURN NULL;
END $$""",
        "CREATE TRIGGER search_index_citations AFTER INSERT OR UPDATE OR DELETE ON citations "
        "FOR EACH ROW EXECUTE FUNCTION search_index_citations()",
    ]


# The tables the partners cache is derived from (migration 0005's SOURCES).
DERIVED_FROM = ("parties", "agreements", "deals", "organizations", "citations")
STALE = """
CREATE FUNCTION derived_stale() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE derived_state SET stale = true WHERE name = 'partner_totals' AND NOT stale;
    RETURN NULL;
END $$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(STALE)
    for table in DERIVED_FROM:
        op.execute(
            f"CREATE TRIGGER derived_stale_{table} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION derived_stale()"
        )
    op.execute("UPDATE derived_state SET stale = true WHERE name = 'partner_totals'")
    op.execute(TABLE)
    op.execute(
        "INSERT INTO search_index (doc_id, noun, key, label, title, body) "
        "SELECT doc_id, noun, key, label, title, body FROM search_documents"
    )
    op.execute("CREATE INDEX ix_search_index_document ON search_index USING gin (document)")
    op.execute(REFRESH)
    for number, table, key, _ in RECORDS:
        for statement in _record_trigger(number, table, key):
            op.execute(statement)
    for statement in _citation_trigger():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for _, table, _, _ in [*RECORDS, (0, "citations", "", "")]:
        op.execute(f"DROP TRIGGER IF EXISTS search_index_{table} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS search_index_{table}()")
    op.execute("DROP FUNCTION IF EXISTS search_index_refresh(bigint, text)")
    op.execute("DROP TABLE IF EXISTS search_index")
    for table in DERIVED_FROM:
        op.execute(f"DROP TRIGGER IF EXISTS derived_stale_{table} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS derived_stale()")
