"""Trust: quotes apart from summaries, stages, derived sources, overlapping money.

- ``citations.quote`` becomes ``citations.text`` with a ``kind``: ``quote`` (a verbatim
  excerpt of a source whose text we hold) or ``summary`` (our own words). Rows whose
  note said "our summary, not a quote" become summaries (the note goes); the rest are
  quotes only when their source's text is held, else summaries. A RENAME keeps the
  table (and its search triggers) in place; SQLite rewrites the triggers and views.
- ``discrepancies.kind``: a disagreement, or a refinement (a source more precise).
- ``agreements.stage`` / ``deals.stage`` and ``stage_changes`` (each stage a source
  reports, with its date and citation).
- ``source_links``: a source that republishes or reports on another.
- ``deal_overlaps``: money counted in another deal, so totals add it once.
- ``partner_totals_cache`` is rebuilt per partner and stage, with money from and to the
  partner apart (only money-moving roles credit a partner).

SQLite adds columns with their own CHECK through ADD COLUMN: no table is rebuilt.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None



STAGES = ("announced", "letter_of_interest", "memorandum", "signed", "approved", "in_force",
          "disbursing", "completed", "suspended", "cancelled")  # fmt: skip
SUMMARY_NOTE = "our summary, not a quote"


def _or_chain(column: str, values: tuple[str, ...]) -> str:
    return "(" + " OR ".join(f"{column} = '{v}'" for v in values) + ")"


STAGE_CHECK = f"stage IS NULL OR {_or_chain('stage', STAGES)}"
STAGE_COMMENT = "Where it stands, as firmly as its sources say: " + ", ".join(STAGES)
ADDED = [  # table, column, SQL type, NOT NULL default, check, comment
    ("agreements", "stage", "VARCHAR(20)", None, STAGE_CHECK, STAGE_COMMENT),
    ("deals", "stage", "VARCHAR(20)", None, STAGE_CHECK, STAGE_COMMENT),
    ("citations", "kind", "VARCHAR(10)", "summary", _or_chain("kind", ("quote", "summary")),
     "quote: text is a verbatim excerpt of the source's stored text; "
     "summary: text is our own summary of the source"),
    ("deals", "stake_percent", "FLOAT", None, "stake_percent BETWEEN 0 AND 100",
     "The stake as a percentage, when a source gives one (cite it: field stake_percent)"),
    ("discrepancies", "kind", "VARCHAR(12)", "disagreement",
     _or_chain("kind", ("disagreement", "refinement")),
     "disagreement: the source says otherwise; refinement: it is more precise"),
]  # fmt: skip

_RECORD_TYPE = """CASE
        WHEN {t}.agreement_id IS NOT NULL THEN 'agreement'
        WHEN {t}.deal_id IS NOT NULL THEN 'deal'
        WHEN {t}.deposit_id IS NOT NULL THEN 'deposit'
        WHEN {t}.project_id IS NOT NULL THEN 'project'
        WHEN {t}.event_id IS NOT NULL THEN 'event'
        WHEN {t}.country_id IS NOT NULL THEN 'country'
        WHEN {t}.organization_id IS NOT NULL THEN 'organization' END"""
_JOINS = """
LEFT JOIN agreements a ON a.id = {t}.agreement_id
LEFT JOIN deals d ON d.id = {t}.deal_id
LEFT JOIN mineral_deposits m ON m.id = {t}.deposit_id
LEFT JOIN infrastructure_projects ip ON ip.id = {t}.project_id
LEFT JOIN events e ON e.id = {t}.event_id
LEFT JOIN countries co ON co.id = {t}.country_id
LEFT JOIN organizations o ON o.id = {t}.organization_id"""
_KEY = "COALESCE(a.slug, d.slug, m.slug, ip.slug, e.slug, co.code, o.slug)"


def _citation_details(new: bool) -> str:
    text = (
        "ci.kind, CASE WHEN ci.kind = 'quote' THEN ci.text END AS quote,\n"
        "    CASE WHEN ci.kind = 'summary' THEN ci.text END AS summary, ci.note"
        if new
        else "ci.quote, ci.note"
    )
    return f"""
SELECT ci.id AS citation_id,
    {_RECORD_TYPE.format(t="ci")} AS record_type,
    {_KEY} AS record_key,
    ci.field, {text},
    s.slug AS source, s.title AS source_title, s.publisher, s.url, s.published
FROM citations ci
JOIN sources s ON s.id = ci.source_id{_JOINS.format(t="ci")}"""


def _discrepancy_details(new: bool) -> str:
    kind = "x.kind, " if new else ""
    return f"""
SELECT x.id AS discrepancy_id,
    {_RECORD_TYPE.format(t="x")} AS record_type,
    {_KEY} AS record_key,
    {kind}x.field, x.record_says, x.source_says, x.note,
    s.slug AS source, s.title AS source_title, s.publisher, s.url, s.published
FROM discrepancies x
JOIN sources s ON s.id = x.source_id{_JOINS.format(t="x")}"""


def _partners_of(roles: str) -> str:
    agg = "string_agg" if op.get_bind().dialect.name == "postgresql" else "group_concat"
    return f"""(SELECT {agg}(COALESCE(pc.code, po.slug), ', ') FROM parties p
            LEFT JOIN countries pc ON pc.id = p.country_id
            LEFT JOIN organizations po ON po.id = p.organization_id
            WHERE p.deal_id = d.id AND p.role IN ({roles}))"""


def _deal_overview(new: bool) -> str:
    """deal_overview names payers and recipients by the roles that move money (0001 also
    counted a host as a recipient) and, from 0009, the stage and what money it shares."""
    sectors = (
        "(SELECT {agg}(s.slug, ', ') FROM record_sectors rs JOIN sectors s ON "
        "s.id = rs.sector_id WHERE rs.deal_id = d.id)"
    ).format(agg="string_agg" if op.get_bind().dialect.name == "postgresql" else "group_concat")
    recipients = "'recipient', 'beneficiary'" + ("" if new else ", 'host'")
    extra = (
        "d.stage, (SELECT od.slug FROM deal_overlaps x JOIN deals od ON od.id = x.overlaps_id "
        "WHERE x.deal_id = d.id) AS counted_in,\n    " if new else ""
    )
    return f"""
SELECT d.id, d.slug, d.title, d.kind, {extra}d.amount_low, d.amount_high, d.currency,
    d.approximate, d.qualifier, d.amount_text, d.usd_low, d.usd_high, d.usd_rate,
    d.usd_rate_date, d.usd_rate_source, d.stake,
    {_partners_of("'investor', 'financier', 'co-financier', 'acquirer'")}
        AS payers,
    {_partners_of(recipients)} AS recipients,
    a.slug AS agreement, m.slug AS deposit, ip.slug AS project,
    CASE WHEN d.parent_id IS NULL THEN 0 ELSE 1 END AS is_part,
    d.date_start, d.date_end, d.date_precision, d.date_text,
    {sectors} AS sectors,
    d.summary
FROM deals d
LEFT JOIN agreements a ON a.id = d.agreement_id
LEFT JOIN mineral_deposits m ON m.id = d.deposit_id
LEFT JOIN infrastructure_projects ip ON ip.id = d.project_id"""


def _views(new: bool) -> None:
    for name in ("citation_details", "discrepancy_details", "deal_overview"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute(f"CREATE VIEW citation_details AS {_citation_details(new)}")
    op.execute(f"CREATE VIEW discrepancy_details AS {_discrepancy_details(new)}")
    op.execute(f"CREATE VIEW deal_overview AS {_deal_overview(new)}")


_CACHE = "Derived: the partners command's totals{}, rebuilt by every load and seed; read only while derived_state says it is fresh"  # noqa: E501
_NEW_CACHE = [  # name, type, comment (as in kzdiplo.models.PartnerTotalsCache)
    ("stage", sa.String(length=20), "The records' stage"),
    ("agreement_records", sa.Integer(), "Agreement rows (packages count once)"),
    ("agreements", sa.Integer(), "Agreements, packages counted by their size"),
    ("deals", sa.Integer(), "Deals involving the partner, in any role"),
    ("not_added", sa.Integer(), "Of those, parts and overlapping deals: counted through another deal"),
    ("from_low", sa.BigInteger(), "USD from the partner (payer roles), low"),
    ("from_high", sa.BigInteger(), "The same, high"),
    ("shared_deals", sa.Integer(), "Deals in from_* that the partner co-finances with others (its share unknown)"),
    ("shared_to_deals", sa.Integer(), "Deals in to_* received with other partners (the partner's share unknown)"),
    ("to_low", sa.BigInteger(), "USD to the partner (recipient roles), low"),
    ("to_high", sa.BigInteger(), "The same, high"),
    ("approximate", sa.Integer(), "1 when any amount added is approximate"),
    ("unpriced", sa.Integer(), "Deals moving money with no stated amount"),
    ("undirected", sa.Integer(), "Priced deals involving the partner in no money-moving role"),
]  # fmt: skip
_OLD_CACHE = [
    ("agreement_records", sa.Integer(), "Agreement rows (packages count once)"),
    ("agreements", sa.Integer(), "Agreements, packages counted by their size"),
    ("deals", sa.Integer(), "Deals, umbrella deals only"),
    ("usd_low", sa.BigInteger(), "Sum of usd_low"),
    ("usd_high", sa.BigInteger(), "Sum of usd_high"),
    ("approximate", sa.Integer(), "1 when any amount is approximate"),
    ("unpriced", sa.Integer(), "Deals with no stated amount"),
]  # fmt: skip


def _cache(new: bool) -> None:
    """The partners cache, created empty and stale (the next load or seed fills it)."""
    op.drop_table("partner_totals_cache")
    columns = [
        sa.Column(name, kind, comment=comment,
                  nullable=name in ("stage", "gc", "go") or isinstance(kind, sa.BigInteger))
        for name, kind, comment in [
            ("gc", sa.Integer(), "The country or bloc (with its organisations)"),
            ("go", sa.Integer(), "An organisation without a home country"),
            *(_NEW_CACHE if new else _OLD_CACHE),
        ]
    ]  # fmt: skip
    op.create_table(
        "partner_totals_cache",
        sa.Column("id", sa.Integer(), nullable=False, comment="Row id (the slug is the stable key)"),
        *columns,
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_totals_cache")),
        comment=_CACHE.format(" per partner and stage" if new else ""),
    )  # fmt: skip
    op.execute("UPDATE derived_state SET stale = true WHERE name = 'partner_totals'")


def _stale_triggers(create: bool) -> None:
    """deal_overlaps feeds the partners cache: writes to it mark the cache stale."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    for event in ("insert", "update", "delete") if sqlite else ("",):
        name = f"derived_stale_deal_overlaps{'_' + event if event else ''}"
        if not create:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + ("" if sqlite else " ON deal_overlaps"))
        elif sqlite:
            op.execute(
                f"CREATE TRIGGER {name} AFTER {event.upper()} ON deal_overlaps "
                "BEGIN UPDATE derived_state SET stale = 1 "
                "WHERE name = 'partner_totals' AND stale = 0; END"
            )
        else:
            op.execute(
                f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                "ON deal_overlaps FOR EACH STATEMENT EXECUTE FUNCTION derived_stale()"
            )


def _deal_event(add: bool) -> None:
    """deals.event_id: the event at which a deal was announced or signed (not a package
    link: a deal is part of a package only when a source says so)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if not add:
        op.drop_index("ix_deals_event_id", table_name="deals")
        if not sqlite:
            op.drop_constraint("fk_deals_event_id_events", "deals", type_="foreignkey")
        op.execute("ALTER TABLE deals DROP COLUMN event_id")
        return
    if sqlite:
        op.execute(
            "ALTER TABLE deals ADD COLUMN event_id INTEGER "
            "REFERENCES events (id)"
        )
    else:
        op.add_column("deals", sa.Column("event_id", sa.Integer(), nullable=True, comment=(
            "The event at which a source says it was announced or signed")))  # fmt: skip
        op.create_foreign_key("fk_deals_event_id_events", "deals", "events", ["event_id"], ["id"])
    op.create_index("ix_deals_event_id", "deals", ["event_id"],
                    sqlite_where=sa.text("event_id IS NOT NULL"),
                    postgresql_where=sa.text("event_id IS NOT NULL"))  # fmt: skip


CITATIONS_COMMENT = {
    "text": "What a source says that a record (or one field of it) rests on",
    "quote": "The sentence of a source that a record (or one field of it) rests on",
}


def _rename_text(old: str, new: str) -> None:
    """Rename citations.quote <-> text in place (SQLite rewrites triggers and views; its
    CHECK keeps the name ck_citations_quote, which names no column)."""
    op.execute(f"ALTER TABLE citations RENAME COLUMN {old} TO {new}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"COMMENT ON TABLE citations IS '{CITATIONS_COMMENT[new]}'")
        op.execute(f"ALTER TABLE citations RENAME CONSTRAINT ck_citations_{old} TO ck_citations_{new}")
        comment = (
            "The verbatim excerpt (kind quote) or our summary (kind summary)"
            if new == "text"
            else "Verbatim excerpt, or our summary for non-quoted sources"
        )
        op.execute(f"COMMENT ON COLUMN citations.{new} IS '{comment}'")


def _add_columns() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, sql_type, default, check, comment in ADDED:
        constraint = f"ck_{table}_{column}"
        if sqlite:
            not_null = f" DEFAULT '{default}' NOT NULL" if default else ""
            op.execute(
                f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}{not_null} "
                f"CONSTRAINT {constraint} CHECK ({check})"
            )
        else:
            kind = sa.Float() if sql_type == "FLOAT" else sa.String(length=int(sql_type[8:-1]))
            op.add_column(table, sa.Column(column, kind,
                                           server_default=default, nullable=default is None,
                                           comment=comment))  # fmt: skip
            op.create_check_constraint(constraint, table, check)


def _drop_columns() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table, column, *_ in reversed(ADDED):
        if not sqlite:
            op.drop_constraint(f"ck_{table}_{column}", table, type_="check")
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")


def upgrade() -> None:
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table('source_links',
    sa.Column('id', sa.Integer(), nullable=False, comment='Row id (the slug is the stable key)'),
    sa.Column('source_id', sa.Integer(), nullable=False, comment='The derived source'),
    sa.Column('derived_from_id', sa.Integer(), nullable=False, comment='What it rests on'),
    sa.Column('relation', sa.String(length=12), nullable=False, comment='republishes (a copy) or reports_on (its claim comes from it)'),
    sa.CheckConstraint("(relation = 'republishes' OR relation = 'reports_on')", name=op.f('ck_source_links_relation')),
    sa.CheckConstraint('source_id <> derived_from_id', name=op.f('ck_source_links_not_self')),
    sa.ForeignKeyConstraint(['derived_from_id'], ['sources.id'], name=op.f('fk_source_links_derived_from_id_sources'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_source_links_source_id_sources'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_source_links')),
    comment='A source that rests on another (independence is counted by origin)'
    )
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_links_derived_from_id'), ['derived_from_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_source_links_source_id'), ['source_id'], unique=False)

    op.create_table('deal_overlaps',
    sa.Column('id', sa.Integer(), nullable=False, comment='Row id (the slug is the stable key)'),
    sa.Column('deal_id', sa.Integer(), nullable=False, comment='The deal whose money is (or may be) counted in the other'),
    sa.Column('overlaps_id', sa.Integer(), nullable=False, comment='The deal totals count'),
    sa.Column('note', sa.Text(), nullable=True, comment='How they overlap, and who says so'),
    sa.CheckConstraint('deal_id <> overlaps_id', name=op.f('ck_deal_overlaps_not_self')),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_deal_overlaps_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['overlaps_id'], ['deals.id'], name=op.f('fk_deal_overlaps_overlaps_id_deals'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_overlaps')),
    comment='Money that may be counted in another deal: totals add it once, through the other deal'
    )
    with op.batch_alter_table('deal_overlaps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deal_overlaps_deal_id'), ['deal_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deal_overlaps_overlaps_id'), ['overlaps_id'], unique=False)

    op.create_table('stage_changes',
    sa.Column('id', sa.Integer(), nullable=False, comment='Row id (the slug is the stable key)'),
    sa.Column('stage', sa.String(length=20), nullable=False, comment='The stage: announced, letter_of_interest, memorandum, signed, approved, in_force, disbursing, completed, suspended, cancelled'),
    sa.Column('agreement_id', sa.Integer(), nullable=True, comment='Record: an agreement'),
    sa.Column('deal_id', sa.Integer(), nullable=True, comment='Record: a deal'),
    sa.Column('date_start', sa.Date(), nullable=True, comment='Earliest date of the change'),
    sa.Column('date_end', sa.Date(), nullable=True, comment='Latest date of the change'),
    sa.Column('date_precision', sa.String(length=12), nullable=True, comment='day, month, part_of_year, year or years'),
    sa.Column('date_text', sa.Text(), nullable=True, comment="The source's wording of the date"),
    sa.Column('source_id', sa.Integer(), nullable=False, comment='The source'),
    sa.Column('kind', sa.String(length=10), nullable=False, comment='quote or summary, as for citations'),
    sa.Column('text', sa.Text(), nullable=False, comment='The verbatim excerpt or our summary'),
    sa.Column('note', sa.Text(), nullable=True, comment='Remarks'),
    sa.CheckConstraint("(kind = 'quote' OR kind = 'summary')", name=op.f('ck_stage_changes_kind')),
    sa.CheckConstraint("(stage = 'announced' OR stage = 'letter_of_interest' OR stage = 'memorandum' OR stage = 'signed' OR stage = 'approved' OR stage = 'in_force' OR stage = 'disbursing' OR stage = 'completed' OR stage = 'suspended' OR stage = 'cancelled')", name=op.f('ck_stage_changes_stage')),
    sa.CheckConstraint("date_precision IS NULL OR (date_precision = 'day' OR date_precision = 'month' OR date_precision = 'part_of_year' OR date_precision = 'year' OR date_precision = 'years')", name=op.f('ck_stage_changes_date_precision')),
    sa.CheckConstraint('(CASE WHEN agreement_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN deal_id IS NULL THEN 0 ELSE 1 END) = 1', name=op.f('ck_stage_changes_one_record')),
    sa.CheckConstraint('(date_start IS NULL AND date_end IS NULL AND date_precision IS NULL) OR (date_start IS NOT NULL AND date_end IS NOT NULL AND date_precision IS NOT NULL AND date_start <= date_end)', name=op.f('ck_stage_changes_date_range')),
    sa.CheckConstraint('length(text) > 0', name=op.f('ck_stage_changes_text')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_stage_changes_agreement_id_agreements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['deal_id'], ['deals.id'], name=op.f('fk_stage_changes_deal_id_deals'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['source_id'], ['sources.id'], name=op.f('fk_stage_changes_source_id_sources'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_changes')),
    comment='A stage an agreement or deal reached, when, and the source that says so (sources may disagree: each claim is a row)'
    )
    with op.batch_alter_table('stage_changes', schema=None) as batch_op:
        batch_op.create_index('ix_stage_changes_agreement_id', ['agreement_id'], unique=False, sqlite_where=sa.text('agreement_id IS NOT NULL'), postgresql_where=sa.text('agreement_id IS NOT NULL'))
        batch_op.create_index('ix_stage_changes_deal_id', ['deal_id'], unique=False, sqlite_where=sa.text('deal_id IS NOT NULL'), postgresql_where=sa.text('deal_id IS NOT NULL'))
        batch_op.create_index(batch_op.f('ix_stage_changes_source_id'), ['source_id'], unique=False)

    _rename_text("quote", "text")
    _add_columns()
    _deal_event(add=True)
    op.execute(
        f"UPDATE citations SET kind = 'quote' WHERE (note IS NULL OR note NOT LIKE "
        f"'{SUMMARY_NOTE}%') AND source_id IN (SELECT id FROM sources WHERE text IS NOT NULL)"
    )
    op.execute(f"UPDATE citations SET note = NULL WHERE note = '{SUMMARY_NOTE}'")
    op.execute(  # what the downgrade joined to the marker, "our summary, not a quote; ..."
        f"UPDATE citations SET note = substr(note, {len(SUMMARY_NOTE) + 3}) "
        f"WHERE note LIKE '{SUMMARY_NOTE}; %'"
    )
    # refinements that a downgrade kept as a note marker (below) get their kind back
    op.execute("UPDATE discrepancies SET kind = 'refinement', note = NULL WHERE note = 'refinement'")
    op.execute(
        "UPDATE discrepancies SET kind = 'refinement', note = substr(note, 13) "
        "WHERE note LIKE 'refinement; %'"
    )
    _views(new=True)
    _cache(new=True)
    _stale_triggers(create=True)


def downgrade() -> None:
    _stale_triggers(create=False)
    _cache(new=False)
    for name in ("citation_details", "discrepancy_details", "deal_overview"):
        op.execute(f"DROP VIEW IF EXISTS {name}")
    op.execute(
        f"UPDATE citations SET note = CASE WHEN note IS NULL THEN '{SUMMARY_NOTE}' "
        f"ELSE '{SUMMARY_NOTE}; ' || note END WHERE kind = 'summary'"
    )
    op.execute(
        "UPDATE discrepancies SET note = CASE WHEN note IS NULL THEN 'refinement' "
        "ELSE 'refinement; ' || note END WHERE kind = 'refinement'"
    )
    _deal_event(add=False)
    _drop_columns()
    _rename_text("text", "quote")
    _views(new=False)
    with op.batch_alter_table('stage_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stage_changes_source_id'))
        batch_op.drop_index('ix_stage_changes_deal_id', sqlite_where=sa.text('deal_id IS NOT NULL'), postgresql_where=sa.text('deal_id IS NOT NULL'))
        batch_op.drop_index('ix_stage_changes_agreement_id', sqlite_where=sa.text('agreement_id IS NOT NULL'), postgresql_where=sa.text('agreement_id IS NOT NULL'))

    op.drop_table('stage_changes')
    with op.batch_alter_table('deal_overlaps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deal_overlaps_overlaps_id'))
        batch_op.drop_index(batch_op.f('ix_deal_overlaps_deal_id'))

    op.drop_table('deal_overlaps')
    with op.batch_alter_table('source_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_links_source_id'))
        batch_op.drop_index(batch_op.f('ix_source_links_derived_from_id'))

    op.drop_table('source_links')
    # ### end Alembic commands ###
