"""Issue 27: the commands people run, at the seeded size and at N agreements, side by
side with their peers in one round-robin run (no entry point: run.py calls ``measure_all``
with ``--commands``, and render.py draws section 7 from what it returns).

- ``load``: `kzdiplo load` of the NDJSON and JSON exports of the N-agreement database
  into an empty database (`db init --empty`), against `sqlite-utils insert --nl` of the
  same NDJSON lines into a new file. Each run starts from a fresh copy, the copy inside
  the timed command for both sides.
- ``show`` and ``cite``: one agreement on the seeded file and on the N-agreement database
  that `kzdiplo load` wrote (its content hash kept by the load), and `cite` on the
  generator's file too, which no load wrote (its hash is computed from the data).
- Peak memory of each load, one run under GNU time, at the seeded size and at N.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from harness import ENV, SU, Cmd, log, measure

SEEDED_AGREEMENT = "kz-us-washington-29-agreements"  # the seeded page people open first
TARGETS = {"load_vs_peer": 1.0, "read_vs_seeded": 1.2}


def _export(kz: str, db: Path, fmt: str, out: Path) -> dict:
    """``db`` exported to ``out``; its size (and lines, for NDJSON)."""
    with out.open("wb") as f:
        subprocess.run([kz, "--db", str(db), "export", "-f", fmt, "--out", "-"], check=True,
                       env=ENV, stdout=f, stderr=subprocess.DEVNULL)  # fmt: skip
    lines = sum(1 for _ in out.open("rb")) if fmt == "ndjson" else None
    return {"bytes": out.stat().st_size, "records": lines}


def _load_cmd(kz: str, key: str, label: str, empty: Path, target: Path, file: Path) -> Cmd:
    script = f'cp "{empty}" "{target}" && exec "{kz}" --db "{target}" load "{file}"'
    return Cmd(key, label, ["sh", "-c", script], peer="su_insert")


def _su_cmd(target: Path, file: Path) -> Cmd:
    script = f'rm -f "{target}" && exec "{SU}" insert "{target}" records "{file}" --nl'
    return Cmd(
        "su_insert", "sqlite-utils insert --nl (the same NDJSON lines)", ["sh", "-c", script]
    )


def _refusal(kz: str, empty: Path, target: Path, file: Path) -> str | None:
    """Why `kzdiplo load FILE` fails (its error line), or None when it loads."""
    shutil.copyfile(empty, target)
    done = subprocess.run([kz, "--db", str(target), "load", str(file)], env=ENV,
                          capture_output=True, text=True)  # fmt: skip
    return None if done.returncode == 0 else done.stderr.strip().splitlines()[-1]


def _first_synthetic(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT slug FROM agreements WHERE slug LIKE 'synth-%' "
                           "ORDER BY id LIMIT 1").fetchone()  # fmt: skip
    finally:
        conn.close()
    return str(row[0])


def _stale_copy(db: Path, copy: Path) -> Path:
    """``db`` with its stored content hash marked stale (as before migration 0015, or
    after a write through ad-hoc SQL): `cite` then hashes every record."""
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("UPDATE derived_state SET stale = 1 WHERE name = 'content_hash'")
    conn.close()
    return copy


def measure_all(kz: str, work: Path, seeded: Path, big: Path, load_db: Path, runs: int,
                warmup: int) -> dict:  # fmt: skip
    """Every figure of section 7, as plain data: loads of ``load_db``'s exports, reads
    on ``seeded`` against ``big``, and whether ``big``'s own exports load at all."""
    folder = work / "commands"
    folder.mkdir(exist_ok=True)
    empty = folder / "empty.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{empty}{suffix}").unlink(missing_ok=True)
    subprocess.run([kz, "--db", str(empty), "db", "init", "--empty"], check=True, env=ENV,
                   capture_output=True)  # fmt: skip
    files = {}
    for name, db in (("seeded", seeded), ("load", load_db), ("big", big)):
        for fmt in ("ndjson", "json"):
            path = folder / f"{name}.{fmt}"
            log(f"commands: exporting {name} as {fmt}")
            files[f"{name}_{fmt}"] = _export(kz, db, fmt, path)
    out: dict = {"big": _count(big), "load_size": _count(load_db), "runs": runs,
                 "load_runs": min(runs, 3), "files": files, "refused": {}}  # fmt: skip
    for fmt in ("ndjson", "json"):  # the exports of the bigger database: do they load?
        refused = _refusal(kz, empty, folder / f"t-big-{fmt}.db", folder / f"big.{fmt}")
        out["refused"][f"big_{fmt}"] = refused
    loads = [_su_cmd(folder / "t-su.db", folder / "load.ndjson")]
    for fmt in ("ndjson", "json"):
        target, file = folder / f"t-{fmt}.db", folder / f"load.{fmt}"
        refused = _refusal(kz, empty, target, file)
        if refused:
            out["refused"][f"load_{fmt}"] = refused
        else:
            label = f"kzdiplo load ({fmt.upper()} export)"
            loads.append(_load_cmd(kz, f"kz_{fmt}", label, empty, target, file))
    log(f"commands: loads of {out['load_size']:,} agreements, {out['load_runs']} rounds")
    measure(loads, out["load_runs"], 0, "loads")
    out["load"] = [c.result() for c in loads]
    memory = [_load_cmd(kz, f"rss_{name}", f"kzdiplo load ({name} NDJSON)", empty,
                        folder / f"m-{name}.db", folder / f"{name}.ndjson")
              for name in ("seeded", "load") if f"{name}_ndjson" not in out["refused"]]  # fmt: skip
    memory.append(_su_cmd(folder / "m-su.db", folder / "load.ndjson"))
    log("commands: peak memory of the loads (one run each)")
    measure(memory, 1, 0, "load memory", rss=True)
    out["load_memory"] = [c.result() for c in memory]
    slug = _first_synthetic(big)
    reads = []
    for verb, args in (("show", ["show", "agreement"]), ("cite", ["cite"])):
        reads.append(Cmd(f"seed_{verb}", f"`{verb}` on the seeded file",
                         [kz, "--db", str(seeded), *args, SEEDED_AGREEMENT]))  # fmt: skip
        reads.append(Cmd(f"big_{verb}", f"`{verb}` at {out['big']:,} agreements",
                         [kz, "--db", str(big), *args, slug], peer=f"seed_{verb}"))  # fmt: skip
    stale = _stale_copy(big, folder / "stale.db")
    reads.append(Cmd("stale_cite", f"`cite` at {out['big']:,}, its stored hash stale",
                     [kz, "--db", str(stale), "cite", slug], peer="seed_cite"))  # fmt: skip
    log(f"commands: show and cite, {runs} rounds")
    measure(reads, runs, warmup, "reads")
    out["reads"] = [c.result() for c in reads]
    return out


def _count(db: Path) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM agreements").fetchone()[0])
    finally:
        conn.close()


def write_into(results_json: Path, commands: dict, meta: dict) -> dict:
    """Section 7's figures added to an existing results file, the other sections' figures
    (start-up, scale) kept as they were measured."""
    results = json.loads(results_json.read_text())
    results["commands"] = commands | meta
    return results
