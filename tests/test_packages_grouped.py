"""Package parts are listed under their package whatever the sort order (tables and
Markdown); the machine formats keep the query's order."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kzdiplo.cli.records import under_packages
from tests.cli_helpers import run, run_json


@pytest.mark.slow
@pytest.mark.parametrize("sort", [None, "title", "-title", "-usd", "date", "-date"])
@pytest.mark.parametrize("fmt", ["markdown", "table"])
def test_parts_sit_right_under_their_package(seeded_db: Path, sort: str | None, fmt: str) -> None:
    sorting = ["--sort", sort] if sort else []
    deals = run_json(seeded_db, "deals", "--limit", "0", *sorting)
    parent = {d["slug"]: d["parent"] for d in deals}
    assert any(parent.values())
    text = run(seeded_db, "deals", "--limit", "0", "-f", fmt, "--layout", "table", *sorting).stdout
    # A slug stands alone: a cell in Markdown, a key line under its row in a table.
    order = sorted(parent, key=lambda slug: _where(text, slug))
    for i, slug in enumerate(order):
        if parent[slug]:
            above = order[:i]
            package = above.index(parent[slug])
            assert all(parent[s] == parent[slug] for s in above[package + 1 :]), (slug, order)


def _where(text: str, slug: str) -> int:
    found = re.search(rf"(?<![\w-]){re.escape(slug)}(?![\w-])", text)
    assert found, slug
    return found.start()


def test_a_part_whose_package_is_not_listed_names_it() -> None:
    records = [
        {"slug": "b", "parent": "a", "title": "B"},
        {"slug": "c", "parent": None, "title": "C"},
        {"slug": "d", "parent": "c", "title": "D"},
        {"slug": "e", "parent": "d", "title": "E"},
    ]
    ordered = under_packages(records)
    assert [(r["slug"], r.get("_depth", 0)) for r in ordered] == [
        ("b", 0), ("c", 0), ("d", 1), ("e", 2),
    ]  # fmt: skip
    from kzdiplo.cli.records import _titled

    assert _titled(ordered[0]) == "↳ B (part of a)"
    assert _titled(ordered[3]) == "  ↳ E"
