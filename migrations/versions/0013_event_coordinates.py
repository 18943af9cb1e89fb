"""Coordinates on events: latitude, longitude and their precision, as deposits and
projects have had since 0003, so that a visit or a summit is a point on the map.

SQLite adds each column with its own CHECK through ``ALTER TABLE ... ADD COLUMN``, so
``events`` is not rebuilt and keeps its search triggers. The precision CHECK is an OR
chain, the form migration 0007 gave every vocabulary CHECK (``models._in``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "events"
PRECISIONS = ("exact", "site", "settlement", "district", "region")
CHAIN = " OR ".join(f"location_precision = '{p}'" for p in PRECISIONS)
COLUMNS = [  # name, SQLAlchemy type, check, comment (as on deposits and projects)
    ("latitude", sa.Float(), "latitude BETWEEN -90 AND 90",
     "WGS 84 latitude, when a source gives coordinates"),
    ("longitude", sa.Float(), "longitude BETWEEN -180 AND 180",
     "WGS 84 longitude, when a source gives coordinates"),
    ("location_precision", sa.String(length=12),
     f"location_precision IS NULL OR ({CHAIN})",
     "How precise the coordinates are: " + ", ".join(PRECISIONS)),
]  # fmt: skip


def upgrade() -> None:
    bind = op.get_bind()
    for name, kind, check, comment in COLUMNS:
        constraint = f"ck_{TABLE}_{name}"
        if bind.dialect.name == "sqlite":
            sql_type = kind.compile(dialect=bind.dialect)
            op.execute(
                f"ALTER TABLE {TABLE} ADD COLUMN {name} {sql_type} "
                f"CONSTRAINT {constraint} CHECK ({check})"
            )
        else:
            op.add_column(TABLE, sa.Column(name, kind, nullable=True, comment=comment))
            op.create_check_constraint(constraint, TABLE, check)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for name, *_ in reversed(COLUMNS):
        if sqlite:
            op.execute(f"ALTER TABLE {TABLE} DROP COLUMN {name}")
        else:
            op.drop_constraint(f"ck_{TABLE}_{name}", TABLE, type_="check")
            op.drop_column(TABLE, name)
