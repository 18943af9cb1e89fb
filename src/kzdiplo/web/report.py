"""``kzdiplo report``: the database as a folder of static pages that opens from file://.

Everything the pages need is inside the folder: one stylesheet, a few lines of our own
JavaScript for the search box, the search index as a script (``fetch`` of a file:// URL
is blocked by browsers, a ``<script src>`` is not) and charts as inline SVG. No request
leaves the machine. The folder records what it wrote in ``MARKER``, so a rerun replaces
its own pages and a folder holding files of others needs ``--force``.
"""

from __future__ import annotations

import json
import re
from html import escape
from importlib import resources
from pathlib import Path
from typing import Any

from kzdiplo import __version__, display, licence
from kzdiplo.entities import ENTITIES
from kzdiplo.queries import Filters, get_record, list_records, partner_totals
from kzdiplo.reader import Reader
from kzdiplo.web import svg
from kzdiplo.web.pages import label_of, map_html, record_body

MARKER = ".kzdiplo-report"
_SAFE = re.compile(r"[^a-z0-9._-]+")


def page_name(noun: str, slug: str) -> str:
    """The record page's file name (slugs are already safe; this keeps it so)."""
    return f"{noun}-{_SAFE.sub('_', slug.lower())}.html"


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


def collect(reader: Reader) -> dict[str, list[dict[str, Any]]]:
    """Every record of every noun in full (get_record: with linked records)."""
    out: dict[str, list[dict[str, Any]]] = {}
    for name, noun in ENTITIES.items():
        listed = list_records(reader, noun, Filters(limit=None)).records
        out[name] = [get_record(reader, noun, r["slug"]) for r in listed]
    return out


def _search_entry(noun: str, r: dict[str, Any]) -> dict[str, str]:
    words = [label_of(r), " ".join(r.get("aliases") or []), r.get("summary") or ""]
    words += [p["name"] + " " + p["key"] for p in r.get("partners", [])]
    words += [c.get("quote") or c.get("summary") or "" for c in r.get("sources", [])]
    return {
        "title": label_of(r),
        "noun": noun,
        "href": "records/" + page_name(noun, r["slug"]),
        "text": " ".join(w for w in words if w),
    }


def _index(records: dict[str, list[dict[str, Any]]], partners: list[dict[str, Any]]) -> str:
    nouns = {id(r): noun for noun, rs in records.items() for r in rs}

    def href(r: dict[str, Any]) -> str:
        return "records/" + page_name(nouns[id(r)], r["slug"])

    events = records["event"]
    undated = [e for e in events if not e.get("date")]
    body = [
        "<h1>Kazakhstan's 2025 diplomacy</h1>",
        '<section id="search"><h2>Search</h2>'
        '<input id="q" type="search" placeholder="tungsten, Washington, EU…" '
        'aria-label="Search every record"><ol id="results"></ol>'
        "<noscript>Search needs JavaScript; every record is listed below.</noscript></section>",
        '<section id="timeline"><h2>Timeline</h2>'
        "<p>Each bar runs from the first to the last day a date may fall on: a date known "
        "only to the year spans the year; the precision is written beside it. The year "
        "with the most events takes most of the width; the years before and after it are "
        "folded into narrow stretches.</p>",
        svg.timeline(events, href),
        "<details><summary>The timeline as a table</summary>"
        f"{svg.timeline_table(events, href)}</details>",
    ]
    if undated:
        items = "".join(f'<li><a href="{href(e)}">{escape(label_of(e))}</a></li>' for e in undated)
        body.append(f"<p>Undated events:</p><ul>{items}</ul>")
    body.append("</section>")
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
    body += [
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
    located = [(noun, r) for noun, rs in records.items() for r in rs]
    body.append(f'<section id="map"><h2>Map</h2>{map_html(located, _record_href)}</section>')
    body.append('<section id="records"><h2>Every record</h2>')
    for noun, rs in records.items():
        items = "".join(
            f'<li><a href="{href(r)}">{escape(label_of(r))}</a>'
            f"{' ⚠' if r.get('disputes') else ''}</li>"
            for r in rs
        )
        body.append(f"<h3>{escape(ENTITIES[noun].plural.capitalize())} ({len(rs)})</h3>")
        body.append(f"<ul>{items}</ul>")
    body.append("</section>")
    body.append('<script src="search-index.js"></script><script src="static/search.js"></script>')
    return _page("kzdiplo report", "\n".join(body), "")


def write_report(reader: Reader, out: Path, force: bool = False) -> list[str]:
    """Write the report into ``out`` through the one folder writer (staged beside it and
    swapped in whole, no link followed, only its own earlier pages removed); returns the
    files written (relative paths)."""
    from kzdiplo.files import folder_writer

    database = getattr(reader, "path", None)
    with folder_writer(out, MARKER, who="kzdiplo report", database=database,
                       force=force) as folder:  # fmt: skip
        records = collect(reader)
        partners = partner_totals(reader)
        folder.write_text("index.html", _index(records, partners))
        for noun, rs in records.items():
            for r in rs:
                body = f"<h1>{escape(label_of(r))}</h1>" + record_body(
                    r, noun, lambda n, s: page_name(n, s) if n in records else None
                )
                folder.write_text(
                    "records/" + page_name(noun, r["slug"]), _page(label_of(r), body, "../")
                )
        index = [_search_entry(noun, r) for noun, rs in records.items() for r in rs]
        script = "window.KZDIPLO_INDEX = " + json.dumps(index, ensure_ascii=False) + ";\n"
        folder.write_text("search-index.js", script)
        static = resources.files("kzdiplo.web") / "static"
        for name in ("report.css", "search.js"):
            folder.write_text(f"static/{name}", (static / name).read_text(encoding="utf-8"))
        return sorted(folder.written)
