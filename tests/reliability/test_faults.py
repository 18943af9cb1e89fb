"""Kill a load at observed points, write from two processes at once, read and back up
while a write runs: afterwards the data is exactly the before or the after state."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import kzdiplo_command, run_process
from tests.reliability.bulk import write_events
from tests.reliability.watch import Watched

pytestmark = pytest.mark.slow  # loads of 2000 records in subprocesses, killed and frozen

EVENTS = 2000  # records enough for the bar to show several steps of the writing
KILL_AT = (0, 30, 70, 100)  # percent of the records written, by the bar's count


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


def _load(db: Path, *files: Path) -> Watched:
    return Watched("--db", str(db), "load", *map(str, files))


def _bar_at(load: Watched, percent: int) -> Callable[[], bool]:
    """The bar has counted ``percent`` of the file's EVENTS records written (a load is
    written as it is read, so its bar counts them without a total)."""
    return lambda: load.done is not None and load.done * 100 >= percent * EVENTS


def test_sigkill_mid_load_leaves_before_or_after(seeded_db: Path, bulk_file: Path) -> None:
    """Kill points chosen by what is seen: the progress bar at a share of the records
    written (0: the bar is up, nothing written yet), then the rows visible to a reader
    (committed).
    The child is frozen at the point, so what a reader sees then is what must survive."""
    before = _events(seeded_db)
    after = before + EVENTS
    lost = []
    for percent in KILL_AT:
        load = _load(seeded_db, bulk_file)
        assert load.freeze_when(_bar_at(load, percent)), (percent, load.output[-400:])
        committed = _events(seeded_db)  # while the writer is frozen mid-transaction
        load.kill()
        assert _events(seeded_db) == committed, percent
        _healthy(seeded_db)
        if committed == before:
            lost.append(percent)
        else:  # it had committed before the freeze: start again from before
            assert committed == after, (percent, committed)
            _remove_bulk_events(seeded_db)
    # Below 100% the transaction cannot have committed: each such kill lost it all. At
    # 100% every record is written and the commit may or may not have been reached.
    assert [p for p in lost if p < 100] == [p for p in KILL_AT if p < 100], lost
    load = _load(seeded_db, bulk_file)
    load.freeze_when(lambda: _events(seeded_db) == after)  # or it ended: the rows are in
    load.kill()
    assert _events(seeded_db) == after
    _healthy(seeded_db)
    check = run_process("--db", str(seeded_db), "db", "check")
    assert check.returncode == 0, check.stdout


def _remove_bulk_events(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM events WHERE slug LIKE 'bulk-event-%'")


def _read_count(db: Path) -> subprocess.CompletedProcess[bytes]:
    return run_process("--db", str(db), "sql", "SELECT count(*) AS n FROM events", "-f", "csv")


def test_readers_see_a_consistent_state_during_a_write(seeded_db: Path, bulk_file: Path) -> None:
    """A reader run while the writer holds its transaction open (frozen with records
    written) neither waits nor sees them; once it commits, a reader sees them all."""
    before = _events(seeded_db)
    writer = _load(seeded_db, bulk_file)
    assert writer.freeze_when(_bar_at(writer, 50)), writer.output[-400:]
    read = _read_count(seeded_db)
    assert read.returncode == 0, read.stderr  # WAL: readers never wait for the writer
    assert int(read.stdout.split()[1]) == before
    assert writer.resume_to_end() == 0, writer.output[-400:]
    read = _read_count(seeded_db)
    assert read.returncode == 0 and int(read.stdout.split()[1]) == before + EVENTS


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
    """A backup taken while a load holds its transaction open (frozen half-way) is the
    state before it; the load then completes."""
    before = _events(seeded_db)
    writer = _load(seeded_db, bulk_file)
    assert writer.freeze_when(_bar_at(writer, 50)), writer.output[-400:]
    copy = tmp_path / "backup.db"
    backup = run_process("--db", str(seeded_db), "db", "backup", str(copy))
    assert backup.returncode == 0, backup.stderr
    assert writer.resume_to_end() == 0, writer.output[-400:]
    _healthy(copy)
    assert _events(copy) == before
    assert _events(seeded_db) == before + EVENTS
    assert run_process("--db", str(copy), "db", "check").returncode == 0
