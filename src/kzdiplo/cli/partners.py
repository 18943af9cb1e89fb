"""kzdiplo partners: one row per partner, with honest totals."""

from typing import Annotated, Any

import typer

from kzdiplo import display as show
from kzdiplo.cli.common import (
    FormatOption,
    LayoutOption,
    LimitOption,
    StageOption,
    guarded,
    reading,
    stages_of,
)
from kzdiplo.render import Column, Format, Layout

# The name and the figures (agreements, money each way); the key `kzdiplo show partner`
# takes is a line under the name; the words and the lists give way first.
COLUMNS = [
    Column("Name", lambda r: r["name"], min_width=16),
    Column("Partner", lambda r: r["key"], no_wrap=True, key_line=True),
    Column("Agreements", lambda r: agreements(r), min_width=10),
    Column("Deals involving", lambda r: deals(r), min_width=10, gives_way=2),
    Column("USD from partner", lambda r: own(r, "usd_from_partner"), min_width=12),
    Column("USD to partner", lambda r: own(r, "usd_to_partner"), min_width=12),
    Column("Not its own (whole sums)", lambda r: not_own(r), gives_way=3),
    Column(
        "Relationship, in the source's words",
        lambda r: show.text(r["relationship_level"]),
        gives_way=1,
    ),
    Column("Includes", lambda r: show.text(r["organizations"]), gives_way=1),
]


def deals(row: dict[str, Any]) -> str:
    text = str(row["deals"])
    if row["deals_not_added"]:
        text += f" ({row['deals_not_added']} counted in another)"
    return text


def own(row: dict[str, Any], key: str) -> str:
    """Its own money (whole deals and stated shares), each stage's part when there are
    several, and how much of the money from it is private (its companies')."""
    text = show.usd_total(row[key])
    parts = [(stage, s) for stage, s in row["by_stage"].items() if s[key]]
    if len(parts) > 1:
        text += "".join(f"\n{show.usd_total(s[key])} {show.stage(stage)}" for stage, s in parts)
    elif parts:
        text += f" ({show.stage(parts[0][0])})"
    private = row.get(f"{key}_private")
    if private:
        text += f"\nof which private {show.usd_total(private)}"
    return text


def not_own(row: dict[str, Any]) -> str:
    return "\n".join(show.not_own(row)) or show.UNKNOWN


def agreements(row: dict[str, Any]) -> str:
    records = row["agreement_records"]
    if row["agreements"] == records:
        return str(records)
    return f"{row['agreements']} in {records} record{'s' if records != 1 else ''}"


@guarded
def partners(
    ctx: typer.Context,
    with_kazakhstan: Annotated[
        bool, typer.Option("--with-kazakhstan", help="Also list Kazakhstan itself.")
    ] = False,
    stage: StageOption = None,
    limit: LimitOption = 0,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Kazakhstan's partners: what was signed, how much money, how the relationship is worded.

    A country's row includes its organisations (the US row includes the US
    Export-Import Bank). Agreements count a package by its size (29 in 1 record).
    Money comes from the money_flows view, the ledger every total reads (kzdiplo sql
    "SELECT partner, direction, sum(usd_low) FROM money_flows GROUP BY 1, 2" gives
    the same figures). "USD from partner" is money it pays as investor, financier,
    co-financier or acquirer; "USD to partner" what it receives as recipient or
    beneficiary; both count a deal only when the partner is alone on its side or a
    source states its share, and each deal once (a part of a package, or a deal
    counted in another, is not added again). "Not its own" lists, with their whole
    amounts, what the partner takes part in but cannot be credited with: sums paid
    with others or received with other states (split not stated), targets and
    ceilings, and deals in which it has no money-moving role. Money from its
    companies is marked private. Totals include every stage, each shown apart;
    --stage keeps some. Rows come largest own money first; --limit keeps the first.

    \b
    Examples:
      kzdiplo partners
      kzdiplo partners --limit 5
      kzdiplo partners --stage signed --stage approved
      kzdiplo partners --format json
    """
    from kzdiplo.queries import partner_totals
    from kzdiplo.render import emit

    with reading(ctx) as reader:
        rows = partner_totals(reader, include_kazakhstan=with_kazakhstan, stages=stages_of(stage))
    title = f"{len(rows)} partners" + (f", the first {limit}" if 0 < limit < len(rows) else "")
    emit(rows[:limit] if limit else rows, COLUMNS, fmt, title=title, layout=layout)
