"""A project's cost in US dollars, at a named rate, as a deal's amount has had since 0001.

- ``infrastructure_projects`` gets ``cost_usd_low``, ``cost_usd_high``, ``cost_usd_rate``,
  ``cost_usd_rate_date`` and ``cost_usd_rate_source``: the columns of ``deals.usd_*``,
  for the cost. SQLite adds each with ``ALTER TABLE ... ADD COLUMN`` (the table keeps its
  search triggers); the CHECK that low <= high is on ``cost_usd_high``, added after low.
- The rows already there get their figures here, not only at the next load: a database
  brought up to this revision shows what a fresh one shows. The rate's day follows the
  loader's rule (kept here as it stood at this revision): the end of the completion
  date, else of the start date, else the publication day of a source cited for the cost,
  else of the project's first source that has one. The conversion is kzdiplo.money's
  (the ECB's reference rates, or a rate a source states in seeds/rates/usd-rates.yaml),
  the code the loader converts with. A cost in a currency with no rate near its day
  (which a load would refuse) stays without a figure.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "infrastructure_projects"
# Migration 0010's SELECT * of the table: PostgreSQL drops a column only with it gone.
VIEW = "projects"
COLUMNS = [  # name, SQLAlchemy type, check (named ck_<table>_cost_usd), comment (kzdiplo.models)
    ("cost_usd_low", sa.BigInteger(), None, "cost_low in US dollars"),
    ("cost_usd_high", sa.BigInteger(),
     "cost_usd_low IS NULL OR (cost_usd_low >= 0 AND cost_usd_low <= cost_usd_high)",
     "cost_high in US dollars"),
    ("cost_usd_rate", sa.Float(), None, "USD per unit of cost_currency used"),
    ("cost_usd_rate_date", sa.Date(), None,
     "Day of that rate, the one nearest the end of the completion date (else of the start "
     "date, else the publication day of the source cited for the cost)"),
    ("cost_usd_rate_source", sa.Text(), None,
     "Where the rate comes from (ECB, or a rate a source states)"),
]  # fmt: skip
CONSTRAINT = f"ck_{TABLE}_cost_usd"

PROJECTS = sa.text(
    f"SELECT id, cost_low, cost_high, cost_currency, completion_end, started_end "
    f"FROM {TABLE} WHERE cost_low IS NOT NULL ORDER BY id"
)
# The publication day of a source cited for the cost, else of its first source with one.
PUBLISHED = sa.text(
    "SELECT s.published FROM citations c JOIN sources s ON s.id = c.source_id "
    "WHERE c.project_id = :id AND s.published IS NOT NULL "
    "ORDER BY CASE WHEN c.field = 'cost' THEN 0 ELSE 1 END, c.id LIMIT 1"
)
FILL = sa.text(
    f"UPDATE {TABLE} SET cost_usd_low = :low, cost_usd_high = :high, cost_usd_rate = :rate, "
    "cost_usd_rate_date = :rate_date, cost_usd_rate_source = :rate_source WHERE id = :id"
)


def _day(value: Any) -> dt.date | None:
    """A date column's value (SQLite gives the ISO text, PostgreSQL a date)."""
    return None if value is None else dt.date.fromisoformat(str(value))


def _fill(bind: sa.Connection) -> None:
    """Each project with a cost gets its US dollar figure, as the loader would write it."""
    from kzdiplo.money import to_usd

    for row in bind.execute(PROJECTS).mappings().all():
        day = _day(row["completion_end"] or row["started_end"])
        if day is None:
            day = _day(bind.execute(PUBLISHED, {"id": row["id"]}).scalar())
        try:
            usd = to_usd(row["cost_low"], row["cost_high"], row["cost_currency"], day)
        except ValueError:
            continue  # no rate near its day: a load of it is refused too
        bind.execute(
            FILL,
            {"id": row["id"], "low": usd.low, "high": usd.high, "rate": usd.rate,
             "rate_date": usd.rate_date, "rate_source": usd.rate_source},
        )  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    for name, kind, check, comment in COLUMNS:
        if bind.dialect.name == "sqlite":
            sql_type = kind.compile(dialect=bind.dialect)
            constraint = f" CONSTRAINT {CONSTRAINT} CHECK ({check})" if check else ""
            op.execute(f"ALTER TABLE {TABLE} ADD COLUMN {name} {sql_type}{constraint}")
        else:
            op.add_column(TABLE, sa.Column(name, kind, nullable=True, comment=comment))
            if check:
                op.create_check_constraint(CONSTRAINT, TABLE, check)
    _fill(bind)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:  # the view depends on every column of the table
        op.execute(f"DROP VIEW IF EXISTS {VIEW}")
    for name, _, check, _ in reversed(COLUMNS):
        if check and postgresql:
            op.drop_constraint(CONSTRAINT, TABLE, type_="check")
        op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {name}")
    if postgresql:
        op.execute(f"CREATE VIEW {VIEW} AS SELECT * FROM {TABLE}")
