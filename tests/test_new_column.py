"""The probe of docs/architecture.md's promise: one nullable column added to a model and a
migration, and nothing else, reaches listing JSON, ``show`` and the JSON export, on
SQLite and on PostgreSQL (and, on a table with a noun view, that view).

It runs a copy of the package and its migrations with just those two edits, as a real
process (``python -m kzdiplo`` with the copy first on PYTHONPATH), on a copy of the
seeded database that the copy's ``db upgrade`` migrates."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.paths import migrations_dir
from kzdiplo.reader import HEAD
from tests.cli_helpers import ENV
from tests.test_postgres import ADMIN_URL, pg_template, pg_url  # noqa: F401 (fixtures)

# Each case copies the package and runs seven CLI processes.
pytestmark = pytest.mark.slow

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "kzdiplo"
COLUMN = "probe_note"
VALUE = "probed by tests/test_new_column.py"
MODEL_LINE = f'    {COLUMN}: Mapped[str | None] = mapped_column(comment="A probe")\n'
MIGRATION = '''"""Test only: one nullable column."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("{table}", sa.Column("{column}", sa.Text(), nullable=True, comment="A probe"))


def downgrade() -> None:
    with op.batch_alter_table("{table}") as batch:
        batch.drop_column("{column}")
'''
# table -> (noun, listing command, the noun view of the table if it has one)
TABLES = {
    "deals": ("deal", "deals", None),
    "infrastructure_projects": ("project", "projects", "projects"),
}


def _checkout(root: Path, table: str) -> Path:
    """A copy of the package and migrations, laid out as a checkout (paths.py finds the
    migrations beside src/), with the column in the model and a migration that adds it."""
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(PACKAGE, root / "src" / "kzdiplo", ignore=ignore)
    shutil.copytree(migrations_dir(), root / "migrations", ignore=ignore)
    models = root / "src" / "kzdiplo" / "models.py"
    anchor = f'    __tablename__ = "{table}"\n'
    text = models.read_text(encoding="utf-8")
    assert anchor in text
    models.write_text(text.replace(anchor, anchor + MODEL_LINE), encoding="utf-8")
    script = MIGRATION.format(head=HEAD, table=table, column=COLUMN)
    (root / "migrations" / "versions" / "9001_probe.py").write_text(script, encoding="utf-8")
    return root / "src"


def _runner(src: Path, env: dict[str, str]) -> Callable[..., Any]:
    full = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
    full |= ENV | env | {"PYTHONPATH": str(src)}

    def run(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "-m", "kzdiplo", *args], capture_output=True, env=full, timeout=120
        )
        assert result.returncode == 0, (args, result.stderr.decode())
        return result.stdout.decode()

    where = subprocess.run(
        [sys.executable, "-c", "import kzdiplo; print(kzdiplo.__file__)"],
        capture_output=True, env=full, text=True, check=True,
    ).stdout  # fmt: skip
    assert where.startswith(str(src)), where  # the copy runs, not the installed package
    return run


def _probe(table: str, run: Callable[..., str], sql: Callable[[str], list[Any]], tmp: Path) -> None:
    """Upgrade with the copy, give one record the column's value, and find it in each
    output (the other records have it as null: the column is there for every record)."""
    noun, listing, view = TABLES[table]
    run("db", "upgrade")
    ((slug,),) = sql(f"UPDATE {table} SET {COLUMN} = '{VALUE}' WHERE id = (SELECT min(id) FROM "
                     f"{table}) RETURNING slug")  # fmt: skip
    listed = json.loads(run(listing, "--limit", "0", "--format", "json"))
    assert {r["slug"]: r[COLUMN] for r in listed if r[COLUMN] is not None} == {slug: VALUE}
    assert json.loads(run("show", noun, slug, "--format", "json"))[COLUMN] == VALUE
    shown = run("show", noun, slug)
    assert COLUMN.replace("_", " ") in shown and VALUE in shown  # show labels "probe note"
    run("export", "--format", "json", "--out", str(tmp / "export"))
    exported = json.loads((tmp / "export" / "kzdiplo.json").read_text(encoding="utf-8"))
    assert {r["slug"]: r.get(COLUMN) for r in exported[listing] if r.get(COLUMN)} == {slug: VALUE}
    if view:  # the noun view has the column too (on PostgreSQL: migrations/env.py)
        assert sql(f"SELECT slug, {COLUMN} FROM {view} WHERE {COLUMN} IS NOT NULL") == [
            (slug, VALUE)
        ]


@pytest.mark.parametrize("table", TABLES)
def test_a_new_column_reaches_every_output_on_sqlite(
    table: str, seeded_db: Path, tmp_path: Path
) -> None:
    run = _runner(_checkout(tmp_path / "checkout", table), {})

    def sql(statement: str) -> list[Any]:
        with sqlite3.connect(seeded_db) as conn:
            return conn.execute(statement).fetchall()

    _probe(table, lambda *args: run("--db", str(seeded_db), *args), sql, tmp_path)


@pytest.mark.skipif(not ADMIN_URL, reason="set KZDIPLO_TEST_POSTGRES_URL to run")
@pytest.mark.parametrize("table", TABLES)
def test_a_new_column_reaches_every_output_on_postgresql(
    table: str,
    pg_url: str,  # noqa: F811 (the fixture imported above)
    tmp_path: Path,
) -> None:
    import sqlalchemy as sa

    run = _runner(_checkout(tmp_path / "checkout", table), {"KZDIPLO_DATABASE_URL": pg_url})

    def sql(statement: str) -> list[Any]:
        engine = sa.create_engine(pg_url)
        try:
            with engine.begin() as conn:
                return [tuple(row) for row in conn.exec_driver_sql(statement)]
        finally:
            engine.dispose()

    _probe(table, run, sql, tmp_path)
