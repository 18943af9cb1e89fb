"""The issue's own peer for `kzdiplo load`: `sqlite-utils insert` of the same rows.

Issue 27 measured the load against `sqlite-utils insert` of the rows it writes (38,657
rows for 5,000 agreements: the tables' rows, not the export's lines). ``python surows.py
DB FOLDER`` writes each table of DB that a load fills from its input (not the search
index, serve's browse tables or the derived totals, which a load computes) to
``FOLDER/<table>.ndjson``, one JSON object per row, untimed; ``script(folder, target)``
is the timed shell command: one `sqlite-utils insert TARGET TABLE FILE --nl` per table,
into a new file whose tables sqlite-utils creates itself (no index, no trigger), as a user
would load the same rows with it. The commands part of run.py times it beside the load.
"""

from __future__ import annotations

import json
import shlex
import sqlite3
import sys
from pathlib import Path

# Tables a load derives rather than reads: the search index (and FTS5's own tables),
# serve's browse tables, the partner totals and the derived state (content hash).
DERIVED = ("search_index", "records", "records_counts", "partner_money",
           "partner_totals_cache", "derived_state", "alembic_version")  # fmt: skip


def tables(conn: sqlite3.Connection) -> list[str]:
    names = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                         "AND name NOT LIKE 'sqlite%' ORDER BY name").fetchall()  # fmt: skip
    return [n for (n,) in names if n not in DERIVED and not n.startswith("search_index")]


def dump(db: Path, folder: Path) -> int:
    """Each loaded table's rows as NDJSON in ``folder``; the number of rows written."""
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    total = 0
    try:
        for table in tables(conn):
            cur = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cur.description]
            with (folder / f"{table}.ndjson").open("w", encoding="utf-8") as out:
                for row in cur:
                    out.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False))
                    out.write("\n")
                    total += 1
    finally:
        conn.close()
    return total


def script(su: str, folder: Path, target: Path) -> str:
    """The timed shell command: the target removed, then one insert per table's file."""
    q = shlex.quote
    inserts = [f"{q(su)} insert {q(str(target))} {q(p.stem)} {q(str(p))} --nl"
               for p in sorted(folder.glob("*.ndjson"))]  # fmt: skip
    return " && ".join([f"rm -f {q(str(target))}", *inserts])


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: surows.py DB FOLDER")
    print(dump(Path(sys.argv[1]), Path(sys.argv[2])))
