"""Paths and written files: odd names open the right file, a failed write loses nothing,
and no write lands on or through the database."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.cli_helpers import ENV, kzdiplo_command, run, run_process
from tests.conftest import seeded_agreements

ODD_NAMES = ["a#b", "what?mode=memory", "p%41", "with space", "it's \"quoted\"", "Қазақстан",
             "L" * 200]  # fmt: skip


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _count(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT count(*) FROM agreements").fetchone()[0]


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith((".tmp", ".partial"))]


@pytest.mark.slow
@pytest.mark.parametrize("name", ODD_NAMES, ids=range(len(ODD_NAMES)))
def test_odd_folder_names_open_the_right_file(
    name: str, seeded_template: Path, tmp_path: Path
) -> None:
    folder = tmp_path / name
    folder.mkdir()
    db = folder / "k.db"
    shutil.copyfile(seeded_template, db)
    backup = folder / "backup.db"
    result = run_process("--db", str(db), "db", "backup", str(backup))
    assert result.returncode == 0, result.stderr
    assert _count(backup) == _count(db) == seeded_agreements()  # not an empty copy of another file
    result = run_process("--db", str(db), "export", "-f", "datasette", "-o", str(folder / "site"))
    assert result.returncode == 0, result.stderr
    assert _count(folder / "site" / "kzdiplo.db") == seeded_agreements()
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]  # nothing opened beside it
    foreign = folder / "foreign.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE mine (x)")
    before = _sha(foreign)
    result = run_process("--db", str(foreign), "db", "init")
    assert result.returncode == 2 and b"not a kzdiplo database" in result.stderr, result.stderr
    assert _sha(foreign) == before


@pytest.mark.slow
def test_a_new_database_in_an_odd_folder(tmp_path: Path) -> None:
    folder = tmp_path / "x?y#z"
    folder.mkdir()
    result = run_process("--db", str(folder / "k.db"), "db", "init")
    assert result.returncode == 0, result.stderr
    assert _count(folder / "k.db") == seeded_agreements()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x?y#z"]


def _limited_run(file_size: int, *args: str) -> subprocess.CompletedProcess[bytes]:
    """kzdiplo with ``ulimit -f`` set: every write past ``file_size`` bytes fails."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))

    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    return subprocess.run(
        [*kzdiplo_command(), *args], capture_output=True, env=env, timeout=120, preexec_fn=limit
    )


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "datasette"])
def test_a_failed_export_keeps_the_previous_one(fmt: str, seeded_db: Path, tmp_path: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:  # no -shm: the reader writes nothing itself
        conn.execute("PRAGMA journal_mode = DELETE")
    out = tmp_path / "out"
    assert run(seeded_db, "export", "-f", fmt, "-o", str(out)).exit_code == 0
    before = {p.name: _sha(p) for p in out.iterdir()}
    # 20 kB: less than the largest file of every format.
    result = _limited_run(20_000, "--db", str(seeded_db), "export", "-f", fmt, "-o", str(out))
    assert result.returncode != 0 and b"Traceback" not in result.stderr, result.stderr
    assert {p.name: _sha(p) for p in out.iterdir()} == before
    assert _leftovers(out) == []


@pytest.mark.slow
def test_a_failed_backup_keeps_the_previous_one(seeded_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "copy.db"
    dest.write_bytes(b"the previous backup")
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")
    result = _limited_run(20_000, "--db", str(seeded_db), "db", "backup", str(dest), "--force")
    assert result.returncode != 0 and b"Traceback" not in result.stderr, result.stderr
    assert dest.read_bytes() == b"the previous backup"
    assert _leftovers(tmp_path) == []


def test_written_files_get_ordinary_permissions(seeded_db: Path, tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        assert run(seeded_db, "export", "-f", "json", "-o", str(tmp_path)).exit_code == 0
        assert run(seeded_db, "db", "backup", str(tmp_path / "copy.db")).exit_code == 0
    finally:
        os.umask(umask)
    assert (tmp_path / "kzdiplo.json").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "copy.db").stat().st_mode & 0o777 == 0o644


@pytest.mark.slow
def test_a_file_named_like_a_temporary_file_is_left_alone(seeded_db: Path, tmp_path: Path) -> None:
    dest = tmp_path / "copy.db"
    for name in ("copy.db.partial", "copy.db.tmp", ".copy.db.tmp"):
        (tmp_path / name).write_text("somebody's file")
    assert run(seeded_db, "db", "backup", str(dest)).exit_code == 0
    for name in ("copy.db.partial", "copy.db.tmp", ".copy.db.tmp"):
        assert (tmp_path / name).read_text() == "somebody's file"
    assert _count(dest) == seeded_agreements()


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "sqlite", "datasette", "xlsx"])
@pytest.mark.parametrize("suffix", ["", "-wal", "-shm", "-journal"])
def test_no_export_writes_through_a_link_to_the_database(
    fmt: str, suffix: str, seeded_db: Path, tmp_path: Path
) -> None:
    companion = Path(str(seeded_db) + suffix)
    if suffix in ("-wal", "-shm"):
        companion.write_bytes(b"companion")
    before = _sha(companion) if companion.exists() else None  # a -journal: a dangling link
    out = tmp_path / "out"
    out.mkdir()
    name = {"json": "kzdiplo.json", "ndjson": "kzdiplo.ndjson", "csv": "agreements.csv",
            "sqlite": "kzdiplo.db", "datasette": "metadata.json",
            "xlsx": "kzdiplo.xlsx"}[fmt]  # fmt: skip
    (out / name).symlink_to(companion)
    result = run(seeded_db, "export", "-f", fmt, "-o", str(out), "--force")
    assert result.exit_code == 2 and "is the database" in result.stderr, result.stderr
    if suffix in ("-wal", "-shm"):  # SQLite itself may rewrite these while reading
        assert not companion.read_bytes().startswith((b"{", b"SQLite format 3", b"id,"))
    else:
        assert (_sha(companion) if companion.exists() else None) == before
    assert (out / name).is_symlink()


def test_a_hard_link_to_the_database_is_refused(seeded_db: Path, tmp_path: Path) -> None:
    before = _sha(seeded_db)
    os.link(seeded_db, tmp_path / "other-name.db")
    result = run(seeded_db, "db", "backup", str(tmp_path / "other-name.db"), "--force")
    assert result.exit_code == 2 and "is the database" in result.stderr
    assert _sha(seeded_db) == before


@pytest.mark.slow
def test_export_replaces_only_what_it_wrote(seeded_db: Path, tmp_path: Path) -> None:
    mine = tmp_path / "kzdiplo.json"
    mine.write_text("my own notes")
    result = run(seeded_db, "export", "-f", "json", "-o", str(tmp_path))
    assert result.exit_code == 2 and "--force" in result.stderr
    assert mine.read_text() == "my own notes"
    assert run(seeded_db, "export", "-f", "json", "-o", str(tmp_path), "--force").exit_code == 0
    assert json.loads(mine.read_text())["agreements"]
    assert run(seeded_db, "export", "-f", "json", "-o", str(tmp_path)).exit_code == 0  # ours now
    backup = tmp_path / "backup.db"
    backup.write_text("mine")
    assert run(seeded_db, "db", "backup", str(backup)).exit_code == 2
    assert backup.read_text() == "mine"


@pytest.mark.slow
def test_out_dash_is_stdout_or_an_error(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run(seeded_db, "export", "-f", "json", "-o", "-")
    assert (
        result.exit_code == 0
        and len(json.loads(result.stdout)["agreements"]) == seeded_agreements()
    )
    result = run(seeded_db, "export", "-f", "ndjson", "-o", "-")
    assert result.exit_code == 0 and json.loads(result.stdout.splitlines()[0])["section"]
    for fmt in ("csv", "sqlite", "datasette"):
        result = run(seeded_db, "export", "-f", fmt, "-o", "-")
        assert result.exit_code == 2 and "stdout" in result.stderr
    assert run(seeded_db, "db", "backup", "-").exit_code == 2
    assert not (tmp_path / "-").exists()
