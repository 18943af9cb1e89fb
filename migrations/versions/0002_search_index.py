"""Full-text search index (SQLite FTS5), kept in sync by triggers.

One document per record: its display name (``label``), its names and aliases (``title``) and its kind, summary,
notes, wording and every citation quote (``body``). The document id is
``record id * 8 + noun number``. Triggers on each record table and on ``citations``
re-index exactly the record that changed, so the index follows any write, including
ad-hoc SQL. PostgreSQL gets its own search structure in a later revision.

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


def _quotes(column: str) -> str:
    return (
        f"COALESCE((SELECT group_concat(ci.quote, ' ') FROM citations ci "
        f"WHERE ci.{column} = t.id), '')"
    )


def _text(*columns: str) -> str:
    def plain(column: str) -> str:
        if column == "aliases":  # a JSON list: index the names, not the brackets
            return "REPLACE(REPLACE(REPLACE(t.aliases, '[\"', ''), '\"]', ''), '\", \"', '; ')"
        return f"t.{column}"

    return " || ' ' || ".join(f"COALESCE({plain(c)}, '')" for c in columns)


# noun number, noun, table, key column, title expression, body expression, citation column
NOUNS = [
    (0, "agreement", "agreements", "slug", _text("title", "aliases"),
     _text("kind", "summary", "notes", "date_text") + " || ' ' || " + _quotes("agreement_id"),
     "agreement_id"),
    (1, "deal", "deals", "slug", _text("title"),
     _text("kind", "amount_text", "stake", "summary", "notes") + " || ' ' || "
     + _quotes("deal_id"), "deal_id"),
    (2, "deposit", "mineral_deposits", "slug", _text("name", "aliases"),
     _text("commodity", "status", "location", "summary", "notes") + " || ' ' || "
     + _quotes("deposit_id"), "deposit_id"),
    (3, "project", "infrastructure_projects", "slug", _text("name", "aliases"),
     _text("kind", "status", "capacity_text", "cost_text", "location", "summary", "notes")
     + " || ' ' || " + _quotes("project_id"), "project_id"),
    (4, "event", "events", "slug", _text("title"),
     _text("kind", "location", "date_text", "summary", "notes") + " || ' ' || "
     + _quotes("event_id"), "event_id"),
    (5, "partner", "countries", "code", _text("name", "official_name", "aliases", "code", "alpha3"),
     _text("relationship_level", "summary") + " || ' ' || " + _quotes("country_id"),
     "country_id"),
    (6, "partner", "organizations", "slug", _text("name", "aliases"),
     _text("kind", "summary") + " || ' ' || " + _quotes("organization_id"), "organization_id"),
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
    statements = []
    for number, noun, table, key, title, body, _ in NOUNS:
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
            for number, noun, table, key, title, text, column in NOUNS
        )
        statements.append(
            f"CREATE TRIGGER search_citations_{event.lower()} AFTER {event} ON citations "
            f"BEGIN\n{body}END"
        )
    return statements


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    documents = "\nUNION ALL\n".join(_document(*n[:6]) for n in NOUNS)
    op.execute(f"CREATE VIEW search_documents AS {documents}")
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
        return
    for statement in _triggers():
        name = statement.split()[2]
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS search_index")
    op.execute("DROP VIEW IF EXISTS search_documents")
