"""The models' DDL is what the migrations build, clause for clause, and every link
column is one that its table's exactly-one CHECK counts.

``alembic check`` (tests/test_migrations.py) compares columns, types, foreign keys and
indexes, but not CHECK constraints, server defaults or inline REFERENCES on SQLite: a
CHECK changed in the models without a migration passes it, and fails here.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from pathlib import Path

from sqlalchemy import CheckConstraint, Table, create_engine

from kzdiplo.config import sqlite_url
from kzdiplo.migrate import upgrade
from kzdiplo.models import RECORD_COLUMNS, SUBJECT_COLUMNS, Base

# Where the migrated schema says the same thing otherwise, as migration 0009 explains:
# SQLite's ADD COLUMN takes an inline, unnamed REFERENCES, and a RENAME COLUMN keeps the
# CHECK's name. (models' clause, migrations' clause), per table.
KNOWN = {
    "deals": [
        ("CONSTRAINT fk_deals_event_id_events FOREIGN KEY(event_id) REFERENCES events (id)", None),
        ("event_id INTEGER", "event_id INTEGER REFERENCES events (id)"),
    ],
    "citations": [
        (
            "CONSTRAINT ck_citations_text CHECK (length(text) > 0)",
            "CONSTRAINT ck_citations_quote CHECK (length(text) > 0)",
        )
    ],
}


def _clauses(create_table: str) -> Counter[str]:
    """The column and constraint clauses of a CREATE TABLE, in any order (ADD COLUMN
    appends its columns to the last line)."""
    body = create_table[create_table.index("(") + 1 : create_table.rindex(")")]
    clauses, depth, start = [], 0, 0
    for i, char in enumerate(body + ","):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            clauses.append(" ".join(body[start:i].split()))
            start = i + 1
    return Counter(clause for clause in clauses if clause)


def _schema(path: Path) -> dict[tuple[str, str], str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master "
            "WHERE type IN ('table', 'index') AND sql IS NOT NULL"
        ).fetchall()
    finally:
        conn.close()
    return {(kind, name): sql.replace('"', "") for kind, name, sql in rows}


def test_models_create_what_the_migrations_create(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path / "models.db"))
    Base.metadata.create_all(engine)
    engine.dispose()
    upgrade(sqlite_url(tmp_path / "migrated.db"))
    models, migrated = _schema(tmp_path / "models.db"), _schema(tmp_path / "migrated.db")
    assert set(models) <= set(migrated)  # migrations add search tables and sort indexes
    for (kind, name), sql in models.items():
        if kind == "index":
            assert migrated[kind, name] == sql
            continue
        expected = _clauses(sql)
        for from_models, from_migrations in KNOWN.get(name, []):
            expected[from_models] -= 1
            if from_migrations:
                expected[from_migrations] += 1
        assert _clauses(migrated[kind, name]) == +expected, name


def _exactly_one_columns(table: Table) -> set[str]:
    """The columns that the table's exactly-one CHECKs count."""
    return {
        column
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
        and str(constraint.name).endswith(("_one_record", "_one_subject", "_one_partner"))
        for column in re.findall(r"CASE WHEN (\w+) IS NULL", str(constraint.sqltext))
    }


def test_every_link_column_is_counted_by_an_exactly_one_check() -> None:
    """A record link added to a mixin but not to RECORD_COLUMNS (or the reverse) would
    leave rows that link to two records, or none, unchecked."""
    tables = Base.metadata.tables
    for name, links in [
        ("parties", SUBJECT_COLUMNS),
        ("record_sectors", RECORD_COLUMNS),
        ("citations", SUBJECT_COLUMNS),
        ("discrepancies", SUBJECT_COLUMNS),
    ]:
        table = tables[name]
        nullable_links = {
            column.name: next(iter(column.foreign_keys)).column.table.name
            for column in table.columns
            if column.foreign_keys and column.nullable
        }
        assert nullable_links == links, name
        assert _exactly_one_columns(table) == set(links), name
