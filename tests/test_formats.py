"""One dispatcher owns the formats: each command offers only what it can write, CSV
always has a header and no leftover columns, audit CSV is one table."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.cli_helpers import run


def rows_of(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


@pytest.mark.slow
@pytest.mark.parametrize("noun", ["agreements", "deals", "deposits", "projects", "events"])
def test_csv_has_the_same_header_whatever_matches(seeded_db: Path, noun: str) -> None:
    header, rows = rows_of(run(seeded_db, noun, "--limit", "0", "-f", "csv").stdout)
    assert rows
    for args in (["--partner", "JP"], ["--partner", "UA"]):
        result = run(seeded_db, noun, *args, "-f", "csv")
        assert result.exit_code == 0, result.stderr
        assert rows_of(result.stdout)[0] == header, args


@pytest.mark.parametrize("noun", ["agreements", "deals", "projects", "events"])
def test_csv_of_no_results_is_a_header(seeded_db: Path, noun: str) -> None:
    header, _ = rows_of(run(seeded_db, noun, "-f", "csv").stdout)
    result = run(seeded_db, noun, "--year", "1990", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [",".join(header)]


def test_search_csv_of_no_match_is_a_header(seeded_db: Path) -> None:
    result = run(seeded_db, "search", "zzqqxx", "-f", "csv")
    assert result.stdout.splitlines() == ["noun,key,title,snippet,score"]


@pytest.mark.parametrize("noun", ["deals", "projects", "deposits"])
def test_csv_leaves_no_always_empty_leftover_column(seeded_db: Path, noun: str) -> None:
    header, rows = rows_of(run(seeded_db, noun, "--limit", "0", "-f", "csv").stdout)
    assert rows  # with no rows every column would pass as "not always empty"
    leftovers = [
        name
        for name in header
        if any(other.startswith(f"{name}_") for other in header)
        and not any(row[name] for row in rows)
    ]
    assert leftovers == [], "always empty beside their NAME_* columns"


def test_audit_csv_is_one_table_with_a_section_column(seeded_db: Path) -> None:
    text = run(seeded_db, "audit", "-f", "csv").stdout
    header, rows = rows_of(text)
    assert header[0] == "section"
    assert sum(1 for line in text.splitlines() if line.startswith("section,")) == 1
    assert {r["section"] for r in rows} >= {"summary", "discrepancies", "single_sourced"}


def test_audit_markdown_has_a_heading_per_section(seeded_db: Path) -> None:
    lines = run(seeded_db, "audit", "-f", "markdown").stdout.splitlines()
    assert lines[0] == "# kzdiplo audit"
    assert sum(1 for line in lines if line.startswith("## ")) == 4


@pytest.mark.slow
@pytest.mark.parametrize(
    "args",
    [["deals"], ["agreements"], ["show", "deal", "us-exim-critical-minerals-funding"],
     ["partners"], ["sql", "SELECT 1"], ["search", "tungsten"], ["audit"]],
    ids=" ".join,
)  # fmt: skip
def test_geojson_is_refused_where_records_have_no_places(seeded_db: Path, args: list[str]) -> None:
    result = run(seeded_db, *args, "-f", "geojson")
    assert result.exit_code == 2 and result.stdout == ""
    help_text = run(seeded_db, args[0], "--help").stdout
    assert "geojson" not in help_text


@pytest.mark.parametrize("noun", ["deposits", "projects", "events"])
def test_geojson_is_offered_where_records_have_places(seeded_db: Path, noun: str) -> None:
    assert "geojson" in run(seeded_db, noun, "--help").stdout
    result = run(seeded_db, noun, "-f", "geojson")
    assert result.exit_code == 0 and '"FeatureCollection"' in result.stdout
