#!/usr/bin/env python3
"""The scale benchmark (issue 6): measure, write docs/benchmarks.json, render docs/benchmarks.md.

    python benchmarks/run.py                       # N = 1,000,000 (about 15 min on 2 cores)
    python benchmarks/run.py --quick               # 20,000 agreements, few runs, into the workdir
    python benchmarks/run.py --commands --quick    # only section 7 (load, show, cite) at 20,000

Run it with the Python of the virtualenv that has kzdiplo and sqlite-utils installed
(``pip install -e '.[bench]'``): the commands timed come from that interpreter's ``bin``
directory. The functions here time things and return plain data; the raw figures go to
``--json`` (default docs/benchmarks.json, machine paths replaced by names) and
benchmarks/render.py turns them into the Markdown. What is measured and how:
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import time
from pathlib import Path

import commands
from harness import (
    DEFAULT_WORKDIR,
    ENV,
    HERE,
    KZ,
    PHASES,
    PY,
    ROOT,
    SQLITE3,
    SU,
    T0,
    Cmd,
    code_changed,
    compile_kzdiplo,
    git_state,
    import_times,
    kz,
    load_average,
    log,
    machine,
    make_seeded,
    measure,
    plan,
    portable,
    ro,
    trace,
    versions,
    write_json,
)
from render import render

EXPERIMENTS = HERE / "explore" / "experiments.py"

# --- the databases -------------------------------------------------------------------------


def synth(path: Path, n: int, stats: Path, *extra: str, quiet: bool = False) -> dict:
    argv = [PY, str(HERE / "synth.py"), str(path), "--agreements", str(n), "--force",
            "--stats-json", str(stats), *extra]  # fmt: skip
    subprocess.run(argv, check=True, env=ENV, stderr=subprocess.DEVNULL if quiet else None)
    return json.loads(stats.read_text())


def facts(path: Path, word: str) -> dict:
    """Sizes, the most and least frequent partner (a country counts its organisations)."""
    with ro(path) as conn:
        q = conn.execute
        tables = ("agreements", "deals", "parties", "record_sectors", "citations",
                  "organizations", "countries", "sources")  # fmt: skip
        rows = {t: q(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
        per_partner = q("""
            SELECT c.code, count(DISTINCT p.agreement_id) AS n
            FROM parties p
            LEFT JOIN organizations o ON o.id = p.organization_id
            JOIN countries c ON c.id = COALESCE(p.country_id, o.country_id)
            WHERE p.agreement_id IS NOT NULL AND c.code != 'KZ'
            GROUP BY c.code ORDER BY n DESC, c.code""").fetchall()
        with_orgs = {r[0] for r in q("SELECT DISTINCT c.code FROM organizations o "
                                     "JOIN countries c ON c.id = o.country_id")}  # fmt: skip
        fts = f'"{word}"*'
        matches = q("SELECT count(*) FROM search_index WHERE search_index MATCH ?",
                    (fts,)).fetchone()[0]  # fmt: skip
        docs = q("SELECT count(*) FROM search_index").fetchone()[0]
    counts = dict(per_partner)
    rare = [code for code, n in reversed(per_partner) if n > 0 and code not in with_orgs]
    return {"rows": rows, "partner_agreements": counts, "rare": rare[0] if rare else None,
            "search_matches": matches, "search_documents": docs,
            "bytes": path.stat().st_size}  # fmt: skip


# --- the commands ------------------------------------------------------------------------

US_SQL = """SELECT a.*,
  (SELECT json_group_array(json_object('source', s.slug, 'kind', ci.kind, 'text', ci.text))
     FROM citations ci JOIN sources s ON s.id = ci.source_id WHERE ci.agreement_id = a.id) AS sources
FROM agreement_overview a
WHERE EXISTS (SELECT 1 FROM parties p LEFT JOIN organizations o ON o.id = p.organization_id
              WHERE p.agreement_id = a.id
              AND (SELECT id FROM countries WHERE code = 'US') IN (p.country_id, o.country_id))
ORDER BY a.date_start IS NULL, a.date_start, a.date_end, a.id LIMIT 101"""
MINERALS_SQL = """SELECT d.*,
  (SELECT json_group_array(json_object('source', s.slug, 'kind', ci.kind, 'text', ci.text))
     FROM citations ci JOIN sources s ON s.id = ci.source_id WHERE ci.deal_id = d.id) AS sources
FROM deal_overview d
WHERE EXISTS (SELECT 1 FROM record_sectors rs JOIN sectors s ON s.id = rs.sector_id
              LEFT JOIN sectors sp ON sp.id = s.parent_id
              WHERE rs.deal_id = d.id AND 'minerals' IN (s.slug, sp.slug))
ORDER BY d.date_start IS NULL, d.date_start, d.date_end, d.id LIMIT 101"""
COUNT_SQL = "select count(*) from agreements"


def equivalence(seeded: Path) -> list[dict]:
    """Check that each sqlite-utils query returns the records kzdiplo lists."""
    checks = []
    for label, kz_args, sql in (
        ("agreements --partner US", ["agreements", "--partner", "US"], US_SQL),
        ("deals --sector minerals", ["deals", "--sector", "minerals"], MINERALS_SQL),
    ):
        kz = subprocess.run([KZ, "--db", str(seeded), *kz_args, "--format", "json"],
                            capture_output=True, text=True, env=ENV, check=True)  # fmt: skip
        su = subprocess.run([SU, "query", str(seeded), sql], capture_output=True, text=True,
                            env=ENV, check=True)  # fmt: skip
        a = [r["slug"] for r in json.loads(kz.stdout)]
        b = [r["slug"] for r in json.loads(su.stdout)]
        checks.append({"command": label, "kzdiplo": a, "sqlite_utils": b, "same": a == b})
    return checks


def peer_commands(seeded: Path) -> list[Cmd]:
    db = str(seeded)
    cmds = [
        Cmd("kz_us", "kzdiplo agreements --partner US", [KZ, "--db", db, "agreements", "--partner", "US"], "su_us"),
        Cmd("su_us", "sqlite-utils query (US agreements SQL)", [SU, "query", db, US_SQL]),
        Cmd("kz_min", "kzdiplo deals --sector minerals", [KZ, "--db", db, "deals", "--sector", "minerals"], "su_min"),
        Cmd("su_min", "sqlite-utils query (minerals deals SQL)", [SU, "query", db, MINERALS_SQL]),
        Cmd("kz_help", "kzdiplo --help", [KZ, "--help"], "su_help"),
        Cmd("su_help", "sqlite-utils --help", [SU, "--help"]),
        Cmd("kz_count", f'kzdiplo sql "{COUNT_SQL}"', [KZ, "--db", db, "sql", COUNT_SQL], "su_count"),
        Cmd("su_count", f'sqlite-utils query "{COUNT_SQL}"', [SU, "query", db, COUNT_SQL]),
        Cmd("py_pass", "python -c pass (floor)", [PY, "-c", "pass"]),
    ]  # fmt: skip
    if SQLITE3:
        cmds.append(Cmd("sqlite3", f'sqlite3 "{COUNT_SQL}" (floor)', [SQLITE3, db, COUNT_SQL]))
    return cmds


SCALE_TARGETS = ("us", "rare", "search", "partners")
SCALE_SAME_OUTPUT = ("us_1", "rare_1", "us_json", "search_k")


def scale_commands(seeded: Path, big: Path, rare: str, word: str, seed_matches: int) -> list[Cmd]:
    """The issue's commands, then the same with as many rows out on both databases (the
    seeded database has one US agreement, none for the rare partner, few search matches),
    which separates the query's cost from the cost of printing more rows."""
    k = str(max(1, min(20, seed_matches)))
    cmds = []
    for key, args in (
        ("us", ["agreements", "--partner", "US", "--limit", "50"]),
        ("rare", ["agreements", "--partner", rare, "--limit", "50"]),
        ("search", ["search", word]),
        ("partners", ["partners"]),
        ("us_1", ["agreements", "--partner", "US", "--limit", "1"]),
        ("rare_1", ["agreements", "--partner", rare, "--limit", "1"]),
        ("us_json", ["agreements", "--partner", "US", "--limit", "50", "--format", "json"]),
        ("search_k", ["search", word, "--limit", k]),
    ):
        label = "kzdiplo " + " ".join(args)
        cmds.append(Cmd(f"seed_{key}", label, [KZ, "--db", str(seeded), *args]))
        cmds.append(Cmd(f"big_{key}", label, [KZ, "--db", str(big), *args], f"seed_{key}"))
    return cmds


def rss_commands(big: Path) -> list[Cmd]:
    sql = "select * from citations"
    cmds = [
        Cmd(f"rss_{fmt}", f'kzdiplo sql "{sql}" --max-rows 0 --format {fmt}',
            [KZ, "--db", str(big), "sql", sql, "--max-rows", "0", "--timeout", "3600",
             "--format", fmt])
        for fmt in ("json", "csv", "ndjson")
    ]  # fmt: skip
    cmds.append(Cmd("rss_floor", 'kzdiplo sql "select 1" --format json (floor)',
                    [KZ, "--db", str(big), "sql", "select 1", "--format", "json"]))  # fmt: skip
    cmds.append(Cmd("rss_su", f'sqlite-utils query "{sql}" --nl (peer)',
                    [SU, "query", str(big), sql, "--nl"]))  # fmt: skip
    return cmds


# --- plans and statement times -------------------------------------------------------------


def time_statement(conn: sqlite3.Connection, sql: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def statements(db: Path, args: list[str], workdir: Path) -> dict:
    """Each SQL statement a command runs, with its plan and its time alone (median of 3)."""
    traced = trace(args, workdir)
    out = []
    with ro(db) as conn:
        for sql in traced["statements"]:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            out.append({"sql": sql, "plan": plan(conn, sql), "seconds": time_statement(conn, sql)})
    return {"args": args, "in_process_seconds": traced["elapsed"], "statements": out}


# --- the measurements, each returning plain data -----------------------------------------------

LOAD_MODES = (("triggers", "before", "during"), ("rebuild", "before", "during"),
              ("rebuild", "after", "during"), ("rebuild", "after", "after"))  # fmt: skip


def load_strategies(work: Path, n: int, runs: int) -> dict:
    """rows/s of each load strategy at ``n`` agreements, the strategies alternating."""
    results = {m: {"fts": m[0], "indexes": m[1], "foreign_keys": m[2], "insert_only": [],
                   "load": []} for m in LOAD_MODES}  # fmt: skip
    rows = 0
    k = len(LOAD_MODES)
    for i in range(runs):
        for mode in LOAD_MODES[i % k :] + LOAD_MODES[: i % k]:
            path = work / "load.db"
            st = synth(path, n, work / "load.json", "--fts", mode[0], "--indexes", mode[1],
                       "--foreign-keys", mode[2], quiet=True)  # fmt: skip
            results[mode]["insert_only"].append(st["rows_per_s"]["insert_only"])
            results[mode]["load"].append(st["rows_per_s"]["load"])
            rows = st["total_rows"]
            path.unlink()
        log(f"load strategies: round {i + 1}/{runs}")
    return {"agreements": n, "rows": rows, "runs": runs, "modes": list(results.values())}


def scale_database(work: Path, n: int, reuse: bool) -> tuple[Path, dict]:
    """The N-agreement database and its build figures (reused if asked and still valid)."""
    big, stats = work / f"synth-{n}.db", work / f"synth-{n}.json"
    if reuse and big.exists() and stats.exists():
        from synth import SYNTH_VERSION

        built = json.loads(stats.read_text())
        if built.get("synth_version") == SYNTH_VERSION:
            log(f"reusing {big} (bringing its schema up to date)")
            kz(big, "db", "upgrade")
            return big, built
    log(f"building {big} ({n:,} agreements)")
    return big, synth(big, n, stats)


def timings(seeded: Path, big: Path, r: dict, runs: int, warmup: int) -> dict:
    """The three timed groups: peers on the seeded file, scale, memory."""
    peer = peer_commands(seeded)
    log(f"peer comparison: {len(peer)} commands")
    measure(peer, runs, warmup, "peers")
    scale = scale_commands(seeded, big, r["rare"], r["word"], r["seed_facts"]["search_matches"])
    log(f"scale comparison: {len(scale)} commands")
    measure(scale, runs, max(1, warmup - 1), "scale")
    rss = rss_commands(big)
    log("memory: million-row exports (one run each)")
    measure(rss, 1, 0, "memory", rss=True)
    return {group: [c.result() for c in cmds]
            for group, cmds in (("peer", peer), ("scale", scale), ("rss", rss))}  # fmt: skip


def plans(big: Path, rare: str, word: str, work: Path) -> list[dict]:
    commands = (["agreements", "--partner", "US", "--limit", "50"],
                ["agreements", "--partner", rare, "--limit", "50"], ["search", word], ["partners"])  # fmt: skip
    return [statements(big, ["--db", str(big), *a], work) for a in commands]


def experiments(big: Path, seeded: Path, r: dict, args: argparse.Namespace, load_n: int) -> str:
    md = args.workdir / "experiments.md"
    subprocess.run([PY, str(EXPERIMENTS), str(big), "--rare", r["rare"], "--word", r["word"],
                    "--seeded", str(seeded), "--output", str(md), "--runs", str(args.runs),
                    "--load-agreements", str(load_n), "--load-runs", str(args.load_runs)],
                   check=True, env=ENV)  # fmt: skip
    return md.read_text()


def postgres(big: Path, rare: str, url: str, work: Path) -> dict:
    pg_json, before = work / "pg-results.json", work / "pg-before.json"
    subprocess.run([PY, str(HERE / "pg_scale.py"), "--url", url, "--sqlite", str(big),
                    "--rare", rare, "--json", str(pg_json),
                    "--output", str(ROOT / "docs" / "benchmarks-postgres.md"),
                    *(["--before", str(before)] if before.exists() else [])],
                   check=True, env=ENV)  # fmt: skip
    return json.loads(pg_json.read_text())


def run(args: argparse.Namespace) -> dict:
    """Every measurement; the results as one dict of plain data."""
    work, n = args.workdir, args.agreements
    r: dict = {"benchmark": "scale", "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
               "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "machine": machine(),
               "versions": versions(), "git": git_state(), "word": args.word,
               "loadavg_start": load_average(),
               "peer_sql": {"agreements --partner US": US_SQL,
                            "deals --sector minerals": MINERALS_SQL},
               "scale_targets": SCALE_TARGETS, "scale_same_output": SCALE_SAME_OUTPUT}  # fmt: skip
    log("seeded database")
    seeded = work / "seeded.db"
    make_seeded(seeded)
    r["seed_facts"] = facts(seeded, args.word)
    load_n = min(args.load_agreements, n)
    log(f"load strategies at {load_n:,} agreements, {args.load_runs} runs each")
    r["load_comparison"] = load_strategies(work, load_n, args.load_runs)
    big, r["big"] = scale_database(work, n, args.reuse_synth)
    r["facts"] = facts(big, args.word)
    r["rare"] = r["facts"]["rare"]
    log(f"rare partner: {r['rare']} ({r['facts']['partner_agreements'].get(r['rare'])} agreements)")
    # Both databases at the schema the code now expects (it may have moved on meanwhile).
    for path in (seeded, big):
        kz(path, "db", "upgrade")
    r["git_measured"] = git_state()
    log("equivalence of the sqlite-utils queries")
    r["equivalence"] = equivalence(seeded)
    r |= timings(seeded, big, r, args.runs, args.warmup)
    log("query plans")
    r["plans"] = plans(big, r["rare"], args.word, work)
    log("import time")
    r["imports"] = import_times(["--db", str(seeded), "agreements", "--partner", "US"], work)
    r["imports_help"] = import_times(["--help"], work)
    if args.experiments:
        log(f"candidate fixes on a scratch copy ({EXPERIMENTS.relative_to(ROOT)})")
        r["experiments"] = experiments(big, seeded, r, args, load_n)
    if args.postgres_url:
        log("PostgreSQL: the same scale benchmark (benchmarks/pg_scale.py)")
        r["postgres"] = postgres(big, r["rare"], args.postgres_url, work)
    r["loadavg_end"] = load_average()
    r["git_end"] = git_state()
    r["changed_during_run"] = code_changed(r["git"]["commit"], r["git_end"]["commit"])
    r["phases"] = PHASES
    r["elapsed"] = time.perf_counter() - T0
    return r


# --- main ---------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = p.add_argument
    add(
        "--agreements",
        "-n",
        type=int,
        default=1_000_000,
        help="synthetic agreements for the scale database (default 1000000)",
    )
    add("--runs", type=int, default=15, help="timed runs per command (15)")
    add("--warmup", type=int, default=3, help="warm-up rounds (3)")
    add(
        "--load-agreements",
        type=int,
        default=50_000,
        help="size of the load-strategy comparison (50000, at most --agreements)",
    )
    add("--load-runs", type=int, default=3, help="runs per load strategy (3)")
    add("--word", default="tungsten", help="the word to search for (tungsten)")
    add(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"where the databases go, never the repository (default {DEFAULT_WORKDIR})",
    )
    add(
        "--json",
        type=Path,
        default=None,
        help="the results file (default docs/benchmarks.json; with --quick, in the workdir)",
    )
    add("--output", type=Path, default=None, help="the Markdown (default: --json with .md)")
    add(
        "--quick",
        action="store_true",
        help="20,000 agreements, 5 runs, 1 warm-up, 1 load run, results in the workdir",
    )
    add(
        "--reuse-synth",
        action="store_true",
        help="reuse the scale database (and its load figures) if it exists",
    )
    add(
        "--postgres-url",
        default=os.environ.get("KZDIPLO_TEST_POSTGRES_URL"),
        help="a PostgreSQL superuser URL: also run benchmarks/pg_scale.py on the scale "
        "database (default: KZDIPLO_TEST_POSTGRES_URL, which scripts/with-postgres.sh sets)",
    )
    add(
        "--experiments",
        action="store_true",
        help="also run benchmarks/explore/experiments.py (candidate fixes on a scratch copy) "
        "and add its Markdown as section 7",
    )
    add(
        "--commands",
        action="store_true",
        help="measure only section 7 (issue 27: start-up, load, show, cite, search, report, "
        "serve at the seeded size, 20,000 and --agreements; with --quick, 20,000 only) and "
        "add it to the results file, keeping its other figures",
    )
    add(
        "--parts",
        default=",".join(commands.PARTS),
        help=f"with --commands: which parts, comma-separated (default {','.join(commands.PARTS)})",
    )
    add(
        "--scale-db",
        type=Path,
        action="append",
        default=[],
        metavar="PATH",
        help="with --commands: measure this synthetic database (synth.py's) at its size instead "
        "of building one; never written (copied into --workdir and upgraded when its schema "
        "is behind the code's); repeatable",
    )
    add(
        "--skip",
        action="append",
        default=[],
        metavar="PART@SIZE[=REASON]",
        help="with --commands: leave PART out at SIZE (synthetic agreements, e.g. "
        "report@1000000, or * for every size), the reason recorded on the page; repeatable",
    )
    add(
        "--merge",
        action="store_true",
        help="with --commands: replace only the parts measured now in the results file's "
        "section 7, keeping the others (each part records its own date and commit)",
    )
    add(
        "--timeout",
        type=float,
        default=None,
        help="with --commands: seconds one run of a command may take before it is stopped and "
        "recorded as not finishing (default 900; 300 with --quick)",
    )
    add(
        "--memory-limit-gb",
        type=float,
        default=8.0,
        help="with --commands: address space each timed command may take (8 GB), so that a "
        "command that would exhaust the shared machine fails with MemoryError instead",
    )
    add(
        "--load-max",
        type=int,
        default=commands.STALE_UP_TO,
        help="with --commands: load the exports of databases up to this many agreements "
        "(200000); larger ones are recorded as skipped",
    )
    add(
        "--commands-from",
        type=Path,
        help="put section 7 of this results file (a --commands run) into docs/benchmarks.json "
        "and re-render docs/benchmarks.md, measuring nothing",
    )
    add("--before", type=Path, help="with --commands-from: section 7 measured on older code")
    add(
        "--notes",
        type=Path,
        help="a JSON object {TEXT: NOTE}: section 7's rows not met whose target contains TEXT "
        "get NOTE in 'what stands in the way'; alone, it is put into the results file "
        "(--json, default docs/benchmarks.json) and the page re-rendered, measuring nothing",
    )
    args = p.parse_args(argv)
    if args.quick:
        args.agreements, args.runs, args.warmup, args.load_runs = 20_000, 5, 1, 1
        args.json = args.json or args.workdir / "quick.json"
    if args.timeout is None:
        args.timeout = 300.0 if args.quick else 900.0
    args.json = args.json or ROOT / "docs" / "benchmarks.json"
    args.output = args.output or args.json.with_suffix(".md")
    return args


LOAD_FALLBACK = 12_000  # agreements: its JSON export, about 19 MB, is within load's limit


def parse_skips(specs: list[str]) -> dict[tuple[str, str], str]:
    """``PART@SIZE[=REASON]`` (SIZE: synthetic agreements, ``seeded`` or ``*``)."""
    out = {}
    for spec in specs:
        what, _, reason = spec.partition("=")
        part, _, size = what.partition("@")
        if part not in commands.PARTS:
            raise SystemExit(f"--skip {spec}: the parts are {', '.join(commands.PARTS)}")
        out[(part, size or "*")] = reason or "left out with --skip"
    return out


def scale_copy(path: Path, work: Path, key: str) -> tuple[Path, str]:
    """``path`` itself when its schema is the code's, else a copy in ``work`` brought up
    to date (the shared databases are never written)."""
    with ro(path) as conn:
        version = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    head = git_state()["schema"]
    if version == head:
        return path, f"{path} (read-only, schema {version})"
    copy = work / f"scale-{key}.db"
    if copy.exists() and copy.stat().st_mtime >= path.stat().st_mtime:
        with ro(copy) as conn:
            done = conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]
        if done == head:  # an earlier run's copy, upgraded since the file last changed
            log(f"reusing {copy}, the copy of {path} an earlier run upgraded to {head}")
            return copy, f"a copy of {path} upgraded from schema {version} to {head}"
    log(f"{path} is at schema {version}, the code at {head}: copying it to {copy} to upgrade")
    shutil.copyfile(path, copy)
    kz(copy, "db", "upgrade")
    return copy, f"a copy of {path} upgraded from schema {version} to {head}"


def command_sizes(args: argparse.Namespace) -> list[commands.Size]:
    """The seeded database, then each synthetic one: --scale-db files where given, else
    built in the workdir by synth.py (reused while the generator has not changed)."""
    work = args.workdir
    seeded = work / "seeded.db"
    log("seeded database")
    make_seeded(seeded)
    given = {}
    for path in args.scale_db:
        n = commands.synthetic_count(path)
        given[n] = scale_copy(path, work, str(n))
    wanted = sorted({20_000, *([] if args.quick else [args.agreements]), *given})
    sizes = [commands.describe(seeded, "seeded", "kzdiplo db init")]
    for n in wanted:
        if n in given:
            path, origin = given[n]
        else:
            path, _ = scale_database(work, n, reuse=True)
            kz(path, "db", "upgrade")
            origin = f"built by benchmarks/synth.py --agreements {n} in the work directory"
        sizes.append(commands.describe(path, str(n), origin))
    return sizes


def run_commands(args: argparse.Namespace) -> dict:
    """Only section 7 (issue 27), added to the results file's other figures, which stay
    as they were measured."""
    import harness

    harness.MEMORY_LIMIT[:] = [int(args.memory_limit_gb * 1024**3)]
    parts = tuple(p for p in args.parts.split(",") if p)
    unknown = set(parts) - set(commands.PARTS)
    if unknown:
        raise SystemExit(f"--parts: unknown {', '.join(sorted(unknown))}")
    meta = {"date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"), "git": git_state(),
            "loadavg_start": load_average(), "machine": machine(), "versions": versions(),
            "quick": args.quick, "command": " ".join(["benchmarks/run.py", "--commands",
            *(["--quick"] if args.quick else []), *(f"--{k.replace('_', '-')} {v}" for k, v in
            (("parts", args.parts), ("timeout", args.timeout)) if v),
            *(f"--skip {x}" for x in args.skip),
            *(f"--scale-db {p}" for p in args.scale_db)])}  # fmt: skip
    sizes = command_sizes(args)
    extra = None
    if "report" in parts:  # a third point on report's curve, cheap to build
        path, _ = scale_database(args.workdir, 5_000, reuse=True)
        kz(path, "db", "upgrade")
        extra = commands.describe(path, "5000", "built by synth.py (report's curve only)")
    fallback = None
    if "load" in parts:  # its exports (about 19 MB of JSON) are within the load file limit
        path, _ = scale_database(args.workdir, LOAD_FALLBACK, reuse=True)
        kz(path, "db", "upgrade")
        fallback = commands.describe(path, str(LOAD_FALLBACK), "built by synth.py (load's "
                                     "fallback, within the 20 MB load file limit)")  # fmt: skip
    plan = commands.Plan(
        kz=KZ, work=args.workdir, sizes=sizes, runs=args.runs, warmup=args.warmup,
        timeout=args.timeout, parts=parts, skips=parse_skips(args.skip),
        load_runs=1 if args.quick else 2, load_max=args.load_max,
        report_runs=1 if args.quick else 2, report_extra=extra, load_fallback=fallback,
        serve_rounds=6 if args.quick else 10, word=args.word,
    )  # fmt: skip
    (args.workdir / "commands").mkdir(exist_ok=True)
    compile_kzdiplo()
    figures = commands.measure_all(plan)
    meta |= {"loadavg_end": load_average(), "git_end": git_state(),
             "elapsed": time.perf_counter() - T0, "phases": PHASES}  # fmt: skip
    base = args.json if args.json.exists() else ROOT / "docs" / "benchmarks.json"
    return commands.write_into(base, figures, meta, merge=args.merge)


def main() -> None:
    args = parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    for name, path in (("kzdiplo", KZ), ("sqlite-utils", SU)):
        if not shutil.which(path):
            raise SystemExit(f"{name} not found: run this with the virtualenv's python")
    if args.commands_from:  # section 7 measured by an earlier --commands run
        taken = json.loads(args.commands_from.read_text())["commands"]
        if args.before:  # the same section measured on the code before issue 27
            taken["before"] = json.loads(args.before.read_text())["commands"]
        r = commands.write_into(ROOT / "docs" / "benchmarks.json", {}, taken)
        write_json(ROOT / "docs" / "benchmarks.json", r)
        (ROOT / "docs" / "benchmarks.md").write_text(render(r))
        log("wrote docs/benchmarks.md with section 7 from " + str(args.commands_from))
        return
    notes = json.loads(args.notes.read_text()) if args.notes else None
    if notes is not None and not args.commands:
        r = json.loads(args.json.read_text())
        r["commands"]["notes"] = notes
        write_json(args.json, r)
        args.output.write_text(render(r))
        log(f"wrote {args.output} with the notes of {args.notes}")
        return
    if args.commands:
        r = run_commands(args)
        if notes is not None:
            r["commands"]["notes"] = notes
        r = portable(r, workdir=args.workdir)
        write_json(args.json, r)
        args.output.write_text(render(r))
        log(f"wrote {args.output} (raw figures: {args.json})")
        return
    r = portable(run(args), workdir=args.workdir)
    write_json(args.json, r)
    args.output.write_text(render(r))
    log(f"wrote {args.output} (raw figures: {args.json})")


if __name__ == "__main__":
    main()
