"""The web package's modules import one another without a loop, and the record page's
address has one home (before: web/plugin.py and web/serve.py imported each other, and
the address was written in both and again in a canned query)."""

from __future__ import annotations

import ast
from pathlib import Path

import kzdiplo

SRC = Path(kzdiplo.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every kzdiplo.web module ``path`` imports, at its top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
            found.update(n for n in names if (SRC / "web" / f"{n.split('.')[-1]}.py").exists()
                         and n.startswith("kzdiplo.web."))  # fmt: skip
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("kzdiplo.web."))
    return found


def test_no_import_loop_in_the_web_package() -> None:
    graph = {
        f"kzdiplo.web.{p.stem}": _imports(p) - {f"kzdiplo.web.{p.stem}"}
        for p in (SRC / "web").glob("*.py")
        if p.stem != "__init__"
    }
    assert "kzdiplo.web.pages" in graph["kzdiplo.web.plugin"]

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            n == target or (n not in seen and reaches(n, target, seen | {n}))
            for n in graph.get(start, ())
        )

    loops = [m for m in graph if reaches(m, m)]
    assert loops == [], loops


def test_the_record_address_is_written_once() -> None:
    homes = [
        p.relative_to(SRC).as_posix()
        for p in SRC.rglob("*.py")
        if "/-/kzdiplo/record/" in p.read_text(encoding="utf-8")
    ]
    assert homes == ["web/pages.py"], homes
