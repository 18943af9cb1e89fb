"""The Datasette plugin serve registers: record pages, search with links, a map, links.

Registered by ``kzdiplo serve`` itself (not through an entry point), so other Datasette
instances on the machine are left as they were. Pages read the served immutable copy
through kzdiplo's own queries, so they show what ``kzdiplo show`` shows.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any, TypeVar, cast

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from kzdiplo.adhoc import stop_at
from kzdiplo.errors import KzError
from kzdiplo.reader import Reader, SqliteReader
from kzdiplo.web.pages import RECORD_PREFIX, label_of, map_html, record_body, record_url

T = TypeVar("T")
PAGE_SECONDS = 5.0  # kzdiplo's own pages: its own indexed queries, with the user's words


class _Borrowed(SqliteReader):
    """A reader on one of Datasette's own connections to the served file, for one page:
    within the same SQLite limits (the plugin's prepare_connection), its schema already
    read (a fresh connection spent about 7 ms parsing kzdiplo's schema before its first
    row: most of a record page), and stopped after PAGE_SECONDS."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        Reader.__init__(self)
        self.path = path
        self.conn = conn
        stop_at(conn, time.monotonic() + PAGE_SECONDS)

    def close(self) -> None:
        """The connection stays Datasette's: only the page's deadline is taken off (each
        of Datasette's queries sets its own)."""
        self.conn.set_progress_handler(None, 0)


async def _read(datasette: Any, fn: Callable[..., T], *args: Any) -> T:
    """``fn(reader, *args)`` on a Datasette connection in one of its SQL threads, off
    the event loop as Datasette's own pages are: one page's queries never hold every
    other request."""
    db = datasette.get_database()

    def work(conn: sqlite3.Connection) -> T:
        reader = _Borrowed(conn, Path(db.path))
        try:
            return fn(reader, *args)
        finally:
            reader.close()

    return cast(T, await db.execute_fn(work))


def _max_value_bytes(datasette: Any) -> int:
    config = datasette.plugin_config("kzdiplo") or {}
    return int(config.get("max_value_bytes", 1_000_000))


async def _page(datasette: Any, request: Any, title: str, body: str, status: int = 200) -> Any:
    context = {"page_title": title, "body": Markup(body), "metadata": datasette.metadata()}
    html = await datasette.render_template("kzdiplo_page.html", context, request=request)
    return Response.html(html, status=status)


def _record(reader: Reader, noun: str, slug: str) -> dict[str, Any]:
    """The record (or partner) ``noun``/``slug`` as kzdiplo show gives it."""
    from kzdiplo import queries
    from kzdiplo.resolve import resolve_partner

    if noun == "partner":
        record = queries.get_partner(reader, resolve_partner(reader, slug))
        record["slug"] = record["key"]
        linked = record.pop("records")
        record["linked"] = {"records": [dict(r, title=f"{r['title']} ({r['role']})")
                                        for r in linked]}  # fmt: skip
        return record
    return queries.get_record(reader, queries.noun_named(noun), slug)


async def record_view(datasette: Any, request: Any) -> Any:
    """Every field, citation (with its kind) and discrepancy (both sides) of a record."""
    noun, slug = request.url_vars["noun"], request.url_vars["slug"]
    try:
        record = await _read(datasette, _record, noun, slug)
    except KzError as exc:
        return await _page(datasette, request, "Not found", f"<p>{escape(str(exc))}</p>", 404)
    body = f"<h1>{escape(label_of(record))}</h1>" + record_body(record, noun, record_url)
    return await _page(datasette, request, label_of(record), body)


_MARK = re.compile(r"\[([^\[\]]*)\]")


def _highlight(snippet: str | None) -> str:
    """The search's [matched] words as <mark>, everything else escaped."""
    return _MARK.sub(r"<mark>\1</mark>", escape(snippet or ""))


def _search(reader: Reader, text: str) -> list[dict[str, Any]]:
    from kzdiplo import queries

    return queries.search(reader, text, limit=50)


async def search_view(datasette: Any, request: Any) -> Any:
    """Every record matching all the words, best first, each linked to its page, with
    the matching words highlighted."""
    text = request.args.get("q", "").strip()
    form = (
        '<form action="/-/kzdiplo/search"><input type="search" name="q" '
        f'value="{escape(text)}" aria-label="Search"> <button>Search</button></form>'
    )
    if not text:
        return await _page(datasette, request, "Search", "<h1>Search</h1>" + form)
    try:
        found = await _read(datasette, _search, text)
    except KzError as exc:
        return await _page(datasette, request, "Search", form + f"<p>{escape(str(exc))}</p>")
    except sqlite3.Error:  # stopped at PAGE_SECONDS, or over the SQLite limits
        message = "<p>This search took too long or needed too much memory: use fewer words.</p>"
        return await _page(datasette, request, "Search", form + message, status=400)
    items = "".join(
        f'<li><a href="{escape(record_url(r["noun"], r["key"]))}">{escape(r["title"])}</a> '
        f'({escape(r["noun"])}) <span class="snippet">'
        f"{_highlight(r['snippet'])}</span></li>"
        for r in found
    )
    body = f'<h1>Search</h1>{form}<p>{len(found)} record(s)</p><ol class="results">{items}</ol>'
    return await _page(datasette, request, f"Search: {text}", body)


async def map_view(datasette: Any, request: Any) -> Any:
    """Every record with coordinates on a map and in a table (or a sentence: none), and
    the deposits and projects no source places."""
    body = "<h1>Map</h1>" + map_html(await _read(datasette, _records), record_url)
    return await _page(datasette, request, "Map", body)


def _records(reader: Reader) -> list[tuple[str, dict[str, Any]]]:
    """(noun, record) for every record of a kind a source may place (the map draws no
    other), in the registry's order: a million agreements are never read for it."""
    from kzdiplo import queries
    from kzdiplo.entities import ENTITIES

    return [
        (entity.name, r)
        for entity in ENTITIES.values()
        if entity.placed
        for r in queries.list_records(reader, entity, queries.Filters(limit=None)).records
    ]


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (rf"^{RECORD_PREFIX}(?P<noun>[a-z]+)/(?P<slug>[^/]+)$", record_view),
        (r"^/-/kzdiplo/search$", search_view),
        (r"^/-/kzdiplo/map$", map_view),
    ]


# Columns of US dollar amounts (usd_low, deal_usd_high, usd_from_low...; not usd_rate)
USD_COLUMN = re.compile(r"usd_(from_|to_)?(low|high)$")
LONG_TEXT = 100  # a longer text cell shows its first PREVIEW characters, the rest on a click
PREVIEW = 60


def _long_text(value: str) -> Markup:
    """A long cell cut to its start, the whole text one click away (keeps rows short)."""
    cut = value[:PREVIEW].rsplit(" ", 1)[0]
    return Markup(
        f'<details class="long"><summary>{escape(cut)}…</summary>{escape(value)}</details>'
    )


@hookimpl
def render_cell(value: Any, column: str, table: str | None, row: Any) -> Any:
    """Record pages as links (the ``page`` column anywhere, a title in ``records``),
    US dollar columns as money ("$30.1 bn", the exact figure in its tooltip), and long
    texts cut with the rest one click away."""
    from kzdiplo.display import money

    if column == "page" and isinstance(value, str) and value.startswith(RECORD_PREFIX):
        return Markup(f'<a href="{escape(value)}">record page</a>')
    if table == "records" and column == "title" and row is not None:
        try:
            return Markup(f'<a href="{escape(row["page"])}">{escape(str(value))}</a>')
        except (KeyError, IndexError):
            return None
    if USD_COLUMN.search(column) and isinstance(value, int | float) and not isinstance(value, bool):
        shown = money(round(value), round(value), "USD")
        return Markup(f'<span class="money" title="{value:,}">{escape(shown)}</span>')
    if table == "records" and isinstance(value, str) and value.startswith("["):
        return _list_cell(value)
    if isinstance(value, str) and len(value) > LONG_TEXT:
        return _long_text(value)
    return None


SHORT_LIST = 4  # items a list cell shows before the rest is folded


def _list_cell(value: str) -> Any:
    """A JSON array of the ``records`` table as a short comma list (its facets stay on
    the array), the items past SHORT_LIST one click away."""
    import json

    try:
        items = [str(v) for v in json.loads(value)]
    except (ValueError, TypeError):
        return None
    shown = escape(", ".join(items[:SHORT_LIST]))
    if len(items) <= SHORT_LIST:
        return Markup(f'<span class="list">{shown}</span>')
    return Markup(
        f'<details class="long"><summary><span class="list">{shown}</span> '
        f"+{len(items) - SHORT_LIST}</summary>{escape(', '.join(items))}</details>"
    )


# The home page's figures from the kept counts: records of each kind, records placed on
# the map (of each kind) and how many partners take part in any record.
HOME_COUNTS = (
    "SELECT facet, value, count FROM records_counts WHERE noun IS NULL AND facet IN "
    "('noun', 'placed') UNION ALL SELECT 'partners', NULL, count(*) FROM records_counts "
    "WHERE noun IS NULL AND facet = 'partners'"
)
# The home page's sections: the kinds of record people come for, in the order they ask.
HOME_NOUNS = ("agreement", "deal", "event", "deposit", "project")


@hookimpl
def extra_template_vars(template: str, datasette: Any, request: Any) -> Any:
    """The home page's figures: records of each kind, partners, placed records (read
    from the counts each load keeps: a few rows at any size) and the canned queries
    (the questions people ask), so it leads with the data."""
    if template != "index.html":
        return None

    async def home() -> dict[str, Any]:
        from kzdiplo.entities import ENTITIES

        db = datasette.get_database()
        rows = (await db.execute(HOME_COUNTS)).rows  # one query: one trip to a SQL thread
        counts = {r["value"]: r["count"] for r in rows if r["facet"] == "noun"}
        partners = sum(r["count"] for r in rows if r["facet"] == "partners")
        placed = sum(r["count"] for r in rows if r["facet"] == "placed")
        queries = await datasette.get_canned_queries(db.name, request.actor if request else None)
        return {
            "kzdiplo_home": {
                "database": db.name,
                "kinds": [(ENTITIES[n].plural, n, counts.get(n, 0)) for n in HOME_NOUNS],
                "partners": partners,
                "placed": placed,
                "questions": list(queries.values()),
            }
        }

    return home


@hookimpl(hookwrapper=True)
def register_facet_classes() -> Any:
    """Datasette's column and array facets replaced by kzdiplo.web.facets' (the same,
    reading the counts the load keeps for the records table)."""
    from kzdiplo.web.facets import REPLACES

    outcome = yield
    classes = [[REPLACES.get(c, c) for c in group] for group in outcome.get_result()]
    outcome.force_result(classes)


@hookimpl
def prepare_connection(conn: Any, database: str, datasette: Any) -> None:
    """Every Datasette connection gets sql's SQLite limits (value and query size, heap,
    LIKE patterns), linear versions of the built-ins that one call can spend minutes in
    (Datasette's time limit is a progress handler, which such a call never reaches) and
    a budget for the bytes of one query's rows."""
    from kzdiplo.adhoc import limit_connection, linear_functions, result_budget

    max_value_bytes = _max_value_bytes(datasette)
    limit_connection(conn, max_value_bytes)
    linear_functions(conn, max_value_bytes)
    if database != "_internal":  # Datasette's own catalogue: its rows are its business
        result_budget(conn)
