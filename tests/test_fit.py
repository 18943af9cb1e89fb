"""Tables drawn by Rich fit the width (COLUMNS) at 80, 100, 120 and 200 columns: no line
longer than the width, except a key (slug, URL) too long for any line, printed whole on
a line of its own; every key people copy appears unbroken."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import pytest
from rich.cells import cell_len
from typer.testing import CliRunner

from kzdiplo.cli import app
from tests.cli_helpers import ENV, run_process

# The inner loop (-m "not slow") checks a new terminal's 80 columns; the full run also
# the wider ones, where the same layout code runs with more room.
WIDTHS = [80, *(pytest.param(width, marks=pytest.mark.slow) for width in (100, 120, 200))]
COMMANDS = [
    ["agreements"],
    ["agreements", "-p", "US"],
    ["deals", "--limit", "0"],
    ["deposits"],
    ["projects"],
    ["events", "--limit", "0"],
    ["partners"],
    ["sources"],
    ["audit"],
    ["schema"],
    ["search", "tungsten"],
    ["show", "deal", "us-exim-critical-minerals-funding"],
    ["show", "agreement", "kz-us-washington-29-agreements"],
    ["show", "partner", "US"],
    ["show", "source", "cove-bw-release"],
    ["sql", "SELECT slug, title, summary FROM deals"],
]
RULE = re.compile(r"^─+(  ─+)+$")  # the line under the headers of a table of columns
LONG_WORD = "Supercalifragilistic" * 4  # 80 letters: wider than a cell can be at 80 columns
LONG_SLUG = "kz-" + "-".join(["very-long-synthetic-slug"] * 4)  # 102 characters


def invoke(db: Path, width: int, *args: str) -> str:
    result = CliRunner().invoke(app, ["--db", str(db), *args], env=ENV | {"COLUMNS": str(width)})
    assert result.exit_code == 0, result.stderr
    return result.stdout


def keys_of(db: Path) -> set[str]:
    """Every slug and URL in the database."""
    with sqlite3.connect(db) as conn:
        found = set()
        for table in ("agreements", "deals", "mineral_deposits", "infrastructure_projects"):
            found |= {r[0] for r in conn.execute(f"SELECT slug FROM {table}")}
        found |= {r[0] for r in conn.execute("SELECT url FROM sources WHERE url IS NOT NULL")}
    return found


def assert_fits(text: str, width: int, keys: set[str]) -> None:
    for line in text.splitlines():
        if cell_len(line) > width:
            assert line.strip() in keys, f"{cell_len(line)} > {width}: {line!r}"


def assert_keys_whole(text: str, expected: set[str]) -> None:
    words = {w.strip("│┃ ") for line in text.splitlines() for w in line.split()}
    missing = {k for k in expected if k not in words}
    assert not missing, missing


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_every_command_fits_the_width(seeded_db: Path, width: int, args: list[str]) -> None:
    keys = keys_of(seeded_db)
    text = invoke(seeded_db, width, *args)
    assert_fits(text, width, keys)
    wide = invoke(seeded_db, 1000, *args)
    shown = {k for k in keys if k in {w.strip("│┃ ") for w in wide.split()}}
    assert_keys_whole(text, shown)


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_listed_slugs_are_never_broken(seeded_db: Path, width: int) -> None:
    for noun in ("agreements", "deals", "deposits", "projects", "events"):
        records = json.loads(invoke(seeded_db, 200, noun, "--limit", "0", "-f", "json"))
        text = invoke(seeded_db, width, noun, "--limit", "0")
        assert_keys_whole(text, {r["slug"] for r in records})


@pytest.fixture
def long_db(seeded_db: Path) -> Path:
    """The seeded database with one deal given an unbreakable word, a long title and a
    slug wider than 80 columns."""
    with sqlite3.connect(seeded_db) as conn:
        conn.execute(
            "UPDATE deals SET slug = ?, title = ? WHERE slug = 'us-exim-critical-minerals-funding'",
            (LONG_SLUG, f"{LONG_WORD} {'and a very long title ' * 8}[bold]not markup[/bold]"),
        )
    return seeded_db


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "args",
    [["deals", "--limit", "0"], ["show", "deal", LONG_SLUG], ["search", "Supercalifragilistic*"]],
    ids=" ".join,
)
def test_long_synthetic_values_fit_and_keep_the_slug_whole(
    long_db: Path, width: int, args: list[str]
) -> None:
    keys = keys_of(long_db)
    text = invoke(long_db, width, *args)
    assert_fits(text, width, keys)
    assert_keys_whole(text, {LONG_SLUG})
    assert "[bold]not" in text or "[bold]" in text.replace("\n", "")  # data, not markup


@pytest.mark.parametrize("width", WIDTHS)
def test_sql_with_long_values_fits(seeded_db: Path, width: int) -> None:
    query = f"SELECT '{LONG_SLUG}' AS slug, '{LONG_WORD} ' || summary AS summary FROM deals"
    text = invoke(seeded_db, width, "sql", query)
    assert_fits(text, width, {LONG_SLUG})
    assert_keys_whole(text, {LONG_SLUG})


def test_records_layout_on_request_shows_every_column(seeded_db: Path) -> None:
    text = invoke(seeded_db, 200, "agreements", "-p", "US", "--layout", "records")
    assert not any(RULE.match(line) for line in text.splitlines())
    for field in ("Date", "Title", "Kind", "Stage", "Count", "Partners", "Disputed", "Slug"):
        assert any(line.startswith(field + " ") for line in text.splitlines()), field


def test_a_narrow_table_names_the_columns_it_leaves_out(seeded_db: Path) -> None:
    text = invoke(seeded_db, 80, "agreements", "-p", "US", "--layout", "table")
    assert "Not shown at this width:" in text
    assert any(RULE.match(line) for line in text.splitlines())  # a table, not records
    assert "Not shown" not in invoke(seeded_db, 200, "agreements", "-p", "US")


@pytest.mark.slow
@pytest.mark.parametrize("width", WIDTHS)
def test_the_real_entry_point_fits_a_pipe_of_the_given_width(seeded_db: Path, width: int) -> None:
    """COLUMNS sets the width for a pipe too (Rich's convention)."""
    keys = keys_of(seeded_db)
    for args in (["agreements"], ["deals"], ["partners"], ["show", "partner", "US"]):
        result = run_process("--db", str(seeded_db), *args, env={"COLUMNS": str(width)})
        assert result.returncode == 0, result.stderr
        assert_fits(result.stdout.decode(), width, keys)
