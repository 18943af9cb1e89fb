"""HTML fragments shared by the static report and the Datasette record page.

Every value is escaped here; callers only wrap the fragments in a page. A citation is
shown by its kind: a verbatim quote in quotation marks, our own summary labelled as ours
and never in quotation marks; a discrepancy shows what the record says and what the
other source says, side by side.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from html import escape
from typing import Any

from kzdiplo import display
from kzdiplo.fields import FIELDS
from kzdiplo.safetext import web_link
from kzdiplo.web import svg

# Keys attach()/get_record() add that have their own section on the page, and the keys
# the page's heading and first line already show.
SECTIONED = ("id", "partners", "sectors", "sources", "discrepancies", "stages", "linked")
HEADED = ("slug", "title", "name", "summary", "source_count", "independent_sources",
          "disputes", "disputed_fields")  # fmt: skip
# The facts a record page opens with, in this order, when the record has them: how much,
# when, how far along, how many, what and where (the parties follow them).
FACTS = ("amount", "cost", "usd", "capacity", "date", "started", "completion", "stage",
         "status", "count", "kind", "commodity", "figure", "location", "coordinates")  # fmt: skip
SUMMARY_LABEL = "Our summary, not a quotation"
# The kinds of record that are places themselves: the map lists those it cannot draw.
SITES = ("deposit", "project")

# The address of a record's page in ``kzdiplo serve`` (the plugin's route, the derived
# ``records`` table's ``page`` column and the canned queries all build it from here).
RECORD_PREFIX = "/-/kzdiplo/record/"


def record_url(noun: str, slug: str) -> str:
    return f"{RECORD_PREFIX}{noun}/{slug}"


def label_of(record: dict[str, Any]) -> str:
    return str(record.get("title") or record.get("name") or record["slug"])


def value_html(key: str, value: Any) -> str:
    """One field as people read it, keeping a partial date's wording and precision."""
    if key == "stage":
        return escape(display.stage(value))  # "stage not recorded", not a blank
    if value is None or value == [] or value == "":
        return f'<span class="unknown">{display.UNKNOWN}</span>'
    if key in FIELDS and isinstance(value, dict):
        return FIELDS[key].html(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | dict):
        return escape(", ".join(map(str, value)) if isinstance(value, list) else json.dumps(value))
    return escape(str(value))


def said_html(citation: dict[str, Any]) -> str:
    """A quote as a quotation; a summary marked as ours (class ``summary``, no quotes)."""
    if "quote" in citation:
        return (
            '<blockquote class="quote"><span class="kind">Quote</span> '
            f"\u201c{escape(citation['quote'])}\u201d</blockquote>"
        )
    return (
        f'<p class="summary"><span class="kind ours">{SUMMARY_LABEL}:</span> '
        f"{escape(citation['summary'])}</p>"
    )


def source_html(s: dict[str, Any]) -> str:
    title = escape(s.get("title") or s.get("source") or "")
    url = web_link(s.get("url"))  # a javascript: URL in loaded data never becomes a link
    link = f'<a href="{escape(url)}" rel="noopener noreferrer">{title}</a>' if url else title
    meta = " · ".join(escape(str(v)) for v in (s.get("publisher"), s.get("published")) if v)
    return f'<span class="source">{link}{" — " + meta if meta else ""}</span>'


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _parties_html(record: dict[str, Any]) -> str:
    items = "".join(
        f"<li>{escape(p['name'])} (<code>{escape(p['key'])}</code>): "
        f"{escape(p['role'] or 'role not given')}</li>"
        for p in record["partners"]
    )
    return f'<ul class="partners">{items}</ul>'


def facts_html(record: dict[str, Any]) -> str:
    """The record's facts first (amount, dates, stage, parties, place), then its other
    stated fields, then the fields no source states on one line, so a page opens on what
    is known rather than on a column of dashes. A stage is a fact even when none is
    recorded (said so, not left blank)."""
    shown = [k for k in record if k not in SECTIONED and k not in HEADED]
    facts = [k for k in FACTS if k in shown and (k == "stage" or not _empty(record[k]))]
    rest = [k for k in shown if k not in facts and not _empty(record[k])]
    empty = [k for k in shown if k not in facts and _empty(record[k])]

    def rows(keys: list[str]) -> str:
        return "".join(f"<tr><th>{escape(k)}</th><td>{value_html(k, record[k])}</td></tr>"
                       for k in keys)  # fmt: skip

    parties = (
        f"<tr><th>parties</th><td>{_parties_html(record)}</td></tr>"
        if record.get("partners")
        else ""
    )
    out = [f'<table class="fields facts">{rows(facts)}{parties}</table>']
    if record.get("summary"):
        out.append(f'<p class="record-summary">{escape(record["summary"])}</p>')
    if rest:
        out.append(f'<h2>Other fields</h2><table class="fields">{rows(rest)}</table>')
    if empty:
        out.append(f'<p class="not-stated">Not stated: {escape(", ".join(empty))}</p>')
    return "\n".join(out)


def record_body(record: dict[str, Any], noun: str, href: Callable[[str, str], str | None]) -> str:
    """The facts of one record first, then its sectors, stages, linked records, every
    citation and discrepancy; ``href(noun, slug)`` links a linked record (None: no link)."""
    out = [f'<p class="noun">{escape(noun)} · <code>{escape(record["slug"])}</code></p>']
    if record.get("disputes"):
        out.append(
            f'<p class="disputed">⚠ Disputed: {record["disputes"]} disagreement(s) on '
            f"{escape(', '.join(record['disputed_fields']))} — both sides below.</p>"
        )
    out.append(facts_html(record))
    out.append(
        f'<p class="trust">{record.get("source_count", 0)} source(s), '
        f"{record.get('independent_sources', 0)} independent.</p>"
    )
    if record.get("sectors"):
        out.append(f"<p>Sectors: {escape(', '.join(record['sectors']))}</p>")
    if record.get("stages"):
        items = "".join(
            f"<li><strong>{escape(display.stage(s['stage']))}</strong> "
            f"{escape(display.partial_date(s['date']))}: {said_html(s)} {source_html(s)}</li>"
            for s in record["stages"]
        )
        out.append(f'<h2>Stages</h2><ul class="stages">{items}</ul>')
    linked = [(label, r) for label, rs in (record.get("linked") or {}).items() for r in rs]
    if linked:
        entries: list[str] = []
        for label, r in linked:
            target = href(r["noun"], r["slug"])
            name = escape(r["title"] or r["slug"])
            body = f'<a href="{escape(target)}">{name}</a>' if target else name
            entries.append(f"<li>{escape(label)}: {body}</li>")
        out.append(f"<h2>Linked records</h2><ul>{''.join(entries)}</ul>")
    citations = record.get("sources") or []
    items = "".join(
        f'<li class="citation" data-kind="{"quote" if "quote" in c else "summary"}">'
        f'<p class="field">Supports: {escape(c["field"] or "the record as a whole")}</p>'
        f"{said_html(c)}{source_html(c)}"
        f"{'<p class=note>' + escape(c['note']) + '</p>' if c.get('note') else ''}</li>"
        for c in citations
    )
    out.append(f'<h2>Citations ({len(citations)})</h2><ol class="citations">{items}</ol>')
    found = record.get("discrepancies") or []
    if found:
        items = "".join(
            f'<li class="discrepancy {escape(d["kind"])}"><p><strong>'
            f"{escape(d['kind'])}</strong> on <code>{escape(d['field'] or '—')}</code></p>"
            f'<div class="sides"><div><h3>This record says</h3><p>'
            f"{escape(d['record_says'] or '—')}</p></div>"
            f"<div><h3>{source_html(d)} says</h3><p>{escape(d['says'] or '—')}</p></div></div>"
            f"{'<p class=note>' + escape(d['note']) + '</p>' if d.get('note') else ''}</li>"
            for d in found
        )
        out.append(f'<h2>Discrepancies ({len(found)})</h2><ul class="discrepancies">{items}</ul>')
    return "\n".join(out)


def places_table(placed: list[tuple[str, dict[str, Any]]], href: Callable[[str, str], str]) -> str:
    """The map's figures as a table: each (noun, record) with its place as the sources
    name it, its coordinates and how precise they are."""
    rows = "".join(
        f'<tr><td><a href="{escape(href(noun, r["slug"]))}">{escape(label_of(r))}</a></td>'
        f"<td>{escape(noun)}</td><td>{escape(r.get('location') or display.UNKNOWN)}</td>"
        f"<td>{r['coordinates']['latitude']}, {r['coordinates']['longitude']}</td>"
        f"<td>{escape(r['coordinates'].get('precision') or 'not given')}</td></tr>"
        for noun, r in placed
    )
    return (
        '<div class="scroll"><table class="places"><thead><tr><th>Record</th><th>Kind</th>'
        "<th>Place, as the sources name it</th><th>Latitude, longitude</th><th>Precision</th>"
        f"</tr></thead><tbody>{rows}</tbody></table></div>"
    )


def map_html(records: list[tuple[str, dict[str, Any]]], href: Callable[[str, str], str]) -> str:
    """Every (noun, record) with coordinates: Kazakhstan's region on one frame, places
    further abroad (most events with a point) on the world's, then the same as a table;
    then the deposits and projects no source places, listed with the place as named.
    No empty grid: without coordinates, a sentence says so."""
    placed = [(n, r) for n, r in records if r.get("coordinates")]
    unplaced = [
        (n, r) for n, r in records if n in ("deposit", "project") and not r.get("coordinates")
    ]
    out = []
    if placed:
        out.append(_maps(placed, href))
    else:
        out.append('<p class="empty">No record has coordinates yet.</p>')
    if unplaced:
        items = "".join(
            f'<li><a href="{escape(href(n, r["slug"]))}">{escape(label_of(r))}</a>: '
            f"{escape(r.get('location') or 'no place in any source')}</li>"
            for n, r in unplaced
        )
        out.append(
            f"<h3>Deposits and projects not placed ({len(unplaced)})</h3><p>No cited source "
            f'gives coordinates; the place as the sources name it:</p><ul class="unplaced">'
            f"{items}</ul>"
        )
    return "".join(out)


def _maps(placed: list[tuple[str, dict[str, Any]]], href: Callable[[str, str], str]) -> str:
    nouns = {id(r): n for n, r in placed}

    def link(r: dict[str, Any]) -> str:
        return href(nouns[id(r)], r["slug"])

    near = [r for _, r in placed if svg.in_box(r["coordinates"], svg.MAP_BOX)]
    far = [r for _, r in placed if not svg.in_box(r["coordinates"], svg.MAP_BOX)]
    out = [
        f"<p>{len(placed)} records have coordinates; a circle's size is how precisely a "
        "cited source (or the gazetteer) places it: a site, a town, a region.</p>"
    ]
    if near:
        out.append(f"<h3>Kazakhstan and its region ({len(near)})</h3>" + svg.place_map(near, link))
    if far:
        out.append(
            f"<h3>Further abroad ({len(far)})</h3>"
            + svg.place_map(far, link, box=svg.WORLD_BOX, width=1000)
        )
    out.append(
        "<details open><summary>Every placed record, as a table</summary>"
        f"{places_table(placed, href)}</details>"
    )
    return "".join(out)
