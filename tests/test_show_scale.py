"""What keeps `kzdiplo show` and `cite` flat as the data grows (issue 27: both at a
million agreements within 1.2x of the seeded file). Every statement it sends seeks an index;
none reads a table whole. The slug lookup's own plan is checked in tests/test_speed.py;
here every statement is, and the one that used to read every source link (to count a
record's independent sources) reads the chains from the record's own sources only.
Structure, not timings (the figures are the benchmarks')."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from kzdiplo import queries
from kzdiplo.cli import app
from kzdiplo.reader import SqliteReader
from tests.cli_helpers import traced_statements

# What a SCAN may name in a plan: the schema revision (one row), a catalogue table
# function, and the chain of sources a recursive query builds as it goes.
SCANNED_AS_IT_SHOULD = re.compile(r"SCAN (alembic_version|pragma_\w+|reached)\b")


def _sent(db: Path, args: list[str], monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement ``kzdiplo --db DB ARGS`` sends, from a run of the real command in
    this process."""
    sent = traced_statements(monkeypatch)
    app(["--db", str(db), *args], standalone_mode=False)
    return sent


@pytest.mark.parametrize(
    "args",
    [
        ["show", "agreement", "kz-us-washington-29-agreements", "-f", "json"],
        ["show", "deal", "us-exim-critical-minerals-funding", "-f", "json"],
        ["show", "source", "cove-bw-release", "-f", "json"],
        ["show", "kz-us-washington-29-agreements", "-f", "json"],  # the kind from the slug
        ["cite", "us-exim-critical-minerals-funding", "-f", "csl-json"],
    ],
)
def test_show_reads_no_table_whole(
    seeded_db: Path, args: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each statement's plan seeks (SEARCH) what it reads. Before, the count of
    independent sources read every row of source_links (SCAN l) on every `show`, a deal
    every overlap of every deal (SCAN x), and `cite` every source. A column probe
    (``WHERE 1 = 0``) reads no row whatever its plan says."""
    sent = _sent(seeded_db, args, monkeypatch)
    assert sent
    with sqlite3.connect(seeded_db) as conn:
        for statement in sent:
            # a PRAGMA, SQLite's note of what a pragma_ table function runs, a probe
            if statement.startswith(("PRAGMA", "--")) or statement.endswith("WHERE 1 = 0"):
                continue
            plan = [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
            scans = [p for p in plan if p.startswith("SCAN") and not SCANNED_AS_IT_SHOULD.match(p)]
            assert not scans, (statement, plan)


def _grow_links(db: Path, n: int) -> None:
    """``n`` more sources, each derived from the one before (one long chain), and a loop
    of two: links no seeded record's source leads to."""
    with sqlite3.connect(db) as conn:
        first = conn.execute("SELECT max(id) FROM sources").fetchone()[0] + 1
        conn.executemany(
            "INSERT INTO sources (id, slug, title, kind) VALUES (?, ?, ?, 'media')",
            [(first + i, f"grown-source-{i}", f"Grown source {i}") for i in range(n)],
        )
        links = [(first + i, first + i - 1, "republishes") for i in range(1, n)]
        links.append((first, first + 1, "reports_on"))  # first <-> first + 1: a loop
        conn.executemany(
            "INSERT INTO source_links (source_id, derived_from_id, relation) VALUES (?, ?, ?)",
            links,
        )


def test_a_records_origins_come_from_its_own_chains_at_any_size(seeded_db: Path) -> None:
    """The origins read for a record's sources are the same, and as few, with 1,500 more
    linked sources in the database; they agree with the origins read from every link;
    and a loop of links ends."""
    reader = SqliteReader(seeded_db)
    record = queries.get_record(
        reader, queries.noun_named("agreement"), "kz-us-washington-29-agreements"
    )
    cited = sorted({s["source"] for s in record["sources"]})
    before = queries.source_origins(reader, cited)
    reader.close()
    _grow_links(seeded_db, 1500)
    reader = SqliteReader(seeded_db)
    assert queries.source_origins(reader, cited) == before
    every = queries.source_origins(reader)
    assert len(every) > len(before) + 1500 - 1
    assert {s: every.get(s, s) for s in cited} == {s: before.get(s, s) for s in cited}
    chain = queries.source_origins(reader, ["grown-source-1499"])
    assert len(chain) == 1500 and chain["grown-source-1499"] == "grown-source-0"
    assert chain == {s: every[s] for s in chain}
    reader.close()
