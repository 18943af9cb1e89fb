"""`export` then `load` reproduces a synthetic database (issue 27: "any database, at any
size"): the file loaded back exports to the same bytes, stores the same content hash and
passes `db check`. The synthetic data has what the seeded file lacks at scale: thousands
of records per section, packages and parts, several quotes per record."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run_process

pytestmark = pytest.mark.slow  # builds a synthetic database and loads it back

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def stored_hash(path: Path) -> tuple[int, str]:
    conn = sqlite3.connect(path)
    try:
        (stale, value), = conn.execute(
            "SELECT stale, value FROM derived_state WHERE name = 'content_hash'"
        )  # fmt: skip
    finally:
        conn.close()
    return stale, value


def test_a_synthetic_database_survives_export_then_load(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import synth
    finally:
        sys.path.remove(str(BENCHMARKS))
    original = tmp_path / "synth.db"
    synth.build(original, 1_500, progress=False)
    first = tmp_path / "first"
    done = run_process("--db", str(original), "export", "-f", "ndjson", "--out", str(first))
    assert done.returncode == 0, done.stderr
    copy = tmp_path / "copy.db"
    for args in (("db", "init", "--empty"), ("load", str(first / "kzdiplo.ndjson"))):
        done = run_process("--db", str(copy), *args)
        assert done.returncode == 0, done.stderr
    second = tmp_path / "second"
    done = run_process("--db", str(copy), "export", "-f", "ndjson", "--out", str(second))
    assert done.returncode == 0, done.stderr
    exported = (first / "kzdiplo.ndjson").read_bytes()
    assert exported.count(b"\n") > 1_500
    assert (second / "kzdiplo.ndjson").read_bytes() == exported
    assert stored_hash(copy) == stored_hash(original)
    assert stored_hash(copy)[0] == 0  # fresh: the load stored it
    checked = run_process("--db", str(copy), "db", "check")
    assert checked.returncode == 0, checked.stdout.decode()[-2000:]
