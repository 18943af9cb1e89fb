#!/usr/bin/env python3
"""Issue 14's speed target: `kzdiplo agreements --partner US` drawn with Rich, side by side
with sqlite-utils on the same seeded file; writes docs/benchmarks-rich.json and renders
docs/benchmarks-rich.md.

    python benchmarks/rich_startup.py                      # 61 rounds
    python benchmarks/rich_startup.py --before OTHER/src   # also another checkout's start-up
    python benchmarks/rich_startup.py --quick              # 5 rounds, results in the temp dir

``--before`` is the ``src`` folder of another kzdiplo checkout: it runs with the same
interpreter through ``PYTHONPATH``, on its own database. Each kzdiplo command starts
through ``env`` (so all pay the same exec); sqlite-utils runs the SQL a user would write
for the same answer (run.py's, checked there to return the same records). Round-robin
timing, whole processes, medians (harness.py); the load average is recorded, and the
import time of the Rich command is profiled so the page says where start-up goes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

import harness as h
from render import render
from run import US_SQL

GOAL = 0.75  # kzdiplo agreements --partner US against sqlite-utils query (issue 14)
COLUMNS = 120
LISTING = ["agreements", "--partner", "US"]


def commands(db: Path, before: Path | None) -> list[h.Cmd]:
    env = ["env", f"COLUMNS={COLUMNS}"]
    cmds = [
        h.Cmd("after", "kzdiplo agreements --partner US (Rich table)",
            [*env, h.KZ, "--db", str(db), *LISTING]),
        h.Cmd("after_json", "kzdiplo agreements --partner US -f json (no Rich)",
            [*env, h.KZ, "--db", str(db), *LISTING, "-f", "json"]),
        h.Cmd("peer", "sqlite-utils query (US agreements SQL)", [h.SU, "query", str(db), US_SQL]),
    ]  # fmt: skip
    if before is not None:
        # The other checkout's own database: the same seed data at its own schema head.
        old = db.with_name("seeded-before.db")
        subprocess.run(["env", f"PYTHONPATH={before}", h.KZ, "--db", str(old), "db", "init"],
                       check=True, env=h.ENV, capture_output=True)  # fmt: skip
        cmds.append(h.Cmd("before", "kzdiplo agreements --partner US (other checkout)",
                        [*env, f"PYTHONPATH={before}", h.KZ, "--db", str(old), *LISTING]))  # fmt: skip
    return cmds


def run(runs: int, warmup: int, before: Path | None, tmp: Path) -> dict:
    """The timings and the import profile, as plain data."""
    db = tmp / "seeded.db"
    r: dict = {"benchmark": "rich", "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "goal": GOAL, "columns": COLUMNS, "runs": runs, "warmup": warmup,
               "machine": h.machine(), "versions": h.versions(), "git": h.git_state(),
               "loadavg_start": h.load_average()}  # fmt: skip
    h.make_seeded(db)
    cmds = commands(db, before)
    h.measure(cmds, runs, warmup, what="Rich start-up")
    r["loadavg_end"] = h.load_average()
    r["commands"] = [c.result() for c in cmds]
    h.log("import time of the Rich command")
    env = dict(h.ENV, COLUMNS=str(COLUMNS))
    r["imports"] = h.import_times(["--db", str(db), *LISTING], tmp, env=env) | {"runs": 7}
    return r


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src folder of the kzdiplo to compare")
    parser.add_argument("--runs", type=int, default=61, help="round-robin rounds (61)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds (3)")
    parser.add_argument("--quick", action="store_true", help="5 rounds, 1 warm-up, temp output")
    parser.add_argument("--json", type=Path, help="default docs/benchmarks-rich.json")
    parser.add_argument("--output", type=Path, help="default: --json with .md")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.warmup = 5, 1
        args.json = args.json or Path(tempfile.gettempdir()) / "kzdiplo-rich-quick.json"
    args.json = args.json or h.ROOT / "docs" / "benchmarks-rich.json"
    with tempfile.TemporaryDirectory() as tmp:
        before = args.before.resolve() if args.before else None
        r = h.portable(run(args.runs, args.warmup, before, Path(tmp)), tmp=tmp,
                     **({"before": before} if before else {}))  # fmt: skip
    h.write_json(args.json, r)
    text = render(r)
    (args.output or args.json.with_suffix(".md")).write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
