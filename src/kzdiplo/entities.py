"""The kinds of record, each defined once: its names, table, link column, model, load
record, sorts and dates. The loader, queries, export, CLI, completion and checks read it.

Adding a kind of record is one entry here, its model (models.py), its load record
(records.py) and its migration. A table's columns are not listed here: the read path
asks the open database for them (``Reader.columns``); an entry names only the few
columns the CLI must know before a database is open (which options a listing takes).
"""

from __future__ import annotations

from typing import NamedTuple


def _date_sort(prefix: str) -> str:
    return f"(t.{prefix}_start IS NULL), t.{prefix}_start, t.{prefix}_end, t.id"


class Entity(NamedTuple):
    """One kind of record: how it is named, stored, listed and loaded."""

    name: str  # singular, as in ``kzdiplo show agreement``
    plural: str  # the listing command and the load file's section
    table: str
    model: str  # its class in kzdiplo.models (named, so the read path needs no SQLAlchemy)
    record: str  # its class in kzdiplo.records
    date: str | None  # prefix of the partial date that --year/--since/--until use
    sorts: dict[str, str]
    default_sort: str
    label: str = "title"
    # What a listing selects beyond the table's own columns, and the joins it needs.
    extra_columns: tuple[str, ...] = ()
    extra_joins: tuple[str, ...] = ()
    # The columns that decide, before a database is open, which listing options apply
    # (--kind, --stage, --min-usd, the place formats...) and how a record is loaded;
    # tests/test_entities.py checks them against the models.
    declared_columns: frozenset[str] = frozenset()

    @property
    def link(self) -> str:
        """Its column in parties, record_sectors, citations and the other link tables."""
        return f"{self.name}_id"

    def has(self, column: str) -> bool:
        """Whether its table has ``column``, for the columns declared above."""
        return column in self.declared_columns


ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in (
        Entity(
            "agreement", "agreements", "agreements", "Agreement", "AgreementIn", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id",
             "count": "(t.count IS NULL), t.count, t.id"},
            "date",
            extra_columns=(
                "(SELECT count(*) FROM agreements x WHERE x.parent_id = t.id) AS itemised",
            ),
            declared_columns=frozenset({"kind", "stage", "date_start"}),
        ),
        Entity(
            "deal", "deals", "deals", "Deal", "DealIn", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id",
             "usd": "(t.usd_high IS NULL), t.usd_high, t.usd_low, t.id"},
            "date",
            extra_columns=("ox.overlaps", "ox.overlap_note"),
            extra_joins=(
                "LEFT JOIN (SELECT x.deal_id, od.slug AS overlaps, x.note AS overlap_note "
                "FROM deal_overlaps x JOIN deals od ON od.id = x.overlaps_id) ox "
                "ON ox.deal_id = t.id",
            ),
            declared_columns=frozenset({"kind", "stage", "date_start", "usd_low", "usd_high"}),
        ),
        Entity(
            "deposit", "deposits", "mineral_deposits", "MineralDeposit", "DepositIn", None,
            {"name": "lower(t.name), t.id", "commodity": "lower(t.commodity), t.id"},
            "name", "name",
            declared_columns=frozenset({"commodity", "status", "latitude"}),
        ),
        Entity(
            "project", "projects", "infrastructure_projects", "InfrastructureProject",
            "ProjectIn", "started",
            {"name": "lower(t.name), t.id", "started": _date_sort("started"),
             "completion": _date_sort("completion"),
             "cost": "(t.cost_high IS NULL), t.cost_high, t.id"},
            "name", "name",
            declared_columns=frozenset({"kind", "status", "latitude"}),
        ),
        Entity(
            "event", "events", "events", "Event", "EventIn", "date",
            {"date": _date_sort("date"), "title": "lower(t.title), t.id"},
            "date",
            declared_columns=frozenset({"kind", "date_start", "latitude"}),
        ),
    )
}  # fmt: skip

BY_TABLE = {e.table: e for e in ENTITIES.values()}
BY_PLURAL = {e.plural: e for e in ENTITIES.values()}
# Partners are cited and discussed like records, but not listed as records: their link
# columns, by load section.
PARTNER_LINKS = {"countries": "country_id", "organizations": "organization_id"}
# Every cited kind, by load section: its column in citations and discrepancies.
LINKS = {**PARTNER_LINKS, **{e.plural: e.link for e in ENTITIES.values()}}
