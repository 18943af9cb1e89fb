"""The listing commands: agreements, deals, deposits, projects, events."""

from typing import Annotated, Any

import typer

from kzdiplo import display as show
from kzdiplo.cli.common import (
    FormatOption,
    KindOption,
    LayoutOption,
    LimitOption,
    PartnerOption,
    PlaceFormatOption,
    SectorOption,
    SinceOption,
    SortOption,
    StageOption,
    UntilOption,
    YearOption,
    guarded,
    reading,
    stages_of,
)
from kzdiplo.errors import UsageError
from kzdiplo.render import Column, Format, Layout, PlaceFormat


def _titled(record: dict[str, Any]) -> str:
    """A part indented under its package (see under_packages); a part whose package is
    not listed names it. A disputed record's title carries ⚠ (show.flagged), so the mark
    stays when a narrow terminal hides the Disputed column."""
    title = show.flagged(record, record["title"])
    depth = record.get("_depth", 0)
    if depth:
        return f"{'  ' * (depth - 1)}↳ {title}"
    if record.get("parent"):
        return f"↳ {title} (part of {record['parent']})"
    return title


COLUMNS: dict[str, list[Column]] = {
    "agreement": [
        ("Date", lambda r: show.partial_date(r["date"])),
        ("Title", _titled),
        ("Kind", lambda r: r["kind"]),
        ("Stage", lambda r: show.stage(r["stage"])),
        ("Count", lambda r: show.package_count(r)),
        ("Partners", show.partners),
        ("Disputed", show.disputes),
        ("Slug", lambda r: r["slug"]),
    ],
    "deal": [
        ("Title", _titled),
        ("Amount", lambda r: show.amount(r["amount"], r["usd"])),
        ("Payer → recipient", show.flows),
        ("Stage", lambda r: show.stage(r["stage"])),
        ("Date", lambda r: show.partial_date(r["date"])),
        ("Disputed", show.disputes),
        ("Slug", lambda r: r["slug"]),
    ],
    "deposit": [
        ("Name", lambda r: show.flagged(r, r["name"])),
        ("Commodity", lambda r: show.text(r["commodity"])),
        ("Count", lambda r: show.text(r["count"])),
        ("Status", lambda r: show.text(r["status"])),
        ("Disputed", show.disputes),
        ("Slug", lambda r: r["slug"]),
    ],
    "project": [
        ("Name", lambda r: show.flagged(r, r["name"])),
        ("Status", lambda r: show.text(r["status"])),
        ("Capacity", lambda r: show.capacity(r["capacity"])),
        ("Cost", lambda r: show.amount(r["cost"])),
        ("Started", lambda r: show.partial_date(r["started"])),
        ("Completion", lambda r: show.partial_date(r["completion"])),
        ("Partners", show.partners),
        ("Disputed", show.disputes),
        ("Slug", lambda r: r["slug"]),
    ],
    "event": [
        ("Date", lambda r: show.partial_date(r["date"])),
        ("Event", lambda r: show.flagged(r, r["title"])),
        ("Where", lambda r: show.text(r["location"])),
        ("Partners", show.partners),
        ("Disputed", show.disputes),
        ("Slug", lambda r: r["slug"]),
    ],
}


def _date_bound(value: str | None, option: str, end: bool) -> str | None:
    if value is None:
        return None
    from kzdiplo.partialdate import parse_bound  # only when asked: it costs ~2 ms to import

    try:
        return parse_bound(value, end=end).isoformat()
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from None


def list_command(
    ctx: typer.Context,
    noun_name: str,
    fmt: Format | str,
    limit: int,
    *,
    partner: list[str] | None = None,
    sector: list[str] | None = None,
    year: int | None = None,
    since: str | None = None,
    until: str | None = None,
    kind: str | None = None,
    commodity: str | None = None,
    status: str | None = None,
    min_usd: str | None = None,
    stage: list[str] | None = None,
    sort: str | None = None,
    layout: Layout = Layout.auto,
) -> None:
    """Resolve the filters, run the query, render the page: the body of every listing."""
    from kzdiplo import queries
    from kzdiplo.access import note
    from kzdiplo.reader import holds_records
    from kzdiplo.render import emit
    from kzdiplo.resolve import any_partner, resolve_partner, resolve_sector

    noun = queries.NOUNS[noun_name]
    if fmt != "geojson":
        fmt = Format(fmt)
    with reading(ctx) as reader:
        f = queries.Filters(sort=sort, limit=limit or None, year=year, stages=stages_of(stage))
        f.since = _date_bound(since, "--since", end=False)
        f.until = _date_bound(until, "--until", end=True)
        if f.since and f.until and f.since > f.until:
            raise UsageError(f"--since {since} is after --until {until}")
        if partner:  # several: any of them
            f.partner = any_partner([resolve_partner(reader, p) for p in partner])
        if sector:
            f.sector_ids = list(dict.fromkeys(i for s in sector for i in resolve_sector(reader, s)))
        for column, value in (("kind", kind), ("commodity", commodity), ("status", status)):
            if value is not None:
                found = queries.matching_values(reader, noun, column, value)
                setattr(
                    f, {"kind": "kinds", "commodity": "commodities"}.get(column, "statuses"), found
                )
        if min_usd is not None:
            f.min_usd = parse_usd(min_usd)
        queries.order_by(noun, sort)  # a bad --sort fails before any query runs
        page = queries.list_records(reader, noun, f)
        csv_like = fmt in (Format.csv, Format.csv_raw)
        like = [queries.csv_template(reader, noun)] if csv_like else []
        empty = not page.records and not holds_records(reader)
    shown = page.records
    if fmt in (Format.table, Format.markdown):
        shown = under_packages(shown)
    emit(
        shown, COLUMNS[noun_name], fmt, title=_title(noun, page.records), layout=layout,
        like=like,
    )  # fmt: skip
    if fmt == "geojson":
        _geojson_note(noun, page.records)
    if empty:
        note("the database holds no records: run kzdiplo db seed to load the seed data")
    elif not page.records and fmt in (Format.table, Format.markdown):
        note(f"no {noun.plural} match these filters")
    if page.more:
        note(f"showing the first {limit} {noun.plural}; --limit 0 shows all")


def under_packages(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The page with each package's parts right under it (in the page's order among
    themselves), whatever the sort: a part never sits under an unrelated row. Each
    record listed under another is a copy with its ``_depth``."""
    listed = {r["slug"] for r in records}
    parts: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        if record.get("parent") in listed:
            parts.setdefault(record["parent"], []).append(record)
    ordered: list[dict[str, Any]] = []
    placed: set[str] = set()

    def place(record: dict[str, Any], depth: int) -> None:
        if record["slug"] in placed:
            return
        placed.add(record["slug"])
        ordered.append({**record, "_depth": depth} if depth else record)
        for part in parts.get(record["slug"], []):
            place(part, depth + 1)

    for record in records:
        if record.get("parent") not in listed:
            place(record, 0)
    for record in records:  # a cycle of parts (refused by the loader) still lists them all
        place(record, 0)
    return ordered


def _geojson_note(noun: Any, records: list[dict[str, Any]]) -> None:
    from kzdiplo.access import note

    unplaced = sum(1 for r in records if not r.get("coordinates"))
    if unplaced:
        note(
            f"{unplaced} of {len(records)} {noun.plural} have no coordinates in any source "
            "(listed with a null geometry)"
        )


def _title(noun: Any, records: list[dict[str, Any]]) -> str:
    sources = sorted({s["publisher"] or s["title"] for r in records for s in r["sources"]})
    named = ", ".join(sources) if len(sources) <= 2 else f"{len(sources)} sources"
    where = f" · {named} (quotes: kzdiplo show, or -f json)" if sources else ""
    return f"{len(records)} {noun.name if len(records) == 1 else noun.plural}{where}"


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


@guarded
def agreements(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    kind: KindOption = None,
    stage: StageOption = None,
    sort: SortOption = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Agreements, declarations, memoranda and packages, oldest first.

    A package ("29 agreements") is one row with a count. Stage is where it stands, as
    firmly as its sources say; "Disputed" marks records a source contradicts (⚠ and how
    many, with the fields: kzdiplo show gives both sides). Sort keys: date, title, count.

    \b
    Examples:
      kzdiplo agreements --partner US
      kzdiplo agreements -p china --sector transport
      kzdiplo agreements --since 2025-06 --format json
      kzdiplo agreements --stage signed
    """
    list_command(
        ctx, "agreement", fmt, limit, partner=partner, sector=sector, year=year,
        since=since, until=until, kind=kind, stage=stage, sort=sort, layout=layout,
    )  # fmt: skip


@guarded
def deals(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    kind: KindOption = None,
    min_usd: Annotated[
        str | None,
        typer.Option(
            "--min-usd",
            metavar="AMOUNT",
            help="Only deals whose stated amount may reach AMOUNT US dollars (900m, 1.5bn).",
        ),
    ] = None,
    stage: StageOption = None,
    sort: SortOption = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Money raised, committed or invested, with honest amounts and who pays whom.
    Parts of a package are marked ↳ (totals elsewhere count the package, not its parts);
    "Disputed" marks deals a source contradicts; --stage keeps deals at given stages.

    Amounts keep the source's vagueness (≈ for "nearly", ranges for "14-15"); other
    currencies show a USD figure at a named ECB rate. Sort keys: date, title, usd.

    \b
    Examples:
      kzdiplo deals --sector minerals
      kzdiplo deals --partner US --min-usd 500m
      kzdiplo deals --sort -usd --format csv
    """
    list_command(
        ctx, "deal", fmt, limit, partner=partner, sector=sector, year=year, since=since,
        until=until, kind=kind, min_usd=min_usd, stage=stage, sort=sort, layout=layout,
    )  # fmt: skip


@guarded
def deposits(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    commodity: Annotated[
        str | None,
        typer.Option("--commodity", "-c", help="Only this commodity (any part, any case)."),
    ] = None,
    sort: SortOption = None,
    limit: LimitOption = 100,
    fmt: PlaceFormatOption = PlaceFormat["table"],
    layout: LayoutOption = Layout.auto,
) -> None:
    """Mineral deposits and groups of deposits ("50 rare earth deposits" is one row).

    Sort keys: name, commodity.

    \b
    Examples:
      kzdiplo deposits
      kzdiplo deposits --commodity tungsten --format json
    """
    list_command(
        ctx, "deposit", fmt, limit, partner=partner, sector=sector, commodity=commodity,
        sort=sort, layout=layout,
    )  # fmt: skip


@guarded
def projects(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    kind: KindOption = None,
    status: Annotated[
        str | None, typer.Option("--status", help="Only this status (any part, any case).")
    ] = None,
    sort: SortOption = None,
    limit: LimitOption = 100,
    fmt: PlaceFormatOption = PlaceFormat["table"],
    layout: LayoutOption = Layout.auto,
) -> None:
    """Infrastructure and technology projects: capacity, cost, start and completion.

    --year/--since/--until apply to the start date. Sort keys: name, started,
    completion, cost.

    \b
    Examples:
      kzdiplo projects
      kzdiplo projects --partner rosatom --format json
      kzdiplo projects --sector energy --status construction
    """
    list_command(
        ctx, "project", fmt, limit, partner=partner, sector=sector, year=year, since=since,
        until=until, kind=kind, status=status, sort=sort, layout=layout,
    )  # fmt: skip


@guarded
def events(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    kind: KindOption = None,
    sort: SortOption = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """The timeline: visits, summits, signings and decisions, oldest first.

    A partial date ("early 2023", "2025") matches every --year/--since/--until it may
    fall in. An event has its own sectors and those of the record it concerns (--sector
    finds a visit about a tungsten deal under minerals). Sort keys: date, title.

    \b
    Examples:
      kzdiplo events
      kzdiplo events --year 2023
      kzdiplo events --partner EU --format markdown
    """
    list_command(
        ctx, "event", fmt, limit, partner=partner, sector=sector, year=year, since=since,
        until=until, kind=kind, sort=sort, layout=layout,
    )  # fmt: skip
