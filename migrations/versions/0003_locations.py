"""Coordinates on deposits and projects (latitude, longitude, precision).

SQLite adds each column with its own CHECK through ``ALTER TABLE ... ADD COLUMN``, so
no table is rebuilt (a rebuild would drop the search triggers and trip over the views).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("mineral_deposits", "infrastructure_projects")
PRECISIONS = "'exact', 'site', 'settlement', 'district', 'region'"
COLUMNS = [  # name, SQL type, check, comment
    ("latitude", "FLOAT", "latitude BETWEEN -90 AND 90",
     "WGS 84 latitude, when a source gives coordinates"),
    ("longitude", "FLOAT", "longitude BETWEEN -180 AND 180",
     "WGS 84 longitude, when a source gives coordinates"),
    ("location_precision", "VARCHAR(12)",
     f"location_precision IS NULL OR location_precision IN ({PRECISIONS})",
     "How precise the coordinates are: exact, site, settlement, district, region"),
]  # fmt: skip


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for name, sql_type, check, comment in COLUMNS:
            constraint = f"ck_{table}_{name}"
            if sqlite:
                op.execute(
                    f"ALTER TABLE {table} ADD COLUMN {name} {sql_type} "
                    f"CONSTRAINT {constraint} CHECK ({check})"
                )
            else:
                kind = sa.Float() if sql_type == "FLOAT" else sa.String(length=12)
                op.add_column(table, sa.Column(name, kind, nullable=True, comment=comment))
                op.create_check_constraint(constraint, table, check)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        for name, *_ in reversed(COLUMNS):
            if sqlite:
                op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
            else:
                op.drop_constraint(f"ck_{table}_{name}", table, type_="check")
                op.drop_column(table, name)
