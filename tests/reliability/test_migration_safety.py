"""Migrations lose nothing: a batch rebuild of a parent table keeps its ON DELETE CASCADE
children (foreign keys off for the migration, foreign_key_check before commit)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from alembic import command

from kzdiplo.config import sqlite_url
from kzdiplo.migrate import alembic_config
from kzdiplo.paths import migrations_dir
from kzdiplo.reader import HEAD
from tests.cli_helpers import run

REBUILD = f'''
"""Test only: rebuild agreements, the parent of parties, citations and record_sectors."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{HEAD}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agreements", recreate="always") as batch:
        batch.alter_column("notes", existing_type=sa.Text(), nullable=True)


def downgrade() -> None:
    pass
'''


def _children(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return {
            table: conn.execute(
                f"SELECT count(*) FROM {table} WHERE agreement_id IS NOT NULL"
            ).fetchone()[0]
            for table in ("parties", "citations", "record_sectors", "deals", "events")
        }


def test_batch_rebuild_keeps_cascade_children(seeded_db: Path, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(migrations_dir(), scripts)
    (scripts / "versions" / "9001_rebuild_agreements.py").write_text(REBUILD)
    config = alembic_config(sqlite_url(seeded_db))
    config.set_main_option("script_location", str(scripts))
    before = _children(seeded_db)
    assert before["parties"] > 0 and before["citations"] > 0
    command.upgrade(config, "9001")
    assert _children(seeded_db) == before
    with sqlite3.connect(seeded_db) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 0  # a fresh connection
    # The rebuild dropped the search triggers on agreements: db check says so (the
    # revision is set back to one this kzdiplo knows, as a newer kzdiplo would have it).
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (HEAD,))
    result = run(seeded_db, "db", "check")
    assert result.exit_code == 1 and "search-index triggers exist" in result.stdout
