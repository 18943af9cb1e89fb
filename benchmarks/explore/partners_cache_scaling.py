#!/usr/bin/env python3
"""How the partners-cache statement (kzdiplo.queries.PARTNER_TOTALS_SQL) grows with the
number of records, and the same statement with its ``credited`` step materialized once.

    python benchmarks/explore/partners_cache_scaling.py DB [DB ...]

Each DB is a synth.py database (``python benchmarks/synth.py PATH --agreements N``). The
statement runs read-only, as written in kzdiplo and with ``credited AS MATERIALIZED``
(nothing in kzdiplo is changed); both must return the same rows. Found when the
1,000,000-agreement build of benchmarks/run.py spent over 10 minutes rebuilding the
cache (10.5 s at schema 0008).
"""

from __future__ import annotations

import sqlite3
import sys
import time
from pathlib import Path

from kzdiplo.queries import PARTNER_TOTALS_SQL

MATERIALIZED = PARTNER_TOTALS_SQL.replace("credited AS (", "credited AS MATERIALIZED (", 1)


def timed(conn: sqlite3.Connection, sql: str) -> tuple[float, list]:
    start = time.perf_counter()
    rows = conn.execute(sql).fetchall()
    return time.perf_counter() - start, rows


def main() -> None:
    if len(sys.argv) < 2 or MATERIALIZED == PARTNER_TOTALS_SQL:
        raise SystemExit(__doc__)
    print("| agreements | deals | parties | as written | credited materialized | same rows |")
    print("|---|---|---|---|---|---|")
    for path in map(Path, sys.argv[1:]):
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            n = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("agreements", "deals", "parties")]  # fmt: skip
            t1, a = timed(conn, PARTNER_TOTALS_SQL)
            t2, b = timed(conn, MATERIALIZED)
        print(f"| {n[0]:,} | {n[1]:,} | {n[2]:,} | {t1:.2f} s | {t2:.2f} s | "
              f"{'yes' if sorted(map(repr, a)) == sorted(map(repr, b)) else 'NO'} |")  # fmt: skip


if __name__ == "__main__":
    main()
