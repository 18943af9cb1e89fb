"""Every output format in one place: a Rich table, JSON, NDJSON, CSV, Markdown, GeoJSON.

A command describes what it prints as an :class:`Output` (the data for JSON, flat rows
for CSV, titled tables of display columns for people) and :func:`write` hands it to the
one renderer of the format asked for. Listings pass full records with display
columns: the table and Markdown show the columns (honest short text), JSON/NDJSON carry
the whole records with their sources, CSV flattens them into exact values.

What a person reads (table, Markdown) passes through :func:`kzdiplo.safetext.for_terminal`
here, before the table is drawn: data from load files and users' SQL cannot drive the
terminal. CSV neutralises cells a spreadsheet would run as formulas (``csv-raw``: exact).
"""

from __future__ import annotations

import json
import operator
import sys
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from enum import StrEnum
from typing import Any, NamedTuple, TextIO

from kzdiplo.safetext import csv_cell, for_terminal, json_text

FLOOR = 14  # a wrapped column narrower than this gives way instead (a readable width)


class Column(NamedTuple):
    """One column people read: its header is only a label; the settings say how the
    column behaves when space runs out (as Rich's ``Column`` has ``no_wrap`` and
    ``min_width``), so renaming a header changes nothing else.

    ``no_wrap``: never broken across lines (a key people copy, a date), shown whole or
    not at all. ``min_width``: narrower than this (or its widest text, if less), the
    column gives way rather than wrap one word a line. ``gives_way``: 0 for a column
    that is always shown (the answer: a title, an amount); otherwise the order in which
    columns are left out at a narrow width, 1 first. ``key_line``: a key printed whole
    on a dim line of its own under its record's row in a table (so it never takes the
    answer's place), a field of its own in the other layouts and in Markdown."""

    header: str
    get: Callable[[Any], str]
    no_wrap: bool = False
    min_width: int = FLOOR
    gives_way: int = 0
    key_line: bool = False


# What commands pass: Columns, or (header, getter) pairs for columns with no settings.
Columns = Sequence[Column | tuple[str, Callable[..., Any]]]


class Format(StrEnum):
    """What every command can write (``--format``)."""

    table = "table"
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    csv_raw = "csv-raw"  # CSV without the formula guard
    tsv = "tsv"  # tab-separated, with CSV's quoting and formula guard
    markdown = "markdown"


# Whether CSV and TSV start with a header row: a command's --no-headers sets it for
# the run (cli/common.output_options), the way --layout is a setting of the table.
HEADER_ROW: ContextVar[bool] = ContextVar("HEADER_ROW", default=True)


# Records with places (deposits, projects) can also be a GeoJSON map: their --format
# offers it, and no other command's does.
# mypy reads the functional Enum API only with literal members, so it sees none here:
# code names them PlaceFormat["table"], which it can check.
PlaceFormat = StrEnum(  # type: ignore[misc]  # members built from Format's, not literal
    "PlaceFormat", [*((f.name, f.value) for f in Format), ("geojson", "geojson")]
)


def _json_default(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def to_json(value: Any, indent: int | None = 2) -> str:
    """JSON as kzdiplo writes it: UTF-8 text, with what a terminal would obey escaped."""
    return json_text(json.dumps(value, ensure_ascii=False, indent=indent, default=_json_default))


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


def markdown_cell(value: str) -> str:
    """Text in a Markdown table or list: nothing that drives a terminal, one line, ``|``
    escaped so a cell cannot open another column, and no link or HTML of the data's own
    (``<`` and ``](`` escaped: a ``javascript:`` link or ``<a href>`` in a title stays text
    when the Markdown is rendered)."""
    text = for_terminal(value, multiline=True).replace("\n", " ")
    return text.replace("|", "\\|").replace("<", "\\<").replace("](", "\\](")


class Layout(StrEnum):
    """How a people's table is laid out: ``auto`` draws a table when one fits the
    width, else one block of fields per record."""

    auto = "auto"
    table = "table"
    records = "records"


def write_table(
    rows: Sequence[Sequence[str]],
    columns: Sequence[Column],
    out: TextIO,
    title: str | None = None,
    *,
    layout: Layout = Layout.auto,
    drop: bool = True,
) -> None:
    """Draw ``rows`` (a text per column) fitted to the width Rich finds (the terminal's,
    or COLUMNS): key lines go under their row, columns that give way are left out (and
    named) in their order, and when even the rest does not fit, one block of fields per
    record. A no-wrap column is never broken. Rich is imported here only."""
    console = data_console(out)
    # Nothing from the data can drive the terminal (safetext), nor be read as markup.
    columns = [c._replace(header=for_terminal(c.header)) for c in columns]
    cells = [[for_terminal(_cell(c), multiline=True) for c in row] for row in rows]
    title = title and for_terminal(title)
    if not columns:
        if title:
            console.print(title, soft_wrap=True)
        return
    if layout is Layout.records:
        _draw_records(console, title, columns, cells)
        return
    fit = _fit(columns, cells, console.width, drop=drop)
    if fit is None and layout is Layout.auto:
        _draw_records(console, title, columns, cells)
        return
    if fit is None:  # --layout table asked for a table even wider than the terminal
        fit = _fit(columns, cells, 10**6, drop=False)
        assert fit is not None  # any table fits a million columns
        console.width = sum(fit.values()) + GAP * (len(fit) - 1)
    _draw_table(console, title, columns, cells, fit)


GAP = 2  # spaces between two columns
LONG_WORD = 26  # a word longer than this (a URL, a long slug in a text) may be folded


def _fit(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int, *, drop: bool
) -> dict[int, int] | None:
    """The columns shown in the row (by index) and their widths, or None when even the
    columns that never give way do not fit ``width``."""
    from rich.cells import cell_len

    def widths(i: int, part: Callable[[str], list[str]]) -> list[int]:
        texts = (columns[i].header, *(r[i] for r in cells))
        return [cell_len(piece) for text in texts for piece in part(text)]

    inline = [i for i, c in enumerate(columns) if not c.key_line]
    natural = {i: max(widths(i, str.splitlines)) for i in inline}
    need = {}
    for i in inline:
        # no ordinary word is broken ("International"); a longer one (a URL) may be
        word = max((w for w in widths(i, str.split) if w <= LONG_WORD), default=0)
        floor = max(columns[i].min_width, word)
        need[i] = natural[i] if columns[i].no_wrap else min(natural[i], floor)

    def required(shown: list[int]) -> int:
        return sum(need[i] for i in shown) + GAP * (len(shown) - 1)

    shown = inline
    if drop and required(shown) > width:
        # a column that gives way and says nothing on this page (every cell empty) first
        shown = [i for i in shown if not columns[i].gives_way
                 or any(r[i].strip() not in ("", "\u2014") for r in cells)]  # fmt: skip
        order = sorted(
            (i for i in shown if columns[i].gives_way), key=lambda i: columns[i].gives_way
        )
        for i in order:
            if required(shown) <= width:
                break
            shown.remove(i)
    if required(shown) > width:
        return None
    return _widths({i: need[i] for i in shown}, natural, width - GAP * (len(shown) - 1))


def _widths(need: dict[int, int], natural: dict[int, int], room: int) -> dict[int, int]:
    """Each column at least its need; the room left shared out evenly among the columns
    still narrower than their natural width, a column that reaches it giving its share
    back (so one long column does not take the room a title needs)."""
    widths = dict(need)
    spare = room - sum(widths.values())
    lacking = [i for i in widths if natural[i] > widths[i]]
    while spare > 0 and lacking:
        share = max(1, spare // len(lacking))
        for i in lacking[:spare]:
            give = min(share, natural[i] - widths[i], spare)
            widths[i] += give
            spare -= give
        lacking = [i for i in lacking if natural[i] > widths[i]]
    return widths


def data_console(out: TextIO | None = None) -> Any:
    """The Rich console every drawing of data goes through (tables, the timeline): it
    reads no markup, emoji or highlighting in the text (a title holding ``[/bogus]`` or
    ``[link=javascript:...]`` is printed as it is), and a closed pipe ends the command
    quietly with exit 0 like every other. Cells still pass through for_terminal."""
    from rich.console import Console

    console = Console(file=out, highlight=False, markup=False, emoji=False)
    # Rich asks the terminal for its size (three ioctl calls and COLUMNS, LINES) each time
    # a width or the options are read: over a hundred times for one page. The size is the
    # same for the whole of one command's output, so it is measured once and kept.
    console.size = console.size
    console.on_broken_pipe = _broken_pipe  # type: ignore[method-assign]  # patching a Rich method
    return console


def _broken_pipe() -> None:
    """``| head -1`` closed the pipe: Rich would exit 1 on its own; raise it as the OS
    error it is, which the entry point ends quietly with exit 0 (cli.main)."""
    import errno

    raise BrokenPipeError(errno.EPIPE, "Broken pipe")


def write_keys(pairs: Sequence[tuple[str, str]], out: TextIO) -> None:
    """Keys people copy (a slug, a URL), one a line and never wrapped: ``label: value``,
    or the value on a line of its own when both do not fit the width."""
    from rich.cells import cell_len
    from rich.console import Console

    width = Console(file=out).width
    for label, value in pairs:
        value = for_terminal(value)
        joined = f"{label}: {value}"
        out.write(f"{joined}\n" if cell_len(joined) <= width else f"{label}:\n{value}\n")


def _draw_table(
    console: Any,
    title: str | None,
    columns: Sequence[Column],
    cells: Sequence[Sequence[str]],
    widths: dict[int, int],
) -> None:
    """A header, a rule, then each record's row with its key lines under it, dim and
    whole: under the column before the key when there is room, else from the margin."""
    from rich.cells import cell_len
    from rich.text import Text

    shown = list(widths)
    if title:  # printed apart, not as Rich's title: that would pad it with spaces
        console.print(Text(title))
    console.print(_row([Text(columns[i].header, style="bold") for i in shown], columns, widths))
    console.print(Text((" " * GAP).join("\u2500" * widths[i] for i in shown), style="dim"))
    offsets = {}
    at = 0
    for i in shown:
        offsets[i] = at
        at += widths[i] + GAP
    for row in cells:
        console.print(_row([Text(row[i]) for i in shown], columns, widths))
        for k, column in enumerate(columns):
            if not column.key_line or not row[k]:
                continue
            before = [i for i in shown if i < k]
            indent = offsets[before[-1]] if before else 0
            if indent + cell_len(row[k]) > console.width:
                indent = 0
            for line in _whole_words(row[k], console.width):
                console.print(Text(" " * indent + line, style="dim"), soft_wrap=True)
    hidden = [c.header for i, c in enumerate(columns) if i not in widths and not c.key_line]
    if hidden:
        note = f"Not shown at this width: {', '.join(hidden)} (--layout records shows all)"
        console.print(Text(note))


def _whole_words(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken between words only: a word wider
    than the width stands whole on a line of its own."""
    from rich.cells import cell_len

    lines: list[str] = []
    for word in text.split(" "):
        if lines and cell_len(lines[-1]) + 1 + cell_len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines


def _row(texts: list[Any], columns: Sequence[Column], widths: dict[int, int]) -> Any:
    """One line of the table as a Rich table of fixed widths: every row is laid out
    alike, so the columns line up though each is drawn on its own."""
    from rich.table import Table

    row = Table(box=None, show_header=False, padding=(0, GAP, 0, 0), pad_edge=False)
    for i, width in widths.items():
        no_wrap = columns[i].no_wrap
        row.add_column(width=width, no_wrap=no_wrap, overflow="ignore" if no_wrap else "fold")
    row.add_row(*texts)
    return row


def _draw_records(
    console: Any, title: str | None, columns: Sequence[Column], cells: Sequence[Sequence[str]]
) -> None:
    """One block per record, a field a line: a key too long to sit beside its label is
    printed whole on a line of its own."""
    from rich.cells import cell_len
    from rich.text import Text

    label = max(cell_len(c.header) for c in columns)
    if title:
        console.print(Text(title))
    for row in cells:
        console.print(Text("\u2500" * min(console.width, 40), style="dim"))
        grid = _grid(label)
        for column, value in zip(columns, row, strict=True):
            if column.no_wrap and cell_len(value) > console.width - label - 1:
                if grid.row_count:
                    console.print(grid)
                console.print(Text(column.header, style="bold"))
                console.print(Text(value), soft_wrap=True)
                grid = _grid(label)
                continue
            grid.add_row(Text(column.header), Text(value))
        if grid.row_count:
            console.print(grid)


def _grid(label_width: int) -> Any:
    """Two columns: the field's name, and its value wrapped beside it."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=label_width, no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    return grid


class Table(NamedTuple):
    """One table of a command's output as people read it (table and Markdown formats):
    its records, the columns shown of them, and a title."""

    rows: Iterable[Any]  # records (dicts), or SQL rows (tuples) for index getters
    columns: Columns
    title: str | None = None


# Columns of users' SQL have no definitions: these names are the keys among them.
KEY_NAMES = frozenset({"slug", "key", "url", "record_key", "code"})


def positional(
    headers: Sequence[str], keys: Iterable[str] = (), lines: Iterable[str] = ()
) -> list[Column]:
    """Columns for rows that are sequences (SQL rows, prepared cells): the i-th value
    under the i-th header. The headers in ``keys``, and the usual key names of SQL
    results (``slug``, ``url``...), are never broken; those in ``lines`` are key lines
    under their row."""
    keyed, below = {*keys}, {*lines}
    return [
        Column(
            h,
            operator.itemgetter(i),
            no_wrap=h in keyed | below or h.lower() in KEY_NAMES,
            key_line=h in below,
        )
        for i, h in enumerate(headers)
    ]


class Output(NamedTuple):
    """What a command writes, in the shape each format needs; :func:`write` picks the
    renderer. ``data`` is what JSON and NDJSON write: a list of records (a line each in
    NDJSON), one object, or an iterator of rows written as they come. ``csv`` is the
    flat rows CSV writes (the records of ``data`` flattened when None); ``like`` rows
    show the columns an empty page has, or ``header`` fixes them (a stream). ``keys``
    (slug, URL) print above the tables; ``heading`` titles a Markdown document."""

    data: Any
    tables: Sequence[Table] = ()
    csv: Iterable[Any] | None = None
    like: Sequence[dict[str, Any]] = ()
    header: Sequence[str] | None = None
    keys: Sequence[tuple[str, str]] = ()
    heading: str | None = None
    drop: bool = True  # table: narrow columns may give way at a small width


def _as_json(output: Output, out: TextIO, layout: Layout) -> None:
    if isinstance(output.data, (list, dict)):
        out.write(to_json(output.data) + "\n")
        return
    out.write("[")
    for i, item in enumerate(output.data):
        out.write(("," if i else "") + "\n  " + to_json(item, None))
    out.write("\n]\n")


def _as_ndjson(output: Output, out: TextIO, layout: Layout) -> None:
    for item in [output.data] if isinstance(output.data, dict) else output.data:
        out.write(to_json(item, indent=None) + "\n")


def _csv_rows(output: Output) -> Iterable[dict[str, Any]]:
    if output.csv is not None:
        return output.csv
    return (flatten(r) for r in ([output.data] if isinstance(output.data, dict) else output.data))


def _as_csv(
    output: Output, out: TextIO, layout: Layout, raw: bool = False, delimiter: str = ","
) -> None:
    like = [flatten(r) for r in output.like]
    write_csv(_csv_rows(output), out, like, raw=raw, header=output.header, delimiter=delimiter)


def _as_csv_raw(output: Output, out: TextIO, layout: Layout) -> None:
    _as_csv(output, out, layout, raw=True)


def _as_tsv(output: Output, out: TextIO, layout: Layout) -> None:
    _as_csv(output, out, layout, delimiter="\t")


def _as_markdown(output: Output, out: TextIO, layout: Layout) -> None:
    if output.heading:
        out.write(f"# {markdown_cell(output.heading)}\n")
    for table in output.tables:
        if len(output.tables) > 1 and table.title:
            out.write(f"\n## {markdown_cell(table.title)}\n\n")
        columns = [Column(*c) for c in table.columns]
        rows = ([c.get(r) for c in columns] for r in table.rows)
        write_markdown([c.header for c in columns], rows, out)


def _as_table(output: Output, out: TextIO, layout: Layout) -> None:
    if output.keys:
        write_keys(output.keys, out)
    for table in output.tables:
        columns = [Column(*c) for c in table.columns]
        rows = [[c.get(r) for c in columns] for r in table.rows]
        write_table(rows, columns, out, table.title, layout=layout, drop=output.drop)


def _as_geojson(output: Output, out: TextIO, layout: Layout) -> None:
    out.write(to_json(geojson(output.data)) + "\n")


# One renderer per format: a new format is a renderer here and its name in Format (or
# in the enum of the commands that can write it).
RENDERERS: dict[str, Callable[[Output, TextIO, Layout], None]] = {
    "table": _as_table, "json": _as_json, "ndjson": _as_ndjson, "csv": _as_csv,
    "csv-raw": _as_csv_raw, "tsv": _as_tsv, "markdown": _as_markdown, "geojson": _as_geojson,
}  # fmt: skip


def write(
    output: Output, fmt: str, out: TextIO | None = None, layout: Layout = Layout.auto
) -> None:
    """Write ``output`` to ``out`` (stdout) in ``fmt``: the one place a format is chosen.
    Which formats a command offers is its --format option's enum."""
    RENDERERS[str(fmt)](output, out or sys.stdout, layout)


def emit(
    records: list[dict[str, Any]],
    columns: Columns,
    fmt: str,
    *,
    title: str | None = None,
    out: TextIO | None = None,
    layout: Layout = Layout.auto,
    drop: bool = True,
    like: Sequence[dict[str, Any]] = (),
) -> None:
    """Write one list of records (the common case of :func:`write`)."""
    output = Output(records, [Table(records, columns, title)], like=like, drop=drop)
    write(output, fmt, out, layout)


def write_csv(
    rows: Iterable[Any],
    out: TextIO,
    like: Sequence[dict[str, Any]] = (),
    *,
    raw: bool = False,
    header: Sequence[str] | None = None,
    delimiter: str = ",",
) -> None:
    """CSV (TSV with a tab ``delimiter``) with a header row unless HEADER_ROW is off
    (--no-headers), even for no rows: ``header`` (then ``rows`` are sequences
    of values in its order, written as they come), else the union of the keys of the
    rows and of ``like`` (rows that show the columns, never written), in first-seen
    order. A nested value that is null in
    some rows (``amount``) leaves no empty ``amount`` column beside the ``amount_low``...
    that the other rows fill. Text cells that start like a formula get a leading ``'``
    unless ``raw``. Written to a terminal, CSV is read by a person: every cell then
    passes through for_terminal too (to a file or a pipe the cells stay exact)."""
    import csv  # here: only CSV needs it, and every table run imports this module

    if header is None:
        rows = list(rows)
        every = [*like, *rows]
        headers = list(dict.fromkeys(k for row in every for k in row))
        header = [h for h in headers if not _leftover(h, headers, every)]
        rows = ([row.get(h) for h in header] for row in rows)
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    to_terminal = _is_terminal(out)

    def cell(value: Any) -> str:
        text = _cell(value if raw else csv_cell(value))
        return for_terminal(text, multiline=True) if to_terminal else text

    if HEADER_ROW.get():
        writer.writerow([cell(h) for h in header])
    for values in rows:
        writer.writerow([cell(v) for v in values])


def _is_terminal(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())


def _leftover(name: str, headers: Sequence[str], rows: Sequence[dict[str, Any]]) -> bool:
    """True for the column a null nested value leaves (``amount``) when other rows
    spell that value out (``amount_low``): no row has both, and no row fills it. A
    longer key's own null leftover (``cost_usd`` beside ``cost``) is not ``cost``
    spelled out."""
    nested = [h for h in headers if h.startswith(f"{name}_")]
    if not nested:
        return False

    def spelled_out(row: dict[str, Any], column: str) -> bool:
        if column not in row:
            return False
        leftover = row[column] is None and any(h.startswith(f"{column}_") for h in headers)
        return not leftover

    return not any(
        row.get(name) not in (None, "")
        or (name in row and any(spelled_out(row, h) for h in nested))
        for row in rows
    )


def write_markdown(headers: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> None:
    out.write("| " + " | ".join(markdown_cell(h) for h in headers) + " |\n")
    out.write("|" + "---|" * len(headers) + "\n")
    for row in rows:
        out.write("| " + " | ".join(markdown_cell(_cell(v)) for v in row) + " |\n")


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
