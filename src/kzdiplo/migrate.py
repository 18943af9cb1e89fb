"""Run Alembic from code. Imported only by the commands that migrate (Alembic is slow to import)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from kzdiplo.db import make_engine
from kzdiplo.paths import migrations_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def alembic_config(url: str) -> Config:
    """An Alembic Config for ``url`` that needs no alembic.ini."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolates '%': escape it (URL-encoded passwords contain it).
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    """The newest revision the package ships."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at ``url`` up to ``revision``; SQLite files switch to WAL.
    At the head revision, browse tables that are stale (never built since migration
    0017, or written around) are rebuilt, so serve can open the file as it is."""
    command.upgrade(alembic_config(url), revision)
    engine = make_engine(url)
    try:
        if revision == "head" and engine.dialect.name == "sqlite":
            _refresh_browse(engine)  # PostgreSQL has them empty: serve reads SQLite
        if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
            raw = engine.raw_connection()  # outside any transaction, as this PRAGMA needs
            try:
                raw.driver_connection.execute("PRAGMA journal_mode = WAL")  # type: ignore[union-attr]  # None once closed only
            finally:
                raw.close()
    finally:
        engine.dispose()


def _refresh_browse(engine: Engine) -> None:
    from kzdiplo.browse import BROWSE_STATE, rebuild

    with engine.begin() as conn:
        state = conn.exec_driver_sql(
            "SELECT stale FROM derived_state WHERE name = ?", (BROWSE_STATE,)
        ).scalar()
        if state:
            rebuild(conn)


def downgrade(url: str, revision: str) -> None:
    """Migrate the database at ``url`` down to ``revision`` (``base`` empties it)."""
    command.downgrade(alembic_config(url), revision)
