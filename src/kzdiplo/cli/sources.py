"""kzdiplo sources: the documents every claim rests on."""

import typer

from kzdiplo import display
from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.render import Format, Layout

COLUMNS = [
    ("Published", lambda r: display.text(r["published"])),
    ("Publisher", lambda r: display.text(r["publisher"])),
    ("Title", lambda r: r["title"]),
    ("Rests on", lambda r: f"{r['derived_from']} ({r['relation']})" if r["derived_from"] else ""),
    ("Cited", lambda r: str(r["citation_count"])),
    ("Slug", lambda r: r["slug"]),
    ("URL", lambda r: display.text(r["url"])),
]


@guarded
def sources(
    ctx: typer.Context, fmt: FormatOption = Format.table, layout: LayoutOption = Layout.auto
) -> None:
    """Every source: publisher, date, URL, the source it republishes or reports on (so
    independence is counted by origin), and how many citations rest on it. Only
    sources whose text we hold are quoted verbatim; the rest are cited by our summary.

    \b
    Examples:
      kzdiplo sources
      kzdiplo show source cove-bw-release
      kzdiplo sources --format csv
    """
    from kzdiplo.queries import list_sources
    from kzdiplo.render import emit

    with reading(ctx) as reader:
        rows = list_sources(reader)
    held = sum(1 for r in rows if r["text_held"])
    title = f"{len(rows)} sources · {held} with text held (quoted)"
    emit(rows, COLUMNS, fmt, title=title, layout=layout)
