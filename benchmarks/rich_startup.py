#!/usr/bin/env python3
"""The cost of drawing tables with Rich, side by side with the peer: writes
docs/benchmarks-rich.md.

    /work/venv14/bin/python benchmarks/rich_startup.py --before /tmp/main-src/src

``--before`` is the ``src`` folder of another kzdiplo checkout (the hand-drawn table of
main before issue 14): it runs with the same interpreter and database through
``PYTHONPATH``. Each kzdiplo command starts through ``env`` (both before and after,
so both pay the same exec); sqlite-utils runs the SQL a user would write for the same
answer. Round-robin timing, whole processes, medians: benchmarks/run.py's machinery.
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

from run import ENV, KZ, SU, US_SQL, Cmd, machine, make_seeded, measure, ms, ratio, versions

# An installed package has its bytecode compiled (sqlite-utils' is); a shell that sets
# PYTHONDONTWRITEBYTECODE would make every kzdiplo run recompile its modules instead.
ENV.pop("PYTHONDONTWRITEBYTECODE", None)

GOAL = 0.75  # kzdiplo agreements --partner US against sqlite-utils query (issue 14)


def commands(db: Path, before: Path | None) -> list[Cmd]:
    listing = ["agreements", "--partner", "US"]
    cmds = [
        Cmd("after", "kzdiplo agreements --partner US (Rich table)",
            ["env", f"COLUMNS={COLUMNS}", KZ, "--db", str(db), *listing]),
        Cmd("after_json", "kzdiplo agreements --partner US -f json (no Rich)",
            ["env", f"COLUMNS={COLUMNS}", KZ, "--db", str(db), *listing, "-f", "json"]),
        Cmd("peer", "sqlite-utils query (US agreements SQL)", [SU, "query", str(db), US_SQL]),
    ]  # fmt: skip
    if before is not None:
        # The other checkout's own database: the same seed data at its own schema head.
        old = db.with_name("seeded-before.db")
        subprocess.run(["env", f"PYTHONPATH={before}", KZ, "--db", str(old), "db", "init"],
                       check=True, env=ENV, capture_output=True)  # fmt: skip
        cmds.append(
            Cmd("before", "kzdiplo agreements --partner US (hand-drawn table, main)",
                ["env", f"COLUMNS={COLUMNS}", f"PYTHONPATH={before}", KZ, "--db", str(old),
                 *listing])
        )  # fmt: skip
    return cmds


COLUMNS = 120


def report(cmds: list[Cmd], runs: int) -> str:
    by = {c.key: c.stats() for c in cmds}
    peer = by["peer"]["median"]
    lines = [
        "# Tables with Rich: start-up against the peer",
        "",
        f"Measured {dt.date.today().isoformat()} by `benchmarks/rich_startup.py` on "
        f"{machine()['cpu']} ({machine()['nproc']} cores); {runs} round-robin rounds, "
        f"whole process, stdout to /dev/null, COLUMNS={COLUMNS}, seeded database, "
        "bytecode compiled (warm-up rounds write it).",
        "",
        "| Command | Median | Min | Max | vs sqlite-utils |",
        "|---|---|---|---|---|",
    ]
    for c in cmds:
        s = by[c.key]
        lines.append(
            f"| {c.label} | {ms(s['median'])} | {ms(s['min'])} | {ms(s['max'])} | "
            f"{ratio(s['median'], peer)} |"
        )
    after = by["after"]["median"] / peer
    lines += [
        "",
        "The Rich table against the same run's JSON is the cost of Rich on the same data "
        "(its import, about 20-25 ms on a quiet machine, and laying the table out). The "
        "hand-drawn row runs the other checkout on its own seed data and schema (main "
        "before issue 14 had fewer US agreements: 1 row against 7 now), so it is the "
        "start-up before, not the same page.",
        "",
        f"Goal: `kzdiplo agreements --partner US` at or below {GOAL}x `sqlite-utils query` "
        f"on the same file: {after:.2f}x, {'met' if after <= GOAL else 'not met'}.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items() if v) + ".",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="src folder of the kzdiplo to compare")
    parser.add_argument("--runs", type=int, default=31)
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks-rich.md"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "seeded.db"
        make_seeded(db)
        cmds = commands(db, args.before.resolve() if args.before else None)
        measure(cmds, args.runs, warmup=3, what="Rich start-up")
        text = report(cmds, args.runs)
    args.output.write_text(text)
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
