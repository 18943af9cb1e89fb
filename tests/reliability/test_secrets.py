"""No password reaches output, however malformed the URL that holds it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kzdiplo.config import ENV_URL, redacted, scrub
from tests.cli_helpers import run_process
from tests.reliability.commands import Workspace, arguments, every_command

# The real entry point in subprocesses, some waiting for a refused connection.
pytestmark = pytest.mark.slow

BAD_URLS = [
    "postgresql+psycopg://u:p%zzsecret@127.0.0.1:1/db",
    "postgresql+psycopg://u:my secret@127.0.0.1:1/db",
    "postgresql+psycopg://u:secret@[::1/db",
    "postgresql+psycopg://u:secret@h:notaport/db",
    "postgresql://u:se@cret@127.0.0.1:1/db",
    "postgresql+psycopg://u@127.0.0.1:1/db?password=secret&x",
    "postgres://u:secret@127.0.0.1:99999/db",
    "mysql://u:secret@h/db",
]


def _shows_no_password(result: subprocess.CompletedProcess[bytes], args: list[str]) -> None:
    out = (result.stdout + result.stderr).decode()
    assert "secret" not in out and "cret" not in out, (args, out)
    assert "Traceback" not in out, out


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_database_url_never_shows_its_password(url: str, tmp_path: Path) -> None:
    for args in (["agreements"], ["db", "path"], ["db", "check"], ["db", "current"],
                 ["db", "grant-readonly"], ["db", "upgrade"]):  # fmt: skip
        _shows_no_password(run_process(*args, home=tmp_path, env={ENV_URL: url}), args)


# A malformed percent escape (psycopg quotes the token alone) and an @ in the password.
@pytest.mark.parametrize("url", [BAD_URLS[0], BAD_URLS[4]])
def test_every_command_masks_the_url_variable(url: str, tmp_path: Path) -> None:
    """Every command of the registry (each `db` subcommand too), with the URL variable."""
    w = Workspace(tmp_path / "a.db", tmp_path / "b.db", tmp_path / "x.yaml", tmp_path)
    for path in every_command():
        args = arguments(path, None, w)
        _shows_no_password(run_process(*args, home=tmp_path, env={ENV_URL: url}), args)


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_url_argument_never_shows_its_password(url: str, seeded_db: Path, tmp_path: Path) -> None:
    """A URL given as an argument (diff's sides, release --previous, --db) is masked as the
    variable is: psycopg quotes a malformed percent escape alone, and a path folds
    ``://`` into ``:/``."""
    db = str(seeded_db)
    for args in (["diff", url, db], ["diff", db, url, "-f", "json"], ["--db", url, "deals"],
                 ["--db", db, "release", "--out", str(tmp_path / "r"), "--previous", url]):  # fmt: skip
        result = run_process(*args, home=tmp_path)
        assert result.returncode == 2, result.stderr
        _shows_no_password(result, args)


def test_scrub_masks_every_spelling() -> None:
    url = "postgresql://me:p%40ss%20word@host/db?password=other"
    text = 'failed for "postgresql://me:p%40ss%20word@host/db": p@ss word / other'
    assert "p@ss" not in scrub(text, url) and "other" not in scrub(text, url)
    assert "%40" not in scrub(text, url)
    assert redacted("postgresql://me:secret@host/db") == "postgresql://me:***@host/db"
    assert redacted("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
