"""kzdiplo show: one record in full, with every citation."""

from typing import Annotated, Any

import typer

from kzdiplo import display
from kzdiplo.cli import complete
from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.errors import did_you_mean
from kzdiplo.fields import FIELDS
from kzdiplo.render import Format, Layout

NOUN_HELP = "agreement, deal, deposit, project, event, partner or source (plural forms work too)"


@guarded
def show(
    ctx: typer.Context,
    noun: Annotated[
        str,
        typer.Argument(
            help=f"{NOUN_HELP}; or the slug alone, of any kind",
            metavar="NOUN",
            autocompletion=complete.nouns,
        ),
    ],
    key: Annotated[
        str | None,
        typer.Argument(
            help="Slug or id (a partner: code, name or alias).", autocompletion=complete.keys
        ),
    ] = None,
    fmt: FormatOption = Format.table,
    layout: LayoutOption = Layout.auto,
) -> None:
    """One record in full: its facts first (amount, date, stage, parties, place, each
    with its source's words), what no source states on one line, then every citation
    with the source's title, URL and the quote, the stages and the disagreements.

    \b
    Examples:
      kzdiplo show kz-us-washington-29-agreements
      kzdiplo show deal us-exim-critical-minerals-funding --format json
      kzdiplo show partner "United States"
      kzdiplo show source cove-bw-release
    """
    from kzdiplo.render import write

    with reading(ctx) as reader:
        record = _find(reader, noun, key)
    write(_output(record, fmt), fmt, layout=layout)


def _find(reader: Any, noun: str, key: str | None) -> dict[str, Any]:
    """The record ``noun key`` names; ``key`` alone when no noun is given (its kind
    found by its slug, else a partner by code, name or alias)."""
    from kzdiplo import queries
    from kzdiplo.entities import ENTITIES
    from kzdiplo.errors import UsageError
    from kzdiplo.resolve import resolve_partner

    nouns = {*ENTITIES, *(n.plural for n in ENTITIES.values())}
    wanted = noun.strip().lower()
    if key is None:
        if wanted in nouns | {"partner", "partners", "source", "sources"}:
            raise UsageError(f"show {wanted} needs a key: kzdiplo show {wanted} SLUG")
        kinds = queries.kinds_with_slug(reader, noun)
        if len(kinds) > 1:
            raise UsageError(f"{noun!r} is the slug of {_kinds(kinds)}: "
                             + ", or ".join(f"kzdiplo show {k} {noun}" for k in kinds))  # fmt: skip
        if not kinds:
            try:
                return queries.get_partner(reader, resolve_partner(reader, noun))
            except UsageError:
                raise UsageError(
                    f"no record, source or partner has the key {noun!r} "
                    f"(kzdiplo search {noun!r} finds records by their words)"
                ) from None
        wanted, key = kinds[0], noun
    if wanted in ("partner", "partners"):
        return queries.get_partner(reader, resolve_partner(reader, key))
    if wanted not in nouns | {"source", "sources"}:
        raise did_you_mean("noun", noun, [*ENTITIES, "partner", "source"])
    try:
        if wanted in ("source", "sources"):
            return queries.get_source(reader, key)
        return queries.get_record(reader, queries.noun_named(wanted), key)
    except UsageError:
        other = queries.kinds_with_slug(reader, key)
        if other:  # the slug of another kind: say which
            asked = "source" if wanted in ("source", "sources") else queries.noun_named(wanted).name
            raise UsageError(
                f"{key!r} is {_kinds(other)}, not {_kinds([asked])}: kzdiplo show {other[0]} {key}"
            ) from None
        raise


def _kinds(kinds: list[str]) -> str:
    """``a deal``, ``an agreement``, ``a deal and a project``."""
    return " and ".join(f"{'an' if k[0] in 'aeiou' else 'a'} {k}" for k in kinds)


def _value(key: str, value: Any) -> str:
    """A field's value as short text, without its source's words (:func:`_worded`)."""
    if key in FIELDS:
        return FIELDS[key].text(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return display.text(value)


def _worded(key: str, value: Any) -> list[str]:
    """A grouped value's own words, each on a line apart from the value."""
    return FIELDS[key].words(value) if key in FIELDS and isinstance(value, dict) else []


def _quoted(citation: dict[str, Any]) -> str:
    """A verbatim quote in quotation marks; our summary of a source marked as ours and
    never in quotation marks."""
    from kzdiplo.render import said

    note = citation.get("note")
    return said(citation) + (f" ({note})" if note else "")


LONG_TEXTS = ("summary", "notes", "relationship_level", "overlap_note")
KEYS = ("Slug", "URL", "Record")  # whole lines under their row, never broken
# What a reader asks first, in this order; the other fields follow, the long texts last.
FACTS = ("amount", "usd", "cost", "capacity", "date", "started", "completion", "stage",
         "stake", "stake_percent", "count", "status", "parties", "location",
         "coordinates")  # fmt: skip
# Lists and links shown in sections of their own, not as fields.
SECTIONS = ("partners", "sectors", "sources", "linked", "records", "organizations", "id",
            "discrepancies", "stages", "cited_by", "disputes", "derived_by")  # fmt: skip


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def _fields(record: dict[str, Any], keys: list[str]) -> list[list[str]]:
    """The title, the facts in FACTS' order, each value with its source's words and the
    citations that support it, the other fields, one line naming the fields no source
    states, and the long texts last."""
    fields = {k: v for k, v in record.items() if k not in {*SECTIONS, *keys, "title", "name"}}
    if record.get("partners"):
        fields["parties"] = record["partners"]
    names = [k for k in FACTS if k in fields] + [k for k in fields if k not in FACTS]
    citations = record.get("sources", [])

    def shown(group: list[str]) -> list[list[str]]:
        return [[_label(k), _shown(k, fields[k], citations)] for k in group
                if not _empty(fields[k])]  # fmt: skip

    unstated = [_label(k) for k in names if _empty(fields[k])]
    return [
        *([k, str(record[k])] for k in ("title", "name") if record.get(k)),
        *shown([k for k in names if k not in LONG_TEXTS]),
        *([["not stated", ", ".join(unstated)]] if unstated else []),
        *shown([k for k in LONG_TEXTS if k in names]),
    ]


def _label(name: str) -> str:
    return "USD" if name == "usd" else name.replace("_", " ")


def _shown(name: str, value: Any, citations: list[dict[str, Any]]) -> str:
    """A value, then on lines of their own its source's words and each citation that
    supports it (the quote, or our summary marked as ours, and who published it)."""
    if name == "parties":
        return _parties(value)
    lines = [_value(name, value), *_worded(name, value)]
    lines += [f"{_quoted(c)} \u2014 {c['publisher'] or c['title']}"
              for c in citations if c.get("field") == name]  # fmt: skip
    return "\n".join(lines)


def _money(totals: dict[str, Any]) -> list[list[str]]:
    """A partner's figures, in the words and order of `kzdiplo partners`' columns."""
    from kzdiplo.cli import partners

    return [
        ["agreements", partners.agreements(totals)],
        ["deals involving", partners.deals(totals)],
        ["USD from partner", partners.own(totals, "usd_from_partner")],
        ["USD to partner", partners.own(totals, "usd_to_partner")],
        ["not its own (whole sums)", partners.not_own(totals)],
    ]


def _parties(partners: list[dict[str, Any]]) -> str:
    """Each party with its role, a line each: ``US Export-Import Bank (us-exim): financier``."""
    return "\n".join(f"{p['name']} ({p['key']}): {p['role']}" for p in partners)


def _output(record: dict[str, Any], fmt: Format) -> Any:
    """The record whole for JSON and CSV; for people, its keys (slug, URL: on lines of
    their own in a table, never broken), its facts, then a table per section."""
    from kzdiplo.render import Output, Table, positional

    keys = [k for k in ("key", "slug", "url") if record.get(k)] if fmt is Format.table else []
    sections: list[tuple[str, list[str], list[list[str]]]] = [
        ("Facts (the source's words and its quote under each)", ["Field", "Value"],
         _fields(record, keys))
    ]  # fmt: skip
    if record.get("sectors"):
        sections.append(("Sectors", ["Sector"], [[s] for s in record["sectors"]]))
    if record.get("organizations"):
        rows = [[o["name"], o["slug"], o["kind"]] for o in record["organizations"]]
        sections.append(("Organisations", ["Name", "Slug", "Kind"], rows))
    linked = [[r["title"], f"{r['noun']} {r['slug']}", label]
              for label, items in record.get("linked", {}).items() for r in items]  # fmt: skip
    linked += [[r["title"], f"{r['noun']} {r['slug']}", r["role"] + f" (as {r['as_partner']})"]
               for r in record.get("records", [])]  # fmt: skip
    if record.get("money"):
        sections.append(("Money, as the ledger credits it (kzdiplo partners)",
                         ["Figure", "Value"], _money(record["money"])))  # fmt: skip
    if linked:
        sections.append(("Linked records", ["Title", "Record", "Link"], linked))
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
    tables = [
        Table(rows, positional(headers, lines=KEYS), title) for title, headers, rows in sections
    ]
    heading = str(record.get("title") or record.get("name") or record.get("key") or "")
    return Output(record, tables, keys=[(k, record[k]) for k in keys], heading=heading)
