"""kzdiplo load, new and export: add sourced facts, and take the data elsewhere."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kzdiplo.cli.common import RawCsvOption, guarded, reading, state
from kzdiplo.errors import KzError, UsageError, did_you_mean
from kzdiplo.safetext import say


@guarded
def load(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="Files in the seed format (YAML, JSON, NDJSON); - reads stdin."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", "-n", help="Show what would change; change nothing.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every problem.")] = False,
) -> None:
    """Load new sourced facts (sources, partners, agreements, deals, deposits, projects,
    events) from files in the seed format. Everything is checked (references, quotes
    against their source's text, amounts, dates) and written in one transaction as it is
    read, and kept only when nothing was wrong: any problem, and nothing is written.
    Loading the same file again changes nothing; a changed value updates its record and
    is listed. A field left out of a record keeps its
    stored value; an explicit null (or []) clears it. A source's text cannot change in a
    way that breaks a stored quote. text_file must be a file inside the load file's
    folder (at most 5 MB).

    \b
    Examples:
      kzdiplo new events > my-facts.yaml
      kzdiplo load --dry-run my-facts.yaml
      kzdiplo load my-facts.yaml
      kzdiplo export -f ndjson --out - | kzdiplo --db copy.db load -
    """
    import tempfile

    from kzdiplo.access import note, writing
    from kzdiplo.loader import LoadError, load_paths
    from kzdiplo.loadfile import STDIN
    from kzdiplo.progress import progress_bar

    for path in files:
        if str(path) != STDIN and not path.is_file():
            raise UsageError(
                f"{path}: no such file" if not path.exists() else f"{path}: not a file"
            )
    with tempfile.TemporaryDirectory(prefix="kzdiplo-stdin-") as spool:
        paths = [_spooled(path, Path(spool)) for path in files]
        try:
            with writing(state(ctx).db) as engine, progress_bar("loading") as start:
                report = load_paths(engine, paths, dry_run=dry_run, progress=start, waiting=note)
        except LoadError as exc:
            problems = exc.problems
            for spooled in (p for p in paths if p.parent == Path(spool)):
                problems = [p.replace(str(spooled), "- (stdin)") for p in problems]
            for problem in problems if verbose else []:
                note(problem)
            more = len(problems) - 1
            hint = (
                f" (and {more} more problems; --verbose lists them)" if more and not verbose else ""
            )
            raise UsageError(f"nothing loaded: {problems[0]}{hint}") from None
    for section, key, action, fields in report:
        mark = "+" if action == "added" else "~"
        detail = f" ({', '.join(fields)})" if fields else ""
        say(f"{mark} {section} {key}{detail}")
    verb = "dry run, nothing written: would be" if dry_run else "loaded:"
    note(f"{verb} {report.summary()}")


def _spooled(path: Path, folder: Path) -> Path:
    """``path``, or for ``-`` standard input copied into ``folder`` (read once)."""
    import sys

    from kzdiplo.loadfile import STDIN, LoadFileError, spool_stdin

    if str(path) != STDIN:
        return path
    if any(p.name.startswith("stdin.") for p in folder.iterdir()):
        raise UsageError("- (standard input) given twice")
    try:
        return spool_stdin(sys.stdin.buffer, folder)
    except LoadFileError as exc:
        raise UsageError(str(exc)) from None


@guarded
def new(
    section: Annotated[
        str | None,
        typer.Argument(
            help="sources, agreements, deals, deposits, projects, events or organizations"
        ),
    ] = None,
) -> None:
    """Print a skeleton load file to fill in (all sections, or one).

    \b
    Examples:
      kzdiplo new > my-facts.yaml
      kzdiplo new deals
    """
    from kzdiplo.templates import SKELETONS, template

    if section is not None and section not in SKELETONS:
        raise did_you_mean("section", section, list(SKELETONS))
    sys.stdout.write(template(section))


class ExportFormat(StrEnum):
    json = "json"
    ndjson = "ndjson"
    csv = "csv"
    sqlite = "sqlite"
    datasette = "datasette"
    xlsx = "xlsx"


@guarded
def export(
    ctx: typer.Context,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            case_sensitive=False,
            help="json, ndjson, csv, sqlite, datasette or xlsx.",
        ),
    ] = ExportFormat.json,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            "-o",
            metavar="FOLDER",
            help="Folder to write into (created if missing); - writes json or ndjson to stdout.",
        ),
    ] = ".",
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Replace files in the folder that kzdiplo export did not write."
        ),
    ] = False,
    raw_csv: RawCsvOption = False,
) -> None:
    """Export the whole database: json/ndjson in the load format (export, then load into
    an empty database, gives the same data), csv (one file per table plus columns.csv),
    sqlite (a standalone copy to mail or publish), or datasette (that copy plus a
    metadata.json with sources, license and a description of every table and column), or
    xlsx (one spreadsheet: a sheet per kind of record, sources, citations, and column
    descriptions).

    The files are written into a staging folder beside --out and moved in only when all
    are complete (the whole folder is swapped when it holds only kzdiplo's exports);
    files that an earlier export did not write are replaced only with --force, and no
    link in or above --out is followed.

    \b
    Examples:
      kzdiplo export --format json --out backup/
      kzdiplo export --format ndjson --out - | head
      kzdiplo export --format datasette --out site/
      kzdiplo export --format xlsx --out sheets/
      datasette site/kzdiplo.db -m site/metadata.json
    """
    from kzdiplo import export as exporting
    from kzdiplo.progress import progress_bar

    if out == "-":
        if fmt not in (ExportFormat.json, ExportFormat.ndjson):
            raise UsageError(f"--out - (stdout) takes json or ndjson, not {fmt.value}")
        with reading(ctx) as reader:
            to_stream = exporting.json_to if fmt is ExportFormat.json else exporting.ndjson_to
            to_stream(reader, sys.stdout)
        return
    if not out.strip() or "\x00" in out:
        raise UsageError("--out needs a folder")
    folder = Path(out)
    names = exporting.files_of(fmt.value)
    with reading(ctx) as reader, progress_bar(f"exporting {fmt.value}") as start:
        path = getattr(reader, "path", None)
        if fmt in (ExportFormat.sqlite, ExportFormat.datasette) and path is None:
            raise KzError(f"--format {fmt.value} needs an SQLite database")
        with exporting.exporting_to(folder, path, force=force) as writer:
            if fmt is ExportFormat.xlsx:
                from kzdiplo import xlsx

                xlsx.write_xlsx(reader, writer, start(xlsx.SHEET_COUNT))
            elif fmt is ExportFormat.csv:
                exporting.write_csv(reader, writer, start(len(exporting.tables())), raw=raw_csv)
            elif fmt in (ExportFormat.json, ExportFormat.ndjson):
                to_folder = (exporting.write_json if fmt is ExportFormat.json
                             else exporting.write_ndjson)  # fmt: skip
                to_folder(reader, writer, start(exporting.count_records(reader)))
            elif fmt is ExportFormat.sqlite:
                assert path is not None  # refused above
                exporting.write_sqlite(path, writer)
            else:
                assert path is not None  # refused above
                exporting.write_datasette(reader, path, writer)
    # the file, or for csv and datasette the folder of files
    written = folder / names[0] if len(names) == 1 else folder
    say(str(written))
