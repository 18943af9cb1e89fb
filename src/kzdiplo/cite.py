"""Citations for a paper: the dataset (name, data version, date, content hash) and one
entry per source behind the chosen records, each with the claims it supports.

A claim carries what the source says the way kzdiplo holds it: a verbatim quote of a
source whose text we hold, or our own summary, marked as ours in every format and never
put in quotation marks. No source names a person as author, and none is made up. CSL
styles put the title in the author's place when there is no author, and citeproc-py then
prints the title twice; so in CSL-JSON an organisation's own document (official,
company, analysis) is credited to that organisation as a corporate author, as style
guides do, a news article names its outlet as the container instead, and the dataset
is credited to its project. BibTeX and RIS carry no author at all.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from kzdiplo import __version__, contenthash, dataset, licence
from kzdiplo.entities import ENTITIES
from kzdiplo.errors import UsageError
from kzdiplo.queries import Filters, by_slug, get_record, list_records
from kzdiplo.reader import IN_LIST_MAX, Reader, in_list

SUMMARY_LABEL = "Our summary (not a quotation)"
QUOTE_LABEL = "Quote"
# How each kind of source is typed in CSL-JSON and RIS.
_CSL_TYPE = {"media": "article-newspaper", "official": "webpage", "company": "webpage",
             "analysis": "report"}  # fmt: skip
_RIS_TYPE = {"media": "NEWS", "official": "ELEC", "company": "ELEC", "analysis": "RPRT"}


def _find(reader: Reader, slug: str) -> list[tuple[str, str]]:
    """(noun, slug) of every kind of record with this slug (any case): a seek in each
    table, and a scan only when none has it."""
    for scan in (False, True):
        found = [(noun.name, r["slug"]) for noun in ENTITIES.values()
                 for r in by_slug(reader, noun.table, slug, "slug", scan=scan)]  # fmt: skip
        if found:
            return found
    return []


def records(reader: Reader, slugs: list[str], everything: bool) -> list[dict[str, Any]]:
    """The chosen records with their citations, each tagged with its noun."""
    chosen: list[dict[str, Any]] = []
    if everything:
        for noun in ENTITIES.values():
            page = list_records(reader, noun, Filters(limit=None, sort=noun.default_sort))
            chosen += [r | {"noun": noun.name} for r in page.records]
        return chosen
    for slug in dict.fromkeys(slugs):
        hits = _find(reader, slug)
        if not hits:
            from kzdiplo.errors import did_you_mean

            known = [r["slug"] for n in ENTITIES.values()
                     for r in reader.rows(f"SELECT slug FROM {n.table}")]  # fmt: skip
            raise did_you_mean("record", slug, known)
        for name, key in hits:
            chosen.append(get_record(reader, ENTITIES[name], key) | {"noun": name})
    return chosen


def _claims_by_source(chosen: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    claims: dict[str, list[dict[str, Any]]] = {}
    for record in chosen:
        label = record.get("title") or record.get("name")
        for s in record["sources"]:
            claim = {"record": f"{record['noun']} {record['slug']}", "title": label,
                     "field": s["field"], "kind": s["kind"], "note": s["note"]}  # fmt: skip
            claim["quote" if s["kind"] == "quote" else "summary"] = s.get("quote", s.get("summary"))
            claims.setdefault(s["source"], []).append(claim)
    return claims


def build(reader: Reader, slugs: list[str], everything: bool) -> dict[str, Any]:
    """The dataset entry and one entry per source with its claims, in first-cited order."""
    if not slugs and not everything:
        raise UsageError("name one or more record slugs, or give --all")
    chosen = records(reader, slugs, everything)
    claims = _claims_by_source(chosen)
    # Only the sources cited (through the slug's index): the table grows with the data.
    params: dict[str, Any] = {}
    cited = ""
    if len(claims) <= IN_LIST_MAX:
        cited = f" WHERE slug IN {in_list('slug', list(claims), params)}"
    meta = {
        r["slug"]: r
        for r in reader.rows(
            "SELECT slug, title, publisher, url, published, published_inferred, retrieved, "
            f"kind FROM sources{cited}",
            params,
        )
    }
    entries = []
    for slug, its_claims in claims.items():
        m = meta[slug]
        entries.append({
            "slug": slug, "title": m["title"], "publisher": m["publisher"], "url": m["url"],
            "published": None if m["published"] is None else str(m["published"]),
            "published_inferred": bool(m["published_inferred"]),
            "accessed": None if m["retrieved"] is None else str(m["retrieved"]),
            "kind": m["kind"], "claims": its_claims,
        })  # fmt: skip
    data = {
        "name": dataset.NAME, "short_name": dataset.SHORT_NAME,
        "version": dataset.DATA_VERSION, "date": dataset.DATA_DATE,
        "content_hash": contenthash.current_hash(reader),
        "software": f"kzdiplo {__version__}", "license": licence.LICENSE_ID,
    }  # fmt: skip
    return {"dataset": data, "sources": entries}


# --- the words of a claim ---


def claim_text(claim: dict[str, Any], open_q: str = "\u201c", close_q: str = "\u201d") -> str:
    """One claim as a sentence: what it supports, then the quote or our marked summary."""
    field = f" (field: {claim['field']})" if claim["field"] else ""
    head = f"Supports {claim['record']}{field}"
    if claim["kind"] == "quote":
        return f"{head}. {QUOTE_LABEL}: {open_q}{claim['quote']}{close_q}"
    return f"{head}. {SUMMARY_LABEL}: {claim['summary']}"


def _dataset_note(d: dict[str, Any]) -> str:
    return (f"Data version {d['version']} ({d['date']}), content {d['content_hash']}; "
            f"made with {d['software']}; licence {licence.LICENCE_SHORT}")  # fmt: skip


def _date_parts(value: str) -> list[int]:
    day = dt.date.fromisoformat(value)
    return [day.year, day.month, day.day]


# --- BibTeX ---

_BIB_SPECIAL = re.compile(r"([\\{}&%$#_^~])")
# BibTeX counts every brace to find where a field ends, a backslash before it or not: so
# ``\{`` would still close or open a field and a title could start an entry of its own.
# Braces are written as commands that hold none of their own.
BIB_REPLACE = {"\\": r"\textbackslash{}", "{": r"\textbraceleft{}", "}": r"\textbraceright{}",
               "^": r"\textasciicircum{}", "~": r"\textasciitilde{}"}  # fmt: skip


def bib_escape(text: str) -> str:
    """Text as a BibTeX field's value: one line, nothing that drives a terminal
    (safetext), LaTeX's special characters escaped and no brace of its own, so the field
    ends where it should whatever the source says."""
    from kzdiplo.safetext import for_terminal

    text = for_terminal(" ".join(str(text).split()))
    return _BIB_SPECIAL.sub(lambda m: BIB_REPLACE.get(m[1], "\\" + m[1]), text)


def _bib_url(url: str) -> str:
    # biblatex reads url verbatim; only braces and spaces could break the entry.
    from kzdiplo.safetext import for_terminal

    return re.sub(r"[{}\s]", lambda m: f"%{ord(m[0]):02X}", for_terminal(url))


def _bib_key(key: str) -> str:
    """A citation key BibTeX reads as one: a slug from a stranger's database may hold
    anything, and only these characters are safe in a key."""
    return re.sub(r"[^A-Za-z0-9_.:+/-]", "-", key) or "-"


def _bib_entry(kind: str, key: str, fields: list[tuple[str, str | None]]) -> str:
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields if value)
    return f"@{kind}{{{_bib_key(key)},\n{body}\n}}\n"


def bibtex(c: dict[str, Any]) -> str:
    """@misc entries (read by BibTeX and biblatex alike); dates in biblatex's EDTF form, so
    an inferred year is written with ``?``."""
    d = c["dataset"]
    out = [_bib_entry("misc", f"kzdiplo-data-{d['version']}", [
        ("title", "{" + bib_escape(d["name"]) + "}"),
        ("version", bib_escape(d["version"])),
        ("date", d["date"]), ("year", d["date"][:4]),
        ("howpublished", bib_escape(f"Dataset, {d['software']}")),
        ("note", bib_escape(_dataset_note(d))),
    ])]  # fmt: skip
    for s in c["sources"]:
        date = (
            (s["published"] + ("?" if s["published_inferred"] else "")) if s["published"] else None
        )
        note = " ".join(claim_text(cl, "``", "''") for cl in s["claims"])
        out.append(_bib_entry("misc", s["slug"], [
            ("title", "{" + bib_escape(s["title"]) + "}"),
            ("organization", bib_escape(s["publisher"]) if s["publisher"] else None),
            ("date", date), ("year", s["published"][:4] if s["published"] else None),
            ("url", _bib_url(s["url"]) if s["url"] else None),
            ("urldate", s["accessed"]),
            ("note", bib_escape(note)),
        ]))  # fmt: skip
    return "\n".join(out)


# --- CSL-JSON ---


def csl_json(c: dict[str, Any]) -> list[dict[str, Any]]:
    """CSL-JSON items (the input of citeproc, Zotero, pandoc): no person as author."""
    d = c["dataset"]
    items: list[dict[str, Any]] = [{
        "id": f"kzdiplo-data-{d['version']}", "type": "dataset", "title": d["name"],
        "version": d["version"], "issued": {"date-parts": [_date_parts(d["date"])]},
        "note": _dataset_note(d), "medium": "SQLite database, JSON, CSV",
        "author": [{"literal": f"{d['short_name']} project"}],
    }]  # fmt: skip
    for s in c["sources"]:
        item: dict[str, Any] = {"id": s["slug"], "type": _CSL_TYPE[s["kind"]], "title": s["title"],
                                "note": " ".join(claim_text(cl) for cl in s["claims"])}  # fmt: skip
        if s["publisher"] and s["kind"] == "media":
            item["container-title"] = s["publisher"]
        elif s["publisher"]:
            item["author"] = [{"literal": s["publisher"]}]
            item["publisher"] = s["publisher"]
        if s["published"]:
            item["issued"] = {"date-parts": [_date_parts(s["published"])]}
            if s["published_inferred"]:
                item["issued"]["circa"] = True
        if s["url"]:
            item["URL"] = s["url"]
        if s["accessed"]:
            item["accessed"] = {"date-parts": [_date_parts(s["accessed"])]}
        items.append(item)
    return items


# --- RIS ---


def _ris_value(value: str) -> str:
    """One RIS line's value: whitespace folded (a newline would start a forged tag) and
    nothing that drives a terminal (safetext)."""
    from kzdiplo.safetext import for_terminal

    return for_terminal(" ".join(str(value).split()))


def ris(c: dict[str, Any]) -> str:
    """RIS records (EndNote, Zotero, Mendeley): one N1 note line per claim."""
    d = c["dataset"]
    lines = ["TY  - DATA", f"TI  - {_ris_value(d['name'])}", f"ET  - {d['version']}",
             f"PY  - {d['date'][:4]}", f"DA  - {d['date'].replace('-', '/')}",
             f"N1  - {_ris_value(_dataset_note(d))}", "ER  - ", ""]  # fmt: skip
    for s in c["sources"]:
        lines += [
            f"TY  - {_RIS_TYPE[s['kind']]}",
            f"ID  - {_ris_value(s['slug'])}",
            f"TI  - {_ris_value(s['title'])}",
        ]
        if s["publisher"]:
            lines.append(f"PB  - {_ris_value(s['publisher'])}")
            if s["kind"] == "media":  # the outlet, where reference managers look for it
                lines.append(f"T2  - {_ris_value(s['publisher'])}")
        if s["published"]:
            lines += [f"PY  - {s['published'][:4]}", f"DA  - {s['published'].replace('-', '/')}"]
            if s["published_inferred"]:
                lines.append("N1  - The publication year is inferred; the page does not state it.")
        if s["url"]:
            lines.append(f"UR  - {_ris_value(s['url'])}")
        if s["accessed"]:
            lines.append(f"Y2  - {s['accessed'].replace('-', '/')}")
        lines += [f"N1  - {_ris_value(claim_text(cl))}" for cl in s["claims"]]
        lines += ["ER  - ", ""]
    return "\n".join(lines)


# --- plain text ---


def text(c: dict[str, Any]) -> str:
    """For people: numbered references, each claim under its source."""
    from kzdiplo.render import said
    from kzdiplo.safetext import for_terminal

    d = c["dataset"]
    lines = [f"{d['name']}. Data version {d['version']} ({d['date']}).",
             f"Content {d['content_hash']}. Made with {d['software']}.", ""]  # fmt: skip
    for n, s in enumerate(c["sources"], 1):
        parts = [s["publisher"], s["title"]]
        if s["published"]:
            parts.append(s["published"] + (" (year inferred)" if s["published_inferred"] else ""))
        if s["url"]:
            parts.append(s["url"] + (f" (accessed {s['accessed']})" if s["accessed"] else ""))
        lines.append(f"[{n}] " + ". ".join(p for p in parts if p) + ".")
        for cl in s["claims"]:
            field = f" ({cl['field']})" if cl["field"] else ""
            lines.append(f"    supports {cl['record']}{field}:")
            lines.append(f"      {said(cl)}")
        lines.append("")
    # Each line through the guard: a newline inside a title is shown, never a new line.
    return "\n".join(for_terminal(line) for line in lines)


def render(c: dict[str, Any], fmt: str) -> str:
    if fmt == "bibtex":
        return bibtex(c)
    if fmt == "csl-json":
        from kzdiplo.render import to_json

        return to_json(csl_json(c)) + "\n"
    if fmt == "ris":
        return ris(c)
    return text(c)
