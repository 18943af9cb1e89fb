"""kzdiplo partners: one row per partner, with honest totals."""

from typing import Annotated

import typer

from kzdiplo import display as show
from kzdiplo.cli.common import FormatOption, guarded, reading
from kzdiplo.render import Format

COLUMNS = [
    ("Partner", lambda r: r["key"]),
    ("Name", lambda r: r["name"]),
    ("Agreements", lambda r: _agreements(r)),
    ("Deals", lambda r: str(r["deals"])),
    ("USD total", lambda r: show.usd_total(r["usd"], r["unpriced_deals"])),
    ("Relationship, in the source's words", lambda r: show.text(r["relationship_level"])),
    ("Includes", lambda r: show.text(r["organizations"])),
]


def _agreements(row: dict) -> str:
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
    fmt: FormatOption = Format.table,
) -> None:
    """Kazakhstan's partners: what was signed, how much money, how the relationship is worded.

    A country's row includes its organisations (the US row includes the US
    Export-Import Bank). Agreements count a package by its size (29 in 1 record); USD
    totals add each deal once, never the parts of an umbrella deal as well, and say how
    many deals have no stated amount.

    \b
    Examples:
      kzdiplo partners
      kzdiplo partners --format json
    """
    from kzdiplo.queries import partner_totals
    from kzdiplo.render import emit

    with reading(ctx) as reader:
        rows = partner_totals(reader, include_kazakhstan=with_kazakhstan)
    emit(rows, COLUMNS, fmt, title=f"{len(rows)} partners")
