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
from kzdiplo.render import Format, Layout

COLUMNS = [
    ("Partner", lambda r: r["key"]),
    ("Name", lambda r: r["name"]),
    ("Agreements", lambda r: _agreements(r)),
    ("Deals involving", lambda r: _deals(r)),
    ("USD from partner", lambda r: _money(r, "usd_from_partner")),
    ("USD to partner", lambda r: _money(r, "usd_to_partner")),
    ("Relationship, in the source's words", lambda r: show.text(r["relationship_level"])),
    ("Includes", lambda r: show.text(r["organizations"])),
]


def _deals(row: dict[str, Any]) -> str:
    text = str(row["deals"])
    if row["deals_not_added"]:
        text += f" ({row['deals_not_added']} counted in another)"
    return text


def _money(row: dict[str, Any], key: str) -> str:
    """The total, each stage's share when there are several, and how many of its deals
    are shared with others (co-financed, or received with others: own share not stated)."""
    text = show.usd_total(row[key])
    parts = [s for s in row["by_stage"] if s[key]]
    if len(parts) > 1:
        text += "".join(f"\n{show.usd_total(s[key])} {show.stage(s['stage'])}" for s in parts)
    elif parts:
        text += f" ({show.stage(parts[0]['stage'])})"
    shared = row["co_financed_deals" if key == "usd_from_partner" else "shared_receipt_deals"]
    if row[key] and shared:
        text += f"\n{shared} shared with others (own share not stated)"
    return text


def _agreements(row: dict[str, Any]) -> str:
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
    Money is credited by role: "USD from partner" adds deals where it invests,
    finances, co-finances or acquires; "USD to partner" where it is a recipient or
    beneficiary. A partner that is only a party, contractor, host or participant is
    credited nothing (the deal still counts under "Deals involving"). Each deal is
    added once: a part of an umbrella deal, or a deal whose money is counted in another
    (a loan for the same project), is not added again for a partner the umbrella or the
    other deal already credits. Money shared with others is marked (own share not
    stated). Totals include every stage, each shown apart; --stage keeps some. Rows
    come largest first; --limit keeps the first ones.

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
