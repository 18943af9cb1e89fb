"""Every output format in one place: box-drawn table, JSON, NDJSON, CSV and Markdown.

Listing commands hand over full records and a list of display columns: the table and
Markdown show the columns (honest short text), JSON/NDJSON carry the whole records with
their sources, CSV flattens the whole records into exact values.

What a person reads (table, Markdown) passes through :func:`kzdiplo.safetext.for_terminal`
here, before the table is drawn: data from load files and users' SQL cannot drive the
terminal. CSV neutralises cells a spreadsheet would run as formulas (``csv-raw``: exact).
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from enum import StrEnum
from typing import Any, TextIO

from kzdiplo.safetext import csv_cell, for_terminal

Column = tuple[str, Callable[[dict[str, Any]], str]]
# Keys people copy into `kzdiplo show`: never broken across lines in a table.
NO_WRAP = frozenset({"Slug", "Key", "Partner"})


class Format(StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    csv_raw = "csv-raw"  # CSV without the formula guard
    markdown = "markdown"
    geojson = "geojson"  # deposits and projects only


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_json(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default)


def flatten(record: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A record as one CSV row: nested objects become ``parent_child`` columns; lists of
    partners, sectors and sources become ``; ``-separated text."""
    flat: dict[str, Any] = {}
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, f"{name}_")
        elif isinstance(value, list):
            flat[name] = "; ".join(_list_item(v) for v in value)
        elif isinstance(value, bool):
            flat[name] = "true" if value else "false"
        else:
            flat[name] = value
    return flat


SUMMARY_MARK = "[summary]"


def said(citation: dict[str, Any]) -> str:
    """What a source says, as people read it: a verbatim quote in quotation marks, our
    own summary marked as ours and never in quotation marks."""
    if "quote" in citation:
        return f"\u201c{citation['quote']}\u201d"
    return f"{SUMMARY_MARK} {citation['summary']}"


def _list_item(value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    if "quote" in value or "summary" in value:
        return f"{value.get('title')} <{value.get('url')}>: {said(value)}"
    if "role" in value and "key" in value:
        return f"{value['key']} ({value['role']})"
    return ", ".join(f"{k}={v}" for k, v in value.items() if v is not None)


def _markdown_cell(value: str) -> str:
    return for_terminal(value, multiline=True).replace("|", "\\|").replace("\n", " ")


def write_table(
    rows: Sequence[Sequence[str]], headers: Sequence[str], out: TextIO, title: str | None = None
) -> None:
    """A box-drawn table (kzdiplo.table); key columns are never broken across lines, and no
    cell, header or title can drive the terminal."""
    from kzdiplo.table import write_table as draw

    safe_rows = [[for_terminal(_cell(v), multiline=True) for v in row] for row in rows]
    safe_headers = [for_terminal(h) for h in headers]
    draw(safe_rows, safe_headers, out, title and for_terminal(title), no_wrap=NO_WRAP)


def emit(
    records: list[dict[str, Any]],
    columns: Sequence[Column],
    fmt: Format,
    *,
    title: str | None = None,
    out: TextIO | None = None,
) -> None:
    """Write ``records`` to stdout in ``fmt``."""
    out = out or sys.stdout
    if fmt is Format.geojson:
        from kzdiplo.errors import UsageError

        raise UsageError("--format geojson is for deposits and projects")
    if fmt is Format.json:
        out.write(to_json(records) + "\n")
    elif fmt is Format.ndjson:
        for record in records:
            out.write(to_json(record, indent=None) + "\n")
    elif fmt in (Format.csv, Format.csv_raw):
        write_csv((flatten(r) for r in records), out, raw=fmt is Format.csv_raw)
    else:
        headers = [name for name, _ in columns]
        rows = [[get(r) for _, get in columns] for r in records]
        if fmt is Format.markdown:
            write_markdown(headers, rows, out)
        else:
            write_table(rows, headers, out, title)


def write_csv(rows: Iterable[dict[str, Any]], out: TextIO, *, raw: bool = False) -> None:
    """CSV with a header row: the union of the rows' keys, in first-seen order; text cells
    that start like a formula get a leading ``'`` unless ``raw``."""
    materialised = list(rows)
    headers = list(dict.fromkeys(k for row in materialised for k in row))
    writer = csv.DictWriter(out, fieldnames=headers, lineterminator="\n")
    writer.writeheader()
    if raw:
        writer.writerows(materialised)
    else:
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in materialised)


def write_markdown(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> None:
    out.write("| " + " | ".join(_markdown_cell(h) for h in headers) + " |\n")
    out.write("|" + "---|" * len(headers) + "\n")
    for row in rows:
        out.write("| " + " | ".join(_markdown_cell(_cell(v)) for v in row) + " |\n")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def geojson(records: list[dict[str, Any]]) -> dict[str, Any]:
    """A FeatureCollection: a Point where a source gives coordinates, else a null geometry
    (the record is listed, not dropped)."""
    features = []
    for record in records:
        at = record.get("coordinates")
        geometry = (
            {"type": "Point", "coordinates": [at["longitude"], at["latitude"]]} if at else None
        )
        properties = {k: v for k, v in record.items() if k != "coordinates"}
        properties["location_precision"] = at["precision"] if at else None
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def stream_rows(
    columns: Sequence[str], rows: Iterator[Sequence[Any]], fmt: Format, out: TextIO
) -> None:
    """Write SQL result rows as they come (nothing is held in memory but the table view)."""
    if fmt is Format.geojson:
        from kzdiplo.errors import UsageError

        raise UsageError("--format geojson is for deposits and projects")
    if fmt is Format.json:
        out.write("[")
        for i, row in enumerate(rows):
            item = to_json(dict(zip(columns, row, strict=False)), None)
            out.write(("," if i else "") + "\n  " + item)
        out.write("\n]\n")
    elif fmt is Format.ndjson:
        for row in rows:
            out.write(to_json(dict(zip(columns, row, strict=False)), None) + "\n")
    elif fmt in (Format.csv, Format.csv_raw):
        cell = _cell if fmt is Format.csv_raw else (lambda v: _cell(csv_cell(v)))
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([cell(c) for c in columns])
        for row in rows:
            writer.writerow([cell(v) for v in row])
    elif fmt is Format.markdown:
        write_markdown(columns, rows, out)
    else:
        write_table([[_cell(v) for v in row] for row in rows], columns, out)
