"""Queries that try to exhaust the machine: each ends within its time limit, with one
clear line or a bounded result, and the child's peak memory stays far under 1 GB."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

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


def _sql_in_launcher(query: str, db: Path) -> tuple[int, int, float, str]:
    """``kzdiplo sql QUERY --timeout 1`` under the launcher: exit code, peak RSS in kB,
    seconds, stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "kzdiplo", "--db",
         str(db), "sql", query, "--timeout", "1"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    code, peak_kb = map(int, result.stdout.split())
    return code, peak_kb, time.monotonic() - started, result.stderr


@pytest.mark.parametrize("query", list(HUGE.values()), ids=list(HUGE))
def test_huge_values_end_quickly_in_bounded_memory(query: str, seeded_db: Path) -> None:
    code, peak_kb, seconds, stderr = _sql_in_launcher(query, seeded_db)
    lines = stderr.strip().splitlines()
    assert code in (0, 3), (code, stderr[-500:])
    if code:
        assert len(lines) == 1 and ("limit" in lines[0]), lines
    assert "Traceback" not in stderr
    assert seconds < 6, f"{seconds:.1f} s under --timeout 1"
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
    code, peak_kb, seconds, stderr = _sql_in_launcher(query, seeded_db)
    assert code == 3, (code, stderr[-500:])
    assert stderr.strip().splitlines() == ["kzdiplo: error: query stopped at the time limit"]
    assert seconds < 6, f"{seconds:.1f} s under --timeout 1"
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"
