"""No import loop anywhere in the package (docs/architecture.md says so: before issue 25,
cli/listing.py and cli/records.py imported each other, and so did web/plugin.py and
web/serve.py). Imports inside functions count; those under ``if TYPE_CHECKING:`` do not."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "import_graph.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_no_module_imports_itself_through_others() -> None:
    graph = _script()
    edges = graph.graph()
    assert "kzdiplo.queries" in edges["kzdiplo.cli.records"]  # the graph sees imports
    assert graph.loops(edges) == []


def test_the_loop_finder_finds_a_loop() -> None:
    graph = _script()
    assert graph.loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
