"""Alembic environment for kzdiplo.

The URL comes from the Config (set by ``kzdiplo.migrate``), ``-x url=...``, or
kzdiplo's own configuration. On SQLite, for the migration:

- foreign keys are off (set outside the transaction), so a batch rebuild of a parent
  table does not cascade-delete its children; ``PRAGMA foreign_key_check`` must pass
  before the commit;
- ``legacy_alter_table`` is on, so the batch rebuild's final RENAME does not trip over
  the views that name the table (SQLite >= 3.26 re-checks every view on a rename).

A rebuild still drops the table's own triggers and expression indexes: a migration that
rebuilds a table must recreate its search-index and derived-state triggers and its
``*_date_order`` index (``kzdiplo db check`` reports missing ones).

On PostgreSQL, after the migrations of a run, the noun views (migration 0010) are brought
up to their tables' columns (``_refresh_noun_views``), so a migration that adds a column
needs no step of its own for them.
"""

from __future__ import annotations

import warnings

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

from kzdiplo.config import resolve
from kzdiplo.db import make_engine
from kzdiplo.models import Base

target_metadata = Base.metadata
# SQLAlchemy cannot reflect the expression indexes of migration 0005; they are left out
# of the comparison on purpose (include_name), so the warning says nothing new.
warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based")


def _url() -> str:
    config = context.config
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or resolve().url
    )


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """Leave out what the models do not describe: the FTS5 index and its shadow tables,
    and the expression indexes for sorting (``*_order``, migration 0005)."""
    if name is None:
        return True
    if type_ == "table" and name.startswith("search_index"):
        return False
    return not (type_ == "index" and name.endswith("_order"))


# The views that are a whole table under the CLI's noun (migration 0010: SELECT *).
NOUN_VIEWS = {"projects": "infrastructure_projects", "deposits": "mineral_deposits"}
_COLUMNS_OF = (
    "SELECT column_name FROM information_schema.columns "
    "WHERE table_schema = current_schema() AND table_name = %(name)s ORDER BY ordinal_position"
)


def _columns(connection: Connection, name: str) -> list[str]:
    return [r[0] for r in connection.exec_driver_sql(_COLUMNS_OF, {"name": name})]


def _refresh_noun_views(connection: Connection) -> None:
    """PostgreSQL expands a view's ``SELECT *`` once, when the view is made, so a column
    that a later migration adds to the table would never reach it (SQLite expands it at
    each query). A noun view whose columns are not its table's is made again from the
    same ``SELECT *``: CREATE OR REPLACE keeps its grants, and may add columns only at
    the end, which is where ADD COLUMN puts them (anything else fails the migration)."""
    if connection.dialect.name != "postgresql":
        return
    for view, table in NOUN_VIEWS.items():
        have = _columns(connection, view)
        if have and have != _columns(connection, table):
            connection.exec_driver_sql(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {table}")


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()


def _driver_pragma(connection: Connection, pragma: str) -> None:
    if connection.in_transaction():
        connection.commit()
    connection.connection.driver_connection.execute(pragma)  # type: ignore[union-attr]


def _run(connection: Connection) -> None:
    is_sqlite = connection.dialect.name == "sqlite"
    if is_sqlite:
        # PRAGMA foreign_keys is a no-op inside a transaction: set it on the driver
        # connection, outside any transaction, before Alembic begins its own.
        _driver_pragma(connection, "PRAGMA foreign_keys = OFF")
        _driver_pragma(connection, "PRAGMA legacy_alter_table = ON")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=is_sqlite,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
        _refresh_noun_views(connection)
        if is_sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left dangling foreign keys: {broken[:5]}")
    if is_sqlite:
        _driver_pragma(connection, "PRAGMA legacy_alter_table = OFF")
        _driver_pragma(connection, "PRAGMA foreign_keys = ON")


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
