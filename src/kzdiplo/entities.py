"""The kinds of record, each defined once: its names, table, link column, model, load
record, sorts and dates. The loader, queries, export, CLI, completion and checks read it.

Adding a kind of record is one entry here, its model (models.py), its load record
(records.py) and its migration. A table's columns are not listed here: the read path
asks the open database for them (``Reader.columns``); an entry names only its grouped
fields (kzdiplo.fields) and the flags they give (``priced``, ``placed``).
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, NamedTuple

from kzdiplo.fields import COORDINATES, FIELDS, USD, Grouped

if TYPE_CHECKING:
    from pydantic import BaseModel

    from kzdiplo.models import Base


def _date_sort(key: str) -> str:
    """Earliest first by the range a partial date may fall in; unknown dates last."""
    start, end = FIELDS[key].names["start"], FIELDS[key].names["end"]
    return f"(t.{start} IS NULL), t.{start}, t.{end}, t.id"


def _high_sort(key: str, *then: str) -> str:
    """Smallest first by an amount's upper figure (then its ``then`` figures); unknown
    amounts last."""
    names = [FIELDS[key].names[n] for n in ("high", *then)]
    return f"(t.{names[0]} IS NULL), {', '.join(f't.{n}' for n in names)}, t.id"


class Entity(NamedTuple):
    """One kind of record: how it is named, stored, listed and loaded."""

    name: str  # singular, as in ``kzdiplo show agreement``
    plural: str  # the listing command and the load file's section
    table: str
    date: str | None  # prefix of the partial date that --year/--since/--until use
    sorts: dict[str, str]
    default_sort: str
    label: str = "title"
    # What a listing selects beyond the table's own columns, and the joins it needs.
    extra_columns: tuple[str, ...] = ()
    extra_joins: tuple[str, ...] = ()
    # Its grouped fields (kzdiplo.fields), in the order the loader writes their columns.
    grouped: tuple[str, ...] = ()
    # Sources give its stage over time (a stage column and stage_changes rows).
    has_stages: bool = False
    # Its sectors include those of the records it refers to: a visit about a tungsten
    # deal is a minerals event (``related_sectors``; --sector matches either).
    linked_sectors: bool = False

    @property
    def model(self) -> type[Base]:
        """Its SQLAlchemy class, the one mapped to its table (SQLAlchemy is imported on
        first use: the read path never asks)."""
        return _model(self.table)

    @property
    def record(self) -> type[BaseModel]:
        """Its load record, the pydantic class of its section (imported on first use)."""
        from kzdiplo.records import SECTIONS

        return SECTIONS[self.plural]

    @property
    def link(self) -> str:
        """Its column in parties, record_sectors, citations and the other link tables."""
        return f"{self.name}_id"

    @property
    def fields(self) -> tuple[Grouped, ...]:
        """The converters of its grouped fields."""
        return tuple(FIELDS[key] for key in self.grouped)

    @property
    def priced(self) -> bool:
        """Its amounts are converted to US dollars (``--min-usd``, the USD sort)."""
        return USD in self.fields

    @property
    def placed(self) -> bool:
        """Sources may place it on a map (GeoJSON output)."""
        return COORDINATES in self.fields


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "agreement", "agreements", "agreements", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id",
             "count": "(t.count IS NULL), t.count, t.id"},
            "date",
            grouped=("date",), has_stages=True,
            extra_columns=(
                "(SELECT count(*) FROM agreements x WHERE x.parent_id = t.id) AS itemised",
            ),
        ),
        Entity(
            "deal", "deals", "deals", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id",
             "usd": _high_sort("usd", "low")},
            "date",
            grouped=("date", "amount", "usd"), has_stages=True,
            extra_columns=("ovd.slug AS overlaps", "ovl.note AS overlap_note"),
            # Joined table by table, each through its index: a joined subquery was
            # materialised whole (every overlap of every deal) for each page or record.
            extra_joins=(
                "LEFT JOIN deal_overlaps ovl ON ovl.deal_id = t.id",
                "LEFT JOIN deals ovd ON ovd.id = ovl.overlaps_id",
            ),
        ),
        Entity(
            "deposit", "deposits", "mineral_deposits", None,
            {"name": "lower(t.name), t.id", "commodity": "lower(t.commodity), t.id"},
            "name", "name", grouped=("coordinates",),
        ),
        Entity(
            "project", "projects", "infrastructure_projects", "started",
            {"name": "lower(t.name), t.id", "started": _date_sort("started"),
             "completion": _date_sort("completion"),
             # By the US dollar figure: costs in tenge and in dollars compare.
             "cost": _high_sort("cost_usd", "low")},
            "name", "name",
            grouped=("coordinates", "started", "completion", "cost", "cost_usd", "capacity"),
        ),
        Entity(
            "event", "events", "events", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id"},
            "date", grouped=("date", "coordinates"), linked_sectors=True,
        ),
    )
}  # fmt: skip

# What a listing record holds beyond its table's own columns, and what each means: the
# SELECT's joins (a reference as the slug it names) and what queries.attach adds. The
# spreadsheet, the views and the served records table describe these keys from here.
LISTING_KEYS = {
    "partners": "Its parties: each partner's key (an ISO code or an organisation's slug) and role",
    "sectors": "Its sectors' slugs",
    "related_sectors": "Events: the sectors of the records it concerns (an event about a "
    "minerals deal is a minerals event)",
    "itemised": "Packages: how many of its documents are records of their own (parts)",
    "stages": "Stage history: each stage with its date and source",
    "discrepancies": "Sources that say otherwise (disagreement) or more precisely (refinement)",
    "source_count": "How many sources cite the record",
    "independent_sources": "How many independent origins those sources rest on (a "
    "republication counts with its origin)",
    "disputes": "How many disagreements a second source raises against it",
    "disputed_fields": "The fields they disagree on",
    "parent": "The slug of the package it is part of, if any",
    "overlaps": "The slug of a deal whose money this one overlaps (counted once), if any",
    "overlap_note": "How the two overlap",
    "event": "The slug of the event it was announced at, if any",
    "agreement": "The slug of the agreement it belongs to, if any",
    "deal": "The slug of the deal it concerns, if any",
    "deposit": "The slug of the deposit it concerns, if any",
    "project": "The slug of the project it concerns, if any",
}

BY_TABLE = {e.table: e for e in ENTITIES.values()}
BY_PLURAL = {e.plural: e for e in ENTITIES.values()}
# Partners are cited and discussed like records, but not listed as records: their link
# columns, by load section.
PARTNER_LINKS = {"countries": "country_id", "organizations": "organization_id"}
# Every cited kind, by load section: its column in citations and discrepancies.
LINKS = {**PARTNER_LINKS, **{e.plural: e.link for e in ENTITIES.values()}}


@functools.cache
def _model(table: str) -> type[Base]:
    from kzdiplo.models import Base

    return next(
        m.class_ for m in Base.registry.mappers if getattr(m.class_, "__tablename__", "") == table
    )
