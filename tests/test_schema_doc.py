"""docs/schema.md is generated from the models and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzdiplo import schema_doc

DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


@pytest.mark.slow
def test_schema_reference_is_current() -> None:
    if not DOC.exists():
        pytest.fail("docs/schema.md is missing: run python -m kzdiplo.schema_doc docs/schema.md")
    assert DOC.read_text(encoding="utf-8") == schema_doc.render(), (
        "docs/schema.md is stale: run python -m kzdiplo.schema_doc docs/schema.md"
    )


def test_every_table_and_column_is_described() -> None:
    from kzdiplo.models import Base

    for table in Base.metadata.tables.values():
        assert table.comment, table.name
        for column in table.columns:
            assert column.comment, f"{table.name}.{column.name}"


def test_every_column_of_every_view_is_described(seeded_db: Path) -> None:
    """kzdiplo schema describes the views column by column, search_documents included."""
    from tests.cli_helpers import run_json

    objects = {o["name"]: o for o in run_json(seeded_db, "schema")}
    views = [o for o in objects.values() if o["kind"] == "view"]
    assert {"search_documents", "projects", "deposits", "timeline"} <= {v["name"] for v in views}
    for view in views:
        assert view["description"] and view["columns"], view["name"]
        for column in view["columns"]:
            assert column["description"], f"{view['name']}.{column['name']}"


def test_the_cli_nouns_work_in_sql(seeded_db: Path) -> None:
    from tests.cli_helpers import run_json

    for noun, table in (("projects", "infrastructure_projects"), ("deposits", "mineral_deposits")):
        rows = run_json(seeded_db, "sql", f"SELECT * FROM {noun} ORDER BY id")
        assert rows and rows == run_json(seeded_db, "sql", f"SELECT * FROM {table} ORDER BY id")
