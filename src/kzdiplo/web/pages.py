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

# Keys attach()/get_record() add that have their own section on the page.
SECTIONED = ("id", "partners", "sectors", "sources", "discrepancies", "stages", "linked")
SUMMARY_LABEL = "Our summary, not a quotation"


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


def record_body(record: dict[str, Any], noun: str, href: Callable[[str, str], str | None]) -> str:
    """Every field, partners with roles, stages, citations and discrepancies of one
    record; ``href(noun, slug)`` links a linked record (None: no link)."""
    out = [f'<p class="noun">{escape(noun)} · <code>{escape(record["slug"])}</code></p>']
    if record.get("disputes"):
        out.append(
            f'<p class="disputed">⚠ Disputed: {record["disputes"]} disagreement(s) on '
            f"{escape(', '.join(record['disputed_fields']))} — both sides below.</p>"
        )
    out.append(
        f'<p class="trust">{record.get("source_count", 0)} source(s), '
        f"{record.get('independent_sources', 0)} independent.</p>"
    )
    rows = "".join(
        f"<tr><th>{escape(k)}</th><td>{value_html(k, v)}</td></tr>"
        for k, v in record.items()
        if k not in SECTIONED
    )
    out.append(f'<h2>Fields</h2><table class="fields">{rows}</table>')
    if record.get("partners"):
        items = "".join(
            f"<li>{escape(p['name'])} (<code>{escape(p['key'])}</code>): "
            f"{escape(p['role'] or 'role not given')}</li>"
            for p in record["partners"]
        )
        out.append(f'<h2>Partners and roles</h2><ul class="partners">{items}</ul>')
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
