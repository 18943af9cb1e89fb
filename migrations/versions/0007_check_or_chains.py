"""CHECK constraints list allowed values as OR chains, not IN lists (SQLite).

SQLite evaluates ``kind IN ('a', 'b', ...)`` in a CHECK by building a small temporary
index of the list, again for every row inserted: on ``parties`` the 16-role list alone
halved the bulk insert rate (docs/benchmarks.md). ``(kind = 'a' OR kind = 'b' ...)``
means the same, NULL included, and costs little.

SQLite cannot alter a constraint, so each table holding such a list is rebuilt the way
SQLite's documentation lays out: create the new table, copy the rows, drop the old one,
rename, recreate its indexes and triggers from their stored SQL. Only the lists change
(and SQLite quotes the table's name on the rename). migrations/env.py runs this with
foreign keys off and ``legacy_alter_table`` on (views, triggers and foreign keys of
other tables keep naming the table); ``PRAGMA foreign_key_check`` must find nothing
afterwards. PostgreSQL plans an IN list as ``= ANY (array)`` at no such cost: nothing
changes there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IN_LIST = re.compile(r"\b(\w+) IN \(('[^']*'(?:, '[^']*')+)\)")
OR_CHAIN = re.compile(r"\((\w+) = ('[^']*'(?: OR \1 = '[^']*')+)\)")


def to_or_chains(sql: str) -> str:
    """``kind IN ('a', 'b')`` -> ``(kind = 'a' OR kind = 'b')`` (values hold no quotes
    or commas: they are kzdiplo's own vocabularies)."""
    return IN_LIST.sub(
        lambda m: "(" + " OR ".join(f"{m[1]} = {v}" for v in m[2].split(", ")) + ")", sql
    )


def to_in_lists(sql: str) -> str:
    """The reverse of :func:`to_or_chains`."""
    return OR_CHAIN.sub(lambda m: f"{m[1]} IN ({m[2].replace(f' OR {m[1]} = ', ', ')})", sql)


def _rebuild_all(rewrite: Callable[[str], str]) -> None:
    conn = op.get_bind()
    tables = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND sql LIKE '%CHECK%' "
        "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'search_index%' ORDER BY name"
    ).fetchall()
    for table, sql in tables:
        new_sql = rewrite(sql)
        if new_sql == sql:
            continue
        extras = conn.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
            "AND sql IS NOT NULL ORDER BY rowid",
            (table,),
        ).fetchall()
        staging = f"_kzdiplo_rebuild_{table}"
        header = re.compile(rf'^CREATE TABLE "?{re.escape(table)}"?')
        assert header.match(new_sql), f"unexpected definition of {table}"
        op.execute(header.sub(f'CREATE TABLE "{staging}"', new_sql, count=1))
        op.execute(f'INSERT INTO "{staging}" SELECT * FROM "{table}"')
        op.execute(f'DROP TABLE "{table}"')
        op.execute(f'ALTER TABLE "{staging}" RENAME TO "{table}"')
        for (extra,) in extras:
            op.execute(extra)
    problems = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign keys broken by the rebuild: {problems[:5]}")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_all(to_or_chains)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_all(to_in_lists)
