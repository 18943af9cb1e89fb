"""kzdiplo show: one record in full, with every citation."""

from typing import Annotated, Any

import typer

from kzdiplo import display
from kzdiplo.cli import complete
from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.errors import did_you_mean
from kzdiplo.render import Format, Layout

NOUN_HELP = "agreement, deal, deposit, project, event, partner or source (plural forms work too)"


@guarded
def show(
    ctx: typer.Context,
    noun: Annotated[
        str, typer.Argument(help=NOUN_HELP, metavar="NOUN", autocompletion=complete.nouns)
    ],
    key: Annotated[
        str,
        typer.Argument(
            help="Slug or id (a partner: code, name or alias).", autocompletion=complete.keys
        ),
    ],
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """One record in full: every field, its partners and roles, linked records, and
    every citation with the source's title, URL and the quote.

    \b
    Examples:
      kzdiplo show agreement kz-us-washington-29-agreements
      kzdiplo show deal us-exim-critical-minerals-funding --format json
      kzdiplo show partner "United States"
      kzdiplo show source cove-bw-release
    """
    from kzdiplo import queries
    from kzdiplo.entities import ENTITIES
    from kzdiplo.render import write
    from kzdiplo.resolve import resolve_partner

    with reading(ctx) as reader:
        if noun.strip().lower() in ("partner", "partners"):
            record = queries.get_partner(reader, resolve_partner(reader, key))
        elif noun.strip().lower() in ("source", "sources"):
            record = queries.get_source(reader, key)
        elif noun.strip().lower() in {*ENTITIES, *(n.plural for n in ENTITIES.values())}:
            record = queries.get_record(reader, queries.noun_named(noun), key)
        else:
            raise did_you_mean("noun", noun, [*ENTITIES, "partner", "source"])
    write(_output(record, fmt), fmt, layout=layout)


def _value(key: str, value: Any) -> str:
    if key in ("date", "started", "completion"):
        text = display.partial_date(value)
        if value and value.get("text"):
            text += f' ("{value["text"]}")'
        if value and value.get("note"):
            text += f" — {value['note']}"
        return text
    if key in ("amount", "cost"):
        return display.amount(value)
    if key == "usd":
        if not value:
            return display.UNKNOWN
        rate = f"rate {value['rate']}" + (f" on {value['rate_date']}" if value["rate_date"] else "")
        return (
            f"{display.money(value['low'], value['high'], 'USD')} ({rate}; {value['rate_source']})"
        )
    if key == "capacity":
        return display.capacity(value) + (
            f' ("{value["text"]}")' if value and value["text"] else ""
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    return display.text(value)


def _quoted(citation: dict[str, Any]) -> str:
    """A verbatim quote in quotation marks; our summary of a source marked as ours and
    never in quotation marks."""
    from kzdiplo.render import said

    note = citation.get("note")
    return said(citation) + (f" ({note})" if note else "")


LONG_TEXTS = ("summary", "notes", "relationship_level")
KEYS = ("Partner", "Slug", "URL", "Record")  # never broken


def _output(record: dict[str, Any], fmt: Format) -> Any:
    """The record whole for JSON and CSV; for people, its keys (slug, URL: on lines of
    their own in a table, never broken) and a table per section."""
    from kzdiplo.render import Output, Table, positional

    keys = [k for k in ("key", "slug", "url") if record.get(k)] if fmt is Format.table else []
    skip = {*keys, "partners", "sectors", "sources", "linked", "records", "organizations", "id",
            "discrepancies", "stages", "cited_by", "disputes", "derived_by"}  # fmt: skip
    # The long texts last, whatever the table's column order: the facts first.
    names = [k for k in record if k not in skip]
    names = [k for k in names if k not in LONG_TEXTS] + [k for k in LONG_TEXTS if k in names]
    fields = [[k, _value(k, record[k])] for k in names]
    sections: list[tuple[str, list[str], list[list[str]]]] = [
        ("Fields", ["Field", "Value"], fields)
    ]
    if record.get("partners"):
        rows = [[p["key"], p["name"], p["role"]] for p in record["partners"]]
        sections.append(("Partners", ["Partner", "Name", "Role"], rows))
    if record.get("sectors"):
        sections.append(("Sectors", ["Sector"], [[s] for s in record["sectors"]]))
    if record.get("organizations"):
        rows = [[o["slug"], o["name"], o["kind"]] for o in record["organizations"]]
        sections.append(("Organisations", ["Slug", "Name", "Kind"], rows))
    linked = [[label, f"{r['noun']} {r['slug']}", r["title"]]
              for label, items in record.get("linked", {}).items() for r in items]  # fmt: skip
    linked += [[r["role"] + f" (as {r['as_partner']})", f"{r['noun']} {r['slug']}", r["title"]]
               for r in record.get("records", [])]  # fmt: skip
    if linked:
        sections.append(("Linked records", ["Link", "Record", "Title"], linked))
    if "cited_by" in record:
        rows = [[f"{c['record_type']} {c['record_key']}", c["field"] or "(record)", _quoted(c)]
                for c in record["cited_by"]]  # fmt: skip
        sections.append(("Records citing it", ["Record", "Supports", "Quote, or [summary]"], rows))
        rows = [[f"{d['record_type']} {d['record_key']}", f"{d['field']} ({d['kind']})",
                 d["says"]] for d in record["disputes"]]  # fmt: skip
        if rows:
            sections.append(("Where it says otherwise or more", ["Record", "Field", "It says"],
                             rows))  # fmt: skip
        if record["derived_by"]:
            rows = [[d["slug"], d["relation"]] for d in record["derived_by"]]
            sections.append(("Sources resting on it", ["Slug", "Relation"], rows))
    citations = [
        [
            s.get("field") or "(record)",
            f"{s['title']} ({s['publisher']}, {s['published'] or 'date not given'})",
            s["url"],
            _quoted(s),
        ]
        for s in record.get("sources", [])
    ]
    if citations:
        headers = ["Supports", "Source", "URL", "Quote, or [summary] of the source"]
        sections.append(("Sources", headers, citations))
    if record.get("stages"):
        rows = [
            [s["stage"], display.partial_date(s["date"]), f"{s['publisher']}: {s['title']}",
             _quoted(s)]
            for s in record["stages"]
        ]  # fmt: skip
        sections.append(
            ("Stages, as each source reports them",
             ["Stage", "Date", "Source", "Quote, or [summary]"], rows)
        )  # fmt: skip
    if record.get("discrepancies"):
        rows = [
            [
                d["field"] + ("" if d["kind"] == "disagreement" else f" ({d['kind']})"),
                d["record_says"] or "",
                d["says"],
                f"{d['publisher']}: {d['title']}",
                d["url"],
            ]
            for d in record["discrepancies"]
        ]
        sections.append(
            ("Where sources disagree (the record keeps its claim)",
             ["Field", "Record says", "Other source says", "Other source", "URL"], rows)
        )  # fmt: skip
    tables = [Table(rows, positional(headers, KEYS), title) for title, headers, rows in sections]
    heading = str(record.get("title") or record.get("name") or record.get("key") or "")
    return Output(record, tables, keys=[(k, record[k]) for k in keys], heading=heading)
