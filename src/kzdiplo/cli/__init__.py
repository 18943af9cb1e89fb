"""The kzdiplo command line: ``kzdiplo <command> --help`` for each command.

Commands stay thin (parse, query, render) and import their heavy modules inside the
function body, so that starting the CLI costs little.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated

# Plain Click help and errors: Rich-formatted help costs about 80 ms of imports on every
# `--help` (docs/benchmarks.md). TYPER_USE_RICH=1 brings it back. Tables still use Rich.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer

from kzdiplo import __version__
from kzdiplo.cli import audit, data, db, partners, records, search, show, sql
from kzdiplo.cli.common import state

app = typer.Typer(
    name="kzdiplo",
    help=(
        "Kazakhstan's 2025 diplomacy as a sourced database: agreements, deals, deposits, "
        "projects and events, each fact with the sentence it rests on.\n\n"
        "\b\nExamples:\n"
        "  kzdiplo agreements --partner US\n"
        "  kzdiplo deals --sector minerals\n"
        "  kzdiplo show deal us-exim-critical-minerals-funding\n"
        '  kzdiplo sql "SELECT title, count FROM agreements"'
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"kzdiplo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db_path: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            help="SQLite database file to use (default: KZDIPLO_DATABASE_URL, else the "
            "file `kzdiplo db path` prints, created on first use).",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    if db_path is not None and (not db_path.strip() or "\x00" in db_path):
        print("kzdiplo: error: --db needs a file path", file=sys.stderr)
        raise typer.Exit(2)
    state(ctx).db = db_path


for _command in (records.agreements, records.deals, records.deposits, records.projects,
                 records.events, partners.partners, show.show, search.search, sql.sql,
                 sql.schema, data.load, data.new, data.export, audit.audit):  # fmt: skip
    app.command()(_command)
app.add_typer(db.app, name="db")


def main() -> None:
    """Console entry point: one line on stderr for anything unexpected, never a traceback
    (set KZDIPLO_DEBUG=1 to see one)."""
    try:
        app()
    except Exception as exc:  # Click has already handled usage errors, ^C and closed pipes
        if os.environ.get("KZDIPLO_DEBUG"):
            raise
        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(f"kzdiplo: error: {type(exc).__name__}: {detail}", file=sys.stderr)
        sys.exit(1)
