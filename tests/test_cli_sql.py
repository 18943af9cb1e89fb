"""kzdiplo sql: reads work; nothing the user types can change the data."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from tests.cli_helpers import run

WRITES = [
    "INSERT INTO sources (slug, title, kind) VALUES ('x', 'x', 'media')",
    "UPDATE deals SET amount_low = 0",
    "DELETE FROM citations",
    "DROP TABLE deals",
    "CREATE TABLE evil (x)",
    "ALTER TABLE deals ADD COLUMN evil",
    "ATTACH DATABASE '{dir}/x.db' AS x",
    "PRAGMA query_only = OFF",
    "PRAGMA writable_schema = ON",
    "VACUUM INTO '{dir}/copy.db'",
    "VACUUM",
    "SELECT 1; DELETE FROM deals",
    "WITH x AS (SELECT 1) DELETE FROM deals",
    "SELECT load_extension('/tmp/evil')",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
    "CREATE TEMP TABLE t (x)",
    "DELETE FROM search_index",
    "INSERT INTO search_index (search_index) VALUES ('rebuild')",
]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("statement", WRITES)
def test_writes_are_refused_and_nothing_changes(seeded_db: Path, statement: str) -> None:
    folder = seeded_db.parent
    before_files = sorted(p.name for p in folder.iterdir())
    before = _sha(seeded_db)
    result = run(seeded_db, "sql", statement.format(dir=folder))
    assert result.exit_code in (1, 2), result.stdout
    assert result.stderr.startswith("kzdiplo: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert _sha(seeded_db) == before
    assert sorted(p.name for p in folder.iterdir() if not p.name.endswith(("-wal", "-shm"))) == [
        n for n in before_files if not n.endswith(("-wal", "-shm"))
    ]


def test_select_formats_and_stdin(seeded_db: Path) -> None:
    query = (
        "SELECT slug, count FROM agreements WHERE slug IN "
        "('kz-us-washington-29-agreements', 'kz-cn-24-intergovernmental-agreements') ORDER BY count"
    )
    rows = json.loads(run(seeded_db, "sql", query, "-f", "json").stdout)
    assert rows == [
        {"slug": "kz-cn-24-intergovernmental-agreements", "count": 24},
        {"slug": "kz-us-washington-29-agreements", "count": 29},
    ]
    csv_out = run(seeded_db, "sql", query, "-f", "csv").stdout.splitlines()
    assert csv_out[0] == "slug,count" and len(csv_out) == 3
    piped = run(seeded_db, "sql", "-", "-f", "ndjson", input=query)
    assert [json.loads(line)["count"] for line in piped.stdout.splitlines()] == [24, 29]
    table = run(seeded_db, "sql", query)
    assert "kz-us-washington-29-agreements" in table.stdout
    empty = run(seeded_db, "sql", "SELECT * FROM deals WHERE 0", "-f", "json")
    assert json.loads(empty.stdout) == []


def test_views_and_search_index_are_queryable(seeded_db: Path) -> None:
    for query in (
        "SELECT * FROM deal_overview",
        "SELECT * FROM citation_details",
        "SELECT key FROM search_index WHERE search_index MATCH 'tungsten'",
        "PRAGMA table_info(deals)",
    ):
        result = run(seeded_db, "sql", query, "-f", "json")
        assert result.exit_code == 0, (query, result.stderr)
        assert json.loads(result.stdout)


def test_row_cap_is_announced(seeded_db: Path) -> None:
    result = run(seeded_db, "sql", "SELECT code FROM countries", "--max-rows", "10", "-f", "json")
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 10
    assert "truncated: showing the first 10 rows" in result.stderr
    whole = run(seeded_db, "sql", "SELECT code FROM countries", "--max-rows", "0", "-f", "json")
    assert len(json.loads(whole.stdout)) == 250 and whole.stderr == ""


@pytest.mark.slow
def test_runaway_query_stops_at_the_time_limit(seeded_db: Path) -> None:
    endless = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
    )
    result = run(seeded_db, "sql", endless, "--timeout", "0.2")
    assert result.exit_code == 3 and "time limit" in result.stderr
    cross = "SELECT count(*) FROM countries a, countries b, countries c, countries d"
    assert run(seeded_db, "sql", cross, "--timeout", "0.2").exit_code == 3
    assert run(seeded_db, "sql", "SELECT 1").exit_code == 0  # the database is still usable


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("SELEC 1", 'SQL error: near "SELEC": syntax error'),
        ("SELECT * FROM nowhere", "SQL error: no such table: nowhere"),
        ("", "empty query"),
        ("SELECT 1\x00", "NUL byte"),
    ],
)
def test_sql_errors_are_one_line(seeded_db: Path, query: str, message: str) -> None:
    result = run(seeded_db, "sql", query)
    assert result.exit_code in (1, 2) and message in result.stderr
    assert result.stderr.count("\n") == 1
