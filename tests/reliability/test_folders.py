"""The one folder writer (``kzdiplo.files.folder_writer``) behind export, report and
release: no link under --out is followed, only files a manifest says kzdiplo wrote are
removed (inside --out), a refusal changes nothing, and a kill at any observed point leaves
the previous folder or the new one, whole."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.cli_helpers import run, run_process
from tests.reliability.bulk import write_events
from tests.reliability.watch import Watched

pytestmark = pytest.mark.slow  # release, report and export in subprocesses, some killed

MANIFESTS = {"release": ".kzdiplo-release.json", "report": ".kzdiplo-report",
             "export": ".kzdiplo-export.json"}  # fmt: skip
# Each command that writes a folder, as run here (export: its format of many files).
ARGV = {"release": ("release",), "report": ("report",), "export": ("export", "-f", "csv")}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (links and all) with its content's hash."""
    found = {}
    for base, dirs, names in os.walk(folder):
        for name in [*names, *dirs]:
            path = Path(base) / name
            if path.is_symlink():
                found[path.relative_to(folder).as_posix()] = "link"
            elif path.is_file():
                found[path.relative_to(folder).as_posix()] = _sha(path)
    return found


def _one_line_refusal(result: subprocess.CompletedProcess[bytes]) -> str:
    stderr = result.stderr.decode()
    assert result.returncode == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr


def _write(db: Path, command: str, out: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return run_process("--db", str(db), *ARGV[command], "--out", str(out), *args)


# --- only its own files are removed, and only inside --out ------------------------------


@pytest.mark.parametrize("command", ["release", "report"])
def test_a_forged_manifest_removes_nothing_outside(
    command: str, seeded_db: Path, tmp_path: Path
) -> None:
    """A manifest naming ``../kz.db``, an absolute path and a path through a link: a second
    run removes none of them (it removed the first two before)."""
    out = tmp_path / "out"
    assert _write(seeded_db, command, out).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victims = [tmp_path / "kz.db", elsewhere / "absolute.txt", elsewhere / "linked.txt"]
    for victim in victims:
        victim.write_text("keep me")
    manifest = out / MANIFESTS[command]
    document = json.loads(manifest.read_text())
    document["files"] += ["../kz.db", str(victims[1]), "../elsewhere/absolute.txt"]
    manifest.write_text(json.dumps(document))
    assert _write(seeded_db, command, out).returncode == 0
    assert all(v.read_text() == "keep me" for v in victims)
    # A link in --out on the way to a listed file is refused, even with --force.
    (out / "via").symlink_to(elsewhere)
    document = json.loads(manifest.read_text())
    document["files"] += ["via/linked.txt"]
    manifest.write_text(json.dumps(document))
    assert "symbolic link" in _one_line_refusal(_write(seeded_db, command, out, "--force"))
    assert all(v.read_text() == "keep me" for v in victims)
    assert (out / "via").is_symlink()


# --- nothing is written through a link ------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name"),
    [("report", "search-index.js"), ("report", "index.html"), ("report", "records"),
     ("release", "data"), ("release", "CITATION.cff"), ("release", "datapackage.json")],
)  # fmt: skip
def test_no_write_through_a_link_in_the_folder(
    command: str, name: str, seeded_db: Path, tmp_path: Path
) -> None:
    """A link named like one of the files (to the database) or folders (to a folder
    elsewhere) of an earlier run is refused in one line, even with --force, and nothing
    changes: before, report overwrote the database and wrote 136 pages outside --out."""
    out = tmp_path / "out"
    assert _write(seeded_db, command, out).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    target = seeded_db if name not in ("records", "data") else elsewhere
    path = out / name
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.symlink_to(target)
    before = _digest(out)
    database = _sha(seeded_db)
    for force in ((), ("--force",)):
        stderr = _one_line_refusal(_write(seeded_db, command, out, *force))
        assert "link" in stderr or "is the database" in stderr, stderr
        assert _digest(out) == before
    assert _sha(seeded_db) == database
    assert list(elsewhere.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir() if ".kzdiplo-" in p.name] == []


@pytest.mark.parametrize("command", ["release", "report", "export"])
def test_out_or_a_parent_that_is_a_link_is_refused(
    command: str, seeded_db: Path, tmp_path: Path
) -> None:
    real = tmp_path / "real"
    (real / "inner").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    (tmp_path / "direct").symlink_to(real / "inner")
    for out in (tmp_path / "direct", tmp_path / "link" / "inner", tmp_path / "link" / "new"):
        stderr = _one_line_refusal(_write(seeded_db, command, out))
        assert "symbolic link" in stderr
    assert _digest(real) == {}


def _release_with_link(db: Path, out: Path, name: str, target: Path) -> None:
    """A release in ``out`` whose file ``name`` is then a link to ``target``."""
    assert _write(db, "release", out).returncode == 0
    (out / name).unlink()
    (out / name).symlink_to(target)


def test_a_link_named_in_the_middle_refuses_before_anything_moves(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Before, release placed CHANGELOG.md, CITATION.cff and the CSVs (new hash), then
    refused the link at datapackage.json and kept the old manifest."""
    out, elsewhere = tmp_path / "out", tmp_path / "theirs.json"
    elsewhere.write_text("{}")
    _release_with_link(seeded_db, out, "datapackage.json", elsewhere)
    before = _digest(out)
    shutil.copyfile(seeded_db, tmp_path / "other.db")
    write_events(tmp_path / "more.yaml", 3)
    loaded = run_process("--db", str(tmp_path / "other.db"), "load", str(tmp_path / "more.yaml"))
    assert loaded.returncode == 0, loaded.stderr
    _one_line_refusal(_write(tmp_path / "other.db", "release", out, "--force"))
    assert _digest(out) == before and elsewhere.read_text() == "{}"


def test_previous_reads_only_regular_files_inside_its_folder(
    seeded_db: Path, tmp_path: Path
) -> None:
    """Before, a CHANGELOG.md linking to a private key was copied into the new release."""
    old, secret = tmp_path / "old", tmp_path / "id_ed25519"
    secret.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n")
    _release_with_link(seeded_db, old, "CHANGELOG.md", secret)
    new = tmp_path / "new"
    stderr = _one_line_refusal(_write(seeded_db, "release", new, "--previous", str(old)))
    assert "CHANGELOG.md" in stderr and "secret" not in stderr
    assert not new.exists()
    (old / "CHANGELOG.md").unlink()
    (old / "CHANGELOG.md").write_text("# Changelog\n\n## old\n")
    (old / "data" / "kzdiplo.json").rename(tmp_path / "kzdiplo.json")
    (old / "data" / "kzdiplo.json").symlink_to(tmp_path / "kzdiplo.json")
    _one_line_refusal(_write(seeded_db, "release", new, "--previous", str(old)))
    assert not new.exists()


def test_release_csv_neutralises_formulas_unless_raw(seeded_db: Path, tmp_path: Path) -> None:
    import sqlite3

    formula = '=HYPERLINK("http://example.invalid","x")'
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE events SET title = ? WHERE id = (SELECT min(id) FROM events)",
                     (formula,))  # fmt: skip
    assert _write(seeded_db, "release", tmp_path / "safe").returncode == 0
    text = (tmp_path / "safe" / "data" / "events.csv").read_text()
    assert f'"\'{formula.replace(chr(34), chr(34) * 2)}"' in text
    assert f'"{formula.replace(chr(34), chr(34) * 2)}"' not in text
    assert formula in (tmp_path / "safe" / "data" / "kzdiplo.json").read_text().replace("\\", "")
    assert _write(seeded_db, "release", tmp_path / "raw", "--raw-csv").returncode == 0
    raw = (tmp_path / "raw" / "data" / "events.csv").read_text()
    assert f'"{formula.replace(chr(34), chr(34) * 2)}"' in raw
    help_text = run(seeded_db, "release", "--help").stdout
    assert "formula" in help_text and "--raw-csv" in help_text


def test_our_own_stale_staging_folders_are_cleaned(seeded_db: Path, tmp_path: Path) -> None:
    """What a killed run leaves (a staging folder of a process that is gone, beside
    --out; or, from the releases before this writer, inside it) is recognised and
    removed; a folder of the same shape belonging to a running process is left."""
    out = tmp_path / "out"
    assert _write(seeded_db, "release", out).returncode == 0
    legacy = out / ".kzdiplo-release-ab12cd34"
    (legacy / "data").mkdir(parents=True)
    (legacy / "data" / "agreements.csv").write_text("half")
    dead = tmp_path / f".out.kzdiplo-stage-{_dead_pid()}-x1y2z3"
    dead.mkdir()
    (dead / "index.html").write_text("half")
    alive = tmp_path / f".out.kzdiplo-stage-{os.getpid()}-x1y2z3"
    alive.mkdir()
    assert _write(seeded_db, "release", out).returncode == 0
    assert not legacy.exists() and not dead.exists() and alive.exists()


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


# --- a kill at an observed point ------------------------------------------------------------


@pytest.fixture(scope="module")
def big_db(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The seed plus 1,000 events: enough pages for a report to be caught mid-write."""
    folder = tmp_path_factory.mktemp("big")
    db = folder / "kzdiplo.db"
    shutil.copyfile(seeded_template, db)
    events = write_events(folder / "events.yaml", 1000)
    result = run_process("--db", str(db), "load", str(events))
    assert result.returncode == 0, result.stderr
    return db


def _new_files(folder: Path, since: int) -> int:
    """Files under ``folder`` written after ``since`` (ns), wherever they are."""
    count = 0
    for base, _dirs, names in os.walk(folder):
        for name in names:
            try:
                if os.lstat(os.path.join(base, name)).st_mtime_ns > since:
                    count += 1
            except FileNotFoundError:  # moved or removed while we looked
                pass
    return count


@pytest.mark.parametrize("command", ["report", "release", "export"])
def test_a_kill_at_any_point_leaves_the_old_folder_or_the_new_one(
    command: str, seeded_template: Path, big_db: Path, tmp_path: Path
) -> None:
    """The folder holds the seed's report (or release); a run on a bigger database is
    frozen (SIGSTOP) at points seen in the file system, then killed: its first file
    written, many files written, and its manifest in --out (after the swap). --out is
    then exactly the old folder or the new one, and the next run works and leaves no
    staging folder. Before, a killed report left no index.html and a killed release left
    its staging folder inside --out, which the next run refused."""
    old, new = tmp_path / "old", tmp_path / "new"
    assert _write(seeded_template, command, old).returncode == 0
    assert _write(big_db, command, new).returncode == 0
    wholes = [_digest(old), _digest(new)]
    assert wholes[0] != wholes[1]
    many = len(wholes[1]) // 2
    work = tmp_path / "work"
    out = work / "out"
    manifest = out / MANIFESTS[command]
    points: dict[str, Callable[[int], bool]] = {
        "first file": lambda t0: _new_files(work, t0) >= 1,
        "many files": lambda t0: _new_files(work, t0) >= many,
        "manifest in place": lambda t0: manifest.exists() and manifest.stat().st_mtime_ns > t0,
    }
    for point, seen in points.items():
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(old, out, symlinks=True)
        t0 = time.time_ns()
        child = Watched("--db", str(big_db), *ARGV[command], "--out", str(out))
        assert child.freeze_when(lambda: seen(t0)), (point, child.output[-400:])  # noqa: B023
        child.kill()
        assert _digest(out) in wholes, point
    again = _write(big_db, command, out)
    assert again.returncode == 0, again.stderr
    assert _digest(out) == wholes[1]
    assert sorted(p.name for p in work.iterdir()) == ["out"]


def test_without_an_atomic_swap_the_folder_is_moved_aside_and_back(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the system has no RENAME_EXCHANGE, the old folder is renamed aside and the
    new one into place; a kill between the two renames leaves the old one aside under
    a recognised name, and the next run puts it back before anything else."""
    import kzdiplo.files

    out = tmp_path / "out"
    assert run(seeded_db, "report", "--out", str(out)).exit_code == 0
    whole = _digest(out)
    monkeypatch.setattr(kzdiplo.files, "_exchange", lambda first, second: False)
    assert run(seeded_db, "report", "--out", str(out)).exit_code == 0
    assert _digest(out) == whole
    assert [p.name for p in tmp_path.iterdir() if ".kzdiplo-" in p.name] == []
    # The state a kill between the two renames leaves: --out gone, the old folder aside.
    (out / "notes.txt").write_text("someone's")
    aside = tmp_path / f".out.kzdiplo-old-{_dead_pid()}-abc123"
    out.rename(aside)
    refused = run(seeded_db, "report", "--out", str(out))  # notes.txt: not ours, as before
    assert refused.exit_code == 2 and "notes.txt" in refused.stderr
    assert _digest(out) == whole | {"notes.txt": _sha(out / "notes.txt")}
    assert not aside.exists()


def test_a_parent_it_cannot_write_stages_inside_the_folder(
    seeded_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--out ~`` (a home folder, whose parent only root may write): the staging folder
    goes inside --out and the files are moved in one by one; nothing is left behind. (As
    root a read-only parent cannot be made with chmod: the refusal is simulated.)"""
    import tempfile

    out = tmp_path / "home"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    real = tempfile.mkdtemp

    def parent_refuses(prefix: str, dir: Path) -> str:  # mkdtemp names it dir
        if Path(dir) == tmp_path:
            raise PermissionError(13, "Permission denied")
        return real(prefix=prefix, dir=dir)

    monkeypatch.setattr(tempfile, "mkdtemp", parent_refuses)  # files.py imports it on use
    assert run(seeded_db, "export", "-f", "csv", "--out", str(out)).exit_code == 0
    assert run(seeded_db, "report", "--out", str(out), "--force").exit_code == 0
    assert (out / "agreements.csv").is_file() and (out / "index.html").is_file()
    assert (out / "notes.txt").read_text() == "mine"
    assert [p.name for p in out.iterdir() if ".kzdiplo-" in p.name and p.is_dir()] == []
