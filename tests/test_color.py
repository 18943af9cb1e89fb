"""Colour follows Rich's conventions: none in a pipe or with NO_COLOR, styles with
FORCE_COLOR; the data is the same text either way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli_helpers import run_process

ANSI = re.compile(rb"\x1b\[[0-9;]*m")


@pytest.mark.slow
def test_force_color_styles_the_table_and_a_pipe_has_none(seeded_db: Path) -> None:
    args = ("--db", str(seeded_db), "agreements", "-p", "US")
    plain = run_process(*args, env={"NO_COLOR": "", "TERM": "xterm-256color"}).stdout
    forced = run_process(*args, env={"FORCE_COLOR": "1", "NO_COLOR": "", "TERM": "xterm-256color"})
    assert not ANSI.search(plain)
    assert ANSI.search(forced.stdout)
    assert ANSI.sub(b"", forced.stdout) == plain
