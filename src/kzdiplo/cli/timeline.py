"""kzdiplo timeline: the events at a glance in the terminal, one line each.

Rich is imported only here (the listings draw their tables without it, for start-up
speed). A partial date is drawn across every month it may fall in, in a lighter shade
than a date known to the day or month, so "2025" never looks like 1 January.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from kzdiplo.cli.common import (
    IncludeUndatedOption,
    LimitOption,
    PartnerOption,
    SinceOption,
    UntilOption,
    YearOption,
    guarded,
    reading,
)

KNOWN = "█"  # a day or month: the bar is where it happened
VAGUE = "▒"  # part of a year, a year, years: it may fall anywhere on the bar
DISPUTED = "⚠"


def _months(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


def bar(date: dict[str, Any], first: dt.date, per_cell: int, cells: int) -> str:
    """``cells`` characters, each ``per_cell`` months from ``first``: filled where the
    date may fall."""
    start, end = dt.date.fromisoformat(date["start"]), dt.date.fromisoformat(date["end"])
    mark = KNOWN if date["precision"] in ("day", "month") else VAGUE
    lo, hi = _months(first, start) // per_cell, _months(first, end) // per_cell
    return "".join(mark if lo <= i <= hi else "·" for i in range(cells))


def axis(first: dt.date, per_cell: int, cells: int) -> str:
    """Year labels over the cells where each year begins ('23 when a year is narrow)."""
    line = [" "] * cells
    short = 12 // per_cell < 5
    for i in range(cells):
        month = _months(dt.date(first.year, 1, 1), first) + i * per_cell
        year, within = first.year + month // 12, month % 12
        if within < per_cell and line[i] == " ":
            label = f"'{year % 100:02d}" if short else str(year)
            for j, ch in enumerate(label[: cells - i]):
                line[i + j] = ch
    return "".join(line)


@guarded
def timeline(
    ctx: typer.Context,
    partner: PartnerOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_undated: IncludeUndatedOption = False,
    limit: LimitOption = 0,
) -> None:
    """The events on a month scale: one line each with a bar over its partial date,
    its partners and ⚠ for a disputed fact. █ is a date known to the day or month, ▒ a
    vaguer one (part of a year, a year, years) that may fall anywhere on its bar.

    \b
    Examples:
      kzdiplo timeline
      kzdiplo timeline --year 2025 --partner US
      kzdiplo timeline --since 2025-06
    """
    from rich.table import Table
    from rich.text import Text

    from kzdiplo import display, queries
    from kzdiplo.cli.listing import Asked, filters_from
    from kzdiplo.entities import ENTITIES
    from kzdiplo.render import data_console
    from kzdiplo.safetext import for_terminal

    with reading(ctx) as reader:
        asked = Asked(partner=partner, year=year, since=since, until=until,
                      include_undated=include_undated, limit=limit)  # fmt: skip
        f = filters_from(reader, ENTITIES["event"], asked)
        page = queries.list_records(reader, ENTITIES["event"], f)
        events = page.records
    if page.undated:
        from kzdiplo.access import note
        from kzdiplo.cli.records import undated_note

        note(undated_note("events", page.undated, None))
    # Titles and partners are data: shown (for_terminal), never obeyed, never markup.
    console = data_console()
    if not events:
        console.print("No events match these filters.")
        return
    dated = [e for e in events if e["date"]]
    starts = [dt.date.fromisoformat(e["date"]["start"]) for e in dated] or [dt.date.today()]
    ends = [dt.date.fromisoformat(e["date"]["end"]) for e in dated] or [dt.date.today()]
    first = dt.date(min(starts).year, 1, 1)
    months = _months(first, dt.date(max(ends).year, 12, 1)) + 1
    room = max(12, min(48, console.width // 4))
    per_cell = -(-months // room)
    cells = -(-months // per_cell)
    when = [for_terminal(display.partial_date(e["date"])) for e in events]
    when_width = min(14, max(len(w) for w in [*when, "When"]))
    partners = [for_terminal(display.partners(e)) for e in events]
    partners_width = min(14, max(len(p) for p in [*partners, "Partners"]))
    rest = max(10, console.width - when_width - cells - 1 - partners_width - 2 * 4)
    table = Table(box=None, pad_edge=False, padding=(0, 1), show_edge=False, collapse_padding=True)
    table.add_column("When", no_wrap=True, width=when_width, overflow="ellipsis")
    table.add_column(axis(first, per_cell, cells), no_wrap=True, width=cells)
    table.add_column(DISPUTED, no_wrap=True, width=1)
    table.add_column("Partners", no_wrap=True, overflow="ellipsis", width=partners_width)
    table.add_column("Event", no_wrap=True, overflow="ellipsis", width=rest)
    for e, date_text, partner_keys in zip(events, when, partners, strict=True):
        line = bar(e["date"], first, per_cell, cells) if e["date"] else " " * cells
        table.add_row(
            Text(date_text),
            Text(line),
            Text(DISPUTED if e["disputes"] else ""),
            Text(partner_keys),
            Text(for_terminal(e["title"] or "")),
        )
    console.print(table)
    scale = "a month" if per_cell == 1 else f"{per_cell} months"
    console.print(
        f"{KNOWN} day or month  {VAGUE} anywhere on the bar  {DISPUTED} disputed  "
        f"one cell: {scale}",
        overflow="fold",
    )
