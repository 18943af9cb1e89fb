"""What reaches a terminal: no escape sequence, control or bidi character from the data or
from a query drives it; CSV neutralises spreadsheet formulas by default."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path

import pytest

from kzdiplo.safetext import for_terminal
from tests.cli_helpers import run, run_process

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 "
    "\x1b]52;c;aGVsbG8=\x07 bell\x07 c1\x9b2J \u202egnp.exe\u202c \u2066iso\u2069 "
    "zero\u200bwidth"
)
# Anything a terminal acts on: C0 but newline, DEL, C1, bidi embeddings/overrides/isolates.
DANGEROUS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b]")


def _poison(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE agreements SET title = ?, summary = ? WHERE id = 1",
                     (HOSTILE, HOSTILE))  # fmt: skip
        conn.execute("UPDATE citations SET note = ? WHERE agreement_id = 1", (HOSTILE,))


def test_for_terminal_makes_everything_visible() -> None:
    shown = for_terminal(HOSTILE)
    assert not DANGEROUS.search(shown)
    assert "<U+200B>" in shown and "<U+202E>" in shown and "\u241b[31m" in shown
    assert for_terminal("plain Қазақстан text, 100%") == "plain Қазақстан text, 100%"
    assert for_terminal("two\nlines", multiline=True) == "two\nlines"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_listings_show_and_audit_are_neutralised(fmt: str, seeded_db: Path) -> None:
    _poison(seeded_db)
    slug = sqlite3.connect(seeded_db).execute("SELECT slug FROM agreements WHERE id = 1")
    key = slug.fetchone()[0]
    for args in (["agreements"], ["show", "agreement", key], ["audit"], ["search", "bell"]):
        result = run(seeded_db, *args, "--format", fmt)
        assert result.exit_code == 0, (args, result.stderr)
        assert not DANGEROUS.search(result.stdout + result.stderr), args
    assert "<U+202E>" in run(seeded_db, "agreements", "--format", fmt).stdout


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_sql_results_are_neutralised(fmt: str, seeded_db: Path) -> None:
    query = ("SELECT char(27) || ']52;c;aGVsbG8=' || char(7) AS \"x\u202ey\", "
             "char(155) || '2J' AS c1, 'a' || char(8203) || 'b' AS zw")  # fmt: skip
    result = run_process("--db", str(seeded_db), "sql", query, "--format", fmt)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert not DANGEROUS.search(out) and "<U+200B>" in out


@pytest.mark.slow
def test_error_lines_are_neutralised(seeded_db: Path) -> None:
    for args in (["agreements", "--partner", HOSTILE], ["show", "deal", HOSTILE],
                 ["sql", "SELECT * FROM \x1b]52;c;aGVsbG8=\x07"]):  # fmt: skip
        result = run_process("--db", str(seeded_db), *args)
        assert result.returncode in (1, 2), result.stderr
        err = result.stderr.decode()
        assert err.count("\n") == 1 and not DANGEROUS.search(err.rstrip("\n")), err


@pytest.mark.slow
def test_click_usage_errors_quote_input_escaped(seeded_db: Path) -> None:
    """Click prints its own usage errors; they quote the input with repr(), escaped."""
    for args in (["agreements", "--format", HOSTILE], ["agreements", "--limit", HOSTILE],
                 ["sql", "SELECT 1", "--timeout", HOSTILE], ["agreements", "--x" + HOSTILE],
                 ["agr\x1b[31meements"]):  # fmt: skip
        result = run_process("--db", str(seeded_db), *args)
        assert result.returncode == 2, result.stderr
        err = result.stderr.decode()
        assert not DANGEROUS.search(err.replace("\n", "")), err


def test_csv_neutralises_formulas_unless_raw(seeded_db: Path) -> None:
    query = ("SELECT '=HYPERLINK(\"http://evil\",\"x\")' AS a, '+1' AS b, '@SUM(1)' AS c, "
             "char(9) || '=1' AS d, -5 AS n, 'plain' AS e")  # fmt: skip
    safe = next(csv.DictReader(io.StringIO(run(seeded_db, "sql", query, "-f", "csv").stdout)))
    assert safe == {"a": "'=HYPERLINK(\"http://evil\",\"x\")", "b": "'+1", "c": "'@SUM(1)",
                    "d": "'\t=1", "n": "-5", "e": "plain"}  # fmt: skip
    raw = run(seeded_db, "sql", query, "-f", "csv-raw").stdout
    assert next(csv.DictReader(io.StringIO(raw)))["a"] == '=HYPERLINK("http://evil","x")'
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE agreements SET title = '=1+2' WHERE id = 1")
    listed = run(seeded_db, "agreements", "-f", "csv").stdout
    assert "'=1+2" in listed and "\n=1+2" not in listed
    assert "csv-raw" in run(seeded_db, "agreements", "--help").stdout
