"""Validate seed/load files and write them to the database: one code path for both.

``read_files`` parses and checks each record on its own; ``load`` checks references and
quotes against the run and the database, then upserts on natural keys inside the
caller's transaction. Any problem raises :class:`LoadError` naming file, record and
field, before anything is written.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, cast

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import Table, bindparam, delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import BindParameter

from kzdiplo import models
from kzdiplo.entities import BY_PLURAL, BY_TABLE, ENTITIES, LINKS
from kzdiplo.fields import DATE, FIELDS, USD, UsdField
from kzdiplo.loadfile import Entry, LoadFileError, records
from kzdiplo.money import UsdFigure, to_usd
from kzdiplo.records import SECTIONS
from kzdiplo.resolve import aliases_of

TABLES: dict[str, Table] = {
    "sources": cast(Table, models.Source.__table__),
    "sectors": cast(Table, models.Sector.__table__),
    "countries": cast(Table, models.Country.__table__),
    "organizations": cast(Table, models.Organization.__table__),
    **{e.plural: cast(Table, e.model.__table__) for e in ENTITIES.values()},
}
PARTIES: Table = cast(Table, models.Party.__table__)
RECORD_SECTORS: Table = cast(Table, models.RecordSector.__table__)
CITATIONS: Table = cast(Table, models.Citation.__table__)
DISCREPANCIES: Table = cast(Table, models.Discrepancy.__table__)
STAGE_CHANGES: Table = cast(Table, models.StageChange.__table__)
SOURCE_LINKS: Table = cast(Table, models.SourceLink.__table__)
DEAL_OVERLAPS: Table = cast(Table, models.DealOverlap.__table__)


LOAD_LOCK = 0x6B7A_6470  # PostgreSQL advisory lock id for loads ("kzdp")


MAX_PROBLEM = 300  # characters of one problem line: input is echoed, never unbounded


def clip(text: str, limit: int = MAX_PROBLEM) -> str:
    """``text`` cut to ``limit`` characters with an ellipsis (messages quote input)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


class LoadError(Exception):
    """Files that cannot be loaded; ``problems`` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        problems = [clip(p) for p in problems]
        self.problems = problems
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(problems[0] + more)


@dataclass(slots=True)
class Item:
    """One validated record and where it came from (its key read once: a load asks
    for it many times per record)."""

    file: Path
    section: str
    index: int
    record: Any
    key: str = field(init=False)

    def __post_init__(self) -> None:
        self.key = str(getattr(self.record, self.record.key_field))

    def where(self, field_name: str | None = None) -> str:
        place = f"{self.file}: {self.section}[{self.index}] {self.key!r}"
        return f"{place}: {field_name}" if field_name else place


@dataclass
class Bundle:
    """Every record of a run, by section, in load order."""

    items: dict[str, list[Item]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    source_texts: dict[str, str | None] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Item]:
        for section in SECTIONS:
            yield from self.items[section]


@dataclass
class Report:
    """What a load did (or, in a dry run, would do)."""

    changes: list[tuple[str, str, str, list[str]]] = field(default_factory=list)
    unchanged: Counter[str] = field(default_factory=Counter)
    # (section, key) -> its place in changes, so that promote does not search the list
    places: dict[tuple[str, str], int] = field(default_factory=dict, repr=False)

    def record(self, section: str, key: str, action: str, fields: list[str] | None = None) -> None:
        if action == "unchanged":
            self.unchanged[section] += 1
        else:
            self.places[(section, key)] = len(self.changes)
            self.changes.append((section, key, action, fields or []))

    def promote(self, section: str, key: str, field_name: str) -> None:
        """A record found unchanged whose links (written later) did change."""
        place = self.places.get((section, key))
        if place is not None:
            sec, k, action, fields = self.changes[place]
            self.changes[place] = (sec, k, action, [*fields, field_name])
            return
        self.unchanged[section] -= 1
        self.record(section, key, "updated", [field_name])

    def counts(self) -> dict[str, int]:
        counted = Counter(action for _, _, action, _ in self.changes)
        return {
            "added": counted["added"],
            "updated": counted["updated"],
            "unchanged": sum(self.unchanged.values()),
        }

    def summary(self) -> str:
        c = self.counts()
        return f"{c['added']} added, {c['updated']} updated, {c['unchanged']} unchanged"


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- reading and per-record validation ------------------------------------------------


def _format_error(item_where: str, error: ErrorDetails) -> str:
    loc = ".".join(str(part) for part in error["loc"]) or "(record)"
    message = error["msg"].removeprefix("Value error, ")
    return f"{item_where}: {loc}: {message}"


MAX_TEXT_BYTES = 5_000_000  # a source's text_file
MAX_PROBLEMS = 1000  # problems listed before reading stops


def read_files(paths: Iterable[Path]) -> Bundle:
    """Parse and validate each record of ``paths``; raise LoadError listing every problem."""
    bundle = Bundle()
    problems: list[str] = []
    seen: dict[tuple[str, str], Item] = {}
    for path in paths:
        try:
            for entry in records(Path(path), SECTIONS):
                _take(Path(path), entry, bundle, seen, problems)
                if len(problems) >= MAX_PROBLEMS:  # a file of garbage: enough to fix first
                    problems.append(f"{path}: stopped reading after {MAX_PROBLEMS} problems")
                    raise LoadError(problems)
        except LoadFileError as exc:
            raise LoadError([str(exc)]) from None
    if problems:
        raise LoadError(problems)
    return bundle


def _take(
    path: Path,
    entry: Entry,
    bundle: Bundle,
    seen: dict[tuple[str, str], Item],
    problems: list[str],
) -> None:
    """Validate one record of a load file and add it to ``bundle``, or note why not."""
    section = entry.section
    item = _validate(path, section, entry.index, entry.record, problems, entry.where)
    if item is None:
        return
    other = seen.get((section, item.key))
    if other is not None:
        problems.append(f"{item.where()}: duplicate key, first defined at {other.where()}")
        return
    seen[(section, item.key)] = item
    bundle.items[section].append(item)
    if section == "sources":
        _read_source_text(item, bundle, problems)


def _validate(
    path: Path, section: str, index: int, raw: Any, problems: list[str], line: str = ""
) -> Item | None:
    model = SECTIONS[section]
    key = raw.get(model.key_field) if isinstance(raw, dict) else None
    at = f" ({line})" if line else ""
    where = f"{path}{at}: {section}[{index}]" + (f" {clip(repr(key), 80)}" if key else "")
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping of fields")
        return None
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_error(where, error) for error in exc.errors())
        return None
    return Item(path, section, index, record)


def _read_source_text(item: Item, bundle: Bundle, problems: list[str]) -> None:
    source = item.record
    if source.text_file and source.text:
        problems.append(item.where("text_file") + ": give text_file or text, not both")
        return
    if source.text_file:
        try:
            bundle.source_texts[source.slug] = read_text_file(item.file, source.text_file)
        except ValueError as exc:
            problems.append(item.where("text_file") + f": {exc}")
    elif "text" in source.model_fields_set or "text_file" in source.model_fields_set:
        bundle.source_texts[source.slug] = source.text  # an explicit null clears it


def read_text_file(load_file: Path, name: str) -> str:
    """The text a source's ``text_file`` names: a regular file inside the load file's
    folder (no absolute path, no ``..``, no link out of it), at most MAX_TEXT_BYTES,
    read by the load files' bounded reader."""
    from kzdiplo.loadfile import read_text

    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"{clip(name, 80)!r} must be a path inside {load_file.parent}")
    folder = load_file.parent.resolve()
    path = (folder / relative).resolve()
    if not path.is_relative_to(folder):
        raise ValueError(f"{clip(name, 80)!r} leads out of {load_file.parent}")
    try:
        return read_text(path, MAX_TEXT_BYTES)
    except LoadFileError as exc:
        raise ValueError(clip(str(exc))) from None


# --- references, quotes and writing ----------------------------------------------------


class _Keys:
    """Natural key -> id for each section, from the database and the records loaded so far."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.ids: dict[str, dict[str, int | None]] = {}
        for section, table in TABLES.items():
            key = table.c[SECTIONS[section].key_field]
            rows = conn.execute(select(key, table.c.id)).all()
            self.ids[section] = {k: i for k, i in rows}

    def known(self, section: str, key: str) -> bool:
        return key in self.ids[section]

    def id(self, section: str, key: str | None) -> int | None:
        return None if key is None else self.ids[section][key]

    def partner(self, key: str) -> tuple[str, int | None] | None:
        if key in self.ids["countries"]:
            return "country_id", self.ids["countries"][key]
        if key in self.ids["organizations"]:
            return "organization_id", self.ids["organizations"][key]
        return None


def _source_texts(conn: Connection, bundle: Bundle) -> dict[str, str | None]:
    sources = models.Source.__table__
    texts = {slug: text for slug, text in conn.execute(select(sources.c.slug, sources.c.text))}
    for item in bundle.items["sources"]:
        texts.setdefault(item.key, None)  # a new source without a text
    texts.update(bundle.source_texts)
    return {slug: normalise_space(text) if text else None for slug, text in texts.items()}


def _references() -> dict[str, dict[str, str]]:
    """Field -> the section it names, per section: a sector's parent, an organisation's
    country, and each record's references (entities) to sections loaded before or with
    it. A deal's event is not among them: events load after deals, so _link_later
    writes it."""
    order = list(SECTIONS)
    found = {"sectors": {"parent": "sectors"}, "organizations": {"country": "countries"}}
    for e in ENTITIES.values():
        found[e.plural] = {
            column.removesuffix("_id"): BY_TABLE[table].plural
            for column, table in models.references(e.table).items()
            if table in BY_TABLE and order.index(BY_TABLE[table].plural) <= order.index(e.plural)
        }
    return found


_REFS = _references()


def _check(item: Item, keys: _Keys, texts: dict[str, str | None], iso: set[str]) -> list[str]:
    """Problems with one record's references and quotes, given what is known before it."""
    record, problems = item.record, []
    for field_name, section in _REFS.get(item.section, {}).items():
        value = getattr(record, field_name)
        if value is not None and not keys.known(section, value):
            problems.append(f"{item.where(field_name)}: unknown {section[:-1]} {value!r}")
    for i, party in enumerate(getattr(record, "parties", [])):
        if keys.partner(party.partner) is None:
            problems.append(
                f"{item.where(f'parties.{i}.partner')}: unknown partner {party.partner!r} "
                "(a country/bloc code or an organisation slug)"
            )
    for i, sector in enumerate(getattr(record, "sectors", [])):
        if not keys.known("sectors", sector):
            problems.append(f"{item.where(f'sectors.{i}')}: unknown sector {sector!r}")
    cited = [(f"citations.{i}", c) for i, c in enumerate(getattr(record, "citations", []))]
    cited += [(f"stages.{i}", s) for i, s in enumerate(getattr(record, "stages", []))]
    for name, citation in cited:
        problems.extend(_check_cited(item.where(name), citation, texts))
    problems.extend(_check_shares(item))
    for i, party in enumerate(getattr(record, "parties", [])):
        if party.share is not None:
            where = item.where(f"parties.{i}.share")
            problems.extend(_check_cited(where, party.share.cited, texts))
    origin = record.derived_from if item.section == "sources" else None
    if origin is not None and origin not in texts:
        problems.append(f"{item.where('derived_from')}: unknown source {record.derived_from!r}")
    for i, discrepancy in enumerate(getattr(record, "discrepancies", [])):
        if discrepancy.source not in texts:
            problems.append(
                f"{item.where(f'discrepancies.{i}')}.source: unknown source {discrepancy.source!r}"
            )
    if item.section == "countries" and record.code not in iso:
        if record.kind != "bloc" or not record.name:
            problems.append(
                f"{item.where('code')}: {record.code!r} is not an ISO 3166 country; "
                "a bloc needs kind: bloc and a name"
            )
    elif item.section == "countries" and (record.name or record.kind):
        problems.append(f"{item.where('name')}: ISO countries take their name and kind from ISO")
    return problems


def _check_shares(item: Item) -> list[str]:
    """Stated shares: on a deal with an amount, each no more than the whole and together
    no more than it either, and written with the record's citations (a share's citation
    is one of them, so a file that leaves citations out cannot carry shares)."""
    record = item.record
    shared = [(i, p.share) for i, p in enumerate(getattr(record, "parties", [])) if p.share]
    if not shared:
        return []
    if "amount" not in type(record).model_fields:  # a share is a part of the amount
        return [f"{item.where(f'parties.{shared[0][0]}.share')}: only a deal's parties have shares"]
    amount = record.amount
    if amount is None:
        return [f"{item.where(f'parties.{shared[0][0]}.share')}: the deal states no amount"]
    problems = []
    if "citations" not in record.model_fields_set:
        problems.append(f"{item.where('citations')}: a deal with stated shares lists its citations")
    lows = 0
    for i, share in shared:
        low, high = _share_amounts(share, amount)
        lows += low
        if high > amount.high:
            problems.append(
                f"{item.where(f'parties.{i}.share')}: {high:,} is more than the deal's "
                f"{amount.high:,} {amount.currency}"
            )
    if lows > amount.high:
        problems.append(
            f"{item.where('parties')}: the stated shares add up to {lows:,}, more than the "
            f"deal's {amount.high:,} {amount.currency}"
        )
    return problems


def _share_amounts(share: Any, amount: Any) -> tuple[int, int]:
    """A share in the deal's currency: as stated, or its percent of the deal's amount."""
    if share.percent is None:
        return share.low, share.high
    return round(amount.low * share.percent / 100), round(amount.high * share.percent / 100)


def _share_columns(share: Any, amount: Any, rate_date: Any) -> dict[str, Any]:
    """A party's share columns, with US dollars at the deal's own rate (its date)."""
    if share is None:
        return {}
    low, high = _share_amounts(share, amount)
    usd = to_usd(low, high, amount.currency, rate_date)
    return {
        "share_low": low, "share_high": high, "share_percent": share.percent,
        "share_text": share.text, "share_usd_low": usd.low, "share_usd_high": usd.high,
    }  # fmt: skip


@lru_cache(maxsize=65_536)
def _holds(text: str, quote: str) -> bool:
    """Whether a source's normalised ``text`` holds ``quote``: a search through the
    whole text, remembered, since a run quotes the same excerpts many times."""
    return normalise_space(quote) in text


def _check_cited(where: str, cited: Any, texts: dict[str, str | None]) -> list[str]:
    """A quote must be a verbatim excerpt of its source's stored text; a summary is ours
    and is checked for nothing but its source."""
    if cited.source not in texts:
        return [f"{where}.source: unknown source {cited.source!r}"]
    text = texts[cited.source]
    if cited.kind != "quote":
        return []
    if text is None:
        return [
            f"{where}.quote: we hold no text of {cited.source!r}, so nothing can be quoted "
            "from it: write summary: in our own words (or add the source's text_file)"
        ]
    if not _holds(text, cited.quote):
        return [f"{where}.quote: not found in the text of {cited.source!r}"]
    return []


def load(conn: Connection, bundle: Bundle, progress: Callable[[], None] | None = None) -> Report:
    """Check ``bundle`` against the database, then upsert it; the caller owns the transaction.

    Raises LoadError (before writing anything) when a reference, quote or amount is wrong.
    """
    keys = _Keys(conn)
    texts = _source_texts(conn, bundle)
    iso = _iso_codes(conn)
    published = _published_dates(conn, bundle)
    problems: list[str] = []
    for item in bundle:  # every key of the run, so a part may come before its package
        keys.ids[item.section].setdefault(item.key, None)
    for item in bundle:
        problems.extend(_check(item, keys, texts, iso))
        problems.extend(_check_usd(item, published))  # its amounts convert to US dollars
    for item in bundle.items["deals"]:  # checked once every record of the run is known
        for name, section in (("event", "events"), ("overlaps", "deals")):
            value = getattr(item.record, name)
            if value is not None and not keys.known(section, value):
                problems.append(f"{item.where(name)}: unknown {section[:-1]} {value!r}")
    levels = {section: _levels(bundle.items[section], problems) for section in SECTIONS}
    problems.extend(_broken_quotes(conn, bundle, keys))
    if problems:
        raise LoadError(problems)
    report = Report()
    for section in SECTIONS:  # parents before their parts, each level in batches
        for level in levels[section]:
            for start in range(0, len(level), BATCH):
                batch = _Batch(conn, keys, bundle, published, report, progress)
                batch.write(level[start : start + BATCH])
    for item in bundle.items["deals"]:  # after every event has its id
        _link_later(conn, report, item, keys)
    for item in bundle.items["sources"]:  # after every source has its id
        if "derived_from" not in item.record.model_fields_set:
            continue  # left out of the file: the stored link stays
        origin = item.record.derived_from
        rows = [] if origin is None else [
            {"derived_from_id": keys.id("sources", origin), "relation": item.record.relation}
        ]  # fmt: skip
        source_id = keys.id("sources", item.key)
        assert source_id is not None  # every record of the run is written by now
        if _replace_children(conn, SOURCE_LINKS, "source_id", source_id, rows):
            report.promote("sources", item.key, "derived_from")
    return report


BATCH = 500  # records written together: a constant number of statements per batch
# A batch's keys, bound at execution (a list written into the statement would make
# SQLAlchemy compute a cache key for each of its values)
KEYS: BindParameter[str] = bindparam("keys", expanding=True)


def _parent_field(section: str) -> str | None:
    """The field of a section that names a record of the same section (its package)."""
    return next((n for n, target in _REFS.get(section, {}).items() if target == section), None)


def _levels(items: list[Item], problems: list[str]) -> list[list[Item]]:
    """``items`` by depth: the records whose package is not in the run first, then their
    parts, and so on, so that every package has its id before its parts are written,
    whatever the order of the file. A loop of packages is a problem."""
    name = _parent_field(items[0].section) if items else None
    by_key = {item.key: item for item in items}

    def package(item: Item) -> Item | None:
        return by_key.get(getattr(item.record, name)) if name else None

    depth: dict[str, int] = {}
    for item in items:
        path: list[Item] = []  # from item up to the first package of known depth
        current: Item | None = item
        while current is not None and current.key not in depth:
            if current in path:
                problems.append(f"{current.where(name)}: its packages form a loop")
                depth.update((i.key, 0) for i in path)
                break
            path.append(current)
            current = package(current)
        below = -1 if current is None or current in path else depth[current.key]
        for i in reversed(path):
            below = depth.setdefault(i.key, below + 1)
    levels: dict[int, list[Item]] = {}
    for item in items:
        levels.setdefault(depth[item.key], []).append(item)
    return [levels[d] for d in sorted(levels)]


_CHILD_TABLES = {
    "citations": CITATIONS,
    "discrepancies": DISCREPANCIES,
    "parties": PARTIES,
    "sectors": RECORD_SECTORS,
    "stages": STAGE_CHANGES,
}


@dataclass
class _Batch:
    """Up to BATCH records of one section and level, written with a fixed number of
    statements: one read of the stored ones, one insert of the new ones (executemany)
    and one read of their ids, one insert per kind of child row. A stored record is updated on
    its own (an update writes only the fields that changed)."""

    conn: Connection
    keys: _Keys
    bundle: Bundle
    published: dict[str, Any]
    report: Report
    progress: Callable[[], None] | None

    def write(self, items: list[Item]) -> None:
        section = items[0].section
        table = TABLES[section]
        key_column = table.c[SECTIONS[section].key_field]
        values = [_row(item, self.keys, self.bundle, self.published) for item in items]
        for item, row in zip(items, values, strict=True):
            _check_integers(item, row)
        stored = {
            row[key_column.name]: row
            for row in self.conn.execute(
                select(table).where(key_column.in_(KEYS)), {"keys": [i.key for i in items]}
            ).mappings()
        }
        new = [(i, v) for i, v in zip(items, values, strict=True) if i.key not in stored]
        self._insert(table, new)
        children: dict[str, list[dict[str, Any]]] = {name: [] for name in _CHILD_TABLES}
        for item, row in zip(items, values, strict=True):
            record_id = self.keys.ids[section][item.key]
            if item.key in stored:
                record_id, action, changed = _update(self.conn, item, row, self.bundle,
                                                     stored[item.key])  # fmt: skip
                if item.section in LINKS:
                    changed += _sync_links(self.conn, item, record_id, self.keys, row)
                if action == "unchanged" and changed:
                    action = "updated"
            else:
                action, changed = "added", []
                assert record_id is not None  # _insert gave it one
                if item.section in LINKS:
                    for name, rows in _wanted_links(item, record_id, self.keys, row).items():
                        children[name] += rows
            self.report.record(section, item.key, action, changed if action == "updated" else [])
            if self.progress is not None:
                self.progress()
        for name, rows in children.items():
            if rows:
                insert_many(self.conn, _CHILD_TABLES[name], rows)

    def _insert(self, table: Table, new: list[tuple[Item, dict[str, Any]]]) -> None:
        """Insert the new records, rows of the same columns together, then read their
        ids back by key in one query (RETURNING with an executemany falls back to one
        statement per row on SQLite)."""
        if not new:
            return
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for item, row in new:
            if item.section == "countries":
                row = {"kind": "country", "aliases": [], **row}
            groups.setdefault(tuple(row), []).append(row)
        for rows in groups.values():
            insert_many(self.conn, table, rows)
        section = new[0][0].section
        key_column = table.c[SECTIONS[section].key_field]
        written = select(key_column, table.c.id).where(key_column.in_(KEYS))
        found = self.conn.execute(written, {"keys": [i.key for i, _ in new]})
        self.keys.ids[section].update({k: int(i) for k, i in found})


def _link_later(conn: Connection, report: Report, item: Item, keys: _Keys) -> None:
    """A deal's event and overlap, written once every record of the run has its id
    (events load after deals); a field the file leaves out keeps its stored value."""
    r, deals = item.record, TABLES["deals"]
    deal_id = keys.id("deals", item.key)
    assert deal_id is not None  # called once every record of the run is written
    if "event" in r.model_fields_set:
        event_id = keys.id("events", r.event)
        now = conn.execute(select(deals.c.event_id).where(deals.c.id == deal_id)).scalar()
        if now != event_id:
            conn.execute(update(deals).where(deals.c.id == deal_id).values(event_id=event_id))
            report.promote("deals", item.key, "event")
    if "overlaps" in r.model_fields_set:
        overlap = [{"overlaps_id": keys.id("deals", r.overlaps), "note": r.overlap_note}]
        rows = overlap if r.overlaps else []
        if _replace_children(conn, DEAL_OVERLAPS, "deal_id", deal_id, rows):
            report.promote("deals", item.key, "overlaps")


def _broken_quotes(conn: Connection, bundle: Bundle, keys: _Keys) -> list[str]:
    """A cited source's text is immutable: refuse a new text (or none) for a source whose
    stored quotes, on records this run does not reload, it no longer contains."""
    sources = models.Source.__table__
    stored = dict(conn.execute(select(sources.c.slug, sources.c.text)).all())
    owners = {(LINKS[s], i): f"{LINKS[s].removesuffix('_id')} {k}" for s in LINKS
              for k, i in keys.ids[s].items() if i is not None}  # fmt: skip
    # A reloaded record replaces its citations (and stages) only when the file gives
    # them; those it leaves out are kept (the merge rule), so they must hold in the new
    # text like the quotes of records this run does not touch.
    reloaded = {(LINKS[i.section], keys.ids[i.section].get(i.key)): i.record.model_fields_set
                for i in bundle if i.section in LINKS}  # fmt: skip
    problems = []
    for item in bundle.items["sources"]:
        old = stored.get(item.key)
        if item.key not in bundle.source_texts or old is None:
            continue
        new = bundle.source_texts[item.key]
        text = normalise_space(new) if new else None
        if text == normalise_space(old):
            continue
        broken = []
        source_id = keys.id("sources", item.key)
        rows = [
            (kept, row)
            for kept, table in (("citations", CITATIONS), ("stages", STAGE_CHANGES))
            for row in conn.execute(
                select(table).where(table.c.source_id == source_id, table.c.kind == "quote")
            ).mappings()
        ]
        for kept, row in rows:
            owner = next(((c, row[c]) for c in LINKS.values() if row.get(c) is not None), None)
            if owner in reloaded and kept in reloaded[owner]:
                continue  # replaced by the file's own, checked against the new text above
            if text is None or normalise_space(row["text"]) not in text:
                name = owners.get(owner, "a record") if owner else "a record"
                broken.append(f"{name} ({kept})")
        if broken:
            names = ", ".join(dict.fromkeys(broken[:5])) + (", ..." if len(broken) > 5 else "")
            problems.append(
                f"{item.where('text')}: the new text would break {len(broken)} citation(s) "
                f"of {names}; a cited source's text does not change (add a new source)"
            )
    return problems


# Columns a plain record field fills, where they are not the field's own name (grouped
# fields name theirs in kzdiplo.fields).
_FIELD_COLUMNS = {"relationship": ("relationship_level",)}


def _given(item: Item, bundle: Bundle, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` without the columns of fields the file leaves out: a field that is not in
    the file keeps its stored value (an explicit null clears it)."""
    record = item.record
    omitted = set(type(record).model_fields) - record.model_fields_set
    patterns: list[str] = []
    for name in omitted:
        if name in _REFS.get(item.section, {}):
            patterns.append(f"{name}_id")
        elif name in ("text", "text_file"):
            continue
        elif name in FIELDS:
            patterns.extend(c for f in FIELDS.values() if name in (f.key, f.derived_from)
                            for c in f.columns)  # fmt: skip
        else:
            patterns.extend(_FIELD_COLUMNS.get(name, (name,)))
    if item.section == "sources" and item.key not in bundle.source_texts:
        patterns.append("text")

    def dropped(column: str) -> bool:
        return any(column == p or (p.endswith("*") and column.startswith(p[:-1]))
                   for p in patterns)  # fmt: skip

    return {column: value for column, value in row.items() if not dropped(column)}


_INT_LIMITS = {"big": 2**63 - 1, "int": 2**31 - 1}


def _check_integers(item: Item, values: dict[str, Any]) -> None:
    """An integer too large for its column is the file's mistake, named by field (the
    database would say only OverflowError or "integer out of range")."""
    from sqlalchemy import BigInteger, Integer

    table = TABLES[item.section]
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or name not in table.c:
            continue
        kind = table.c[name].type
        if not isinstance(kind, Integer):
            continue
        limit = _INT_LIMITS["big" if isinstance(kind, BigInteger) else "int"]
        if not -limit - 1 <= value <= limit:
            shown = clip(str(value), 30)
            raise LoadError([f"{item.where(name)}: {shown} is too large (at most {limit:,})"])


LOCK_TIMEOUT_S = 60


def _take_load_lock(conn: Connection, waiting: Callable[[str], None] | None) -> None:
    """One loader at a time on PostgreSQL: concurrent runs queue on an advisory lock
    instead of racing on the natural keys (SQLite gets the same from BEGIN IMMEDIATE).
    Every wait, for that lock or a table's, ends after LOCK_TIMEOUT_S, and is announced."""
    from sqlalchemy.exc import OperationalError

    from kzdiplo.errors import KzError

    conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_S}s'")
    if conn.exec_driver_sql(f"SELECT pg_try_advisory_xact_lock({LOAD_LOCK})").scalar():
        return
    if waiting is not None:
        waiting(f"waiting (up to {LOCK_TIMEOUT_S} s) for another load to finish...")
    try:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOAD_LOCK})")
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
            raise
        raise KzError(
            f"another session held kzdiplo's load lock for over {LOCK_TIMEOUT_S} s; "
            "nothing was changed, try again"
        ) from None


def load_paths(
    engine: Engine,
    paths: Iterable[Path],
    *,
    dry_run: bool = False,
    progress: Callable[[int], Callable[[], None] | None] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> Report:
    """Validate ``paths`` and load them in one transaction (rolled back for a dry run).

    ISO countries are added first when missing. ``progress(total)`` may return a
    callback that is called once per record written.
    """
    bundle = read_files(paths)
    total = sum(len(items) for items in bundle.items.values())
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                _take_load_lock(conn, waiting)
            sync_iso_countries(conn)
            with per_row_triggers_suspended(conn):
                report = load(conn, bundle, progress(total) if progress else None)
                rebuild_search_documents(conn, bundle)
            del bundle  # written: its memory is free for the hash, which reads every record
            rebuild_derived(conn)
            if not dry_run:
                from kzdiplo import browse
                from kzdiplo.contenthash import store_hash

                browse.refresh(conn, report.changes)  # serve's rows of what it wrote
                store_hash(conn)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return report


# SQLite triggers that run once per row written and that the load makes redundant: the
# search index's (migrations 0002/0011: each citation inserted rebuilds its record's
# whole document), and those that mark the partner totals (0005), the content hash (0015)
# and serve's browse tables (0017) stale. The load rebuilds all four itself, set-based,
# before it commits (a dry run rolls back, triggers included).
SUSPENDED_TRIGGERS = ("search_", "derived_stale_", "content_stale_", "browse_stale_")


@contextmanager
def per_row_triggers_suspended(conn: Connection) -> Iterator[None]:
    """Drop SUSPENDED_TRIGGERS for the body of the ``with`` and create them again, from
    the very SQL the database held, when it ends normally. DDL is transactional in
    SQLite: if the body raises, the caller's rollback brings them back, so no reader
    ever sees the database without them. On PostgreSQL nothing is suspended (its search
    and staleness triggers run once per statement)."""
    if conn.dialect.name != "sqlite":
        yield
        return
    patterns = " OR ".join(f"name LIKE '{p}%'" for p in SUSPENDED_TRIGGERS)
    saved = conn.exec_driver_sql(
        f"SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND ({patterns})"
    ).all()
    for name, _ in saved:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    yield
    for _, sql in saved:
        conn.exec_driver_sql(sql)


# The documents of some records of one type, by key: each kind's table finds them through
# its key's index (a condition on doc_id, an expression, would read every table whole).
CHOSEN_DOCUMENTS = "WHERE record_type = ? AND record_key IN (SELECT value FROM json_each(?))"


def rebuild_search_documents(conn: Connection, bundle: Bundle) -> None:
    """The search documents of every record the run wrote, rebuilt in two statements per
    kind of record (delete, insert from the ``search_documents`` view, the source
    ``kzdiplo db check`` compares the index with), instead of one rebuild per row."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL's own triggers kept the index in step
    for section, link in LINKS.items():
        keys = [item.key for item in bundle.items[section]]
        if not keys:
            continue
        chosen = CHOSEN_DOCUMENTS
        params: tuple[str, ...] = (link.removesuffix("_id"), json.dumps(keys))
        (stored,) = conn.exec_driver_sql(f"SELECT count(*) FROM {TABLES[section].name}").one()
        if stored == len(set(keys)):  # every record of the kind: no list of keys to match
            chosen, params = "WHERE record_type = ?", params[:1]
        conn.exec_driver_sql(
            f"DELETE FROM search_index WHERE rowid IN (SELECT doc_id FROM search_documents "
            f"{chosen})",
            params,
        )
        conn.exec_driver_sql(
            "INSERT INTO search_index (rowid, noun, key, label, title, body) "
            f"SELECT doc_id, noun, key, label, title, body FROM search_documents {chosen}",
            params,
        )


def _iso_codes(conn: Connection) -> set[str]:
    countries = models.Country.__table__
    return set(
        conn.execute(select(countries.c.code).where(countries.c.kind == "country")).scalars()
    )


def _published_dates(conn: Connection, bundle: Bundle) -> dict[str, Any]:
    sources = models.Source.__table__
    dates = dict(conn.execute(select(sources.c.slug, sources.c.published)).all())
    dates.update({i.record.slug: i.record.published for i in bundle.items["sources"]})
    return dates


def _usd_date(item: Item, field: UsdField, published: dict[str, Any]) -> Any:
    """The date whose exchange rate converts ``field``'s amount: the end of the first
    of its ``dated_by`` dates the record gives, else the publication date of a source
    cited for the amount, else of the record's first source that has one (None: no
    date anywhere, and to_usd says so)."""
    record = item.record
    for key in field.dated_by:
        date = getattr(record, key)
        if date is not None:
            return date.resolve().end
    for_amount = [c for c in record.citations if c.field == field.derived_from]
    days = (published.get(c.source) for c in [*for_amount, *record.citations])
    return next((day for day in days if day is not None), None)


def _usd_fields(item: Item) -> tuple[UsdField, ...]:
    """The record's amounts converted to US dollars (none for partners and sources)."""
    entity = BY_PLURAL.get(item.section)
    return tuple(f for f in entity.fields if isinstance(f, UsdField)) if entity else ()


def _check_usd(item: Item, published: dict[str, Any]) -> list[str]:
    """An amount in a currency with no rate near its day is refused, naming the field."""
    problems = []
    for usd in _usd_fields(item):
        try:
            _usd(item, usd, published)
        except ValueError as exc:
            problems.append(f"{item.where(f'{usd.derived_from}.currency')}: {exc}")
    return problems


def _usd(item: Item, field: UsdField, published: dict[str, Any]) -> UsdFigure | None:
    """``field``'s amount in US dollars (None: the record states no amount)."""
    amount = getattr(item.record, field.derived_from)
    if amount is None:
        return None
    return to_usd(amount.low, amount.high, amount.currency, _usd_date(item, field, published))


def _row(item: Item, keys: _Keys, bundle: Bundle, published: dict[str, Any]) -> dict[str, Any]:
    """The table row for a validated record, with references turned into ids."""
    r, section = item.record, item.section
    refs = {
        f"{name}_id": keys.id(target, getattr(r, name))
        for name, target in _REFS.get(section, {}).items()
    }
    if section == "countries":  # an ISO country's name and kind are pycountry's
        row = {
            "code": r.code,
            "relationship_level": r.relationship,
            "summary": r.summary,
        }
        row["aliases"] = r.aliases if r.kind == "bloc" else _with_regional_names(r.code, r.aliases)
        if r.kind == "bloc":
            row |= {"kind": "bloc", "name": r.name, "alpha3": r.alpha3}
        return row
    # The fields that are columns of the table as they are; references as ids; grouped
    # fields as their converters write them (citations, parties... are link rows).
    row = r.model_dump(include={k for k in type(r).model_fields if k in TABLES[section].c})
    row |= refs
    if section == "sources":  # its text may come from a file beside the load file
        row["text"] = bundle.source_texts.get(r.slug)
    entity = BY_PLURAL.get(section)  # None for partners, sources and sectors
    for f in entity.fields if entity else ():
        value = _usd(item, f, published) if isinstance(f, UsdField) else getattr(r, f.key)
        row |= f.to_columns(value)
    return row


def _update(
    conn: Connection, item: Item, values: dict[str, Any], bundle: Bundle, existing: Any
) -> tuple[int, str, list[str]]:
    """Update a stored record from its file: (id, action, changed fields). An update
    writes only the fields the file gives (see :func:`_given`) that differ."""
    table = TABLES[item.section]
    values = _given(item, bundle, values)
    if item.section == "countries" and existing["kind"] == "country" and "aliases" in values:
        values = {**values, "aliases": _union(existing["aliases"], values["aliases"])}
    changed = [name for name, value in values.items() if existing[name] != value]
    if changed:
        conn.execute(update(table).where(table.c.id == existing["id"]).values(**values))
    return int(existing["id"]), "updated" if changed else "unchanged", changed


def _union(first: list[str], second: list[str]) -> list[str]:
    return list(dict.fromkeys([*first, *second]))


def _sync_links(
    conn: Connection, item: Item, record_id: int, keys: _Keys, values: dict[str, Any]
) -> list[str]:
    """Make a stored record's parties, sectors and citations exactly those of the file;
    return the names of those that changed."""
    return [
        name
        for name, rows in _wanted_links(item, record_id, keys, values).items()
        if _replace_children(conn, _CHILD_TABLES[name], LINKS[item.section], record_id, rows)
    ]


def _wanted_links(
    item: Item, record_id: int, keys: _Keys, values: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """The child rows (whole, repeats dropped) of each kind of link the file gives for a
    record. A party's stated share adds its citation (field ``share:<partner>``) to the
    record's."""
    r = item.record
    wanted: dict[str, list[dict[str, Any]]] = {"citations": []}
    given = r.model_fields_set
    for c in r.citations:
        wanted["citations"].append(
            {"source_id": keys.id("sources", c.source), "kind": c.kind, "text": c.text,
             "field": c.field, "note": c.note}
        )  # fmt: skip
    wanted["discrepancies"] = [
        {"source_id": keys.id("sources", d.source), "kind": d.kind, "field": d.field,
         "source_says": d.says, "record_says": d.record_says, "note": d.note}
        for d in r.discrepancies
    ]  # fmt: skip
    if hasattr(r, "stages"):
        wanted["stages"] = [
            {"stage": s.stage, "source_id": keys.id("sources", s.source), "kind": s.kind,
             "text": s.text, "note": s.note, **_stage_date(s.date)}
            for s in r.stages
        ]  # fmt: skip

    if hasattr(r, "parties"):
        wanted["parties"] = []
        for p in r.parties:
            partner_column, partner_id = keys.partner(p.partner)  # type: ignore[misc]  # _check refused unknown partners
            rate_date = values.get(USD.names["rate_date"])  # the date the amount converts at
            share = _share_columns(p.share, getattr(r, "amount", None), rate_date)
            wanted["parties"].append({"role": p.role, partner_column: partner_id, **share})
            if p.share is not None:
                c = p.share.cited
                wanted["citations"].append(
                    {"source_id": keys.id("sources", c.source), "kind": c.kind, "text": c.text,
                     "field": f"share:{p.partner}", "note": None}
                )  # fmt: skip
    if hasattr(r, "sectors"):
        wanted["sectors"] = [{"sector_id": keys.id("sectors", s)} for s in r.sectors]
    column = LINKS[item.section]
    return {
        name: _child_rows(_CHILD_TABLES[name], column, record_id, rows)
        for name, rows in wanted.items()
        if name in given
    }


def _stage_date(date: Any) -> dict[str, Any]:
    """A stage change's partial date (stage_changes has no inferred/note columns: a stage
    is dated only as its source dates it)."""
    return {k: v for k, v in DATE.to_columns(date).items() if k in STAGE_CHANGES.c}


def insert_many(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) in one executemany. On SQLite they go
    to the driver as tuples, each value through its column type's own bind processor
    (the conversion SQLAlchemy would make: dates to text, lists to JSON), without
    SQLAlchemy's bookkeeping per row, which cost more than the insert itself."""
    if conn.dialect.name != "sqlite":
        conn.execute(insert(table), rows)
        return
    names = list(rows[0])
    processors = [_bind_processor(table, name, conn.dialect) for name in names]
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    values = [
        tuple(row[n] if p is None else p(row[n]) for n, p in zip(names, processors, strict=True))
        for row in rows
    ]
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})', values)


def _bind_processor(table: Table, name: str, dialect: Any) -> Callable[[Any], Any] | None:
    """The function SQLAlchemy passes a value of column ``name`` through for the driver."""
    kind = table.c[name].type
    return kind.dialect_impl(dialect).bind_processor(dialect)


@cache
def _child_columns(table: Table) -> tuple[str, ...]:
    """The columns of a child table that a load writes (all but its id)."""
    return tuple(c.name for c in table.columns if c.name != "id")


def _child_rows(
    table: Table, column: str, record_id: int, rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Child rows with every column (unset ones NULL) and their record's id, repeats
    dropped: the same keys in each, so they can be inserted in one executemany."""
    empty = dict.fromkeys(_child_columns(table))
    full_rows = [empty | row | {column: record_id} for row in rows]
    return list({tuple(r.items()): r for r in full_rows}.values())


def _replace_children(
    conn: Connection, table: Table, column: str, record_id: int, rows: list[dict[str, Any]]
) -> bool:
    """Replace the child rows of a record when they differ; True when they did. When
    there are as many rows as before, each keeps its id and only changed values are
    written (a reload that adds a party's share rewrites no other row)."""
    names = _child_columns(table)
    wanted = _child_rows(table, column, record_id, rows)
    existing = conn.execute(
        select(table.c.id, *[table.c[n] for n in names])
        .where(table.c[column] == record_id)
        .order_by(table.c.id)
    ).all()
    have = Counter(tuple((n, row._mapping[n]) for n in names) for row in existing)
    if have == Counter(tuple((n, r[n]) for n in names) for r in wanted):
        return False
    if len(existing) == len(wanted):
        for row, new in zip(existing, wanted, strict=True):
            if any(row._mapping[n] != new[n] for n in names):
                conn.execute(update(table).where(table.c.id == row.id).values(new))
        return True
    conn.execute(delete(table).where(table.c[column] == record_id))
    if wanted:
        conn.execute(insert(table), wanted)
    return True


def rebuild_derived(conn: Connection) -> None:
    """Rebuild the derived tables (the partners totals) inside the load's transaction."""
    from kzdiplo.queries import REBUILD_PARTNER_TOTALS

    for statement in REBUILD_PARTNER_TOTALS:
        conn.exec_driver_sql(statement)


# The languages people in the region type country names in: Russian and Kazakh.
REGION_LANGUAGES = ("ru", "kk")


@cache
def _country_catalogues() -> tuple[Any, ...]:
    """pycountry's gettext catalogues of ISO 3166 names in REGION_LANGUAGES."""
    import gettext

    import pycountry

    return tuple(
        gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[language])
        for language in REGION_LANGUAGES
    )


def regional_names(code: str) -> list[str]:
    """The Russian and Kazakh names of ISO country ``code`` (its short, official and
    common names, as pycountry's translators give them), those that differ from English.
    Everyday names the catalogues lack (``Россия`` beside ``Российская Федерация``) are
    aliases in the seed files."""
    import pycountry

    country = pycountry.countries.get(alpha_2=code)
    if country is None:
        return []
    english = [getattr(country, f, None) for f in ("name", "official_name", "common_name")]
    names: list[str] = []
    for catalogue in _country_catalogues():
        for name in filter(None, english):
            local = catalogue.gettext(name)
            if local not in english and local not in names:
                names.append(local)
    return names


def _with_regional_names(code: str, aliases: list[str]) -> list[str]:
    return [*aliases, *(n for n in regional_names(code) if n not in aliases)]


def sync_iso_countries(conn: Connection) -> int:
    """Add or correct every ISO 3166 country from pycountry; returns how many rows changed.

    Only the ISO columns and the Russian and Kazakh names are touched: other aliases and
    facts from files stay as they are.
    """
    import pycountry

    countries = TABLES["countries"]
    have = {row.code: row for row in conn.execute(select(countries))}
    changed = 0
    for country in pycountry.countries:
        iso = {
            "code": country.alpha_2,
            "alpha3": country.alpha_3,
            "numeric": country.numeric,
            "name": country.name,
            "official_name": getattr(country, "official_name", None),
            "kind": "country",
        }
        row = have.get(country.alpha_2)
        if row is None:
            common = getattr(country, "common_name", None)
            aliases = _with_regional_names(country.alpha_2, [common] if common else [])
            conn.execute(insert(countries).values(**iso, aliases=aliases))
            changed += 1
            continue
        stored = aliases_of(row.aliases)
        aliases = _with_regional_names(country.alpha_2, stored)
        if any(getattr(row, k) != v for k, v in iso.items()) or aliases != stored:
            conn.execute(
                update(countries).where(countries.c.id == row.id).values(**iso, aliases=aliases)
            )
            changed += 1
    return changed
