"""What ``kzdiplo schema`` prints: tables and views with their columns and descriptions."""

from __future__ import annotations

from typing import Any

from kzdiplo.errors import did_you_mean
from kzdiplo.reader import Reader
from kzdiplo.views import VIEWS, column_description


def describe(reader: Reader, only: str | None = None) -> list[dict[str, Any]]:
    """Tables (from the models' comments) and views (from ``views.VIEWS``), by name."""
    from kzdiplo.models import Base

    objects: list[dict[str, Any]] = []
    for table in sorted(Base.metadata.tables.values(), key=lambda t: t.name):
        columns = [
            {"name": c.name, "type": str(c.type).lower(), "description": c.comment or ""}
            for c in table.columns
        ]
        objects.append(
            {"name": table.name, "kind": "table", "description": table.comment, "columns": columns}
        )
    for view, description in VIEWS.items():
        objects.append(
            {
                "name": view,
                "kind": "view",
                "description": description,
                "columns": _columns(reader, view),
            }
        )
    if only is not None:
        chosen = [o for o in objects if o["name"] == only.strip().lower()]
        if not chosen:
            raise did_you_mean("table or view", only, [o["name"] for o in objects])
        return chosen
    return objects


def _columns(reader: Reader, view: str) -> list[dict[str, str]]:
    if reader.dialect == "sqlite":
        rows = reader.rows(f"PRAGMA table_info({view})")
        named = [(r["name"], (r["type"] or "").lower()) for r in rows]
    else:
        names, _ = reader.stream(f"SELECT * FROM {view} WHERE 1 = 0")
        named = [(n, "") for n in names]
    return [
        {"name": n, "type": kind, "description": column_description(view, n)} for n, kind in named
    ]
