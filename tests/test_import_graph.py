"""No import loop anywhere in the package (docs/architecture.md says so: before issue 25,
cli/listing.py and cli/records.py imported each other, and so did web/plugin.py and
web/serve.py). Imports inside functions count; those under ``if TYPE_CHECKING:`` do not."""

from __future__ import annotations

from tests.script_helpers import load_script


def test_no_module_imports_itself_through_others() -> None:
    graph = load_script("import_graph")
    edges = graph.graph()
    assert "kzdiplo.queries" in edges["kzdiplo.cli.records"]  # the graph sees imports
    assert graph.loops(edges) == []


def test_the_loop_finder_finds_a_loop() -> None:
    graph = load_script("import_graph")
    assert graph.loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
