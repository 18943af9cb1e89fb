"""What keeps `kzdiplo load` fast and its memory flat (issue 27), checked by structure,
never by time: per-row triggers suspended during the batches and the search documents
rebuilt once, set-based; the same index, triggers and content hash as before."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kzdiplo import checks, contenthash
from kzdiplo.export import as_document
from kzdiplo.reader import SqliteReader
from tests.cli_helpers import run_process
from tests.conftest import snapshot

CITED = {"source": "tengritimes-2026-01-03", "summary": "Our words on a synthetic record."}
_SOURCE = {
    "slug": "tengritimes-2026-01-03",
    "title": "A source",
    "publisher": "Times Tengri",
    "url": "https://www.tengritimes.com/",
    "published": "2026-01-03",
    "kind": "media",
}


def _agreements(n: int, word: str = "zebrafinch") -> list[dict[str, Any]]:
    """``n`` agreements, each with three citations (their text carries ``word``)."""
    return [
        {"slug": f"bulk-{i:04d}", "title": f"Bulk agreement {i}", "kind": "agreement",
         "parties": [{"partner": "KZ", "role": "signatory"}],
         "citations": [CITED | {"summary": f"{word} {i} {k}", "field": f"f{k}"}
                       for k in range(3)]}
        for i in range(n)
    ]  # fmt: skip


def assert_loads_back_whole(
    original: Path, copy: Path, file: str, input: bytes | None = None
) -> None:
    """`load FILE` (or `load -` of ``input``) into a new empty database ``copy`` gives
    ``original`` back: `diff` finds no difference and the stored content hashes agree."""
    assert run_process("--db", str(copy), "db", "init", "--empty").returncode == 0
    loaded = run_process("--db", str(copy), "load", file, input=input)
    assert loaded.returncode == 0, loaded.stderr
    differ = run_process("diff", str(original), str(copy), "--format", "json")
    assert differ.returncode == 0, differ.stderr
    assert json.loads(differ.stdout)["counts"] == {"added": 0, "removed": 0, "changed": 0}
    first, again = SqliteReader(original), SqliteReader(copy)
    assert contenthash.stored_hash(again) == contenthash.current_hash(first)
    first.close()
    again.close()


def _inserts_citations(statement: str) -> bool:
    return statement.replace('"', "").startswith("INSERT INTO citations")


def _triggers(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"))


def _index(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return sorted(conn.execute("SELECT rowid, noun, key, label, title, body FROM search_index"))


def _reindex_through_triggers(db: Path) -> None:
    """Every document written again by the search triggers (a no-op update per row)."""
    with sqlite3.connect(db) as conn:
        for table in ("agreements", "deals", "mineral_deposits", "infrastructure_projects",
                      "events", "countries", "organizations"):  # fmt: skip
            conn.execute(f"UPDATE {table} SET id = id")


def test_no_search_trigger_runs_per_citation(seeded_template: Path, tmp_path: Path) -> None:
    """While the citations of a batch are inserted, no search-index (or staleness)
    trigger exists, and the insert changes exactly one row per citation (before: each
    citation's trigger rebuilt its record's whole document, 15 changes per citation)."""
    from sqlalchemy import event

    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.loader import load_paths

    db = tmp_path / "kzdiplo.db"
    shutil.copyfile(seeded_template, db)
    file = tmp_path / "bulk.json"
    file.write_text(json.dumps({"agreements": _agreements(30)}))
    engine = make_engine(sqlite_url(db))
    seen: list[tuple[int, int, int]] = []  # (triggers, rows inserted, rows changed)

    def before(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if _inserts_citations(statement):
            raw = cursor.connection
            (triggers,) = raw.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND "
                "(name LIKE 'search_%' OR name LIKE '%_stale_%')"
            ).fetchone()
            seen.append((triggers, len(params), raw.total_changes))

    def after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if _inserts_citations(statement):
            triggers, rows, changes = seen[-1]
            seen[-1] = (triggers, rows, cursor.connection.total_changes - changes)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    load_paths(engine, [file])
    engine.dispose()
    assert seen, "no citation was inserted"
    assert all(triggers == 0 for triggers, _, _ in seen), seen
    assert all(changed == rows for _, rows, changed in seen), seen
    assert sum(rows for _, rows, _ in seen) == 90


def test_the_documents_rebuilt_are_found_through_indexes(seeded_db: Path) -> None:
    """The rebuild of the documents a load touched seeks each record by its key: no
    table is read whole (the index rebuild stays in proportion to the load, not to the
    database)."""
    from kzdiplo.loader import CHOSEN_DOCUMENTS

    sql = f"SELECT doc_id, title, body FROM search_documents {CHOSEN_DOCUMENTS}"
    with sqlite3.connect(seeded_db) as conn:
        plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("deal", '["x"]'))]
    assert any(step.startswith("SEARCH t USING") for step in plan), plan
    assert not [step for step in plan if step.startswith("SCAN") and "json_each" not in step]


@pytest.mark.slow
def test_the_index_after_a_load_is_the_one_triggers_build(seeded_db: Path, tmp_path: Path) -> None:
    """After a load (new records, and a reload that changes a title and drops a
    citation), the search index holds exactly the documents the triggers would have
    written: `db check` finds it in step, rewriting every record through the restored
    triggers changes nothing, and the triggers are the ones the database had."""
    triggers = _triggers(seeded_db)
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"agreements": _agreements(5)}))
    changed = _agreements(5, word="kingfisher")
    changed[0]["title"] = "Renamed bulk agreement"
    changed[1]["citations"] = changed[1]["citations"][:1]
    second.write_text(json.dumps({"agreements": changed}))
    for file in (first, second):
        result = run_process("--db", str(seeded_db), "load", str(file))
        assert result.returncode == 0, result.stderr
    assert _triggers(seeded_db) == triggers
    reader = SqliteReader(seeded_db)
    assert checks.search_index(reader) == []
    assert checks.search_triggers(reader) == []
    reader.close()
    loaded = _index(seeded_db)
    _reindex_through_triggers(seeded_db)
    with sqlite3.connect(seeded_db) as conn:
        words = {w: conn.execute("SELECT count(*) FROM search_index WHERE search_index "
                                 "MATCH ?", (w,)).fetchone()[0]
                 for w in ("zebrafinch", "kingfisher", "renamed")}  # fmt: skip
    assert _index(seeded_db) == loaded
    assert words == {"zebrafinch": 0, "kingfisher": 5, "renamed": 1}


def test_a_load_into_an_empty_database_indexes_each_kind_by_type(
    seeded_db: Path, tmp_path: Path
) -> None:
    """A load that writes every record of a kind (an export into an empty database)
    takes that kind's documents from the view by record type, not through a list of
    every key (which made the view seek each record by slug); the index it leaves is
    the view's (db check) and the one the triggers write."""
    from sqlalchemy import event

    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.entities import ENTITIES
    from kzdiplo.loader import load_paths

    assert run_process("--db", str(seeded_db), "export", "-f", "json", "-o",
                       str(tmp_path)).returncode == 0  # fmt: skip
    empty = tmp_path / "empty.db"
    assert run_process("--db", str(empty), "db", "init", "--empty").returncode == 0
    engine = make_engine(sqlite_url(empty))
    sent: list[str] = []

    def inserts(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if statement.startswith("INSERT INTO search_index"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", inserts)
    load_paths(engine, [tmp_path / "kzdiplo.json"])
    engine.dispose()
    by_type = [q for q in sent if q.endswith("WHERE record_type = ?")]
    assert len(by_type) >= len(ENTITIES), sent  # each kind of record, whole in the file
    reader = SqliteReader(empty)
    assert checks.search_index(reader) == []
    reader.close()
    loaded = _index(empty)
    _reindex_through_triggers(empty)
    assert _index(empty) == loaded and len(loaded) > 100


@pytest.mark.slow
def test_a_refused_load_keeps_the_triggers(seeded_db: Path, tmp_path: Path) -> None:
    """A load refused after its records were written (an integer too large for its
    column is found while writing) rolls back the suspended triggers with the rows."""
    records = _agreements(3)
    records[2]["count"] = 2**70
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"agreements": records}))
    triggers, before = _triggers(seeded_db), snapshot(seeded_db)
    result = run_process("--db", str(seeded_db), "load", str(file))
    assert result.returncode == 2, result.stderr
    assert _triggers(seeded_db) == triggers
    assert snapshot(seeded_db) == before


# --- the content hash, streamed --------------------------------------------------------


def test_the_streamed_hash_is_the_content_hash(seeded_db: Path) -> None:
    """The same value as hashing the whole document at once: on the seeded database
    (whose hash the README shows), and on records given out of key order, with
    non-ASCII keys and values, a country keyed by code and a section that is empty."""
    from kzdiplo.contenthash import content_hash, streamed_hash
    from kzdiplo.export import as_document, sections

    reader = SqliteReader(seeded_db)
    assert streamed_hash(sections(reader)) == content_hash(as_document(reader))
    reader.close()
    pairs = [("sources", {"slug": "b", "title": "Ә"}), ("sources", {"slug": "a", "n": 1.5}),
             ("countries", {"code": "KZ", "aliases": ["Қазақстан"]}),
             ("agreements", {"slug": "ё", "date": {"start": "2025"}}),
             ("agreements", {"slug": "e", "z": None, "a": [1, {"y": 2, "x": 3}]})]  # fmt: skip
    document: dict[str, list[dict[str, Any]]] = {}
    for section, record in pairs:
        document.setdefault(section, []).append(record)
    assert streamed_hash(pairs) == content_hash(document)
    assert streamed_hash([]) == content_hash({})


def test_the_hash_read_in_key_order_is_the_streamed_hash(seeded_db: Path, tmp_path: Path) -> None:
    """store_hash reads the records in key order a page at a time and hashes each as it
    comes: the value is the streamed one (the README's), also after a load adds records
    whose slugs sort between and before the stored ones (non-ASCII among them), and for
    pairs given in order, with a section that is empty."""
    from kzdiplo.contenthash import current_hash, ordered_hash, streamed_hash
    from kzdiplo.export import canonical_sections, sections

    reader = SqliteReader(seeded_db)
    assert ordered_hash(canonical_sections(reader)) == streamed_hash(sections(reader))
    reader.close()
    added = _agreements(3)
    for record, slug in zip(added, ("0-first", "kz-m-middle", "zz-last"), strict=True):
        record["slug"] = slug
    file = tmp_path / "more.json"
    file.write_text(json.dumps({"agreements": added}))
    assert run_process("--db", str(seeded_db), "load", str(file)).returncode == 0
    reader = SqliteReader(seeded_db)
    try:
        stored = current_hash(reader)  # the value the load kept
        assert stored == streamed_hash(sections(reader))
    finally:
        reader.close()
    pairs = [("agreements", {"slug": "e", "z": None}), ("agreements", {"slug": "ё", "n": 1}),
             ("countries", {"code": "KZ", "aliases": ["Қазақстан"]}),
             ("sources", {"slug": "a"}), ("sources", {"slug": "b", "title": "Ә"})]  # fmt: skip
    assert ordered_hash(pairs) == streamed_hash(pairs)
    assert ordered_hash([]) == streamed_hash([])


def test_records_out_of_key_order_are_hashed_the_slow_way(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ordered_hash refuses a record that comes out of key order (it could not sort it
    any more); dataset_hash then hashes as streamed_hash does, so a database that
    orders slugs otherwise than Python still gets its one value."""
    from kzdiplo import contenthash, export

    pairs = [("agreements", {"slug": "b"}), ("agreements", {"slug": "a"})]
    with pytest.raises(ValueError, match="after"):
        contenthash.ordered_hash(pairs)
    with pytest.raises(ValueError, match="after"):
        contenthash.ordered_hash([("sources", {"slug": "a"}), ("agreements", {"slug": "a"})])
    reader = SqliteReader(seeded_db)
    try:
        expected = contenthash.streamed_hash(export.sections(reader))
        monkeypatch.setattr(export, "canonical_sections", lambda r: reversed(list(
            export.sections(r))))  # fmt: skip
        assert contenthash.dataset_hash(reader) == expected
    finally:
        reader.close()


def test_the_hash_reads_each_kind_in_key_order_without_a_sort(seeded_db: Path) -> None:
    """The records of each kind are read in slug order by the slug's unique index, so
    the first page comes without reading and sorting the whole table first."""
    from kzdiplo import export
    from kzdiplo.entities import ENTITIES

    reader = SqliteReader(seeded_db)
    sent: list[str] = []
    reader.conn.set_trace_callback(sent.append)
    try:
        for noun in ENTITIES.values():
            next(export._pages_by_slug(reader, noun))
        reader.conn.set_trace_callback(None)
        reads = [q for q in sent if "ORDER BY t.slug" in q]
        assert len(reads) == len(ENTITIES), sent
        for sql in reads:
            plan = [r[3] for r in reader.conn.execute(f"EXPLAIN QUERY PLAN {sql}")]
            assert not any("TEMP B-TREE" in step for step in plan), plan
            assert any("USING INDEX" in step for step in plan if step.startswith("SCAN t")), plan
    finally:
        reader.close()


@pytest.mark.slow
def test_the_streamed_hash_holds_one_section_at_a_time() -> None:
    """Hashing 40 sections of 2,500 records (about 50 MB of JSON, made on the fly)
    keeps one section's text at a time: under 15 MB at the peak (hashing the whole
    document at once holds every record, then its whole JSON text)."""
    import tracemalloc

    from kzdiplo.contenthash import streamed_hash

    def records() -> Any:
        for s in range(40):
            for i in range(2500):
                yield f"s{s:02d}", {"slug": f"r{i:05d}", "text": f"{s} {i} " + "x" * 480}

    tracemalloc.start()
    try:
        value = streamed_hash(records())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert value.startswith("sha256:")
    assert peak < 15_000_000, peak


# --- reading: JSON a record at a time, limits checked at a glance ----------------------


def _many_small_fields(n: int) -> dict[str, list[dict[str, Any]]]:
    return {"events": [{"slug": f"e{i}", **{f"k{k}": f"v{i}-{k}" for k in range(40)}}
                       for i in range(n)]}  # fmt: skip


@pytest.mark.slow
def test_a_json_file_is_read_a_record_at_a_time(tmp_path: Path) -> None:
    """Reading a JSON load file's records one by one holds neither the tree of the
    whole file nor its text: a window of it (256 kB read at a time) and a record.
    The peak stays under a quarter of the file's size (holding the whole text, as
    before, needed nearly three times, and parsing it whole nearly five)."""
    import tracemalloc

    from kzdiplo.loadfile import records
    from kzdiplo.records import SECTIONS

    path = tmp_path / "load.json"
    path.write_text(json.dumps(_many_small_fields(8000), indent=1))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = sum(1 for _ in records(path, SECTIONS))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 8000
    assert peak < size / 4, (peak, size)


@pytest.mark.slow
def test_brackets_inside_text_do_not_refuse_a_record(seeded_db: Path, tmp_path: Path) -> None:
    """A text with more brackets than the nesting limit is still a plain string: the
    quick count sends it to the full check, which accepts it (JSON and NDJSON)."""
    record = _agreements(1)[0] | {"summary": "[" * 80 + "{" * 80}
    json_file, ndjson_file = tmp_path / "b.json", tmp_path / "b.ndjson"
    json_file.write_text(json.dumps({"agreements": [record]}))
    ndjson_file.write_text(json.dumps({"section": "agreements", "record": record}) + "\n")
    for file in (json_file, ndjson_file):
        result = run_process("--db", str(seeded_db), "load", str(file))
        assert result.returncode == 0, result.stderr


# --- export then load, above the old 20 MB cap ---------------------------------------


@pytest.mark.slow
def test_an_export_above_the_old_cap_loads_back_whole(tmp_path: Path) -> None:
    """A database whose NDJSON and JSON exports are over 20,000,000 bytes (refused by
    the old cap) loads back from each into an empty database: no difference, the same
    content hash."""
    from kzdiplo.loadfile import MAX_FILE_BYTES

    records = _agreements(5200)
    for i, record in enumerate(records):
        record["summary"] = f"Agreement {i}: " + " ".join(f"w{i}x{k}" for k in range(420))
    source = tmp_path / "source.db"
    assert run_process("--db", str(source), "db", "init", "--empty").returncode == 0
    made = tmp_path / "made.ndjson"
    with made.open("w", encoding="utf-8") as f:
        f.write(json.dumps({"section": "sources", "record": _SOURCE}) + "\n")
        for record in records:
            f.write(json.dumps({"section": "agreements", "record": record}) + "\n")
    loaded = run_process("--db", str(source), "load", str(made))
    assert loaded.returncode == 0, loaded.stderr
    for fmt in ("ndjson", "json"):
        exported = tmp_path / f"export.{fmt}"
        done = run_process("--db", str(source), "export", "-f", fmt, "--out", "-")
        assert done.returncode == 0, done.stderr
        exported.write_bytes(done.stdout)
        assert exported.stat().st_size > MAX_FILE_BYTES
        assert_loads_back_whole(source, tmp_path / f"copy-{fmt}.db", str(exported))
        reader = SqliteReader(source)
        assert contenthash.stored_hash(reader) == contenthash.content_hash(as_document(reader))
        reader.close()
