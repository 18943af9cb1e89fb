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

import re
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kzdiplo.config import READONLY_ENV
from kzdiplo.errors import KzError, QueryTimeout, QueryTooBig, UsageError
from kzdiplo.reader import NAMED_PARAMETER, connect_sqlite, libpq_url, pyformat

READ_ONLY_PRAGMAS = frozenset(
    {"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
     "foreign_key_list", "collation_list", "function_list", "pragma_list", "data_version"}
)  # fmt: skip
DENIED_FUNCTIONS = frozenset({"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"})
_ALLOWED_ACTIONS = frozenset({sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE})
TIMEOUT_MESSAGE = "query stopped at the time limit"
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
    # LIKE and GLOB take time proportional to the value times the pattern.
    sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH: 200,
    sqlite3.SQLITE_LIMIT_COLUMN: 500,  # the widest kzdiplo table has 30 columns
}


def limit_connection(conn: sqlite3.Connection, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
    """SQLite's own limits on ``conn``: the size of one value and of the query text, no
    ATTACH, bounded nesting, and a heap limit for all of SQLite in this process. Every
    connection that runs a query kzdiplo did not write goes through here (``sql``,
    ``diff``'s readers, each ``serve`` connection)."""
    conn.execute(f"PRAGMA hard_heap_limit = {HEAP_LIMIT_BYTES}")  # soft limit follows it
    for limit, value in SQL_LIMITS.items():
        conn.setlimit(limit, value)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, max_value_bytes)


def open_guarded(path: Path) -> sqlite3.Connection:
    """A connection to ``path`` on which only reads can run, within SQLite's limits."""
    conn = connect_sqlite(path, readonly=True)
    conn.execute("PRAGMA query_only = ON")
    limit_connection(conn)
    conn.set_authorizer(_authorize)
    return conn


def stop_at(conn: sqlite3.Connection, deadline: float) -> None:
    """Interrupt ``conn``'s statements once ``time.monotonic()`` passes ``deadline``
    (checked every 1000 steps of SQLite's program)."""
    conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 1000)


# --- Built-in functions whose one call can outlast any deadline ------------------------
#
# SQLite's instr, replace and the two-argument trims compare every position of one string
# with the whole of the other: on two strings of a few megabytes, one call runs for
# minutes, and nothing (progress handler, interrupt) stops it. A process that cannot be
# ended at the deadline (serve) replaces them with versions that take time in proportion
# to their input (CPython's string search, a set of characters), with SQLite's results.


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _instr(x: Any, y: Any) -> int | None:
    if x is None or y is None:
        return None
    if isinstance(x, bytes) and isinstance(y, bytes):
        return x.find(y) + 1  # two blobs: a byte position
    return _text(x).find(_text(y)) + 1


def _replace(max_bytes: int) -> Callable[[Any, Any, Any], Any]:
    def replace(x: Any, y: Any, z: Any) -> Any:
        if x is None or y is None or z is None:
            return None
        x, y, z = _text(x), _text(y), _text(z)  # SQLite's replace returns text
        if not y:
            return x
        grown = len(x) + x.count(y) * (len(z) - len(y))
        if grown > max_bytes:  # refused before building it, as SQLite would
            raise ValueError("string or blob too big")
        return x.replace(y, z)

    return replace


def _trim(left: bool, right: bool) -> Callable[..., Any]:
    def trim(x: Any, y: Any = " ") -> Any:
        if x is None or y is None:
            return None
        x, strip = _text(x), set(_text(y))
        start, end = 0, len(x)
        while left and start < end and x[start] in strip:
            start += 1
        while right and end > start and x[end - 1] in strip:
            end -= 1
        return x[start:end]

    return trim


def linear_functions(conn: sqlite3.Connection, max_value_bytes: int = MAX_VALUE_BYTES) -> None:
    """Replace SQLite's quadratic built-ins on ``conn`` (see above)."""
    conn.create_function("instr", 2, _instr, deterministic=True)
    conn.create_function("replace", 3, _replace(max_value_bytes), deterministic=True)
    for name, left, right in (("ltrim", True, False), ("rtrim", False, True),
                              ("trim", True, True)):  # fmt: skip
        for arity in (1, 2):
            conn.create_function(name, arity, _trim(left, right), deterministic=True)


MAX_RESULT_BYTES = 20_000_000  # all the values of one query's rows, in a server


def result_budget(conn: sqlite3.Connection, max_bytes: int = MAX_RESULT_BYTES) -> None:
    """Make every query on ``conn`` fail once its rows so far hold more than
    ``max_bytes`` of values, with ``sqlite3.Row`` rows (as Datasette reads them). A
    server keeps a whole page of rows in memory, then renders it: 200 rows of 1 MB
    values were 200 MB of JSON, 1.2 GB at the peak and 7 s of rendering."""
    import weakref

    spent: weakref.WeakKeyDictionary[sqlite3.Cursor, int] = weakref.WeakKeyDictionary()

    def row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> sqlite3.Row:
        size = sum(len(v) if isinstance(v, str | bytes) else 8 for v in values)
        total = spent.get(cursor, 0) + size
        if total > max_bytes:
            raise sqlite3.DatabaseError(
                f"the result holds more than {max_bytes // 1_000_000} MB: ask for fewer rows "
                "or shorter values"
            )
        spent[cursor] = total
        return sqlite3.Row(cursor, values)

    conn.row_factory = row


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
    if missing := re.search(r"value for binding parameter :(\w+)", message):
        name = missing[1]
        return UsageError(f"the query names :{name}: give its value with -p {name} VALUE")
    if "has no name" in message or "Incorrect number of bindings" in message:
        return UsageError(
            "kzdiplo sql binds named parameters (:name, given as -p name VALUE), not ?"
        )
    denied = ("not authorized", "authorization denied", "readonly", "query_only")
    if any(word in message for word in denied):
        return UsageError(READ_ONLY_MESSAGE)
    if "interrupted" in message:
        return QueryTimeout(TIMEOUT_MESSAGE)
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


Watch = Callable[[], AbstractContextManager[None]]


def run_sqlite(
    path: Path,
    query: str,
    *,
    timeout: float,
    max_rows: int | None,
    watch: Watch = nullcontext,
    params: dict[str, str] | None = None,
) -> Result:
    """Start ``query`` on a guarded connection; rows stream from the returned iterator.
    ``params`` are bound to the query's ``:name`` parameters (never put into its text).

    ``timeout`` seconds cover preparing, running and fetching; ``max_rows`` None: no cap.
    Each database call runs inside ``watch()`` (``ProcessDeadline.inside``: the stop for
    a call that never reaches the progress handler).
    """
    query = _clean(query)
    conn = open_guarded(path)
    stop_at(conn, time.monotonic() + timeout)
    try:
        with watch():
            cursor = conn.execute(query, params or {})
    except sqlite3.Warning as exc:  # "You can only execute one statement at a time."
        conn.close()
        raise explain_error(sqlite3.Error(str(exc))) from None
    except sqlite3.Error as exc:
        conn.close()
        raise explain_error(exc) from None

    def fetch() -> Sequence[Any] | None:
        try:
            with watch():
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
        return QueryTimeout(TIMEOUT_MESSAGE)
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


def run_postgres(
    url: str,
    query: str,
    *,
    timeout: float,
    max_rows: int | None,
    watch: Watch = nullcontext,
    params: dict[str, str] | None = None,
) -> Result:
    """Run ``query`` as the read-only role of ``url`` (see ``kzdiplo db grant-readonly``),
    once that role is shown to be unable to write, in a READ ONLY transaction, streaming
    through a server-side cursor in batches. ``timeout`` bounds the whole query: each
    FETCH runs with statement_timeout set to the time left, and no FETCH starts after
    the deadline. The role's grants are the wall; the rest keeps mistakes cheap."""
    import psycopg

    from kzdiplo.config import scrub

    query = _clean(query)
    if params:  # psycopg's own style; a name the query uses and -p does not give is refused
        missing = sorted(set(NAMED_PARAMETER.findall(query)) - set(params))
        if missing:
            name = missing[0]
            raise UsageError(f"the query names :{name}: give its value with -p {name} VALUE")
        query = pyformat(query)
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
            raise QueryTimeout(TIMEOUT_MESSAGE)
        conn.execute(f"SET statement_timeout = {max(1, int(left * 1000))}")

    try:
        conn.read_only = True
        time_left()
        cursor = conn.cursor(name="kzdiplo_sql")
        with watch():
            cursor.execute(query, params or None)
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
                with watch():
                    pending.extend(reversed(cursor.fetchmany(FETCH_BATCH)))
            except psycopg.Error as exc:
                raise _pg_error(exc, query) from None
        return pending.pop() if pending else None

    columns = [d.name for d in cursor.description or ()]
    return _stream(Result(columns, iter(())), fetch, max_rows, conn.close)
