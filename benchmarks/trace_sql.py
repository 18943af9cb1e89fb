#!/usr/bin/env python3
"""Run one kzdiplo command in this process and record every SQL statement it sends to
SQLite, with its parameters inlined (``sqlite3`` trace callback, expanded SQL).

    python benchmarks/trace_sql.py OUT.json --db DB agreements --partner US --limit 50

Writes ``{"argv", "exit", "elapsed", "statements"}`` to OUT.json; the command's own
output goes to stdout as usual. kzdiplo's code is not changed: the connection factory
(``kzdiplo.reader.connect_sqlite``) is wrapped at run time to switch tracing on.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    out, argv = Path(sys.argv[1]), sys.argv[2:]
    statements: list[str] = []

    import kzdiplo.adhoc
    import kzdiplo.reader

    original = kzdiplo.reader.connect_sqlite

    def traced(*args, **kwargs):  # type: ignore[no-untyped-def]
        conn = original(*args, **kwargs)
        conn.set_trace_callback(statements.append)
        return conn

    kzdiplo.reader.connect_sqlite = traced
    if hasattr(kzdiplo.adhoc, "connect_sqlite"):
        kzdiplo.adhoc.connect_sqlite = traced

    from kzdiplo.cli import main as cli_main

    sys.argv = ["kzdiplo", *argv]
    code: object = 0
    start = time.perf_counter()
    try:
        cli_main()
    except SystemExit as exc:
        code = exc.code
    elapsed = time.perf_counter() - start
    sys.stdout.flush()
    out.write_text(json.dumps({"argv": argv, "exit": code or 0, "elapsed": elapsed,
                               "statements": statements}, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
