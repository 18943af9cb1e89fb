"""kzdiplo cite, diff and release: what a researcher needs to use the data in a paper."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kzdiplo.cli.common import RawCsvOption, guarded, reading
from kzdiplo.errors import QueryTimeout
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
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            "-t",
            min=0.001,
            max=86400,
            help="Time limit in seconds for the whole comparison (exit 3 when reached).",
        ),
    ] = 120.0,
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
    from kzdiplo.cli.common import error_line
    from kzdiplo.deadline import ProcessDeadline

    # A database from elsewhere can hold a view that never ends; its reads stop at the
    # deadline (progress handler) and the watchdog ends whatever else is still running.
    message = f"diff stopped at the time limit ({timeout:g} s, --timeout)"
    with ProcessDeadline(timeout, error_line(message), QueryTimeout.exit_code):
        _diff(old, new, fmt, timeout)


def _diff(old: str, new: str, fmt: DiffFormat, timeout: float) -> None:
    """Read both sides within ``timeout`` and write what changed in ``fmt``."""
    import time

    from kzdiplo import diff as diffing
    from kzdiplo.dataset import load_document
    from kzdiplo.render import emit, to_json

    deadline = time.monotonic() + timeout
    before = load_document(old, timeout)
    after = load_document(new, max(0.001, deadline - time.monotonic()))
    result = diffing.diff(before, after)
    if fmt is DiffFormat.json:
        sys.stdout.write(to_json(result) + "\n")
    elif fmt is DiffFormat.markdown:
        sys.stdout.write(diffing.markdown(result))
    else:
        c = result["counts"]
        names = ("change", "kind", "key", "field", "old", "new")
        columns = [(h.capitalize(), lambda r, h=h: r[h]) for h in names]
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


@guarded
def release(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the release into.")],
    previous: Annotated[
        str | None,
        typer.Option(
            "--previous",
            metavar="OLD",
            help="The previous release (folder, database or JSON export): the CHANGELOG "
            "section lists what changed since.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a folder holding files of others.")
    ] = False,
    raw_csv: RawCsvOption = False,
    data_version: Annotated[
        str | None,
        typer.Option(
            "--data-version",
            metavar="YEAR.MONTH.N",
            help="The version of this data (CalVer, e.g. 2026.12.2), dated today: needed "
            "when the data changed since --previous. Default: --previous's version, else "
            "the shipped seeds'.",
        ),
    ] = None,
) -> None:
    """Write a data release: a Frictionless data package (datapackage.json, a CSV per
    table, schemas and foreign keys from the models), the data in the load format,
    CITATION.cff, and a CHANGELOG section generated by diff against --previous. The data
    version (separate from the code version) and a content hash are stamped on each.
    Refuses a folder holding files it did not write, unless --force. The release is
    written into a staging folder beside --out and swapped in whole: an interrupted run
    leaves the previous release as it was. CSV cells that a spreadsheet would run as a
    formula get a leading ' (see --raw-csv).

    \b
    Examples:
      kzdiplo release --out release/
      kzdiplo release --out release-new/ --previous release/ --data-version 2026.12.2
      frictionless validate release/datapackage.json
    """
    from kzdiplo.access import note
    from kzdiplo.dataset import edition
    from kzdiplo.release import write_release
    from kzdiplo.safetext import say

    # bad input is refused before the database is read
    stamped = None if data_version is None else edition(data_version)
    with reading(ctx) as reader:
        manifest = write_release(reader, out, previous, force, raw=raw_csv, edition=stamped)
    note(f"release {manifest['version']} ({manifest['content_hash']}): "
         f"{len(manifest['files'])} files")  # fmt: skip
    say(str(out))
