"""kzdiplo report at any size: what keeps its time linear and its memory bounded, shown
by its structure on the seeded file with the bounds made small (issue 27). Before, the
report read every record into one list, wrote one search index holding every record
(18 MB at 20,000 agreements) and listed every record on the index page."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.entities import ENTITIES
from kzdiplo.reader import SqliteReader
from kzdiplo.web import report, searchshards


class CountingReader(SqliteReader):
    """A real reader that notes every query and how its rows were handed out."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.queries: list[tuple[str, int]] = []  # (sql, rows returned at once)
        self.batched: list[tuple[str, list[int]]] = []  # (sql, size of each batch)

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        found = super().rows(sql, params)
        self.queries.append((sql, len(found)))
        return found

    def batches(
        self, sql: str, params: dict[str, Any] | None = None, size: int = 500
    ) -> Iterator[list[dict[str, Any]]]:
        sizes: list[int] = []
        self.batched.append((sql, sizes))
        for batch in super().batches(sql, params, size):
            sizes.append(len(batch))
            yield batch


def _counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        return {
            name: conn.execute(f"SELECT count(*) FROM {noun.table}").fetchone()[0]
            for name, noun in ENTITIES.items()
        }


@pytest.fixture
def small_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(report, "BATCH", 7)
    monkeypatch.setattr(report, "PAGE_SIZE", 20)
    monkeypatch.setattr(report, "TIMELINE_MAX", 8)
    monkeypatch.setattr(report, "MAP_MAX", 8)
    monkeypatch.setattr(report, "UNDATED_MAX", 8)
    monkeypatch.setattr(searchshards, "SHARD_POSTINGS", 50)
    monkeypatch.setattr(searchshards, "DOCS_PER_FILE", 30)


@pytest.fixture
def built(seeded_template: Path, tmp_path: Path, small_bounds: None) -> tuple[Path, Any]:
    reader = CountingReader(seeded_template)
    try:
        report.write_report(reader, tmp_path / "site")
    finally:
        reader.close()
    return tmp_path / "site", reader


def test_records_are_read_in_batches_never_all_at_once(
    built: tuple[Path, CountingReader], seeded_template: Path
) -> None:
    _, reader = built
    counts = _counts(seeded_template)
    assert counts["agreement"] > 3 * report.BATCH  # several batches, or this proves nothing
    for name, noun in ENTITIES.items():
        walks = [sizes for sql, sizes in reader.batched if f"FROM {noun.table} t\n" in sql]
        assert len(walks) == 1, name  # one pass over each kind
        assert walks[0] == [
            min(report.BATCH, counts[name] - i) for i in range(0, counts[name], report.BATCH)
        ], name
        # any other query of its records (the timeline, the map) has a bound
        whole = [sql for sql, _ in reader.queries if f"FROM {noun.table} t\n" in sql]
        assert all("\nLIMIT " in sql for sql in whole), name
    # What is attached to records (partners, citations, linked records...) is asked for a
    # batch at a time: no query names more records than a batch or a bound of the index.
    largest = max(len(re.findall(r":id\d+\b", sql)) for sql, _ in reader.queries)
    assert 0 < largest <= max(report.BATCH, report.TIMELINE_MAX, report.MAP_MAX)


def _calls(path: Path, name: str) -> list[list[Any]]:
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"KZDIPLO_SEARCH.{name}(") and text.endswith(");\n")
    return json.loads("[" + text[len(f"KZDIPLO_SEARCH.{name}(") : -3] + "]")


def test_no_search_file_holds_more_than_its_bound(
    built: tuple[Path, CountingReader], seeded_template: Path
) -> None:
    site, _ = built
    total = sum(_counts(seeded_template).values())
    keys = json.loads(
        re.search(r"KZDIPLO_SEARCH_KEYS = (\{.*\});", (site / "search-index.js").read_text())[1]
    )
    word_files = sorted((site / "search").glob("w-*.js"))
    assert len(word_files) == sum(keys.values()) > len(keys)  # some keys take several
    found: dict[str, set[int]] = {}
    for path in word_files:
        key, number, words = _calls(path, "part")
        assert path.name == f"w-{key}.{number}.js" and number < keys[key]
        assert sum(len(docs) for _, docs in words) <= searchshards.SHARD_POSTINGS
        for word, docs in words:
            assert searchshards.key_of(word) == key
            found.setdefault(word, set()).update(docs)
    doc_files = sorted((site / "search").glob("d-*.js"))
    assert len(doc_files) == math.ceil(total / searchshards.DOCS_PER_FILE)
    titles: dict[int, str] = {}
    for path in doc_files:
        number, entries = _calls(path, "docs")
        assert len(entries) <= searchshards.DOCS_PER_FILE
        for i, (title, _noun, href, _text) in enumerate(entries):
            titles[number * searchshards.DOCS_PER_FILE + i] = title
            assert (site / href).is_file()
    assert len(titles) == total
    # the index still finds what it found: "tungsten" leads to the North Katpal mine
    assert "North Katpal tungsten mine" in {titles[d] for d in found["tungsten"]}


def test_list_pages_are_the_records_over_the_page_size(
    built: tuple[Path, CountingReader], seeded_template: Path
) -> None:
    site, _ = built
    counts = _counts(seeded_template)
    for name, count in counts.items():
        pages = sorted((site / "lists").glob(f"{name}-*.html"))
        assert len(pages) == max(1, math.ceil(count / report.PAGE_SIZE)), name
        listed = []
        for number in range(1, len(pages) + 1):
            html = (site / report.list_name(name, number)).read_text(encoding="utf-8")
            rows = re.findall(r'<li><a href="\.\./(records/[^"]+)"', html)
            assert len(rows) <= report.PAGE_SIZE
            assert ('rel="prev"' in html) == (number > 1)
            assert ('rel="next"' in html) == (number < len(pages))
            listed += rows
        assert len(listed) == len(set(listed)) == count, name
        assert all((site / r).is_file() for r in listed)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert len(re.findall(r'<li><a href="records/', index)) < sum(counts.values())


def test_the_folder_writer_holds_no_name_per_file_in_memory(tmp_path: Path) -> None:
    """A report writes a file per record: the one folder writer keeps the names it has
    written in a temporary file, not in a list (a million names took ~150 MB), and still
    lists every one in its manifest."""
    import tracemalloc

    from kzdiplo.files import folder_writer

    out = tmp_path / "out"
    with folder_writer(out, ".manifest", who="test") as folder:
        folder.write_text("pages/first.txt", "x")
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for i in range(5000):
            folder.write_text(f"pages/{i:06d}-a-name-as-long-as-a-record-page-name.html", "x")
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        folder.write_text("pages/first.txt", "written twice, listed once")
    assert grown < 5000 * 20, grown  # a name each would be over 100 bytes a file
    listed = json.loads((out / ".manifest").read_text(encoding="utf-8"))["files"]
    assert len(listed) == len(set(listed)) == 5001 == len(list((out / "pages").iterdir()))


def test_the_index_draws_a_bounded_part_and_says_so(
    built: tuple[Path, CountingReader], seeded_template: Path
) -> None:
    """With more dated events and placed records than the index draws, it draws the
    bound (the most recent events) and names what it left out, with the totals."""
    site, _ = built
    with sqlite3.connect(seeded_template) as conn:
        (dated,) = conn.execute(
            "SELECT count(*) FROM events WHERE date_start IS NOT NULL"
        ).fetchone()
        newest = conn.execute(
            "SELECT slug FROM events WHERE date_start IS NOT NULL "
            "ORDER BY date_start DESC, id DESC LIMIT 1"
        ).fetchone()[0]
    index = (site / "index.html").read_text(encoding="utf-8")
    timeline = index.split('<section id="timeline">')[1].split("</section>")[0]
    assert dated > report.TIMELINE_MAX
    assert timeline.count('<li class="event"') == report.TIMELINE_MAX
    assert f"The {report.TIMELINE_MAX} most recent of {dated} dated events" in timeline
    assert f'data-slug="{newest}"' in timeline
    drawn = index.split('<section id="map">')[1].split("</section>")[0]
    assert f"the first {report.MAP_MAX} of " in drawn
