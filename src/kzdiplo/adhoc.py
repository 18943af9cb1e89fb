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

from kzdiplo.config import READONLY_ENV
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


# What the role of KZDIPLO_READONLY_URL must not be able to do, checked before the query.
ROLE_POWERS = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls,
  (SELECT string_agg(n.nspname, ', ') FROM pg_namespace n
    WHERE has_schema_privilege(n.oid, 'CREATE')
      AND n.nspname NOT LIKE 'pg!_%' ESCAPE '!' AND n.nspname <> 'information_schema')
    AS create_in,
  (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg!_%' ESCAPE '!'
      AND ((c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND (has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
                 OR has_table_privilege(c.oid, 'DELETE')
                 OR has_table_privilege(c.oid, 'TRUNCATE')))
           OR (c.relkind = 'S' AND has_sequence_privilege(c.oid, 'UPDATE'))))
    AS writable,
  (SELECT string_agg(g.rolname, ', ') FROM pg_roles g
    WHERE g.rolname IN ('pg_write_server_files', 'pg_read_server_files', 'pg_write_all_data',
                        'pg_execute_server_program', 'pg_signal_backend')
      AND pg_has_role(g.oid, 'MEMBER')) AS powers
FROM pg_roles r WHERE r.rolname = current_user
"""


def _role_can_write(conn: Any) -> str | None:
    """Why the connected role could change something, or None when it cannot."""
    row = conn.execute(ROLE_POWERS).fetchone()
    if row is None:
        return "its role is not in pg_roles"
    name, superuser, createrole, createdb, bypassrls, create_in, writable, powers = row
    reasons = [
        *(["it is a superuser"] if superuser else []),
        *(["it can create roles"] if createrole else []),
        *(["it can create databases"] if createdb else []),
        *(["it bypasses row security"] if bypassrls else []),
        *([f"it can create objects in {create_in}"] if create_in else []),
        *([f"it can write {writable} table(s)"] if writable else []),
        *([f"it is a member of {powers}"] if powers else []),
    ]
    return f"role {name}: " + "; ".join(reasons) if reasons else None


FETCH_BATCH = 500


def run_postgres(url: str, query: str, *, timeout: float, max_rows: int | None) -> Result:
    """Run ``query`` as the read-only role of ``url`` (see ``kzdiplo db grant-readonly``),
    once that role is shown to be unable to write, in a READ ONLY transaction, streaming
    through a server-side cursor in batches. ``timeout`` bounds the whole query: each
    FETCH runs with statement_timeout set to the time left, and no FETCH starts after
    the deadline. The role's grants are the wall; the rest keeps mistakes cheap."""
    import psycopg

    from kzdiplo.config import scrub

    query = _clean(query)
    deadline = time.monotonic() + timeout
    try:
        conn = psycopg.connect(libpq_url(url), connect_timeout=10)
    except psycopg.Error as exc:
        detail = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, url)
        raise KzError(f"cannot connect as the read-only role: {detail}") from None
    except Exception as exc:  # a malformed URL: psycopg's parser quotes it
        detail = scrub(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, url)
        raise UsageError(f"{READONLY_ENV} cannot be used: {detail}") from None
    try:
        reason = _role_can_write(conn)
        conn.rollback()
    except psycopg.Error as exc:
        conn.close()
        reason = f"its powers cannot be checked ({str(exc).splitlines()[0]})"
    if reason is not None:
        conn.close()
        raise UsageError(
            f"{READONLY_ENV} must be a role that can only read, and {reason}; nothing was "
            "run (kzdiplo db grant-readonly creates such a role)"
        )

    def time_left() -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise QueryTimeout("query stopped at the time limit")
        conn.execute(f"SET statement_timeout = {max(1, int(left * 1000))}")

    try:
        conn.read_only = True
        time_left()
        cursor = conn.cursor(name="kzdiplo_sql")
        cursor.execute(query)
        pending = list(reversed(cursor.fetchmany(1)))
    except psycopg.Error as exc:
        conn.close()
        raise _pg_error(exc, query) from None
    except KzError:
        conn.close()
        raise

    def fetch() -> Sequence[Any] | None:
        if not pending:
            try:
                time_left()
                pending.extend(reversed(cursor.fetchmany(FETCH_BATCH)))
            except psycopg.Error as exc:
                raise _pg_error(exc, query) from None
        return pending.pop() if pending else None

    columns = [d.name for d in cursor.description or ()]
    return _stream(Result(columns, iter(())), fetch, max_rows, conn.close)
