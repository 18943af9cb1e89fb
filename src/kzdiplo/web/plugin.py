"""The Datasette plugin serve registers: record pages, search with links, a map, links.

Registered by ``kzdiplo serve`` itself (not through an entry point), so other Datasette
instances on the machine are left as they were. Pages read the served immutable copy
through kzdiplo's own queries, so they show what ``kzdiplo show`` shows.
"""

from __future__ import annotations

import re
import sqlite3
from html import escape
from pathlib import Path
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import Markup

from kzdiplo.errors import KzError
from kzdiplo.reader import SqliteReader
from kzdiplo.web import svg
from kzdiplo.web.pages import label_of, record_body

RECORD = "/-/kzdiplo/record/{noun}/{slug}"


def _href(noun: str, slug: str) -> str:
    return RECORD.format(noun=noun, slug=slug)


PAGE_SECONDS = 5.0  # kzdiplo's own pages: its own indexed queries, with the user's words


def _reader(datasette: Any) -> SqliteReader:
    """A reader on the served copy for one page, within the same SQLite limits as
    Datasette's connections and stopped after PAGE_SECONDS (the pages run on the event
    loop: a page that ran on would hold every other request)."""
    import time

    from kzdiplo.adhoc import limit_connection, stop_at
    from kzdiplo.web.serve import DATABASE

    reader = SqliteReader(Path(datasette.get_database(DATABASE).path))
    limit_connection(reader.conn, _max_value_bytes(datasette))
    stop_at(reader.conn, time.monotonic() + PAGE_SECONDS)
    return reader


def _max_value_bytes(datasette: Any) -> int:
    config = datasette.plugin_config("kzdiplo") or {}
    return int(config.get("max_value_bytes", 1_000_000))


async def _page(datasette: Any, request: Any, title: str, body: str, status: int = 200) -> Any:
    html = await datasette.render_template(
        "kzdiplo_page.html", {"page_title": title, "body": Markup(body)}, request=request
    )
    return Response.html(html, status=status)


async def record_view(datasette: Any, request: Any) -> Any:
    """Every field, citation (with its kind) and discrepancy (both sides) of a record."""
    from kzdiplo import queries
    from kzdiplo.resolve import resolve_partner

    noun, slug = request.url_vars["noun"], request.url_vars["slug"]
    reader = _reader(datasette)
    try:
        if noun == "partner":
            record = queries.get_partner(reader, resolve_partner(reader, slug))
            record["slug"] = record["key"]
            linked = record.pop("records")
            record["linked"] = {"records": [dict(r, title=f"{r['title']} ({r['role']})")
                                            for r in linked]}  # fmt: skip
        else:
            record = queries.get_record(reader, queries.noun_named(noun), slug)
    except KzError as exc:
        return await _page(datasette, request, "Not found", f"<p>{escape(str(exc))}</p>", 404)
    finally:
        reader.close()
    body = f"<h1>{escape(label_of(record))}</h1>" + record_body(record, noun, _href)
    return await _page(datasette, request, label_of(record), body)


_MARK = re.compile(r"\[([^\[\]]*)\]")


def _highlight(snippet: str | None) -> str:
    """The search's [matched] words as <mark>, everything else escaped."""
    return _MARK.sub(r"<mark>\1</mark>", escape(snippet or ""))


async def search_view(datasette: Any, request: Any) -> Any:
    """Every record matching all the words, best first, each linked to its page, with
    the matching words highlighted."""
    from kzdiplo import queries

    text = request.args.get("q", "").strip()
    form = (
        '<form action="/-/kzdiplo/search"><input type="search" name="q" '
        f'value="{escape(text)}" aria-label="Search"> <button>Search</button></form>'
    )
    if not text:
        return await _page(datasette, request, "Search", "<h1>Search</h1>" + form)
    reader = _reader(datasette)
    try:
        found = queries.search(reader, text, limit=50)
    except KzError as exc:
        return await _page(datasette, request, "Search", form + f"<p>{escape(str(exc))}</p>")
    except sqlite3.Error:  # stopped at PAGE_SECONDS, or over the SQLite limits
        message = "<p>This search took too long or needed too much memory: use fewer words.</p>"
        return await _page(datasette, request, "Search", form + message, status=400)
    finally:
        reader.close()
    items = "".join(
        f'<li><a href="{escape(_href(r["noun"], r["key"]))}">{escape(r["title"])}</a> '
        f'({escape(r["noun"])}) <span class="snippet">'
        f"{_highlight(r['snippet'])}</span></li>"
        for r in found
    )
    body = f'<h1>Search</h1>{form}<p>{len(found)} record(s)</p><ol class="results">{items}</ol>'
    return await _page(datasette, request, f"Search: {text}", body)


async def map_view(datasette: Any, request: Any) -> Any:
    """Placed deposits and projects on a grid; the unplaced listed, not dropped."""
    from kzdiplo import queries
    from kzdiplo.entities import ENTITIES

    reader = _reader(datasette)
    try:
        places = []
        # Deposits and projects, as in the report: the map is Kazakhstan's frame, and most
        # events with a point are abroad (their points: ``kzdiplo events -f geojson``).
        for entity in (ENTITIES["deposit"], ENTITIES["project"]):
            for r in queries.list_records(reader, entity, queries.Filters(limit=None)).records:
                places.append((entity.name, r))
    finally:
        reader.close()
    nouns = {id(r): n for n, r in places}
    records = [r for _, r in places]
    unplaced = "".join(
        f'<li><a href="{escape(_href(nouns[id(r)], r["slug"]))}">{escape(label_of(r))}</a>: '
        f"{escape(r.get('location') or 'no place in any source')}</li>"
        for r in records
        if not r.get("coordinates")
    )
    body = (
        "<h1>Map</h1>"
        + svg.place_map(records, lambda r: _href(nouns[id(r)], r["slug"]))
        + f"<h2>Not placed</h2><ul>{unplaced}</ul>"
    )
    return await _page(datasette, request, "Map", body)


@hookimpl
def register_routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/kzdiplo/record/(?P<noun>[a-z]+)/(?P<slug>[^/]+)$", record_view),
        (r"^/-/kzdiplo/search$", search_view),
        (r"^/-/kzdiplo/map$", map_view),
    ]


@hookimpl
def render_cell(value: Any, column: str, table: str | None, row: Any) -> Any:
    """Record pages as links: the ``page`` column anywhere, a title in ``records``."""
    if column == "page" and isinstance(value, str) and value.startswith("/-/kzdiplo/record/"):
        return Markup(f'<a href="{escape(value)}">record page</a>')
    if table == "records" and column == "title" and row is not None:
        try:
            return Markup(f'<a href="{escape(row["page"])}">{escape(str(value))}</a>')
        except (KeyError, IndexError):
            return None
    return None


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
