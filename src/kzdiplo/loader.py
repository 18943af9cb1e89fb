"""Validate seed/load files and write them to the database: one code path for both.

``load_paths`` reads the files a record at a time (:mod:`kzdiplo.loadfile`), checks each
record on its own, then its references and quotes against the database, and upserts it
on its natural key in batches, as it reads (:class:`_Stream`): memory holds a batch, not
the file. Records that name one given later wait in a temporary table until the input
is read. Everything happens in one transaction: any problem (naming file, record and
field) raises :class:`LoadError` at the end and the transaction is rolled back, so
nothing is written. ``read_files`` validates whole files into a :class:`Bundle`, for
callers that want the records themselves.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import IO, Any, cast

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy import (
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
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
    raw: Any = None  # the record as read, kept while its batch is in hand (to set aside)
    line: str = ""  # where in the file (NDJSON: ``line 12``), for messages
    seq: int = 0  # its place in the run (the order of the report)

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


class Report:
    """What a load did (or, in a dry run, would do): the counts in memory, and one line
    per changed record, kept during the load in the run's temporary table and then in a
    temporary file (a load of a million records would not fit them in memory), read in
    the order the records were read."""

    def __init__(self, conn: Connection | None = None) -> None:
        self.added, self.updated = 0, 0
        self.unchanged: Counter[str] = Counter()
        self._conn = conn
        self._pending: list[dict[str, Any]] = []  # this batch's, written by flush()
        self._spool: IO[str] | None = None

    def record(self, section: str, key: str, action: str, fields: list[str] | None = None) -> None:
        if action == "unchanged":
            self.unchanged[section] += 1
        elif action == "added":
            self.added += 1
        else:
            self.updated += 1
        self._pending.append({"s": section, "k": key, "a": action,
                              "f": json.dumps(fields) if fields else "[]"})  # fmt: skip

    def take_pending(self) -> dict[str, tuple[str, str]]:
        """This batch's actions by key, handed over (and forgotten) for the caller to
        write with the batch's rows of the run's table."""
        pending, self._pending = self._pending, []
        return {change["k"]: (change["a"], change["f"]) for change in pending}

    def flush(self) -> None:
        """Write this batch's actions to the run's table (one executemany)."""
        if self._pending and self._conn is not None:
            done = (update(RUN).where(RUN.c.section == bindparam("s"), RUN.c.key == bindparam("k"))
                    .values(action=bindparam("a"), fields=bindparam("f")))  # fmt: skip
            self._conn.execute(done, self._pending)
        self._pending = []

    def promote_many(self, section: str, keys: list[str], field_name: str) -> None:
        """Records whose links (written after every record is read) changed: one read
        and one executemany for the batch."""
        if not keys:
            return
        assert self._conn is not None  # only a load promotes
        found = select(RUN.c.key, RUN.c.action, RUN.c.fields).where(
            RUN.c.section == section, RUN.c.key.in_(KEYS)
        )
        changes = []
        for key, action, fields in self._conn.execute(found, {"keys": keys}):
            if action == "unchanged":
                self.unchanged[section] -= 1
                self.updated += 1
                action = "updated"
            names = json.dumps([*json.loads(fields or "[]"), field_name])
            changes.append({"s": section, "k": key, "a": action, "f": names})
        self._pending += changes
        self.flush()

    def spool(self) -> None:
        """Copy the change lines from the run's table (which goes with the transaction)
        into a temporary file, in the order the records were read."""
        import tempfile

        assert self._conn is not None
        spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115  # kept open: read after the commit
        changed = (select(RUN.c.section, RUN.c.key, RUN.c.action, RUN.c.fields)
                   .where(RUN.c.action.in_(["added", "updated"])).order_by(RUN.c.seq))  # fmt: skip
        for section, key, action, fields in self._conn.execute(changed):
            spool.write(f'[{json.dumps(section)}, {json.dumps(key)}, "{action}", {fields}]\n')
        spool.seek(0)
        self._spool, self._conn = spool, None

    def __iter__(self) -> Iterator[tuple[str, str, str, list[str]]]:
        """(section, key, action, changed fields) of each added or updated record, read
        again from the spool each time (browse.refresh reads them more than once, and a
        large load's would not fit a list)."""
        if self._spool is None:
            return
        self._spool.seek(0)
        for line in self._spool:
            section, key, action, fields = json.loads(line)
            yield section, key, action, fields

    @property
    def changes(self) -> list[tuple[str, str, str, list[str]]]:
        """Every change at once (for a small load; the CLI iterates the report)."""
        return list(self)

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "updated": self.updated,
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
    if not isinstance(raw, dict):
        problems.append(f"{_place(path, section, index, None, line)}: expected a mapping of fields")
        return None
    try:
        record = model.model_validate(raw)
    except ValidationError as exc:
        where = _place(path, section, index, raw.get(model.key_field), line)
        problems.extend(_format_error(where, error) for error in exc.errors())
        return None
    return Item(path, section, index, record)


def _place(path: Path, section: str, index: int, key: Any, line: str) -> str:
    """Where a record is, for a message about it (written only when there is one)."""
    at = f" ({line})" if line else ""
    return f"{path}{at}: {section}[{index}]" + (f" {clip(repr(key), 80)}" if key else "")


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


# --- the run's temporary tables -----------------------------------------------------
# A load holds no record longer than its batch: what it must remember until the end of
# the input lives in temporary tables of the load's own connection (on disk for SQLite,
# dropped with the transaction or at its end).

_RUN_TABLES = MetaData()
# Every record read: its key (a second one is a duplicate), where it was, and what the
# load did with it (NULL until written), which the report and the search rebuild read.
RUN = Table(
    "kz_load_run", _RUN_TABLES,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("section", Text, nullable=False), Column("key", Text, nullable=False),
    Column("place", Text, nullable=False), Column("action", Text), Column("fields", Text),
    UniqueConstraint("section", "key"), prefixes=["TEMPORARY"],
)  # fmt: skip
# Records set aside until the end of the input: one that names a record not yet
# written (a part before its package, a quote of a source given later), as read.
LATER = Table(
    "kz_load_later", _RUN_TABLES,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("section", Text, nullable=False), Column("key", Text, nullable=False),
    Column("file", Text, nullable=False), Column("idx", Integer, nullable=False),
    Column("line", Text, nullable=False), Column("raw", Text, nullable=False),
    Index("ix_kz_load_later", "section", "seq"), prefixes=["TEMPORARY"],
)  # fmt: skip
# Links written once the whole input is read: a deal's event and overlap, a source's
# origin (``wanted`` is the key they name; NULL clears the link).
LINKED = Table(
    "kz_load_links", _RUN_TABLES,
    Column("seq", Integer, primary_key=True), Column("kind", Text, nullable=False),
    Column("record_id", Integer, nullable=False), Column("key", Text, nullable=False),
    Column("wanted", Text), Column("extra", Text), Column("place", Text, nullable=False),
    prefixes=["TEMPORARY"],
)  # fmt: skip
# Sources whose text the run changes: their stored quotes are checked at the end.
RETEXT = Table(
    "kz_load_retext", _RUN_TABLES,
    Column("slug", Text, primary_key=True), Column("place", Text, nullable=False),
    prefixes=["TEMPORARY"],
)  # fmt: skip
_LINK_TARGETS = {"event": "events", "overlaps": "deals", "derived_from": "sources"}


class _Keys:
    """Natural key -> id of the records one batch names, read from the database in one
    query per section: the run's records are written as they come, so the database
    knows every one the run wrote before (never every key of the database at once)."""

    def __init__(self, conn: Connection, wanted: dict[str, set[str]]) -> None:
        self.ids: dict[str, dict[str, int | None]] = {section: {} for section in TABLES}
        for section, names in wanted.items():
            if not names:
                continue
            table = TABLES[section]
            key = table.c[SECTIONS[section].key_field]
            found = conn.execute(select(key, table.c.id).where(key.in_(KEYS)),
                                 {"keys": sorted(names)})  # fmt: skip
            self.ids[section] = {k: i for k, i in found}

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


class _Sources:
    """The normalised text and publication date of the sources a batch cites, read from
    the database by batch; the last few hundred are kept (a run cites the same few
    sources again and again), and those the run rewrites are forgotten."""

    KEPT = 256

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.known: dict[str, tuple[str | None, Any]] = {}

    def get(self, slugs: set[str]) -> tuple[dict[str, str | None], dict[str, Any]]:
        missing = sorted(s for s in slugs if s not in self.known)
        if missing:
            if len(self.known) + len(missing) > self.KEPT:
                self.known.clear()
            sources = TABLES["sources"]
            found = self.conn.execute(
                select(sources.c.slug, sources.c.text, sources.c.published).where(
                    sources.c.slug.in_(KEYS)
                ),
                {"keys": missing},
            )
            for slug, text, published in found:
                self.known[slug] = (normalise_space(text) if text else None, published)
        held = [(s, self.known[s]) for s in slugs if s in self.known]
        return {s: text for s, (text, _) in held}, {s: day for s, (_, day) in held}

    def forget(self, slugs: Iterable[str]) -> None:
        for slug in slugs:
            self.known.pop(slug, None)


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


@lru_cache(maxsize=4096)
def _holds(text: str, quote: str) -> bool:
    """Whether a source's normalised ``text`` holds ``quote``: a search through the
    whole text, remembered, since a run quotes the same excerpts many times. The cache
    is small because each entry keeps its text alive: a load of many sources' texts
    would otherwise hold thousands of them."""
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


def _cited_sources(record: Any) -> Iterator[str]:
    """The slugs of the sources a record's citations, stages, shares and discrepancies
    name."""
    for cited in [*getattr(record, "citations", []), *getattr(record, "stages", [])]:
        yield cited.source
    for party in getattr(record, "parties", []):
        if party.share is not None:
            yield party.share.cited.source
    for discrepancy in getattr(record, "discrepancies", []):
        yield discrepancy.source


class _Stream:
    """One load: records read, checked and written a batch at a time, in the order of
    the files, inside the caller's transaction.

    A record whose references or quotes cannot be checked yet (it names a record or a
    source the input gives later) is set aside in a temporary table and tried again once
    the input is read, as often as that writes more of them; what is still refused then
    is a problem, in the words the checks use. The links only knowable at the end (a
    deal's event and overlap, a source's origin) are written then, and a source whose
    text changed is checked against every quote of it. Problems are collected as the
    run goes (up to MAX_PROBLEMS); any problem raises LoadError at the end, and the
    caller rolls the transaction back."""

    def __init__(self, conn: Connection, progress: Callable[[], None] | None) -> None:
        self.conn, self.progress = conn, progress
        self.problems: list[str] = []
        self.report = Report(conn)
        self.iso = _iso_codes(conn)
        self.sources = _Sources(conn)
        self.chunk: list[Item] = []
        self.seq = 0
        _RUN_TABLES.create_all(conn, checkfirst=False)

    def close(self) -> None:
        """Drop the run's tables (after the report and the search rebuild read them)."""
        _RUN_TABLES.drop_all(self.conn, checkfirst=False)

    def load(self, paths: Iterable[Path]) -> Report:
        """Read, check and write every record of ``paths``; raise LoadError at the end
        when anything was wrong (nothing is committed then)."""
        for name in paths:
            path = Path(name)
            try:
                for entry in records(path, SECTIONS):
                    self._take(path, entry)
            except LoadFileError as exc:
                raise LoadError([str(exc)]) from None
        self._flush()
        while self._retry():  # as long as a round writes some of those set aside
            pass
        self._refuse_the_rest()
        self._link()
        self._check_new_texts()
        if self.problems:
            raise LoadError(self.problems)
        self.report.spool()
        return self.report

    def written(self, size: int = 10_000) -> Iterator[dict[str, list[str] | None]]:
        """The keys of the records the run wrote, by section, ``size`` at a time (the
        search rebuild takes them in pieces, so that a million keys are never a list);
        None for a section whose every stored record the run wrote (the rebuild then
        takes them by kind, as one piece)."""
        for section in SECTIONS:
            wrote = self.conn.execute(
                select(func.count())
                .select_from(RUN)
                .where(RUN.c.section == section, RUN.c.action.is_not(None))
            ).scalar_one()
            stored = self.conn.execute(select(func.count()).select_from(TABLES[section]))
            if wrote and wrote == stored.scalar_one():
                yield {section: None}
                continue
            after = 0
            while True:
                found = self.conn.execute(
                    select(RUN.c.seq, RUN.c.key)
                    .where(RUN.c.section == section, RUN.c.action.is_not(None), RUN.c.seq > after)
                    .order_by(RUN.c.seq)
                    .limit(size)
                ).all()
                if not found:
                    break
                after = found[-1].seq
                yield {section: [key for _, key in found]}

    # -- reading ------------------------------------------------------------------

    def _take(self, path: Path, entry: Entry) -> None:
        item = _validate(path, entry.section, entry.index, entry.record, self.problems,
                         entry.where)  # fmt: skip
        if len(self.problems) >= MAX_PROBLEMS:  # a file of garbage: enough to fix first
            self.problems.append(f"{path}: stopped reading after {MAX_PROBLEMS} problems")
            raise LoadError(self.problems)
        if item is None:
            return
        if self.chunk and (self.chunk[0].section != item.section or len(self.chunk) >= BATCH):
            self._flush()
        item.raw, item.line = entry.record, entry.where
        self.chunk.append(item)

    def _flush(self) -> None:
        """Check and write the records read since the last batch (of one section)."""
        items, self.chunk = self._first_definitions(self.chunk), []
        if not items:
            return
        bundle = Bundle()
        bundle.items[items[0].section] = items
        if items[0].section == "sources":
            for item in items:
                _read_source_text(item, bundle, self.problems)
        later = self._write(items, bundle)
        done = self.report.take_pending()  # the run's rows carry what was done, at once
        rows_run = [{"seq": i.seq, "section": i.section, "key": i.key, "place": i.where(),
                     "action": done.get(i.key, (None, None))[0],
                     "fields": done.get(i.key, (None, None))[1]} for i in items]  # fmt: skip
        insert_many(self.conn, RUN, rows_run)
        rows = [{"seq": i.seq, "section": i.section, "key": i.key, "file": str(i.file),
                 "idx": i.index, "line": i.line, "raw": json.dumps(i.raw, default=str)}
                for i in later]  # fmt: skip
        if rows:
            insert_many(self.conn, LATER, rows)

    def _first_definitions(self, items: list[Item]) -> list[Item]:
        """``items`` without those whose key the run has read before (a problem each),
        each given its place in the run (its row in RUN is written with its batch)."""
        if not items:
            return []
        section, first = items[0].section, dict[str, Item]()
        for item in items:
            if item.key in first:
                where = first[item.key].where()
                self.problems.append(f"{item.where()}: duplicate key, first defined at {where}")
            else:
                first[item.key] = item
        earlier = select(RUN.c.key, RUN.c.place).where(RUN.c.section == section,
                                                       RUN.c.key.in_(KEYS))  # fmt: skip
        seen = dict(self.conn.execute(earlier, {"keys": list(first)}).all())
        fresh = []
        for key, item in first.items():
            if key in seen:
                self.problems.append(f"{item.where()}: duplicate key, first defined at {seen[key]}")
                continue
            self.seq += 1
            item.seq = self.seq
            fresh.append(item)
        return fresh

    # -- checking and writing a batch ---------------------------------------------

    def _context(
        self, items: list[Item], known: Iterable[str] = ()
    ) -> tuple[_Keys, dict[str, str | None], dict[str, Any]]:
        """The ids, source texts and publication dates ``items`` name, from the
        database; their own keys (and ``known`` ones of their section) count as known,
        so that a part may come before its package in a batch."""
        section = items[0].section
        wanted: dict[str, set[str]] = {name: set() for name in TABLES}
        refs = _REFS.get(section, {})
        for item in items:
            record = item.record
            wanted[section].add(item.key)  # a stored record's id, for its links
            for name, target in refs.items():
                if (value := getattr(record, name)) is not None:
                    wanted[target].add(value)
            for party in getattr(record, "parties", []):
                wanted["countries"].add(party.partner)
                wanted["organizations"].add(party.partner)
            wanted["sectors"].update(getattr(record, "sectors", []))
            wanted["sources"].update(_cited_sources(record))
        keys = _Keys(self.conn, wanted)
        texts, published = self.sources.get(wanted["sources"])
        own = keys.ids[section]
        for key in [*(i.key for i in items), *known]:
            own.setdefault(key, None)
        return keys, texts, published

    def _problems(
        self, item: Item, keys: _Keys, texts: dict[str, str | None], published: dict[str, Any]
    ) -> list[str]:
        return _check(item, keys, texts, self.iso) + _check_usd(item, published)

    def _write(self, items: list[Item], bundle: Bundle) -> list[Item]:
        """Write those of ``items`` whose references and quotes hold now (packages
        before their parts); return the others, to be tried again at the end."""
        section = items[0].section
        keys, texts, published = self._context(items)
        waiting = {i.key for i in items if self._problems(i, keys, texts, published)}
        name = _parent_field(section)
        while name:  # a part waits for its package
            more = {i.key for i in items if i.key not in waiting and getattr(i.record, name)
                    in waiting}  # fmt: skip
            if not more:
                break
            waiting |= more
        ready = [i for i in items if i.key not in waiting]
        if section == "sources":
            self._note_new_texts(ready, bundle)
        for level in _levels(ready, self.problems):
            for start in range(0, len(level), BATCH):
                batch = _Batch(self.conn, keys, bundle, published, self.report, self.progress)
                batch.write(level[start : start + BATCH])
        if section == "sources":
            self.sources.forget(i.key for i in ready)
        self._note_links(ready, keys)
        return [i for i in items if i.key in waiting]

    def _note_new_texts(self, items: list[Item], bundle: Bundle) -> None:
        """Remember the sources whose stored text these records change (checked against
        every stored quote at the end, once every record is written)."""
        given = [i for i in items if i.key in bundle.source_texts]
        if not given:
            return
        sources = TABLES["sources"]
        stored = dict(self.conn.execute(
            select(sources.c.slug, sources.c.text).where(sources.c.slug.in_(KEYS)),
            {"keys": [i.key for i in given]},
        ).all())  # fmt: skip
        rows = []
        for item in given:
            old, new = stored.get(item.key), bundle.source_texts[item.key]
            if old is not None and (normalise_space(new) if new else None) != normalise_space(old):
                rows.append({"slug": item.key, "place": item.where()})
        if rows:
            insert_many(self.conn, RETEXT, rows)

    def _note_links(self, items: list[Item], keys: _Keys) -> None:
        """Remember the links written at the end: a deal's event and overlap, a source's
        origin, those the file gives (a field left out keeps its stored link)."""
        if not items or items[0].section not in ("deals", "sources"):
            return
        rows = []
        for item in items:
            r, given = item.record, item.record.model_fields_set
            if item.section == "deals":
                links = [("event", r.event, None), ("overlaps", r.overlaps, r.overlap_note)]
            else:
                links = [("derived_from", r.derived_from, r.relation)]
            for kind, wanted, extra in links:
                if kind in given:
                    rows.append({"kind": kind, "record_id": keys.id(item.section, item.key),
                                 "key": item.key, "wanted": wanted, "extra": extra,
                                 "place": item.where()})  # fmt: skip
        if rows:
            insert_many(self.conn, LINKED, rows)

    # -- after the input --------------------------------------------------------------

    def _set_aside(self, section: str, after: int) -> list[Item]:
        """The next batch of records set aside in ``section``, read again."""
        rows = self.conn.execute(
            select(LATER).where(LATER.c.section == section, LATER.c.seq > after)
            .order_by(LATER.c.seq).limit(BATCH)
        ).all()  # fmt: skip
        items = []
        for row in rows:
            item = _validate(Path(row.file), section, row.idx, json.loads(row.raw), self.problems,
                             row.line)  # fmt: skip
            if item is not None:
                item.seq, item.line = row.seq, row.line
                items.append(item)
        return items

    def _batches_set_aside(self, section: str) -> Iterator[list[Item]]:
        after = 0
        while items := self._set_aside(section, after):
            after = items[-1].seq
            yield items

    def _retry(self) -> bool:
        """One round over the records set aside; True when it wrote some of them."""
        wrote = False
        for section in SECTIONS:
            for items in self._batches_set_aside(section):
                bundle = Bundle()
                bundle.items[section] = items
                if section == "sources":
                    for item in items:
                        _read_source_text(item, bundle, self.problems)
                still = {i.seq for i in self._write(items, bundle)}
                self.report.flush()  # their rows in RUN are there: updated
                done = [i.seq for i in items if i.seq not in still]
                if done:
                    wrote = True
                    self.conn.execute(delete(LATER).where(LATER.c.seq.in_(KEYS)), {"keys": done})
        return wrote

    def _refuse_the_rest(self) -> None:
        """The problems of the records still set aside: unknown references, quotes not in
        their source's text, and packages that form a loop."""
        for section in SECTIONS:
            left = select(LATER.c.key).where(LATER.c.section == section)
            waiting = set(self.conn.execute(left).scalars())
            if not waiting:
                continue
            name = _parent_field(section)
            packages: dict[str, tuple[str, Item]] = {}
            for items in self._batches_set_aside(section):
                keys, texts, published = self._context(items, known=waiting)
                for item in items:
                    self.problems.extend(self._problems(item, keys, texts, published))
                    parent = getattr(item.record, name) if name else None
                    if parent is not None and parent in waiting:
                        packages[item.key] = (parent, item)
            self.problems.extend(_loops(packages, name or ""))

    def _link(self) -> None:
        """Check, then write, the links the records named (once every record is)."""
        for kind, target in _LINK_TARGETS.items():
            table = TABLES[target]
            key = table.c[SECTIONS[target].key_field]
            unknown = select(LINKED.c.place, LINKED.c.wanted).where(
                LINKED.c.kind == kind, LINKED.c.wanted.is_not(None),
                ~select(table.c.id).where(key == LINKED.c.wanted).exists(),
            ).order_by(LINKED.c.seq)  # fmt: skip
            for place, wanted in self.conn.execute(unknown):
                self.problems.append(f"{place}: {kind}: unknown {target[:-1]} {wanted!r}")
        if self.problems:
            return
        after = 0
        while rows := self.conn.execute(
            select(LINKED).where(LINKED.c.seq > after).order_by(LINKED.c.seq).limit(BATCH)
        ).all():
            after = rows[-1].seq
            named: dict[str, set[str]] = {}
            for row in rows:
                if row.wanted is not None:
                    named.setdefault(_LINK_TARGETS[row.kind], set()).add(row.wanted)
            keys = _Keys(self.conn, named)
            for kind, target in _LINK_TARGETS.items():
                links = [(r, keys.id(target, r.wanted)) for r in rows if r.kind == kind]
                if links:
                    _link_later(self.conn, self.report, kind, links)

    def _check_new_texts(self) -> None:
        """A cited source's text is immutable: refuse a new text (or none) for a source
        whose quotes, as the run leaves them, it no longer contains."""
        for slug, place in self.conn.execute(select(RETEXT.c.slug, RETEXT.c.place)).all():
            problem = _broken_quotes(self.conn, slug, place)
            if problem:
                self.problems.append(problem)


def _loops(packages: dict[str, tuple[str, Item]], name: str) -> list[str]:
    """A problem for each loop of packages among records set aside (key -> (its
    package's key, the record))."""
    problems, state = [], dict.fromkeys(packages, 0)  # 0 new, 1 on the path, 2 done
    for start in packages:
        path, key = [], start
        while key in packages and state[key] == 0:
            state[key] = 1
            path.append(key)
            key = packages[key][0]
        if key in packages and state[key] == 1:
            problems.append(f"{packages[key][1].where(name)}: its packages form a loop")
        for visited in path:
            state[visited] = 2
    return problems


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


# The child table of each link written later: (table, its record's column, the column
# naming the other record, the column of the link's note or relation).
_LINK_TABLES = {
    "overlaps": (DEAL_OVERLAPS, "deal_id", "overlaps_id", "note", "deals"),
    "derived_from": (SOURCE_LINKS, "source_id", "derived_from_id", "relation", "sources"),
}


def _link_later(
    conn: Connection, report: Report, kind: str, links: list[tuple[Any, int | None]]
) -> None:
    """Write a batch of one kind of link noted while the records were written (rows of
    LINKED, each with the id of the record it names): a deal's event, a deal's overlap or
    a source's origin. The stored links are read in one query; only those that differ
    are written, and their records reported changed."""
    ids = [row.record_id for row, _ in links]
    if kind == "event":
        deals = TABLES["deals"]
        now = dict(conn.execute(select(deals.c.id, deals.c.event_id).where(deals.c.id.in_(KEYS)),
                                {"keys": ids}).all())  # fmt: skip
        changed = [(row, target) for row, target in links if now.get(row.record_id) != target]
        if changed:
            set_event = update(deals).where(deals.c.id == bindparam("rid"))
            values = [{"rid": row.record_id, "eid": target} for row, target in changed]
            conn.execute(set_event.values(event_id=bindparam("eid")), values)
            report.promote_many("deals", [row.key for row, _ in changed], "event")
        return
    table, column, other, note, section = _LINK_TABLES[kind]
    stored: dict[int, list[tuple[Any, Any]]] = {}
    found = select(table.c[column], table.c[other], table.c[note]).where(table.c[column].in_(KEYS))
    for record_id, other_id, extra in conn.execute(found, {"keys": ids}):
        stored.setdefault(record_id, []).append((other_id, extra))
    changed_keys = []
    for row, target in links:
        wanted = [] if target is None else [(target, row.extra)]
        if stored.get(row.record_id, []) == wanted:
            continue
        rows = [{other: other_id, note: extra} for other_id, extra in wanted]
        if _replace_children(conn, table, column, row.record_id, rows):
            changed_keys.append(row.key)
    report.promote_many(section, changed_keys, kind)


_OWNERS = {column: section for section, column in LINKS.items()}


def _broken_quotes(conn: Connection, slug: str, place: str) -> str | None:
    """Why the new text of source ``slug`` (as the run wrote it) cannot stand: the quotes
    of it, citations and stage changes, that it no longer contains (None: all hold)."""
    sources = TABLES["sources"]
    source_id, new = conn.execute(
        select(sources.c.id, sources.c.text).where(sources.c.slug == slug)
    ).one()
    text = normalise_space(new) if new else None
    broken: list[str] = []
    count = 0
    for kept, table in (("citations", CITATIONS), ("stages", STAGE_CHANGES)):
        quotes = select(table).where(table.c.source_id == source_id, table.c.kind == "quote")
        for row in conn.execute(quotes.order_by(table.c.id)).mappings():
            if text is not None and normalise_space(row["text"]) in text:
                continue
            count += 1
            if len(broken) < 6:
                broken.append(f"{_owner(conn, row)} ({kept})")
    if not count:
        return None
    names = ", ".join(dict.fromkeys(broken[:5])) + (", ..." if count > 5 else "")
    return (
        f"{place}: text: the new text would break {count} citation(s) "
        f"of {names}; a cited source's text does not change (add a new source)"
    )


def _owner(conn: Connection, row: Any) -> str:
    """``agreement some-slug``: the record a citation or stage change belongs to."""
    for column, section in _OWNERS.items():
        if row.get(column) is not None:
            table = TABLES[section]
            key = table.c[SECTIONS[section].key_field]
            found = conn.execute(select(key).where(table.c.id == row[column])).scalar()
            return f"{column.removesuffix('_id')} {found}"
    return "a record"


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


@cache
def _integer_limits(table: Table) -> dict[str, int]:
    """The largest value of each integer column of ``table``, read from its types once
    (not per value of every record)."""
    from sqlalchemy import BigInteger, Integer

    return {
        column.name: _INT_LIMITS["big" if isinstance(column.type, BigInteger) else "int"]
        for column in table.columns
        if isinstance(column.type, Integer)
    }


def _check_integers(item: Item, values: dict[str, Any]) -> None:
    """An integer too large for its column is the file's mistake, named by field (the
    database would say only OverflowError or "integer out of range")."""
    limits = _integer_limits(TABLES[item.section])
    for name, value in values.items():
        limit = limits.get(name)
        if limit is None or not isinstance(value, int) or isinstance(value, bool):
            continue
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
    progress: Callable[[int | None], Callable[[], None] | None] | None = None,
    waiting: Callable[[str], None] | None = None,
) -> Report:
    """Validate ``paths`` and load them in one transaction (rolled back for a dry run).

    ISO countries are added first when missing. ``progress(None)`` (the number of
    records is not known before they are read) may return a callback that is called
    once per record written.
    """
    with engine.connect() as conn, _earlier_objects_frozen():
        transaction = conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                _take_load_lock(conn, waiting)
            sync_iso_countries(conn)
            with per_row_triggers_suspended(conn):
                run = _Stream(conn, progress(None) if progress else None)
                report = run.load(paths)
                for written in run.written():
                    rebuild_search_documents(conn, written)
                run.close()
            rebuild_derived(conn)
            if not dry_run:
                from kzdiplo import browse
                from kzdiplo.contenthash import store_hash

                browse.refresh(conn, report)  # serve's rows of what it wrote (read from its spool)
                store_hash(conn)
        except BaseException:
            transaction.rollback()
            raise
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    return report


@contextmanager
def _earlier_objects_frozen() -> Iterator[None]:
    """The objects that exist before the load (modules, models, SQLAlchemy's and
    pydantic's caches, pycountry's tables: some 80,000 containers) left out of the
    garbage collector's passes until it ends. A load keeps each batch long enough for
    its objects to reach the oldest generation, so Python ran full collections over all
    of them every few batches: about a tenth of a load's time (1.0 s of 11.9 at 20k
    agreements; 0.26 s with them frozen), for no garbage (what the load drops goes by
    reference count). Left as it is when a caller has frozen objects itself."""
    import gc

    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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


def rebuild_search_documents(conn: Connection, written: Mapping[str, Iterable[str] | None]) -> None:
    """The search documents of the records ``written`` names (keys by section: a load
    passes those it wrote, in pieces; None for every record of the kind), rebuilt in two
    statements per kind of record (delete, insert from the ``search_documents`` view,
    the source ``kzdiplo db check`` compares the index with), instead of one rebuild
    per row."""
    if conn.dialect.name != "sqlite":
        return  # PostgreSQL's own triggers kept the index in step
    for section, link in LINKS.items():
        if section not in written:
            continue
        named = written[section]
        chosen = CHOSEN_DOCUMENTS
        params: tuple[str, ...] = (link.removesuffix("_id"), json.dumps(list(named or ())))
        if named is None:  # every record of the kind: by type, no list of keys to match
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
    row = r.model_dump(include=_plain_fields(section))
    row |= refs
    if section == "sources":  # its text may come from a file beside the load file
        row["text"] = bundle.source_texts.get(r.slug)
    entity = BY_PLURAL.get(section)  # None for partners, sources and sectors
    for f in entity.fields if entity else ():
        value = _usd(item, f, published) if isinstance(f, UsdField) else getattr(r, f.key)
        row |= f.to_columns(value)
    return row


@cache
def _plain_fields(section: str) -> frozenset[str]:
    """The fields of ``section``'s load record that are columns of its table as they
    are (worked out once per section, not per record)."""
    return frozenset(k for k in SECTIONS[section].model_fields if k in TABLES[section].c)


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
    names = tuple(rows[0])
    columns = ", ".join(f'"{name}"' for name in names)
    marks = ", ".join("?" for _ in names)
    conn.exec_driver_sql(f'INSERT INTO "{table.name}" ({columns}) VALUES ({marks})',
                         _driver_values(table, names, rows, conn.dialect))  # fmt: skip


def _driver_values(
    table: Table, names: tuple[str, ...], rows: list[dict[str, Any]], dialect: Any
) -> list[tuple[Any, ...]]:
    """``rows`` as tuples of ``names``' values, picked in C (itemgetter); only the columns
    whose type converts a value (dates, JSON lists) pass through their processor, the
    rest go as they are: most columns have none, and calling nothing per value was a
    sixth of a large load's time."""
    from operator import itemgetter

    pick = itemgetter(*names)
    values = [pick(row) for row in rows] if len(names) > 1 else [(pick(row),) for row in rows]
    converted = [(i, p) for i, name in enumerate(names)
                 if (p := _bind_processor(table, name, dialect)) is not None]  # fmt: skip
    if not converted:
        return values
    out = []
    for value in values:
        row = list(value)
        for i, process in converted:
            row[i] = process(row[i])
        out.append(tuple(row))
    return out


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
    empty = _empty_child(table)
    full_rows = [{**empty, **row, column: record_id} for row in rows]
    if len(full_rows) < 2:  # nothing to repeat
        return full_rows
    return list({tuple(r.items()): r for r in full_rows}.values())


@cache
def _empty_child(table: Table) -> dict[str, None]:
    """A child row of ``table`` with every column NULL (copied, never changed)."""
    return dict.fromkeys(_child_columns(table))


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
