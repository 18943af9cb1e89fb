"""The data as one spreadsheet (``kzdiplo export --format xlsx``), for people who work in
Excel or LibreOffice rather than SQL.

A first sheet says what the file is and describes every column; then one sheet per kind
of record (the listing's rows, flattened as ``--format csv`` does, partial dates with
their EDTF form), one of sources and one of citations, where a verbatim quote and our
own summary sit in separate columns so they cannot be confused. Each header cell also
carries its description as a comment. Control and bidi characters in text are shown as
visible stand-ins, as in every format people read.

Text that a spreadsheet would run as a formula (starting with = + - @, tab or CR) is
stored as a text cell with Excel's quote prefix, the equivalent of the leading
apostrophe: it shows and stays as text, even after editing, and its value is unchanged.

openpyxl is imported only here (the ``research`` extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kzdiplo import contenthash, dataset, licence
from kzdiplo.entities import ENTITIES, LISTING_KEYS
from kzdiplo.fields import FLAT_COLUMNS
from kzdiplo.queries import Filters, list_records, list_sources
from kzdiplo.reader import Reader
from kzdiplo.render import flatten
from kzdiplo.safetext import FORMULA_STARTS, for_terminal
from kzdiplo.vocab import SOURCE_RELATIONS, in_words

if TYPE_CHECKING:
    from kzdiplo.files import FolderWriter

# Columns the listings derive (not stored as such): what they mean, in a spreadsheet.
DERIVED = {
    **LISTING_KEYS,
    "partners": "Parties as key (role); the parties table has one row each",
    "sectors": "Sector slugs; the record_sectors table links them",
    "quote": "A verbatim excerpt of the source (its text is held and checked)",
    "summary": "Our own summary of the source: not a quotation",
    "origin": "The source it ultimately rests on (itself when original)",
    "derived_from": "The source it republishes or reports on",
    "relation": in_words(SOURCE_RELATIONS),
    "citation_count": "How many citations rest on it",
    "discrepancy_count": "How many discrepancies it raises",
    "text_held": "Whether its text is held (only then is it quoted verbatim)",
}
_SKIP = ("id", "sources")  # ids differ between databases; sources have their own sheet

# Column widths, in characters: wide enough for the longest line of a column's header or
# cells (plus room for the filter button), never so wide that one long quote or summary
# pushes the other columns off the screen, never so narrow that a short code is cut.
MIN_WIDTH = 6
MAX_WIDTH = 50
FILTER_BUTTON = 2


def _comments(table: str) -> dict[str, str]:
    from kzdiplo.models import Base
    from kzdiplo.views import VIEW_COLUMNS

    if table in VIEW_COLUMNS:
        return VIEW_COLUMNS[table]
    columns = Base.metadata.tables[table].columns
    return {c.name: c.comment for c in columns if c.comment}


def _description(name: str, comments: dict[str, str]) -> str:
    if name.endswith("_edtf"):
        return "The same partial date in EDTF (ISO 8601-2), e.g. 2025-11, 2035/2036"
    column = FLAT_COLUMNS.get(name, name)  # coordinates_latitude: the latitude column
    return comments.get(name) or comments.get(column) or DERIVED.get(name) or ""


def _sheets(reader: Reader) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """(sheet name, table whose comments describe it, rows)."""
    sheets = []
    for noun in ENTITIES.values():
        page = list_records(reader, noun, Filters(limit=None, sort=noun.default_sort))
        rows = [flatten({k: v for k, v in r.items() if k not in _SKIP}) for r in page.records]
        sheets.append((noun.plural, noun.table, rows))
    sources = [{k: v for k, v in r.items() if k != "id"} for r in list_sources(reader)]
    sheets.append(("sources", "sources", sources))
    citations = reader.rows("SELECT * FROM citation_details ORDER BY citation_id")
    sheets.append(("citations", "citations", [
        {k: v for k, v in r.items() if k != "citation_id"} for r in citations
    ]))  # fmt: skip
    ledger = reader.rows(
        "SELECT * FROM money_flows ORDER BY deal, direction, partner"  # the totals' one source
    )
    sheets.append(("money_flows", "money_flows", [
        {k: v for k, v in r.items() if not k.endswith("_id")} for r in ledger
    ]))  # fmt: skip
    return sheets


def _cell_value(value: Any) -> Any:
    """A cell: text through the one guard of human formats (safetext), so control
    characters are shown, not written (XML cannot hold most of them: openpyxl refused the
    whole workbook), and nothing hides behind a bidi override."""
    if isinstance(value, bool | int | float) or value is None:
        return value
    return for_terminal(str(value), multiline=True)


def write_xlsx(
    reader: Reader, out: FolderWriter, progress: Callable[[], None] | None = None
) -> None:
    """``kzdiplo.xlsx`` in the folder being written (which replaces the previous file
    only when complete)."""
    try:
        from openpyxl import Workbook
        from openpyxl.comments import Comment
        from openpyxl.styles import Font
    except ImportError:
        from kzdiplo.errors import KzError

        raise KzError("--format xlsx needs openpyxl: pip install 'kzdiplo[research]'") from None

    book = Workbook()
    about = book.active
    assert about is not None  # a new workbook has its one sheet
    about.title = "about"
    document_hash = contenthash.content_hash(_document(reader))
    about.append([dataset.NAME])
    version = f"Data version {dataset.DATA_VERSION} ({dataset.DATA_DATE})"
    about.append([f"{version}, content {document_hash}; {licence.LICENCE_SHORT}"])
    about.append(["A quote is verbatim from its source; a summary is our own words."])
    about.append([])
    about.append(["sheet", "column", "description"])
    for cell in about[5]:
        cell.font = Font(bold=True)
    for name, table, rows in _sheets(reader):
        comments = _comments(table)
        sheet = book.create_sheet(name)
        headers = list(dict.fromkeys(k for row in rows for k in row))
        # A nested value that is empty in some rows flattens to a bare column beside its
        # parts (coordinates vs coordinates_latitude...): keep only the parts. A column
        # that only shares a prefix (usd_rate beside usd_rate_date) holds values: kept.
        headers = [
            h for h in headers
            if not (any(o.startswith(f"{h}_") for o in headers)
                    and all(row.get(h) is None for row in rows))
        ]  # fmt: skip
        sheet.append(headers)
        for cell, header in zip(sheet[1], headers, strict=True):
            cell.font = Font(bold=True)
            text = _description(header, comments)
            about.append([name, header, text])
            if text:
                cell.comment = Comment(text, "kzdiplo")
        for row in rows:
            sheet.append([_cell_value(row.get(h)) for h in headers])
        for line in sheet.iter_rows(min_row=2):
            for cell in line:
                if isinstance(cell.value, str) and cell.value.startswith(FORMULA_STARTS):
                    cell.data_type = "s"  # never a formula
                    cell.quotePrefix = True  # and stays text when edited
        _finish_table(sheet, header_row=1)
        if progress:
            progress()
    _finish_table(about, header_row=5)
    book.save(out.path("kzdiplo.xlsx"))


def _finish_table(sheet: Any, header_row: int) -> None:
    """What a spreadsheet user expects of a table: the header row stays in view while
    scrolling, every column has a filter, and each column is as wide as its content
    (within MIN_WIDTH and MAX_WIDTH)."""
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = sheet.cell(row=header_row + 1, column=1).coordinate
    last = get_column_letter(max(sheet.max_column, 1))
    sheet.auto_filter.ref = f"A{header_row}:{last}{max(sheet.max_row, header_row)}"
    for index, column in enumerate(sheet.iter_cols(min_row=header_row), start=1):
        widest = max((_text_width(cell.value) for cell in column), default=0)
        width = min(max(widest + FILTER_BUTTON, MIN_WIDTH), MAX_WIDTH)
        sheet.column_dimensions[get_column_letter(index)].width = width


def _text_width(value: Any) -> int:
    """The characters of a cell's longest line (what its column must show unwrapped)."""
    if value is None:
        return 0
    return max(len(line) for line in str(value).splitlines() or [""])


def _document(reader: Reader) -> dict[str, Any]:
    from kzdiplo.export import as_document

    return as_document(reader)


SHEET_COUNT = len(ENTITIES) + 2  # for the progress bar
