"""Kill a load at random points, write from two processes at once, read and back up
while a write runs: afterwards the data is exactly the before or the after state."""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.cli_helpers import kzdiplo_command, run_process
from tests.reliability.bulk import write_events

EVENTS = 2000  # a load of about 4 s here: long enough to be caught in the middle
KILLS = 6


def _events(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM events").fetchone()[0]


def _healthy(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _start_load(db: Path, *files: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*kzdiplo_command(), "--db", str(db), "load", *map(str, files)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


@pytest.fixture
def bulk_file(tmp_path: Path) -> Path:
    return write_events(tmp_path / "bulk.yaml", EVENTS)


def test_sigkill_mid_load_leaves_before_or_after(seeded_db: Path, bulk_file: Path) -> None:
    before = _events(seeded_db)
    rng = random.Random(20261128)  # fixed seed: the same kill points every run
    outcomes = []
    for _ in range(KILLS):
        process = _start_load(seeded_db, bulk_file)
        time.sleep(rng.uniform(0.3, 4.0))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        count = _events(seeded_db)
        assert count in (before, before + EVENTS), count
        _healthy(seeded_db)
        outcomes.append(count)
        if count != before:  # it finished before the kill: start again from before
            with sqlite3.connect(seeded_db) as conn:
                conn.execute("PRAGMA foreign_keys = ON")
                conn.execute("DELETE FROM events WHERE slug LIKE 'bulk-event-%'")
    assert before in outcomes  # at least one kill landed mid-write and lost it all
    check = run_process("--db", str(seeded_db), "db", "check")
    assert check.returncode == 0, check.stdout


def test_readers_see_a_consistent_state_during_a_write(seeded_db: Path, bulk_file: Path) -> None:
    before = _events(seeded_db)
    writer = _start_load(seeded_db, bulk_file)
    seen = set()
    while writer.poll() is None:
        read = run_process(
            "--db", str(seeded_db), "sql", "SELECT count(*) AS n FROM events", "-f", "csv"
        )
        assert read.returncode == 0, read.stderr  # WAL: readers never wait for the writer
        seen.add(int(read.stdout.split()[1]))
    assert writer.returncode == 0, writer.stderr.read()
    seen.add(_events(seeded_db))
    assert seen <= {before, before + EVENTS}
    assert before + EVENTS in seen


def test_two_writers_both_land_or_one_fails_cleanly(seeded_db: Path, tmp_path: Path) -> None:
    first = write_events(tmp_path / "a.yaml", 800, prefix="first")
    second = write_events(tmp_path / "b.yaml", 800, prefix="second")
    before = _events(seeded_db)
    a, b = _start_load(seeded_db, first), _start_load(seeded_db, second)
    results = [(p.wait(timeout=120), p.stderr.read()) for p in (a, b)]
    landed = 0
    for code, stderr in results:
        assert b"Traceback" not in stderr
        if code == 0:
            landed += 800
        else:  # waited busy_timeout for the other writer's lock, then gave up cleanly
            assert code == 1 and b"database is busy" in stderr and stderr.count(b"\n") == 1
    assert _events(seeded_db) == before + landed and landed >= 800
    _healthy(seeded_db)


def test_backup_while_writing_is_a_consistent_snapshot(
    seeded_db: Path, bulk_file: Path, tmp_path: Path
) -> None:
    before = _events(seeded_db)
    writer = _start_load(seeded_db, bulk_file)
    time.sleep(1.0)
    copy = tmp_path / "backup.db"
    backup = run_process("--db", str(seeded_db), "db", "backup", str(copy))
    assert backup.returncode == 0, backup.stderr
    assert writer.wait(timeout=120) == 0
    _healthy(copy)
    assert _events(copy) in (before, before + EVENTS)
    assert run_process("--db", str(copy), "db", "check").returncode == 0
