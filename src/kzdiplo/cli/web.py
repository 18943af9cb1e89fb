"""kzdiplo report and kzdiplo serve: the data in a browser."""

from pathlib import Path
from typing import Annotated

import typer

from kzdiplo.cli.common import guarded, reading, state


@guarded
def report(
    ctx: typer.Context,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Folder to write the report into.")
    ],
    force: Annotated[
        bool,
        typer.Option("--force", help="Write into a folder holding files kzdiplo did not write."),
    ] = False,
) -> None:
    """A static report: a folder of pages that opens from file:// with no network.

    An index with the timeline (a partial date is a bar over every day it may fall on),
    money by partner (ranges as ranges, "nearly" marked, unpriced deals counted, stages
    by colour), a map of placed records with the unplaced listed beside it, a search
    box, and a page per record with its citations and discrepancies. A rerun replaces
    its own pages; a folder holding files kzdiplo did not write needs --force. The pages
    are written beside --out and swapped in whole: an interrupted run leaves the old ones.

    \b
    Examples:
      kzdiplo report --out site
      kzdiplo report --out site --force
    """
    from kzdiplo.access import note
    from kzdiplo.web.report import write_report

    with reading(ctx) as reader:
        written = write_report(reader, out, force=force)
    note(f"wrote {written} files to {out} (open {out / 'index.html'})")


@guarded
def serve(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")
    ] = 8001,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="Also answer requests for this host name (repeatable); by default only "
            "127.0.0.1, localhost, [::1] and --host are answered, others get 400.",
        ),
    ] = None,
) -> None:
    """Browse the database in Datasette, read-only, configured for this data.

    Serves a read-only copy (immutable) with a `records` table whose partners, roles,
    sectors and years are JSON arrays (honest facets: a date known to the year counts
    in that year, "2035-2036" in both), canned queries, a search that links to record
    pages, and a page per record with every citation. Needs the web extra:
    pip install 'kzdiplo[web]'. Each query stops after 1 s and returns at most 200
    rows; requests naming another host (DNS rebinding) are refused. SQLite only:
    PostgreSQL users run `kzdiplo export --format sqlite --out DIR` and
    `kzdiplo --db DIR/kzdiplo.db serve`.

    \b
    Examples:
      kzdiplo serve
      kzdiplo serve --port 9000 --host 0.0.0.0 --allow-host myhost.lan
    """
    from kzdiplo.web.serve import run

    run(state(ctx).db, host, port, allow_host)
