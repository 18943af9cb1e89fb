"""Read connections: plain parametrised SQL, the same text on every backend.

SQLite files are read through the standard library's ``sqlite3`` in read-only mode
(fast to start: no SQLAlchemy import); any other URL goes through SQLAlchemy ``text()``.
Queries use ``:name`` parameters, which both accept.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Sequence
from itertools import count, islice
from pathlib import Path
from typing import Any

from kzdiplo.db import BUSY_TIMEOUT_MS, sqlite_pragmas
from kzdiplo.errors import KzError, UsageError
from kzdiplo.files import sqlite_read_uri, sqlite_uri

# ``revision = "0014"`` and ``down_revision = "0013"`` (or ``None``) in a migration
# script, with or without a type annotation, in either kind of quotes.
_REVISION_LINE = re.compile(
    r"""^(down_revision|revision)\b[^=\n]*=\s*(?:None|(['"])(.+?)\2)\s*$""", re.M
)


def script_revisions(versions: Path) -> tuple[str, ...]:
    """The revision ids of the migration scripts in ``versions``, oldest first.

    Read from each script's ``revision`` and ``down_revision`` lines with a regular
    expression, so a migration added to the folder is known with no list kept by hand
    and without importing Alembic (whose script directory would cost every command its
    start-up). A folder that is not one chain (two heads, a gap) is a packaging error."""
    parents: dict[str, str | None] = {}
    for path in sorted(versions.glob("*.py")):
        candidates = (_REVISION_LINE.match(line) for line in _revision_lines(path.read_bytes()))
        found = {m[1]: m[3] for m in candidates if m}
        if "revision" in found and found["revision"] is not None:
            parents[found["revision"]] = found.get("down_revision")
    children = {parent: child for child, parent in parents.items()}
    chain: list[str] = []
    while (child := children.get(chain[-1] if chain else None)) is not None:
        chain.append(child)
    if len(chain) != len(parents) or len(children) != len(parents):
        raise RuntimeError(f"{versions}: the migrations are not one chain of revisions")
    return tuple(chain)


def _revision_lines(script: bytes) -> Iterator[str]:
    """The lines of a migration script that start with ``revision`` or ``down_revision``.

    Every command runs this over the scripts' 190 kB: the expression tried at each of
    their positions cost 0.7 ms of start-up, decoding and splitting every line 0.7 ms
    too; finding the word in the bytes and decoding only its lines costs half that."""
    at = script.find(b"revision")
    while at != -1:
        start = script.rfind(b"\n", 0, at) + 1
        if script[start:at] in (b"", b"down_"):
            end = script.find(b"\n", at)
            yield script[start : end if end != -1 else len(script)].decode("utf-8")
        at = script.find(b"revision", at + len(b"revision"))


def _known_revisions() -> tuple[str, ...]:
    from kzdiplo.paths import migrations_dir

    return script_revisions(migrations_dir() / "versions")


# The schema revisions this kzdiplo knows, oldest first; the last is the head.
REVISIONS = _known_revisions()
HEAD = REVISIONS[-1]


# Each foreign key of a table as (column, the table it refers to), by backend.
_FOREIGN_KEYS = {
    "sqlite": 'SELECT "from" AS "column", "table" AS target FROM pragma_foreign_key_list(:table)',
    "postgresql": (
        'SELECT a.attname AS "column", f.relname AS target FROM pg_constraint c '
        "JOIN pg_class t ON t.oid = c.conrelid "
        "JOIN pg_class f ON f.oid = c.confrelid "
        "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
        "WHERE c.contype = 'f' AND t.relname = :table AND pg_table_is_visible(t.oid)"
    ),
}


class Reader:
    """A read-only connection that returns rows as dicts."""

    dialect: str

    def __init__(self) -> None:
        self._columns: dict[str, tuple[str, ...]] = {}
        self._references: dict[str, dict[str, str]] = {}

    def columns(self, table: str) -> tuple[str, ...]:
        """``table``'s columns as the open database has them, in its order: the cursor's
        description of an empty SELECT (as sqlite-utils reads a table). A column that a
        migration adds is read with no list kept by hand. Asked once per connection."""
        if table not in self._columns:
            names, rows = self.stream(f"SELECT * FROM {table} WHERE 1 = 0")
            list(rows)
            self._columns[table] = tuple(names)
        return self._columns[table]

    def references(self, table: str) -> dict[str, str]:
        """Each column of ``table`` that is a foreign key, and the table it refers to, in
        the table's column order (from the database's catalogue, once per connection)."""
        if table not in self._references:
            found = {
                r["column"]: r["target"]
                for r in self.rows(_FOREIGN_KEYS[self.dialect], {"table": table})
            }
            self._references[table] = {c: found[c] for c in self.columns(table) if c in found}
        return self._references[table]

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        columns, rows = self.stream(sql, params)
        return [dict(zip(columns, row, strict=True)) for row in rows]

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        raise NotImplementedError

    def batches(
        self, sql: str, params: dict[str, Any] | None = None, size: int = 500
    ) -> Iterator[list[dict[str, Any]]]:
        """The rows of ``sql`` as dicts, ``size`` at a time, read as they are asked for:
        a caller walking a million rows holds one batch. SQLite's cursor steps through
        the result lazily; a server's reader overrides this with a server-side cursor."""
        columns, rows = self.stream(sql, params)
        while batch := list(islice(rows, size)):
            yield [dict(zip(columns, row, strict=True)) for row in batch]

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
        super().__init__()
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


class ConnectionReader(Reader):
    """Reads through an open SQLAlchemy connection, inside its transaction: the loader
    uses it to read back what it has just written before committing."""

    def __init__(self, conn: Any) -> None:
        super().__init__()
        self.conn = conn
        self.dialect = conn.dialect.name

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        if self.dialect == "sqlite":
            # The driver's own cursor, on the same connection and so inside its
            # transaction: sqlite3 binds :name itself (SQLAlchemy's text() would compile
            # a cache key per bound value), and hands out its rows as they are, as
            # SqliteReader does, without SQLAlchemy's fetch per row (the loader's content
            # hash reads 220k rows at 20,000 agreements: a fifth of its time)
            cursor = self.conn.connection.driver_connection.execute(sql, params or {})
            return [column[0] for column in cursor.description or ()], iter(cursor)
        from sqlalchemy import text

        result = self.conn.execute(text(sql), params or {})
        return list(result.keys()), iter(result)

    def close(self) -> None:
        """The connection belongs to the caller."""


class SqlAlchemyReader(ConnectionReader):
    """Any other SQLAlchemy URL (PostgreSQL...)."""

    def __init__(self, url: str) -> None:
        from kzdiplo.db import make_engine

        self.engine = make_engine(url)
        super().__init__(self.engine.connect())

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

        super().__init__()
        self.conn = psycopg.connect(libpq_url(url))

    def stream(
        self, sql: str, params: dict[str, Any] | None = None
    ) -> tuple[list[str], Iterator[Sequence[Any]]]:
        cursor = self.conn.execute(pyformat(sql), params or {})
        return [d.name for d in cursor.description or ()], iter(cursor)

    def batches(
        self, sql: str, params: dict[str, Any] | None = None, size: int = 500
    ) -> Iterator[list[dict[str, Any]]]:
        """A named (server-side) cursor: the server keeps the result and hands it out
        ``size`` rows at a time (a plain cursor would fetch every row first)."""
        with self.conn.cursor(name=f"kzdiplo_batches_{next(_CURSORS)}") as cursor:
            cursor.execute(pyformat(sql), params or {})
            columns = [d.name for d in cursor.description or ()]
            while batch := cursor.fetchmany(size):
                yield [dict(zip(columns, row, strict=True)) for row in batch]

    def close(self) -> None:
        self.conn.close()


_CURSORS = count()  # names for server-side cursors, unique in the process
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


# Values an IN list built by in_list should hold at most where the alternative is to
# read the whole table: past this many keys, reading every row costs no more.
IN_LIST_MAX = 500


def in_list(name: str, values: Sequence[Any], params: dict[str, Any]) -> str:
    """``(:name0, :name1, ...)`` for an IN clause, adding the values to ``params``."""
    if not values:
        return "(NULL)"
    for i, value in enumerate(values):
        params[f"{name}{i}"] = value
    return "(" + ", ".join(f":{name}{i}" for i in range(len(values))) + ")"
