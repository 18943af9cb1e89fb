"""``kzdiplo serve``: Datasette on the database, read-only, set up for this data.

Datasette on the raw tables shows the data badly (a year-only date faceted on 1
January, "US, KZ" as one partner, no page with a record's citations), so serve shows
the browse tables every load keeps in the database (``kzdiplo.browse``: ``records``,
``records_counts``, ``partner_money``) with generated metadata, canned queries and the
plugin in ``kzdiplo.web.plugin``. When they are fresh, the user's file is served as it
is through read-only connections (start-up reads a few rows, whatever the size of the
data); when a write outside kzdiplo's loader has made them stale, they are rebuilt in a
temporary copy (the online backup API: a consistent snapshot), served immutable. The
user's database is never written.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from kzdiplo import licence
from kzdiplo.errors import KzError, UsageError
from kzdiplo.reader import Reader, SqliteReader
from kzdiplo.views import VIEWS
from kzdiplo.web.pages import RECORD_PREFIX

DATABASE = "kzdiplo"  # the served file's stem: Datasette's database name and URL path
# Every table's and column's description (export.table_descriptions(), from the models'
# comments) kept beside this module, so start-up does not import SQLAlchemy and the
# models for them (about a second on a busy machine); tests/test_serve_scale.py fails
# when it differs from the models, and `python -m kzdiplo.web.serve` rewrites it.
DESCRIPTIONS = "descriptions.json"


def link_to(source: Path, folder: Path) -> Path:
    """``folder/kzdiplo.db``, a symbolic link to ``source``: Datasette names the database
    by the file's stem and puts its path in a SQLite URI, so the user's file, whatever
    its name (``#`` and ``?`` included), is served as ``kzdiplo`` through a plain path.
    SQLite follows the link to the real file, and finds its -wal beside it."""
    link = folder / f"{DATABASE}.db"
    link.symlink_to(source.resolve())
    return link


def build_copy(source: Path, folder: Path) -> Path:
    """A copy of ``source`` in ``folder`` with its browse tables rebuilt, for a database
    whose browse tables are stale (written to outside kzdiplo's loader): time in
    proportion to the data, so only when they cannot be served as they are."""
    from kzdiplo import browse
    from kzdiplo.config import sqlite_url
    from kzdiplo.db import make_engine
    from kzdiplo.export import sqlite_backup

    target = sqlite_backup(source, folder / f"{DATABASE}.db")
    engine = make_engine(sqlite_url(target))
    try:
        with engine.begin() as conn:
            browse.rebuild(conn)
    finally:
        engine.dispose()
    return target


def value_limit(longest: int) -> int:
    """SQLite's value-size limit for the served file: MIN_VALUE_BYTES, or more when a
    stored value is longer (``longest``, kept by the browse tables' rebuild: it must
    stay readable). One call to a function that compares two strings takes time in
    proportion to their product, and a LIKE to the value times its pattern: a small
    limit keeps each call short."""
    return max(MIN_VALUE_BYTES, longest + 1)


_SIGNED = ("signed", "approved", "in_force", "disbursing", "completed")
_HAS_PARTNER = (
    "(EXISTS (SELECT 1 FROM json_each(records.partners) WHERE lower(value) = lower(:partner))"
    " OR EXISTS (SELECT 1 FROM json_each(records.partner_countries) "
    "WHERE lower(value) = lower(:partner)))"
)
CANNED: dict[str, dict[str, str]] = {
    "signed_with_partner": {
        "title": "Agreements and deals with a partner",
        "description": "Every agreement and deal with a partner (a country includes its "
        "organisations: try US, CN, EU, rosatom), its stage, date and page. "
        f"signed = 1 for stages at or past signing ({', '.join(_SIGNED)}); a stage not "
        "recorded is shown as such, not guessed.",
        "sql": "SELECT noun, title, stage, CASE WHEN stage IN "
        f"({', '.join(repr(s) for s in _SIGNED)}) THEN 1 ELSE 0 END AS signed, date_text, "
        f"date_start, date_end, partners, disputes, page FROM records WHERE noun IN "
        f"('agreement', 'deal') AND {_HAS_PARTNER} ORDER BY date_start IS NULL, date_start",
    },
    "money_by_partner_and_stage": {
        "title": "Money by partner and stage",
        "description": "Each partner's own money from and to it, by stage, summed from the "
        "money_flows ledger as kzdiplo partners sums it: a deal counts for a partner alone "
        "on its side or with a stated share, once. not_own lists, with whole sums, what it "
        "takes part in but cannot be credited with (shared or regional with no split, "
        "targets, no direction). Ranges as low/high; approximate = 1 for 'nearly'.",
        "sql": "SELECT * FROM partner_money ORDER BY max(coalesce(usd_from_high, 0), "
        "coalesce(usd_to_high, 0)) DESC, agreements DESC, partner",
    },
    "timeline": {
        "title": "The timeline",
        "description": f"{VIEWS['timeline']}. Here from the records table, with the range "
        "a partial date may fall in: a year-only date runs from 1 January to 31 December.",
        "sql": "SELECT date_text, date_start, date_end, date_precision, title, partners, "
        "disputes, page FROM records WHERE noun = 'event' "
        "ORDER BY date_start IS NULL, date_start, date_end",
    },
    "disputed_facts": {
        "title": "Disputed facts",
        "description": f"{VIEWS['discrepancy_details']}; here the disagreements only.",
        "sql": "SELECT record_type, record_key, field, record_says, source_says, note, "
        f"source_title, publisher, url, '{RECORD_PREFIX}' || record_type || '/' || "
        "record_key AS page FROM discrepancy_details WHERE kind = 'disagreement' "
        "ORDER BY record_type, record_key, field",
    },
    "single_source_facts": {
        "title": "Facts resting on one source",
        "description": "Records whose citations all come from one independent origin (a "
        "republication counts with what it republishes).",
        "sql": "SELECT noun, title, source_count, independent_sources, page FROM records "
        "WHERE independent_sources <= 1 ORDER BY noun, title",
    },
}


def metadata(reader: Reader) -> dict[str, Any]:
    """Datasette metadata: the export's descriptions of every table and view, the
    derived tables' columns, licences (data and code apart), facets, canned queries."""
    from kzdiplo import browse_tables as browse
    from kzdiplo.export import datasette_metadata

    described = json.loads((resources.files("kzdiplo.web") / DESCRIPTIONS).read_text("utf-8"))
    meta = datasette_metadata(reader, described)
    tables = meta["databases"].pop("kzdiplo")["tables"]
    tables["records"] |= {
        "facets": [*browse.COLUMN_FACETS, *({"array": c} for c in browse.ARRAY_FACETS)],
        # records.id is the search index's document id: its search box reads that index
        "fts_table": "search_index",
        "fts_pk": "id",
        "sort": "title",
        "label_column": "title",
    }
    tables["records_counts"]["hidden"] = True  # read by the facets and the home page
    # The licence is in the footer of every page, once: the data's (linked) and the code's.
    meta |= {
        "about": f"{meta['about']}; code licence: {licence.CODE_LICENCE}",
        "description_html": "<p>A sourced database: every record cites the sentence it "
        "rests on.</p>",
    }
    meta.pop("description", None)
    # A canned query's page takes its footer from the query alone: give each the licence.
    keep = ("license", "license_url", "source", "source_url", "about")
    footer = {k: meta[k] for k in keep if meta.get(k)}
    queries = {name: footer | query for name, query in CANNED.items()}
    meta["databases"] = {DATABASE: {"tables": tables, "queries": queries}}
    return meta


# Bounds on every request (Datasette's settings): a query stops at SQL_TIME_LIMIT_MS (a
# progress handler; the plugin's prepare_connection makes every function call short enough
# to reach it), returns at most MAX_RETURNED_ROWS rows of at most the copy's longest value,
# and NUM_SQL_THREADS queries run at once, so a slow one holds a thread about a second.
SQL_TIME_LIMIT_MS = 1000
MAX_RETURNED_ROWS = 200
NUM_SQL_THREADS = 3
MIN_VALUE_BYTES = 1_000_000  # the value limit, unless the copy holds a longer value


def make_datasette(path: Path, meta: dict[str, Any], immutable: bool = False) -> Any:
    """A Datasette on ``path`` (read-only: Datasette reads a mutable file through
    ``mode=ro`` connections; ``immutable`` for serve's own temporary copy) with kzdiplo's
    plugin and templates."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from kzdiplo.web import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="kzdiplo")

    class FixedMetadata(Datasette):  # type: ignore[misc]  # Datasette is untyped
        """Datasette with metadata that never changes while it runs (serve builds it
        once): the permission rules of each table, which Datasette 0.65.5 derives from a
        deep copy of the whole metadata for every table on every request (the home page
        checks each table: 3.4x Datasette's own home page with kzdiplo's metadata), are
        derived once per table."""

        allows: dict[tuple[str, str], list[Any]]

        def _table_permission_allows(self, database: str, table: str) -> list[Any]:
            key = (database, table)
            if key not in self.allows:
                self.allows[key] = super()._table_permission_allows(database, table)
            return list(self.allows[key])

    templates = resources.files("kzdiplo.web") / "templates"
    FixedMetadata.allows = {}
    return FixedMetadata(
        files=[] if immutable else [str(path)],
        immutables=[str(path)] if immutable else [],
        metadata=meta,
        template_dir=str(templates),
        settings={
            "suggest_facets": False,
            "default_facet_size": 20,
            "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
            "max_returned_rows": MAX_RETURNED_ROWS,
            "num_sql_threads": NUM_SQL_THREADS,
        },
    )


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise UsageError(f"--host {host!r} is not an address of this machine") from None
        except OSError as exc:
            raise KzError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


class HostGuard:
    """ASGI middleware: answer only requests whose ``Host`` names this server (the
    loopback names and ``--host``, plus any ``--allow-host``); anything else gets 400.
    A web page elsewhere can point its own domain at 127.0.0.1 (DNS rebinding) and then
    read this server as if same-origin: its requests carry that domain as ``Host``."""

    def __init__(self, app: Any, hosts: set[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    def allowed(self, host_header: str) -> bool:
        name = host_header.strip().lower()
        if name.startswith("["):  # [::1]:8001
            name = name[: name.find("]") + 1] if "]" in name else name
        else:
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        return name in self.hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not self.allowed(host):
                body = b"kzdiplo serve: unknown Host header\n"
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def served_hosts(host: str, extra: list[str] | None = None) -> set[str]:
    """The names a Host header may carry: loopback, ``--host`` and ``--allow-host``."""
    names = {*LOCAL_NAMES, *(extra or [])}
    names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    return names


class Stopped(Exception):
    """SIGTERM (or SIGINT) arrived: leave the ``with`` blocks, removing the copy."""


def _stop(signum: int, _frame: Any) -> None:
    raise Stopped(signum)


def run(db: str | None, host: str, port: int, allow_hosts: list[str] | None = None) -> None:
    """Build the copy in a temporary folder and serve it until interrupted; the copy is
    removed on SIGTERM and SIGINT as on any other exit (SIGKILL cannot be caught)."""
    import signal

    from kzdiplo.access import open_reader
    from kzdiplo.config import resolve, sqlite_path_of

    target = resolve(db)
    path = target.path or sqlite_path_of(target.url)
    if not target.is_sqlite or path is None:
        raise UsageError(
            "serve reads SQLite: for PostgreSQL run `kzdiplo export --format sqlite --out DIR`"
            " then `kzdiplo --db DIR/kzdiplo.db serve`"
        )
    try:
        import datasette  # noqa: F401  (only to fail early, in one line)
        import uvicorn
    except ImportError:
        raise KzError("serve needs the web extra: pip install 'kzdiplo[web]'") from None
    _check_port(host, port)  # before the database: a bad --host creates nothing
    open_reader(db).close()  # a missing, foreign or outdated database fails here, in one line
    # uvicorn catches both signals to shut down, then raises them again: these handlers
    # turn that into an exception, so the temporary folder below is removed.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        with tempfile.TemporaryDirectory(prefix="kzdiplo-serve-") as folder:
            served, meta, longest = _prepare(path, Path(folder))
            meta["plugins"] = {"kzdiplo": {"max_value_bytes": value_limit(longest)}}
            ds = make_datasette(served, meta, immutable=not served.is_symlink())
            asyncio.run(ds.invoke_startup())
            what = "the database read-only" if served.is_symlink() else "a read-only copy"
            print(f"kzdiplo: serving {what} at http://{host}:{port}/", file=sys.stderr)
            app = HostGuard(ds.app(), served_hosts(host, allow_hosts))
            uvicorn.run(app, host=host, port=port, log_level="warning")
    except Stopped:
        print("kzdiplo: stopped; the temporary folder is removed", file=sys.stderr)


def _prepare(path: Path, folder: Path) -> tuple[Path, dict[str, Any], int]:
    """The file to serve (a link to ``path`` when its browse tables are fresh, else a
    copy with them rebuilt), its metadata and its longest value's size: a bounded number
    of statements when fresh, whatever the size of the data."""
    served = link_to(path, folder)
    longest = _fresh(served)
    if longest is None:
        print(
            "kzdiplo: the browse tables are out of date (data written outside kzdiplo "
            "load): rebuilding them in a temporary copy; `kzdiplo db upgrade` rebuilds "
            "them in the database",
            file=sys.stderr,
        )
        served.unlink()
        served = build_copy(path, folder)
        longest = _fresh(served)
        if longest is None:
            raise KzError("the browse tables could not be rebuilt")
    reader = SqliteReader(served)
    try:
        return served, metadata(reader), longest
    finally:
        reader.close()


def _fresh(path: Path) -> int | None:
    """The longest value's size of ``path`` when its browse tables are fresh, else None."""
    from kzdiplo import browse

    reader = SqliteReader(path)
    try:
        return browse.fresh_limit(reader)
    finally:
        reader.close()


def write_descriptions() -> None:
    """Rewrite DESCRIPTIONS from the models (run after changing a table or a comment)."""
    from kzdiplo.export import table_descriptions

    text = json.dumps(table_descriptions(), indent=1, ensure_ascii=False, sort_keys=True)
    Path(__file__).with_name(DESCRIPTIONS).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_descriptions()
