"""Migration 0011 on SQLite and PostgreSQL: search documents keep fields apart (and
find what they found), the timeline view is in date order, and every view joins on
(record_type, record_key). The PostgreSQL cases run under scripts/with-postgres.sh."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kzdiplo.checks import search_index, search_triggers
from kzdiplo.config import sqlite_url
from kzdiplo.db import make_engine
from kzdiplo.migrate import current_revision, downgrade, upgrade
from kzdiplo.queries import search
from kzdiplo.reader import Reader, SqlAlchemyReader, SqliteReader
from tests.test_postgres import ADMIN_URL, pg_template, pg_url  # noqa: F401 (fixtures)

SEPARATOR = "\n"  # between fields in a document
SHOWN = " | "  # what a snippet shows for it
SLUG = "kz-us-washington-29-agreements"
# Words, prefixes, phrases and operators: what each finds, and its score, must not move.
SEARCHES = ("Astana", "agreement", "oil OR gas", "uranium", "Kazakhstan", "summit",
            '"strategic partnership"', "rare*", "China NOT Russia", "minerals", "Tokayev",
            "Boeing", "billion", "Kazakhstan Washington", "nuclear energy")  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def url(request: pytest.FixtureRequest, seeded_db: Path) -> Iterator[str]:
    """A private seeded database at head on each backend."""
    if request.param == "sqlite":
        yield sqlite_url(seeded_db)
    else:
        if not ADMIN_URL:
            pytest.skip("set KZDIPLO_TEST_POSTGRES_URL (scripts/with-postgres.sh) to run")
        yield request.getfixturevalue("pg_url")


def _reader(url: str) -> Reader:
    return SqliteReader(Path(url.removeprefix("sqlite:///"))) if url.startswith("sqlite") \
        else SqlAlchemyReader(url)  # fmt: skip


def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    reader = _reader(url)
    try:
        return reader.rows(sql)
    finally:
        reader.close()


def _write(url: str, *statements: str) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def _found(url: str) -> tuple[dict[str, list[tuple[str, str, float]]], list[str]]:
    """What each search finds, with scores; and the first page's snippets."""
    reader = _reader(url)
    try:
        found = {
            words: [(r["noun"], r["key"], r["score"]) for r in search(reader, words, 10_000)]
            for words in SEARCHES
        }
        return found, [r["snippet"] for words in SEARCHES for r in search(reader, words)]
    finally:
        reader.close()


def _spaced(snippet: str) -> str:
    """A snippet with the field marks as the spaces 0010 had (runs of spaces as one, none
    at the ends), without the "[]" of an empty aliases list and the spaces of empty fields
    that 0010 kept (a match is never an empty "[]")."""
    return re.sub(" +", " ", snippet.replace(SHOWN, " ").replace("[]", "")).strip()


def _indexed_words(url: str) -> list[tuple[Any, ...]]:
    """Every indexed word with its document and position: SQLite's FTS5 instances,
    PostgreSQL's stored tsvectors."""
    if url.startswith("sqlite"):
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(
                    "CREATE VIRTUAL TABLE temp.words USING fts5vocab(main, search_index, instance)"
                )
                return [tuple(r) for r in conn.exec_driver_sql(
                    "SELECT doc, col, offset, term FROM temp.words ORDER BY doc, col, offset")]  # fmt: skip
        finally:
            engine.dispose()
    return [tuple(r.values()) for r in _rows(
        url, "SELECT doc_id, document::text AS words FROM search_index ORDER BY doc_id")]  # fmt: skip


def _healthy(url: str) -> None:
    reader = _reader(url)
    try:
        assert search_index(reader) == [] and search_triggers(reader) == []
    finally:
        reader.close()


# --- search ----------------------------------------------------------------------------


def test_snippets_show_where_one_field_ends(url: str) -> None:
    """A match near a field's end shows the separator before the next field, in the
    snippet of an existing document and of one that a trigger wrote after the upgrade."""
    snippets = [h["snippet"] for h in _search(url, "Astana")]
    assert any(SHOWN in s for s in snippets) and not any("\n" in s for s in snippets)
    _write(url, f"UPDATE agreements SET summary = 'zanzibarite pact', notes = 'quokkanote "
                f"remarks' WHERE slug = '{SLUG}'")  # fmt: skip
    hits = _search(url, "zanzibarite")
    assert [h["key"] for h in hits] == [SLUG]
    assert f"pact{SHOWN}quokkanote" in hits[0]["snippet"].replace("[", "").replace("]", "")
    body = _rows(url, f"SELECT body FROM search_documents WHERE key = '{SLUG}'")[0]["body"]
    assert body.startswith(f"package{SEPARATOR}zanzibarite pact{SEPARATOR}quokkanote remarks")
    assert f"{SEPARATOR}{SEPARATOR}" not in body  # empty fields leave no gap
    if not url.startswith("sqlite"):  # ts_headline runs over title and body together
        _write(url, f"UPDATE agreements SET title = 'Quokkatitle accord', aliases = '[]' "
                    f"WHERE slug = '{SLUG}'")  # fmt: skip
        snippet = _search(url, "quokkatitle")[0]["snippet"]
        assert f"accord{SHOWN}package{SHOWN}zanzibarite" in snippet, snippet
    _healthy(url)


def _search(url: str, words: str) -> list[dict[str, Any]]:
    reader = _reader(url)
    try:
        return search(reader, words)
    finally:
        reader.close()


@pytest.mark.slow
def test_search_finds_the_same_before_and_after(url: str) -> None:
    """From 0010 with the seeded data in place: the upgrade changes the documents' text
    but not one indexed word or position, so every search finds the same records with
    the same scores; the downgrade gives 0010's documents back."""
    downgrade(url, "0010")
    old_documents = _rows(url, "SELECT doc_id, title, body FROM search_documents ORDER BY doc_id")
    assert not any(SEPARATOR in d["body"] for d in old_documents)
    (before, old_snippets), words = _found(url), _indexed_words(url)
    assert all(before.values()) and len(words) >= len(old_documents)
    _healthy(url)
    upgrade(url, "0011")  # 0014 changes words on purpose (ё as е; PostgreSQL folds case)
    documents = _rows(url, "SELECT doc_id, title, body FROM search_documents ORDER BY doc_id")
    assert [d["doc_id"] for d in documents] == [d["doc_id"] for d in old_documents]
    assert sum(SEPARATOR in d["title"] + d["body"] for d in documents) > len(documents) / 2
    assert _indexed_words(url) == words
    found, snippets = _found(url)
    assert found == before
    # Snippets start and end where they did; only the marks between fields are new.
    assert [_spaced(s) for s in snippets] == [_spaced(s) for s in old_snippets]
    assert sum(SHOWN in s for s in snippets) > len(snippets) / 4
    _healthy(url)
    downgrade(url, "0010")
    assert _rows(url, "SELECT doc_id, title, body FROM search_documents ORDER BY doc_id") == (
        old_documents
    )
    assert _indexed_words(url) == words
    _healthy(url)


# --- timeline --------------------------------------------------------------------------


def _in_date_order(rows: list[dict[str, Any]]) -> bool:
    keys = [(r["date_start"] is None, str(r["date_start"]), str(r["date_end"]), r["id"])
            for r in rows]  # fmt: skip
    return keys == sorted(keys)


def test_timeline_is_in_date_order_on_the_seeded_data(url: str) -> None:
    seeded = _rows(url, "SELECT id, date_start, date_end FROM timeline")
    assert len(seeded) == len(_rows(url, "SELECT id FROM events")) > 5
    assert _in_date_order(seeded)


def test_timeline_orders_events_written_out_of_order(url: str) -> None:
    """Newest first, undated in the middle, equal starts with different ends, equal
    dates: a plain SELECT lists them by start (undated last), end, then id."""
    day, year = "'day'", "'year'"
    events = [  # slug, start, end, precision
        ("zz-late", "'2031-06-02'", "'2031-06-02'", day),
        ("zz-undated", "NULL", "NULL", "NULL"),
        ("zz-year", "'1990-01-01'", "'1990-12-31'", year),
        ("zz-day", "'1990-01-01'", "'1990-01-01'", day),
        ("zz-undated-2", "NULL", "NULL", "NULL"),
        ("zz-same-day", "'1990-01-01'", "'1990-01-01'", day),
    ]
    _write(url, *(
        "INSERT INTO events (slug, title, date_start, date_end, date_precision, "
        f"date_inferred) VALUES ('{s}', '{s}', {a}, {b}, {p}, false)" for s, a, b, p in events
    ))  # fmt: skip
    rows = _rows(url, "SELECT id, slug, date_start, date_end FROM timeline")
    assert _in_date_order(rows)
    mine = [r["slug"] for r in rows if r["slug"].startswith("zz-")]
    assert mine == ["zz-day", "zz-same-day", "zz-year", "zz-late", "zz-undated", "zz-undated-2"]
    assert rows[0]["slug"] == "zz-day" and rows[-1]["slug"] == "zz-undated-2"


# --- join keys -------------------------------------------------------------------------


def test_party_details_joins_citation_details_on_the_shared_keys(url: str) -> None:
    rows = _rows(url, "SELECT p.party_id, p.record_type, p.record_key, p.record_id, "
                      "c.citation_id FROM party_details p "
                      "JOIN citation_details c USING (record_type, record_key)")  # fmt: skip
    assert rows
    expected = _rows(
        url,
        """
        SELECT p.id AS party_id, count(ci.id) AS citations FROM parties p
        JOIN citations ci ON ci.agreement_id = p.agreement_id OR ci.deal_id = p.deal_id
            OR ci.deposit_id = p.deposit_id OR ci.project_id = p.project_id
            OR ci.event_id = p.event_id
        GROUP BY p.id""",
    )
    counts: dict[int, int] = {}
    for r in rows:
        counts[r["party_id"]] = counts.get(r["party_id"], 0) + 1
    assert counts == {r["party_id"]: r["citations"] for r in expected}
    details = _rows(url, "SELECT record_type, record_key, record_id FROM party_details")
    assert all(r["record_key"] for r in details)
    slugs = {(r["t"], r["id"]): r["slug"] for r in _rows(url, """
        SELECT 'agreement' AS t, id, slug FROM agreements UNION ALL
        SELECT 'deal', id, slug FROM deals UNION ALL
        SELECT 'deposit', id, slug FROM mineral_deposits UNION ALL
        SELECT 'project', id, slug FROM infrastructure_projects UNION ALL
        SELECT 'event', id, slug FROM events""")}  # fmt: skip
    assert {r["record_key"] == slugs[r["record_type"], r["record_id"]] for r in details} == {True}


# Each view whose rows are records, the record type, and its key column.
RECORD_VIEWS = [
    ("agreement_overview", "agreement", "slug"),
    ("deal_overview", "deal", "slug"),
    ("timeline", "event", "slug"),
    ("search_documents", None, "key"),
]


@pytest.mark.parametrize(("view", "record_type", "key"), RECORD_VIEWS)
def test_every_record_view_has_the_join_keys(url: str, view: str, record_type: str | None,
                                             key: str) -> None:  # fmt: skip
    rows = _rows(url, f"SELECT * FROM {view}")
    assert rows and all(r["record_key"] == r[key] for r in rows)
    if record_type:
        assert {r["record_type"] for r in rows} == {record_type}
    else:  # search_documents: a partner is a country or an organisation
        kinds = {(r["noun"], r["record_type"]) for r in rows}
        assert kinds == {("agreement", "agreement"), ("deal", "deal"), ("deposit", "deposit"),
                         ("project", "project"), ("event", "event"), ("partner", "country"),
                         ("partner", "organization")}  # fmt: skip
    joined = _rows(url, f"SELECT count(*) AS n FROM {view} "
                        "JOIN citation_details USING (record_type, record_key)")  # fmt: skip
    assert joined[0]["n"] > 0


CHANGED_VIEWS = ("party_details", "agreement_overview", "deal_overview", "timeline",
                 "search_documents")  # fmt: skip


def _view_rows(url: str, view: str, columns: list[str]) -> list[str]:
    """The view's rows on ``columns``, in a stable order (as text: dates, decimals)."""
    return sorted(repr([str(r[c]) for c in columns]) for r in _rows(url, f"SELECT * FROM {view}"))


@pytest.mark.slow
def test_round_trip_keeps_the_data_and_0010_views(url: str) -> None:
    """Down to 0010 and up again with data in place: the same rows; every column 0010's
    views had still holds what it held, under its name and in its place; down again,
    0010's views exactly (no new columns, the same rows)."""
    tables = ["agreements", "parties", "citations", "events", "deals"]

    def counts() -> dict[str, int]:
        return {t: _rows(url, f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in tables}

    before = counts()
    downgrade(url, "0010")
    engine = make_engine(url)
    try:
        assert current_revision(engine) == "0010"
    finally:
        engine.dispose()
    assert counts() == before
    old_columns = {view: _columns(url, view) for view in CHANGED_VIEWS}
    for view, columns in old_columns.items():
        assert "record_key" not in columns, view
        assert ("record_type" in columns) == (view == "party_details"), view
    kept = {  # search_documents' title and body are rewritten: the rest is kept
        view: [c for c in columns if view != "search_documents" or c not in ("title", "body")]
        for view, columns in old_columns.items()
    }
    old_rows = {view: _view_rows(url, view, columns) for view, columns in kept.items()}
    upgrade(url)
    assert counts() == before
    for view, columns in old_columns.items():
        new_columns = _columns(url, view)
        assert new_columns[: len(columns)] == columns, view
        assert (
            new_columns[len(columns) :] == ["record_type", "record_key"][view == "party_details" :]
        ), view
        assert _view_rows(url, view, kept[view]) == old_rows[view], view
    _healthy(url)
    downgrade(url, "0010")
    for view, columns in old_columns.items():
        assert _columns(url, view) == columns, view
        assert _view_rows(url, view, kept[view]) == old_rows[view], view
    upgrade(url)
    _healthy(url)


def _columns(url: str, view: str) -> list[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(f"SELECT * FROM {view} WHERE 1 = 0")).keys())
    finally:
        engine.dispose()
