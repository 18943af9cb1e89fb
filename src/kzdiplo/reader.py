"""Read connections: plain parametrised SQL, the same text on every backend.

SQLite files are read through the standard library's ``sqlite3`` in read-only mode
(fast to start: no SQLAlchemy import); any other URL goes through SQLAlchemy ``text()``.
Queries use ``:name`` parameters, which both accept.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from kzdiplo.db import BUSY_TIMEOUT_MS, sqlite_pragmas
from kzdiplo.errors import KzError, UsageError
from kzdiplo.files import sqlite_read_uri, sqlite_uri

# The schema revisions this kzdiplo knows, oldest first; the last is the head.
# A test keeps this in step with migrations/versions.
REVISIONS = (
    "0001",
    "0002",
    "0003",
    "0004",
    "0005",
    "0006",
    "0007",
    "0008",
    "0009",
    "0010",
    "0011",
    "0012",
    "0013",
    "0014",
)
HEAD = REVISIONS[-1]


class Reader:
    """A read-only connection that returns rows as dicts."""

    dialect: str

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        columns, rows = self.stream(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


def connect_sqlite(path: Path, *, readonly: bool = True) -> sqlite3.Connection:
    """A stdlib connection to ``path`` with kzdiplo's PRAGMAs; read-only by default."""
    uri = sqlite_read_uri(path.resolve()) if readonly else sqlite_uri(path.resolve(), "rw")
    conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    sqlite_pragmas(conn)
    return conn


class SqliteReader(Reader):
    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = connect_sqlite(path)

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        cursor = self.conn.execute(sql, params or {})
        columns = [d[0] for d in cursor.description or ()]
        return columns, iter(cursor)

    def close(self) -> None:
        self.conn.close()


class SqlAlchemyReader(Reader):
    """Any other SQLAlchemy URL (PostgreSQL...)."""

    def __init__(self, url: str) -> None:
        from kzdiplo.db import make_engine

        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.conn = self.engine.connect()

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        from sqlalchemy import text

        result = self.conn.execute(text(sql), params or {})
        return list(result.keys()), iter(result)

    def close(self) -> None:
        self.conn.close()
        self.engine.dispose()


class PsycopgReader(Reader):
    """PostgreSQL through psycopg 3 directly: reads need no SQLAlchemy, whose import and
    dialect set-up would otherwise be paid on every command (docs/benchmarks-postgres.md
    has the figure)."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(libpq_url(url))

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        cursor = self.conn.execute(pyformat(sql), params or {})
        return [d.name for d in cursor.description or ()], iter(cursor)

    def close(self) -> None:
        self.conn.close()


NAMED_PARAMETER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def pyformat(sql: str) -> str:
    """kzdiplo's ``:name`` parameters (as in SQLAlchemy's ``text()``) in psycopg's
    ``%(name)s`` style; a literal ``%`` doubled, a ``::type`` cast left alone."""
    return NAMED_PARAMETER.sub(r"%(\1)s", sql.replace("%", "%%"))


def libpq_url(url: str) -> str:
    """``postgresql+psycopg://...`` (an SQLAlchemy URL) as libpq takes it."""
    from kzdiplo.config import scheme_of

    rest = url.partition("://")[2]
    return f"postgresql://{rest}" if scheme_of(url) == "postgresql" else url


def server_reader(url: str) -> Reader:
    """A reader for a database server URL: psycopg for PostgreSQL when it is installed,
    SQLAlchemy for anything else."""
    if url.startswith("postgres"):
        try:
            import psycopg  # noqa: F401
        except ImportError:
            pass
        else:
            return PsycopgReader(url)
    return SqlAlchemyReader(url)


def schema_revision(reader: Reader) -> str | None:
    """The database's Alembic revision; raises KzError when it is not a kzdiplo database."""
    try:
        rows = reader.rows("SELECT version_num FROM alembic_version")
    except sqlite3.DatabaseError as exc:
        if "no such table" in str(exc):
            raise UsageError("not a kzdiplo database (it has no alembic_version table)") from None
        if "malformed" in str(exc) or "not a database" in str(exc):
            raise UsageError(
                f"the database file is damaged ({exc}): kzdiplo db check says what is wrong; "
                "restore a backup"
            ) from None
        raise KzError(f"cannot read the database: {exc}") from None
    except Exception as exc:  # SQLAlchemy errors, imported lazily
        raise KzError(f"cannot read the database: {str(exc).splitlines()[0]}") from None
    return rows[0]["version_num"] if rows else None


def holds_records(reader: Reader) -> bool:
    """Whether the database holds any record (an empty one needs ``kzdiplo db seed``)."""
    from kzdiplo.entities import BY_TABLE

    found = " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in BY_TABLE)
    return bool(reader.rows(f"SELECT ({found}) AS found")[0]["found"])


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(:name0, :name1, ...)`` for an IN clause, adding the values to ``params``."""
    if not values:
        return "(NULL)"
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
    return "(" + ", ".join(f":{name}{i}" for i in range(len(values))) + ")"
