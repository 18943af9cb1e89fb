"""kzdiplo cite, diff and release: what a researcher needs to use the data in a paper."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer

from kzdiplo.cli.common import guarded, reading
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


class CiteFormat(StrEnum):
    bibtex = "bibtex"
    csl_json = "csl-json"
    ris = "ris"
    text = "text"


@guarded
def cite(
    ctx: typer.Context,
    slugs: Annotated[
        list[str] | None,
        typer.Argument(help="Slugs of agreements, deals, deposits, projects or events."),
    ] = None,
    everything: Annotated[bool, typer.Option("--all", help="Every record's sources.")] = False,
    fmt: Annotated[
        CiteFormat,
        typer.Option("--format", "-f", case_sensitive=False, help="bibtex, csl-json, ris or text."),
    ] = CiteFormat.text,
) -> None:
    """How to cite the data in a paper: the dataset (name, data version, date, content
    hash) and one entry per source behind the given records (title, publisher, date, URL,
    accessed date where known), each with the claims it supports and what it says: a
    verbatim quote, or our own summary marked as ours (never as a quotation).

    \b
    Examples:
      kzdiplo cite kz-us-critical-minerals-mou --format bibtex > refs.bib
      kzdiplo cite --all --format csl-json > refs.json
      kzdiplo cite us-exim-critical-minerals-funding --format ris
    """
    from kzdiplo import cite as citing

    if slugs and everything:
        from kzdiplo.errors import UsageError

        raise UsageError("give slugs or --all, not both")
    with reading(ctx) as reader:
        found = citing.build(reader, slugs or [], everything)
    sys.stdout.write(citing.render(found, fmt.value))
