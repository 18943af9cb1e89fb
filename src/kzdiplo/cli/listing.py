"""What the five listing commands share: their options, each defined once with the
kinds of record it applies to and how it narrows a :class:`~kzdiplo.queries.Filters`.

A listing command is its docstring under ``@listing(<entity>)``; its options are the
ones below that apply to the entity (``--stage`` where records have a stage, geojson
where they have places). Adding a filter is a field and a clause in queries.py and one
``Option`` here.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import typer

from kzdiplo.cli.common import (
    BilateralOption,
    FormatOption,
    IncludeUndatedOption,
    KindOption,
    LayoutOption,
    LimitOption,
    PartnerOption,
    PlaceFormatOption,
    SectorOption,
    SinceOption,
    StageOption,
    UntilOption,
    YearOption,
    guarded,
    sort_option,
    stages_of,
)
from kzdiplo.entities import ENTITIES, Entity
from kzdiplo.errors import UsageError
from kzdiplo.render import Format, Layout, PlaceFormat

Values = dict[str, Any]  # the options a command was given, by parameter name


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


# --- how each option narrows the filters (reader, entity, value, filters) ------------


def _partners(reader: Any, entity: Entity, values: list[str], f: Any) -> None:
    from kzdiplo.resolve import any_partner, resolve_partner

    f.partner = any_partner([resolve_partner(reader, p) for p in values])  # any of them


def _sectors(reader: Any, entity: Entity, values: list[str], f: Any) -> None:
    from kzdiplo.resolve import resolve_sector

    f.sector_ids = list(dict.fromkeys(i for s in values for i in resolve_sector(reader, s)))


def _matching(column: str, target: str) -> Callable[[Any, Entity, str, Any], None]:
    """A filter on stored values that contain the given text (any case)."""

    def narrow(reader: Any, entity: Entity, value: str, f: Any) -> None:
        from kzdiplo.queries import matching_values

        setattr(f, target, matching_values(reader, entity, column, value))

    return narrow


def _set(target: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[..., None]:
    def narrow(reader: Any, entity: Entity, value: Any, f: Any) -> None:
        setattr(f, target, convert(value))

    return narrow


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


class Option(NamedTuple):
    """One listing option: its parameter, type, default, which entities take it, and
    how a given value narrows the filters (None: not a filter)."""

    name: str
    annotation: Any
    default: Any
    applies: Callable[[Entity], bool]
    narrow: Callable[[Any, Entity, Any, Any], None] | None


def _dated(e: Entity) -> bool:
    return e.date is not None


def _every(e: Entity) -> bool:
    return True


# In the order --help lists them.
OPTIONS = (
    Option("partner", PartnerOption, None, _every, _partners),
    Option("sector", SectorOption, None, _every, _sectors),
    Option("year", YearOption, None, _dated, _set("year")),
    Option("since", SinceOption, None, _dated,
           _set("since", lambda v: date_bound(v, "--since", end=False))),
    Option("until", UntilOption, None, _dated,
           _set("until", lambda v: date_bound(v, "--until", end=True))),
    Option("include_undated", IncludeUndatedOption, False, _dated, _set("include_undated")),
    Option("bilateral", BilateralOption, False, _every, _set("bilateral")),
    Option("kind", KindOption, None, lambda e: e.has("kind"), _matching("kind", "kinds")),
    Option("commodity", CommodityOption, None, lambda e: e.has("commodity"),
           _matching("commodity", "commodities")),
    Option("status", StatusOption, None, lambda e: e.has("status"),
           _matching("status", "statuses")),
    Option("min_usd", MinUsdOption, None, lambda e: e.priced, _set("min_usd", parse_usd)),
    Option("stage", StageOption, None, lambda e: e.has_stages, _set("stages", stages_of)),
    Option("sort", None, None, _every, _set("sort")),  # its help names the entity's keys
    Option("limit", LimitOption, 100, _every, _set("limit", lambda v: v or None)),
    Option("fmt", FormatOption, Format.table, lambda e: not e.placed, None),
    Option("fmt", PlaceFormatOption, PlaceFormat["table"], lambda e: e.placed, None),
    Option("layout", LayoutOption, Layout.auto, _every, None),
)  # fmt: skip


def options_for(entity: Entity) -> list[Option]:
    return [o for o in OPTIONS if o.applies(entity)]


def filters_from(reader: Any, entity: Entity, values: Values) -> Any:
    """The Filters for the options given (each resolved against the database)."""
    from kzdiplo import queries

    f = queries.Filters()
    for option in options_for(entity):
        value = values.get(option.name)
        if option.narrow is not None and value not in (None, [], False):
            option.narrow(reader, entity, value, f)
    if f.bilateral and f.partner is None:
        raise UsageError("--bilateral needs --partner (the partner the records are with)")
    if f.since and f.until and f.since > f.until:
        raise UsageError(f"--since {values['since']} is after --until {values['until']}")
    queries.order_by(entity, f.sort)  # a bad --sort fails before any query runs
    return f


def listing(entity_name: str) -> Callable[[Callable[[], None]], Callable[..., None]]:
    """The listing command of ``entity_name``: the decorated function gives its name and
    help; its parameters are the options that apply to the entity."""
    entity = ENTITIES[entity_name]
    options = options_for(entity)

    def build(documented: Callable[[], None]) -> Callable[..., None]:
        @guarded
        @functools.wraps(documented)
        def command(ctx: typer.Context, **values: Any) -> None:
            from kzdiplo.cli.records import show_listing

            show_listing(ctx, entity, values)

        parameters = [
            inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                              annotation=typer.Context),
            *(
                inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, default=o.default,
                                  annotation=o.annotation or sort_option(list(entity.sorts)))
                for o in options
            ),
        ]  # fmt: skip
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]  # inspect.signature reads it
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        return command

    return build
