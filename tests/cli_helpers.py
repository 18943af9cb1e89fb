"""Helpers for CLI tests: run kzdiplo in-process (CliRunner) or as a real subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from kzdiplo.cli import app

ENV = {"NO_COLOR": "1", "COLUMNS": "200", "TERM": "dumb"}


def run(db: Path, *args: str, input: str | None = None) -> Any:
    """``kzdiplo --db DB ARGS...`` in-process; the result has exit_code, stdout, stderr."""
    return CliRunner().invoke(app, ["--db", str(db), *args], env=ENV, input=input)


def run_json(db: Path, *args: str) -> Any:
    result = run(db, *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def kzdiplo_command() -> list[str]:
    """The installed console script when there is one, else ``python -m kzdiplo``."""
    script = Path(sys.executable).with_name("kzdiplo")
    if script.exists():
        return [str(script)]
    found = shutil.which("kzdiplo")
    return [found] if found else [sys.executable, "-m", "kzdiplo"]


def run_process(
    *args: str,
    home: Path | None = None,
    env: dict[str, str] | None = None,
    input: bytes | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """The real ``kzdiplo`` entry point in a subprocess, with a private data directory."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
    full_env |= ENV
    if home is not None:
        full_env |= {"HOME": str(home), "XDG_DATA_HOME": str(home / "data")}
    full_env |= env or {}
    return subprocess.run(
        [*kzdiplo_command(), *args], capture_output=True, env=full_env, input=input, timeout=120
    )


def row_of(table: str, key: str, keys: Iterable[str]) -> str:
    """The lines of one record in a drawn table: after the rule under the headers, or
    after the key line of the record before (``keys``: every key on the page), down to
    its own key line (the key printed whole under its row)."""
    lines = table.splitlines()
    end = next(i for i, line in enumerate(lines) if line.strip() == key)
    others = set(keys)
    start = end
    while start > 0 and lines[start - 1].strip() not in others:
        if set(lines[start - 1].strip()) <= {"─", " "}:
            break
        start -= 1
    return "\n".join(lines[start : end + 1])


def traced_statements(monkeypatch: Any) -> list[str]:
    """A list that fills with every statement the SQLite readers opened from now on send,
    as SQLite traced them (parameters inlined), for checks of what a command reads."""
    import sqlite3

    from kzdiplo import reader as reader_module

    sent: list[str] = []
    connect = reader_module.connect_sqlite

    def traced(path: Path, **kwargs: Any) -> sqlite3.Connection:
        conn = connect(path, **kwargs)
        conn.set_trace_callback(sent.append)
        return conn

    monkeypatch.setattr(reader_module, "connect_sqlite", traced)
    return sent
