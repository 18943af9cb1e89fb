"""Issue 27: the commands people run, at the seeded size, 20,000 and a million agreements,
each side by side with its peer in one round-robin run (no entry point: run.py calls
``measure_all`` with ``--commands``, and render.py draws the section from what it returns).

Parts, in the order they run (``--parts`` chooses; ``--skip PART@SIZE`` leaves one out
with its reason recorded):

- ``startup``: `agreements --partner US` as a Rich table and as JSON against
  `sqlite-utils query` of the same SQL, on the seeded file (issue 14's targets, re-measured
  so that this round's changes are seen not to cost start-up).
- ``load``: `kzdiplo load` of the NDJSON and JSON exports of each database into an empty
  database (`db init --empty`), against the issue's peer, `sqlite-utils insert` of the
  same rows (surows.py: one `insert --nl` per table), and beside `sqlite-utils insert
  --nl` of the export's lines into one table and the SQL floor (sqlfloor.py); each run
  starts from a fresh copy, the copy inside the timed command; time and peak RSS (every
  run under GNU time). Sizes up to 200,000 agreements in one round-robin, each larger one
  on its own (one round).
- ``reads``: `show`, `cite` and `search` on each database against the same on the seeded
  file, plus `cite` with its stored hash stale at the smallest synthetic size.
- ``report``: `kzdiplo report` at each size (and at 5,000 agreements, for a third point of
  the time-per-record curve) against `export -f json` of the same file; time and peak RSS.
- ``serve``: serving.py (first answer, page latencies, peak RSS against `datasette`).

A command that fails or outlives ``--timeout`` is recorded with why (``failure``) and the
run goes on. Every command only reads the databases it is given, except `load`, which
writes into copies of an empty database.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import surows
from harness import ENV, PY, SU, Cmd, log, measure

SEEDED_AGREEMENT = "kz-us-washington-29-agreements"  # the seeded page people open first
PARTS = ("startup", "load", "reads", "report", "serve")
RECORD_TABLES = ("agreements", "deals", "mineral_deposits", "infrastructure_projects", "events")
STALE_UP_TO = 200_000  # agreements: beyond, hashing every record needs GBs (issue 27)
COLUMNS = 120  # the terminal width of the Rich start-up command (as rich_startup.py)


@dataclass
class Size:
    """One database measured: ``key`` is "seeded" or the synthetic agreements it was
    built with ("20000", "1000000"), the key ``--skip`` and the results use."""

    key: str
    path: Path
    agreements: int
    records: int
    origin: str  # how it came to be measured (built here, --scale-db, a copy upgraded)
    slug: str  # the agreement `show`, `cite` and the record page open
    agreement_id: int

    def label(self) -> str:
        return "seeded" if self.key == "seeded" else f"{self.agreements:,}"

    def facts(self) -> dict:
        return {"key": self.key, "agreements": self.agreements, "records": self.records,
                "origin": self.origin, "slug": self.slug, "bytes": self.path.stat().st_size}  # fmt: skip


@dataclass
class Plan:
    kz: str
    work: Path
    sizes: list[Size]
    runs: int
    warmup: int
    timeout: float  # seconds one run of a command may take
    parts: tuple[str, ...] = PARTS
    skips: dict[tuple[str, str], str] = field(default_factory=dict)  # (part, size) -> why
    load_runs: int = 1
    load_max: int = STALE_UP_TO  # agreements: larger databases' loads are left out
    report_runs: int = 1
    report_extra: Size | None = None  # a small synthetic database for report's curve
    # loaded when no synthetic size's export loads: within the load file limit (20 MB)
    load_fallback: Size | None = None
    serve_clients: int = 4
    serve_rounds: int = 8
    word: str = "tungsten"
    skipped: list[dict] = field(default_factory=list)

    def wanted(self, part: str, size: Size) -> bool:
        """Whether ``part`` runs at ``size``; if not, the reason is recorded."""
        why = self.skips.get((part, size.key)) or self.skips.get((part, "*"))
        if why:
            self.skipped.append({"part": part, "size": size.key, "reason": why})
            log(f"{part} at {size.label()}: skipped ({why})")
        return not why

    def big(self, size: Size) -> bool:
        return size.agreements > STALE_UP_TO


def describe(db: Path, key: str, origin: str) -> Size:
    """The facts of one database that the commands need (read-only)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        q = conn.execute
        agreements = int(q("SELECT count(*) FROM agreements").fetchone()[0])
        records = sum(int(q(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in RECORD_TABLES)
        row = q("SELECT id, slug FROM agreements WHERE slug LIKE 'synth-%' ORDER BY id LIMIT 1"
                ).fetchone() if key != "seeded" else None  # fmt: skip
        if row is None:
            row = q(
                "SELECT id, slug FROM agreements WHERE slug = ?", (SEEDED_AGREEMENT,)
            ).fetchone()
    finally:
        conn.close()
    return Size(key, db, agreements, records, origin, str(row[1]), int(row[0]))


def synthetic_count(db: Path) -> int:
    """The synthetic agreements in ``db`` (what synth.py's ``--agreements`` was)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM agreements WHERE slug LIKE 'synth-%'"
                                ).fetchone()[0])  # fmt: skip
    finally:
        conn.close()


def stored_hash(db: Path) -> dict:
    """The content hash row of ``db`` (migration 0015): its value and whether it is fresh."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value, stale FROM derived_state WHERE name = 'content_hash'"
                           ).fetchone()  # fmt: skip
    except sqlite3.Error:
        row = None
    finally:
        conn.close()
    return {"value": row[0], "fresh": not row[1]} if row else {"value": None, "fresh": False}


# --- the parts ------------------------------------------------------------------------------


def startup(plan: Plan) -> dict:
    from run import US_SQL  # the SQL checked in run.py to return what kzdiplo lists

    seeded = str(plan.sizes[0].path)
    listing = ["agreements", "--partner", "US"]
    env = ["env", f"COLUMNS={COLUMNS}"]
    cmds = [
        Cmd("kz_table", "kzdiplo agreements --partner US (Rich table)",
            [*env, plan.kz, "--db", seeded, *listing], "su_us"),
        Cmd("kz_json", "kzdiplo agreements --partner US -f json",
            [*env, plan.kz, "--db", seeded, *listing, "-f", "json"], "su_us"),
        Cmd("su_us", "sqlite-utils query (the same agreements' SQL)",
            [*env, SU, "query", seeded, US_SQL]),
    ]  # fmt: skip
    runs = max(4 * plan.runs + 1, 21)  # start-up is cheap and the ratios are close
    measure(cmds, runs, max(plan.warmup, 1), "startup", timeout=plan.timeout, tolerant=True)
    return {"runs": runs, "commands": [c.result() for c in cmds]}


def _export(kz: str, db: Path, fmt: str, out: Path, timeout: float) -> dict:
    """``db`` exported to ``out``: its size (and lines, for NDJSON), or why it was not."""
    t0 = time.perf_counter()
    with out.open("wb") as f:
        try:
            done = subprocess.run([kz, "--db", str(db), "export", "-f", fmt, "--out", "-"],
                                  env=ENV, stdout=f, stderr=subprocess.PIPE, timeout=timeout)  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"failure": f"export did not finish in {timeout:,.0f} s"}
    if done.returncode:
        return {"failure": done.stderr.decode(errors="replace").strip()[-300:]}
    lines = sum(1 for _ in out.open("rb")) if fmt == "ndjson" else None
    return {"bytes": out.stat().st_size, "records": lines, "seconds": time.perf_counter() - t0}


def _load_cmds(plan: Plan, size: Size, empty: Path, files: dict) -> list[Cmd]:
    """The loads of ``size``'s two exports and their peers: sqlite-utils' insert of the
    same rows, table by table (the issue's peer), and of the NDJSON lines into one table;
    the exports and the rows' files are made here, untimed (a failed export is recorded
    in ``files``)."""
    folder = empty.parent
    rows_key, cmds = f"rows@{size.key}", []
    ndjson = folder / f"{size.key}.ndjson"
    for fmt in ("ndjson", "json"):
        path = folder / f"{size.key}.{fmt}"
        log(f"load: exporting {size.label()} as {fmt}")
        files[f"{fmt}@{size.key}"] = got = _export(plan.kz, size.path, fmt, path, plan.timeout)
        if "failure" in got:
            continue
        target = folder / f"t-{fmt}-{size.key}.db"
        script = f'cp "{empty}" "{target}" && exec "{plan.kz}" --db "{target}" load "{path}"'
        cmds.append(Cmd(f"{fmt}@{size.key}", f"kzdiplo load ({fmt.upper()}, {size.label()})",
                        ["sh", "-c", script], rows_key))  # fmt: skip
    log(f"load: the rows of {size.label()}, a file per table, for sqlite-utils")
    rows = folder / f"rows-{size.key}"
    files[rows_key] = {"rows": surows.dump(size.path, rows)}
    cmds.append(Cmd(rows_key, f"sqlite-utils insert of the same rows, a table at a time "
                    f"({size.label()})", ["sh", "-c", surows.script(SU, rows, folder /
                    f"t-rows-{size.key}.db")]))  # fmt: skip
    if "failure" not in files[f"ndjson@{size.key}"]:
        target = folder / f"t-su-{size.key}.db"
        script = f'rm -f "{target}" && exec "{SU}" insert "{target}" records "{ndjson}" --nl'
        cmds.append(Cmd(f"su@{size.key}", f"sqlite-utils insert --nl of the export's lines "
                        f"({size.label()})", ["sh", "-c", script], rows_key))  # fmt: skip
        if not plan.big(size):  # its source is one more load, untimed: an hour at a million
            cmds += _floor_cmd(plan, size, empty, ndjson)
    return cmds


def _floor_cmd(plan: Plan, size: Size, empty: Path, ndjson: Path) -> list[Cmd]:
    """sqlfloor.py's copy of what a load of ``size``'s NDJSON leaves in the database (one
    load, untimed, makes the source), beside sqlite-utils: the time no loader of this
    schema can go below. None when that load fails (its own row says why)."""
    folder = empty.parent
    loaded = folder / f"floor-source-{size.key}.db"
    shutil.copyfile(empty, loaded)
    done = subprocess.run([plan.kz, "--db", str(loaded), "load", str(ndjson)], env=ENV,
                          capture_output=True, timeout=plan.timeout)  # fmt: skip
    if done.returncode:
        return []
    target = folder / f"t-floor-{size.key}.db"
    floor = Path(__file__).resolve().parent / "sqlfloor.py"
    script = f'cp "{empty}" "{target}" && exec "{PY}" "{floor}" "{target}" "{loaded}"'
    return [Cmd(f"floor@{size.key}", f"SQL floor: the loaded rows copied in SQL ({size.label()})",
                ["sh", "-c", script], f"su@{size.key}")]  # fmt: skip


def load(plan: Plan) -> dict:
    """The loads of the sizes up to 200,000 agreements in one round-robin, each larger
    size's in one round of its own; if no synthetic size's export loads, the fallback
    size's (within the old file limit) in a second one, for a ratio."""
    folder = plan.work / "commands"
    folder.mkdir(exist_ok=True)
    empty = folder / "empty.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{empty}{suffix}").unlink(missing_ok=True)
    subprocess.run([plan.kz, "--db", str(empty), "db", "init", "--empty"], check=True, env=ENV,
                   capture_output=True)  # fmt: skip
    files: dict = {}
    small: list[Cmd] = []
    big: list[list[Cmd]] = []
    for size in plan.sizes:
        if size.agreements > plan.load_max:
            plan.skips.setdefault(("load", size.key), f"beyond --load-max {plan.load_max:,} "
                                  "agreements (at a million the exports and loads take about "
                                  "an hour; raise --load-max to include it)")  # fmt: skip
        if plan.wanted("load", size):
            got = _load_cmds(plan, size, empty, files)
            if plan.big(size):
                big.append(got)
            else:
                small += got
    log(f"load: {len(small)} commands, {plan.load_runs} round(s), every run under GNU time")
    measure(small, plan.load_runs, 0, "load", rss=True, timeout=plan.timeout, tolerant=True)
    cmds = list(small)
    for one in big:
        log(f"load: {one[0].label}: its {len(one)} commands, one round")
        measure(one, 1, 0, "load (one size)", rss=True, timeout=plan.timeout, tolerant=True)
        cmds += one
    loaded = [c for c in cmds if c.key.split("@")[1] != "seeded" and c.times
              and c.key.split("@")[0] in ("ndjson", "json")]  # fmt: skip
    fallback = plan.load_fallback
    if not loaded and fallback is not None:
        log(f"load: no synthetic export loaded; the fallback, {fallback.label()} agreements")
        more = _load_cmds(plan, fallback, empty, files)
        measure(more, plan.load_runs, 0, "load (fallback)", rss=True, timeout=plan.timeout,
                tolerant=True)  # fmt: skip
        cmds += more
    for path in [*folder.glob("t-*.db"), *folder.glob("floor-source-*.db")]:
        path.unlink()
    for path in folder.glob("rows-*"):
        shutil.rmtree(path)
    return {"runs": plan.load_runs, "files": files, "commands": [c.result() for c in cmds],
            "fallback": fallback.facts() if fallback and not loaded else None}  # fmt: skip


def _stale_copy(db: Path, copy: Path) -> Path:
    """``db`` with its stored content hash marked stale (as after a write through ad-hoc
    SQL): `cite` then hashes every record."""
    shutil.copyfile(db, copy)
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("UPDATE derived_state SET stale = 1 WHERE name = 'content_hash'")
    conn.close()
    return copy


def reads(plan: Plan) -> dict:
    verbs = {"show": ["show", "agreement"], "cite": ["cite"], "search": ["search", plan.word]}
    cmds: list[Cmd] = []
    sizes = [s for s in plan.sizes if s.key == "seeded" or plan.wanted("reads", s)]
    for verb, args in verbs.items():
        for size in sizes:
            tail = [] if verb == "search" else [size.slug]
            peer = None if size.key == "seeded" else f"{verb}@seeded"
            cmds.append(Cmd(f"{verb}@{size.key}", f"`{verb}` ({size.label()})",
                            [plan.kz, "--db", str(size.path), *args, *tail], peer))  # fmt: skip
    log(f"reads: {len(cmds)} commands, {plan.runs} rounds")
    measure(cmds, plan.runs, plan.warmup, "reads", timeout=plan.timeout, tolerant=True)
    small = [s for s in sizes if s.key != "seeded" and not plan.big(s)]
    if small:  # seconds a run: a few rounds of its own, beside the seeded `cite`
        stale = _stale_copy(small[0].path, plan.work / "commands" / "stale.db")
        pair = [Cmd(f"cite_stale@{small[0].key}",
                    f"`cite` ({small[0].label()}, its stored hash stale)",
                    [plan.kz, "--db", str(stale), "cite", small[0].slug], "cite_again@seeded"),
                Cmd("cite_again@seeded", "`cite` (seeded, beside the stale one)",
                    [plan.kz, "--db", str(plan.sizes[0].path), "cite", plan.sizes[0].slug])]  # fmt: skip
        measure(pair, 3, 0, "reads (stale hash)", timeout=plan.timeout, tolerant=True)
        cmds += pair
        stale.unlink()
    seeded_hash = stored_hash(plan.sizes[0].path)["value"]
    hashes = {}
    for s in sizes:
        h = stored_hash(s.path)
        h["seeded_leftover"] = s.key != "seeded" and h["fresh"] and h["value"] == seeded_hash
        hashes[s.key] = h
    return {"runs": plan.runs, "word": plan.word, "stored_hash": hashes,
            "commands": [c.result() for c in cmds]}  # fmt: skip


def _tree(folder: Path) -> dict:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files)}


def report(plan: Plan) -> dict:
    """`report` against `export -f json` at each size; the databases up to 200,000
    agreements in one round-robin, each larger one on its own (one round)."""
    folder = plan.work / "commands" / "reports"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    sizes = [s for s in plan.sizes if plan.wanted("report", s)]
    if plan.report_extra and plan.wanted("report", plan.report_extra):
        sizes.insert(1, plan.report_extra)

    def pair(size: Size) -> list[Cmd]:
        out = folder / size.key
        script = f'exec "{plan.kz}" --db "{size.path}" report --out "{out}/run-$$"'
        return [Cmd(f"report@{size.key}", f"kzdiplo report ({size.label()})", ["sh", "-c", script],
                    f"export@{size.key}"),
                Cmd(f"export@{size.key}", f"kzdiplo export -f json ({size.label()})",
                    [plan.kz, "--db", str(size.path), "export", "-f", "json", "--out", "-"])]  # fmt: skip

    small = [c for s in sizes if not plan.big(s) for c in pair(s)]
    log(f"report: {len(small)} commands, {plan.report_runs} round(s), under GNU time")
    measure(small, plan.report_runs, 0, "report", rss=True, timeout=plan.timeout, tolerant=True)
    cmds = list(small)
    for size in (s for s in sizes if plan.big(s)):
        one = pair(size)
        log(f"report at {size.label()}: one round (timeout {plan.timeout:,.0f} s)")
        measure(one, 1, 0, f"report {size.label()}", rss=True, timeout=plan.timeout,
                tolerant=True)  # fmt: skip
        cmds += one
    written = {}
    for size in sizes:  # what the last run wrote (a walk of a million files is left out)
        runs = sorted((folder / size.key).glob("run-*"))
        written[size.key] = _tree(runs[-1]) if runs and not plan.big(size) else None
        if not plan.big(size):
            shutil.rmtree(folder / size.key, ignore_errors=True)
        elif runs:
            log(f"report: {folder / size.key} left in place (removed by the next run)")
    return {"runs": plan.report_runs, "sizes": [s.facts() for s in sizes], "written": written,
            "commands": [c.result() for c in cmds]}  # fmt: skip


def serve(plan: Plan) -> dict:
    import serving

    if not shutil.which(serving.DATASETTE):
        for size in plan.sizes:
            plan.skips.setdefault(("serve", size.key), "datasette is not installed (the peer): "
                                  "pip install -e '.[web,bench]'")  # fmt: skip
    out: dict = {}
    for size in plan.sizes:
        if not plan.wanted("serve", size):
            continue
        big = plan.big(size)
        out[size.key] = serving.measure_size(
            plan.kz, size.path, size.slug, size.agreement_id, starts=1 if big else 3,
            clients=plan.serve_clients, rounds=max(2, plan.serve_rounds // 2) if big
            else plan.serve_rounds, timeout=plan.timeout, request_timeout=min(plan.timeout, 120))  # fmt: skip
    return out


PART_FUNCTIONS = {"startup": startup, "load": load, "reads": reads, "report": report,
                  "serve": serve}  # fmt: skip


def measure_all(plan: Plan) -> dict:
    """Every part asked for, in order, each timed (``part_seconds``), as plain data."""
    out: dict = {"format": 2, "sizes": [s.facts() for s in plan.sizes], "runs": plan.runs,
                 "timeout": plan.timeout, "part_seconds": {}}  # fmt: skip
    for part in PARTS:
        if part not in plan.parts:
            continue
        t0 = time.perf_counter()
        log(f"== {part}: start")
        out[part] = PART_FUNCTIONS[part](plan)
        out["part_seconds"][part] = elapsed = time.perf_counter() - t0
        log(f"== {part}: done in {elapsed / 60:.1f} min")
    out["skipped"] = plan.skipped
    return out


def write_into(results_json: Path, commands: dict, meta: dict, merge: bool = False) -> dict:
    """The section's figures added to an existing results file, the other sections'
    figures (start-up, scale) kept as they were measured; a section of the older format
    is kept as ``before`` (the figures before this round's work). ``merge``: the parts
    measured now replace theirs in the existing section, the others are kept (each part
    says when and on which commit it was measured: ``part_measured``)."""
    results = json.loads(results_json.read_text())
    old = results.get("commands")
    section = commands | meta
    section["part_measured"] = {part: {"date": meta.get("date"), "commit": meta["git"]["commit"],
                                       "command": meta.get("command")}
                                for part in PARTS if part in commands}  # fmt: skip
    if merge and old and old.get("format") == 2:
        kept = [p for p in PARTS if p in old and p not in commands]
        for part in kept:
            section[part] = old[part]
            section["part_measured"][part] = old.get("part_measured", {}).get(part, {})
            section["part_seconds"][part] = old.get("part_seconds", {}).get(part, 0.0)
        section["skipped"] = [x for x in old.get("skipped", []) if x["part"] in kept] + section[
            "skipped"
        ]
        sizes = {s["key"]: s for s in old["sizes"]} | {s["key"]: s for s in section["sizes"]}
        section["sizes"] = sorted(sizes.values(), key=lambda s: s["agreements"])
    if old and old.get("format") != 2:
        section["before"] = old
    elif old and old.get("before"):
        section["before"] = old["before"]
    results["commands"] = section
    return results
