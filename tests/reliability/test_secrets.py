"""No password reaches output, however malformed the URL that holds it."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzdiplo.config import redacted, scrub
from tests.cli_helpers import run_process

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


@pytest.mark.parametrize("url", BAD_URLS)
def test_a_bad_database_url_never_shows_its_password(url: str, tmp_path: Path) -> None:
    for args in (["agreements"], ["db", "path"], ["db", "check"], ["db", "current"],
                 ["db", "grant-readonly"], ["db", "upgrade"]):  # fmt: skip
        result = run_process(*args, home=tmp_path, env={"KZDIPLO_DATABASE_URL": url})
        out = (result.stdout + result.stderr).decode()
        assert "secret" not in out and "cret" not in out, (args, out)
        assert "Traceback" not in out


def test_scrub_masks_every_spelling() -> None:
    url = "postgresql://me:p%40ss%20word@host/db?password=other"
    text = 'failed for "postgresql://me:p%40ss%20word@host/db": p@ss word / other'
    assert "p@ss" not in scrub(text, url) and "other" not in scrub(text, url)
    assert "%40" not in scrub(text, url)
    assert redacted("postgresql://me:secret@host/db") == "postgresql://me:***@host/db"
    assert redacted("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"
