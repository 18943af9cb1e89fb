"""Full-text search: one document per record (SQLite: an FTS5 index kept in sync by
triggers; PostgreSQL: the same documents as a view, searched with tsvector).

One document per record: its display name (``label``), its names and aliases (``title``) and its kind, summary,
notes, wording and every citation quote (``body``). The document id is
``record id * 8 + noun number``. Triggers on each record table and on ``citations``
re-index exactly the record that changed, so the index follows any write, including
ad-hoc SQL. On PostgreSQL ``search_documents`` is queried with ``to_tsvector`` directly.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _quotes(column: str, dialect: str) -> str:
    agg = "string_agg" if dialect == "postgresql" else "group_concat"
    return f"COALESCE((SELECT {agg}(ci.quote, ' ') FROM citations ci WHERE ci.{column} = t.id), '')"


def _text(dialect: str, *columns: str) -> str:
    def plain(column: str) -> str:
        if column == "aliases":  # a JSON list: index the names, not the brackets
            text = "t.aliases::text" if dialect == "postgresql" else "t.aliases"
            return f"REPLACE(REPLACE(REPLACE({text}, '[\"', ''), '\"]', ''), '\", \"', '; ')"
        return f"t.{column}"

    return " || ' ' || ".join(f"COALESCE({plain(c)}, '')" for c in columns)


def _nouns(dialect: str) -> list[tuple[int, str, str, str, str, str, str]]:
    """(noun number, noun, table, key column, title SQL, body SQL, citation column)."""

    def body(column: str, *columns: str) -> str:
        return _text(dialect, *columns) + " || ' ' || " + _quotes(column, dialect)

    return [
        (0, "agreement", "agreements", "slug", _text(dialect, "title", "aliases"),
         body("agreement_id", "kind", "summary", "notes", "date_text"), "agreement_id"),
        (1, "deal", "deals", "slug", _text(dialect, "title"),
         body("deal_id", "kind", "amount_text", "stake", "summary", "notes"), "deal_id"),
        (2, "deposit", "mineral_deposits", "slug", _text(dialect, "name", "aliases"),
         body("deposit_id", "commodity", "status", "location", "summary", "notes"), "deposit_id"),
        (3, "project", "infrastructure_projects", "slug", _text(dialect, "name", "aliases"),
         body("project_id", "kind", "status", "capacity_text", "cost_text", "location",
              "summary", "notes"), "project_id"),
        (4, "event", "events", "slug", _text(dialect, "title"),
         body("event_id", "kind", "location", "date_text", "summary", "notes"), "event_id"),
        (5, "partner", "countries", "code",
         _text(dialect, "name", "official_name", "aliases", "code", "alpha3"),
         body("country_id", "relationship_level", "summary"), "country_id"),
        (6, "partner", "organizations", "slug", _text(dialect, "name", "aliases"),
         body("organization_id", "kind", "summary"), "organization_id"),
    ]  # fmt: skip


def _document(number: int, noun: str, table: str, key: str, title: str, body: str) -> str:
    label = "t.title" if table in ("agreements", "deals", "events") else "t.name"
    return (
        f"SELECT t.id * 8 + {number} AS doc_id, '{noun}' AS noun, t.{key} AS key, "
        f"{label} AS label, {title} AS title, {body} AS body FROM {table} t"
    )


def _refresh(number: int, noun: str, table: str, key: str, title: str, body: str, id_: str) -> str:
    return (
        f"DELETE FROM search_index WHERE rowid = {id_} * 8 + {number};\n"
        f"INSERT INTO search_index (rowid, noun, key, label, title, body) "
        f"{_document(number, noun, table, key, title, body)} WHERE t.id = {id_};\n"
    )


def _triggers() -> list[str]:
    """The SQLite triggers that keep search_index in step with every record table."""
    nouns = _nouns("sqlite")
    statements = []
    for number, noun, table, key, title, body, _ in nouns:
        refresh = _refresh(number, noun, table, key, title, body, "NEW.id")
        statements += [
            f"CREATE TRIGGER search_{table}_ai AFTER INSERT ON {table} BEGIN\n{refresh}END",
            f"CREATE TRIGGER search_{table}_au AFTER UPDATE ON {table} BEGIN\n"
            f"DELETE FROM search_index WHERE rowid = OLD.id * 8 + {number};\n{refresh}END",
            f"CREATE TRIGGER search_{table}_ad AFTER DELETE ON {table} BEGIN\n"
            f"DELETE FROM search_index WHERE rowid = OLD.id * 8 + {number};\nEND",
        ]
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        body = "".join(
            _refresh(number, noun, table, key, title, text, f"{row}.{column}")
            for row in rows
            for number, noun, table, key, title, text, column in nouns
        )
        statements.append(
            f"CREATE TRIGGER search_citations_{event.lower()} AFTER {event} ON citations "
            f"BEGIN\n{body}END"
        )
    return statements


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    documents = "\nUNION ALL\n".join(_document(*n[:6]) for n in _nouns(dialect))
    op.execute(f"CREATE VIEW search_documents AS {documents}")
    if dialect != "sqlite":
        return
    op.execute(
        "CREATE VIRTUAL TABLE search_index USING fts5("
        "noun UNINDEXED, key UNINDEXED, label UNINDEXED, title, body, "
        "tokenize = 'porter unicode61 remove_diacritics 2')"
    )
    op.execute(
        "INSERT INTO search_index (rowid, noun, key, label, title, body) "
        "SELECT doc_id, noun, key, label, title, body FROM search_documents"
    )
    for statement in _triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.execute("DROP VIEW IF EXISTS search_documents")
        return
    for statement in _triggers():
        name = statement.split()[2]
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_index")
    op.execute("DROP VIEW IF EXISTS search_documents")
