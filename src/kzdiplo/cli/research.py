"""kzdiplo cite, diff and release: what a researcher needs to use the data in a paper."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from kzdiplo.cli.common import guarded
from kzdiplo.render import Format


class DiffFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


@guarded
def diff(
    old: Annotated[
        str, typer.Argument(help="The older data: SQLite file, JSON export or release folder.")
    ],
    new: Annotated[str, typer.Argument(help="The newer data, in any of the same forms.")],
    fmt: Annotated[
        DiffFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="table, json or markdown."),
    ] = DiffFormat.table,
) -> None:
    """What changed between two versions of the data: records added, removed and changed,
    by key and field, down to a citation's quote, a stage or a discrepancy. Either side
    may be a database, a JSON export (kzdiplo export --format json) or a release folder;
    row ids are never compared, only facts. Exit 0 whether or not anything changed.

    \b
    Examples:
      kzdiplo diff old.db new.db
      kzdiplo diff release-2026.11/ kzdiplo.db --format markdown
      kzdiplo diff backup/kzdiplo.json kzdiplo.db --format json
    """
    from kzdiplo import diff as diffing
    from kzdiplo.dataset import load_document
    from kzdiplo.render import emit, to_json

    result = diffing.diff(load_document(old), load_document(new))
    if fmt is DiffFormat.json:
        sys.stdout.write(to_json(result) + "\n")
    elif fmt is DiffFormat.markdown:
        sys.stdout.write(diffing.markdown(result))
    else:
        c = result["counts"]
        columns = [
            (h.capitalize(), lambda r, h=h: r[h])
            for h in ("change", "record", "field", "old", "new")
        ]
        title = f"{c['added']} added · {c['removed']} removed · {c['changed']} changed"
        emit(diffing.rows(result), columns, Format.table, title=title)
