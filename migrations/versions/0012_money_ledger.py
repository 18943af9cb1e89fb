"""The money ledger: stated shares, targets apart, and one view every total reads.

- ``parties`` gets a stated share of a deal's amount (``share_low``/``share_high`` in the
  deal's currency, or ``share_percent``; ``share_text``; its US dollars), cited by a
  citation of the deal with field ``share:<partner>``.
- ``deals.figure`` says what an amount is: ``flow`` (money that moves), ``target`` or
  ``ceiling`` (shown apart, never added to a partner's money).
- ``money_flows``: one row per deal, partner (a country or bloc with its
  organisations, or an organisation with no home country) and direction (from, to,
  involved), with the amount that partner is credited with and the basis of it. Only
  ``stated_share`` and ``whole`` rows carry an own amount, so a plain ``SUM(usd_low)``
  counts each deal once per side: money shared with other payers or received with
  other recipients, split not stated, stays with its whole beside it and no own amount;
  a part or an overlapping deal that another deal already credits to the partner is
  ``counted_elsewhere``.
- ``partner_totals_cache`` is summed from the ledger (new columns; rebuilt by the next
  load or seed).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the vocabularies (a migration must not change when vocab.py does).
PAYERS = "'investor', 'financier', 'co-financier', 'acquirer'"
RECIPIENTS = "'recipient', 'beneficiary'"
FIGURES = "(figure = 'flow' OR figure = 'target' OR figure = 'ceiling')"

PARTY_COLUMNS = [  # name, SQL type, check (named ck_parties_<name>), comment (kzdiplo.models)
    ("share_low", "BIGINT", None,
     "Its stated share of the deal's amount, low, in the deal's currency (NULL: not stated); "
     "cited by a citation of the deal with field share:<partner>"),
    ("share_high", "BIGINT", "share_low IS NULL OR share_low <= share_high",
     "Its stated share, high (= low for one figure)"),
    ("share_percent", "FLOAT", "share_percent BETWEEN 0 AND 100",
     "Its share as a percentage, when a source states it so (share_low/high then hold that "
     "percentage of the deal's amount)"),
    ("share_text", "TEXT", None, "The source's wording of the share"),
    ("share_usd_low", "BIGINT", None, "share_low in US dollars, at the deal's rate"),
    ("share_usd_high", "BIGINT", None, "share_high in US dollars"),
]  # fmt: skip
_TYPES = {"BIGINT": sa.BigInteger(), "FLOAT": sa.Float(), "TEXT": sa.Text()}
FIGURE_COMMENT = (
    "What the amount is: flow (money that moves), target or ceiling (shown apart, never "
    "added as a partner's money)"
)


def money_flows(dialect: str) -> str:
    """The ledger's SELECT (the view's columns are described in kzdiplo.views)."""
    agg = "string_agg" if dialect == "postgresql" else "group_concat"
    same_group = (
        "COALESCE({a}.country_id, 0) = COALESCE({b}.country_id, 0) "
        "AND COALESCE({a}.organization_id, 0) = COALESCE({b}.organization_id, 0)"
    )
    return f"""
WITH sided AS (  -- each party of a deal, under its partner group, on its side
    SELECT p.deal_id,
        COALESCE(p.country_id, o.country_id) AS country_id,
        CASE WHEN p.country_id IS NULL AND o.country_id IS NULL
            THEN p.organization_id END AS organization_id,
        COALESCE(c.code, o.slug) AS party,
        CASE WHEN p.role IN ({PAYERS}) THEN 'from'
            WHEN p.role IN ({RECIPIENTS}) THEN 'to' ELSE 'involved' END AS direction,
        CASE WHEN o.kind = 'company' THEN 1 ELSE 0 END AS company,
        p.share_low, p.share_high, p.share_usd_low, p.share_usd_high
    FROM parties p
    LEFT JOIN countries c ON c.id = p.country_id
    LEFT JOIN organizations o ON o.id = p.organization_id
    WHERE p.deal_id IS NOT NULL
),
grouped AS (  -- one row per deal, partner group and side
    SELECT deal_id, country_id, organization_id, direction,
        {agg}(party, ', ') AS parties, min(company) AS private, count(*) AS n,
        count(share_usd_low) AS shares, sum(share_low) AS share_low,
        sum(share_high) AS share_high, sum(share_usd_low) AS share_usd_low,
        sum(share_usd_high) AS share_usd_high
    FROM sided
    GROUP BY deal_id, country_id, organization_id, direction
),
flows AS (  -- a partner that moves a deal's money is not also listed as involved in it
    SELECT g.* FROM grouped g
    WHERE g.direction <> 'involved' OR NOT EXISTS (
        SELECT 1 FROM grouped m WHERE m.deal_id = g.deal_id AND m.direction <> 'involved'
            AND {same_group.format(a="m", b="g")})
),
width AS (  -- how many partners share each side of a deal
    SELECT deal_id, direction, count(*) AS partners FROM flows
    WHERE direction <> 'involved' GROUP BY deal_id, direction
),
counted_in AS (  -- deal -> the deals its money may be counted in
    SELECT id AS deal_id, parent_id AS other_id FROM deals WHERE parent_id IS NOT NULL
    UNION SELECT deal_id, overlaps_id FROM deal_overlaps
),
blocked AS (  -- partners another deal already credits (by_money) or involves
    SELECT ci.deal_id, COALESCE(g.country_id, 0) AS gc, COALESCE(g.organization_id, 0) AS go,
        max(CASE WHEN g.direction <> 'involved' THEN 1 ELSE 0 END) AS by_money,
        min(od.slug) AS other
    FROM counted_in ci
    JOIN flows g ON g.deal_id = ci.other_id
    JOIN deals od ON od.id = ci.other_id
    GROUP BY ci.deal_id, COALESCE(g.country_id, 0), COALESCE(g.organization_id, 0)
),
based AS (
    SELECT f.*, w.partners AS shared_with,
        CASE WHEN b.deal_id IS NOT NULL AND (f.direction = 'involved' OR b.by_money = 1)
            THEN b.other END AS counted_in
    FROM flows f
    LEFT JOIN width w ON w.deal_id = f.deal_id AND w.direction = f.direction
    LEFT JOIN blocked b ON b.deal_id = f.deal_id
        AND b.gc = COALESCE(f.country_id, 0) AND b.go = COALESCE(f.organization_id, 0)
),
ledger AS (
    SELECT x.*, d.slug AS deal, d.title AS deal_title, d.stage, d.figure, d.currency,
        d.approximate, d.amount_low AS deal_amount_low, d.amount_high AS deal_amount_high,
        d.usd_low AS deal_usd_low, d.usd_high AS deal_usd_high,
        CASE WHEN x.counted_in IS NOT NULL THEN 'counted_elsewhere'
            WHEN d.figure <> 'flow' THEN d.figure
            WHEN x.direction = 'involved' THEN 'involved'
            WHEN x.shares = x.n THEN 'stated_share'
            WHEN x.shared_with = 1 THEN 'whole'
            WHEN x.direction = 'to' THEN 'regional'
            ELSE 'shared' END AS basis
    FROM based x JOIN deals d ON d.id = x.deal_id
)
SELECT l.deal_id, l.deal, l.deal_title,
    COALESCE(c.code, o.slug) AS partner,
    CASE WHEN l.country_id IS NOT NULL THEN 'country' ELSE 'organization' END AS partner_type,
    COALESCE(c.name, o.name) AS partner_name,
    l.parties, l.direction, l.basis, l.private, l.stage, l.figure,
    CASE l.basis WHEN 'stated_share' THEN l.share_low WHEN 'whole' THEN l.deal_amount_low
        END AS amount_low,
    CASE l.basis WHEN 'stated_share' THEN l.share_high WHEN 'whole' THEN l.deal_amount_high
        END AS amount_high,
    l.currency,
    CASE l.basis WHEN 'stated_share' THEN l.share_usd_low WHEN 'whole' THEN l.deal_usd_low
        END AS usd_low,
    CASE l.basis WHEN 'stated_share' THEN l.share_usd_high WHEN 'whole' THEN l.deal_usd_high
        END AS usd_high,
    l.approximate, l.deal_usd_low, l.deal_usd_high,
    CASE WHEN l.direction <> 'involved' THEN l.shared_with END AS shared_with,
    l.counted_in, l.country_id, l.organization_id
FROM ledger l
LEFT JOIN countries c ON c.id = l.country_id
LEFT JOIN organizations o ON o.id = l.organization_id"""


def _party_columns(add: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, sql_type, check, comment in PARTY_COLUMNS if add else reversed(PARTY_COLUMNS):
        constraint = f"ck_parties_{name}"
        if not add:
            if check and not sqlite:
                op.drop_constraint(constraint, "parties", type_="check")
            op.execute(f"ALTER TABLE parties DROP COLUMN {name}")
            continue
        if sqlite:
            inline = f" CONSTRAINT {constraint} CHECK ({check})" if check else ""
            op.execute(f"ALTER TABLE parties ADD COLUMN {name} {sql_type}{inline}")
        else:
            op.add_column("parties", sa.Column(name, _TYPES[sql_type], comment=comment))
            if check:
                op.create_check_constraint(constraint, "parties", check)


def _figure(add: bool) -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    check = FIGURES
    if not add:
        if not sqlite:
            op.drop_constraint("ck_deals_figure", "deals", type_="check")
        op.execute("ALTER TABLE deals DROP COLUMN figure")
    elif sqlite:
        op.execute(
            "ALTER TABLE deals ADD COLUMN figure VARCHAR(10) DEFAULT 'flow' NOT NULL "
            f"CONSTRAINT ck_deals_figure CHECK ({check})"
        )
    else:
        op.add_column(
            "deals",
            sa.Column("figure", sa.String(10), server_default="flow", nullable=False,
                      comment=FIGURE_COMMENT),
        )  # fmt: skip
        op.create_check_constraint("ck_deals_figure", "deals", check)


_CACHE = [  # name, type, comment (as in kzdiplo.models.PartnerTotalsCache)
    ("stage", sa.String(length=20), "The records' stage"),
    ("agreement_records", sa.Integer(), "Agreement rows (packages count once)"),
    ("agreements", sa.Integer(), "Agreements, packages counted by their size"),
    ("deals", sa.Integer(), "Deals involving the partner, in any role"),
    ("not_added", sa.Integer(), "Of those, parts and overlapping deals: counted through another deal"),
    ("from_low", sa.BigInteger(), "money_flows: USD from the partner, low"),
    ("from_high", sa.BigInteger(), "The same, high"),
    ("private_low", sa.BigInteger(), "Of from_low, what its companies pay (private money)"),
    ("private_high", sa.BigInteger(), "The same, high"),
    ("to_low", sa.BigInteger(), "money_flows: USD to the partner, low"),
    ("to_high", sa.BigInteger(), "The same, high"),
    ("shared_deals", sa.Integer(), "Deals it pays with other payers, its share not stated (basis shared)"),
    ("shared_low", sa.BigInteger(), "Those deals' whole amounts, USD low"),
    ("shared_high", sa.BigInteger(), "The same, high"),
    ("regional_deals", sa.Integer(), "Deals it receives with other recipients, its share not stated (basis regional)"),
    ("regional_low", sa.BigInteger(), "Those deals' whole amounts, USD low"),
    ("regional_high", sa.BigInteger(), "The same, high"),
    ("target_deals", sa.Integer(), "Targets and ceilings it takes part in"),
    ("target_low", sa.BigInteger(), "Their whole amounts, USD low"),
    ("target_high", sa.BigInteger(), "The same, high"),
    ("involved_deals", sa.Integer(), "Priced deals it takes part in with no money-moving role (direction not stated)"),
    ("involved_low", sa.BigInteger(), "Their whole amounts, USD low"),
    ("involved_high", sa.BigInteger(), "The same, high"),
    ("approximate", sa.Integer(), "1 when any amount added is approximate"),
    ("unpriced", sa.Integer(), "Deals moving money with no stated amount"),
]  # fmt: skip
_CACHE_COMMENT = (
    "Derived: the partners command's totals per partner and stage, summed from the "
    "money_flows view and the agreements' parties, rebuilt by every load and seed; read "
    "only while derived_state says it is fresh"
)


def _cache() -> None:
    """The partners cache with the ledger's columns, created empty and stale."""
    op.drop_table("partner_totals_cache")
    op.create_table(
        "partner_totals_cache",
        sa.Column("id", sa.Integer(), nullable=False, comment="Row id (the slug is the stable key)"),
        sa.Column("gc", sa.Integer(), nullable=True, comment="The country or bloc (with its organisations)"),
        sa.Column("go", sa.Integer(), nullable=True, comment="An organisation without a home country"),
        *[sa.Column(name, kind, comment=comment,
                    nullable=name == "stage" or isinstance(kind, sa.BigInteger))
          for name, kind, comment in _CACHE],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_totals_cache")),
        comment=_CACHE_COMMENT,
    )  # fmt: skip
    op.execute("UPDATE derived_state SET stale = true WHERE name = 'partner_totals'")


def upgrade() -> None:
    _party_columns(add=True)
    _figure(add=True)
    op.execute(f"CREATE VIEW money_flows AS {money_flows(op.get_bind().dialect.name)}")
    _cache()


# 0011's cache, for the downgrade (0009 made it; frozen here as a migration must be).
_OLD_CACHE = [
    ("gc", sa.Integer(), "The country or bloc (with its organisations)"),
    ("go", sa.Integer(), "An organisation without a home country"),
    ("stage", sa.String(length=20), "The records' stage"),
    *[(n, sa.Integer(), "") for n in ("agreement_records", "agreements", "deals", "not_added")],
    ("from_low", sa.BigInteger(), ""), ("from_high", sa.BigInteger(), ""),
    ("shared_deals", sa.Integer(), ""), ("shared_to_deals", sa.Integer(), ""),
    ("to_low", sa.BigInteger(), ""), ("to_high", sa.BigInteger(), ""),
    *[(n, sa.Integer(), "") for n in ("approximate", "unpriced", "undirected")],
]  # fmt: skip


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS money_flows")
    _figure(add=False)
    _party_columns(add=False)
    op.drop_table("partner_totals_cache")
    op.create_table(
        "partner_totals_cache",
        sa.Column("id", sa.Integer(), nullable=False),
        *[sa.Column(name, kind, comment=comment or None,
                    nullable=name in ("gc", "go", "stage") or isinstance(kind, sa.BigInteger))
          for name, kind, comment in _OLD_CACHE],
        sa.PrimaryKeyConstraint("id", name=op.f("pk_partner_totals_cache")),
    )  # fmt: skip
    op.execute("UPDATE derived_state SET stale = true WHERE name = 'partner_totals'")
