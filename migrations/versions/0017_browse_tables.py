"""The browse tables serve shows, kept in the database (issue 27: serve built them in a
copy at every start, 145 s and 6.7 GiB at a million agreements).

- ``records`` (one row per record, lists as JSON arrays, id = the search index's
  document id), ``records_counts`` (its facet counts) and ``partner_money`` (the
  partners totals per stage), with the indexes the records page sorts and counts by.
- ``derived_state`` row ``browse``: fresh after a load, seed or ``db upgrade`` rebuilt
  them (kzdiplo.browse.rebuild), its value (JSON) the longest stored value's size and
  each table of records' highest id (a bulk insert that dropped the triggers shows
  there); on SQLite, any write to a table they are derived from marks it stale (a
  trigger per table and event, as migration 0015's for the content hash). Created stale: ``kzdiplo db
  upgrade`` builds them once it reaches the head revision (kzdiplo.migrate.upgrade).
- PostgreSQL gets the tables (one schema) but never fills them: serve reads SQLite.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

# ruff: noqa: E501  (the column comments, each as kzdiplo.browse gives it)
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COMMENTS = {
    "records": "Derived for browsing: one row per record, lists as JSON arrays (facets count "
    "US and KZ apart), years as every year a date may fall in; rebuilt by every load",
    "records_counts": "Derived: the records table's facet counts, over every record and per "
    "kind, rebuilt with it",
    "partner_money": "Derived: kzdiplo partners' totals per partner and stage, rebuilt by "
    "every load",
}
COLUMNS: dict[str, list[tuple[str, Any, str]]] = {
    'records': [
        ('id', sa.Integer(),
         "The search index's document id: record id * 8 + noun number"),
        ('title', sa.Text(),
         "Title or name; links to the record's page with every citation"),
        ('noun', sa.Text(),
         'agreement, deal, deposit, project or event'),
        ('date', sa.Text(),
         "The main date as precisely as its sources give it ('2025', 'Nov 2025'; ~ inferred): sort and filter by date_start and date_end"),
        ('date_text', sa.Text(),
         "The source's wording of the main date (date, or a project's start)"),
        ('usd_low', sa.BigInteger(),
         'Deals: the lower US dollar figure (NULL: unpriced)'),
        ('usd_high', sa.BigInteger(),
         'Deals: the upper US dollar figure'),
        ('approximate', sa.Integer(),
         "1 when the source says 'nearly', 'about'..."),
        ('stage', sa.Text(),
         "Agreements and deals: where it stands, as firmly as its sources say, or 'not recorded' (no source gives one); NULL for other records"),
        ('partners', sa.Text(),
         'JSON array of partner keys (ISO code or organisation slug), one per party'),
        ('kind', sa.Text(),
         "The record's kind (signing, summit, mou...)"),
        ('disputes', sa.Integer(),
         'Disagreements a second source raises against the record'),
        ('slug', sa.Text(),
         "The record's key (kzdiplo show NOUN SLUG)"),
        ('date_start', sa.Text(),
         'First day the main date may fall on'),
        ('date_end', sa.Text(),
         'Last day the main date may fall on'),
        ('date_precision', sa.Text(),
         'day, month, part_of_year, year or years'),
        ('years', sa.Text(),
         "JSON array: every year any of the record's dates may fall in (a project completing 'between 2035 and 2036' is in both); facet with _facet_array"),
        ('partner_countries', sa.Text(),
         "JSON array: the partners' countries, an organisation counted under its home country"),
        ('roles', sa.Text(),
         "JSON array of the parties' roles (signatory, payer, host...)"),
        ('partner_roles', sa.Text(),
         "JSON array of 'PARTNER: role' pairs"),
        ('sectors', sa.Text(),
         'JSON array of sector slugs'),
        ('disputed_fields', sa.Text(),
         'JSON array of the disputed fields'),
        ('source_count', sa.Integer(),
         'Sources its citations come from'),
        ('independent_sources', sa.Integer(),
         'Independent origins of those sources (a republication counts with what it republishes)'),
        ('summary', sa.Text(),
         'Our summary of the record (our words, not a quotation)'),
        ('quotes', sa.Text(),
         "Every citation's text, for search (quotes verbatim, summaries ours)"),
        ('page', sa.Text(),
         "The record's page in this Datasette"),
    ],
    'records_counts': [
        ('id', sa.Integer(),
         'Row id'),
        ('noun', sa.Text(),
         'The kind of record counted (NULL: every record)'),
        ('facet', sa.Text(),
         "A column of records (noun, stage, or a JSON array column: partners, roles, sectors, years), or 'placed': records with coordinates"),
        ('value', sa.Text(),
         "The facet's value (for 'placed': the kind of record)"),
        ('count', sa.Integer(),
         'Records of that kind with that value (an array column: records whose array holds it)'),
    ],
    'partner_money': [
        ('id', sa.Integer(),
         'Row id'),
        ('partner', sa.Text(),
         'Partner key (country, bloc, or organisation without a home country)'),
        ('name', sa.Text(),
         'Partner name'),
        ('stage', sa.Text(),
         'Stage of the records counted (NULL: not recorded)'),
        ('from_partner', sa.Text(),
         "Its own money from it, as money (the money_flows ledger's basis whole or stated_share)"),
        ('to_partner', sa.Text(),
         'Its own money to it, as money'),
        ('usd_from_low', sa.BigInteger(),
         'US dollars from the partner (its own, from the money_flows ledger), low'),
        ('usd_from_high', sa.BigInteger(),
         'US dollars from the partner, high'),
        ('usd_to_low', sa.BigInteger(),
         'US dollars to the partner (its own, from the money_flows ledger), low'),
        ('usd_to_high', sa.BigInteger(),
         'US dollars to the partner, high'),
        ('approximate', sa.Integer(),
         "1 when any figure added is approximate ('nearly')"),
        ('not_own', sa.Text(),
         'Money it takes part in that is not its own to add (whole sums): paid with others or received with other states with no split stated, targets, no direction'),
        ('unpriced_deals', sa.Integer(),
         'Deals with no amount in any source (counted, not added)'),
        ('deals', sa.Integer(),
         'Deals the partner takes part in'),
        ('agreements', sa.Integer(),
         'Agreements, packages expanded'),
    ],
}  # fmt: skip
INDEXES = (
    ("ix_records_title", "records", ["title"]),
    ("ix_records_noun_title", "records", ["noun", "title"]),
    ("ix_records_counts_facet", "records_counts", ["facet", "noun", "count"]),
)
# Migration 0015's CONTENT: every table the browse tables are derived from.
CONTENT = ("sources", "source_links", "sectors", "countries", "organizations", "agreements",
           "deals", "mineral_deposits", "infrastructure_projects", "events", "parties",
           "record_sectors", "citations", "discrepancies", "stage_changes",
           "deal_overlaps")  # fmt: skip
EVENTS = ("insert", "update", "delete")


def _triggers() -> list[tuple[str, str]]:
    return [
        (f"browse_stale_{table}_{event}",
         f"CREATE TRIGGER browse_stale_{table}_{event} AFTER {event.upper()} ON {table} "
         "BEGIN UPDATE derived_state SET stale = 1 WHERE name = 'browse' AND stale = 0; END")
        for table in CONTENT
        for event in EVENTS
    ]  # fmt: skip


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        op.create_table(
            table,
            *(sa.Column(name, kind, nullable=name != "id", comment=comment)
              for name, kind, comment in columns),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            comment=COMMENTS[table],
        )  # fmt: skip
    for name, table, names in INDEXES:
        op.create_index(name, table, names)
    op.execute("INSERT INTO derived_state (name, stale) VALUES ('browse', true)")
    if op.get_bind().dialect.name == "sqlite":
        for _, statement in _triggers():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name, _ in _triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DELETE FROM derived_state WHERE name = 'browse'")
    for table in COLUMNS:
        op.drop_table(table)
