"""`kzdiplo export -f json|ndjson` writes as it reads (issue 27): its memory does not
follow the database's size, and its bytes are those the export wrote when it held every
record: the same order (by label, each package before its parts, at any depth, a loop of
packages included) and, for json, the same text as ``json.dumps`` of the whole document."""

from __future__ import annotations

import io
import sqlite3
import sys
import tracemalloc
from pathlib import Path

import pytest

from kzdiplo import export
from kzdiplo.config import sqlite_url
from kzdiplo.entities import BY_PLURAL
from kzdiplo.migrate import upgrade
from kzdiplo.queries import Filters, list_records
from kzdiplo.reader import SqliteReader
from kzdiplo.records import SECTIONS
from kzdiplo.render import to_json

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _synth(path: Path, agreements: int) -> Path:
    """A synthetic database (benchmarks/synth.py): packages and parts, many citations."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import synth
    finally:
        sys.path.remove(str(BENCHMARKS))
    synth.build(path, agreements, progress=False, content_hash=False)
    return path


def _peak_of_an_export(db: Path, folder: Path, fmt: str) -> int:
    """The peak of Python's memory (tracemalloc) while ``fmt`` is exported from ``db``
    into ``folder``, through the folder writer as ``kzdiplo export`` does."""
    write = export.write_json if fmt == "json" else export.write_ndjson
    reader = SqliteReader(db)
    tracemalloc.start()
    try:
        with export.exporting_to(folder, db, force=False) as out:
            write(reader, out)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        reader.close()
    assert (folder / export.files_of(fmt)[0]).stat().st_size > 0
    return peak


@pytest.fixture(scope="module")
def synth_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Synthetic databases of 1,500 and 6,000 agreements."""
    folder = tmp_path_factory.mktemp("synth")
    return _synth(folder / "few.db", 1_500), _synth(folder / "many.db", 6_000)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_an_export_holds_a_page_not_the_database(
    synth_pair: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """Four times the agreements cost about the same peak of memory: the export holds a
    page of records at a time. Before, ndjson held every record of a kind (read whole,
    then sorted), and json the whole document. Pages of 100 records (1,000 in use) so
    that the smaller database already fills many pages of each kind."""
    monkeypatch.setattr(export, "PAGE", 100)
    few, many = synth_pair
    small = _peak_of_an_export(few, tmp_path / "few", fmt)
    large = _peak_of_an_export(many, tmp_path / "many", fmt)
    assert large < small * 1.25, (small, large)


def _old_order(reader: SqliteReader, section: str) -> list[str]:
    """The slugs of ``section`` in the order the export wrote them when it held them all:
    every record by label, then sorted (stably) by how many packages are met going up
    from it, each once."""
    noun = BY_PLURAL[section]
    records = list_records(reader, noun, Filters(limit=None, sort=noun.label)).records
    parents = {r["slug"]: r.get("parent") for r in records}

    def depth(slug: str) -> int:
        seen: set[str] = set()
        while parents.get(slug) and slug not in seen:
            seen.add(slug)
            slug = parents[slug]  # type: ignore[assignment]
        return len(seen)

    return [r["slug"] for r in sorted(records, key=lambda r: depth(r["slug"]))]


def _tangle(db: Path) -> None:
    """Parts of parts (three deep), two loops of packages with a part beneath one, and
    a record that is its own package: what hand-edited SQL can leave behind."""
    conn = sqlite3.connect(db)
    try:
        with conn:
            parts = [r[0] for r in conn.execute(
                "SELECT id FROM agreements WHERE parent_id IS NOT NULL ORDER BY id LIMIT 2")]  # fmt: skip
            free = [r[0] for r in conn.execute(
                "SELECT id FROM agreements WHERE parent_id IS NULL ORDER BY id DESC LIMIT 6")]  # fmt: skip
            deals = [r[0] for r in conn.execute(
                "SELECT id FROM deals WHERE parent_id IS NULL ORDER BY id LIMIT 2")]  # fmt: skip
            for child, parent in (
                (free[0], parts[0]), (free[1], free[0]),  # two and three deep
                (free[2], free[3]), (free[3], free[2]), (free[4], free[2]),  # a loop, a part
                (free[5], free[5]),  # its own package
            ):  # fmt: skip
                conn.execute("UPDATE agreements SET parent_id = ? WHERE id = ?", (parent, child))
            conn.execute("UPDATE deals SET parent_id = ? WHERE id = ?", (deals[0], deals[1]))
            conn.execute("UPDATE deals SET parent_id = ? WHERE id = ?", (deals[1], deals[0]))
    finally:
        conn.close()


@pytest.mark.slow
def test_the_streamed_order_is_the_order_of_the_whole_list(tmp_path: Path) -> None:
    """Read a depth at a time from the database, each kind comes in the order the
    export gave when it sorted every record in Python: its bytes (and the files people
    keep) do not change."""
    db = _synth(tmp_path / "synth.db", 1_500)
    _tangle(db)
    reader = SqliteReader(db)
    try:
        streamed: dict[str, list[str]] = {}
        for section, record in export.sections(reader):
            streamed.setdefault(section, []).append(record.get("slug") or record.get("code"))
        assert list(streamed) == [s for s in SECTIONS if s in streamed]
        for section in BY_PLURAL:
            assert streamed[section] == _old_order(reader, section), section
        depths = export._depths_under_loops(reader, "agreements")
        assert sorted(depths.values()) == [1, 2, 2, 3]  # the tangle is there
    finally:
        reader.close()


def _document_text(reader: SqliteReader) -> str:
    return to_json(export.as_document(reader)) + "\n"


@pytest.mark.parametrize("empty", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_json_streamed_is_json_dumps_of_the_whole_document(
    seeded_db: Path, tmp_path: Path, empty: bool
) -> None:
    """The json export, written a record at a time, has the bytes ``json.dumps`` gives
    the whole document (indent, separators, escapes; ``{}`` with no records)."""
    db = seeded_db
    if empty:  # schema only: no records of any kind
        db = tmp_path / "empty.db"
        upgrade(sqlite_url(db))
    reader = SqliteReader(db)
    try:
        out = io.StringIO()
        export.json_to(reader, out)
        expected = _document_text(reader)
        assert out.getvalue() == expected
        assert (expected == "{}\n") is empty
    finally:
        reader.close()
