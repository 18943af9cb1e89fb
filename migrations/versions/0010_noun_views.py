"""The CLI's nouns as SQL names: ``projects`` and ``deposits`` views.

``kzdiplo projects`` and ``kzdiplo deposits`` list the tables ``infrastructure_projects``
and ``mineral_deposits``; someone who learned the nouns from the CLI types
``SELECT * FROM projects`` first. Each view is the whole table under the noun's name,
so it has the same columns and join keys (``id``, ``slug``) and costs nothing to keep.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NOUN_VIEWS = {"projects": "infrastructure_projects", "deposits": "mineral_deposits"}


def upgrade() -> None:
    for view, table in NOUN_VIEWS.items():
        op.execute(f"CREATE VIEW {view} AS SELECT * FROM {table}")


def downgrade() -> None:
    for view in NOUN_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
