"""kzdiplo search: full-text search over every record and quote."""

from typing import Annotated

import typer

from kzdiplo.cli.common import FormatOption, LayoutOption, LimitOption, guarded, reading
from kzdiplo.render import Column, Format, Layout

# The title and the matching words; under them, what to type after `kzdiplo show`.
COLUMNS = [
    Column("Title", lambda r: r["title"], min_width=24),
    Column("Record", lambda r: f"{r['noun']} {r['key']}", no_wrap=True, key_line=True),
    Column("Match", lambda r: r["snippet"], min_width=24),
]


@guarded
def search(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="What to find (see above).")],
    limit: LimitOption = 20,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Search titles, names, aliases, summaries and source quotes across all records,
    best match first, with the matching snippet [in brackets].

    Whole words, all of them: `nuclear plant` finds both words. `tungst*` matches words
    that start with tungst; "two words" in quotation marks is a phrase; AND, OR and NOT
    (in capitals) combine: `tungsten OR uranium`, `tungsten NOT mine` (NOT binds
    tightest, then AND, then OR). A query starting with - goes after --, options before.
    When more than 2,000 records match, the best of the 2,000 most recently added are shown
    (ranking every match would cost time in proportion to the data): add words to narrow
    it, or rank them all with --limit 0.

    \b
    Examples:
      kzdiplo search tungsten
      kzdiplo search "nuclear plant" --format json
      kzdiplo search 'critical mineral*'
      kzdiplo search '"power plant" OR uranium'
      kzdiplo search -f json -- -tungsten
    """
    from kzdiplo.access import note
    from kzdiplo.queries import SEARCH_COLUMNS, SEARCH_WINDOW, search_overflows
    from kzdiplo.queries import search as run_search
    from kzdiplo.render import emit

    limit = limit or 1_000_000
    with reading(ctx) as reader:
        rows = run_search(reader, text, limit=limit)
        overflows = len(rows) == limit and search_overflows(reader, text, limit)
    emit(rows, COLUMNS, fmt, title=f"{len(rows)} matches for {text!r}", layout=layout,
         like=[dict.fromkeys(SEARCH_COLUMNS)])  # fmt: skip
    if not rows and fmt in (Format.table, Format.markdown):
        note(f"nothing matches {text!r}")
    if overflows:
        note(
            f"more than {SEARCH_WINDOW:,} records match {text!r}: these are the best of the "
            f"{SEARCH_WINDOW:,} most recently added; add words, or --limit 0 to rank all"
        )
