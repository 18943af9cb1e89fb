"""The floor under any `kzdiplo load`: the time SQLite alone needs to write what a load
leaves in the database, with no Python per row.

``python sqlfloor.py TARGET LOADED`` copies every table of LOADED (a database that
`kzdiplo load` filled) into TARGET (a copy of `db init --empty`) with ``INSERT ... SELECT``
in one transaction: the rows with their indexes, the search index re-tokenised from
LOADED's, serve's tables and the derived rows, the triggers off during the copy as the
load has them, then ``PRAGMA foreign_key_check``. Reading, validating and converting the
input, and computing the derived tables and the content hash, are left out: whatever a
loader does, it also writes these rows, so its time cannot fall below this one. The
commands part of run.py times it beside `sqlite-utils insert --nl` of the same export.
"""

from __future__ import annotations

import sqlite3
import sys

# The full-text index's own tables: filled by inserting into the index, never copied.
FTS = "search_index"


def copy(target: str, loaded: str) -> int:
    """Copy LOADED's rows into TARGET; the number of rows copied."""
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("ATTACH DATABASE ? AS loaded", (f"file:{loaded}?mode=ro",))
    conn.execute("BEGIN")
    triggers = conn.execute("SELECT name, sql FROM main.sqlite_master WHERE type = 'trigger'")
    saved = triggers.fetchall()
    for name, _ in saved:
        conn.execute(f'DROP TRIGGER "{name}"')
    tables = [
        name
        for (name,) in conn.execute(
            "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE ? "
            "AND name NOT LIKE 'sqlite%' AND name != 'alembic_version'",
            (f"{FTS}%",),
        )
    ]
    rows = 0
    for name in tables:
        conn.execute(f'DELETE FROM main."{name}"')
        rows += conn.execute(f'INSERT INTO main."{name}" SELECT * FROM loaded."{name}"').rowcount
    columns = ", ".join(r[1] for r in conn.execute(f"PRAGMA main.table_info({FTS})"))
    conn.execute(f"DELETE FROM main.{FTS}")
    rows += conn.execute(
        f"INSERT INTO main.{FTS} (rowid, {columns}) SELECT rowid, {columns} FROM loaded.{FTS}"
    ).rowcount
    for _, sql in saved:
        conn.execute(sql)
    problems = conn.execute("PRAGMA main.foreign_key_check").fetchall()
    conn.execute("COMMIT")
    conn.close()
    if problems:
        raise SystemExit(f"sqlfloor: {len(problems)} broken references after the copy")
    return rows


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: sqlfloor.py TARGET LOADED")
    print(copy(sys.argv[1], sys.argv[2]))
