"""What keeps ``kzdiplo serve`` flat as the data grows (issue 27: 145 s and 6.7 GiB to
its first answer at a million agreements, every facet of the records page timed out).

The browse tables are kept by each load in the database (kzdiplo.browse), so start-up
reads a fixed set of rows, the same statements at any size; facets and the home page
read counts through an index; and what the tables hold is what kzdiplo's own listing
says of each record. Structure, not timings (the figures are the benchmarks')."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from kzdiplo import browse, queries
from kzdiplo.browse_tables import ARRAY_FACETS, COLUMN_FACETS
from kzdiplo.entities import ENTITIES
from kzdiplo.fields import FIELDS, years
from kzdiplo.reader import SqliteReader
from kzdiplo.web.pages import label_of
from tests.cli_helpers import run_process, traced_statements

CONTENT = ("agreements", "deals", "mineral_deposits", "infrastructure_projects", "events",
           "parties", "citations", "record_sectors", "discrepancies", "records")  # fmt: skip


def _grow(db: Path, folder: Path, n: int) -> None:
    """Load ``n`` more agreements through the real CLI (the loader rebuilds the tables)."""
    cited = {"source": "tengritimes-2026-01-03", "summary": "Our words on a synthetic record."}
    records = [
        {"slug": f"grown-{i:05d}", "title": f"Grown agreement {i}", "kind": "agreement",
         "date": "2024-05", "parties": [{"partner": "KZ", "role": "signatory"},
                                        {"partner": "CN", "role": "signatory"}],
         "citations": [cited]}
        for i in range(n)
    ]  # fmt: skip
    file = folder / "grown.yaml"
    file.write_text(yaml.safe_dump({"agreements": records}))
    result = run_process("--db", str(db), "load", str(file))
    assert result.returncode == 0, result.stderr


def _start_up_statements(db: Path, folder: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every statement serve's start-up sends to the served file, as SQLite traced them."""
    from kzdiplo.web import serve

    sent = traced_statements(monkeypatch)
    folder.mkdir()
    served, meta, longest = serve._prepare(db, folder)
    assert served.is_symlink() and served.resolve() == db.resolve(), "not served as it is"
    assert meta["databases"]["kzdiplo"]["tables"]["records"]["facets"]
    assert longest > 0
    return sent


def test_start_up_reads_the_same_few_rows_at_any_size(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: serve copied the file and built its tables from every record in Python
    (list_records over each kind), so its statements and time grew with the data. Now
    the statements are the same for the seeded file and one 1,500 agreements larger,
    and none reads a table of records."""
    small = _start_up_statements(seeded_db, tmp_path / "small", monkeypatch)
    _grow(seeded_db, tmp_path, 1500)
    large = _start_up_statements(seeded_db, tmp_path / "large", monkeypatch)
    assert small == large
    assert len(small) < 20, small
    with sqlite3.connect(seeded_db) as conn:
        for statement in small:
            words = statement.replace("(", " ").replace(")", " ").split()
            read = {words[i + 1] for i, w in enumerate(words[:-1]) if w.upper() == "FROM"}
            if read & set(CONTENT):  # only a table's highest id, one seek, is read
                assert "max(id)" in statement, statement
                assert "SCAN" not in _plan(conn, statement, {}), statement


def _plan(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> str:
    return " | ".join(r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_facets_and_the_home_page_read_counts_through_an_index(seeded_db: Path) -> None:
    """The records page's facets (all records, or one kind) and the home page's figures
    read records_counts by its index: a few rows, never a pass over records."""
    from kzdiplo.web.facets import COUNTS_SQL
    from kzdiplo.web.plugin import HOME_COUNTS

    with sqlite3.connect(seeded_db) as conn:
        home = _plan(conn, HOME_COUNTS, {})
        assert (
            home.count("USING INDEX ix_records_counts_facet")
            + home.count("USING COVERING INDEX ix_records_counts_facet")
            == 2
            and "SCAN" not in home
        ), home
        for noun in (None, "deal"):
            plan = _plan(conn, COUNTS_SQL, {"facet": "partners", "noun": noun, "limit": 21})
            assert "USING INDEX ix_records_counts_facet" in plan, plan
            assert "records " not in plan.replace("records_counts", ""), plan
        listing = _plan(conn, "SELECT * FROM records WHERE noun = :n ORDER BY title LIMIT 101",
                        {"n": "deal"})  # fmt: skip
        assert "USING INDEX ix_records_noun_title" in listing and "TEMP B-TREE" not in listing


def _datasette_counts(conn: sqlite3.Connection, facet: str, noun: str | None) -> dict[str, int]:
    """A facet's counts as Datasette computes them, over the rows themselves."""
    where, params = ("WHERE noun = :noun", {"noun": noun}) if noun else ("", {})
    if facet in COLUMN_FACETS:
        sql = (f"SELECT {facet}, count(*) FROM records {where} "
               f"{'AND' if where else 'WHERE'} {facet} IS NOT NULL GROUP BY {facet}")  # fmt: skip
    else:
        sql = (f"SELECT j.value, count(DISTINCT r.id) FROM records r, json_each(r.{facet}) j "
               f"{where.replace('noun', 'r.noun', 1)} GROUP BY j.value")  # fmt: skip
    return {str(v): n for v, n in conn.execute(sql, params)}


def test_the_kept_counts_are_datasettes_counts(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        for facet in (*COLUMN_FACETS, *ARRAY_FACETS):
            for noun in (None, *ENTITIES):
                kept = dict(conn.execute(
                    "SELECT value, count FROM records_counts WHERE facet = ? AND noun IS ?",
                    (facet, noun),
                ).fetchall())  # fmt: skip
                assert kept == _datasette_counts(conn, facet, noun), (facet, noun)
                assert kept or noun is not None, facet


def test_the_records_table_says_what_kzdiplos_listing_says(seeded_db: Path) -> None:
    """Each row of records against kzdiplo's own listing of the record (queries.list_records,
    what serve built its table from before): title, date, partners, sectors, years,
    sources and disputes."""
    reader = SqliteReader(seeded_db)
    try:
        rows = {(r["noun"], r["slug"]): r for r in reader.rows("SELECT * FROM records")}
        listed = 0
        for noun in ENTITIES.values():
            for r in queries.list_records(reader, noun, queries.Filters(limit=None)).records:
                row = rows[(noun.name, r["slug"])]
                date = r.get(noun.date) if noun.date else None
                assert row["title"] == label_of(r)
                assert row["date"] == (FIELDS[noun.date].text(date) if date else None)
                assert json.loads(row["partners"]) == list(
                    dict.fromkeys(p["key"] for p in r["partners"])
                )
                assert json.loads(row["sectors"]) == r["sectors"]
                assert json.loads(row["years"]) == [str(y) for y in years(r)]
                assert row["source_count"] == r["source_count"]
                assert row["independent_sources"] == r["independent_sources"]
                assert row["disputes"] == r["disputes"]
                assert json.loads(row["disputed_fields"]) == r["disputed_fields"]
                listed += 1
        assert listed == len(rows) > 100
    finally:
        reader.close()


def test_a_write_around_the_loader_marks_them_stale_and_upgrade_rebuilds(
    seeded_db: Path,
) -> None:
    """Ad-hoc SQL that changes a record makes the tables stale (serve then rebuilds them
    in a copy, never trusting old rows); ``kzdiplo db upgrade`` rebuilds them in place."""
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE agreements SET title = 'Renamed by hand' WHERE id = "
                     "(SELECT min(id) FROM agreements)")  # fmt: skip
    reader = SqliteReader(seeded_db)
    assert browse.fresh_limit(reader) is None
    reader.close()
    assert run_process("--db", str(seeded_db), "db", "upgrade").returncode == 0
    reader = SqliteReader(seeded_db)
    try:
        assert browse.fresh_limit(reader) is not None
        titles = [r["title"] for r in reader.rows("SELECT title FROM records")]
        assert "Renamed by hand" in titles
    finally:
        reader.close()


@pytest.mark.slow  # a real server process
def test_serve_shows_fresh_tables_as_they_are_and_rebuilds_stale_ones_in_a_copy(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Fresh: the temporary folder holds a link to the user's file (no copy). Stale (a
    hand-made change): a line on stderr says so, a copy holds the rebuilt tables, and
    the records page shows the change. The user's file is left byte for byte."""
    import hashlib
    import urllib.request

    from tests.reliability.test_serve_bounds import _start

    served = _start(seeded_db, tmp_path / "fresh")
    try:
        (entry,) = list(served.tmp.glob("kzdiplo-serve-*/*.db"))
        assert entry.is_symlink() and entry.resolve() == seeded_db.resolve()
    finally:
        served.proc.terminate()
        served.proc.wait(timeout=30)
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE agreements SET title = 'Renamed by hand' WHERE id = "
                     "(SELECT min(id) FROM agreements)")  # fmt: skip
    digest = hashlib.sha256(seeded_db.read_bytes()).hexdigest()
    served = _start(seeded_db, tmp_path / "stale")
    try:
        (entry,) = list(served.tmp.glob("kzdiplo-serve-*/*.db"))
        assert not entry.is_symlink()
        url = f"http://127.0.0.1:{served.port}/kzdiplo/records.json?title=Renamed+by+hand"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert json.load(response)["rows"], "the rebuilt tables lack the change"
    finally:
        served.proc.terminate()
        served.proc.wait(timeout=30)
    stderr = served.proc.stderr.read().decode() if served.proc.stderr else ""
    assert "browse tables are out of date" in stderr and "Traceback" not in stderr, stderr
    assert hashlib.sha256(seeded_db.read_bytes()).hexdigest() == digest


def test_the_kept_descriptions_are_the_models() -> None:
    """serve reads the tables' descriptions from a file beside it (no SQLAlchemy at
    start-up): it must say what the models say. Rewrite: python -m kzdiplo.web.serve"""
    from importlib import resources

    from kzdiplo.export import table_descriptions
    from kzdiplo.web.serve import DESCRIPTIONS

    kept = json.loads((resources.files("kzdiplo.web") / DESCRIPTIONS).read_text("utf-8"))
    assert kept == table_descriptions()


def test_start_up_imports_no_sqlalchemy(seeded_db: Path, tmp_path: Path) -> None:
    """Importing SQLAlchemy and the models for the descriptions took about a second of
    serve's start-up; a fresh file is now prepared without them."""
    import subprocess
    import sys

    folder = tmp_path / "serve"
    folder.mkdir()
    code = (
        "import sys; from pathlib import Path; from kzdiplo.web import serve; "
        f"serve._prepare(Path({str(seeded_db)!r}), Path({str(folder)!r})); "
        "print(sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'alembic'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True)
    assert out.stdout.strip() == b"[]", out.stdout + out.stderr


def test_a_bulk_insert_without_the_triggers_is_seen(seeded_db: Path) -> None:
    """A bulk writer that drops the triggers for speed and puts them back (synth.py's
    --fts rebuild) leaves the state saying fresh; the highest id of a table of records
    no longer matches the one kept, so the tables are not trusted."""
    with sqlite3.connect(seeded_db) as conn:
        triggers = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                "AND tbl_name = 'agreements'").fetchall()  # fmt: skip
        for name, _ in triggers:
            conn.execute(f'DROP TRIGGER "{name}"')
        columns = [r[1] for r in conn.execute("PRAGMA table_info(agreements)") if r[1] != "id"]
        values = ["'bulk-1'" if c == "slug" else c for c in columns]
        conn.execute(f"INSERT INTO agreements ({', '.join(columns)}) SELECT {', '.join(values)} "
                     "FROM agreements WHERE id = (SELECT min(id) FROM agreements)")  # fmt: skip
        for _, sql in triggers:
            conn.execute(sql)
        assert (
            conn.execute("SELECT stale FROM derived_state WHERE name = 'browse'").fetchone()[0] == 0
        )
    reader = SqliteReader(seeded_db)
    try:
        assert browse.fresh_limit(reader) is None
    finally:
        reader.close()


def _browse_rows(conn: sqlite3.Connection) -> dict[str, Any]:
    """Every row of the browse tables (counts and money without their row ids, which
    only record insertion order) and the kept state."""
    counts = "SELECT noun, facet, value, count FROM records_counts"
    money = [r[1] for r in conn.execute("PRAGMA table_info(partner_money)") if r[1] != "id"]
    return {
        "records": sorted(conn.execute("SELECT * FROM records").fetchall()),
        "counts": sorted(conn.execute(counts).fetchall(), key=repr),
        "money": sorted(conn.execute(f"SELECT {', '.join(money)} FROM partner_money"), key=repr),
        "state": conn.execute(
            "SELECT stale, value FROM derived_state WHERE name = 'browse'"
        ).fetchall(),
    }


def _few_records(db: Path, folder: Path) -> Path:
    """A file that adds an organisation, agreements with it, a placed project and
    updates a seeded agreement (new title, date and parties)."""
    with sqlite3.connect(db) as conn:
        (old,) = conn.execute("SELECT slug FROM agreements ORDER BY id LIMIT 1").fetchone()
    cited = {"source": "tengritimes-2026-01-03", "summary": "Our words on a test record."}
    parties = [{"partner": "KZ", "role": "signatory"}, {"partner": "few-org", "role": "party"}]
    document = {
        "organizations": [{"slug": "few-org", "name": "Few Organisation", "kind": "company",
                           "country": "NO", "citations": [cited]}],
        "agreements": [
            *({"slug": f"few-{i}", "title": f"Few {i}", "kind": "agreement", "date": "2031-05",
               "parties": parties, "sectors": ["digital"], "citations": [cited]}
              for i in range(3)),
            {"slug": old, "title": "Retitled by a load", "kind": "agreement", "date": "2032",
             "parties": [{"partner": "JP", "role": "signatory"}], "citations": [cited]},
        ],
        "projects": [{"slug": "few-project", "name": "Few project", "kind": "plant",
                      "coordinates": {"latitude": 43.2, "longitude": 76.9,
                                      "precision": "settlement"},
                      "parties": [{"partner": "KZ", "role": "developer"}],
                      "citations": [cited]}],
    }  # fmt: skip
    file = folder / "few.yaml"
    file.write_text(yaml.safe_dump(document, allow_unicode=True))
    return file


BIG = {*CONTENT, "stage_changes", "deal_overlaps", "search_index", "t", "r", "p", "ci", "x"}


def test_a_small_load_rewrites_only_its_records_rows_as_a_rebuild_would(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, every load rebuilt the browse tables whole (about 2.5 CPU-minutes at a
    million agreements for ten new ones). Now a load that adds and updates a few
    records rewrites their rows, moves their facet counts and the placed count: every
    row equals what a full rebuild gives, and no statement of the refresh scans a
    table of records, their links or records itself (each finds its rows by key)."""
    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.loader import load_paths

    file = _few_records(seeded_db, tmp_path)
    sent: list[str] = []
    refresh = browse.refresh

    def traced(conn: Any, changes: Any) -> None:
        conn.connection.driver_connection.set_trace_callback(sent.append)
        refresh(conn, changes)
        conn.connection.driver_connection.set_trace_callback(None)

    def no_rebuild(conn: Any) -> None:
        raise AssertionError("a full rebuild")

    monkeypatch.setattr(browse, "refresh", traced)
    monkeypatch.setattr(browse, "rebuild", no_rebuild)
    engine = make_engine(sqlite_url(seeded_db))
    report = load_paths(engine, [file])
    engine.dispose()
    assert report.counts()["added"] == 5 and report.counts()["updated"] == 1
    monkeypatch.undo()
    with sqlite3.connect(seeded_db) as conn:
        incremental = _browse_rows(conn)
    engine = make_engine(sqlite_url(seeded_db))
    with engine.connect() as connection:
        transaction = connection.begin()
        browse.rebuild(connection)
        raw = connection.connection.driver_connection
        assert raw is not None
        full = _browse_rows(raw)
        transaction.rollback()
    engine.dispose()
    assert incremental == full
    retitled = [r for r in incremental["records"] if r[1] == "Retitled by a load"]
    assert len(retitled) == 1 and json.loads(retitled[0][9]) == ["JP"]
    with sqlite3.connect(seeded_db) as conn:
        browse._functions(conn)
        scans = []
        for statement in sent:
            if statement.startswith(("CREATE TEMP", "DROP")):
                conn.execute(statement)
            elif statement.endswith("WHERE 1 = 0"):
                continue  # a table's column names (no row read)
            elif statement.startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
                plan = [r[3] for r in conn.execute(f"EXPLAIN QUERY PLAN {statement}")]
                scans += [(line, statement[:90]) for line in plan if line.startswith("SCAN ")
                          and line.split()[1] in BIG]  # fmt: skip
    assert sent and not scans, scans
    monkeypatch.setattr(browse, "rebuild", no_rebuild)  # the same file again: nothing written
    engine = make_engine(sqlite_url(seeded_db))
    assert load_paths(engine, [file]).counts()["unchanged"] == 6
    engine.dispose()
    with sqlite3.connect(seeded_db) as conn:
        assert _browse_rows(conn) == incremental


def test_a_load_after_a_write_around_it_rebuilds_the_tables_whole(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Tables made stale by a hand-made change are not refreshed row by row (their
    other rows cannot be trusted): the load rebuilds them, so the change shows, and
    every row equals a full rebuild."""
    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine

    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE agreements SET title = 'Renamed by hand' WHERE id = "
                     "(SELECT max(id) FROM agreements)")  # fmt: skip
    file = _few_records(seeded_db, tmp_path)
    assert run_process("--db", str(seeded_db), "load", str(file)).returncode == 0
    with sqlite3.connect(seeded_db) as conn:
        loaded = _browse_rows(conn)
    assert any(r[1] == "Renamed by hand" for r in loaded["records"])
    engine = make_engine(sqlite_url(seeded_db))
    with engine.connect() as connection:
        transaction = connection.begin()
        browse.rebuild(connection)
        assert _browse_rows(connection.connection.driver_connection) == loaded  # type: ignore[arg-type]
        transaction.rollback()
    engine.dispose()


def test_a_load_beyond_the_refresh_bound_rebuilds_the_tables_whole(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load that changed more records than REFRESH_MAX rebuilds serve's tables in SQL
    instead of holding every key it wrote (a million-record load would); the report's
    changes reach the refresh as the spool's re-readable lines, not a list."""
    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.loader import Report, load_paths

    rebuilt: list[int] = []
    rebuild, refresh = browse.rebuild, browse.refresh

    def counted(conn: Any) -> None:
        rebuilt.append(1)
        rebuild(conn)

    def checked(conn: Any, changes: Any) -> None:
        assert isinstance(changes, Report)  # read from its spool, more than once
        refresh(conn, changes)

    monkeypatch.setattr(browse, "rebuild", counted)
    monkeypatch.setattr(browse, "refresh", checked)
    monkeypatch.setattr(browse, "REFRESH_MAX", 4)  # the file changes 6 records
    engine = make_engine(sqlite_url(seeded_db))
    assert load_paths(engine, [_few_records(seeded_db, tmp_path)]).counts()["added"] == 5
    engine.dispose()
    assert rebuilt == [1]
    monkeypatch.setattr(browse, "REFRESH_MAX", 50_000)
    with sqlite3.connect(seeded_db) as conn:
        loaded = _browse_rows(conn)
    engine = make_engine(sqlite_url(seeded_db))
    with engine.connect() as connection:
        transaction = connection.begin()
        rebuild(connection)
        assert _browse_rows(connection.connection.driver_connection) == loaded  # type: ignore[arg-type]
        transaction.rollback()
    engine.dispose()
