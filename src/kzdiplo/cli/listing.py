"""What the five listing commands share: the options only listings take, what a user
asked for (:class:`Asked`) and how it becomes a :class:`~kzdiplo.queries.Filters`.

Each listing in cli/records.py names its options as parameters (the Annotated options
here and in cli/common.py), so its help, its signature and its call agree by
construction. Adding a filter is a field and a clause in queries.py, a field of
``Asked``, one line in :func:`filters_from`, and the parameter in the listings it
applies to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer

from kzdiplo.cli import complete
from kzdiplo.cli.common import stages_of
from kzdiplo.entities import ENTITIES
from kzdiplo.errors import UsageError

if TYPE_CHECKING:  # types only: queries and the reader load when a listing runs
    from typer.models import OptionInfo

    from kzdiplo.entities import Entity
    from kzdiplo.queries import Filters
    from kzdiplo.reader import Reader


def date_bound(value: str | None, option: str, end: bool) -> str | None:
    """``--since``/``--until`` as the ISO day that bounds the range (first or last)."""
    if value is None:
        return None
    from kzdiplo.partialdate import parse_bound  # only when asked: most runs give no date

    try:
        return parse_bound(value, end=end).isoformat()
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def parse_usd(text: str) -> int:
    """``900m``, ``1.5bn``, ``17e9``, ``2,000,000`` as a whole number of US dollars."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "").lstrip("$")
    scale = 1
    for suffix, size in (("bn", 10**9), ("b", 10**9), ("m", 10**6), ("k", 10**3)):
        if cleaned.endswith(suffix):
            cleaned, scale = cleaned[: -len(suffix)], size
            break
    try:
        value = float(cleaned) * scale
    except ValueError:
        raise UsageError(f"--min-usd: {text!r} is not an amount (try 900m, 1.5bn, 17e9)") from None
    if not 0 <= value < 1e18:
        raise UsageError(f"--min-usd: {text!r} is out of range")
    return int(value)


MinUsdOption = Annotated[
    str | None,
    typer.Option(
        "--min-usd",
        metavar="AMOUNT",
        help="Only deals whose stated amount may reach AMOUNT US dollars (900m, 1.5bn).",
    ),
]
CommodityOption = Annotated[
    str | None, typer.Option("--commodity", "-c", help="Only this commodity (any part, any case).")
]
StatusOption = Annotated[
    str | None, typer.Option("--status", help="Only this status (any part, any case).")
]


def sort_option(entity_name: str) -> OptionInfo:
    """--sort for the listing of ``entity_name``; its help names that listing's keys."""
    keys = list(ENTITIES[entity_name].sorts)
    return typer.Option(
        "--sort", help=f"Sort by {', '.join(keys)}; prefix - for descending (-{keys[0]}).",
        autocompletion=complete.sort_keys,
    )  # fmt: skip


class Asked(NamedTuple):
    """What a user gave a listing, as typed (None or empty: not asked)."""

    partner: list[str] | None = None
    sector: list[str] | None = None
    year: int | None = None
    since: str | None = None
    until: str | None = None
    include_undated: bool = False
    bilateral: bool = False
    kind: str | None = None
    commodity: str | None = None
    status: str | None = None
    min_usd: str | None = None
    stage: list[str] | None = None
    sort: str | None = None
    limit: int = 100


def filters_from(reader: Reader, entity: Entity, asked: Asked) -> Filters:
    """The Filters for what was asked, each value resolved against the database."""
    from kzdiplo.queries import Filters, matching_values, order_by
    from kzdiplo.resolve import any_partner, resolve_partner, resolve_sector

    def matching(column: str, text: str | None) -> list[str] | None:
        """A filter on stored values that contain ``text`` (any case)."""
        return matching_values(reader, entity, column, text) if text else None

    f = Filters(
        partner=any_partner([resolve_partner(reader, p) for p in asked.partner])
        if asked.partner else None,  # any of them
        sector_ids=list(dict.fromkeys(i for s in asked.sector for i in resolve_sector(reader, s)))
        if asked.sector else None,
        year=asked.year,
        since=date_bound(asked.since, "--since", end=False),
        until=date_bound(asked.until, "--until", end=True),
        include_undated=asked.include_undated,
        bilateral=asked.bilateral,
        kinds=matching("kind", asked.kind),
        commodities=matching("commodity", asked.commodity),
        statuses=matching("status", asked.status),
        min_usd=parse_usd(asked.min_usd) if asked.min_usd else None,
        stages=stages_of(asked.stage),
        sort=asked.sort,
        limit=asked.limit or None,
    )  # fmt: skip
    if f.bilateral and f.partner is None:
        raise UsageError("--bilateral needs --partner (the partner the records are with)")
    if f.since and f.until and f.since > f.until:
        raise UsageError(f"--since {asked.since} is after --until {asked.until}")
    order_by(entity, f.sort)  # a bad --sort fails before any query runs
    return f
