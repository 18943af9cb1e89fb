"""Export the database: in the load format (json/ndjson), as CSV with a data dictionary,
as a standalone SQLite copy, and as Datasette metadata.

The JSON export is exactly what ``kzdiplo load`` reads, so export -> load into an empty
database reproduces the data (a test proves it).
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from itertools import chain
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from kzdiplo import __version__, licence
from kzdiplo.entities import BY_PLURAL, ENTITIES, Entity
from kzdiplo.fields import AMOUNT, COST, DATE, DATES, FIELDS, drop_empty
from kzdiplo.files import atomic_path, sqlite_read_uri
from kzdiplo.queries import attach, order_by, select, shape
from kzdiplo.reader import Reader
from kzdiplo.records import SECTIONS
from kzdiplo.render import to_json
from kzdiplo.resolve import aliases_of
from kzdiplo.safetext import web_link

if TYPE_CHECKING:
    from kzdiplo.files import FolderWriter


def _said(s: dict[str, Any]) -> dict[str, Any]:
    """The source and its words, as the load format takes them (quote or summary)."""
    kind = "quote" if "quote" in s else "summary"
    return {"source": s["source"], kind: s[kind]}


SHARE_FIELD = "share:"  # a stated share's citation: field share:<partner key>


def _citations(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The record's citations, less those of its parties' shares (written with them)."""
    return [
        drop_empty(_said(s) | {"field": s["field"], "note": s["note"]})
        for s in record["sources"]
        if not (s["field"] or "").startswith(SHARE_FIELD)
    ]


def _party(record: dict[str, Any], party: dict[str, Any]) -> dict[str, Any]:
    """A party in the load format, with its stated share and the citation that states it."""
    out = {"partner": party["key"], "role": party["role"]}
    share = party.get("share")
    if share:
        field = f"{SHARE_FIELD}{party['key']}"
        cited = next(s for s in record["sources"] if s["field"] == field)
        stated = {"percent": share["percent"]} if share["percent"] is not None else {
            "low": share["low"], "high": share["high"]}  # fmt: skip
        out["share"] = drop_empty(stated | {"text": share["text"]}) | _said(cited)
    return out


def _stages(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        drop_empty(
            {"stage": s["stage"], "date": DATE.to_load(s["date"])} | _said(s) | {"note": s["note"]}
        )
        for s in record.get("stages", [])
    ]


def _discrepancies(record: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        drop_empty({"field": d["field"], "source": d["source"], "says": d["says"],
                     "record_says": d["record_says"], "note": d["note"]})
        | ({} if d["kind"] == "disagreement" else {"kind": d["kind"]})
        for d in record.get("discrepancies", [])
    ]  # fmt: skip


# What attach() derives for readers: never part of the load format.
_DERIVED = ("id", "sources", "source_count", "independent_sources", "disputes",
            "disputed_fields", "related_sectors")  # fmt: skip


# The load record's fields that _record writes in a shape of its own, and (after every
# plain field, in this order: the JSON export's key order is part of its hash) the
# grouped fields written there; every other field, a grouped one included, is written
# where the load record has it, as kzdiplo.fields gives it to a load file.
_SHAPED = frozenset({"slug", "parties", "sectors", "citations", "discrepancies", "stages"})
_LAST = (*(d.key for d in DATES), AMOUNT.key, COST.key)


def plain_fields(section: str) -> list[str]:
    """The fields of ``section``'s load record that the export copies as they are (a
    grouped field converted to the load format)."""
    return [f for f in SECTIONS[section].model_fields if f not in _SHAPED and f not in _LAST]


def _loaded(key: str, value: Any) -> Any:
    """A listing record's value as the load format gives it."""
    return FIELDS[key].to_load(value) if key in FIELDS else value


def _beyond_the_load_format(reader: Reader, section: str, record: dict[str, Any]) -> list[str]:
    """The table's plain columns (as the database has them) that its load record does not
    name yet: a column a migration added. The export writes them too, so no stored fact
    is left out (``kzdiplo load`` of such a file names the field records.py lacks)."""
    known = {*SECTIONS[section].model_fields, "id"}
    table = BY_PLURAL[section].table
    return [c for c in reader.columns(table) if c not in known and c in record]


def _record(section: str, r: dict[str, Any], beyond: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": r["slug"]}
    out |= {f: _loaded(f, r[f]) for f in plain_fields(section)}
    out |= {c: r[c] for c in beyond}
    out |= {f: _loaded(f, r[f]) for f in _LAST if f in r}
    out["parties"] = [_party(r, p) for p in r["partners"]]
    out["sectors"] = r["sectors"]
    out["citations"] = _citations(r)
    out["discrepancies"] = _discrepancies(r)
    if "stages" in r:
        out["stages"] = _stages(r)
    return drop_empty(out)


def sections(reader: Reader) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every record in the load format, as (section, record), in load order: each kind
    by label, packages before their parts. Read a page at a time, so a caller that
    writes each record out as it comes holds a page, not the dataset."""
    yield from _sources_to_organizations(reader)
    for section in (s for s in SECTIONS if s in BY_PLURAL):  # load order
        pages = _pages_in_load_order(reader, BY_PLURAL[section])
        yield from _in_load_format(reader, section, pages)


def _in_load_format(
    reader: Reader, section: str, pages: Iterable[list[dict[str, Any]]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The records of ``pages`` (listing records of ``section``) in the load format."""
    beyond: list[str] | None = None
    for page in pages:
        if beyond is None:
            beyond = _beyond_the_load_format(reader, section, page[0])
        for record in page:
            yield section, _record(section, record, beyond)


def _sources_to_organizations(reader: Reader) -> Iterator[tuple[str, dict[str, Any]]]:
    """The sections before the records, in load order: sources, sectors, countries and
    organisations. Sources (their texts with them) and organisations are read a page at
    a time; sectors and countries, a taxonomy and the world's countries, are read whole."""
    for sources in reader.batches(
        "SELECT s.slug, s.title, s.publisher, s.url, s.published, s.published_inferred, "
        "s.published_note, s.kind, s.retrieved, s.text, o.slug AS derived_from, l.relation "
        "FROM sources s LEFT JOIN source_links l ON l.source_id = s.id "
        "LEFT JOIN sources o ON o.id = l.derived_from_id ORDER BY s.id",
        size=PAGE,
    ):
        for source in sources:
            yield "sources", drop_empty(_stringify(source))
    for sector in _topological(reader.rows(
        "SELECT s.id, s.slug, s.name, p.slug AS parent, s.aliases, s.description, s.parent_id "
        "FROM sectors s LEFT JOIN sectors p ON p.id = s.parent_id ORDER BY s.id"
    )):  # fmt: skip
        sector["aliases"] = aliases_of(sector["aliases"])
        yield (
            "sectors",
            drop_empty({k: v for k, v in sector.items() if k not in ("id", "parent_id")}),
        )
    yield from _countries(reader)
    organizations = reader.batches(
        "SELECT o.id, o.slug, o.name, o.kind, c.code AS country, o.anonymous, o.aliases, "
        "o.summary FROM organizations o LEFT JOIN countries c ON c.id = o.country_id ORDER BY o.id",
        size=PAGE,
    )
    for org in chain.from_iterable(
        attach(reader, None, p, "organization_id") for p in organizations
    ):
        org["aliases"] = aliases_of(org["aliases"])
        org["anonymous"] = bool(org["anonymous"])
        org["citations"] = _citations(org)
        org["discrepancies"] = _discrepancies(org)
        yield (
            "organizations",
            drop_empty({k: v for k, v in org.items() if k not in _DERIVED}),
        )


PAGE = 1000  # records read, attached and written out together


def canonical_sections(reader: Reader) -> Iterator[tuple[str, dict[str, Any]]]:
    """The records :func:`sections` gives, in the content hash's order: sections by
    name, each section's records by key. The records of the five kinds are read in key
    order from the database (the slug's unique index on SQLite; byte order, which is
    Python's order of the same strings) a page at a time, so a caller that writes each
    out as it comes holds one page, not the dataset."""
    ahead: dict[str, list[dict[str, Any]]] = {}
    for section, record in _sources_to_organizations(reader):
        ahead.setdefault(section, []).append(record)
    for section in sorted(SECTIONS):
        if section not in BY_PLURAL:
            key = SECTIONS[section].key_field
            for record in sorted(ahead.get(section, []), key=lambda r: str(r[key])):
                yield section, record
            continue
        yield from _in_load_format(reader, section, _pages_by_slug(reader, BY_PLURAL[section]))


def _pages(
    reader: Reader, noun: Entity, order: str, where: str = "", depth: int | None = None
) -> Iterator[list[dict[str, Any]]]:
    """``noun``'s records as the listings shape them, PAGE at a time in ``order``, their
    links attached per page; ``where``: a condition on them, which may name the
    ``depths`` of the records ``depth`` packages deep (see :data:`_DEPTHS`)."""
    sql = select(reader, noun) + (f"\nWHERE {where}" if where else "") + f"\nORDER BY {order}"
    if depth is not None:
        sql = _DEPTHS.format(table=noun.table) + sql
    for rows in reader.batches(sql, {"depth": depth} if depth is not None else None, size=PAGE):
        yield attach(reader, noun, [shape(noun, r) for r in rows])


def _pages_by_slug(reader: Reader, noun: Entity) -> Iterator[list[dict[str, Any]]]:
    """``noun``'s records (no filter), PAGE at a time in slug byte order."""
    binary = ' COLLATE "C"' if reader.dialect == "postgresql" else ""
    return _pages(reader, noun, f"t.slug{binary}")


# The parts of packages (records with a parent_id) with their depth: 1 for a part of a
# record that is no part, and so on down, up to :depth. Seeded from the parts alone (their
# partial index), so it costs the parts, not the table; a loop of packages (hand-edited
# data) is never reached from a record that is no part, so the recursion ends.
_DEPTHS = """WITH RECURSIVE depths(id, n) AS (
  SELECT c.id, 1 FROM {table} c JOIN {table} p ON p.id = c.parent_id WHERE p.parent_id IS NULL
  UNION ALL
  SELECT c.id, d.n + 1 FROM {table} c JOIN depths d ON c.parent_id = d.id WHERE d.n < :depth
)
"""


def _pages_in_load_order(reader: Reader, noun: Entity) -> Iterator[list[dict[str, Any]]]:
    """``noun``'s records a page at a time in the order the export writes them: by
    label, then each package before its parts at any depth (the loader once needed a
    parent first, and the export's bytes keep that order). The records that are no part
    come first, then each depth of parts in turn: one sorted query per depth, so the
    order is the database's, never a list held in Python."""
    order = order_by(noun, noun.label)
    if "parent_id" not in reader.columns(noun.table):
        yield from _pages(reader, noun, order)
        return
    yield from _pages(reader, noun, order, "t.parent_id IS NULL")
    looped = _depths_under_loops(reader, noun.table)
    deepest = max(looped.values(), default=0)
    depth = 1
    while True:
        where = "t.id IN (SELECT id FROM depths WHERE n = :depth)"
        extra = [i for i, d in looped.items() if d == depth]
        if extra:  # ids the database gave, as integers: safe to write into the SQL
            where = f"({where} OR t.id IN ({', '.join(str(int(i)) for i in extra)}))"
        found = False
        for page in _pages(reader, noun, order, where, depth):
            found = True
            yield page
        if not found and depth >= deepest:
            return
        depth += 1


def _depths_under_loops(reader: Reader, table: str) -> dict[int, int]:
    """The depth of each part that no chain of packages leads to from a record that is
    no part: the parts of a loop of packages (hand-edited data) and those beneath them.
    Counted as the export always has: the packages met going up, each once (so a loop
    ends). Usually none, found by comparing two counts."""
    reached = _DEPTHS.replace(" WHERE d.n < :depth", "").format(table=table)
    counts = reader.rows(
        f"{reached}SELECT (SELECT count(*) FROM depths) AS reached, "
        f"(SELECT count(*) FROM {table} WHERE parent_id IS NOT NULL) AS parts"
    )[0]
    if counts["reached"] == counts["parts"]:
        return {}
    rows = reader.rows(
        f"{reached}SELECT id, parent_id FROM {table} "
        "WHERE parent_id IS NOT NULL AND id NOT IN (SELECT id FROM depths)"
    )
    package = {r["id"]: r["parent_id"] for r in rows}

    def depth(part: int) -> int:
        seen: set[int] = set()
        while part in package and part not in seen:
            seen.add(part)
            part = package[part]
        return len(seen)

    return {part: depth(part) for part in package}


def _topological(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done: set[int] = set()
    ordered: list[dict[str, Any]] = []
    pending = list(rows)
    while pending:
        ready = [r for r in pending if r["parent_id"] is None or r["parent_id"] in done]
        if not ready:  # a cycle in hand-edited data: emit the rest as they are
            ready = pending
        for r in ready:
            done.add(r["id"])
            ordered.append(r)
        pending = [r for r in pending if r["id"] not in done]
    return ordered


def _stringify(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()} | {
        k: bool(v) for k, v in row.items() if k.endswith("_inferred")
    }


def _countries(reader: Reader) -> Iterator[tuple[str, dict[str, Any]]]:
    """Countries that carry more than ISO data (aliases, facts, citations) and blocs."""
    rows = reader.rows(
        "SELECT id, code, alpha3, name, kind, aliases, relationship_level, summary FROM countries "
        "WHERE kind = 'bloc' OR relationship_level IS NOT NULL OR summary IS NOT NULL "
        "OR id IN (SELECT country_id FROM citations) ORDER BY id"
    )
    for country in attach(reader, None, rows, "country_id"):
        out: dict[str, Any] = {"code": country["code"]}
        if country["kind"] == "bloc":
            out |= {"kind": "bloc", "name": country["name"], "alpha3": country["alpha3"]}
        out["aliases"] = aliases_of(country["aliases"])
        out["relationship"] = country["relationship_level"]
        out["summary"] = country["summary"]
        out["citations"] = _citations(country)
        out["discrepancies"] = _discrepancies(country)
        yield "countries", drop_empty(out)


def as_document(reader: Reader, progress: Callable[[], None] | None = None) -> dict[str, Any]:
    """The whole database as one load-format mapping of sections."""
    document: dict[str, list[dict[str, Any]]] = {section: [] for section in SECTIONS}
    for section, record in sections(reader):
        document[section].append(record)
        if progress:
            progress()
    return {k: v for k, v in document.items() if v}


MANIFEST = ".kzdiplo-export.json"


def files_of(fmt: str) -> list[str]:
    """The names an export in ``fmt`` writes into its folder."""
    if fmt == "csv":
        return [f"{t.name}.csv" for t in tables()] + ["columns.csv"]
    return {"json": ["kzdiplo.json"], "ndjson": ["kzdiplo.ndjson"], "sqlite": ["kzdiplo.db"],
            "datasette": ["kzdiplo.db", "metadata.json"],
            "xlsx": ["kzdiplo.xlsx"]}[fmt]  # fmt: skip


def exporting_to(
    out: Path, database: Path | None, *, force: bool
) -> AbstractContextManager[FolderWriter]:
    """The folder writer for ``kzdiplo export``: its files join those of earlier exports
    (of other formats) in the folder; files it did not write are replaced only with
    ``force``."""
    from kzdiplo.files import folder_writer

    return folder_writer(out, MANIFEST, who="kzdiplo export", database=database,
                         force=force, keep_earlier=True, strict=False)  # fmt: skip


def write_json(
    reader: Reader, out: FolderWriter, progress: Callable[[], None] | None = None
) -> None:
    with out.open("kzdiplo.json") as f:
        json_to(reader, f, progress)


def json_to(reader: Reader, f: IO[str], progress: Callable[[], None] | None = None) -> None:
    """The JSON export written to an open stream (``--out -``), a record at a time: the
    bytes of ``to_json(as_document(reader))`` and a newline, without holding the
    document. ``json.dumps`` with an indent writes a value nested ``n`` deep as it
    writes it alone with each new line indented by ``n`` steps (a string's own newlines
    are escapes), so each record (two steps deep: section, list) is written alone and
    indented, between the brackets and keys that the whole document would have."""
    section: str | None = None
    for name, record in sections(reader):
        if name != section:  # sections come whole, in the document's key order
            f.write(("{" if section is None else "\n  ],") + f"\n  {to_json(name)}: [\n    ")
            section = name
        else:
            f.write(",\n    ")
        f.write(to_json(record).replace("\n", "\n    "))
        if progress:
            progress()
    f.write("{}\n" if section is None else "\n  ]\n}\n")


def ndjson_to(reader: Reader, f: IO[str], progress: Callable[[], None] | None = None) -> None:
    """One line per record: ``{"section": ..., "record": {...}}``."""
    for section, record in sections(reader):
        f.write(to_json({"section": section, "record": record}, indent=None) + "\n")
        if progress:
            progress()


def write_ndjson(
    reader: Reader, out: FolderWriter, progress: Callable[[], None] | None = None
) -> None:
    with out.open("kzdiplo.ndjson") as f:
        ndjson_to(reader, f, progress)


def tables() -> list[Any]:
    from kzdiplo.models import Base

    return sorted(Base.metadata.tables.values(), key=lambda t: t.name)


def write_csv(
    reader: Reader,
    out: FolderWriter,
    progress: Callable[[], None] | None = None,
    *,
    raw: bool = False,
    prefix: str = "",
) -> None:
    """One CSV per table, plus ``columns.csv``: table, column, type, description, named
    ``prefix`` + file name in the folder being written. Text cells that a spreadsheet
    would run as a formula are neutralised unless ``raw``. Rows are read a page at a
    time (a server-side cursor on PostgreSQL, whose plain cursor fetches every row)."""
    from kzdiplo.safetext import csv_cell

    cell: Callable[[Any], Any] = (lambda v: v) if raw else csv_cell
    for table in tables():
        key = ", ".join(c.name for c in table.primary_key.columns)
        # Columns in the models' order (not the file's, which follows migration
        # history), the order columns.csv and the release's table schemas list them in.
        columns = [c.name for c in table.columns]
        sql = f"SELECT {', '.join(columns)} FROM {table.name} ORDER BY {key}"
        with out.open(f"{prefix}{table.name}.csv", newline="") as f:
            writer = csv.writer(f, lineterminator="\n")
            writer.writerow(columns)
            for rows in reader.batches(sql, size=PAGE):
                writer.writerows([cell(csv_value(v)) for v in row.values()] for row in rows)
        if progress:
            progress()
    with out.open(f"{prefix}columns.csv", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["table", "column", "type", "description"])
        for table in tables():
            for column in table.columns:
                writer.writerow(
                    [table.name, column.name, str(column.type).lower(), cell(column.comment)]
                )


def csv_value(value: Any) -> Any:
    """One cell as SQLite's text would be, whatever the backend: PostgreSQL hands back
    JSON columns as lists and booleans as bool."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_sqlite(path: Path, out: FolderWriter) -> None:
    """A standalone copy, ``kzdiplo.db``, in the folder being written."""
    _backup_into(path, out.path("kzdiplo.db"))


def sqlite_backup(path: Path, target: Path) -> Path:
    """Copy ``path`` to ``target`` (see :func:`_backup_into`); the copy replaces
    ``target`` only once complete, and never lands on the database or its companion
    files."""
    with atomic_path(target, path) as temporary:
        _backup_into(path, temporary)
    return target


def _backup_into(path: Path, target: Path) -> None:
    """Copy ``path`` into the new file ``target`` with SQLite's online backup API: a
    consistent snapshot even while other processes write."""
    source = sqlite3.connect(sqlite_read_uri(path), uri=True)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file to mail
    finally:
        copy.close()
        source.close()


def table_descriptions() -> dict[str, Any]:
    """Each table's description and its columns' (the models' comments), and each view's."""
    from kzdiplo.views import VIEWS

    described: dict[str, Any] = {}
    for table in tables():
        described[table.name] = {
            "description": table.comment,
            "columns": {c.name: c.comment for c in table.columns},
        }
    for view, description in VIEWS.items():
        described[view] = {"description": description}
    return described


def datasette_metadata(reader: Reader, described: dict[str, Any] | None = None) -> dict[str, Any]:
    """Datasette metadata: title, source and license, and a description per table/column
    (``described``: table_descriptions(), when the caller has them without the models)."""
    sources = reader.rows("SELECT title, url FROM sources ORDER BY id LIMIT 1")
    first = sources[0] if sources else {"title": None, "url": None}
    described = table_descriptions() if described is None else described
    meta = {
        "title": "kzdiplo: Kazakhstan's 2025 diplomacy",
        "description": (
            "A sourced relational database: every record cites the sentence it rests on "
            "(see the citations table and the citation_details view)."
        ),
        "license": licence.LICENCE,
        "license_url": licence.LICENSE_URL,
        "source": first["title"],
        "about": f"kzdiplo {__version__}",
        "databases": {"kzdiplo": {"tables": described}},
    }
    # Datasette links the source on every page: only an http(s) URL may become that link
    # (a javascript: URL in loaded data would run on a click).
    url = web_link(first["url"])
    return meta | ({"source_url": url} if url else {})


def write_datasette(reader: Reader, path: Path, out: FolderWriter) -> None:
    """The SQLite copy and, beside it, ``metadata.json``."""
    write_sqlite(path, out)
    out.write_text(
        "metadata.json", json.dumps(datasette_metadata(reader), indent=2, ensure_ascii=False) + "\n"
    )


def count_records(reader: Reader) -> int:
    """How many records an export walks (for the progress bar)."""
    total = 0
    for table in ("sources", "sectors", "organizations", *(e.table for e in ENTITIES.values())):
        total += int(reader.rows(f"SELECT count(*) AS n FROM {table}")[0]["n"])
    return total
