"""kzdiplo timeline: the events at a glance in the terminal, a row each: the date
whole, a bar over its months, the title wrapped and the partners by name under it.

A partial date is drawn across every month it may fall in, in a lighter shade than a
date known to the day or month, so "2025" never looks like 1 January. Rich is imported
only when the table is drawn.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import typer

from kzdiplo.cli.common import (
    IncludeUndatedOption,
    KindOption,
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
    kind: KindOption = None,
    limit: LimitOption = 0,
) -> None:
    """The events on a month scale: its date, a bar over the months it may fall in,
    ⚠ for a disputed fact, its title and, under it, its partners. █ is a date known to
    the day or month, ▒ a vaguer one (part of a year, a year, years) that may fall
    anywhere on its bar.

    \b
    Examples:
      kzdiplo timeline
      kzdiplo timeline --year 2025 --partner US
      kzdiplo timeline --year 2025 --kind summit
      kzdiplo timeline --since 2025-06
    """
    from kzdiplo import queries
    from kzdiplo.cli.listing import Asked, filters_from
    from kzdiplo.entities import ENTITIES
    from kzdiplo.render import data_console

    with reading(ctx) as reader:
        asked = Asked(partner=partner, year=year, since=since, until=until,
                      include_undated=include_undated, kind=kind, limit=limit)  # fmt: skip
        f = filters_from(reader, ENTITIES["event"], asked)
        page = queries.list_records(reader, ENTITIES["event"], f)
        events = page.records
    if page.undated:
        from kzdiplo.access import note
        from kzdiplo.cli.records import undated_note

        note(undated_note("events", page.undated, None))
    console = data_console()
    if not events:
        console.print("No events match these filters.")
        return
    _draw(console, events)


def _when(date: dict[str, Any] | None) -> str:
    """The date as the listings write it, an inferred one marked ~ only (the legend
    says so): "~2025-12-17–20" fits the column whole."""
    from kzdiplo import display

    if date and date.get("inferred"):
        return "~" + display.partial_date({**date, "inferred": False})
    return display.partial_date(date)


def _draw(console: Any, events: list[dict[str, Any]]) -> None:
    """The table at the console's width: the date whole (broken only at a space), the
    bar, the mark, and the title wrapped in what is left, its partners on a dim line
    under it (names, not slugs). Titles and partners are data: shown (for_terminal),
    never obeyed, never markup."""
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    from kzdiplo import display
    from kzdiplo.safetext import for_terminal

    dated = [e for e in events if e["date"]]
    starts = [dt.date.fromisoformat(e["date"]["start"]) for e in dated] or [dt.date.today()]
    ends = [dt.date.fromisoformat(e["date"]["end"]) for e in dated] or [dt.date.today()]
    first = dt.date(min(starts).year, 1, 1)
    months = _months(first, dt.date(max(ends).year, 12, 1)) + 1
    room = max(12, min(48, console.width // 5))
    per_cell = -(-months // room)
    cells = -(-months // per_cell)
    when = [for_terminal(_when(e["date"])) for e in events]
    words = [w for text in [*when, "When"] for w in text.split()]
    when_width = max(max(cell_len(w) for w in words), min(16, max(cell_len(w) for w in when)))
    title_width = max(12, console.width - when_width - cells - 1 - 3)
    table = Table(box=None, padding=(0, 1, 0, 0), pad_edge=False, show_edge=False)
    table.add_column("When", width=when_width)
    table.add_column(axis(first, per_cell, cells), no_wrap=True, width=cells)
    table.add_column(DISPUTED, no_wrap=True, width=1)
    table.add_column("Event", width=title_width, overflow="fold")
    for e, date_text in zip(events, when, strict=True):
        line = bar(e["date"], first, per_cell, cells) if e["date"] else " " * cells
        event = Text(for_terminal(e["title"] or ""))
        event.append("\npartners: " + for_terminal(display.partners(e)), style="dim")
        table.add_row(Text(date_text), Text(line), Text(DISPUTED if e["disputes"] else ""), event)
    console.print(table)
    scale = "a month" if per_cell == 1 else f"{per_cell} months"
    console.print(
        f"{KNOWN} day or month  {VAGUE} anywhere on the bar  ~ inferred  {DISPUTED} disputed  "
        f"a cell: {scale}",
        overflow="fold",
    )
