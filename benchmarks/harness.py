"""What every benchmark here shares: where the commands are, how a whole process is timed
(round-robin), the facts recorded about the machine and the code, and the two in-process
probes (SQL trace, import time). Everything returns plain data; nothing here prints a
report (that is render.py's job).

The commands timed are taken from the running interpreter's ``bin`` directory (run a
benchmark with the virtualenv's ``python``), or from ``PATH``; no path is fixed here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIN = Path(sys.executable).parent
PY = sys.executable
T0 = time.perf_counter()
DEFAULT_WORKDIR = Path(tempfile.gettempdir()) / "kzdiplo-bench"


def tool(name: str) -> str:
    """The interpreter's own ``bin/NAME`` if there is one, else NAME on PATH, else NAME."""
    own = BIN / name
    return str(own) if own.exists() else (shutil.which(name) or name)


KZ = tool("kzdiplo")
SU = tool("sqlite-utils")
SQLITE3 = shutil.which("sqlite3")

PHASES: list[tuple[str, str]] = []


def compile_kzdiplo() -> None:
    """Byte-compile the kzdiplo package the timed commands import. Under
    PYTHONDONTWRITEBYTECODE (set on these machines) a module changed since its .pyc was
    written is compiled again in every run, which costs start-up more than anything
    measured here (0.66x -> 0.94x for the JSON listing, i27-reads' measure)."""
    import importlib.util

    spec = importlib.util.find_spec("kzdiplo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("kzdiplo is not importable: run this with the virtualenv's python")
    folder = next(iter(spec.submodule_search_locations))
    subprocess.run([PY, "-m", "compileall", "-q", folder], check=True)


def log(message: str) -> None:
    PHASES.append((dt.datetime.now().strftime("%H:%M:%S"), message))
    print(f"[{time.perf_counter() - T0:6.0f}s] {message}", file=sys.stderr, flush=True)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("KZDIPLO_DATABASE_URL", None)
    env.pop("KZDIPLO_DEBUG", None)
    # An installed package has its bytecode compiled (sqlite-utils' is); a shell that sets
    # PYTHONDONTWRITEBYTECODE would make every kzdiplo run recompile its modules instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


ENV = child_env()


def portable(obj: Any, **places: Path | str) -> Any:
    """``obj`` with this machine's paths replaced by names (``$NAME`` for each of
    ``places``, the directories of the tools timed dropped, the repository as ``.``), so that
    a results file committed to docs/ holds no machine-specific path."""
    tools = {str(Path(t).parent) for t in (KZ, SU, SQLITE3, GNU_TIME) if t and os.sep in t}
    subs = sorted([*((f"{d}{os.sep}", "") for d in tools), (str(ROOT), "."),
                   *((str(p), f"${k.upper()}") for k, p in places.items())],
                  key=lambda s: -len(s[0]))  # fmt: skip

    def fix(value: Any) -> Any:
        if isinstance(value, str):
            for old, new in subs:
                value = value.replace(old, new)
            return value
        if isinstance(value, dict):
            return {k: fix(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [fix(v) for v in value]
        return value

    return fix(obj)


def write_json(path: Path, results: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1, default=str) + "\n")


# --- timing whole processes ----------------------------------------------------------------


@dataclass
class Cmd:
    key: str
    label: str  # as shown in the report
    argv: list[str]
    peer: str | None = None  # key of the command it is compared with
    times: list[float] = field(default_factory=list)
    rss_kb: list[int] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # user + system seconds of each timed run
    # Why the command stopped being run (a timeout or an error exit), with ``tolerant``
    # measurement: the figure then says so instead of the whole benchmark stopping.
    failure: str | None = None

    def stats(self) -> dict | None:
        if not self.times:
            return None
        t = sorted(self.times)
        return {"min": t[0], "median": statistics.median(t), "max": t[-1], "runs": len(t),
                "mean": statistics.fmean(t),
                "stdev": statistics.stdev(t) if len(t) > 1 else 0.0,
                "cpu_median": statistics.median(self.cpu) if self.cpu else None,
                "peak_rss_mb": max(self.rss_kb) / 1024 if self.rss_kb else None}  # fmt: skip

    def result(self) -> dict:
        return {"key": self.key, "label": self.label, "argv": self.argv, "peer": self.peer,
                "times": self.times, "cpu": self.cpu, "stats": self.stats(),
                "failure": self.failure}  # fmt: skip


def gnu_time() -> str | None:
    """GNU time, to read a child's peak RSS: ``ru_maxrss`` from our own wait4 would include
    this harness's memory at fork time (Linux keeps the pre-exec high-water mark)."""
    path = shutil.which("time")
    if path is None:
        return None
    try:
        ok = subprocess.run([path, "-f", "%M", "true"], capture_output=True, text=True)
    except OSError:
        return None
    return path if ok.returncode == 0 and ok.stderr.strip().isdigit() else None


GNU_TIME = gnu_time()


@dataclass
class Run:
    seconds: float  # wall clock, fork to exit
    cpu: float  # user + system time of the process (and what it waited for)
    peak_kb: int | None
    code: int
    stderr: str


MEMORY_LIMIT: list[int] = []  # bytes of address space a timed child may take (set by run.py)


def limit_memory() -> None:
    """In a child before exec: cap its address space at MEMORY_LIMIT, so that a command
    that would take the shared machine's memory fails with MemoryError instead."""
    if MEMORY_LIMIT:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT[0], MEMORY_LIMIT[0]))


def run_once(argv: list[str], rss: bool = False, timeout: float | None = None) -> Run:
    """One whole process: its wall and CPU time, peak RSS in KB (or None), exit, stderr.

    CPU time is what a loaded machine inflates least: wall time includes waiting for a
    core, CPU time mostly not. With ``rss``, the command runs under GNU time (``-f %M``), which adds about a
    millisecond; timed comparisons run without it. After ``timeout`` seconds the process
    group is killed (exit code ``TIMED_OUT``).
    """
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as mem:
        if rss and GNU_TIME:
            argv = [GNU_TIME, "-f", "%M", "-o", mem.name, *argv]
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=err, env=ENV, start_new_session=True,
                                preexec_fn=limit_memory)  # fmt: skip
        killed: list[bool] = []
        timer = threading.Timer(timeout or 0, _kill_group, (proc.pid, killed))
        if timeout:
            timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        timer.cancel()
        proc.returncode = code = TIMED_OUT if killed else os.waitstatus_to_exitcode(status)
        err.seek(0)
        peak = None
        if rss:
            text = mem.read().strip().splitlines()
            peak = int(text[-1]) if GNU_TIME and text and text[-1].isdigit() else usage.ru_maxrss
        cpu = usage.ru_utime + usage.ru_stime
        return Run(elapsed, cpu, peak, code, err.read().decode(errors="replace"))


TIMED_OUT = -999  # run_once's exit code for a process it killed at its timeout


def _kill_group(pid: int, killed: list[bool]) -> None:
    killed.append(True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def why_failed(run: Run, timeout: float | None) -> str:
    """One line saying why a run did not succeed: its timeout, or its last error line."""
    if run.code == TIMED_OUT:
        return f"did not finish in {timeout:,.0f} s (stopped)"
    lines = [line for line in run.stderr.strip().splitlines() if line.strip()]
    return f"exit {run.code}: {lines[-1][:300] if lines else 'no message'}"


def measure(cmds: list[Cmd], runs: int, warmup: int, what: str, rss: bool = False,
            timeout: float | None = None, tolerant: bool = False) -> None:  # fmt: skip
    """Round-robin: every round runs each command once, the order rotating each round, so
    that commands compared with each other see the same machine state.

    Then one more run of each command under GNU time for its peak RSS (with ``rss``, every
    timed run is under GNU time instead). ``tolerant``: a command that fails or outlives
    ``timeout`` is recorded (``Cmd.failure``) and not run again; else the benchmark stops.
    """

    def once(c: Cmd, with_rss: bool) -> Run | None:
        if c.failure:
            return None
        run = run_once(c.argv, with_rss, timeout)
        if run.code != 0:
            if not tolerant:
                raise SystemExit(f"{c.label}: exit {run.code}\n{' '.join(c.argv)}\n{run.stderr}")
            c.failure = why_failed(run, timeout)
            log(f"{what}: {c.label}: {c.failure}")
            return None
        return run

    for _ in range(warmup):
        for c in cmds:
            once(c, False)
    n = len(cmds)
    for i in range(runs):
        for c in cmds[i % n :] + cmds[: i % n]:
            run = once(c, rss)
            if run is None:
                continue
            c.times.append(run.seconds)
            c.cpu.append(run.cpu)
            if run.peak_kb is not None:
                c.rss_kb.append(run.peak_kb)
        if (i + 1) % 5 == 0 or i + 1 == runs:
            log(f"{what}: round {i + 1}/{runs}")
    if not rss:
        for c in cmds:
            run = once(c, True)
            if run is not None:
                c.rss_kb.append(run.peak_kb or 0)


# --- facts about the machine and the code ------------------------------------------------


def _proc_field(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine() -> dict:
    mem = _proc_field("/proc/meminfo", "MemTotal")
    return {"nproc": os.cpu_count(), "cpu": _proc_field("/proc/cpuinfo", "model name") or "unknown",
            "memory_gib": int(mem.split()[0]) / 1024 / 1024 if mem else None,
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
            "uncommitted_src_changes": len(dirty.splitlines()) if dirty else 0,
            "schema": schema_head()}  # fmt: skip


def code_changed(start: str, end: str) -> list[str]:
    """Files under src/, migrations/ or pyproject.toml changed between two commits."""
    return git("diff", "--name-only", f"{start}..{end}", "--", *CODE_PATHS).splitlines()


def schema_head() -> str | None:
    """The newest migration's revision (its file name's number), e.g. ``0010``."""
    names = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("[0-9]*.py"))
    return names[-1].split("_", 1)[0] if names else None


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --- databases -----------------------------------------------------------------------------


def make_seeded(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    kz(path, "db", "init")


def kz(db: Path, *args: str) -> None:
    """Run a kzdiplo command on ``db`` quietly; fail loudly."""
    subprocess.run([KZ, "--db", str(db), *args], check=True, env=ENV,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    """``EXPLAIN QUERY PLAN`` as lines, indented by depth in the plan's tree."""
    rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + detail)
    return lines


# --- in-process probes, each in a fresh child interpreter ----------------------------------

# Every SQL statement a kzdiplo command sends to SQLite, parameters inlined (the sqlite3
# trace callback on kzdiplo's connection factory, wrapped at run time: no change to kzdiplo).
TRACE_SCRIPT = """
import json, os, sys, time
import kzdiplo.adhoc, kzdiplo.reader
sent = []
original = kzdiplo.reader.connect_sqlite
def traced(*args, **kwargs):
    conn = original(*args, **kwargs)
    conn.set_trace_callback(sent.append)
    return conn
kzdiplo.reader.connect_sqlite = traced
if hasattr(kzdiplo.adhoc, "connect_sqlite"):
    kzdiplo.adhoc.connect_sqlite = traced
from kzdiplo.cli import main
sys.argv = ["kzdiplo", *os.environ["BENCH_ARGV"].split("\\x1f")]
start = time.perf_counter()
try:
    main()
except SystemExit:
    pass
elapsed = time.perf_counter() - start
with open(os.environ["BENCH_OUT"], "w") as f:
    json.dump({"elapsed": elapsed, "statements": sent}, f)
"""


def trace(args: list[str], workdir: Path) -> dict:
    """``{"elapsed", "statements"}`` of one kzdiplo command run in a child interpreter."""
    out = workdir / "trace.json"
    env = dict(ENV, BENCH_ARGV="\x1f".join(args), BENCH_OUT=str(out))
    subprocess.run([PY, "-c", TRACE_SCRIPT], check=True, env=env, stdout=subprocess.DEVNULL)
    return json.loads(out.read_text())


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
IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def import_times(args: list[str], workdir: Path, runs: int = 7,
                 env: dict[str, str] | None = None) -> dict:  # fmt: skip
    """``python -X importtime`` of one kzdiplo command: the median over runs of each
    module's self and cumulative time, and which of HEAVY it loaded."""
    per: dict[str, list[tuple[int, int, int]]] = {}
    out = workdir / "modules.json"
    totals = []
    env = dict(env or ENV, BENCH_ARGV="\x1f".join(args), BENCH_HEAVY=",".join(HEAVY),
               BENCH_OUT=str(out))  # fmt: skip
    for i in range(runs + 1):
        proc = subprocess.run([PY, "-X", "importtime", "-c", IMPORT_SCRIPT], env=env,
                              capture_output=True, text=True)  # fmt: skip
        if i == 0:
            continue  # warm-up (bytecode caches)
        total = 0
        for line in proc.stderr.splitlines():
            m = IMPORT_LINE.match(line)
            if m:
                self_us, cum_us, indent, name = int(m[1]), int(m[2]), len(m[3]), m[4]
                per.setdefault(name, []).append((self_us, cum_us, indent // 2))
                if indent == 1:
                    total += cum_us
        totals.append(total)
    rows = [{"module": name, "self_ms": statistics.median(v[0] for v in vals) / 1000,
             "cumulative_ms": statistics.median(v[1] for v in vals) / 1000, "depth": vals[0][2]}
            for name, vals in per.items()]  # fmt: skip
    loaded = [m for m in out.read_text().split(",") if m] if out.exists() else []
    return {"args": args, "total_ms": statistics.median(totals) / 1000, "modules": rows,
            "heavy_loaded": loaded, "heavy_checked": list(HEAVY)}  # fmt: skip
