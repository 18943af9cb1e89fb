"""The report and the timeline on PostgreSQL give what they give on SQLite (serve is
SQLite-first: PostgreSQL users export a SQLite copy, tested in test_web_serve)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kzdiplo.cli import app
from tests import test_postgres as pg
from tests.cli_helpers import run

pytestmark = [
    pytest.mark.slow,  # a PostgreSQL server and a full report build
    pytest.mark.skipif(
        not pg.ADMIN_URL, reason="set KZDIPLO_TEST_POSTGRES_URL (scripts/with-postgres.sh) to run"
    ),
]


@pytest.fixture(scope="module")
def pg_seeded() -> Iterator[str]:
    from kzdiplo.db import make_engine
    from kzdiplo.migrate import upgrade
    from kzdiplo.seed import seed

    name = f"kzdiplo_web_{uuid.uuid4().hex[:6]}"
    pg._admin(f"CREATE DATABASE {name}")
    url = pg._url(name)
    upgrade(url)
    engine = make_engine(url)
    seed(engine)
    engine.dispose()
    yield url
    pg._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _pg(url: str, *args: str) -> tuple[int, str, str]:
    env = {"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb", "KZDIPLO_DATABASE_URL": url}
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_the_report_is_the_same_on_both_backends(
    pg_seeded: str, seeded_db: Path, tmp_path: Path
) -> None:
    code, _, err = _pg(pg_seeded, "report", "--out", str(tmp_path / "pg"))
    assert code == 0, err
    assert run(seeded_db, "report", "--out", str(tmp_path / "sqlite")).exit_code == 0
    pages = sorted(p.relative_to(tmp_path / "pg") for p in (tmp_path / "pg").rglob("*.*"))
    assert pages == sorted(
        p.relative_to(tmp_path / "sqlite") for p in (tmp_path / "sqlite").rglob("*.*")
    )
    assert any(page.suffix == ".html" for page in pages)
    for page in pages:
        assert (tmp_path / "pg" / page).read_text() == (tmp_path / "sqlite" / page).read_text(), (
            page
        )


def test_the_timeline_is_the_same_on_both_backends(pg_seeded: str, seeded_db: Path) -> None:
    code, on_pg, err = _pg(pg_seeded, "timeline")
    assert code == 0, err
    on_sqlite = CliRunner().invoke(
        app, ["--db", str(seeded_db), "timeline"], env={"NO_COLOR": "1", "COLUMNS": "80"}
    )
    assert on_pg == on_sqlite.stdout


def test_serve_tells_postgres_users_what_to_do(pg_seeded: str) -> None:
    code, _, err = _pg(pg_seeded, "serve")
    assert code == 2 and "kzdiplo export --format sqlite" in err
