"""kzdiplo sources: the documents every claim rests on."""

import typer

from kzdiplo import display
from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.render import Column, Format, Layout

# The title, who published it and when; the slug (for `kzdiplo show source`), the URL
# and the source it rests on are key lines under the title, never broken.
COLUMNS = [
    Column("Title", lambda r: r["title"], min_width=30),
    Column("Slug", lambda r: r["slug"], no_wrap=True, key_line=True),
    Column("URL", lambda r: r["url"] or "", no_wrap=True, key_line=True),
    Column(
        "Rests on",
        lambda r: f"rests on {r['derived_from']} ({r['relation']})" if r["derived_from"] else "",
        no_wrap=True,
        key_line=True,
    ),
    Column("Publisher", lambda r: display.text(r["publisher"]), gives_way=3),
    Column("Published", lambda r: display.text(r["published"]), no_wrap=True, gives_way=2),
    Column("Cited", lambda r: str(r["citation_count"]), min_width=5, gives_way=1),
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
