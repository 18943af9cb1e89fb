"""The record page's address has one home (before: web/plugin.py and web/serve.py each
wrote it, and a canned query again; their import loop is tests/test_import_graph.py's)."""

from __future__ import annotations

from pathlib import Path

import kzdiplo

SRC = Path(kzdiplo.__file__).parent


def test_the_record_address_is_written_once() -> None:
    homes = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "/-/kzdiplo/record/" in p.read_text(encoding="utf-8")
    ]
    assert homes == ["web/pages.py"], homes
