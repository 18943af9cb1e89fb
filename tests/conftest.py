"""Shared fixtures: a migrated and seeded SQLite file, copied fresh for each test."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from kzdiplo.config import sqlite_url
from kzdiplo.db import make_engine
from kzdiplo.migrate import upgrade
from kzdiplo.seed import seed


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file so the file alone is the whole database."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "kzdiplo.db"
    upgrade(sqlite_url(path))
    engine = make_engine(sqlite_url(path))
    seed(engine)
    engine.dispose()
    checkpoint(path)
    return path


@pytest.fixture
def seeded_db(seeded_template: Path, tmp_path: Path) -> Path:
    """A private copy of the seeded database."""
    path = tmp_path / "kzdiplo.db"
    shutil.copyfile(seeded_template, path)
    return path


@pytest.fixture
def engine(seeded_db: Path) -> Iterator[Engine]:
    engine = make_engine(sqlite_url(seeded_db))
    yield engine
    engine.dispose()


@pytest.fixture
def db(seeded_db: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the seeded copy, with foreign keys on."""
    conn = sqlite3.connect(seeded_db)
    conn.execute("PRAGMA foreign_keys = ON")
    yield conn
    conn.close()


def snapshot(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table, for 'nothing changed' checks. The full-text index is
    compared by its documents, not by its shadow tables (their layout depends on history)."""
    with sqlite3.connect(path) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'search_index_%'"
            )
        ]
        return {
            t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables
        }


def seeded_agreements() -> int:
    """How many agreements the seed files define (tests that check a copy or a round
    trip kept every row compare with this, not with a number that the data outgrows)."""
    from kzdiplo.loader import read_files
    from kzdiplo.seed import seed_files

    return len(read_files(seed_files()).items["agreements"])
