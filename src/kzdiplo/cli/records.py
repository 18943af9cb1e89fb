"""The listing commands: agreements, deals, deposits, projects, events.

Each names the options that apply to its kind of record as parameters (defined once in
cli/common.py and cli/listing.py) and hands what was asked to :func:`show_listing`.
"""

from typing import TYPE_CHECKING, Annotated, Any

import typer

from kzdiplo import display as show
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
)
from kzdiplo.cli.listing import Asked, CommodityOption, MinUsdOption, StatusOption, sort_option
from kzdiplo.entities import ENTITIES, Entity
from kzdiplo.render import Column, Format, Layout, PlaceFormat

if TYPE_CHECKING:  # types only
    from enum import StrEnum


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


def _key(record: dict[str, Any]) -> str:
    return str(record["slug"])


def _date(field: str) -> Column:
    """A date column: wide enough for the longest date without a space in it
    ("2025-08-31–09-01"), so a date is broken only where it has one."""
    return Column("Date", lambda r: show.partial_date(r[field]), min_width=16)


# Each listing leads with what its question needs; the rest gives way at a narrow width
# (``gives_way``: 1 first), named under the table with the option that shows it. The
# slug people type into `kzdiplo show` is a key line under the title: never broken, and
# never taking the answer's place.
SLUG = Column("Slug", _key, no_wrap=True, key_line=True)
TITLE = 30  # a title narrower than this wraps to a line every few words
DISPUTED = Column("Disputed", show.disputes, gives_way=1)  # the title carries ⚠ anyway
PARTNERS = Column("Partners", show.partners, gives_way=1)
COLUMNS: dict[str, list[Column]] = {
    "agreement": [
        _date("date"),
        Column("Title", _titled, min_width=TITLE),
        SLUG,
        Column("Kind", lambda r: r["kind"], min_width=9, gives_way=2),
        Column("Stage", lambda r: show.stage(r["stage"]), min_width=10, gives_way=4),
        Column("Count", lambda r: show.package_count(r), min_width=9, gives_way=3),
        PARTNERS,
        DISPUTED,
    ],
    "deal": [
        Column("Title", _titled, min_width=TITLE),
        SLUG,
        # 20: "≈ ¥3 tn (≈ $19.1 bn)" on one line
        Column("Amount", lambda r: show.amount(r["amount"], r["usd"]), min_width=20),
        Column("Stage", lambda r: show.stage(r["stage"]), min_width=10, gives_way=4),
        Column("Payer → recipient", show.flows, gives_way=3),
        _date("date")._replace(gives_way=2),
        DISPUTED,
    ],
    "deposit": [
        Column("Name", lambda r: show.flagged(r, r["name"]), min_width=TITLE),
        SLUG,
        Column("Status", lambda r: show.text(r["status"]), gives_way=3),
        Column("Count", lambda r: show.text(r["count"]), min_width=5, gives_way=4),
        Column("Commodity", lambda r: show.text(r["commodity"]), min_width=9, gives_way=2),
        DISPUTED,
    ],
    "project": [
        Column("Name", lambda r: show.flagged(r, r["name"]), min_width=TITLE),
        SLUG,
        Column("Status", lambda r: show.text(r["status"]), gives_way=5),
        Column("Cost", lambda r: show.amount(r["cost"], r["cost_usd"]), min_width=10, gives_way=6),
        Column("Capacity", lambda r: show.capacity(r["capacity"]), min_width=9, gives_way=4),
        _date("started")._replace(header="Started", gives_way=3),
        _date("completion")._replace(header="Completion", gives_way=2),
        PARTNERS,
        DISPUTED,
    ],
    "event": [
        _date("date"),
        Column("Event", lambda r: show.flagged(r, r["title"]), min_width=TITLE),
        SLUG,
        Column("Where", lambda r: show.text(r["location"]), min_width=12, gives_way=3),
        PARTNERS._replace(gives_way=2),
        DISPUTED,
    ],
}


def show_listing(
    ctx: typer.Context, entity: Entity, asked: Asked, fmt: "Format | StrEnum", layout: Layout
) -> None:
    """Resolve the filters, run the query, render the page: the body of every listing.
    ``fmt`` is a Format, or a PlaceFormat where records have places (geojson)."""
    from kzdiplo import queries
    from kzdiplo.access import note
    from kzdiplo.cli.common import reading
    from kzdiplo.cli.listing import filters_from
    from kzdiplo.reader import holds_records
    from kzdiplo.render import emit

    fmt = fmt if fmt == "geojson" else Format(fmt)
    with reading(ctx) as reader:
        f = filters_from(reader, entity, asked)
        page = queries.list_records(reader, entity, f)
        csv_like = fmt in (Format.csv, Format.csv_raw, Format.tsv)
        like = [queries.csv_template(reader, entity)] if csv_like else []
        empty = not page.records and not holds_records(reader)
    shown = page.records
    if fmt in (Format.table, Format.markdown):
        shown = under_packages(shown)
    emit(
        shown, COLUMNS[entity.name], fmt, title=_title(entity, page.records),
        layout=layout, like=like,
    )  # fmt: skip
    if fmt == "geojson":
        _geojson_note(entity, page.records)
    if empty:
        note("the database holds no records: run kzdiplo db seed to load the seed data")
    elif not page.records and fmt in (Format.table, Format.markdown):
        note(f"no {entity.plural} match these filters")
    if page.more:
        note(f"showing the first {f.limit} {entity.plural}; --limit 0 shows all")
    if page.undated:
        note(undated_note(entity.plural, page.undated, page.undated_usd))


def undated_note(plural: str, count: int, usd: int | None) -> str:
    """What a date filter left out because it has no date, and how to see it."""
    from kzdiplo.display import money

    worth = f" (together at least {money(usd, usd, 'USD')})" if usd else ""
    return (
        f"{count} {plural if count != 1 else plural[:-1]} with no date not listed{worth}: "
        "--include-undated lists them too"
    )


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


def _geojson_note(noun: Entity, records: list[dict[str, Any]]) -> None:
    from kzdiplo.access import note

    unplaced = sum(1 for r in records if not r.get("coordinates"))
    if unplaced:
        note(
            f"{unplaced} of {len(records)} {noun.plural} have no coordinates in any source "
            "(listed with a null geometry)"
        )


def _title(noun: Entity, records: list[dict[str, Any]]) -> str:
    sources = sorted({s["publisher"] or s["title"] for r in records for s in r["sources"]})
    named = ", ".join(sources) if len(sources) <= 2 else f"{len(sources)} sources"
    where = f" · {named} (quotes: kzdiplo show, or -f json)" if sources else ""
    return f"{len(records)} {noun.name if len(records) == 1 else noun.plural}{where}"


AGREEMENT, DEAL, DEPOSIT = ENTITIES["agreement"], ENTITIES["deal"], ENTITIES["deposit"]
PROJECT, EVENT = ENTITIES["project"], ENTITIES["event"]


@guarded
def agreements(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_undated: IncludeUndatedOption = False,
    bilateral: BilateralOption = False,
    kind: KindOption = None,
    stage: StageOption = None,
    sort: Annotated[str | None, sort_option("agreement")] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Agreements, declarations, memoranda and packages, oldest first.

    A package ("29 agreements") is one row with a count. Stage is where it stands, as
    firmly as its sources say; "Disputed" marks records a source contradicts (⚠ and how
    many, with the fields: kzdiplo show gives both sides).

    \b
    Examples:
      kzdiplo agreements --partner US
      kzdiplo agreements -p china --sector transport
      kzdiplo agreements --since 2025-06 --format json
      kzdiplo agreements --stage signed
    """
    asked = Asked(partner=partner, sector=sector, year=year, since=since, until=until,
                  include_undated=include_undated, bilateral=bilateral, kind=kind,
                  stage=stage, sort=sort, limit=limit)  # fmt: skip
    show_listing(ctx, AGREEMENT, asked, fmt, layout)


@guarded
def deals(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_undated: IncludeUndatedOption = False,
    bilateral: BilateralOption = False,
    kind: KindOption = None,
    min_usd: MinUsdOption = None,
    stage: StageOption = None,
    sort: Annotated[str | None, sort_option("deal")] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Money raised, committed or invested, with honest amounts and who pays whom.
    Parts of a package are marked ↳ (totals elsewhere count the package, not its parts);
    "Disputed" marks deals a source contradicts; --stage keeps deals at given stages.

    Amounts keep the source's vagueness (≈ for "nearly", ranges for "14-15"); other
    currencies show a USD figure at a named ECB rate.

    \b
    Examples:
      kzdiplo deals --sector minerals
      kzdiplo deals --partner US --min-usd 500m
      kzdiplo deals --sort -usd --format csv
    """
    asked = Asked(partner=partner, sector=sector, year=year, since=since, until=until,
                  include_undated=include_undated, bilateral=bilateral, kind=kind,
                  min_usd=min_usd, stage=stage, sort=sort, limit=limit)  # fmt: skip
    show_listing(ctx, DEAL, asked, fmt, layout)


@guarded
def deposits(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    bilateral: BilateralOption = False,
    commodity: CommodityOption = None,
    status: StatusOption = None,
    sort: Annotated[str | None, sort_option("deposit")] = None,
    limit: LimitOption = 100,
    fmt: PlaceFormatOption = PlaceFormat["table"],
    layout: LayoutOption = Layout.auto,
) -> None:
    """Mineral deposits and groups of deposits ("50 rare earth deposits" is one row).

    \b
    Examples:
      kzdiplo deposits
      kzdiplo deposits --commodity tungsten --format json
    """
    asked = Asked(partner=partner, sector=sector, bilateral=bilateral, commodity=commodity,
                  status=status, sort=sort, limit=limit)  # fmt: skip
    show_listing(ctx, DEPOSIT, asked, fmt, layout)


@guarded
def projects(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_undated: IncludeUndatedOption = False,
    bilateral: BilateralOption = False,
    kind: KindOption = None,
    status: StatusOption = None,
    sort: Annotated[str | None, sort_option("project")] = None,
    limit: LimitOption = 100,
    fmt: PlaceFormatOption = PlaceFormat["table"],
    layout: LayoutOption = Layout.auto,
) -> None:
    """Infrastructure and technology projects: capacity, cost, start and completion.

    --year/--since/--until apply to the start date.

    \b
    Examples:
      kzdiplo projects
      kzdiplo projects --partner rosatom --format json
      kzdiplo projects --sector energy --status construction
    """
    asked = Asked(partner=partner, sector=sector, year=year, since=since, until=until,
                  include_undated=include_undated, bilateral=bilateral, kind=kind,
                  status=status, sort=sort, limit=limit)  # fmt: skip
    show_listing(ctx, PROJECT, asked, fmt, layout)


@guarded
def events(
    ctx: typer.Context,
    partner: PartnerOption = None,
    sector: SectorOption = None,
    year: YearOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    include_undated: IncludeUndatedOption = False,
    bilateral: BilateralOption = False,
    kind: KindOption = None,
    sort: Annotated[str | None, sort_option("event")] = None,
    limit: LimitOption = 100,
    fmt: PlaceFormatOption = PlaceFormat["table"],
    layout: LayoutOption = Layout.auto,
) -> None:
    """The timeline: visits, summits, signings and decisions, oldest first.

    A partial date ("early 2023", "2025") matches every --year/--since/--until it may
    fall in. An event has its own sectors and those of the record it concerns (--sector
    finds a visit about a tungsten deal under minerals).

    \b
    Examples:
      kzdiplo events
      kzdiplo events --year 2023
      kzdiplo events --partner EU --format markdown
    """
    asked = Asked(partner=partner, sector=sector, year=year, since=since, until=until,
                  include_undated=include_undated, bilateral=bilateral, kind=kind,
                  sort=sort, limit=limit)  # fmt: skip
    show_listing(ctx, EVENT, asked, fmt, layout)
