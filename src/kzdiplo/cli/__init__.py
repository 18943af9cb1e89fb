"""The kzdiplo command line: ``kzdiplo <command> --help`` for each command.

Commands stay thin (parse, query, render) and import their heavy modules inside the
function body. Start-up stays short in a second way: the root is Click's lazy group
(``KzGroup``), so a run imports the module of the one command it runs and builds that
command only; ``kzdiplo --help`` lists every command from the table below without
importing any of them.
"""

import gc
import os
import sys
from typing import TYPE_CHECKING, Annotated, Any

# Plain Click help and errors: Rich-formatted help would import Rich's whole markup
# stack on every `--help` (docs/benchmarks.md has the cost). TYPER_USE_RICH=1 brings
# it back.
os.environ.setdefault("TYPER_USE_RICH", "0")

import typer
from typer.core import TyperGroup, TyperOption

from kzdiplo import __version__
from kzdiplo.cli.common import output_options, use_db

if TYPE_CHECKING:
    from collections.abc import Sequence

    from typer._click import Command, Context, HelpFormatter

# Each command in the order --help lists them: where its function (or Typer group) is,
# as "module:attribute", and what `kzdiplo --help` says of it (whole phrases short enough
# for 80 columns: Click would cut a docstring's first sentence mid-word with "...").
COMMANDS: dict[str, tuple[str, str]] = {
    "agreements": ("kzdiplo.cli.records:agreements",
                   "Agreements, memoranda and packages, oldest first."),
    "deals": ("kzdiplo.cli.records:deals", "Money: honest amounts, who pays whom, stages."),
    "deposits": ("kzdiplo.cli.records:deposits", "Mineral deposits and groups of deposits."),
    "projects": ("kzdiplo.cli.records:projects", "Infrastructure and technology projects."),
    "events": ("kzdiplo.cli.records:events", "The timeline: visits, summits and signings."),
    "partners": ("kzdiplo.cli.partners:partners",
                 "Each partner: agreements, deals, money by role."),
    "show": ("kzdiplo.cli.show:show", "One record in full, with every citation."),
    "search": ("kzdiplo.cli.search:search", "Search records and quotes (words, OR, NOT)."),
    "sql": ("kzdiplo.cli.sql:sql", "Run your own read-only SQL."),
    "schema": ("kzdiplo.cli.sql:schema", "The tables and views, column by column."),
    "load": ("kzdiplo.cli.data:load", "Load sourced facts from YAML or an export."),
    "new": ("kzdiplo.cli.data:new", "Print a skeleton file of facts to fill in."),
    "export": ("kzdiplo.cli.data:export", "Export everything: json, ndjson, csv, sqlite."),
    "audit": ("kzdiplo.cli.audit:audit", "How well each record is sourced."),
    "sources": ("kzdiplo.cli.sources:sources", "Every source, and what rests on what."),
    "cite": ("kzdiplo.cli.research:cite", "Cite the data and the sources behind records."),
    "diff": ("kzdiplo.cli.research:diff", "What changed between two databases or exports."),
    "release": ("kzdiplo.cli.research:release", "Write a versioned, validated data release."),
    "timeline": ("kzdiplo.cli.timeline:timeline", "The year at a glance: a bar per event."),
    "report": ("kzdiplo.cli.web:report", "Write a static site: timeline, money, map."),
    "serve": ("kzdiplo.cli.web:serve", "Browse the data in Datasette, read-only."),
    "db": ("kzdiplo.cli.db:app", "Manage the database: init, upgrade, check, backup."),
}  # fmt: skip


def load_command(name: str) -> "Command":
    """The Click command behind ``kzdiplo <name>``, built from its entry in COMMANDS:
    only its module is imported. Every command (and each command of a group) also takes
    ``--db`` after its name (hidden from its help: the root's help names it), and each
    command with a ``--format`` gets the output shorthands (common.output_options)."""
    import typer.main

    target, summary = COMMANDS[name]
    module, attribute = target.split(":")
    # __import__ rather than importlib.import_module: the same import, and the one that
    # `python -X importtime` reports (it does not see import_module's own line).
    found = getattr(__import__(module, fromlist=[attribute]), attribute)
    if isinstance(found, typer.Typer):
        command: Command = typer.main.get_group(found)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name, short_help=summary)(found)
        command = typer.main.get_command(single)
    command.name, command.short_help = name, summary
    for each in [command, *getattr(command, "commands", {}).values()]:
        each.params.append(
            TyperOption(param_decls=["--db"], metavar="PATH", hidden=True,
                        expose_value=False, callback=use_db)
        )  # fmt: skip
        output_options(each)
    return command


class KzGroup(TyperGroup):
    """The root command: Click's lazy group over COMMANDS. Click's usage errors (an
    unknown option, a value out of range or not among the choices) become one
    ``kzdiplo: error:`` line and one hint, exit 2, like every other bad input."""

    def list_commands(self, ctx: "Context") -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: "Context", cmd_name: str) -> "Command | None":
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]

    def format_commands(self, ctx: "Context", formatter: "HelpFormatter") -> None:
        """The Commands section of --help from the table: no command module imported."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])

    def resolve_command(
        self, ctx: "Context", args: list[str]
    ) -> "tuple[str | None, Command | None, list[str]]":
        """Typer suggests a close name among the commands it has built, and a lazy
        group has built none yet: suggest from the table."""
        from difflib import get_close_matches

        from typer._click.exceptions import UsageError  # Typer's Click

        try:
            return super().resolve_command(ctx, args)
        except UsageError as exc:
            close = get_close_matches(args[0], COMMANDS) if args else []
            if close and "Did you mean" not in exc.message:
                named = ", ".join(repr(name) for name in close)
                exc.message = f"{exc.message.rstrip('.')}. Did you mean {named}?"
            raise

    def main(
        self,
        args: "Sequence[str] | None" = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        """Click prints a usage error as the usage, a hint and ``Error: ...``, with no
        hook to change that: run it non-standalone and print kzdiplo's line instead."""
        from typer._click.exceptions import NoArgsIsHelpError, UsageError  # Typer's Click

        try:
            result = super().main(
                args, prog_name, complete_var, False, windows_expand_args, **extra
            )
        except NoArgsIsHelpError as exc:  # `kzdiplo` or `kzdiplo db` alone: the help
            if not standalone_mode:
                raise
            exc.show()
            sys.exit(2)
        except UsageError as exc:
            from kzdiplo.cli.common import error_line

            print(error_line(exc.format_message()), file=sys.stderr)
            where = exc.ctx.command_path if exc.ctx else "kzdiplo"
            print(f"kzdiplo: hint: {where} --help lists what it takes", file=sys.stderr)
            if not standalone_mode:
                raise
            sys.exit(2)
        except typer.Abort:
            if not standalone_mode:
                raise
            print("kzdiplo: aborted", file=sys.stderr)
            sys.exit(1)
        if standalone_mode:
            sys.exit(result if isinstance(result, int) else 0)
        return result


def _version(value: bool) -> None:
    if value:
        print(f"kzdiplo {__version__}")
        raise typer.Exit()


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


@app.callback()
def _root(
    db_path: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="PATH",
            callback=use_db,
            help="SQLite database file to use (default: KZDIPLO_DATABASE_URL, else the "
            "file `kzdiplo db path` prints, created on first use). Also accepted after "
            "the command.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """The root options act through their callbacks (``--db``: common.use_db)."""


def _reader_went_away() -> None:
    """``kzdiplo ... | head -1``: the reader has what it wanted; exit 0 and say nothing
    (Click would exit 1, Python would complain while flushing at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)


def _leave_quickly() -> None:
    """Before the interpreter exits: take every object still alive out of the cycle
    collector's reach (``gc.freeze``). Python's exit ran one more full collection and
    then, tearing the modules down, freed every class, function and table the imports
    had made, cycle by cycle: 15 ms of a 115 ms `agreements --partner US` (CPU time, 21
    pairs), for memory the system takes back anyway. Reference counting still frees and
    closes what the modules hold as they are torn down; a file or connection is closed
    by its owner before this, never left to a collection."""
    gc.freeze()


def main() -> None:
    """Console entry point: one line on stderr for anything unexpected, never a traceback
    (set KZDIPLO_DEBUG=1 to see one)."""
    try:
        _run()
    finally:
        _leave_quickly()


def _run() -> None:
    """The command, ended as kzdiplo ends: a closed pipe quietly, an error in one line."""
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
