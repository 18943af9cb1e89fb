"""`kzdiplo load` writes as it reads (issue 27): its memory does not follow the file's
size, references to records given later are resolved once the input is read, and a
refused load still leaves the database as it was, whatever was written before."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.config import sqlite_url
from kzdiplo.db import make_engine
from kzdiplo.loader import BATCH, load_paths
from tests.cli_helpers import run_process
from tests.conftest import snapshot

SOURCE = "tengritimes-2026-01-03"  # a seeded source (its text is held)


def _agreement(i: int, **more: Any) -> dict[str, Any]:
    """A synthetic agreement with two parties, a sector, a stage and three citations."""
    cited = {"source": SOURCE, "summary": f"Our words on synthetic agreement {i}."}
    return {"slug": f"stream-{i:05d}", "title": f"Streamed agreement {i}", "kind": "agreement",
            "date": "2025-03", "stage": "signed",
            "stages": [{"stage": "signed", "date": "2025-03", **cited}],
            "parties": [{"partner": "KZ", "role": "signatory"},
                        {"partner": "US", "role": "signatory"}],
            "citations": [cited | {"field": f"f{k}"} for k in range(3)], **more}  # fmt: skip


def _write(path: Path, pairs: Iterator[tuple[str, dict[str, Any]]]) -> Path:
    """``pairs`` (section, record) as NDJSON, or as a JSON mapping of sections (each
    section's records together, in the order they come)."""
    if path.suffix == ".ndjson":
        with path.open("w", encoding="utf-8") as f:
            for section, record in pairs:
                f.write(json.dumps({"section": section, "record": record}) + "\n")
        return path
    document: dict[str, list[dict[str, Any]]] = {}
    for section, record in pairs:
        document.setdefault(section, []).append(record)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def _peak_of_a_dry_run(template: Path, folder: Path, n: int, suffix: str) -> int:
    """The peak of Python's memory (tracemalloc) while a dry run loads ``n`` new
    agreements from a file of the given format into a copy of the seeded database."""
    folder.mkdir()
    db = folder / "kzdiplo.db"
    shutil.copyfile(template, db)
    file = _write(folder / f"load{suffix}", (("agreements", _agreement(i)) for i in range(n)))
    engine = make_engine(sqlite_url(db))
    tracemalloc.start()
    try:
        report = load_paths(engine, [file], dry_run=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        engine.dispose()
    assert report.counts()["added"] == n
    return peak


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
def test_a_load_holds_a_batch_not_the_file(
    seeded_template: Path, tmp_path: Path, suffix: str
) -> None:
    """Four times the records cost about the same peak of memory: the load holds a
    batch of records at a time (before: every record, validated, until all were
    written, so the peak grew with the file: about 5.6 kB a record)."""
    few = _peak_of_a_dry_run(seeded_template, tmp_path / "few", 3 * BATCH, suffix)
    many = _peak_of_a_dry_run(seeded_template, tmp_path / "many", 12 * BATCH, suffix)
    assert many < few * 1.25, (few, many)


def _ids(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".ndjson", ".json"])
def test_records_named_before_they_are_given_are_linked(tmp_path: Path, suffix: str) -> None:
    """Into an empty database: parts a few batches before their package, a deal before
    the event it names and the deal it overlaps, a source before the one it derives
    from, and citations before their source; all are linked once the input is read."""
    db = tmp_path / "kzdiplo.db"
    assert run_process("--db", str(db), "db", "init", "--empty").returncode == 0
    package = _agreement(9999, kind="package", count=3 * BATCH)
    cited = {"source": "origin-source", "summary": "Our words."}

    def pairs() -> Iterator[tuple[str, dict[str, Any]]]:
        source = {"title": "A source", "publisher": "P", "published": "2025-01-02", "kind": "media"}
        yield (
            "sources",
            source | {"slug": SOURCE, "derived_from": "origin-source", "relation": "republishes"},
        )
        for i in range(3 * BATCH):
            yield "agreements", _agreement(i, parent=package["slug"])
        yield "agreements", package
        yield "deals", {"slug": "first-deal", "title": "A deal", "kind": "investment",
                        "event": "the-event", "overlaps": "second-deal", "citations": [cited]}  # fmt: skip
        yield "deals", {"slug": "second-deal", "title": "A deal", "kind": "investment",
                        "citations": [cited]}  # fmt: skip
        yield "events", {"slug": "the-event", "title": "An event", "date": "2025-05",
                         "kind": "visit", "citations": [cited]}  # fmt: skip
        yield "sources", source | {"slug": "origin-source"}

    file = _write(tmp_path / f"forward{suffix}", pairs())
    loaded = run_process("--db", str(db), "load", str(file))
    assert loaded.returncode == 0, loaded.stderr
    parts = _ids(db, "SELECT count(*) FROM agreements a JOIN agreements p ON p.id = a.parent_id "
                     "WHERE p.slug = 'stream-09999'")  # fmt: skip
    assert parts == [(3 * BATCH,)]
    links = _ids(db, "SELECT e.slug, o.slug FROM deals d JOIN events e ON e.id = d.event_id "
                     "JOIN deal_overlaps x ON x.deal_id = d.id JOIN deals o ON o.id = x.overlaps_id "
                     "WHERE d.slug = 'first-deal'")  # fmt: skip
    assert links == [("the-event", "second-deal")]
    origin = _ids(db, "SELECT o.slug FROM source_links l JOIN sources s ON s.id = l.source_id "
                      f"JOIN sources o ON o.id = l.derived_from_id WHERE s.slug = '{SOURCE}'")  # fmt: skip
    assert origin == [("origin-source",)]
    assert run_process("--db", str(db), "db", "check").returncode == 0
    again = run_process("--db", str(db), "load", str(file))
    assert again.returncode == 0 and b"0 added, 0 updated" in again.stderr, again.stderr


def _refused(db: Path, file: Path) -> str:
    """The one line of a refused load, once shown to leave ``db`` byte for byte."""
    before, rows = db.read_bytes(), snapshot(db)
    result = run_process("--db", str(db), "load", str(file))
    assert result.returncode == 2, result.stderr
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kzdiplo: error: nothing loaded: "), lines
    assert db.read_bytes() == before and snapshot(db) == rows
    return lines[0]


def test_an_unknown_package_named_after_many_batches_is_refused(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Five batches of good records written, then a part of a package that never comes:
    the same message as before (file, record, field), and the database unchanged."""
    records = [_agreement(i) for i in range(5 * BATCH)]
    records.append(_agreement(5 * BATCH, parent="no-such-package"))
    file = _write(tmp_path / "late.ndjson", (("agreements", r) for r in records))
    line = _refused(seeded_db, file)
    assert line.endswith(
        f"{file}: agreements[{5 * BATCH}] 'stream-{5 * BATCH:05d}': parent: "
        "unknown agreement 'no-such-package'"
    ), line


def test_a_quote_refused_at_the_end_leaves_nothing(seeded_db: Path, tmp_path: Path) -> None:
    """Batches of good records, then one quoting words its source does not hold, and a
    duplicate key: every problem is listed (--verbose), nothing is written."""
    records = [_agreement(i) for i in range(3 * BATCH)]
    bad = {"source": SOURCE, "quote": "Kazakhstan joined NATO"}
    records.append(_agreement(3 * BATCH, citations=[bad]))
    records.append(_agreement(0))
    file = _write(tmp_path / "bad.json", (("agreements", r) for r in records))
    line = _refused(seeded_db, file)
    assert "duplicate key, first defined at" in line and "(and 1 more problems;" in line
    verbose = run_process("--db", str(seeded_db), "load", "--verbose", str(file))
    quote = f"agreements[{3 * BATCH}] 'stream-{3 * BATCH:05d}': citations.0.quote: not found"
    assert quote.encode() in verbose.stderr, verbose.stderr


def test_packages_that_form_a_loop_across_batches_are_refused(
    seeded_db: Path, tmp_path: Path
) -> None:
    """A loop of packages whose members are batches apart is found once the input is
    read (each waits for the other)."""
    first = _agreement(0, parent=f"stream-{2 * BATCH:05d}")
    middle = [_agreement(i) for i in range(1, 2 * BATCH)]
    last = _agreement(2 * BATCH, parent="stream-00000")
    file = _write(tmp_path / "loop.ndjson", (("agreements", r) for r in [first, *middle, last]))
    assert "its packages form a loop" in _refused(seeded_db, file)


@pytest.mark.slow
def test_a_file_above_the_old_64_mb_cap_loads(tmp_path: Path) -> None:
    """An NDJSON file of more than 64,000,000 bytes (refused before: the cap that bounded
    a load's memory) loads into an empty database, every record."""
    db = tmp_path / "kzdiplo.db"
    assert run_process("--db", str(db), "db", "init", "--empty").returncode == 0
    source = {"slug": SOURCE, "title": "A source", "publisher": "P", "kind": "media"}
    n = 3300
    notes = " ".join(f"w{k}" for k in range(4000))  # about 20 kB a record

    def pairs() -> Iterator[tuple[str, dict[str, Any]]]:
        yield "sources", source
        for i in range(n):
            yield "agreements", _agreement(i, notes=f"{i} {notes}")

    file = _write(tmp_path / "big.ndjson", pairs())
    assert file.stat().st_size > 64_000_000
    loaded = run_process("--db", str(db), "load", str(file))
    assert loaded.returncode == 0, loaded.stderr[-500:]
    assert _ids(db, "SELECT count(*) FROM agreements") == [(n,)]


def test_a_json_error_far_into_the_file_is_placed_as_json_places_it(tmp_path: Path) -> None:
    """The JSON reader holds a window of the file, yet an error two megabytes in is
    reported at the line and column the json module gives for the whole text."""
    from kzdiplo.loadfile import LoadFileError, records
    from kzdiplo.records import SECTIONS

    text = json.dumps({"agreements": [_agreement(i) for i in range(3000)]}, indent=1)
    at = text.index('"stream-02500"')
    broken = text[:at] + "'stream-02500'" + text[at + len('"stream-02500"') :]
    path = tmp_path / "broken.json"
    path.write_text(broken, encoding="utf-8")
    assert at > 2_000_000
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(broken)
    with pytest.raises(LoadFileError) as caught:
        sum(1 for _ in records(path, SECTIONS))
    where = f"line {expected.value.lineno}, column {expected.value.colno}"
    assert where in str(caught.value), (where, str(caught.value))


def test_the_search_documents_are_rebuilt_in_pieces(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The keys the run wrote reach the search rebuild a piece at a time (never a
    million in one list): with pieces of 7 keys, a load of 30 agreements leaves the
    search index as `db check` wants it, every one of them findable."""
    from kzdiplo import checks, loader
    from kzdiplo.reader import SqliteReader

    monkeypatch.setattr(loader._Stream.written, "__defaults__", (7,))
    pieces: list[dict[str, list[str]]] = []
    rebuild = loader.rebuild_search_documents

    def counted(conn: Any, written: dict[str, list[str]]) -> None:
        pieces.append(written)
        rebuild(conn, written)

    monkeypatch.setattr(loader, "rebuild_search_documents", counted)
    file = _write(tmp_path / "few.ndjson", (("agreements", _agreement(i)) for i in range(30)))
    engine = make_engine(sqlite_url(seeded_db))
    load_paths(engine, [file])
    engine.dispose()
    assert [len(p.get("agreements", [])) for p in pieces if "agreements" in p] == [7, 7, 7, 7, 2]
    reader = SqliteReader(seeded_db)
    assert checks.search_index(reader) == []
    reader.close()
    found = _ids(seeded_db, "SELECT count(*) FROM search_index WHERE search_index MATCH 'streamed'")
    assert found == [(30,)]


def test_a_kind_written_whole_is_rebuilt_by_kind_not_by_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Into an empty database every record of a kind is the load's: its documents are
    rebuilt by kind in one piece (None), not as lists of keys 10,000 at a time, which
    the rebuild can only match against the kind's key index (three times slower at
    20,000 agreements); the index is then the one `db check` wants."""
    from kzdiplo import checks, loader
    from kzdiplo.reader import SqliteReader

    monkeypatch.setattr(loader._Stream.written, "__defaults__", (7,))
    pieces: list[dict[str, list[str] | None]] = []
    rebuild = loader.rebuild_search_documents

    def counted(conn: Any, written: dict[str, list[str] | None]) -> None:
        pieces.append(written)
        rebuild(conn, written)

    monkeypatch.setattr(loader, "rebuild_search_documents", counted)
    db = tmp_path / "empty.db"
    assert run_process("--db", str(db), "db", "init", "--empty").returncode == 0
    source = {"slug": SOURCE, "title": "A source", "publisher": "P", "kind": "media"}
    file = _write(tmp_path / "all.ndjson", iter([("sources", source),
                  *(("agreements", _agreement(i)) for i in range(30))]))  # fmt: skip
    engine = make_engine(sqlite_url(db))
    load_paths(engine, [file])
    engine.dispose()
    assert [p for p in pieces if "agreements" in p] == [{"agreements": None}]
    reader = SqliteReader(db)
    assert checks.search_index(reader) == []
    reader.close()
    found = _ids(db, "SELECT count(*) FROM search_index WHERE search_index MATCH 'streamed'")
    assert found == [(30,)]
