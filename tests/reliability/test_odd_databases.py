"""First use, odd databases and pipes: a first run killed half-way leaves nothing or a
complete database, odd files get one precise line (exit 2), reads work in a folder
nobody can write, and ``| head -1`` is not an error."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from kzdiplo.config import sqlite_url
from kzdiplo.migrate import upgrade
from tests.cli_helpers import ENV, kzdiplo_command, run, run_process
from tests.conftest import seeded_agreements
from tests.reliability.watch import Watched

pytestmark = pytest.mark.slow  # the real entry point in subprocesses, first-use builds


def _one_line(result: subprocess.CompletedProcess[bytes], code: int = 2) -> str:
    err = result.stderr.decode()
    assert result.returncode == code, (result.returncode, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    return env | {"HOME": str(home), "XDG_DATA_HOME": str(home / "data")}


BUILDING = ("nothing", "created", "migrating", "seeding", "in place")


def _building(folder: Path) -> str:
    """How far a first run has built the default database, read from the folder alone
    (listing it does not disturb the child): the temporary file beside it, then its
    rollback journal (migrations), then its WAL (the seed load), then the file in place."""
    names = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    temporary = [n for n in names if n.startswith(".kzdiplo.db.") and n.endswith(".tmp")]
    if "kzdiplo.db" in names:
        return "in place"
    if any(n.endswith(".tmp-wal") for n in names):
        return "seeding"
    if any(n.endswith(".tmp-journal") for n in names) or any(
        (folder / n).stat().st_size for n in temporary
    ):
        return "migrating"
    return "created" if temporary else "nothing"


@pytest.mark.parametrize("stage", BUILDING[1:])
def test_a_first_run_killed_half_way_leaves_nothing_or_everything(
    stage: str, tmp_path: Path
) -> None:
    """Killed at the first moment the folder shows ``stage`` (or a later one, if that
    stage passed between two looks): frozen there, then killed, it leaves no database or
    the whole one, never a partial one under the real name."""
    folder = tmp_path / "data" / "kzdiplo"
    child = Watched("agreements", env=_env(tmp_path))
    reached = child.freeze_when(lambda: BUILDING.index(_building(folder)) >= BUILDING.index(stage))
    assert reached, child.output.decode(errors="replace")[-400:]
    seen = _building(folder)  # exact: the child is stopped
    child.kill()
    db = folder / "kzdiplo.db"
    if stage != "in place":
        assert seen != "in place", "the kill point went past the build"
    if seen == "in place":
        with sqlite3.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM agreements").fetchone()[0] == (
                seeded_agreements()
            )
    else:
        assert not db.exists(), seen
    again = run_process("agreements", "--format", "json", "--limit", "0", home=tmp_path)
    assert again.returncode == 0, again.stderr  # the next run builds or uses it
    assert len(json.loads(again.stdout)) == seeded_agreements()


def test_two_first_uses_at_once_both_succeed(tmp_path: Path) -> None:
    """Before: both runs found no database and built one; the second to finish refused
    the first's ("appeared while the database was being built"). Run A is frozen while
    it builds, run B starts and says it is creating the database (so it has looked and
    found none), then A goes on: both list the seeded agreements, one database."""
    folder = tmp_path / "data" / "kzdiplo"
    first = Watched("agreements", "--format", "json", "--limit", "0", env=_env(tmp_path))
    building = first.freeze_when(lambda: _building(folder) in ("migrating", "seeding"))
    assert building, first.output.decode(errors="replace")[-400:]
    second = subprocess.Popen(
        [*kzdiplo_command(), "agreements", "--format", "json", "--limit", "0"],
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert second.stderr is not None
    assert b"creating the database" in second.stderr.readline()  # it found no database
    assert first.resume_to_end() == 0, first.output.decode(errors="replace")[-400:]
    out, err = second.communicate(timeout=180)
    assert second.returncode == 0, err.decode()
    assert len(json.loads(out)) == seeded_agreements()
    assert b"appeared" not in err and b"Traceback" not in err
    left = {p.name for p in folder.iterdir()} - {"kzdiplo.db-wal", "kzdiplo.db-shm"}
    assert left == {"kzdiplo.db"}  # no lock file, no temporary file


def test_an_empty_database_fails_the_check_and_listings_say_how_to_seed(
    tmp_path: Path,
) -> None:
    db = tmp_path / "empty.db"
    upgrade(sqlite_url(db))
    check = run_process("--db", str(db), "db", "check")
    assert check.returncode == 1 and b"FAIL  the database holds records" in check.stdout
    listing = run(db, "agreements")
    assert listing.exit_code == 0 and "kzdiplo db seed" in listing.stderr
    assert run(db, "db", "seed").exit_code == 0
    assert run_process("--db", str(db), "db", "check").returncode == 0


def test_a_zero_byte_file(tmp_path: Path) -> None:
    db = tmp_path / "zero.db"
    db.touch()
    for args in (["agreements"], ["sql", "SELECT 1"], ["db", "upgrade"], ["db", "check"]):
        assert "empty file (0 bytes)" in _one_line(run_process("--db", str(db), *args))
    assert run_process("--db", str(db), "db", "init").returncode == 0  # it may be filled


def test_tables_without_a_revision_row(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("DELETE FROM alembic_version")
    for args in (["agreements"], ["db", "init"], ["db", "upgrade"], ["db", "seed"]):
        line = _one_line(run_process("--db", str(seeded_db), *args))
        assert "no schema revision" in line and "restore a backup" in line, (args, line)


def test_a_database_from_a_newer_kzdiplo(seeded_db: Path, tmp_path: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    (tmp_path / "empty.yaml").write_text("{}\n")
    load = ["load", str(tmp_path / "empty.yaml")]
    for args in (["agreements"], ["db", "init"], ["db", "upgrade"], load):
        line = _one_line(run_process("--db", str(seeded_db), *args))
        assert "newer kzdiplo" in line and "CommandError" not in line, (args, line)


def test_db_check_still_runs_on_a_corrupted_file(seeded_db: Path, tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    data = bytearray(seeded_db.read_bytes())
    data[100:4096] = os.urandom(3996)  # the schema page itself
    damaged.write_bytes(bytes(data))
    result = run_process("--db", str(damaged), "db", "check")
    assert result.returncode == 1 and b"Traceback" not in result.stderr + result.stdout
    assert result.stdout.count(b"FAIL") >= 2, result.stdout  # it ran the checks
    listing = run_process("--db", str(damaged), "agreements")
    assert b"db check" in listing.stderr and listing.returncode == 2, listing.stderr


@pytest.mark.parametrize("url", ["mysql://x", "nonsense", "oracle+cx://u:secret@h/db"])
def test_an_unsupported_backend(url: str, tmp_path: Path) -> None:
    for args in (["agreements"], ["db", "check"], ["db", "init"]):
        line = _one_line(run_process(*args, home=tmp_path, env={"KZDIPLO_DATABASE_URL": url}))
        assert "not supported" in line and "secret" not in line, line


def _read_only_folder(source: Path, mount: Path) -> bool:
    """Mount ``source`` read-only at ``mount`` (root bypasses chmod, not a read-only
    mount); False when this machine does not allow it."""
    mount.mkdir()
    done = subprocess.run(["mount", "--bind", str(source), str(mount)], capture_output=True)
    if done.returncode:
        return False
    subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
    return True


def test_reads_in_a_folder_nobody_can_write(seeded_db: Path, tmp_path: Path) -> None:
    source = tmp_path / "data"
    source.mkdir()
    shutil.copyfile(seeded_db, source / "k.db")
    folder = tmp_path / "ro"
    if os.geteuid() != 0:
        source.chmod(0o555)
        folder = source
    elif not _read_only_folder(source, folder):
        pytest.skip("cannot mount a read-only folder here")
    try:
        db = folder / "k.db"
        for args in (["agreements"], ["sql", "SELECT count(*) FROM deals"], ["db", "check"],
                     ["search", "uranium"], ["db", "backup", str(tmp_path / "copy.db")]):  # fmt: skip
            result = run_process("--db", str(db), *args)
            assert result.returncode == 0, (args, result.stderr)
        assert sorted(p.name for p in source.iterdir()) == ["k.db"]  # no -wal, no -shm
    finally:
        if folder != source:
            subprocess.run(["umount", str(folder)], check=True)
        source.chmod(0o755)


@pytest.mark.parametrize(
    "args",
    [["agreements"], ["sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
      "WHERE x < 200000) SELECT x FROM c", "--max-rows", "0", "-f", "csv"],
     ["export", "-f", "ndjson", "-o", "-"], ["schema"], ["timeline"]],
    ids=["listing", "sql", "export", "schema", "timeline"],
)  # fmt: skip
def test_head_one_is_not_an_error(args: list[str], seeded_db: Path) -> None:
    child = subprocess.Popen(
        [*kzdiplo_command(), "--db", str(seeded_db), *args], env=_env(seeded_db.parent),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=seeded_db.parent,
    )  # fmt: skip
    assert child.stdout is not None and child.stderr is not None
    child.stdout.readline()
    child.stdout.close()  # as head -1 does
    err = child.stderr.read()
    assert child.wait(timeout=60) == 0 and err == b"", err
