"""docs/schema.md is generated from the models and must be current."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzdiplo import schema_doc

DOC = Path(__file__).resolve().parent.parent / "docs" / "schema.md"


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
