"""kzdiplo sql and kzdiplo schema: the user's own read-only SQL, and what to query."""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NamedTuple

import typer
from typer._click.types import ParamType  # Typer's Click

from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.errors import QueryTimeout, UsageError
from kzdiplo.render import Format, Layout

if TYPE_CHECKING:
    from kzdiplo.deadline import ProcessDeadline


class Binding(NamedTuple):
    """One ``-p NAME VALUE``: a value for the query's ``:NAME``."""

    name: str
    value: str


class BindingType(ParamType):
    """-p takes two words, NAME and VALUE (sqlite-utils' ``-p``), made one Binding."""

    name = "binding"
    is_composite = True
    arity = 2

    def convert(self, value: Any, param: Any, ctx: Any) -> Binding:
        name, text = value
        if not name.isidentifier():
            self.fail(f"{name!r} is not a parameter name (letters, digits and _)", param, ctx)
        return Binding(name, text)


@guarded
def sql(
    ctx: typer.Context,
    query: Annotated[str, typer.Argument(help="One SELECT statement, or - to read it from stdin.")],
    timeout: Annotated[
        float, typer.Option("--timeout", "-t", min=0.001, max=3600, help="Time limit in seconds.")
    ] = 1.0,
    max_rows: Annotated[
        int,
        typer.Option("--max-rows", min=0, help="Row cap (0: no cap); a notice says when it cut."),
    ] = 1000,
    param: Annotated[
        list[Binding] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME VALUE",
            click_type=BindingType(),
            help="A value for the query's :NAME parameter (repeat for several). Values "
            "are bound as text, never put into the SQL.",
        ),
    ] = None,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """Run your own read-only SQL. Writes, DDL, ATTACH, PRAGMA changes and several
    statements at once are refused; a runaway query stops at the time limit (exit 3).
    See `kzdiplo schema` for the tables and views.

    \b
    Examples:
      kzdiplo sql "SELECT title, count FROM agreements WHERE count > 1"
      kzdiplo sql "SELECT * FROM deals WHERE slug = :s" -p s us-exim-critical-minerals-funding
      kzdiplo sql "SELECT * FROM deal_overview" --csv > deals.csv
      echo "SELECT code, name FROM countries LIMIT 5" | kzdiplo sql -
    """  # fmt: skip
    from kzdiplo.adhoc import TIMEOUT_MESSAGE
    from kzdiplo.cli.common import error_line
    from kzdiplo.deadline import ProcessDeadline

    if query == "-":
        try:
            query = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("the query on stdin is not UTF-8 text") from None
    try:
        query.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError("the query is not UTF-8 text") from None
    with reading(ctx) as reader:
        path, dialect = getattr(reader, "path", None), reader.dialect

    # The progress handler stops most queries at the deadline; this stops the rest (one
    # long function call) by ending the process, with the same line and exit code.
    # Only time inside the database counts: a reader slow to take the rows is not.
    line = error_line(TIMEOUT_MESSAGE)
    with ProcessDeadline(timeout, line, QueryTimeout.exit_code, only_inside=True) as deadline:
        _run(query, dict(param or ()), path, dialect, timeout, max_rows, fmt, layout, deadline)


def _run(
    query: str,
    params: dict[str, str],
    path: Path | None,
    dialect: str,
    timeout: float,
    max_rows: int,
    fmt: Format,
    layout: Layout,
    deadline: "ProcessDeadline",
) -> None:
    """Run ``query`` on the SQLite file ``path`` (or as PostgreSQL's read-only role) and
    write its rows as they come."""
    import os

    from kzdiplo.access import note
    from kzdiplo.adhoc import run_postgres, run_sqlite
    from kzdiplo.config import READONLY_ENV
    from kzdiplo.render import Output, Table, positional, write

    if path is not None:
        result = run_sqlite(
            path, query, timeout=timeout, max_rows=max_rows or None, watch=deadline.inside,
            params=params,
        )  # fmt: skip
    elif dialect == "postgresql":
        readonly_url = os.environ.get(READONLY_ENV, "").strip()
        if not readonly_url:
            raise UsageError(
                f"on PostgreSQL, kzdiplo sql runs as a read-only role: set {READONLY_ENV} "
                "to its URL (kzdiplo db grant-readonly creates the role)"
            )
        result = run_postgres(
            readonly_url, query, timeout=timeout, max_rows=max_rows or None,
            watch=deadline.inside, params=params,
        )  # fmt: skip
    else:
        raise UsageError(f"kzdiplo sql is not available on {dialect}")
    # Rows are written as they come: each format reads the one iterator it is given.
    records = (dict(zip(result.columns, row, strict=False)) for row in result.rows)
    shown = [Table(result.rows, positional(result.columns))]
    output = Output(records, shown, csv=result.rows, header=result.columns, drop=False)
    write(output, fmt, layout=layout)
    if result.truncated:
        note(f"truncated: showing the first {max_rows} rows (--max-rows to change, 0: no cap)")


@guarded
def schema(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="Only this table or view.")] = None,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """The tables and views you can query, each column with one line on what it holds.

    \b
    Examples:
      kzdiplo schema
      kzdiplo schema deals
      kzdiplo schema --format json
    """
    from kzdiplo.render import Output, Table, write
    from kzdiplo.schema_info import describe

    with reading(ctx) as reader:
        objects = describe(reader, name)
    rows = [
        {"name": o["name"], "kind": o["kind"], "column": c["name"], "type": c["type"],
         "description": c["description"]}
        for o in objects
        for c in [{"name": "", "type": "", "description": o["description"]}, *o["columns"]]
    ]  # fmt: skip
    columns = [(h.capitalize(), (lambda k: lambda r: r[k])(h))
               for h in ("name", "kind", "column", "type", "description")]  # fmt: skip
    title = "kzdiplo schema (docs/schema.md has the same, with keys)"
    write(Output(objects, [Table(rows, columns, title)], drop=False), fmt, layout=layout)
