"""What every command shares: the --db option's state, error handling, output options."""

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any, TypeVar, cast

import typer

from kzdiplo.cli import complete
from kzdiplo.errors import KzError
from kzdiplo.render import Format, Layout, PlaceFormat
from kzdiplo.vocab import STAGES

if TYPE_CHECKING:  # types only: the read path imports them when a command runs
    from typer._click import Command, Context, Parameter

    from kzdiplo.reader import Reader

F = TypeVar("F", bound=Callable[..., Any])


class State:
    """What the root options set for the command that runs."""

    db: str | None = None


def state(ctx: "typer.Context | Context") -> State:
    root = ctx.find_root()
    if root.obj is None:
        root.obj = State()
    found: State = root.obj
    return found


def use_db(ctx: typer.Context, param: object, value: str | None) -> str | None:
    """``--db``'s callback, before or after the command (``deals --db x.db``): the
    database the command reads. Click calls it for each place the option is taken."""
    if value is not None and (not value.strip() or "\x00" in value):
        raise fail("--db needs a file path", 2)
    if value is not None:
        state(ctx).db = value
    return value


MAX_MESSAGE = 500  # characters of an error line: it may quote the user's input


def error_line(message: str) -> str:
    """``kzdiplo: error: ...`` as one short line that cannot drive the terminal and holds
    no password of the kzdiplo URL variables."""
    from kzdiplo.config import scrub
    from kzdiplo.safetext import for_terminal

    message = scrub(message)
    if len(message) > MAX_MESSAGE:
        message = message[: MAX_MESSAGE - 1] + "…"
    return f"kzdiplo: error: {for_terminal(message)}"


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print one error line on stderr; return the Exit to raise."""
    print(error_line(message), file=sys.stderr)
    return typer.Exit(code)


BUSY = (
    "the database is busy: another process is writing to it and did not finish within "
    "the wait; nothing was changed, try again"
)


def guarded(command: F) -> F:
    """Turn domain errors into one line on stderr and their exit code (no traceback);
    a write that timed out waiting for another writer's lock says so."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except KzError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except Exception as exc:
            if "database is locked" in str(exc):
                raise fail(BUSY, 1) from None
            raise

    return cast(F, wrapper)  # functools.wraps: the same signature


@contextmanager
def reading(ctx: typer.Context) -> Iterator["Reader"]:
    """A read connection to the user's database for the length of a command."""
    from kzdiplo.access import open_reader

    reader = open_reader(state(ctx).db)
    try:
        yield reader
    finally:
        reader.close()


FormatOption = Annotated[
    Format,
    typer.Option(
        "--format", "-f",
        help="Output: table (for people), json, ndjson, csv, csv-raw, tsv or markdown. csv "
        "and tsv put a ' before text cells that start with = + - @, tab or CR, so that a "
        "spreadsheet does not run them as formulas; csv-raw writes cells exactly.",
        case_sensitive=False,
    ),
]  # fmt: skip
PlaceFormatOption = Annotated[
    PlaceFormat,
    typer.Option(
        "--format", "-f",
        help="Output: table (for people), json, ndjson, csv, csv-raw, tsv, markdown, or "
        "geojson (a map: a point where a source gives coordinates).",
        case_sensitive=False,
    ),
]  # fmt: skip
LayoutOption = Annotated[
    Layout,
    typer.Option(
        "--layout",
        help="For the table format: auto (a table when one fits the width, else a block "
        "per record), table, or records.",
        case_sensitive=False,
    ),
]
LimitOption = Annotated[
    int, typer.Option("--limit", "-n", min=0, help="Show at most this many rows (0: all).")
]
PartnerOption = Annotated[
    list[str] | None,
    typer.Option(
        "--partner", "-p", metavar="PARTNER",
        help="A country, bloc or organisation: ISO code, name or alias, any case "
        "(US, usa, 'United States'). A country includes its organisations. Repeat for "
        "any of several (-p US -p RU).",
        autocompletion=complete.partners,
    ),
]  # fmt: skip
SectorOption = Annotated[
    list[str] | None,
    typer.Option(
        "--sector", "-s", metavar="SECTOR",
        help="A sector or any word for it (minerals, mining, transport); includes its "
        "sub-sectors. Repeat for any of several.",
        autocompletion=complete.sectors,
    ),
]  # fmt: skip
YearOption = Annotated[
    int | None,
    typer.Option("--year", "-y", min=1, max=9999, help="Only records that may fall in this year."),
]
IncludeUndatedOption = Annotated[
    bool,
    typer.Option(
        "--include-undated",
        help="With --year, --since or --until: also list records with no date (they are "
        "otherwise left out, and counted in a note).",
    ),
]
BilateralOption = Annotated[
    bool,
    typer.Option(
        "--bilateral",
        help="With --partner: only records whose parties are that partner (with its "
        "organisations) and Kazakhstan, none else (no SCO, CIS or EAEU documents).",
    ),
]
RawCsvOption = Annotated[
    bool,
    typer.Option(
        "--raw-csv",
        help="CSV cells exactly as stored: by default a text cell starting with = + - @, "
        "tab or CR gets a leading ' so that a spreadsheet does not run it as a formula "
        "(the load format, json or ndjson, always holds the exact text).",
    ),
]


def _date_bound(flag: str, side: str) -> Any:
    """``--since`` or ``--until``: a partial date a record may fall on or ``side`` of."""
    return typer.Option(
        flag, metavar="DATE",
        help=f"Only records that may fall on or {side} DATE (2025, 2025-06 or 2025-06-15).",
    )  # fmt: skip


SinceOption = Annotated[str | None, _date_bound("--since", "after")]
UntilOption = Annotated[str | None, _date_bound("--until", "before")]
KindOption = Annotated[
    str | None, typer.Option("--kind", "-k", help="Only this kind (any part of it, any case).")
]
StageOption = Annotated[
    list[str] | None,
    typer.Option(
        "--stage", metavar="STAGE",
        help=f"Only records at this stage; repeat for several: {', '.join(STAGES)}.",
        autocompletion=complete.stages,
    ),
]  # fmt: skip


def stages_of(values: list[str] | None) -> list[str] | None:
    """--stage values in the vocabulary's spelling ("letter of interest" is accepted)."""
    from kzdiplo.errors import UsageError

    if not values:
        return None
    wanted = []
    for value in values:
        key = value.strip().lower().replace(" ", "_").replace("-", "_")
        if key not in STAGES:
            raise UsageError(f"--stage: unknown stage {value!r}; choose from: {', '.join(STAGES)}")
        wanted.append(key)
    return wanted


# --- the output shorthands (sqlite-utils' and Datasette's): --csv is --format csv ------

SHORTHANDS = {"--csv": Format.csv, "--tsv": Format.tsv, "--json": Format.json,
              "--nl": Format.ndjson}  # fmt: skip
CHOSEN = "kzdiplo.shorthand"  # ctx.meta key: the shorthand given, if any


def _shorthand(ctx: "Context", param: "Parameter", given: bool) -> None:
    """Remember which shorthand was given (they are eager: read before --format)."""
    if not given:
        return
    from typer._click.exceptions import UsageError  # Typer's Click

    name = param.opts[0]
    chosen = ctx.meta.setdefault(CHOSEN, name)
    if chosen != name:
        raise UsageError(f"{chosen} and {name} ask for two formats: give one", ctx)


def _format(ctx: "Context", param: "Parameter", value: Any) -> Any:
    """--format's value, or the format a shorthand asked for; both given must agree."""
    from typer._click.core import ParameterSource

    from kzdiplo.render import Format

    chosen = ctx.meta.get(CHOSEN)
    if chosen is None:
        return value
    wanted = SHORTHANDS[chosen].value
    given = ctx.get_parameter_source(param.name or "") is ParameterSource.COMMANDLINE
    if given and str(value) != wanted:
        from typer._click.exceptions import UsageError

        raise UsageError(f"--format {Format(value).value} and {chosen} disagree: give one", ctx)
    return wanted


def _header_row(ctx: "Context", param: "Parameter", no_headers: bool) -> None:
    from kzdiplo.render import HEADER_ROW

    HEADER_ROW.set(not no_headers)


def output_options(command: "Command") -> "Command":
    """Add --csv, --tsv, --json and --nl (each where --format offers it) and
    --no-headers (where it offers csv) to ``command``, right after its --format: the
    output options as sqlite-utils gives them, written once for every command that has a
    --format. Returns the command, as a Click decorator does."""
    from typer.core import TyperOption

    fmt = next((p for p in command.params if "--format" in getattr(p, "opts", ())), None)
    choices = [str(c) for c in getattr(fmt and fmt.type, "choices", ())]
    if fmt is None or "table" not in choices:  # export, cite...: formats of their own
        return command
    fmt.callback = _format
    added = [
        TyperOption(param_decls=[flag], is_flag=True, default=False, expose_value=False,
                    is_eager=True, callback=_shorthand, help=f"Same as --format {shown.value}.")
        for flag, shown in SHORTHANDS.items()
        if shown.value in choices
    ]  # fmt: skip
    if "csv" in choices:
        added.append(
            TyperOption(param_decls=["--no-headers"], is_flag=True, default=False,
                        expose_value=False, callback=_header_row,
                        help="csv and tsv: leave out the header row.")
        )  # fmt: skip
    at = command.params.index(fmt) + 1
    command.params[at:at] = added
    return command
