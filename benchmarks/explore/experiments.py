#!/usr/bin/env python3
"""Experiments behind the design choices, measured without changing kzdiplo:
indexes and query shapes on a scratch copy of the scale database, a schema variant for
the load, and start-up variants through environment switches.

    python benchmarks/explore/experiments.py WORKDIR/synth-1000000.db \\
        --seeded WORKDIR/seeded.db --rare GM --output experiments.md

(WORKDIR: benchmarks/run.py's work directory.) ``benchmarks/run.py --experiments`` runs it
and adds its Markdown to docs/benchmarks.md as section 7. The scratch
copy lives next to the database and is deleted at the end.
"""

from __future__ import annotations

import argparse
import functools
import importlib.util
import os
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent  # benchmarks/
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
import synth  # noqa: E402
from harness import KZ, PY, SU  # noqa: E402

DATE_INDEX = (
    "CREATE INDEX ix_agreements_date_order "
    "ON agreements ((date_start IS NULL), date_start, date_end)"
)
LIST_SELECT = """SELECT t.id, t.slug, t.title, t.aliases, t.kind, t.count, pa.slug AS parent,
    t.date_start, t.date_end, t.date_precision, t.date_text, t.date_inferred,
    t.date_note, t.summary, t.notes
FROM agreements t LEFT JOIN agreements pa ON pa.id = t.parent_id"""
ORDER = "ORDER BY (t.date_start IS NULL), t.date_start, t.date_end, t.id LIMIT 51"
PROBE_LIMIT = 5000


def log(message: str) -> None:
    print(f"experiments: {message}", file=sys.stderr, flush=True)


def timed(conn: sqlite3.Connection, sql: str, repeat: int = 5) -> tuple[float, list]:
    times, rows = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        rows = conn.execute(sql).fetchall()
        times.append(time.perf_counter() - start)
    return statistics.median(times), rows


def plan(conn: sqlite3.Connection, sql: str) -> str:
    return "\n".join(harness.plan(conn, sql))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms" if seconds >= 0.1 else f"{seconds * 1000:,.1f} ms"


def partner_ids(conn: sqlite3.Connection, code: str) -> tuple[str, str]:
    cid = conn.execute("SELECT id FROM countries WHERE code = ?", (code,)).fetchone()[0]
    orgs = [r[0] for r in conn.execute("SELECT id FROM organizations WHERE country_id = ?",
                                       (cid,))]  # fmt: skip
    return str(cid), ", ".join(map(str, orgs)) or "NULL"


def exists_sql(cid: str, orgs: str) -> str:
    """The shape kzdiplo runs today (queries.list_records/_where)."""
    return (
        f"{LIST_SELECT}\nWHERE EXISTS (SELECT 1 FROM parties p WHERE p.agreement_id = t.id "
        f"AND (p.country_id IN ({cid}) OR p.organization_id IN ({orgs})))\n{ORDER}"
    )


def in_sql(cid: str, orgs: str) -> str:
    """Driven from the partner's parties: for a partner with few records."""
    return (
        f"{LIST_SELECT}\nWHERE t.id IN (SELECT agreement_id FROM parties WHERE country_id IN "
        f"({cid}) UNION SELECT agreement_id FROM parties WHERE organization_id IN ({orgs}))"
        f"\n{ORDER}"
    )


def probe_sql(cid: str, orgs: str) -> str:
    return (
        f"SELECT count(*) FROM (SELECT 1 FROM parties WHERE agreement_id IS NOT NULL AND "
        f"(country_id IN ({cid}) OR organization_id IN ({orgs})) LIMIT {PROBE_LIMIT})"
    )


def short(sql: str) -> str:
    sql = re.sub(r"\s+", " ", sql)
    return re.sub(r"\(((\d+, ){5,}\d+)\)", lambda m: f"({m[1].split(',')[0]}, …)", sql)


# --- 1. the partner listing ------------------------------------------------------------------


def partner_listing(conn: sqlite3.Connection, partners: list[tuple[str, int]], L: list) -> None:
    add = L.append
    # Migration 0005 adds this index: drop it on the scratch copy to measure without it.
    conn.execute("DROP INDEX IF EXISTS ix_agreements_date_order")
    before = {}
    for code, _ in partners:
        cid, orgs = partner_ids(conn, code)
        before[code] = timed(conn, exists_sql(cid, orgs), 3)
    start = time.perf_counter()
    conn.execute(DATE_INDEX)
    created = time.perf_counter() - start
    add("### The partner listing: an index for the sort, and the shape chosen by a probe\n")
    add(
        "Before migration 0005, `agreements --partner X --limit 50` ran `EXISTS (SELECT 1 "
        "FROM parties ...)` per agreement and sorted on `(date_start IS NULL), date_start, "
        "date_end, id`, which no index served, so SQLite read every agreement and sorted "
        "the matches. The fix (which 0005 adopted), measured on a scratch copy with the "
        "index dropped, then created:"
        f"\n\n```sql\n{DATE_INDEX};  -- {created:.1f} s at this size\n```\n"
    )
    add(
        "With it, the EXISTS shape walks agreements in date order and stops at the 51st match: "
        "cheap when the partner is in many rows, a full walk when it is in few. Driving the "
        "query from the partner's parties (`t.id IN (SELECT agreement_id FROM parties ...)`) "
        "is the opposite. A bounded probe picks the shape: count the partner's party rows "
        f"up to {PROBE_LIMIT:,} (`{short(probe_sql('235', '4, 6'))}`), use the IN shape "
        f"below {PROBE_LIMIT:,}, the EXISTS shape otherwise.\n"
    )
    add(
        "| partner | its agreements | EXISTS, no sort index (before 0005) | EXISTS + index | "
        "IN + index | "
        "probe | probe + chosen shape | same rows |"
    )
    add("|---|---|---|---|---|---|---|---|")
    plans = []
    for code, count in partners:
        cid, orgs = partner_ids(conn, code)
        t_before, rows_before = before[code]
        t_exists, rows_exists = timed(conn, exists_sql(cid, orgs), 3)
        t_in, rows_in = timed(conn, in_sql(cid, orgs), 3)
        t_probe, probe_rows = timed(conn, probe_sql(cid, orgs), 5)
        chosen = in_sql if probe_rows[0][0] < PROBE_LIMIT else exists_sql
        t_chosen = t_probe + (t_in if chosen is in_sql else t_exists)
        same = rows_before == rows_exists == rows_in
        add(
            f"| {code} | {count:,} | {ms(t_before)} | {ms(t_exists)} | {ms(t_in)} | "
            f"{ms(t_probe)} | **{ms(t_chosen)}** ({'IN' if chosen is in_sql else 'EXISTS'}) | "
            f"{'yes' if same else 'NO'} |"
        )
        plans.append((code, chosen.__name__, plan(conn, chosen(cid, orgs))))
    add("\nPlans of the chosen shapes:\n")
    for code, name, text in plans:
        add(
            f"- {code} ({name.replace('_sql', '').upper()}):\n  ```\n"
            + "\n".join("  " + line for line in text.splitlines())
            + "\n  ```"
        )
    add(
        "\nThe same two-shape rule applies to `deals`, `projects` and `events --partner` (an "
        "index on each table's sort key) and to `--sector` (`record_sectors`). A descending "
        "`--sort -date` needs its own index in the matching directions.\n"
    )


STREAM_INDEX = (
    "CREATE INDEX IF NOT EXISTS ix_experiment_parties_country_records "
    "ON parties (country_id, agreement_id, deal_id)"
)
STREAM_SQL = """SELECT c.id AS gc, count(*) AS agreement_records, sum(COALESCE(a.count, 1)) AS agreements
FROM countries c CROSS JOIN parties p CROSS JOIN agreements a
WHERE p.country_id = c.id AND p.agreement_id = a.id AND a.parent_id IS NULL
GROUP BY c.id"""


# --- 2. partners -------------------------------------------------------------------------------


def partner_totals(conn: sqlite3.Connection, L: list) -> None:
    from kzdiplo import queries

    add = L.append
    sql = queries.PARTNER_TOTALS_SQL
    countries_sql = ("SELECT id, code, name, kind, relationship_level FROM countries WHERE id IN "
                     "(SELECT country_id FROM parties UNION SELECT country_id FROM organizations "
                     "UNION SELECT country_id FROM citations)")  # fmt: skip
    t_live, live = timed(conn, sql, 1)
    t_countries, _ = timed(conn, countries_sql, 1)
    start = time.perf_counter()
    conn.execute(f"CREATE TABLE partner_totals_experiment AS {sql}")
    t_build = time.perf_counter() - start
    t_read, cached = timed(conn, "SELECT * FROM partner_totals_experiment", 5)
    key = lambda r: tuple((v is None, v) for v in r)  # noqa: E731
    same = sorted(live, key=key) == sorted(cached, key=key)
    start = time.perf_counter()
    conn.execute(STREAM_INDEX)
    t_stream_index = time.perf_counter() - start
    t_stream, _ = timed(conn, STREAM_SQL, 1)
    add("### `partners`: totals kept in a table, not recomputed per run\n")
    add(
        f"`partners` runs `PARTNER_TOTALS_SQL` over every party row: {ms(t_live)} here "
        f"(plus {ms(t_countries)} for the list of countries in use, which scans "
        "`parties` too). Its `DISTINCT ... UNION` builds temporary B-trees as large as "
        "`parties`. A rewrite that streams from an index instead of sorting still reads "
        "every party row and looks up its agreement; its cheapest part alone, the "
        "agreements of each country without de-duplication or organisations, is a lower "
        f"bound for any live rewrite: {ms(t_stream)} (after `{STREAM_INDEX}`, "
        f"{t_stream_index:.1f} s):\n\n```sql\n{STREAM_SQL}\n```\n"
    )
    add("Only a precomputed result is flat:\n")
    add("| | time |")
    add("|---|---|")
    add(f"| the live totals query (`queries.PARTNER_TOTALS_SQL`) | {ms(t_live)} |")
    add(f"| the countries-in-use query (as `partners` ran it before 0005) | {ms(t_countries)} |")
    add(f"| building a table of it (`CREATE TABLE ... AS` the live query) | {ms(t_build)} |")
    add(f"| reading that table ({len(cached)} rows) | **{ms(t_read)}** |")
    add(
        f"\nSame rows as the live query: {'yes' if same else 'NO'}. Migration 0005 does "
        "this: `partner_totals_cache` is rebuilt by every load (and by the generator), "
        "row-level triggers on `parties`, `agreements`, `deals`, `organizations` and "
        "`citations` mark it stale in `derived_state`, and `partners` falls back to the "
        "live query while it is stale; so the live query's time above is what `partners` "
        "costs after an ad-hoc write, until the next load.\n"
    )


# --- 3. search -----------------------------------------------------------------------------


def search_words(conn: sqlite3.Connection, words: list[str], L: list) -> None:
    add = L.append
    add("### `search`: the cost follows the number of matches\n")
    add(
        "The query ranks every matching document with `bm25()` before `LIMIT 20`; a rare "
        "word is cheap at any size, a word in most documents is not:\n"
    )
    add("| word | matching documents | ranking query (warm) |")
    add("|---|---|---|")
    for word in words:
        n = conn.execute("SELECT count(*) FROM search_index WHERE search_index MATCH ?",
                         (f'"{word}"*',)).fetchone()[0]  # fmt: skip
        sql = ("SELECT noun, key, label, snippet(search_index, -1, '[', ']', '…', 12), "
               "round(bm25(search_index, 0, 0, 0, 5.0, 1.0), 3) FROM search_index "
               f"WHERE search_index MATCH '\"{word}\"*' "
               "ORDER BY bm25(search_index, 0, 0, 0, 5.0, 1.0) LIMIT 20")  # fmt: skip
        t, _ = timed(conn, sql, 3)
        add(f"| {word} | {n:,} | {ms(t)} |")
    add("")


# --- 4. load: CHECK constraints with IN lists (before migration 0007) -----------------------


@functools.cache
def _migration_0007() -> Any:
    path = HERE.parent / "migrations" / "versions" / "0007_check_or_chains.py"
    spec = importlib.util.spec_from_file_location("migration_0007", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    return migration


def in_lists(sql: str) -> str:
    """``(col = 'a' OR col = 'b')`` -> ``col IN ('a', 'b')``: migration 0007's own
    downgrade rewrite, so the comparison is with exactly the constraints it replaced."""
    return _migration_0007().to_in_lists(sql)


def restore_in_lists(path: Path) -> int:
    """Rewrite the tables' OR-chain CHECKs back to IN lists, in place (same meaning;
    ``writable_schema`` on a scratch database: only the stored SQL changes)."""
    conn = sqlite3.connect(path, isolation_level=None)
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' "
                        "AND sql LIKE '%CHECK%'").fetchall()  # fmt: skip
    conn.execute("PRAGMA writable_schema = ON")
    changed = 0
    for name, sql in rows:
        new = in_lists(sql)
        if new != sql:
            conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                         (new, name))  # fmt: skip
            changed += 1
    version = conn.execute("PRAGMA schema_version").fetchone()[0]
    conn.execute(f"PRAGMA schema_version = {version + 1}")
    conn.execute("PRAGMA writable_schema = OFF")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    return changed


def load_checks(workdir: Path, n: int, runs: int, L: list) -> None:
    add = L.append
    results: dict[str, list[dict]] = {"in": [], "or": []}
    for i in range(runs):
        for variant in ["in", "or"] if i % 2 == 0 else ["or", "in"]:
            hook = restore_in_lists if variant == "in" else None
            stats = synth.build(workdir / "exp-load.db", n, progress=False, schema_hook=hook)
            results[variant].append(stats)
            (workdir / "exp-load.db").unlink()
    add("### Load: CHECK constraints written as `IN (...)` lists (before migration 0007)\n")
    add(
        "SQLite evaluates `role IN ('signatory', 'party', ...)` in a CHECK by building a "
        "small temporary index of the list, again for every inserted row (each "
        "`executemany` row is a new execution of the statement). Migration 0007 rewrote "
        "every such list as `(role = 'signatory' OR role = 'party' OR ...)`: the same "
        "meaning, NULL included. Measured on the whole synthetic load, "
        f"{n:,} agreements, {runs} alternating runs each, today's schema against the same "
        "schema with the lists put back (on a scratch database, through `writable_schema`):\n"
    )
    add(
        "| CHECK lists | insert rows/s (min / median / max) | load rows/s (insert + indexes "
        "+ search index + derived) |"
    )
    add("|---|---|---|")
    for variant, label in (("in", "`IN (...)` (before 0007)"), ("or", "`OR` chains (today)")):
        ins = sorted(s["rows_per_s"]["insert_only"] for s in results[variant])
        load = sorted(s["rows_per_s"]["load"] for s in results[variant])
        add(
            f"| {label} | {ins[0]:,.0f} / {statistics.median(ins):,.0f} / {ins[-1]:,.0f} | "
            f"{load[0]:,.0f} / {statistics.median(load):,.0f} / {load[-1]:,.0f} |"
        )
    add("")


# --- 5. start-up ------------------------------------------------------------------------------


def startup(seeded: Path, runs: int, L: list) -> None:
    add = L.append
    db = str(seeded)
    cmds = [
        ("`kzdiplo agreements --partner US`", [KZ, "--db", db, "agreements", "--partner", "US"], {}),
        ("same, `--format json` (no table drawn)", [KZ, "--db", db, "agreements", "--partner", "US", "-f", "json"], {}),
        ("same, `TYPER_USE_RICH=1`", [KZ, "--db", db, "agreements", "--partner", "US"], {"TYPER_USE_RICH": "1"}),
        ("`kzdiplo --help`", [KZ, "--help"], {}),
        ("`TYPER_USE_RICH=1 kzdiplo --help` (Rich help)", [KZ, "--help"], {"TYPER_USE_RICH": "1"}),
        ("`TYPER_USE_RICH=0 kzdiplo --help` (plain Click help)", [KZ, "--help"], {"TYPER_USE_RICH": "0"}),
        ("`sqlite-utils --help` (peer)", [SU, "--help"], {}),
        ("`sqlite-utils query ... count(*)` (peer)", [SU, "query", db, "select count(*) from agreements"], {}),
        ("`python -c 'import kzdiplo.cli'`", [PY, "-c", "import kzdiplo.cli"], {}),
        ("`python -c 'import typer'`", [PY, "-c", "import typer"], {}),
        ("`python -c 'import click'`", [PY, "-c", "import click"], {}),
        ("`python -c 'import rich.console, rich.table'`", [PY, "-c", "import rich.console, rich.table"], {}),
        ("`python -c pass`", [PY, "-c", "pass"], {}),
    ]  # fmt: skip
    times: list[list[float]] = [[] for _ in cmds]
    for i in range(runs + 2):
        order = list(range(len(cmds)))
        order = order[i % len(order) :] + order[: i % len(order)]
        for j in order:
            _, argv, env = cmds[j]
            start = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=dict(os.environ, **env), check=True)  # fmt: skip
            if i >= 2:
                times[j].append(time.perf_counter() - start)
    add("### Start-up: where the milliseconds are\n")
    add(
        f"Whole-process medians, {runs} alternating runs after 2 warm-up rounds, seeded database:\n"
    )
    add("| command | median | min | max |")
    add("|---|---|---|---|")
    for (label, _, _), ts in zip(cmds, times, strict=True):
        add(f"| {label} | {ms(statistics.median(ts))} | {ms(min(ts))} | {ms(max(ts))} |")
    add(
        "\nkzdiplo sets `TYPER_USE_RICH=0` unless the user set it (since commit 040d8c5). "
        "`TYPER_USE_RICH=0` (read by Typer at import) is the same as "
        "`typer.Typer(rich_markup_mode=None)` on the app and its sub-apps: help is "
        "formatted by Click, without importing Rich's console, panels and markup. The "
        "section 6 tables above show the import costs behind the rest.\n"
    )


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("database", type=Path, help="the scale database (not modified)")
    parser.add_argument("--seeded", type=Path, required=True, help="a seeded database")
    parser.add_argument("--rare", required=True, help="a rare partner's code")
    parser.add_argument("--word", default="tungsten")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--load-agreements", type=int, default=50_000)
    parser.add_argument("--load-runs", type=int, default=3)
    parser.add_argument("--output", type=Path, required=True)
    args = parser.parse_args()

    L: list[str] = []
    L.append("## 7. Experiments behind the design (benchmarks/experiments.py)\n")
    L.append(
        "Nothing here changes kzdiplo: indexes and query shapes run on a scratch copy "
        "of the scale database with the same SQLite library, the load variant on a "
        "scratch database, start-up variants through environment switches.\n"
    )
    scratch = args.database.with_name(args.database.stem + "-scratch.db")
    log(f"copying {args.database} to {scratch}")
    shutil.copyfile(args.database, scratch)
    try:
        conn = sqlite3.connect(scratch, isolation_level=None)
        conn.execute("PRAGMA foreign_keys = ON")
        counts = dict(
            conn.execute("""
            SELECT c.code, count(DISTINCT p.agreement_id) FROM parties p
            LEFT JOIN organizations o ON o.id = p.organization_id
            JOIN countries c ON c.id = COALESCE(p.country_id, o.country_id)
            WHERE p.agreement_id IS NOT NULL GROUP BY c.code""").fetchall()
        )
        mid = min(
            (c for c in counts if c not in ("US", args.rare, "KZ")),
            key=lambda c: abs(counts[c] - 3000),
        )
        big = min(
            (c for c in counts if c not in ("US", args.rare, "KZ", mid)),
            key=lambda c: abs(counts[c] - 30000),
        )
        partners = [(c, counts.get(c, 0)) for c in ("US", big, mid, args.rare)]
        log("partner listing")
        partner_listing(conn, partners, L)
        log("partners totals")
        partner_totals(conn, L)
        log("search")
        search_words(conn, [args.word, "nuclear", "kazakhstan"], L)
        conn.close()
    finally:
        scratch.unlink(missing_ok=True)
    log("load with the CHECK lists of before migration 0007")
    load_checks(args.database.parent, min(args.load_agreements, 50_000), args.load_runs, L)
    log("start-up")
    startup(args.seeded, args.runs, L)
    args.output.write_text("\n".join(L) + "\n")


if __name__ == "__main__":
    main()
