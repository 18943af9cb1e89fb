"""kzdiplo export --format xlsx, opened back with openpyxl."""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import openpyxl
import pytest

from kzdiplo.safetext import for_terminal
from tests.cli_helpers import run, run_json

SHEETS = ["about", "agreements", "deals", "deposits", "projects", "events", "sources",
          "citations", "money_flows"]  # fmt: skip


def _export(db: Path, out: Path) -> openpyxl.Workbook:
    result = run(db, "export", "--format", "xlsx", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out / "kzdiplo.xlsx")
    return openpyxl.load_workbook(out / "kzdiplo.xlsx")


@pytest.mark.slow
def test_a_sheet_per_record_table_with_described_columns(seeded_db: Path, tmp_path: Path) -> None:
    book = _export(seeded_db, tmp_path)
    assert book.sheetnames == SHEETS
    for noun in ("agreements", "deals", "deposits", "projects", "events"):
        listed = run_json(seeded_db, noun, "--limit", "0")
        sheet = book[noun]
        assert sheet.max_row - 1 == len(listed)
        headers = [c.value for c in sheet[1]]
        assert "slug" in headers and "id" not in headers and "sources" not in headers
        assert sheet["A1"].comment is not None and sheet["A1"].comment.text
        slugs = [row[headers.index("slug")] for row in sheet.iter_rows(min_row=2, values_only=True)]
        assert sorted(slugs) == sorted(r["slug"] for r in listed)
    events = book["events"]
    assert "date_edtf" in [c.value for c in events[1]]
    described = {(r[0], r[1]): r[2] for r in book["about"].iter_rows(min_row=6, values_only=True)}
    assert described[("deals", "amount_low")]
    # A grouped value's parts are described by the column that stores each (fields.py).
    assert described[("deals", "amount_currency")] == "ISO 4217 code"
    assert described[("deposits", "coordinates_latitude")].startswith("WGS 84 latitude")
    assert "EDTF" in described[("events", "date_edtf")]
    with sqlite3.connect(seeded_db) as conn:
        citations = conn.execute("SELECT count(*) FROM citations").fetchone()[0]
    assert book["citations"].max_row - 1 == citations


@pytest.mark.slow
def test_quotes_and_summaries_sit_in_separate_columns(seeded_db: Path, tmp_path: Path) -> None:
    sheet = _export(seeded_db, tmp_path)["citations"]
    headers = [c.value for c in sheet[1]]
    kind, quote, summary = (headers.index(h) for h in ("kind", "quote", "summary"))
    kinds = set()
    for row in sheet.iter_rows(min_row=2, values_only=True):
        kinds.add(row[kind])
        if row[kind] == "quote":
            assert row[quote] and row[summary] is None
        else:
            assert row[summary] and row[quote] is None
    assert kinds == {"quote", "summary"}


@pytest.mark.slow
def test_formulas_are_stored_as_text(seeded_db: Path, tmp_path: Path) -> None:
    hostile = {"title": "=HYPERLINK(\"http://example.invalid\",\"x\")", "notes": "+1+1",
               "summary": "@SUM(A1)", "aliases": '["-2+3"]'}  # fmt: skip
    with sqlite3.connect(seeded_db) as conn:
        slug = conn.execute("SELECT slug FROM agreements ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute(
            "UPDATE agreements SET title = :title, notes = :notes, summary = :summary, "
            "aliases = :aliases WHERE slug = :slug",
            hostile | {"slug": slug},
        )
    book = _export(seeded_db, tmp_path)
    sheet = book["agreements"]
    headers = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[headers.index("slug")].value == slug)
    for column, value in (("title", hostile["title"]), ("notes", "+1+1"),
                          ("summary", "@SUM(A1)"), ("aliases", "-2+3")):  # fmt: skip
        cell = row[headers.index(column)]
        assert cell.value == value and cell.data_type == "s" and cell.quotePrefix
    with zipfile.ZipFile(tmp_path / "kzdiplo.xlsx") as archive:
        sheets = [n for n in archive.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert "<f>" not in archive.read(name).decode("utf-8")


def test_without_a_folder_is_exit_2(seeded_db: Path, tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = run(seeded_db, "export", "--format", "xlsx", "--out", str(afile))
    assert result.exit_code == 2 and result.stderr.startswith("kzdiplo: error:")


@pytest.mark.slow
def test_replaces_its_own_workbook_but_not_someone_elses(seeded_db: Path, tmp_path: Path) -> None:
    _export(seeded_db, tmp_path / "ours")
    _export(seeded_db, tmp_path / "ours")  # the manifest says this file is ours
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "kzdiplo.xlsx").write_bytes(b"their workbook")
    refused = run(seeded_db, "export", "--format", "xlsx", "--out", str(theirs))
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert (theirs / "kzdiplo.xlsx").read_bytes() == b"their workbook"


def test_control_characters_are_shown_not_refused(seeded_db: Path, tmp_path: Path) -> None:
    """openpyxl refuses text holding most C0 controls (XML cannot carry them): ESC in a
    title crashed the whole export. Cells go through the guard of every human format."""
    title = "Before \x1b]52;c;aGVsbG8=\x07 \x1b[2J \u202egnp.exe\u202c\x00 after"
    with sqlite3.connect(seeded_db) as conn:
        slug = conn.execute("SELECT slug FROM events ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE events SET title = ? WHERE slug = ?", (title, slug))
    sheet = _export(seeded_db, tmp_path)["events"]
    headers = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[headers.index("slug")].value == slug)
    shown = row[headers.index("title")].value
    assert shown == for_terminal(title, multiline=True) and "\u241b]52" in shown, shown


@pytest.mark.slow
def test_every_sheet_has_filters_a_frozen_header_and_widths_from_its_content(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Before, no sheet had a filter and every column kept Excel's default width (13):
    slugs were cut and one-letter flags took as much room as quotes."""
    from openpyxl.utils import get_column_letter

    from kzdiplo.xlsx import MAX_WIDTH, MIN_WIDTH

    book = _export(seeded_db, tmp_path)
    for sheet in book.worksheets:
        header_row = 5 if sheet.title == "about" else 1
        last = get_column_letter(sheet.max_column)
        assert sheet.auto_filter.ref == f"A{header_row}:{last}{sheet.max_row}", sheet.title
        assert sheet.freeze_panes == f"A{header_row + 1}", sheet.title
        widths = {}
        for index, column in enumerate(sheet.iter_cols(min_row=header_row), start=1):
            header = column[0].value
            longest = max(len(line) for c in column if c.value is not None
                          for line in str(c.value).splitlines())  # fmt: skip
            width = sheet.column_dimensions[get_column_letter(index)].width
            assert MIN_WIDTH <= width <= MAX_WIDTH, (sheet.title, header, width)
            # the longest line fits, unless it is longer than the cap
            assert width >= min(longest, MAX_WIDTH), (sheet.title, header, width, longest)
            widths[header] = width
        if sheet.title == "deals":
            longest_slug = max(len(s) for s in _column(sheet, "slug"))
            assert widths["slug"] >= min(longest_slug, MAX_WIDTH)
            assert widths["summary"] == MAX_WIDTH  # summaries are long: capped
            assert widths["amount_currency"] < 20  # the header's width, not a default
            assert "usd_rate" in widths  # before, dropped as if it were usd_rate_date's parent


def _column(sheet: openpyxl.worksheet.worksheet.Worksheet, header: str) -> list[str]:
    headers = [c.value for c in sheet[1]]
    at = headers.index(header)
    return [str(r[at]) for r in sheet.iter_rows(min_row=2, values_only=True) if r[at] is not None]
