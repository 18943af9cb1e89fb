"""What keeps the commands flat at scale (issue 27), checked by structure, never by time:
the plan SQLite chooses for a slug lookup, the statements a load sends, and where
`cite` takes the dataset's hash from. Timings live in benchmarks/run.py."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kzdiplo import queries
from kzdiplo.cite import _find
from kzdiplo.entities import ENTITIES
from kzdiplo.reader import SqliteReader


def _plan(conn: sqlite3.Connection, sql: str) -> str:
    return " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize("noun", [*ENTITIES, "source"])
def test_show_finds_a_slug_by_seeking_its_index(seeded_db: Path, noun: str) -> None:
    """`show NOUN SLUG` (in any case) seeks the slug's unique index: a scan of the
    index (the old `lower(slug) = lower(:key)`) costs time in proportion to the table."""
    reader = SqliteReader(seeded_db)
    table = ENTITIES[noun].table if noun in ENTITIES else "sources"
    slug = reader.rows(f"SELECT slug FROM {table} ORDER BY id LIMIT 1")[0]["slug"]
    sent: list[str] = []
    reader.conn.set_trace_callback(sent.append)  # expanded SQL: parameters inlined
    if noun == "source":
        record = queries.get_source(reader, slug.upper())
    else:
        record = queries.get_record(reader, ENTITIES[noun], slug.upper())
    reader.conn.set_trace_callback(None)
    assert record["slug"] == slug
    plan = _plan(reader.conn, sent[0])  # the lookup is the first statement sent
    reader.close()
    assert "SEARCH" in plan and "INDEX" in plan and "SCAN" not in plan, (sent[0], plan)


def test_cite_finds_a_slug_by_seeking_every_table(seeded_db: Path) -> None:
    reader = SqliteReader(seeded_db)
    slug = reader.rows("SELECT slug FROM deals ORDER BY id LIMIT 1")[0]["slug"]
    sent: list[str] = []
    reader.conn.set_trace_callback(sent.append)
    assert _find(reader, slug) == [("deal", slug)]
    reader.conn.set_trace_callback(None)
    assert len(sent) == len(ENTITIES)  # one statement per table: no fallback scan
    for statement in sent:
        plan = _plan(reader.conn, statement)
        assert "SCAN" not in plan, (statement, plan)
    reader.close()


def test_a_slug_written_in_capitals_through_sql_is_still_found(seeded_db: Path) -> None:
    """The seek relies on loaded slugs being lower case; a slug changed by hand through
    ad-hoc SQL is found by the fallback, as before."""
    with sqlite3.connect(seeded_db) as conn:
        slug = conn.execute("SELECT slug FROM events ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE events SET slug = upper(slug) WHERE slug = ?", (slug,))
    reader = SqliteReader(seeded_db)
    assert queries.get_record(reader, ENTITIES["event"], slug)["slug"] == slug.upper()
    assert _find(reader, slug) == [("event", slug.upper())]
    reader.close()
