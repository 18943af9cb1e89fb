"""What keeps the commands flat at scale (issue 27), checked by structure, never by time:
the plan SQLite chooses for a slug lookup, the statements a load sends, and where
`cite` takes the dataset's hash from. Timings live in benchmarks/run.py."""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest
import yaml

from kzdiplo import contenthash, queries
from kzdiplo.cite import _find
from kzdiplo.entities import ENTITIES
from kzdiplo.export import as_document
from kzdiplo.reader import SqliteReader
from tests.cli_helpers import run_process
from tests.conftest import snapshot
from tests.test_load_scale import assert_loads_back_whole

CONTENT_TABLES = ("sources", "source_links", "sectors", "countries", "organizations",
                  "agreements", "deals", "mineral_deposits", "infrastructure_projects",
                  "events", "parties", "record_sectors", "citations", "discrepancies",
                  "stage_changes", "deal_overlaps")  # fmt: skip


def _one_slug(db: Path, table: str) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute(f"SELECT slug FROM {table} ORDER BY id LIMIT 1").fetchone()[0])


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


# --- the dataset's content hash: kept by loads, read by cite --------------------------

PLANTED = "sha256:" + "f" * 64  # no data hashes to this: only a read of the stored value


def _cite_hash(db: Path, slug: str) -> str:
    result = run_process("--db", str(db), "cite", slug, "--format", "csl-json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    dataset = next(e for e in entries if e["id"].startswith("kzdiplo"))
    note = json.dumps(dataset)
    found = re.search(r"sha256:[0-9a-f]{64}", note)
    assert found, note
    return found.group(0)


def _set_stored(db: Path, value: str) -> None:
    with sqlite3.connect(db) as conn:  # derived_state has no trigger: stays fresh
        conn.execute("UPDATE derived_state SET value = ? WHERE name = 'content_hash'", (value,))


def test_a_load_stores_the_hash_of_what_it_loaded(seeded_db: Path) -> None:
    reader = SqliteReader(seeded_db)
    assert contenthash.stored_hash(reader) == contenthash.content_hash(as_document(reader))
    reader.close()


def test_cite_reads_the_stored_hash_instead_of_hashing_the_data(seeded_db: Path) -> None:
    """A value planted where the load keeps the hash is what `cite` prints: the process
    read one row, it did not hash every record (then it would print the real hash)."""
    slug = _one_slug(seeded_db, "deals")
    real = _cite_hash(seeded_db, slug)
    _set_stored(seeded_db, PLANTED)
    assert _cite_hash(seeded_db, slug) == PLANTED != real


@pytest.mark.parametrize("table", CONTENT_TABLES)
def test_any_write_to_the_data_makes_the_stored_hash_stale(seeded_db: Path, table: str) -> None:
    """Whoever writes (here plain sqlite3, not kzdiplo), the stored hash stops being
    trusted: `cite` then computes it from the data, as before."""
    _set_stored(seeded_db, PLANTED)
    with sqlite3.connect(seeded_db) as conn:
        conn.execute(f"UPDATE {table} SET id = id WHERE id = (SELECT min(id) FROM {table})")
    reader = SqliteReader(seeded_db)
    assert contenthash.stored_hash(reader) is None
    assert contenthash.current_hash(reader) == contenthash.content_hash(as_document(reader))
    reader.close()


@pytest.mark.parametrize("prefix", ["content_stale_", "browse_stale_"])
def test_every_table_of_the_data_has_its_stale_triggers(seeded_db: Path, prefix: str) -> None:
    """A table added to the models must mark the hash and serve's browse tables stale
    too (a new migration adds its triggers): the tables without them are the derived
    ones only."""
    from kzdiplo.models import BROWSE_TABLES, Base

    with sqlite3.connect(seeded_db) as conn:
        triggers = {r[0] for r in conn.execute("SELECT tbl_name FROM sqlite_master WHERE "
                                               f"type = 'trigger' AND name LIKE '{prefix}%'")}  # fmt: skip
    derived = {"derived_state", "partner_totals_cache", *BROWSE_TABLES}
    assert triggers == set(Base.metadata.tables) - derived


# --- the loader: statements per batch, parts before their packages -------------------


def _agreements(n: int, first_part: bool = True) -> list[dict[str, object]]:
    """``n`` agreements with parties, sectors, a stage and citations; the first a part of
    the last (a package), so the file names a package before it defines it."""
    cited = {"source": "tengritimes-2026-01-03", "summary": "Our words on a synthetic record."}
    records: list[dict[str, object]] = [
        {"slug": f"speed-{i:04d}", "title": f"Synthetic agreement {i}", "kind": "agreement",
         "stage": "signed", "date": "2025-03",
         "stages": [{"stage": "signed", "date": "2025-03", **cited}],
         "parties": [{"partner": "KZ", "role": "signatory"},
                     {"partner": "US", "role": "signatory"}],
         "sectors": [], "citations": [cited]}
        for i in range(n)
    ]  # fmt: skip
    records[-1] |= {"kind": "package", "count": n}
    if first_part:
        records[0]["parent"] = records[-1]["slug"]
    return records


def _statements(template: Path, folder: Path, n: int) -> int:
    """How many statements `load` sends for a file of ``n`` new agreements."""
    from sqlalchemy import event

    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.loader import load_paths

    folder.mkdir()
    db = folder / "kzdiplo.db"
    shutil.copyfile(template, db)
    sectors = [s["slug"] for s in yaml.safe_load(Path("seeds/sectors.yaml").read_text())["sectors"]]
    agreements = _agreements(n)
    for record in agreements:
        record["sectors"] = sectors[:2]
    file = folder / "load.json"
    file.write_text(json.dumps({"agreements": agreements}))
    engine = make_engine(sqlite_url(db))
    sent: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: sent.append(args[2]))
    report = load_paths(engine, [file])
    engine.dispose()
    assert report.counts()["added"] == n
    return len(sent)


def test_a_load_sends_a_constant_number_of_statements_per_batch(
    seeded_template: Path, tmp_path: Path
) -> None:
    """Child rows (parties, sectors, stages, citations) go in one executemany per kind
    and batch: a file of 120 agreements costs as many statements as one of 40 (before:
    about a dozen per agreement, 71k statements for 5k agreements)."""
    few = _statements(seeded_template, tmp_path / "few", 40)
    many = _statements(seeded_template, tmp_path / "many", 120)
    assert many == few


def test_no_load_record_copies_a_default_for_each_record() -> None:
    """pydantic deep-copies a mutable default (``= []``) for every record that leaves
    the field out: a third of a large load's validation. Empty lists come from a
    factory instead."""
    from pydantic import BaseModel

    from kzdiplo import records

    models = [m for m in vars(records).values()
              if isinstance(m, type) and issubclass(m, BaseModel) and m is not BaseModel]  # fmt: skip
    copied = [f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items()
              if isinstance(info.default, list | dict | set)]  # fmt: skip
    assert len(models) > 10 and not copied, copied
    agreement = records.AgreementIn.model_validate(
        {
            "slug": "a",
            "title": "A",
            "kind": "agreement",
            "citations": [{"source": "s", "summary": "x"}],
        }
    )
    other = records.AgreementIn.model_validate(
        {
            "slug": "b",
            "title": "B",
            "kind": "agreement",
            "citations": [{"source": "s", "summary": "x"}],
        }
    )
    assert agreement.parties == [] and agreement.parties is not other.parties
    assert "parties" not in agreement.model_fields_set  # left out, as before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("count", 2**40, "count: 1099511627776 is too large (at most 2,147,483,647)"),
     ("amount", {"low": 2**70, "high": 2**70, "currency": "USD"},
      "amount_low: 1180591620717411303424 is too large (at most 9,223,372,036,854,775,807)")],
)  # fmt: skip
def test_an_integer_too_large_for_its_column_is_named(
    seeded_db: Path, tmp_path: Path, field: str, value: object, message: str
) -> None:
    """The integer limits are read from the table's column types once per table (not
    per value of every record); the message names the first column, in row order, that
    overflows, as before."""
    record = _agreements(1, first_part=False)[0] | {"kind": "agreement"}
    record.pop("count", None)
    section = "agreements"
    if field == "amount":
        section, record = "deals", {
            "slug": "speed-deal", "title": "Synthetic deal", "kind": "acquisition", "stage": "signed",
            "date": "2025-03", "amount": value, "citations": record["citations"],
        }  # fmt: skip
    else:
        record[field] = value
    file = tmp_path / "big.json"
    file.write_text(json.dumps({section: [record]}))
    before = snapshot(seeded_db)
    result = run_process("--db", str(seeded_db), "load", str(file))
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].endswith(message), lines
    assert snapshot(seeded_db) == before


def test_the_load_reads_back_through_the_driver_cursor_in_its_transaction(
    seeded_db: Path,
) -> None:
    """The content hash and the browse tables read what the load wrote before it
    commits: on SQLite through the driver's cursor of the load's own connection, rows
    as sqlite3 gives them (no SQLAlchemy fetch per row: 220k rows at 20k agreements)."""
    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.reader import ConnectionReader

    engine = make_engine(sqlite_url(seeded_db))
    with engine.connect() as conn:
        transaction = conn.begin()
        conn.exec_driver_sql("UPDATE sources SET title = 'not yet committed' WHERE id = 1")
        columns, rows = ConnectionReader(conn).stream("SELECT id, title FROM sources "
                                                      "WHERE id = :id", {"id": 1})  # fmt: skip
        first = next(rows)
        assert columns == ["id", "title"] and type(first) is tuple
        assert first == (1, "not yet committed")
        transaction.rollback()
    engine.dispose()


def test_the_collector_skips_what_existed_before_the_load(
    seeded_template: Path, tmp_path: Path
) -> None:
    """While a load runs, the objects that existed before it are frozen (the collector's
    full passes no longer walk them every few batches); after it, they are not."""
    import gc

    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.loader import load_paths

    db = tmp_path / "kzdiplo.db"
    shutil.copyfile(seeded_template, db)
    file = tmp_path / "load.json"
    file.write_text(json.dumps({"agreements": _agreements(3)}))
    engine = make_engine(sqlite_url(db))
    frozen: list[int] = []
    assert gc.get_freeze_count() == 0
    report = load_paths(
        engine, [file], progress=lambda _: lambda: frozen.append(gc.get_freeze_count())
    )
    engine.dispose()
    assert report.counts()["added"] == 3 and len(frozen) == 3
    assert min(frozen) > 10_000  # the modules, models and caches loaded before it
    assert gc.get_freeze_count() == 0


def test_a_part_may_come_before_its_package(seeded_db: Path, tmp_path: Path) -> None:
    file = tmp_path / "parts-first.yaml"
    file.write_text(yaml.safe_dump({"agreements": _agreements(3)}))
    result = run_process("--db", str(seeded_db), "load", str(file))
    assert result.returncode == 0, result.stderr
    with sqlite3.connect(seeded_db) as conn:
        parent = conn.execute(
            "SELECT p.slug FROM agreements a JOIN agreements p ON p.id = a.parent_id "
            "WHERE a.slug = 'speed-0000'"
        ).fetchone()
    assert parent == ("speed-0002",)


def test_packages_that_form_a_loop_are_refused(seeded_db: Path, tmp_path: Path) -> None:
    records = _agreements(2, first_part=False)
    records[0]["parent"], records[1]["parent"] = "speed-0001", "speed-0000"
    file = tmp_path / "loop.yaml"
    file.write_text(yaml.safe_dump({"agreements": records}))
    before = snapshot(seeded_db)
    result = run_process("--db", str(seeded_db), "load", str(file))
    assert result.returncode == 2
    assert b"form a loop" in result.stderr and b"Traceback" not in result.stderr
    assert snapshot(seeded_db) == before


@pytest.mark.parametrize("fmt", ["ndjson", "json", "yaml"])
def test_load_dash_reads_stdin_and_an_export_loads_back_whole(
    seeded_db: Path, tmp_path: Path, fmt: str
) -> None:
    """`export | load -` reproduces the database: no difference, the same content hash."""
    if fmt == "yaml":
        data = yaml.safe_dump(as_document(SqliteReader(seeded_db)), allow_unicode=True).encode()
    else:
        exported = run_process("--db", str(seeded_db), "export", "-f", fmt, "--out", "-")
        assert exported.returncode == 0, exported.stderr
        data = exported.stdout
    assert_loads_back_whole(seeded_db, tmp_path / "copy.db", "-", input=data)


def test_bad_stdin_is_one_line_naming_stdin(seeded_db: Path) -> None:
    before = snapshot(seeded_db)
    result = run_process("--db", str(seeded_db), "load", "-", input=b"agreements: [\n")
    assert result.returncode == 2
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kzdiplo: error: nothing loaded: - (stdin)")
    assert snapshot(seeded_db) == before


def _many_matches(db: Path, n: int) -> None:
    """``n`` search documents that all match 'zircon', above the seeded rowids (as the
    search triggers would write them for n more agreements)."""
    with sqlite3.connect(db) as conn:
        top = conn.execute("SELECT max(rowid) FROM search_index").fetchone()[0]
        conn.executemany(
            "INSERT INTO search_index (rowid, noun, key, label, title, body) "
            "VALUES (?, 'agreement', ?, ?, ?, 'zircon supply')",
            [(top + 8 * (i + 1), f"z-{i}", f"Z {i}", f"Zircon pact {i}") for i in range(n)],
        )


def test_search_ranks_a_bounded_window_of_matches(seeded_db: Path) -> None:
    """BM25 reads each ranked match's length (a docsize row): the search ranks at most
    SEARCH_WINDOW of the newest matches, so a word found in 60,000 records at a million
    costs what 2,000 do. Ranking every match read one docsize row per match."""
    n = queries.SEARCH_WINDOW + 1_000
    _many_matches(seeded_db, n)
    reader = SqliteReader(seeded_db)
    sent: list[str] = []
    reader.conn.set_trace_callback(sent.append)  # FTS5's own statements show too
    rows = queries.search(reader, "zircon", limit=20)
    reader.conn.set_trace_callback(None)
    sizes = sum("_docsize" in s for s in sent)
    assert len(rows) == 20
    assert sizes <= queries.SEARCH_WINDOW + 2 * 20, sizes
    # the window holds the newest matches: every row shown is one of them
    assert all(int(r["key"].split("-")[1]) >= n - queries.SEARCH_WINDOW for r in rows)
    assert queries.search_overflows(reader, "zircon", 20)
    # asking for every match ranks every match
    assert len(queries.search(reader, "zircon", limit=1_000_000)) == n
    assert not queries.search_overflows(reader, "zircon", 1_000_000)
    reader.close()


def test_search_says_when_it_ranked_only_the_newest_matches(seeded_db: Path) -> None:
    _many_matches(seeded_db, queries.SEARCH_WINDOW + 10)
    wide = run_process("--db", str(seeded_db), "search", "zircon", "--format", "json")
    assert wide.returncode == 0
    assert b"best of the 2,000 most recently added" in wide.stderr
    assert len(json.loads(wide.stdout)) == 20
    narrow = run_process("--db", str(seeded_db), "search", "tungsten", "--format", "json")
    assert narrow.returncode == 0 and b"most recently added" not in narrow.stderr
