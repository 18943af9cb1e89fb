#!/usr/bin/env python3
"""The scale benchmark on PostgreSQL: the synthetic million-agreement SQLite database
(benchmarks/synth.py) copied into a fresh PostgreSQL database, then the scale commands
timed with the real CLI and every statement they send explained.

    scripts/with-postgres.sh python benchmarks/pg_scale.py --sqlite WORKDIR/synth-1000000.db

(WORKDIR: benchmarks/run.py's work directory, by default ``kzdiplo-bench`` in the
system's temporary directory.)

The superuser URL comes from ``--url`` or ``KZDIPLO_TEST_POSTGRES_URL``. Steps:

1. create the database ``--database`` (dropped first if it exists), migrate it to the
   head revision and seed it (``kzdiplo.migrate.upgrade``, ``kzdiplo.seed.seed``, as
   tests/test_postgres.py builds its template); check that its seeded rows have the ids
   the SQLite file's have (the synthetic rows point at them);
2. copy the synthetic rows (every row with an id above the seeded ones) of the seven
   tables synth.py fills, in foreign-key order, ids preserved, with psycopg's ``COPY``;
   with ``--strategy drop`` (default) the loaded tables' secondary indexes and foreign
   keys are dropped first and recreated after (validating every row), with ``keep`` they
   stay; user triggers (the search-index triggers of migration 0006) are disabled for
   the copy; then the sequences are reset;
3. rebuild what kzdiplo derives after a load: the search table (migration 0006, from
   the ``search_documents`` view, when the database has it) and the partners cache
   (``kzdiplo.loader.rebuild_derived``); ``VACUUM (ANALYZE)``;
4. time the commands (``kzdiplo ...`` in subprocesses, ``KZDIPLO_DATABASE_URL`` set)
   against the same commands on a seeded database, alternating, after warm-up;
5. run each command once in this process with the reader's statements recorded, and
   ``EXPLAIN (ANALYZE, BUFFERS)`` each statement; a plan with a sequential scan of a
   large table fails the check for every command but ``partners`` (an aggregate over
   every party row, which reads them all by design).

Raw results go to ``--json`` and the report to ``--output`` (docs/benchmarks-postgres.md).
``--before FILE`` adds the figures of an earlier run (before a fix) to the report, and
``--render-only FILE`` rewrites the report from saved results without measuring.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from harness import DEFAULT_WORKDIR, KZ  # noqa: E402
from render import ms  # noqa: E402  (one way to print a time)

# The tables synth.py fills, parents first.
LOADED = (
    "organizations", "sources", "agreements", "deals", "parties", "record_sectors", "citations",
)  # fmt: skip
# Lookup tables the synthetic rows point at: their ids must be the same on both sides.
REFERENCED = {"countries": "code", "sectors": "slug"}
# Tables big enough at scale that reading all of them is the cliff this looks for.
LARGE = ("agreements", "deals", "parties", "record_sectors", "citations", "search_index")
# The search table of migration 0006, filled from the view the way the migration does.
REBUILD_SEARCH = [
    "TRUNCATE search_index",
    "INSERT INTO search_index (doc_id, noun, key, label, title, body) "
    "SELECT doc_id, noun, key, label, title, body FROM search_documents",
]
# (label, arguments); the rare partner is filled in from --rare.
COMMANDS: list[tuple[str, list[str]]] = [
    ("agreements --partner US --limit 50", ["agreements", "--partner", "US", "--limit", "50"]),
    (
        "agreements --partner {rare} --limit 50",
        ["agreements", "--partner", "{rare}", "--limit", "50"],
    ),
    ("search tungsten", ["search", "tungsten"]),
    ("partners", ["partners"]),
    ("deals --sector minerals --limit 50", ["deals", "--sector", "minerals", "--limit", "50"]),
]
FULL_SCAN_EXPECTED = {"partners"}  # aggregates over every row: a scan is the plan


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- databases --------------------------------------------------------------------------


def db_url(admin_url: str, database: str) -> str:
    """The SQLAlchemy URL of ``database`` on the server of ``admin_url``."""
    from sqlalchemy.engine import make_url

    return make_url(admin_url).set(database=database).render_as_string(hide_password=False)


def conninfo(url: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def recreate_database(admin_url: str, database: str) -> str:
    import psycopg

    with psycopg.connect(conninfo(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    return db_url(admin_url, database)


def migrate_and_seed(url: str, revision: str = "head") -> None:
    from kzdiplo.db import make_engine
    from kzdiplo.migrate import upgrade
    from kzdiplo.seed import seed

    upgrade(url, revision)
    engine = make_engine(url)
    try:
        seed(engine)
    finally:
        engine.dispose()


def seeded_ids(pg: Any, lite: sqlite3.Connection) -> dict[str, int]:
    """The highest seeded id of each loaded table; raises when the seeded rows differ
    from the SQLite file's (the synthetic rows would point at the wrong ones)."""
    for table, key in REFERENCED.items():
        ours = pg.execute(f"SELECT id, {key} FROM {table} ORDER BY id").fetchall()
        theirs = lite.execute(f"SELECT id, {key} FROM {table} ORDER BY id").fetchall()
        if [tuple(r) for r in ours] != [tuple(r) for r in theirs]:
            raise SystemExit(f"{table}: the seeded ids differ from the SQLite file's")
    highest = {}
    for table in LOADED:
        top = pg.execute(f"SELECT COALESCE(max(id), 0) FROM {table}").fetchone()[0]
        ours = pg.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        theirs = lite.execute(f"SELECT count(*) FROM {table} WHERE id <= ?", (top,)).fetchone()[0]
        if ours != theirs:
            raise SystemExit(f"{table}: {ours} seeded rows here, {theirs} in the SQLite file")
        highest[table] = top
    return highest


def secondary_objects(pg: Any) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """(CREATE INDEX statements, their names, (table, ADD CONSTRAINT ...) foreign keys) of
    the loaded tables: what ``--strategy drop`` removes and puts back."""
    indexes = pg.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = 'public' "
        "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conname = i.indexname)",
        (list(LOADED),),
    ).fetchall()
    fks = pg.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) "
        "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid::regclass::text = ANY(%s)",
        (list(LOADED),),
    ).fetchall()
    constraints = [
        (table, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for table, name, definition in fks
    ]
    return [d for _, d in indexes], [n for n, _ in indexes], constraints


def copy_table(pg: Any, lite: sqlite3.Connection, table: str, after_id: int) -> int:
    """COPY the SQLite rows of ``table`` with an id above ``after_id``; returns the count."""
    columns = [
        r[0]
        for r in pg.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
            "AND table_name = %s ORDER BY ordinal_position",
            (table,),
        )
    ]
    names = ", ".join(columns)
    rows = lite.execute(f"SELECT {names} FROM {table} WHERE id > ? ORDER BY id", (after_id,))
    n = 0
    with pg.cursor().copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


@contextmanager
def phase(phases: dict[str, float], name: str) -> Iterator[None]:
    log(name)
    start = time.perf_counter()
    yield
    phases[name] = round(time.perf_counter() - start, 2)


def load(url: str, sqlite_path: Path, strategy: str) -> dict[str, Any]:
    """Steps 2 and 3 of the module docstring; returns the phase times and row counts."""
    import psycopg
    from sqlalchemy import create_engine

    from kzdiplo.loader import rebuild_derived

    phases: dict[str, float] = {}
    copied: dict[str, int] = {}
    lite = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    with psycopg.connect(conninfo(url)) as pg:
        highest = seeded_ids(pg, lite)
        has_search = pg.execute("SELECT to_regclass('search_index') IS NOT NULL").fetchone()[0]
        indexes, index_names, fks = secondary_objects(pg)
        with phase(phases, "copy"):
            for table in LOADED:
                pg.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            if strategy == "drop":
                for name in index_names:
                    pg.execute(f'DROP INDEX "{name}"')
                for table, statement in fks:
                    name = statement.split('"')[1]
                    pg.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for table in LOADED:
                start = time.perf_counter()
                copied[table] = copy_table(pg, lite, table, highest[table])
                log(f"  {table}: {copied[table]:,} rows in {time.perf_counter() - start:.1f} s")
            pg.commit()
        if strategy == "drop":
            with phase(phases, "indexes"):
                for statement in indexes:
                    pg.execute(statement)
                pg.commit()
            with phase(phases, "foreign keys"):
                for _, statement in fks:
                    pg.execute(statement)
                pg.commit()
        with phase(phases, "sequences"):
            for table in LOADED:
                pg.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            for table in LOADED:
                pg.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            pg.commit()
        if has_search:
            with phase(phases, "search table"):
                for statement in REBUILD_SEARCH:
                    pg.execute(statement)
                pg.commit()
    engine = create_engine(url)
    with phase(phases, "derived"), engine.begin() as conn:
        rebuild_derived(conn)
    engine.dispose()
    with psycopg.connect(conninfo(url), autocommit=True) as pg, phase(phases, "vacuum analyze"):
        pg.execute("VACUUM (ANALYZE)")
    rows = sum(copied.values())
    load_s = sum(v for k, v in phases.items() if k != "vacuum analyze")
    return {
        "strategy": strategy,
        "phases": phases,
        "copied": copied,
        "rows": rows,
        "copy_rows_per_s": round(rows / phases["copy"]),
        "load_seconds": round(load_s, 2),
        "load_rows_per_s": round(rows / load_s),
    }


def facts(url: str) -> dict[str, Any]:
    """Row counts, sizes and server settings of the scale database."""
    import psycopg

    with psycopg.connect(conninfo(url)) as pg:
        tables = [
            r[0]
            for r in pg.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        counts = {t: pg.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}
        size = pg.execute("SELECT pg_database_size(current_database())").fetchone()[0]
        settings = {
            name: pg.execute(f"SHOW {name}").fetchone()[0]
            for name in ("server_version", "shared_buffers", "work_mem", "effective_cache_size",
                         "max_parallel_workers_per_gather", "jit", "random_page_cost")
        }  # fmt: skip
        revision = pg.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    return {"counts": counts, "bytes": size, "settings": settings, "revision": revision}


# --- timing -----------------------------------------------------------------------------


def child_env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
    return env | {"KZDIPLO_DATABASE_URL": url, "COLUMNS": "110", "NO_COLOR": "1"}


def run_once(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([KZ, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"kzdiplo {' '.join(args)} failed: {done.stderr.decode()}")
    return elapsed


def stats(times: list[float]) -> dict[str, Any]:
    return {
        "min": min(times),
        "median": statistics.median(times),
        "max": max(times),
        "runs": len(times),
    }


def measure(
    commands: list[tuple[str, list[str]]], urls: dict[str, str], runs: int, warmup: int
) -> list[dict[str, Any]]:
    """Every command on every database, round-robin with the order rotating each round."""
    jobs = [(label, args, where) for label, args in commands for where in urls]
    envs = {where: child_env(url) for where, url in urls.items()}
    times: dict[tuple[str, str], list[float]] = {(j[0], j[2]): [] for j in jobs}
    for round_ in range(warmup + runs):
        shift = round_ % len(jobs)
        for label, args, where in jobs[shift:] + jobs[:shift]:
            elapsed = run_once(args, envs[where])
            if round_ >= warmup:
                times[(label, where)].append(elapsed)
    out = []
    for label, args in commands:
        row: dict[str, Any] = {"label": label, "args": args}
        for where in urls:
            row[where] = stats(times[(label, where)])
        out.append(row)
    return out


# --- plans ------------------------------------------------------------------------------


def trace(url: str, args: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """The statements ``kzdiplo ARGS`` sends through kzdiplo's reader, with parameters."""
    from typer.testing import CliRunner

    from kzdiplo import reader
    from kzdiplo.cli import app

    sent: list[tuple[str, dict[str, Any]]] = []
    classes = (reader.PsycopgReader, reader.SqlAlchemyReader)  # whichever server_reader picks
    originals = {cls: cls.stream for cls in classes}

    def recorder(original: Any) -> Any:
        def recording(self: Any, sql: str, params: dict[str, Any] | None = None) -> Any:
            sent.append((sql, dict(params or {})))
            return original(self, sql, params)

        return recording

    for cls in classes:
        cls.stream = recorder(originals[cls])  # type: ignore[method-assign]
    try:
        result = CliRunner().invoke(app, args, env={"KZDIPLO_DATABASE_URL": url})
    finally:
        for cls in classes:
            cls.stream = originals[cls]  # type: ignore[method-assign]
    if result.exit_code != 0:
        raise SystemExit(f"kzdiplo {' '.join(args)} failed: {result.output}")
    return sent


SEQ_SCAN = re.compile(r"Seq Scan on (\w+) .*actual time=\S+ rows=(\d+) loops=(\d+)")
REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


def seq_scans(plan: list[str], counts: dict[str, int]) -> list[str]:
    """The large tables a plan reads (mostly) in full with a sequential scan: rows
    returned plus rows filtered out, over all loops, at least a tenth of the table (a
    scan under a LIMIT that stops after a few blocks is not a full scan)."""
    found = set()
    for i, line in enumerate(plan):
        scan = SEQ_SCAN.search(line)
        if not scan or scan[1] not in LARGE:
            continue
        removed = 0
        for below in plan[i + 1 :]:
            if "->" in below:
                break
            if m := REMOVED.search(below):
                removed = int(m[1])
        read = (int(scan[2]) + removed) * int(scan[3])
        if read * 10 >= counts.get(scan[1], 0):
            found.add(scan[1])
    return sorted(found)


def explain(
    url: str, statements: list[tuple[str, dict[str, Any]]], counts: dict[str, int]
) -> list[dict[str, Any]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    out = []
    try:
        with engine.connect() as conn:
            for sql, params in statements:
                plan = [
                    r[0] for r in conn.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {sql}"), params)
                ]
                total = next((p for p in plan if p.startswith("Execution Time")), "")
                ms = float(re.findall(r"[\d.]+", total)[0]) if total else None
                out.append({"sql": sql, "params": params, "ms": ms, "plan": plan,
                            "seq_scans": seq_scans(plan, counts)})  # fmt: skip
                conn.rollback()
    finally:
        engine.dispose()
    return out


def plans(
    url: str, commands: list[tuple[str, list[str]]], counts: dict[str, int]
) -> list[dict[str, Any]]:
    out = []
    for label, args in commands:
        statements = explain(url, trace(url, args), counts)
        scans = sorted({t for s in statements for t in s["seq_scans"]})
        ok = not scans or label in FULL_SCAN_EXPECTED
        out.append({"label": label, "statements": statements, "seq_scans": scans, "ok": ok})
    return out


# --- the whole run ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """run.py's description of the machine, with Python's version and the load average."""
    from harness import machine as described

    return described() | {"python": platform.python_version(), "load": os.getloadavg()}


def git_commit() -> str:
    done = subprocess.run(
        ["git", "-C", str(ROOT), "log", "-1", "--format=%h %s"], capture_output=True, text=True
    )
    return done.stdout.strip()


def run(
    admin_url: str,
    sqlite_path: Path,
    *,
    database: str = "kzdiplo_scale",
    seeded_database: str = "kzdiplo_seeded",
    strategy: str = "drop",
    reuse: bool = False,
    rare: str = "GM",
    runs: int = 10,
    warmup: int = 2,
    revision: str = "head",
) -> dict[str, Any]:
    """Build (unless ``reuse``) and measure; returns the raw results (see ``render``)."""
    started = time.time()
    results: dict[str, Any] = {
        "started": dt.datetime.now().isoformat(timespec="minutes"),
        "commit": git_commit(),
        "machine": machine(),
        "sqlite": str(sqlite_path),
        "database": database,
        "rare": rare,
        "runs": runs,
        "warmup": warmup,
    }
    scale_url = db_url(admin_url, database)
    if reuse:
        from kzdiplo.migrate import upgrade

        log(f"reusing {database}, upgrading it to revision {revision}")
        start = time.perf_counter()
        upgrade(scale_url, revision)
        results["upgrade_seconds"] = round(time.perf_counter() - start, 2)
    else:
        log(f"creating {database}, migrating and seeding it")
        start = time.perf_counter()
        recreate_database(admin_url, database)
        migrate_and_seed(scale_url, revision)
        init = round(time.perf_counter() - start, 2)
        results["load"] = load(scale_url, sqlite_path, strategy) | {"init_seconds": init}
    log(f"creating {seeded_database} (migrated and seeded)")
    seeded_url = recreate_database(admin_url, seeded_database)
    migrate_and_seed(seeded_url, revision)
    results["facts"] = facts(scale_url)
    commands = [
        (label.format(rare=rare), [a.format(rare=rare) for a in args]) for label, args in COMMANDS
    ]
    log(f"timing {len(commands)} commands x 2 databases, {warmup} + {runs} rounds")
    results["timings"] = measure(commands, {"scale": scale_url, "seeded": seeded_url}, runs, warmup)
    log("query plans (EXPLAIN ANALYZE of every statement)")
    results["plans"] = plans(scale_url, commands, results["facts"]["counts"])
    results["machine"]["load_end"] = os.getloadavg()
    results["seconds"] = round(time.time() - started)
    return results


# --- the report ---------------------------------------------------------------------------


def short(sql: str, width: int = 500) -> str:
    """One line, IN lists of many parameters shortened."""
    flat = " ".join(sql.split())
    flat = re.sub(r"\((:\w+?)\d+(, :\w+?\d+){3,}\)", r"(\1..., many)", flat)
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def timing_table(results: dict[str, Any], before: dict[str, Any] | None) -> list[str]:
    head = "| command | seeded median | scale: min | median | max | ratio to seeded |"
    rule = "|---|---|---|---|---|---|"
    if before:
        head += " before the fix: scale median (ratio) |"
        rule += "---|"
    earlier = {t["label"]: t for t in (before or {}).get("timings", [])}
    lines = [head, rule]
    for t in results["timings"]:
        s, seeded = t["scale"], t["seeded"]
        line = (
            f"| `kzdiplo {t['label']}` | {ms(seeded['median'])} | {ms(s['min'])} | "
            f"{ms(s['median'])} | {ms(s['max'])} | {s['median'] / seeded['median']:.2f}x |"
        )
        if before:
            old = earlier.get(t["label"])
            line += (
                f" {ms(old['scale']['median'])} "
                f"({old['scale']['median'] / old['seeded']['median']:.2f}x) |"
                if old
                else " — |"
            )
        lines.append(line)
    return lines


def plan_section(plan: dict[str, Any], title: str) -> list[str]:
    scans = ", ".join(plan["seq_scans"]) or "none"
    expected = (
        " (expected: an aggregate over every row)" if plan["label"] in FULL_SCAN_EXPECTED else ""
    )
    lines = [
        f"#### {title}`kzdiplo {plan['label']}`",
        "",
        f"Sequential scans of large tables: {scans}{expected}. "
        f"Verdict: **{'ok' if plan['ok'] else 'scans everything for a selective filter'}**.",
        "",
    ]
    for s in plan["statements"]:
        when = f"{s['ms']:.1f} ms" if s["ms"] is not None else "?"
        lines += [f"- {when}: `{short(s['sql'])}`", "  ```"]
        lines += [f"  {p}" for p in s["plan"]]
        lines += ["  ```"]
    return [*lines, ""]


def render(results: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """The Markdown report (docs/benchmarks-postgres.md) from ``run``'s results."""
    m, f = results["machine"], results["facts"]
    c, settings = f["counts"], f["settings"]
    out = [
        "# kzdiplo on PostgreSQL at scale",
        "",
        f"Generated by `python benchmarks/pg_scale.py` on {results['started'].replace('T', ' ')} "
        f"(the run took {results['seconds'] / 60:.1f} min). Do not edit by hand: run it again. "
        "How: the docstring of benchmarks/pg_scale.py and benchmarks/README.md.",
        "",
        f"Code measured: commit `{results['commit']}` plus the working tree; schema revision "
        f"{f['revision']}.",
        "",
        "## Machine and server",
        "",
        f"- {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']:.1f} GiB memory, "
        f"Linux {m['kernel']}, "
        f"Python {m['python']}",
        f"- PostgreSQL {settings['server_version']} (scripts/with-postgres.sh: a throwaway "
        "cluster, fsync off, otherwise the default settings): "
        + ", ".join(f"{k} {v}" for k, v in settings.items() if k != "server_version"),
        "- load average (1/5/15 min) "
        + "/".join(f"{x:.2f}" for x in m["load"])
        + " at the start, "
        + "/".join(f"{x:.2f}" for x in m["load_end"])
        + " at the end",
        f"- {results['runs']} timed runs per command after {results['warmup']} warm-up rounds, "
        "commands alternating round-robin; whole-process wall time of the `kzdiplo` "
        "executable, stdout to /dev/null",
        "",
        "## The database",
        "",
        f"Copied from `{results['sqlite']}` (benchmarks/synth.py) into the database "
        f"`{results['database']}`: agreements {c['agreements']:,}, deals {c['deals']:,}, "
        f"parties {c['parties']:,}, record_sectors {c['record_sectors']:,}, citations "
        f"{c['citations']:,}, organizations {c['organizations']:,}, countries "
        f"{c['countries']:,}, sources {c['sources']:,}"
        + (f", search_index {c['search_index']:,}" if "search_index" in c else "")
        + f"; {f['bytes'] / 2**30:.2f} GiB on disk.",
        "",
    ]
    ld = results.get("load")
    if ld:
        out += [
            f"Load ({ld['rows']:,} rows copied; strategy `{ld['strategy']}`: "
            + ("secondary indexes and foreign keys dropped before the copy and recreated "
               "after" if ld["strategy"] == "drop" else "indexes and foreign keys kept")
            + "; user triggers disabled during the copy):",
            "",
            "| phase | seconds | rows/s |",
            "|---|---|---|",
            f"| create, migrate and seed | {ld['init_seconds']:.1f} | |",
        ]  # fmt: skip
        for name, seconds in ld["phases"].items():
            rate = f"{ld['copy_rows_per_s']:,}" if name == "copy" else ""
            out.append(f"| {name} | {seconds:.1f} | {rate} |")
        out += [
            f"| **load** (everything but VACUUM) | {ld['load_seconds']:.1f} | "
            f"**{ld['load_rows_per_s']:,}** |",
            "",
            "Rows per table: " + ", ".join(f"{t} {n:,}" for t, n in ld["copied"].items()) + ".",
            "",
        ]
    elif "upgrade_seconds" in results:
        out += [
            f"An existing database, upgraded to the head revision in "
            f"{results['upgrade_seconds']:.1f} s.",
            "",
        ]
    out += ["## Timings", "", *timing_table(results, before), ""]
    if before:
        out += [
            f"The before column: the same benchmark on commit `{before['commit']}` "
            f"(schema {before['facts']['revision']}), run {before['started'].replace('T', ' ')}, "
            f"{before['runs']} timed runs after {before['warmup']} warm-up rounds. "
            + before.get("note", ""),
            "",
        ]
    bad = [p["label"] for p in results["plans"] if not p["ok"]]
    out += [
        "## Query plans",
        "",
        "Every statement each command sends through kzdiplo's reader (recorded in-process), "
        "run again with `EXPLAIN (ANALYZE, BUFFERS)` on the scale database. A sequential "
        "scan that reads at least a tenth of " + ", ".join(LARGE) + " (rows returned plus "
        "rows filtered out) fails a selective command; one under a LIMIT that stops early "
        "does not.",
        "",
        "| command | statements | their time (EXPLAIN ANALYZE) | large tables scanned | verdict |",
        "|---|---|---|---|---|",
    ]
    for p in results["plans"]:
        total = sum(s["ms"] or 0 for s in p["statements"])
        verdict = "ok" if p["ok"] else "**full scan**"
        if p["ok"] and p["seq_scans"]:
            verdict = "ok (an aggregate over every row)"
        out.append(
            f"| `{p['label']}` | {len(p['statements'])} | {total:.1f} ms | "
            f"{', '.join(p['seq_scans']) or 'none'} | {verdict} |"
        )
    out += [
        "",
        (
            "No selective command's plan scans a large table."
            if not bad
            else "Plans that scan a large table for a selective filter: "
            + ", ".join(f"`{b}`" for b in bad)
            + "."
        ),
        "",
    ]
    for p in results["plans"]:
        out += plan_section(p, "")
    if before:
        out += ["## Before the fix: the plans that scanned", ""]
        for p in before["plans"]:
            if not p["ok"] or p["label"] in FULL_SCAN_EXPECTED:
                out += plan_section(p, "Before: ")
    return "\n".join(out).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("KZDIPLO_TEST_POSTGRES_URL"),
                        help="superuser URL (default: $KZDIPLO_TEST_POSTGRES_URL)")  # fmt: skip
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_WORKDIR / "synth-1000000.db")
    parser.add_argument("--database", default="kzdiplo_scale")
    parser.add_argument("--strategy", choices=("drop", "keep"), default="drop")
    parser.add_argument("--reuse", action="store_true", help="keep --database, upgrade it")
    parser.add_argument("--revision", default="head", help="schema revision to migrate to")
    parser.add_argument("--rare", default="GM", help="the rare partner (docs/benchmarks.md's)")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--json", type=Path, default=DEFAULT_WORKDIR / "pg-results.json")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks-postgres.md")
    parser.add_argument("--before", type=Path, help="results JSON of an earlier run")
    parser.add_argument("--render-only", type=Path, help="results JSON: write the report only")
    args = parser.parse_args(argv)
    before = json.loads(args.before.read_text()) if args.before else None
    if args.render_only:
        results = json.loads(args.render_only.read_text())
    else:
        if not args.url:
            parser.error("give --url or set KZDIPLO_TEST_POSTGRES_URL (scripts/with-postgres.sh)")
        if not args.reuse and not args.sqlite.exists():
            parser.error(f"{args.sqlite} does not exist (benchmarks/synth.py builds it)")
        results = run(args.url, args.sqlite, database=args.database, strategy=args.strategy,
                      reuse=args.reuse, rare=args.rare, runs=args.runs, warmup=args.warmup,
                      revision=args.revision)  # fmt: skip
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=str))
        log(f"raw results: {args.json}")
    args.output.write_text(render(results, before))
    log(f"report: {args.output}")


if __name__ == "__main__":
    main()
