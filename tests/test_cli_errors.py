"""Bad input: one clear line on stderr, exit code 2 (1 for SQL errors), never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.conftest import snapshot

BAD = [
    (["agreements", "--partner", "Untied States"], "unknown partner 'Untied States'; did you mean"),
    (["agreements", "--sector", "minrals"], "unknown sector 'minrals'; did you mean"),
    (["deals", "--min-usd", "lots"], "--min-usd: 'lots' is not an amount"),
    (["events", "--since", "yesterday"], "--since: 'yesterday' is not a date"),
    (["events", "--since", "2025-13"], "--since: month 13"),
    (["events", "--since", "2026", "--until", "2025"], "--since 2026 is after --until 2025"),
    (["agreements", "--sort", "price"], "cannot sort agreements by 'price'"),
    (["agreements", "--kind", "treaty"], "unknown kind 'treaty'"),
    (["show", "agrement", "x"], "unknown noun 'agrement'; did you mean 'agreement'"),
    (["show", "deal", "us-exim"], "unknown deal 'us-exim'; did you mean"),
    (["search", "!!!"], "nothing to search for"),
    (["schema", "dealz"], "unknown table or view 'dealz'; did you mean 'deals'"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_line_and_exit_2(seeded_db: Path, args: list[str], message: str) -> None:
    before = snapshot(seeded_db)
    result = run(seeded_db, *args)
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("kzdiplo: error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stdout == ""
    assert snapshot(seeded_db) == before


def test_usage_errors_exit_2(seeded_db: Path) -> None:
    for args in (["agreements", "--year", "abc"], ["nonsense"], ["agreements", "--format", "xml"]):
        result = run(seeded_db, *args)
        assert result.exit_code == 2 and "Traceback" not in (result.stderr + result.stdout)


def test_missing_database_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = run(missing, "agreements")
    assert result.exit_code == 2
    assert f"no database at {missing}" in result.stderr and "db init" in result.stderr
    assert not missing.exists()


def test_not_a_database(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("hello, not sqlite\n" * 10)
    for path, message in ((text, "is not an SQLite database"), (tmp_path, "is a directory")):
        result = run(path, "agreements")
        assert result.exit_code == 2 and message in result.stderr
    assert text.read_text() == "hello, not sqlite\n" * 10


def test_someone_elses_sqlite_file(tmp_path: Path) -> None:
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    result = run(other, "agreements")
    assert result.exit_code == 2 and "not a kzdiplo database" in result.stderr
    result = run(other, "db", "init")
    assert result.exit_code == 2 and "not touching it" in result.stderr


@pytest.mark.slow
def test_outdated_schema_says_what_to_run(seeded_db: Path) -> None:
    from kzdiplo.config import sqlite_url
    from kzdiplo.migrate import downgrade

    downgrade(sqlite_url(seeded_db), "0001")
    result = run(seeded_db, "agreements")
    assert result.exit_code == 1
    assert f"run kzdiplo --db {seeded_db} db upgrade" in result.stderr
    assert run(seeded_db, "db", "upgrade").exit_code == 0
    assert run(seeded_db, "agreements").exit_code == 0
