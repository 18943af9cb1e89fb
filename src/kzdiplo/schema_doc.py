"""Generate the schema reference (docs/schema.md) from the models' comments.

Run ``python -m kzdiplo.schema_doc docs/schema.md`` after changing the models; a test
fails while the file is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sqlalchemy import Table, create_engine, inspect

from kzdiplo.models import Base
from kzdiplo.views import VIEWS, column_description


def _view_columns() -> dict[str, list[str]]:
    """The views' columns, read from a throwaway database migrated to head."""
    import tempfile

    from kzdiplo.config import sqlite_url
    from kzdiplo.migrate import upgrade

    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "schema.db")
        upgrade(url)
        engine = create_engine(url)
        try:
            inspector = inspect(engine)
            return {v: [c["name"] for c in inspector.get_columns(v)] for v in VIEWS}
        finally:
            engine.dispose()


def _table_section(table: Table) -> list[str]:
    lines = [f"### `{table.name}`", "", table.comment or "", ""]
    lines += ["| column | type | null | description |", "|---|---|---|---|"]
    for column in table.columns:
        kind = str(column.type).lower()
        refs = ", ".join(f"→ `{fk.target_fullname}`" for fk in column.foreign_keys)
        description = " ".join(filter(None, [column.comment or "", refs]))
        null = "yes" if column.nullable else "no"
        lines.append(f"| `{column.name}` | {kind} | {null} | {description} |")
    return [*lines, ""]


def render() -> str:
    """The schema reference as Markdown."""
    lines = [
        "# kzdiplo schema reference",
        "",
        "Generated from `src/kzdiplo/models.py` by `python -m kzdiplo.schema_doc docs/schema.md`;",
        "do not edit by hand. Query it with `kzdiplo sql` or any SQLite client.",
        "",
        "## Tables",
        "",
    ]
    for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
        lines += _table_section(table)
    lines += ["## Views", ""]
    for name, columns in _view_columns().items():
        lines += [
            f"### `{name}`",
            "",
            VIEWS[name],
            "",
            "| column | description |",
            "|---|---|",
            *(f"| `{c}` | {column_description(name, c)} |" for c in columns),
            "",
        ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
