"""Garbage everywhere: never a traceback, exit code 0, 1 or 2, and the database unchanged."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli_helpers import run, run_process

pytestmark = pytest.mark.slow  # hypothesis examples and subprocesses

NASTY_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["", " ", "%", "_", "'", '"', "--", "/*", "\\", "US'; DROP TABLE deals; --",
                     "\u202e", "ÜS", "usa ", "EU\u0000", "9" * 400, "2025-02-30", "0000", "-1"]),
)  # fmt: skip
DATES = st.one_of(NASTY_TEXT, st.from_regex(r"\A\d{4}(-\d{2}(-\d{2})?)?\Z"))
LISTINGS = {
    "agreements": ["--partner", "--sector", "--since", "--until", "--kind", "--sort"],
    "deals": ["--partner", "--sector", "--since", "--until", "--kind", "--min-usd", "--sort"],
    "deposits": ["--partner", "--sector", "--commodity", "--sort"],
    "projects": ["--partner", "--sector", "--since", "--until", "--kind", "--status", "--sort"],
    "events": ["--partner", "--sector", "--since", "--until", "--kind", "--sort"],
}
FORMATS = st.sampled_from(["table", "json", "csv", "markdown", "ndjson", "geojson"])


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _clean(result) -> None:  # type: ignore[no-untyped-def]
    assert result.exit_code in (0, 1, 2), (result.exit_code, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.stderr + result.stdout
    if result.exit_code:
        assert result.stderr.strip(), "an error must say something"


@pytest.mark.parametrize("command", list(LISTINGS))
def test_listing_filters_never_crash(command: str, seeded_template: Path, tmp_path: Path) -> None:
    db = tmp_path / "db.db"
    shutil.copyfile(seeded_template, db)
    before = _sha(db)
    options = LISTINGS[command]

    @settings(max_examples=60, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(
        st.lists(st.tuples(st.sampled_from(options), DATES), max_size=3),
        st.one_of(st.none(), st.integers(min_value=-5, max_value=10**12)),
        FORMATS,
    )
    def check(pairs: list[tuple[str, str]], number: int | None, fmt: str) -> None:
        args = [command]
        for option, value in pairs:
            args += [option, value]
        if number is not None:
            args += ["--limit" if command in ("deposits",) else "--year", str(number)]
        _clean(run(db, *args, "--format", fmt))

    check()
    assert _sha(db) == before


@given(st.text(max_size=200))
@settings(max_examples=80, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
def test_sql_and_search_never_crash(seeded_template: Path, text: str) -> None:
    for args in (["sql", text], ["search", text], ["show", "deal", text], ["show", text, text]):
        result = run(seeded_template, *args, "--format", "json")
        _clean(result)


def test_template_database_was_not_changed_by_the_fuzzing(seeded_template: Path) -> None:
    import sqlite3

    with sqlite3.connect(seeded_template) as conn:
        n = conn.execute("SELECT count(*) FROM agreements").fetchone()[0]
    from kzdiplo.loader import read_files
    from kzdiplo.seed import seed_files

    assert n == len(read_files(seed_files()).items["agreements"])  # as seeded, no more


@pytest.mark.parametrize(
    "args",
    [
        ["agreements", "--partner", "x" * 100_000],
        ["sql", "SELECT '" + "x" * 100_000 + "'"],
        ["show", "deal", "\x7f" * 50],
        ["--db", "", "agreements"],
    ],
    ids=["long partner", "long sql", "control chars", "empty --db"],
)
def test_odd_arguments(seeded_db: Path, args: list[str]) -> None:
    before = _sha(seeded_db)
    result = run_process("--db", str(seeded_db), *args)
    assert result.returncode in (0, 1, 2) and b"Traceback" not in result.stderr
    assert _sha(seeded_db) == before


def test_a_long_search_is_one_clear_error(seeded_db: Path) -> None:
    """5,000 words ran 25 s (the terms were read before they were counted): now the
    length is refused first, in one line, exit 2."""
    result = run_process("--db", str(seeded_db), "search", "tungsten " * 5_000)
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "kzdiplo: error: search: at most 64 words and operators, and 1,000 characters "
        "(this query has 45,000)"
    ]


def test_non_utf8_arguments(seeded_db: Path) -> None:
    weird = os.fsdecode(b"\xff\xfe\xfa")
    for args in (
        ["agreements", "-p", weird],
        ["search", weird],
        ["sql", weird],
        ["show", "deal", weird],
    ):
        result = run_process("--db", str(seeded_db), *args)
        assert result.returncode in (1, 2) and b"Traceback" not in result.stderr, result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "nonsense",
        "postgresql+psycopg://nobody@127.0.0.1:1/nothing",
        "sqlite:////nonexistent/dir/x.db",
        "mysql://x",
    ],
)
def test_bad_database_url(url: str, tmp_path: Path) -> None:
    result = run_process("agreements", home=tmp_path, env={"KZDIPLO_DATABASE_URL": url})
    assert result.returncode in (1, 2) and b"Traceback" not in result.stderr
    assert result.stderr.count(b"\n") == 1, result.stderr


def test_a_corrupted_page_is_reported(seeded_db: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    shutil.copyfile(seeded_db, damaged)
    data = bytearray(damaged.read_bytes())
    page = 4096
    for offset in range(3 * page, min(len(data), 80 * page), page):
        data[offset + 100 : offset + 600] = os.urandom(500)  # scribble over b-tree pages
    damaged.write_bytes(bytes(data))
    result = run_process("--db", str(damaged), "db", "check")
    assert result.returncode in (1, 2) and b"Traceback" not in result.stderr + result.stdout
    assert b"FAIL" in result.stdout or b"malformed" in result.stderr or b"not a" in result.stderr


def test_huge_result_streams_in_bounded_memory(seeded_db: Path) -> None:
    """A million-row result written as CSV and NDJSON: peak memory stays flat."""
    query = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000) "
        "SELECT x, 'padding padding padding padding' AS pad FROM c"
    )
    # A small launcher starts each run and reports that run's peak RSS: measured from
    # the test process itself, a child's ru_maxrss also counts the pages it shared with
    # the (large) test process when it was forked.
    launcher = (
        "import os, subprocess, sys\n"
        "child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "_, status, usage = os.wait4(child.pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
    )
    for fmt in ("csv", "ndjson", "json"):
        result = subprocess.run(
            [sys.executable, "-c", launcher, sys.executable, "-m", "kzdiplo",
             "--db", str(seeded_db), "sql", query, "--max-rows", "0", "--timeout", "120",
             "-f", fmt],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        code, peak_kb = map(int, result.stdout.split())
        assert code == 0, (fmt, result.stderr)
        assert peak_kb / 1024 < 150, f"{fmt}: peak RSS {peak_kb / 1024:.0f} MB"
