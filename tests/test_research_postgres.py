"""cite, diff and release on PostgreSQL: the same facts as SQLite give no diff, the same
content hash, and a release that validates. Skipped without KZDIPLO_TEST_POSTGRES_URL
(scripts/with-postgres.sh; .ci/run always sets it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.test_postgres import ADMIN_URL, pg_run, pg_template, pg_url  # noqa: F401

pytestmark = [
    pytest.mark.slow,  # a PostgreSQL server
    pytest.mark.skipif(
        not ADMIN_URL, reason="set KZDIPLO_TEST_POSTGRES_URL (scripts/with-postgres.sh) to run"
    ),
]


def test_postgres_and_sqlite_hold_the_same_facts(pg_url: str, seeded_db: Path) -> None:  # noqa: F811
    result = run(seeded_db, "diff", pg_url, str(seeded_db), "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["counts"] == {"added": 0, "removed": 0, "changed": 0}
    on_pg = pg_run(pg_url, "cite", "--all", "--format", "csl-json")
    on_sqlite = run(seeded_db, "cite", "--all", "--format", "csl-json")
    assert on_pg.exit_code == 0, on_pg.stderr
    assert json.loads(on_pg.stdout) == json.loads(on_sqlite.stdout)  # hash included


@pytest.mark.slow
def test_a_release_from_postgres_validates(pg_url: str, tmp_path: Path) -> None:  # noqa: F811
    result = pg_run(pg_url, "release", "--out", str(tmp_path / "r"))
    assert result.exit_code == 0, result.stderr
    checked = subprocess.run(
        [str(Path(sys.executable).with_name("frictionless")), "validate", "datapackage.json"],
        cwd=tmp_path / "r", capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout[-3000:]
