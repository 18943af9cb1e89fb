"""kzdiplo db: path, init, upgrade, current, seed, check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.conftest import snapshot


@pytest.mark.slow
def test_init_creates_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "new" / "kz.db"
    first = run(path, "db", "init")
    assert first.exit_code == 0 and " added, " in first.stderr and "0 added" not in first.stderr
    before = snapshot(path)
    again = run(path, "db", "init")
    assert again.exit_code == 0 and "0 added, 0 updated" in again.stderr
    assert snapshot(path) == before
    assert run(path, "db", "current").stdout.strip().endswith("(up to date)")
    assert run(path, "db", "path").stdout.strip() == str(path)


@pytest.mark.slow
def test_seed_reports_no_change(seeded_db: Path) -> None:
    before = snapshot(seeded_db)
    result = run(seeded_db, "db", "seed")
    assert result.exit_code == 0 and "0 added, 0 updated" in result.stderr
    assert snapshot(seeded_db) == before


def test_check_passes_on_the_seeded_database(seeded_db: Path) -> None:
    result = run(seeded_db, "db", "check")
    assert result.exit_code == 0 and "FAIL" not in result.stdout
    assert result.stdout.count("ok") == 10  # with "the database holds records"


def test_check_finds_a_quote_no_longer_in_its_source(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        (first,) = conn.execute("SELECT min(id) FROM citations WHERE kind = 'quote'").fetchone()
        conn.execute("UPDATE citations SET text = 'Kazakhstan joined NATO' WHERE id = ?", (first,))
    result = run(seeded_db, "db", "check")
    assert result.exit_code == 1
    assert "FAIL  every citation quote is in its source" in result.stdout
    assert f"citation {first} of" in result.stdout


def test_check_finds_a_dangling_reference(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("UPDATE parties SET country_id = 99999 WHERE id = 1")
    result = run(seeded_db, "db", "check")
    assert result.exit_code == 1 and "FAIL  PRAGMA foreign_key_check" in result.stdout


def test_search_index_follows_ad_hoc_writes(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        conn.execute(
            "UPDATE mineral_deposits SET name = 'Severny Katpal' WHERE slug = 'north-katpal'"
        )
    found = run(seeded_db, "search", "Severny", "-f", "json")
    assert '"north-katpal"' in found.stdout
    assert run(seeded_db, "db", "check").exit_code == 0  # the triggers kept the index in step


def test_grant_readonly_prints_its_sql_without_a_server(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from kzdiplo.cli import app
    from tests.cli_helpers import ENV

    env = ENV | {"KZDIPLO_DATABASE_URL": "postgresql+psycopg://admin@127.0.0.1:1/kz"}
    result = CliRunner().invoke(app, ["db", "grant-readonly", "--print-sql"], env=env)
    assert result.exit_code == 0, result.stderr
    assert "GRANT SELECT ON ALL TABLES IN SCHEMA public TO kzdiplo_reader" in result.stdout
    assert "default_transaction_read_only = on" in result.stdout
    bad = CliRunner().invoke(app, ["db", "grant-readonly", "--role", "x; DROP"], env=env)
    assert bad.exit_code == 2
    on_sqlite = run(tmp_path / "x.db", "db", "grant-readonly")
    assert on_sqlite.exit_code == 2 and "PostgreSQL" in on_sqlite.stderr
