#!/usr/bin/env python3
"""Run every kzdiplo benchmark and write docs/benchmarks.md.

    /work/dev-venv/bin/python benchmarks/run.py                      # N = 1,000,000 (~10 min)
    /work/dev-venv/bin/python benchmarks/run.py --agreements 20000 --output /tmp/quick.md  # quick

Run it with the Python of the virtualenv that has kzdiplo (and sqlite-utils) installed:
every command timed is taken from that interpreter's ``bin`` directory. See
benchmarks/README.md for what is measured and how.

Timing: each group of commands is run round-robin (the order rotates every round), after
warm-up rounds, so that commands compared with each other share the machine's state;
a run's time is the whole process, from fork to exit, stdout to /dev/null. Peak RSS is
the child's ``ru_maxrss`` from ``os.wait4``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(HERE))
PY = sys.executable
KZ = str(BIN / "kzdiplo")
SU = str(BIN / "sqlite-utils")
SQLITE3 = shutil.which("sqlite3")
T0 = time.perf_counter()


PHASES: list[tuple[str, str]] = []


def log(message: str) -> None:
    PHASES.append((dt.datetime.now().strftime("%H:%M:%S"), message))
    print(f"[{time.perf_counter() - T0:6.0f}s] {message}", file=sys.stderr, flush=True)


# --- running commands ---------------------------------------------------------------------


@dataclass
class Cmd:
    key: str
    label: str  # as shown in the report
    argv: list[str]
    peer: str | None = None  # key of the command it is compared with
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)

    def stats(self) -> dict:
        t = sorted(self.times)
        return {"min": t[0], "median": statistics.median(t), "max": t[-1], "runs": len(t),
                "mean": statistics.fmean(t),
                "stdev": statistics.stdev(t) if len(t) > 1 else 0.0,
                "peak_rss_mb": max(self.rss_kb) / 1024 if self.rss_kb else None}  # fmt: skip


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KZDIPLO_DATABASE_URL", None)
    env.pop("KZDIPLO_DEBUG", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


ENV = child_env()


def gnu_time() -> str | None:
    """GNU time, to read a child's peak RSS: ``ru_maxrss`` from our own wait4 would include
    this harness's memory at fork time (Linux keeps the pre-exec high-water mark)."""
    path = shutil.which("time") or "/usr/bin/time"
    try:
        ok = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True)
    except OSError:
        return None
    return path if ok.returncode == 0 and ok.stderr.strip().isdigit() else None


GNU_TIME = gnu_time()


def run_once(argv: list[str], rss: bool = False) -> tuple[float, int | None, int, str]:
    """(seconds, peak RSS in KB or None, exit code, stderr) of one whole process.

    With ``rss``, the command runs under GNU time (``-f %M``), which adds about a
    millisecond; timed comparisons run without it.
    """
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as mem:
        if rss and GNU_TIME:
            argv = [GNU_TIME, "-f", "%M", "-o", mem.name, *argv]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=ENV)  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = code = os.waitstatus_to_exitcode(status)
        err.seek(0)
        peak = None
        if rss:
            text = mem.read().strip().splitlines()
            peak = int(text[-1]) if GNU_TIME and text and text[-1].isdigit() else usage.ru_maxrss
        return elapsed, peak, code, err.read().decode(errors="replace")


def measure(cmds: list[Cmd], runs: int, warmup: int, what: str, rss: bool = False) -> None:
    """Round-robin: every round runs each command once, the order rotating each round.

    Then one more run of each command under GNU time for its peak RSS (with ``rss``, every
    timed run is under GNU time instead).
    """

    def once(c: Cmd, with_rss: bool) -> tuple[float, int | None]:
        t, peak, code, err = run_once(c.argv, with_rss)
        if code != 0:
            raise SystemExit(f"{c.label}: exit {code}\n{' '.join(c.argv)}\n{err}")
        return t, peak

    for _ in range(warmup):
        for c in cmds:
            once(c, False)
    n = len(cmds)
    for i in range(runs):
        for c in cmds[i % n :] + cmds[: i % n]:
            t, peak = once(c, rss)
            c.times.append(t)
            if peak is not None:
                c.rss_kb.append(peak)
        if (i + 1) % 5 == 0 or i + 1 == runs:
            log(f"{what}: round {i + 1}/{runs}")
    if not rss:
        for c in cmds:
            c.rss_kb.append(once(c, True)[1] or 0)


# --- facts about the machine and the software ---------------------------------------------


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "memory_gib": mem,
            "kernel": platform.release(), "os": platform.platform()}  # fmt: skip


def versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version(), "sqlite (library)": sqlite3.sqlite_version}
    for name in ("kzdiplo", "sqlite-utils", "typer", "click", "rich", "sqlalchemy",
                 "alembic", "pydantic"):  # fmt: skip
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    if SQLITE3:
        out["sqlite3 CLI"] = subprocess.run([SQLITE3, "--version"], capture_output=True,
                                            text=True).stdout.split()[0]  # fmt: skip
    return out


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return ""


CODE_PATHS = ("src", "migrations", "pyproject.toml")


def git_state() -> dict:
    dirty = git("status", "--porcelain", "--", *CODE_PATHS)
    recent = git("log", "-5", "--format=%h %ad %s", "--date=format:%H:%M:%S")
    return {"log": recent.splitlines(), "commit": git("rev-parse", "--short", "HEAD"),
            "full": git("rev-parse", "HEAD"), "subject": git("log", "-1", "--format=%s"),
            "uncommitted_src_changes": len(dirty.splitlines()) if dirty else 0}  # fmt: skip


# --- the databases -------------------------------------------------------------------------


def make_seeded(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    subprocess.run([KZ, "--db", str(path), "db", "init"], check=True, env=ENV,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def synth(path: Path, n: int, stats: Path, *extra: str, quiet: bool = False) -> dict:
    argv = [PY, str(HERE / "synth.py"), str(path), "--agreements", str(n), "--force",
            "--stats-json", str(stats), *extra]  # fmt: skip
    subprocess.run(argv, check=True, env=ENV, stderr=subprocess.DEVNULL if quiet else None)
    return json.loads(stats.read_text())


def ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


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


# --- plans, statement times, import time -------------------------------------------------


def trace(db: Path, args: list[str], workdir: Path) -> dict:
    out = workdir / "trace.json"
    subprocess.run([PY, str(HERE / "trace_sql.py"), str(out), "--db", str(db), *args],
                   check=True, env=ENV, stdout=subprocess.DEVNULL)  # fmt: skip
    return json.loads(out.read_text())


def plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


def time_statement(conn: sqlite3.Connection, sql: str, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def statements(db: Path, args: list[str], workdir: Path) -> dict:
    """Each SQL statement a command runs, with its plan and its time alone (median of 3)."""
    traced = trace(db, args, workdir)
    out = []
    with ro(db) as conn:
        for sql in traced["statements"]:
            if not sql.lstrip().upper().startswith(("SELECT", "WITH")):
                continue
            out.append({"sql": sql, "plan": plan(conn, sql), "seconds": time_statement(conn, sql)})
    return {"args": args, "in_process_seconds": traced["elapsed"], "statements": out}


HEAVY = ("sqlalchemy", "alembic", "pydantic", "yaml", "pycountry", "currency_converter",
         "rich", "typer", "click", "platformdirs", "kzdiplo.loader", "kzdiplo.models")  # fmt: skip

IMPORT_SCRIPT = """
import os, sys
sys.argv = ["kzdiplo", *os.environ["BENCH_ARGV"].split("\\x1f")]
heavy = os.environ["BENCH_HEAVY"].split(",")
try:
    from kzdiplo.cli import main
    main()
finally:
    loaded = [m for m in heavy if m in sys.modules]
    with open(os.environ["BENCH_OUT"], "w") as f:
        f.write(",".join(loaded))
"""


def import_times(args: list[str], workdir: Path, runs: int = 7) -> dict:
    """``python -X importtime``: the median over runs of each module's self and cumulative."""
    per: dict[str, list[tuple[int, int, int]]] = {}
    out = workdir / "modules.json"
    totals = []
    env = dict(ENV, BENCH_ARGV="\x1f".join(args), BENCH_HEAVY=",".join(HEAVY),
               BENCH_OUT=str(out))  # fmt: skip
    for i in range(runs + 1):
        proc = subprocess.run([PY, "-X", "importtime", "-c", IMPORT_SCRIPT], env=env,
                              capture_output=True, text=True)  # fmt: skip
        if i == 0:
            continue  # warm-up (bytecode caches)
        total = 0
        for line in proc.stderr.splitlines():
            m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
            if m:
                self_us, cum_us, indent, name = int(m[1]), int(m[2]), len(m[3]), m[4]
                per.setdefault(name, []).append((self_us, cum_us, indent // 2))
                if indent == 1:
                    total += cum_us
        totals.append(total)
    rows = []
    for name, vals in per.items():
        rows.append({"module": name, "self_ms": statistics.median(v[0] for v in vals) / 1000,
                     "cumulative_ms": statistics.median(v[1] for v in vals) / 1000,
                     "depth": vals[0][2]})  # fmt: skip
    loaded = [m for m in out.read_text().split(",") if m] if out.exists() else []
    return {"args": args, "total_ms": statistics.median(totals) / 1000, "modules": rows,
            "heavy_loaded": loaded, "heavy_checked": list(HEAVY)}  # fmt: skip


# --- the report ------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x"


def short_sql(sql: str, width: int = 400) -> str:
    sql = re.sub(r"\s+", " ", sql).strip()
    sql = re.sub(
        r"\((\d+, ){6,}(\d+)\)",
        lambda m: f"({m[0][1:].split(',')[0]}, … {m[0].count(',') + 1} values)",
        sql,
    )
    return sql if len(sql) <= width else sql[:width] + " …"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


FK_WORDS = {
    "during": "foreign keys enforced row by row during the insert",
    "after": "foreign keys off during the insert, every reference checked once at the end",
}


def postgres_row(pg: dict | None) -> str:
    """Target 5: reported, no ratio: the plans' verdicts and the timings at scale."""
    if not pg:
        return (
            "| 5 | PostgreSQL scale benchmark, no plan scanning a large table for a selective "
            "filter | not run: no PostgreSQL URL (run under scripts/with-postgres.sh) | "
            "not measured |"
        )
    scans = [p["label"] for p in pg["plans"] if not p["ok"]]
    times = ", ".join(
        f"`{t['label'].split(' --limit')[0]}` {ms(t['scale']['median'])} "
        f"({t['scale']['median'] / t['seeded']['median']:.2f}x seeded)"
        for t in pg["timings"]
    )
    verdict = "**met** (reported)" if not scans else "**not met**"
    return (
        "| 5 | PostgreSQL scale benchmark, no plan scanning a large table for a selective "
        f"filter | {len(pg['plans']) - len(scans)} of {len(pg['plans'])} commands' plans "
        f"scan no large table; at scale: {times} (docs/benchmarks-postgres.md) | {verdict} |"
    )


def report(r: dict) -> str:
    L: list[str] = []
    add = L.append
    cmds = {c["key"]: c for group in ("peer", "scale", "rss") for c in r[group]}

    def med(key: str) -> float:
        return cmds[key]["stats"]["median"]

    n = r["args"]["agreements"]
    big = r["big"]
    add("# kzdiplo benchmarks\n")
    add(
        f"Generated by `python benchmarks/run.py --agreements {n}` on {r['date']} "
        f"(the whole run took {r['elapsed'] / 60:.1f} min). Do not edit by hand: run it again. "
        "What is measured and how: `benchmarks/README.md`.\n"
    )
    g = r["git"]
    add(
        f"Code measured: commit `{g['commit']}` ({g['subject']})"
        + (
            f", with {g['uncommitted_src_changes']} uncommitted change(s) under src/, migrations/ "
            "or pyproject.toml at the time of the run"
            if g["uncommitted_src_changes"]
            else ""
        )
        + ".\n"
    )
    if r.get("git_end") and r["git_end"]["commit"] != g["commit"]:
        e = r["git_end"]
        changed = git("diff", "--name-only", f"{g['commit']}..{e['commit']}", "--", *CODE_PATHS)
        what = (
            f"**The code changed during the run** ({', '.join(changed.splitlines())})"
            if changed
            else "Commits landed during the run, none touching src/, migrations/ or "
            "pyproject.toml (the code measured is the same)"
        )
        add(
            f"{what}: `{g['commit']}` at the start, `{e['commit']}` "
            f"({e['subject']}) at the end. Recent commits (clock time): "
            + "; ".join(e.get("log", []))
            + ". Phases (clock time): "
            + "; ".join(f"{t} {msg}" for t, msg in r.get("phases", []) if "round" not in msg)
            + ".\n"
        )
    m = r["machine"]
    add("## Machine and versions\n")
    add(f"- {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']:.1f} GiB memory, Linux {m['kernel']}")
    add("- " + ", ".join(f"{k} {v}" for k, v in r["versions"].items()))
    la, lb = r["loadavg_start"], r["loadavg_end"]
    add(
        f"- load average (1/5/15 min) {la[0]:.2f}/{la[1]:.2f}/{la[2]:.2f} at the start, "
        f"{lb[0]:.2f}/{lb[1]:.2f}/{lb[2]:.2f} at the end (anything else running shows here)"
    )
    a = r["args"]
    add(
        f"- {a['runs']} timed runs per command after {a['warmup']} warm-up rounds, "
        "commands of a table alternating round-robin; whole-process wall time, "
        "stdout to /dev/null\n"
    )

    # targets
    add("## Issue 6 targets\n")
    add("| # | target | measured (medians) | verdict |")
    add("|---|---|---|---|")
    rows = []
    us = med("kz_us") / med("su_us")
    rows.append(
        (
            "1",
            "`agreements --partner US` ≤ 1.0x `sqlite-utils query` (goal 0.75x)",
            f"{us:.2f}x ({ms(med('kz_us'))} vs {ms(med('su_us'))})",
            us <= 1.0,
            " (goal 0.75x " + ("met" if us <= 0.75 else "not met") + ")",
        )
    )
    for key, label in (
        ("min", "`deals --sector minerals`"),
        ("help", "`--help`"),
        ("count", '`sql "select count(*) ..."`'),
    ):
        x = med(f"kz_{key}") / med(f"su_{key}")
        rows.append(
            (
                "1",
                f"{label} ≤ 1.0x sqlite-utils",
                f"{x:.2f}x ({ms(med(f'kz_{key}'))} vs {ms(med(f'su_{key}'))})",
                x <= 1.0,
                "",
            )
        )
    for key, label, limit in (
        ("us", "`agreements --partner US --limit 50`", 1.2),
        ("rare", f"`agreements --partner {r['rare']} --limit 50` (rare)", 1.2),
        ("search", f"`search {r['word']}`", 1.5),
    ):
        x = med(f"big_{key}") / med(f"seed_{key}")
        rows.append(
            (
                "2",
                f"{label} at {n:,} ≤ {limit}x seeded",
                f"{x:.2f}x ({ms(med(f'big_{key}'))} vs {ms(med(f'seed_{key}'))})",
                x <= limit,
                "",
            )
        )
    p = med("big_partners")
    rows.append(("2", f"`partners` at {n:,} < 1 s", ms(p), p < 1.0, ""))
    load = big["rows_per_s"]["load"]
    insert = big["rows_per_s"]["insert_only"]
    rows.append(
        (
            "3",
            "bulk load ≥ 200,000 rows/s, complete (rows + secondary indexes + search index "
            "+ derived)",
            f"{load:,.0f} rows/s",
            load >= 200_000,
            "",
        )
    )
    rows.append(
        (
            "3",
            "bulk load ≥ 200,000 rows/s, the insert alone (what the issue's reference figures "
            "measure: raw executemany ~550k, SQLAlchemy Core ~170-190k)",
            f"{insert:,.0f} rows/s",
            insert >= 200_000,
            "",
        )
    )
    for fmt in ("json", "csv", "ndjson"):
        rss = cmds[f"rss_{fmt}"]["stats"]["peak_rss_mb"]
        rows.append(
            (
                "4",
                f"`sql ... --format {fmt}` of {r['facts']['rows']['citations']:,} rows: "
                "peak RSS < 150 MB",
                f"{rss:,.0f} MB",
                rss < 150,
                "",
            )
        )
    for num, target, figure, ok, extra in rows:
        add(f"| {num} | {target} | {figure} | {verdict(ok)}{extra} |")
    add(postgres_row(r.get("postgres")))
    met = sum(1 for row in rows if row[3])
    add(
        f"\n{met} of {len(rows)} measured targets met. Section 7 holds the experiments behind "
        "the design choices.\n"
    )

    # peers
    add("## 1. Start-up and small queries, seeded database\n")
    add("| command | min | median | max | ratio to peer (medians) | peak RSS |")
    add("|---|---|---|---|---|---|")
    for c in r["peer"]:
        s = c["stats"]
        peer = (
            f"{ratio(s['median'], med(c['peer']))} of {cmds[c['peer']]['label']}"
            if c["peer"]
            else "peer"
            if c["key"].startswith("su_")
            else "floor"
        )
        add(
            f"| `{c['label']}` | {ms(s['min'])} | {ms(s['median'])} | {ms(s['max'])} | {peer} "
            f"| {s['peak_rss_mb']:.0f} MB |"
        )
    add(
        "\nThe sqlite-utils side runs the SQL a user would write for the same answer "
        "(agreements with their partners, sectors and source quotes, newest-last, 101 rows):\n"
    )
    add(
        "```sql\n-- agreements --partner US\n"
        + US_SQL
        + "\n\n-- deals --sector minerals\n"
        + MINERALS_SQL
        + "\n```\n"
    )
    for chk in r["equivalence"]:
        add(
            f"- `{chk['command']}`: kzdiplo lists {len(chk['kzdiplo'])} records, the SQL "
            f"returns {len(chk['sqlite_utils'])}; "
            + (
                "the same slugs in the same order."
                if chk["same"]
                else f"**they differ**: {chk['kzdiplo']} vs {chk['sqlite_utils']}"
            )
        )
    add("")

    # scale
    f = r["facts"]
    add(f"## 2. Scale: {n:,} synthetic agreements\n")
    add(
        "The database (`benchmarks/synth.py`, kept in /tmp): "
        + ", ".join(f"{t} {v:,}" for t, v in f["rows"].items())
        + f"; {f['search_documents']:,} search documents; {f['bytes'] / 1e9:.2f} GB. "
        f"US is a party (itself or through its organisations) to "
        f"{f['partner_agreements'].get('US', 0):,} agreements, CN to "
        f"{f['partner_agreements'].get('CN', 0):,}; the rare partner `{r['rare']}` to "
        f"{f['partner_agreements'].get(r['rare'], 0):,}. `search {r['word']}` matches "
        f"{f['search_matches']:,} documents (seeded: {r['seed_facts']['search_matches']}).\n"
    )
    add(f"| command | seeded median | {n:,}: min | median | max | ratio to seeded |")
    add("|---|---|---|---|---|---|")
    for key in (*SCALE_TARGETS, *SCALE_SAME_OUTPUT):
        if key == SCALE_SAME_OUTPUT[0]:
            add("| *the same, with as many rows printed on both databases:* | | | | | |")
        s, b = cmds[f"seed_{key}"]["stats"], cmds[f"big_{key}"]["stats"]
        add(
            f"| `{cmds[f'big_{key}']['label']}` | {ms(s['median'])} | {ms(b['min'])} | "
            f"{ms(b['median'])} | {ms(b['max'])} | {ratio(b['median'], s['median'])} |"
        )
    sf = r["seed_facts"]
    add(
        f"\nOn the seeded database US has {sf['partner_agreements'].get('US', 0)} agreement(s), "
        f"`{r['rare']}` {sf['partner_agreements'].get(r['rare'], 0)}, and `{r['word']}` "
        f"matches {sf['search_matches']} documents, so the first four commands print fewer "
        "rows there than at scale: the last rows (`--limit 1`, `--format json`, a search "
        "limit equal to the seeded matches) show what the query itself costs at scale.\n"
    )

    # load
    add("## 3. Load throughput\n")
    t = big["timings"]
    add(
        f"The {n:,}-agreement database above ({big['total_rows']:,} rows in "
        f"{len(big['rows'])} tables; `--fts {big['fts']} --indexes {big['indexes']}`; PRAGMAs "
        f"{', '.join('`' + p.replace('PRAGMA ', '') + '`' for p in big['pragmas'])}; "
        f"`--foreign-keys {big['foreign_keys']}`: {FK_WORDS[big['foreign_keys']]}, and "
        f"`PRAGMA foreign_key_check` found {big['foreign_key_problems']} problems):\n"
    )
    add("| phase | seconds | rows/s |")
    add("|---|---|---|")
    for label, secs in (
        ("`kzdiplo db init` (migrate + seed)", t["db_init"]),
        ("generate rows (Python, not load)", t["generate"]),
        (
            f"insert (executemany, chunks of {big['chunk']:,} agreements per transaction)",
            t["insert"],
        ),
        (f"create {len(big['secondary_indexes'])} secondary indexes", t["create_indexes"]),
        ("rebuild the search index, recreate the triggers", t["fts_rebuild"]),
        ("rebuild derived tables (partners cache)", t.get("derived_rebuild", 0.0)),
        (
            "`PRAGMA foreign_key_check`"
            + (" (part of the load)" if big["foreign_keys"] == "after" else ""),
            t["foreign_key_check"],
        ),
    ):
        add(f"| {label} | {secs:.1f} | |")
    rps = big["rows_per_s"]
    load_s = t["insert"] + t["create_indexes"] + t["fts_rebuild"] + t.get("derived_rebuild", 0.0)
    checked_after = big["foreign_keys"] == "after"
    load_s += t["foreign_key_check"] if checked_after else 0.0
    add(
        f"| **load** (insert + indexes + search index + derived"
        f"{' + foreign key check' if checked_after else ''}) | "
        f"{load_s:.1f} | **{rps['load']:,.0f}** |"
    )
    add(f"| insert alone | {t['insert']:.1f} | {rps['insert_only']:,.0f} |")
    add(
        f"| insert + secondary indexes | {t['insert'] + t['create_indexes']:.1f} | "
        f"{rps['insert_and_indexes']:,.0f} |"
    )
    add(
        f"| end to end, with generation | {load_s + t['generate']:.1f} | "
        f"{rps['end_to_end']:,.0f} |\n"
    )
    lc = r["load_comparison"]
    add(
        f"Strategies side by side at {lc['agreements']:,} agreements ({lc['rows']:,} rows), "
        f"{lc['runs']} alternating runs each (rows/s: min / median / max):\n"
    )
    add(
        "| triggers | secondary indexes | foreign keys | insert only | load (insert + indexes + "
        "search + derived [+ foreign key check]) |"
    )
    add("|---|---|---|---|---|")
    for mode in lc["modes"]:
        ins = sorted(mode["insert_only"])
        ld = sorted(mode["load"])
        add(
            f"| {mode['fts']} | {mode['indexes']} | {mode['foreign_keys']} | "
            f"{ins[0]:,.0f} / {statistics.median(ins):,.0f} "
            f"/ {ins[-1]:,.0f} | {ld[0]:,.0f} / {statistics.median(ld):,.0f} / {ld[-1]:,.0f} |"
        )
    add(
        "\n`triggers`: the triggers on the loaded tables stay during the load (migration "
        "0002's, so each record and each citation re-indexes its search document, and "
        "migration 0005's, which mark the partners cache stale). `rebuild`: they are "
        "dropped, the search index is rebuilt from `search_documents` in one statement, and "
        "they are recreated from the SQL the database held. Both rebuild the partners cache "
        "at the end. (`triggers` with indexes after is not measured: each search trigger "
        "finds the record's quotes through `ix_citations_*`.) Foreign keys `during`: SQLite "
        "looks up each row's parents as it goes in; `after`: enforcement is off for the "
        "insert and one `PRAGMA foreign_key_check` verifies every reference at the end "
        "(counted in the load; a problem fails the build).\n"
    )

    # memory
    add("## 4. Memory: a million-row result\n")
    add("| command | rows | time | peak RSS |")
    add("|---|---|---|---|")
    for c in r["rss"]:
        s = c["stats"]
        rows_out = f"{f['rows']['citations']:,}" if "citations" in c["label"] else "1"
        add(f"| `{c['label']}` | {rows_out} | {ms(s['median'])} | {s['peak_rss_mb']:,.0f} MB |")
    add(
        "\n(`--timeout 3600` is added to the kzdiplo commands: the default 1 s limit stops a "
        "million-row export. One run each; RSS is the child's `ru_maxrss`.)\n"
    )

    # plans
    add(f"## 5. Query plans and statement times at {n:,}\n")
    add(
        "Every statement a command sent to SQLite (traced with `benchmarks/trace_sql.py`), "
        "then timed alone on a read-only connection (median of 3) with its "
        "`EXPLAIN QUERY PLAN`. Long IN lists are shortened here.\n"
    )
    for item in r["plans"]:
        add(f"### `kzdiplo {' '.join(item['args'][2:])}`\n")
        add(
            f"In-process time of the whole command: {ms(item['in_process_seconds'])}; "
            f"SQL alone: {ms(sum(s['seconds'] for s in item['statements']))}.\n"
        )
        for s in item["statements"]:
            add(f"- {ms(s['seconds'])}: `{short_sql(s['sql'], 300)}`")
            add("  ```\n" + "\n".join("  " + line for line in s["plan"]) + "\n  ```")
        add("")

    # imports
    imp = r["imports"]
    add("## 6. Import time of `kzdiplo agreements --partner US`\n")
    add(
        f"`python -X importtime`, median of 7 runs: {imp['total_ms']:.0f} ms of imports in all. "
        f"Heavy modules loaded by the command: "
        f"{', '.join(imp['heavy_loaded']) or 'none'} "
        f"(checked: {', '.join(imp['heavy_checked'])}).\n"
    )
    add("| module (cumulative, top-level imports) | cumulative | self |")
    add("|---|---|---|")
    top = sorted((m for m in imp["modules"] if m["depth"] == 0), key=lambda m: -m["cumulative_ms"])[
        :12
    ]
    for mod in top:
        add(f"| `{mod['module']}` | {mod['cumulative_ms']:.1f} ms | {mod['self_ms']:.1f} ms |")
    add("\n| module (largest self time, any depth) | self | cumulative |")
    add("|---|---|---|")
    for mod in sorted(imp["modules"], key=lambda m: -m["self_ms"])[:15]:
        add(f"| `{mod['module']}` | {mod['self_ms']:.1f} ms | {mod['cumulative_ms']:.1f} ms |")
    hlp = r["imports_help"]
    add(
        f"\n`kzdiplo --help`: {hlp['total_ms']:.0f} ms of imports; heavy modules loaded: "
        f"{', '.join(hlp['heavy_loaded']) or 'none'}. Largest top-level imports:\n"
    )
    add("| module | cumulative | self |")
    add("|---|---|---|")
    top = sorted((m for m in hlp["modules"] if m["depth"] == 0), key=lambda m: -m["cumulative_ms"])[
        :8
    ]
    for mod in top:
        add(f"| `{mod['module']}` | {mod['cumulative_ms']:.1f} ms | {mod['self_ms']:.1f} ms |")
    add("")
    if r.get("experiments"):
        add(r["experiments"])
    return "\n".join(L) + "\n"


# --- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--agreements",
        "-n",
        type=int,
        default=1_000_000,
        help="synthetic agreements for the scale database (default 1000000)",
    )
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (15)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up rounds (3)")
    parser.add_argument(
        "--load-agreements",
        type=int,
        default=50_000,
        help="size of the load-strategy comparison (50000, at most --agreements)",
    )
    parser.add_argument("--load-runs", type=int, default=3, help="runs per load strategy (3)")
    parser.add_argument("--word", default="tungsten", help="the word to search for (tungsten)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kzdiplo-bench"))
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "benchmarks.md")
    parser.add_argument(
        "--reuse-synth",
        action="store_true",
        help="reuse the scale database (and its load figures) if it exists",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("KZDIPLO_TEST_POSTGRES_URL"),
        help="a PostgreSQL superuser URL: also run benchmarks/pg_scale.py on the scale "
        "database (default: KZDIPLO_TEST_POSTGRES_URL, which scripts/with-postgres.sh sets)",
    )
    parser.add_argument(
        "--no-experiments",
        action="store_true",
        help="skip benchmarks/experiments.py (candidate fixes on a scratch copy)",
    )
    parser.add_argument("--render-only", type=Path, metavar="RESULTS_JSON",
                        help="only write the report again from a results.json")  # fmt: skip
    args = parser.parse_args()
    if args.render_only:
        args.output.write_text(report(json.loads(args.render_only.read_text())))
        log(f"wrote {args.output} from {args.render_only}")
        return
    n = args.agreements
    work = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    for tool in (KZ, SU):
        if not Path(tool).exists():
            raise SystemExit(f"{tool} not found: run this with the virtualenv's python")
    r: dict = {"args": vars(args) | {"workdir": str(work), "output": str(args.output)},
               "date": dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
               "machine": machine(), "versions": versions(), "git": git_state(),
               "word": args.word}  # fmt: skip

    r["loadavg_start"] = os.getloadavg()
    log("seeded database")
    seeded = work / "seeded.db"
    make_seeded(seeded)
    r["seed_facts"] = facts(seeded, args.word)

    load_n = min(args.load_agreements, n)
    log(f"load strategies at {load_n:,} agreements, {args.load_runs} runs each")
    modes = [("triggers", "before", "during"), ("rebuild", "before", "during"),
             ("rebuild", "after", "during"), ("rebuild", "after", "after")]  # fmt: skip
    results = {m: {"fts": m[0], "indexes": m[1], "foreign_keys": m[2], "insert_only": [],
                   "load": []} for m in modes}  # fmt: skip
    rows = 0
    for i in range(args.load_runs):
        for mode in modes[i % len(modes) :] + modes[: i % len(modes)]:
            path = work / "load.db"
            st = synth(path, load_n, work / "load.json", "--fts", mode[0], "--indexes", mode[1],
                       "--foreign-keys", mode[2], quiet=True)  # fmt: skip
            results[mode]["insert_only"].append(st["rows_per_s"]["insert_only"])
            results[mode]["load"].append(st["rows_per_s"]["load"])
            rows = st["total_rows"]
            path.unlink()
        log(f"load strategies: round {i + 1}/{args.load_runs}")
    r["load_comparison"] = {"agreements": load_n, "rows": rows, "runs": args.load_runs,
                            "modes": list(results.values())}  # fmt: skip

    big = work / f"synth-{n}.db"
    big_stats = work / f"synth-{n}.json"
    reuse = args.reuse_synth and big.exists() and big_stats.exists()
    if reuse:
        from synth import SYNTH_VERSION

        reuse = json.loads(big_stats.read_text()).get("synth_version") == SYNTH_VERSION
    if reuse:
        log(f"reusing {big} (bringing its schema up to date)")
        subprocess.run([KZ, "--db", str(big), "db", "upgrade"], check=True, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        r["big"] = json.loads(big_stats.read_text())
    else:
        log(f"building {big} ({n:,} agreements)")
        r["big"] = synth(big, n, big_stats)
    r["facts"] = facts(big, args.word)
    r["rare"] = r["facts"]["rare"]
    log(f"rare partner: {r['rare']} ({r['facts']['partner_agreements'].get(r['rare'])} agreements)")

    # Both databases at the schema the code now expects (the code may have moved on
    # while the scale database was being built).
    for path in (seeded, big):
        subprocess.run([KZ, "--db", str(path), "db", "upgrade"], check=True, env=ENV,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    r["git_measured"] = git_state()
    log("equivalence of the sqlite-utils queries")
    r["equivalence"] = equivalence(seeded)

    peer = peer_commands(seeded)
    log(f"peer comparison: {len(peer)} commands")
    measure(peer, args.runs, args.warmup, "peers")
    scale = scale_commands(seeded, big, r["rare"], args.word, r["seed_facts"]["search_matches"])
    log(f"scale comparison: {len(scale)} commands")
    measure(scale, args.runs, max(1, args.warmup - 1), "scale")
    rss = rss_commands(big)
    log("memory: million-row exports (one run each)")
    measure(rss, 1, 0, "memory", rss=True)
    for group, cmds in (("peer", peer), ("scale", scale), ("rss", rss)):
        r[group] = [{"key": c.key, "label": c.label, "argv": c.argv, "peer": c.peer,
                     "times": c.times, "stats": c.stats()} for c in cmds]  # fmt: skip

    log("query plans")
    r["plans"] = [
        statements(big, ["--db", str(big), *a], work)
        for a in (["agreements", "--partner", "US", "--limit", "50"],
                  ["agreements", "--partner", r["rare"], "--limit", "50"],
                  ["search", args.word], ["partners"])
    ]  # fmt: skip
    log("import time")
    r["imports"] = import_times(["--db", str(seeded), "agreements", "--partner", "US"], work)
    r["imports_help"] = import_times(["--help"], work)

    if not args.no_experiments and (HERE / "experiments.py").exists():
        log("candidate fixes on a scratch copy (benchmarks/experiments.py)")
        md = work / "experiments.md"
        subprocess.run([PY, str(HERE / "experiments.py"), str(big), "--rare", r["rare"],
                        "--word", args.word, "--seeded", str(seeded), "--output", str(md),
                        "--runs", str(args.runs), "--load-agreements", str(load_n),
                        "--load-runs", str(args.load_runs)], check=True, env=ENV)  # fmt: skip
        r["experiments"] = md.read_text()

    if args.postgres_url:
        log("PostgreSQL: the same scale benchmark (benchmarks/pg_scale.py)")
        pg_json = work / "pg-results.json"
        before = work / "pg-before.json"
        subprocess.run([PY, str(HERE / "pg_scale.py"), "--url", args.postgres_url,
                        "--sqlite", str(big), "--rare", r["rare"], "--json", str(pg_json),
                        "--output", str(ROOT / "docs" / "benchmarks-postgres.md"),
                        *(["--before", str(before)] if before.exists() else [])],
                       check=True, env=ENV)  # fmt: skip
        r["postgres"] = json.loads(pg_json.read_text())

    r["loadavg_end"] = os.getloadavg()
    r["git_end"] = git_state()
    r["phases"] = PHASES
    r["elapsed"] = time.perf_counter() - T0
    (work / "results.json").write_text(json.dumps(r, indent=1, default=str))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(report(r))
    log(f"wrote {args.output} (raw figures: {work / 'results.json'})")


if __name__ == "__main__":
    main()
