"""``kzdiplo report``: the database as a folder of static pages that opens from file://.

Everything the pages need is inside the folder: one stylesheet, a few lines of our own
JavaScript for the search box, the search index as scripts (``fetch`` of a file:// URL
is blocked by browsers, a ``<script src>`` is not) and charts as inline HTML and SVG. No
request leaves the machine. The folder records what it wrote in ``MARKER``, so a rerun
replaces its own pages and a folder holding files of others needs ``--force``.

The report is written in one pass over the records that holds a batch at a time, so its
time grows with the records and its memory does not (issue 27: the report that collected
every record first took 512 MiB and 21x ``export -f json`` at 20,000 agreements):

* each kind's records are read ``BATCH`` at a time (``Reader.batches``), in the
  listing's order, and each record's page is written as it is read;
* the lists of records are pages of ``PAGE_SIZE`` rows with previous and next links;
* the search index is split into small files (``web/searchshards.py``);
* the index page stays the same size at any scale: money by partner from the ledger's
  totals, a timeline of at most ``TIMELINE_MAX`` events and a map of at most
  ``MAP_MAX`` places, each chosen by SQL, and counts from ``count(*)``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from html import escape
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzdiplo import __version__, display, licence
from kzdiplo.entities import ENTITIES, Entity
from kzdiplo.fields import COORDINATES, DATE
from kzdiplo.queries import attach, order_by, partner_totals, referrers, select, shape
from kzdiplo.reader import Reader, in_list
from kzdiplo.web import svg
from kzdiplo.web.pages import SITES, label_of, map_html, record_body
from kzdiplo.web.searchshards import SearchShards, keys_script

if TYPE_CHECKING:
    from kzdiplo.files import FolderWriter

MARKER = ".kzdiplo-report"
BATCH = 500  # records read from the database, and held, at a time
PAGE_SIZE = 200  # rows of a list page
PREVIEW = 10  # records of each kind named on the index page
TIMELINE_MAX = 400  # events drawn on the index's timeline (the most recent)
UNDATED_MAX = 50  # undated events named on the index
MAP_MAX = 1000  # placed records drawn on the index's map, and unplaced sites named
_SAFE = re.compile(r"[^a-z0-9._-]+")


def page_name(noun: str, slug: str) -> str:
    """The record page's file name (slugs are already safe; this keeps it so)."""
    return f"{noun}-{_SAFE.sub('_', slug.lower())}.html"


def list_name(noun: str, number: int) -> str:
    """The file of page ``number`` (from 1) of the list of ``noun``'s records."""
    return f"lists/{noun}-{number}.html"


def list_pages(count: int) -> int:
    """How many list pages ``count`` records take (an empty kind still has one page)."""
    return max(1, math.ceil(count / PAGE_SIZE))


def _page(title: str, body: str, root: str) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<link rel="stylesheet" href="{root}static/report.css"></head><body>'
        f'<header><a href="{root}index.html">kzdiplo</a> · Kazakhstan\'s 2025 diplomacy, '
        "every fact with its source</header>"
        f"<main>{body}</main><footer>kzdiplo {escape(__version__)} · {escape(licence.LICENCE)}; "
        f"code: {licence.CODE_LICENCE}</footer></body></html>\n"
    )


def _record_href(noun: str, slug: str) -> str:
    """A record's page, from the index."""
    return "records/" + page_name(noun, slug)


# --- reading --------------------------------------------------------------------------


def count_records(reader: Reader, noun: Entity, where: str = "1 = 1") -> int:
    """How many records of ``noun`` match ``where`` (its table is ``t``)."""
    return int(reader.rows(f"SELECT count(*) AS n FROM {noun.table} t WHERE {where}")[0]["n"])


def _linked(reader: Reader, noun: Entity, records: list[dict[str, Any]]) -> None:
    """Each record's ``linked`` records (its parts, the deals of an agreement...), for a
    whole batch in one query per kind of link."""
    by_id = {r["id"]: r for r in records}
    for r in records:
        r["linked"] = {}
    for label, other, column in referrers(reader, noun):
        for r in records:
            r["linked"][label] = []
        params: dict[str, Any] = {}
        rows = reader.rows(
            f"SELECT {column} AS rid, '{other.name}' AS noun, slug, {other.label} AS title "
            f"FROM {other.table} WHERE {column} IN {in_list('id', list(by_id), params)} "
            "ORDER BY slug",
            params,
        )
        for row in rows:
            by_id[row.pop("rid")]["linked"][label].append(row)


def stream_records(
    reader: Reader, noun: Entity, batch: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """Every record of ``noun`` in the listing's order, ``batch`` at a time, each with
    what its page shows (partners, sectors, citations, stages, linked records): one
    query read as it goes, plus a few batched queries per batch."""
    sql = f"{select(reader, noun)}\nORDER BY {order_by(noun, None)}"
    for rows in reader.batches(sql, size=batch or BATCH):
        records = attach(reader, noun, [shape(noun, r) for r in rows])
        _linked(reader, noun, records)
        yield records


def _some(
    reader: Reader, noun: Entity, where: str, limit: int, params: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` records of ``noun`` matching ``where``, in the listing's order."""
    sql = f"{select(reader, noun)}\nWHERE {where}\nORDER BY {order_by(noun, None)}\nLIMIT {limit}"
    return attach(reader, noun, [shape(noun, r) for r in reader.rows(sql, params)])


def timeline_events(reader: Reader) -> tuple[list[dict[str, Any]], int]:
    """The ``TIMELINE_MAX`` most recent dated events, earliest first, and how many
    events are dated in all."""
    events = ENTITIES["event"]
    start = f"t.{DATE.names['start']}"
    dated = count_records(reader, events, f"{start} IS NOT NULL")
    params: dict[str, Any] = {}
    recent = [
        r["id"]
        for r in reader.rows(
            f"SELECT t.id FROM events t WHERE {start} IS NOT NULL "
            f"ORDER BY {start} DESC, t.id DESC LIMIT {TIMELINE_MAX}"
        )
    ]
    where = f"t.id IN {in_list('e', recent, params)}"
    return _some(reader, events, where, TIMELINE_MAX, params), dated


# --- the pages ------------------------------------------------------------------------


def _item(noun: str, r: dict[str, Any], root: str) -> str:
    """A record in a list: its name linked to its page, its date when it has one, ⚠ if
    disputed."""
    when = f" · {escape(display.partial_date(r['date']))}" if r.get("date") else ""
    disputed = " ⚠" if r.get("disputes") else ""
    return (
        f'<li><a href="{root}{_record_href(noun, r["slug"])}">{escape(label_of(r))}</a>'
        f"{when}{disputed}</li>"
    )


def _nav(noun: Entity, number: int, pages: int) -> str:
    """Previous and next links of a list page, with where it stands."""
    links = []
    if number > 1:
        links.append(f'<a rel="prev" href="{noun.name}-{number - 1}.html">← previous</a>')
    links.append(f"<span>page {number} of {pages}</span>")
    if number < pages:
        links.append(f'<a rel="next" href="{noun.name}-{number + 1}.html">next →</a>')
    return f'<nav class="pages">{" · ".join(links)}</nav>'


def list_page(noun: Entity, number: int, pages: int, count: int, items: list[str]) -> str:
    first = (number - 1) * PAGE_SIZE + 1
    title = f"{noun.plural.capitalize()} ({count})"
    rows = f'<ol start="{first}" class="records">{"".join(items)}</ol>'
    if not items:
        rows = f"<p>No {escape(noun.plural)}.</p>"
    nav = _nav(noun, number, pages)
    return _page(f"{title}, page {number}", f"<h1>{escape(title)}</h1>{nav}{rows}{nav}", "../")


def record_page(noun: str, r: dict[str, Any]) -> str:
    body = f"<h1>{escape(label_of(r))}</h1>" + record_body(r, noun, page_name)
    return _page(label_of(r), body, "../")


def _search_text(r: dict[str, Any]) -> str:
    """What the search finds a record by besides its title: aliases, summary, partners
    and what its citations say."""
    words = [" ".join(r.get("aliases") or []), r.get("summary") or ""]
    words += [p["name"] + " " + p["key"] for p in r.get("partners", [])]
    words += [c.get("quote") or c.get("summary") or "" for c in r.get("sources", [])]
    return " ".join(w for w in words if w)


def _timeline_section(reader: Reader) -> list[str]:
    events, dated = timeline_events(reader)

    def href(r: dict[str, Any]) -> str:
        return _record_href("event", r["slug"])

    shown = (
        f"<p>The {len(events)} most recent of {dated} dated events; every event is in "
        f'<a href="{list_name("event", 1)}">the list of events</a>.</p>'
        if len(events) < dated
        else ""
    )
    undated = _some(reader, ENTITIES["event"], f"t.{DATE.names['start']} IS NULL", UNDATED_MAX)
    out = [
        '<section id="timeline"><h2>Timeline</h2>'
        "<p>Each bar runs from the first to the last day a date may fall on: a date known "
        "only to the year spans the year; the precision is written beside it. The year "
        "with the most events takes most of the width; the years before and after it are "
        "folded into narrow stretches.</p>",
        shown,
        svg.timeline(events, href),
        "<details><summary>The timeline as a table</summary>"
        f"{svg.timeline_table(events, href)}</details>",
    ]
    if undated:
        items = "".join(f'<li><a href="{href(e)}">{escape(label_of(e))}</a></li>' for e in undated)
        total = len(undated)
        if len(undated) == UNDATED_MAX:
            total = count_records(reader, ENTITIES["event"], f"t.{DATE.names['start']} IS NULL")
        some = f" (the first {len(undated)} of {total})" if total > len(undated) else ""
        out.append(f"<p>Undated events{some}:</p><ul>{items}</ul>")
    out.append("</section>")
    return out


def _money_section(partners: list[dict[str, Any]]) -> list[str]:
    unpriced = sum(p["unpriced_deals"] for p in partners)
    rows = "".join(
        f"<tr><td>{escape(p['name'])} ({escape(p['key'])})</td>"
        f"<td>{escape(display.usd_total(p['usd_from_partner']))}</td>"
        f"<td>{escape(display.usd_total(p['usd_to_partner']))}</td>"
        f"<td>{escape('; '.join(display.not_own(p)) or display.UNKNOWN)}</td>"
        f"<td>{p['unpriced_deals']}</td><td>{p['agreements']}</td>"
        f"<td>{escape(', '.join(display.stage(s) for s in p['by_stage']))}</td></tr>"
        for p in partners
    )
    return [
        '<section id="money"><h2>Money by partner</h2>'
        "<p>Each partner's own money in US dollars, as the money_flows ledger credits it: "
        "what it pays (investor, financier, co-financier, acquirer) or receives "
        "(recipient, beneficiary) when it is alone on its side of a deal or a source "
        "states its share, each deal once. Not drawn, and listed in the table's "
        "<q>Not its own</q> column with their whole amounts: sums paid with others or "
        "received with other states with no split stated (regional money is not a "
        "member's own), targets and ceilings, and deals with no stated direction. A range "
        "is drawn low to high; a hollow mark and ≈ mean the source says <q>nearly</q> or "
        f"<q>about</q>. {unpriced} deal(s) have no amount in any source and are counted, "
        "not drawn. Colour is the stage.</p>",
        svg.money(partners),
        svg.stage_legend(),
        f"<details><summary>The chart as a table</summary>{svg.money_table(partners)}</details>",
        "<h3>Totals by partner</h3>",
        '<div class="scroll"><table class="totals"><thead><tr><th>Partner</th><th>From partner</th>'
        "<th>To partner</th><th>Not its own (whole sums)</th><th>Unpriced deals</th>"
        "<th>Agreements</th><th>Stages</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></div></section>",
    ]


def _map_section(reader: Reader) -> str:
    """Records with coordinates (and the sites without), chosen by SQL, at most
    ``MAP_MAX`` of each kind; what is left out is counted and said."""
    latitude = COORDINATES.names["latitude"]
    located: list[tuple[str, dict[str, Any]]] = []
    left_out = []
    for name, noun in ENTITIES.items():
        wheres = [f"t.{latitude} IS NOT NULL"] if noun.placed else []
        wheres += [f"t.{latitude} IS NULL"] if noun.placed and name in SITES else []
        for where in wheres:
            chosen = _some(reader, noun, where, MAP_MAX)
            located += [(name, r) for r in chosen]
            if len(chosen) == MAP_MAX and (total := count_records(reader, noun, where)) > MAP_MAX:
                left_out.append(f"{MAP_MAX} of {total} {noun.plural}")
    note = (
        f"<p>Shown here: the first {'; '.join(left_out)} (in the order of their lists); "
        "each has its page in the lists below.</p>"
        if left_out
        else ""
    )
    return f'<section id="map"><h2>Map</h2>{note}{map_html(located, _record_href)}</section>'


def _records_section(counts: dict[str, int], previews: dict[str, list[str]]) -> str:
    out = ['<section id="records"><h2>Every record</h2>']
    for name, noun in ENTITIES.items():
        count = counts[name]
        pages = list_pages(count)
        out.append(f"<h3>{escape(noun.plural.capitalize())} ({count})</h3>")
        out.append(f"<ul>{''.join(previews[name])}</ul>")
        out.append(
            f'<p class="all"><a href="{list_name(name, 1)}">All {count} {escape(noun.plural)}'
            f"</a> ({pages} page{'s' if pages > 1 else ''} of up to {PAGE_SIZE})</p>"
        )
    out.append("</section>")
    return "".join(out)


def _index(reader: Reader, counts: dict[str, int], previews: dict[str, list[str]]) -> str:
    body = [
        "<h1>Kazakhstan's 2025 diplomacy</h1>",
        '<section id="search"><h2>Search</h2>'
        '<input id="q" type="search" placeholder="tungsten, Washington, EU…" '
        'aria-label="Search every record"><ol id="results"></ol>'
        "<noscript>Search needs JavaScript; every record is in the lists below.</noscript>"
        "</section>",
        *_timeline_section(reader),
        *_money_section(partner_totals(reader)),
        _map_section(reader),
        _records_section(counts, previews),
        '<script src="search-index.js"></script><script src="static/search.js"></script>',
    ]
    return _page("kzdiplo report", "\n".join(body), "")


# --- writing --------------------------------------------------------------------------


class _Lists:
    """The list pages of one kind, each written when its ``PAGE_SIZE`` rows are in."""

    def __init__(self, folder: FolderWriter, noun: Entity, count: int) -> None:
        self.folder, self.noun, self.count = folder, noun, count
        self.pages = list_pages(count)
        self.number = 1
        self.items: list[str] = []
        self.preview: list[str] = []

    def add(self, r: dict[str, Any]) -> None:
        if len(self.preview) < PREVIEW:
            self.preview.append(_item(self.noun.name, r, ""))
        self.items.append(_item(self.noun.name, r, "../"))
        if len(self.items) == PAGE_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.items or self.number == 1:
            page = list_page(self.noun, self.number, self.pages, self.count, self.items)
            self.folder.write_text(list_name(self.noun.name, self.number), page)
            self.number, self.items = self.number + 1, []


def write_report(reader: Reader, out: Path, force: bool = False) -> int:
    """Write the report into ``out`` through the one folder writer (staged beside it and
    swapped in whole, no link followed, only its own earlier pages removed); returns the
    number of files written."""
    from kzdiplo.files import folder_writer

    database = getattr(reader, "path", None)
    with folder_writer(out, MARKER, who="kzdiplo report", database=database,
                       force=force) as folder:  # fmt: skip
        shards = SearchShards(folder.write_text)
        try:
            counts, previews = {}, {}
            for name, noun in ENTITIES.items():
                counts[name] = count_records(reader, noun)
                lists = _Lists(folder, noun, counts[name])
                for batch in stream_records(reader, noun):
                    for r in batch:
                        href = _record_href(name, r["slug"])
                        folder.write_text(href, record_page(name, r))
                        lists.add(r)
                        shards.add(label_of(r), name, href, _search_text(r))
                lists.flush()
                previews[name] = lists.preview
            folder.write_text("search-index.js", keys_script(shards.finish()))
        finally:
            shards.close()
        folder.write_text("index.html", _index(reader, counts, previews))
        static = resources.files("kzdiplo.web") / "static"
        for name in ("report.css", "search.js"):
            folder.write_text(f"static/{name}", (static / name).read_text(encoding="utf-8"))
        return folder.count
