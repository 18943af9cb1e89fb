"""The import graph of src/kzdiplo: its modules, imports, loops and layers, for
docs/architecture.md (tests/test_import_graph.py keeps it free of loops).

Every import counts (module level and inside functions) except those under
`if TYPE_CHECKING:`, which never run.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "kzdiplo"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports(path: Path, modules: set[str]) -> set[str]:
    """The kzdiplo modules `path` imports at run time."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            named = {f"{base}.{alias.name}" for alias in node.names}
            submodules = named & modules
            # `from package import submodule` names the submodule; the package's
            # own __init__ runs first for any child, so it is not an edge of its own.
            found.update(submodules or {base})
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    paths = sorted(ROOT.rglob("*.py"))
    modules = {module_name(p) for p in paths}
    return {module_name(p): imports(p, modules) for p in paths}


def loops(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected parts with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in edges[node]:
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                top = stack.pop()
                part.append(top)
                if top == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    sys.setrecursionlimit(10000)
    for node in sorted(edges):
        if node not in index:
            connect(node)
    return found


def depth(edges: dict[str, set[str]]) -> int:
    """Layers: the longest chain of imports (only meaningful without loops)."""
    memo: dict[str, int] = {}

    def level(node: str, seen: frozenset[str]) -> int:
        if node in memo:
            return memo[node]
        below = [level(t, seen | {node}) for t in edges[node] if t not in seen]
        memo[node] = 1 + max(below, default=0)
        return memo[node]

    return max(level(n, frozenset()) for n in edges)


if __name__ == "__main__":
    edges = graph()
    print(f"modules {len(edges)}, imports {sum(map(len, edges.values()))}, layers {depth(edges)}")
    for part in loops(edges):
        print("loop:", " <-> ".join(part))
