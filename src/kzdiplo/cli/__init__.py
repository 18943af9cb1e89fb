"""The kzdiplo command line: ``kzdiplo <command> --help`` for each command.

Commands stay thin (parse, query, render) and import their heavy modules inside the
function body. Start-up is kept short in a second way too: ``main`` registers only the
command the user asked for, so one run imports one command module and Typer builds one
command, not all 22 (load_command; the full app is built for ``--help``, completion, and any name it
does not know, so those still see every command).
"""

import os
import sys
from collections.abc import Iterable, Sequence
from typing import Annotated, Any

# Plain Click help and errors: Rich-formatted help would import Rich's whole markup
# stack on every `--help` (docs/benchmarks.md has the cost). TYPER_USE_RICH=1 brings
# it back.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer
from typer.core import TyperGroup

from kzdiplo import __version__
from kzdiplo.cli.common import state

# Each command, in the order --help lists them, and what `kzdiplo --help` says of it:
# whole phrases short enough for 80 columns (Click would cut a docstring's first
# sentence mid-word with "...").
COMMANDS = {
    "agreements": "Agreements, memoranda and packages, oldest first.",
    "deals": "Money: honest amounts, who pays whom, stages.",
    "deposits": "Mineral deposits and groups of deposits.",
    "projects": "Infrastructure and technology projects.",
    "events": "The timeline: visits, summits and signings.",
    "partners": "Each partner: agreements, deals, money by role.",
    "show": "One record in full, with every citation.",
    "search": "Search records and quotes (words, OR, NOT).",
    "sql": "Run your own read-only SQL.",
    "schema": "The tables and views, column by column.",
    "load": "Load sourced facts from YAML or an export.",
    "new": "Print a skeleton file of facts to fill in.",
    "export": "Export everything: json, ndjson, csv, sqlite.",
    "audit": "How well each record is sourced.",
    "sources": "Every source, and what rests on what.",
    "cite": "Cite the data and the sources behind records.",
    "diff": "What changed between two databases or exports.",
    "release": "Write a versioned, validated data release.",
    "timeline": "The year at a glance: a bar per event.",
    "report": "Write a static site: timeline, money, map.",
    "serve": "Browse the data in Datasette, read-only.",
    "db": "Manage the database: init, upgrade, check, backup.",
}
ROOT_OPTIONS_WITH_VALUE = frozenset({"--db"})


def _version(value: bool) -> None:
    if value:
        print(f"kzdiplo {__version__}")
        raise typer.Exit()


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


def root_options_first(args: Sequence[str]) -> list[str]:
    """``args`` with a root option given after the command (``deals --db x.db``) moved
    before it, where Click looks for it; nothing after ``--`` is touched."""
    args = list(args)
    end = args.index("--") if "--" in args else len(args)
    moved: list[str] = []
    i = 1 + next((n for n, a in enumerate(args[:end]) if a in COMMANDS), end)
    while i < end:
        arg = args[i]
        if arg in ROOT_OPTIONS_WITH_VALUE and i + 1 < end:
            moved += args[i : i + 2]
            del args[i : i + 2]
            end -= 2
        elif arg.split("=", 1)[0] in ROOT_OPTIONS_WITH_VALUE:
            moved.append(args.pop(i))
            end -= 1
        else:
            i += 1
    return moved + args


class KzGroup(TyperGroup):
    """The root command: Click's usage errors (an unknown option, a value out of range
    or not among the choices) become one ``kzdiplo: error:`` line and one hint, exit 2,
    like every other bad input; ``--db`` is accepted after the command too."""

    def main(self, args: Sequence[str] | None = None, *a: object, **kw: object) -> object:
        from typer._click.exceptions import NoArgsIsHelpError, UsageError  # Typer's Click

        standalone = kw.pop("standalone_mode", True)
        args = root_options_first(sys.argv[1:] if args is None else args)
        try:
            # Click's own arguments passed through (standalone_mode popped above): mypy
            # cannot tell that *a stops before standalone_mode, nor the types of kw.
            result = super().main(args, *a, standalone_mode=False, **kw)  # type: ignore[misc, arg-type]
        except NoArgsIsHelpError as exc:  # `kzdiplo` or `kzdiplo db` alone: the help
            if not standalone:
                raise
            exc.show()
            sys.exit(2)
        except UsageError as exc:
            from kzdiplo.cli.common import error_line

            print(error_line(exc.format_message()), file=sys.stderr)
            where = exc.ctx.command_path if exc.ctx else "kzdiplo"
            print(f"kzdiplo: hint: {where} --help lists what it takes", file=sys.stderr)
            if not standalone:
                raise
            sys.exit(2)
        except typer.Abort:
            if not standalone:
                raise
            print("kzdiplo: aborted", file=sys.stderr)
            sys.exit(1)
        if standalone:
            sys.exit(result if isinstance(result, int) else 0)
        return result


def load_command(name: str) -> Any:
    """The function (or Typer group) behind ``kzdiplo <name>``: only its module is
    imported, so a run pays for the one command it runs."""
    match name:
        case "agreements":
            from kzdiplo.cli.records import agreements as command
        case "deals":
            from kzdiplo.cli.records import deals as command
        case "deposits":
            from kzdiplo.cli.records import deposits as command
        case "projects":
            from kzdiplo.cli.records import projects as command
        case "events":
            from kzdiplo.cli.records import events as command
        case "partners":
            from kzdiplo.cli.partners import partners as command
        case "show":
            from kzdiplo.cli.show import show as command
        case "search":
            from kzdiplo.cli.search import search as command
        case "sql":
            from kzdiplo.cli.sql import sql as command
        case "schema":
            from kzdiplo.cli.sql import schema as command
        case "load":
            from kzdiplo.cli.data import load as command
        case "new":
            from kzdiplo.cli.data import new as command
        case "export":
            from kzdiplo.cli.data import export as command
        case "audit":
            from kzdiplo.cli.audit import audit as command
        case "sources":
            from kzdiplo.cli.sources import sources as command
        case "cite":
            from kzdiplo.cli.research import cite as command
        case "diff":
            from kzdiplo.cli.research import diff as command
        case "release":
            from kzdiplo.cli.research import release as command
        case "timeline":
            from kzdiplo.cli.timeline import timeline as command
        case "report":
            from kzdiplo.cli.web import report as command
        case "serve":
            from kzdiplo.cli.web import serve as command
        case "db":
            from kzdiplo.cli.db import app as command
        case _:
            raise KeyError(name)
    return command


def build_app(names: Iterable[str] | None = None) -> typer.Typer:
    """The Typer app with the commands ``names`` (every command when None)."""
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
        cls=KzGroup,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    wanted = set(COMMANDS if names is None else names)
    for name in COMMANDS:
        if name not in wanted:
            continue
        command = load_command(name)
        if isinstance(command, typer.Typer):
            app.add_typer(command, name=name, short_help=COMMANDS[name])
        else:
            app.command(name, short_help=COMMANDS[name])(command)
    return app


def requested_command(args: Sequence[str]) -> str | None:
    """The command name in ``args`` if it is one of ours (skipping root options), else
    None: then the full app is built, for help, suggestions and completion."""
    if any(key.endswith("_COMPLETE") for key in os.environ if key.startswith("_KZDIPLO")):
        return None
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg in ROOT_OPTIONS_WITH_VALUE:
            skip = True
        elif arg == "--" or arg in ("-h", "--help"):
            return None
        elif not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def __getattr__(name: str) -> typer.Typer:
    """``kzdiplo.cli.app``: the full app (tests and tools that want every command)."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _reader_went_away() -> None:
    """``kzdiplo ... | head -1``: the reader has what it wanted; exit 0 and say nothing
    (Click would exit 1, Python would complain while flushing at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def main() -> None:
    """Console entry point: one line on stderr for anything unexpected, never a traceback
    (set KZDIPLO_DEBUG=1 to see one)."""
    command = requested_command(sys.argv[1:])
    app = build_app(None if command is None else [command])
    try:
        app()
    except SystemExit:
        if type(sys.stdout).__name__ == "PacifyFlushWrapper":
            _reader_went_away()
        raise
    except BrokenPipeError:
        _reader_went_away()
    except Exception as exc:  # Click has already handled usage errors, ^C and closed pipes
        if os.environ.get("KZDIPLO_DEBUG"):
            raise
        from kzdiplo.cli.common import error_line

        detail = str(exc).splitlines()[0] if str(exc) else ""
        print(error_line(f"{type(exc).__name__}: {detail}"), file=sys.stderr)
        sys.exit(1)
