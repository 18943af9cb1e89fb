"""Queries that try to exhaust the machine: each ends by its time limit or a size limit,
with one clear line or a bounded result, and the child's peak memory stays far under
1 GB. No assertion here reads a clock: that the limit is what ended a run is shown by
its exit code and line, and that the watchdog is armed with the command's --timeout by
test_the_watchdog_is_armed_with_the_commands_time_limit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import ENV

pytestmark = pytest.mark.slow  # subprocesses under memory and time limits

# Each child is capped at 2 GiB of address space, so a regression fails instead of
# exhausting CI; the launcher reports the child's own peak RSS (os.wait4).
LAUNCHER = (
    "import os, resource, subprocess, sys\n"
    "cap = lambda: resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))\n"
    "child = subprocess.Popen(sys.argv[1:], preexec_fn=cap, stdout=subprocess.DEVNULL,\n"
    "                         stderr=subprocess.PIPE)\n"
    "err = child.stderr.read()\n"
    "_, status, usage = os.wait4(child.pid, 0)\n"
    "sys.stderr.buffer.write(err)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
)
UNIONS = " UNION ALL ".join(f"SELECT {i}" for i in range(25))
HUGE = {
    "printf padding": f"SELECT sum(length(printf('%.*c', 200000000, 'x'))) FROM ({UNIONS})",
    "zeroblob": "SELECT zeroblob(1e9)",
    "length of zeroblob": "SELECT length(zeroblob(1e9))",
    "randomblob": "SELECT length(randomblob(900000000))",
    "replace growth": "SELECT length(replace(hex(zeroblob(5000000)), '0', '0000000000'))",
    "group_concat": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 100000) SELECT length(group_concat(printf('%.*c', 5000, 'x'))) FROM c",
    "sort of big rows": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
    "WHERE x < 2000000) SELECT x, printf('%.*c', 2000, 'x') FROM c ORDER BY random() LIMIT 1",
}


def _sql_in_launcher(query: str, db: Path) -> tuple[int, int, str]:
    """``kzdiplo sql QUERY --timeout 1`` under the launcher: exit code, peak RSS in kB,
    stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "kzdiplo", "--db",
         str(db), "sql", query, "--timeout", "1"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    code, peak_kb = map(int, result.stdout.split())
    return code, peak_kb, result.stderr


@pytest.mark.parametrize("query", list(HUGE.values()), ids=list(HUGE))
def test_huge_values_end_quickly_in_bounded_memory(query: str, seeded_db: Path) -> None:
    code, peak_kb, stderr = _sql_in_launcher(query, seeded_db)
    lines = stderr.strip().splitlines()
    assert code in (0, 3), (code, stderr[-500:])
    if code:
        assert len(lines) == 1 and ("limit" in lines[0]), lines
    assert "Traceback" not in stderr
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"


# One call of each runs for tens of seconds (78 s and 30 s measured before the watchdog):
# SQLite's progress handler is never reached inside a single function call.
ONE_LONG_CALL = {
    "instr": "select instr(printf('%.*c', 4000000, 'a'), printf('%.*c', 2000000, 'a') || 'b')",
    "ltrim": "select length(ltrim(printf('%.*c', 400000, 'a') || 'x', "
    "printf('%.*c', 200000, 'b') || 'a'))",
}


@pytest.mark.parametrize("query", list(ONE_LONG_CALL.values()), ids=list(ONE_LONG_CALL))
def test_one_long_function_call_stops_at_the_time_limit(query: str, seeded_db: Path) -> None:
    """The run ends near the deadline with the time limit's one line and exit 3."""
    code, peak_kb, stderr = _sql_in_launcher(query, seeded_db)
    assert code == 3, (code, stderr[-500:])
    assert stderr.strip().splitlines() == ["kzdiplo: error: query stopped at the time limit"]
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"


def _hostile_copy(seeded_db: Path, tmp_path: Path, condition: str) -> Path:
    """A copy of the database whose `sectors` is a view that only ends when ``condition``
    is false: what a database from a stranger may hold."""
    import shutil
    import sqlite3

    hostile = tmp_path / "hostile.db"
    shutil.copyfile(seeded_db, hostile)
    conn = sqlite3.connect(hostile)
    conn.executescript(
        "PRAGMA foreign_keys = OFF; ALTER TABLE sectors RENAME TO sectors_real; "
        f"CREATE VIEW sectors AS SELECT s.* FROM sectors_real s {condition};"
    )
    conn.close()
    return hostile


HOSTILE_VIEWS = {
    "recursive view": ", (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
    "SELECT x FROM c)",
    "one long call": "WHERE instr(printf('%.*c', 4000000, 'a'), printf('%.*c', 2000000, 'a') "
    "|| 'b') = 0",
}


def _diff_in_launcher(old: Path, new: Path, *options: str) -> tuple[int, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "kzdiplo", "diff", str(old),
         str(new), *options],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    code, peak_kb = map(int, result.stdout.split())
    return code, peak_kb, result.stderr


@pytest.mark.parametrize("condition", list(HOSTILE_VIEWS.values()), ids=list(HOSTILE_VIEWS))
def test_diff_of_a_hostile_database_stops_at_its_time_limit(
    condition: str, seeded_db: Path, tmp_path: Path
) -> None:
    """Before: the recursive view never ended (diff has no time limit)."""
    hostile = _hostile_copy(seeded_db, tmp_path, condition)
    code, peak_kb, stderr = _diff_in_launcher(seeded_db, hostile, "--timeout", "2")
    assert code == 3, (code, stderr[-500:])
    (line,) = stderr.strip().splitlines()
    assert line.startswith("kzdiplo: error: ") and "time limit" in line, line
    assert peak_kb / 1024 < 300, f"peak RSS {peak_kb / 1024:.0f} MB"


def test_diff_refuses_an_oversized_json_in_bounded_memory(seeded_db: Path, tmp_path: Path) -> None:
    """Before: a 100 MB JSON export took 1.6 GB; now the bounded reader's size limit."""
    import json

    events = [{"slug": f"e{i}", "title": "x" * 900, "kind": "summit"} for i in range(100_000)]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"events": events}), encoding="utf-8")
    assert big.stat().st_size > 90_000_000
    code, peak_kb, stderr = _diff_in_launcher(seeded_db, big)
    assert code == 2, (code, stderr[-500:])
    (line,) = stderr.strip().splitlines()
    assert str(big) in line and "larger than 20,000,000 bytes" in line, line
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"


def test_a_slow_reader_of_the_output_is_not_the_query_running_long(seeded_db: Path) -> None:
    """The watchdog counts time inside the database only: rows fetched in time and then
    written to a pipe nobody reads for a while (``| less``) are all written, exit 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    query = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
             "SELECT x, printf('%.*c', 200, 'x') AS filler FROM c")  # fmt: skip
    child = subprocess.Popen(
        [sys.executable, "-m", "kzdiplo", "--db", str(seeded_db), "sql", query,
         "--timeout", "0.5", "--format", "table"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
    )  # fmt: skip
    time.sleep(3)  # the reader is away: far past the deadline and its grace period
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err.decode()[-500:]
    assert len(out) > 200_000 and b"1000" in out  # more than a pipe holds: it waited on us


def test_the_watchdog_is_armed_with_the_commands_time_limit(
    seeded_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What makes the runs above end at their --timeout (not at some later time): the
    process watchdog is armed with exactly that many seconds, by sql and by diff."""
    from kzdiplo import deadline
    from tests.cli_helpers import run

    armed: list[float] = []
    original = deadline.ProcessDeadline.__init__

    def recording(self: deadline.ProcessDeadline, seconds: float, *args: Any, **kw: Any) -> None:
        armed.append(seconds)
        original(self, seconds, *args, **kw)

    monkeypatch.setattr(deadline.ProcessDeadline, "__init__", recording)
    assert run(seeded_db, "sql", "SELECT 1", "--timeout", "1").exit_code == 0
    result = run(seeded_db, "diff", str(seeded_db), str(seeded_db), "--timeout", "2")
    assert result.exit_code == 0, result.stderr
    assert armed == [1.0, 2.0]
