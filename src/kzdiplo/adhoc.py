"""Ad-hoc SQL, safely: read-only, one statement, a time limit and a row cap.

On SQLite four walls stand between a user's query and the data: the file is opened
read-only (``mode=ro``), ``PRAGMA query_only`` is on, attaching other files is
disabled (``SQLITE_LIMIT_ATTACHED`` = 0, which also stops ``VACUUM INTO``), and an
authorizer allows only reads: SELECT, reading columns, recursive CTEs, functions other
than ``load_extension``, and a few PRAGMAs that only describe the schema. A progress
handler stops the query at its deadline, leaving the connection usable. SQLite's own
limits bound memory: no string or blob over MAX_VALUE_BYTES (so no single function call
runs long between two progress checks either), and a heap limit for the whole process.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kzdiplo.errors import KzError, QueryTimeout, QueryTooBig, UsageError
from kzdiplo.reader import connect_sqlite, libpq_url

READ_ONLY_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
     "foreign_key_list", "collation_list", "function_list", "pragma_list", "data_version"}
)  # fmt: skip
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
READ_ONLY_MESSAGE = (
    "kzdiplo sql is read-only: only SELECT queries (and schema PRAGMAs such as "
    "table_info) are allowed"
)


def _authorize(action: int, arg1: str | None, arg2: str | None, *_: Any) -> int:
    if action in _ALLOWED_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return (
            sqlite3.SQLITE_DENY if (arg2 or "").lower() in DENIED_FUNCTIONS else sqlite3.SQLITE_OK
        )
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in READ_ONLY_PRAGMAS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_UPDATE and arg1 == "sqlite_master":
        # FTS5 declares its table when first read, which SQLite checks as this update;
        # nothing can write sqlite_master here (mode=ro, query_only, no writable_schema).
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


MAX_VALUE_BYTES = 10_000_000  # one string or blob (the longest source text is ~60 kB)
MAX_SQL_BYTES = 1_000_000  # the query text
HEAP_LIMIT_BYTES = 256 * 2**20  # all of SQLite's memory in this process
SQL_LIMITS = {
    sqlite3.SQLITE_LIMIT_LENGTH: MAX_VALUE_BYTES,
    sqlite3.SQLITE_LIMIT_SQL_LENGTH: MAX_SQL_BYTES,
    sqlite3.SQLITE_LIMIT_ATTACHED: 0,  # no ATTACH, and so no VACUUM INTO
    sqlite3.SQLITE_LIMIT_EXPR_DEPTH: 200,
    sqlite3.SQLITE_LIMIT_COMPOUND_SELECT: 200,
    sqlite3.SQLITE_LIMIT_FUNCTION_ARG: 32,
}


def open_guarded(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` on which only reads can run, within SQLite's limits."""
    conn = connect_sqlite(path, readonly=True)
    conn.execute("PRAGMA query_only = ON")
    conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")  # soft limit follows it
    for limit, value in SQL_LIMITS.items():
        conn.setlimit(limit, value)
    conn.set_authorizer(_authorize)
    return conn


@dataclass
class Result:
    columns: list[str]
    rows: Iterator[Sequence[Any]]
    truncated: bool = False  # set once the iterator hits the cap


def _stream(
    result: Result,
    fetch: Callable[[], Sequence[Any] | None],
    max_rows: int | None,
    close: Callable[[], None],
) -> Result:
    """Make ``result.rows`` yield ``fetch()`` rows up to the cap (then mark it truncated),
    closing the connection when the rows run out, the cap is hit or the reader stops."""

    def rows() -> Iterator[Sequence[Any]]:
        count = 0
        try:
            while (row := fetch()) is not None:
                if max_rows is not None and count >= max_rows:
                    result.truncated = True
                    return
                count += 1
                yield row
        finally:
            close()

    result.rows = rows()
    return result


def _clean(query: str) -> str:
    if "\x00" in query:
        raise UsageError("the query contains a NUL byte")
    query = query.strip()
    if not query:
        raise UsageError("empty query: give an SQL SELECT statement")
    return query


def explain_error(exc: sqlite3.Error) -> KzError:
    """One line for a database error, naming the read-only rule when that is the cause."""
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    denied = ("not authorized", "authorization denied", "readonly", "query_only")
    if any(word in message for word in denied):
        return UsageError(READ_ONLY_MESSAGE)
    if "interrupted" in message:
        return QueryTimeout("query stopped at the time limit")
    if "one statement at a time" in message:
        return UsageError("only one SQL statement at a time")
    if "too many attached" in message:
        return UsageError(READ_ONLY_MESSAGE)
    if "too big" in message:
        return QueryTooBig(
            f"the query builds a value over {MAX_VALUE_BYTES // 1_000_000} MB, the limit for "
            "kzdiplo sql"
        )
    if "out of memory" in message or "too long" in message or "too many" in message:
        return QueryTooBig(f"the query exceeds a kzdiplo sql limit ({message})")
    return KzError(f"SQL error: {message}")


def run_sqlite(path: Path, query: str, *, timeout: float, max_rows: int | None) -> Result:
    """Start ``query`` on a guarded connection; rows stream from the returned iterator.

    ``timeout`` seconds cover preparing, running and fetching; ``max_rows`` None: no cap.
    """
    query = _clean(query)
    conn = open_guarded(path)
    deadline = time.monotonic() + timeout
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)
    try:
        cursor = conn.execute(query)
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        conn.close()
        raise explain_error(sqlite3.Error(str(exc))) from None
    except sqlite3.Error as exc:
        conn.close()
        raise explain_error(exc) from None

    def fetch() -> Sequence[Any] | None:
        try:
            return cursor.fetchone()
        except sqlite3.Error as exc:
            raise explain_error(exc) from None

    columns = [d[0] for d in cursor.description or ()]
    return _stream(Result(columns, iter(())), fetch, max_rows, conn.close)


# --- PostgreSQL ---------------------------------------------------------------------------

READONLY_ENV = "KZDIPLO_READONLY_URL"


READING_WORDS = ("select", "with", "values", "table", "(")


def _pg_error(exc: Exception, query: str) -> KzError:
    import psycopg

    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    first_word = query.lstrip().split(None, 1)[0].lower() if query.strip() else ""
    if isinstance(exc, psycopg.errors.SyntaxError) and not first_word.startswith(READING_WORDS):
        return UsageError(READ_ONLY_MESSAGE)  # the cursor takes one query, no commands
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryTimeout("query stopped at the time limit")
    if isinstance(
        exc, psycopg.errors.InsufficientPrivilege | psycopg.errors.ReadOnlySqlTransaction
    ):
        return UsageError(READ_ONLY_MESSAGE)
    return KzError(f"SQL error: {message}")


def run_postgres(url: str, query: str, *, timeout: float, max_rows: int | None) -> Result:
    """Run ``query`` as the read-only role of ``url`` (see ``kzdiplo db grant-readonly``),
    in a READ ONLY transaction with ``statement_timeout``, streaming through a server-side
    cursor. The role's grants are the wall; the rest keeps mistakes cheap."""
    import psycopg

    query = _clean(query)
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10)
    except psycopg.Error as exc:
        raise KzError(f"cannot connect as the read-only role: {str(exc).splitlines()[0]}") from None
    try:
        conn.read_only = True
        conn.execute(f"SET statement_timeout = {max(1, int(timeout * 1000))}")
        cursor = conn.cursor(name="kzdiplo_sql")
        cursor.itersize = 500
        cursor.execute(query)
        first = cursor.fetchmany(1)
    except psycopg.Error as exc:
        conn.close()
        raise _pg_error(exc, query) from None
    pending = list(first)

    def fetch() -> Sequence[Any] | None:
        if pending:
            return pending.pop()
        try:
            return cursor.fetchone()
        except psycopg.Error as exc:
            raise _pg_error(exc, query) from None

    columns = [d.name for d in cursor.description or ()]
    return _stream(Result(columns, iter(())), fetch, max_rows, conn.close)
