"""Read queries: plain functions from a :class:`Reader` and filters to records (dicts).

Nothing here prints. Every record carries its ``partners``, ``sectors`` and ``sources``
(title, URL and the quote each claim rests on).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from kzdiplo import fields
from kzdiplo.entities import BY_TABLE, ENTITIES, Entity
from kzdiplo.errors import UsageError, did_you_mean
from kzdiplo.reader import IN_LIST_MAX, Reader, in_list
from kzdiplo.resolve import Partner, aliases_of, fold, postgres_fold
from kzdiplo.vocab import STAGES


def noun_named(text: str) -> Entity:
    """The noun for ``agreement``, ``agreements``, ``Deal``...; did-you-mean otherwise."""
    wanted = text.strip().lower()
    for noun in ENTITIES.values():
        if wanted in (noun.name, noun.plural):
            return noun
    raise did_you_mean("noun", text, [*ENTITIES, "partner", "source", "sector"])


class Filters(NamedTuple):
    """The filters a listing command was given (already resolved to ids and dates).

    Immutable and built in one call (cli/listing.filters_from): a misspelt filter is a
    TypeError (and a mypy error), never a new attribute; ``_replace`` makes a changed
    copy. A NamedTuple, as ``Asked`` is: a frozen dataclass of these 14 fields cost
    0.8 ms of every listing's start-up to create (six methods compiled by exec)."""

    partner: Partner | None = None
    sector_ids: list[int] | None = None
    year: int | None = None
    since: str | None = None  # ISO date: the first day the user's --since covers
    until: str | None = None  # ISO date: the last day the user's --until covers
    kinds: list[str] | None = None
    commodities: list[str] | None = None
    statuses: list[str] | None = None
    stages: list[str] | None = None
    min_usd: int | None = None
    include_undated: bool = False  # a date filter also keeps records with no date
    bilateral: bool = False  # with partner: only records whose parties are it and KZ
    sort: str | None = None
    limit: int | None = 100  # None: no limit


class Page(NamedTuple):
    records: list[dict[str, Any]]
    more: bool  # rows beyond the limit exist
    undated: int = 0  # records a date filter left out because they have no date
    undated_usd: int | None = None  # the low US dollars of those (deals), when stated


def dated(f: Filters) -> bool:
    """True when ``f`` filters by date (records with no date then drop out)."""
    return f.year is not None or f.since is not None or f.until is not None


def matching_values(reader: Reader, noun: Entity, column: str, text: str) -> list[str]:
    """The stored values of ``column`` that contain ``text`` (any case); did-you-mean else."""
    values = [
        r["v"]
        for r in reader.rows(f"SELECT DISTINCT {column} AS v FROM {noun.table}")
        if r["v"] is not None
    ]
    wanted = text.strip().casefold()
    found = [v for v in values if wanted and wanted in v.casefold()]
    if not found:
        raise did_you_mean(column, text, values)
    return found


# A filter that matches fewer link rows than this is driven from its link table (the
# matching ids, then sort them); a more common one walks the records in sort order and
# stops at the limit. Measured at a million agreements: docs/benchmarks.md.
PROBE_LIMIT = 5000


def _few(reader: Reader, link_sql: str, params: dict[str, Any]) -> bool:
    """True when ``link_sql`` (the ids a filter matches) returns fewer than PROBE_LIMIT rows."""
    probe = f"SELECT count(*) AS n FROM ({link_sql} LIMIT {PROBE_LIMIT}) AS probe"
    return int(reader.rows(probe, params)[0]["n"]) < PROBE_LIMIT


def _link_filter(reader: Reader, column: str, link_sql: str, params: dict[str, Any]) -> str:
    """``t.id IN (link ids)`` for a rare match, ``EXISTS (...)`` for a common one."""
    if _few(reader, link_sql, params):
        return f"t.id IN ({link_sql})"
    return f"EXISTS ({link_sql} AND {column} = t.id)"


def _bilateral(reader: Reader, noun: Entity, partner: Partner, params: dict[str, Any]) -> str:
    """No party other than Kazakhstan (and its organisations) and ``partner``."""
    kz = reader.rows("SELECT id FROM countries WHERE code = 'KZ'")
    countries = [*partner.country_ids, *(r["id"] for r in kz)]
    link = noun.link
    return (
        f"t.id NOT IN (SELECT p.{link} FROM parties p "
        "LEFT JOIN organizations o ON o.id = p.organization_id "
        f"WHERE p.{link} IS NOT NULL "
        f"AND COALESCE(p.country_id, o.country_id, 0) NOT IN {in_list('bc', countries, params)} "
        f"AND COALESCE(p.organization_id, 0) NOT IN "
        f"{in_list('bo', list(partner.organization_ids) or [0], params)})"
    )


def _where(
    reader: Reader, noun: Entity, f: Filters, params: dict[str, Any], undated: bool = False
) -> list[str]:
    """The WHERE clauses of ``f``; ``undated``: the records its date filter leaves out
    because they have no date, instead of those it keeps."""
    where = []
    if f.partner is not None:
        link = noun.link
        link_sql = (
            f"SELECT p.{link} FROM parties p WHERE p.{link} IS NOT NULL AND "
            f"(p.country_id IN {in_list('pc', f.partner.country_ids, params)} OR "
            f"p.organization_id IN {in_list('po', f.partner.organization_ids, params)})"
        )
        where.append(_link_filter(reader, f"p.{link}", link_sql, params))
        if f.bilateral:
            where.append(_bilateral(reader, noun, f.partner, params))
    if f.sector_ids is not None and noun.linked_sectors:
        where.append(
            f"t.id IN (SELECT es.rid FROM ({_own_and_related_sectors(noun)}) es "
            f"WHERE es.sector_id IN {in_list('sec', f.sector_ids, params)})"
        )
    elif f.sector_ids is not None:
        link_sql = (
            f"SELECT rs.{noun.link} FROM record_sectors rs WHERE rs.{noun.link} IS NOT NULL "
            f"AND rs.sector_id IN {in_list('sec', f.sector_ids, params)}"
        )
        where.append(_link_filter(reader, f"rs.{noun.link}", link_sql, params))
    if noun.date is not None and dated(f):
        # A partial date matches when the range it may fall in overlaps the one asked for.
        date = fields.FIELDS[noun.date].names
        start, end = f"t.{date['start']}", f"t.{date['end']}"
        within = []
        if f.year is not None:
            params |= {"year_start": f"{f.year:04d}-01-01", "year_end": f"{f.year:04d}-12-31"}
            within.append(f"{start} <= :year_end AND {end} >= :year_start")
        if f.since is not None:
            params["since"] = f.since
            within.append(f"{end} >= :since")
        if f.until is not None:
            params["until"] = f.until
            within.append(f"{start} <= :until")
        if undated:
            where.append(f"{start} IS NULL")
        elif f.include_undated:
            where.append(f"({start} IS NULL OR ({' AND '.join(within)}))")
        else:
            where.extend(within)
    for column, values in (("kind", f.kinds), ("commodity", f.commodities), ("status", f.statuses)):
        if values is not None:
            where.append(f"t.{column} IN {in_list(column, values, params)}")
    if f.stages is not None and noun.has_stages:
        where.append(f"t.stage IN {in_list('stage', f.stages, params)}")
    if f.min_usd is not None:
        params["min_usd"] = f.min_usd
        where.append(f"t.{fields.USD.names['high']} >= :min_usd")
    return where


def order_by(noun: Entity, sort: str | None) -> str:
    key = (sort or noun.default_sort).strip().lower()  # any case, like every other value
    descending = key.startswith("-")
    key = key.lstrip("-")
    if key not in noun.sorts:
        raise UsageError(
            f"cannot sort {noun.plural} by {key!r}; choose from: {', '.join(noun.sorts)} "
            "(prefix - for descending)"
        )
    if not descending:
        return noun.sorts[key]
    parts = [p.strip() for p in noun.sorts[key].split(",")]
    return ", ".join(p if p.endswith("IS NULL)") else f"{p} DESC" for p in parts)


def select(reader: Reader, noun: Entity) -> str:
    """``SELECT ... FROM <table> t [JOIN ...]``: every column the table has in the open
    database, each reference to another record as that record's slug (``parent_id`` ->
    ``parent``), then what the entity adds (``extra_columns``)."""
    references = reader.references(noun.table)
    columns, joins = [], []
    for column in reader.columns(noun.table):
        target = references.get(column)
        if target not in BY_TABLE:
            columns.append(f"t.{column}")
            continue
        alias = column.removesuffix("_id")
        columns.append(f"r_{alias}.slug AS {alias}")
        joins.append(f"LEFT JOIN {target} r_{alias} ON r_{alias}.id = t.{column}")
    joins.extend(noun.extra_joins)
    return "\n".join(
        [f"SELECT {', '.join([*columns, *noun.extra_columns])}", f"FROM {noun.table} t", *joins]
    )


def referrers(reader: Reader, noun: Entity) -> list[tuple[str, Entity, str]]:
    """(label, kind, column) for each kind of record that points at ``noun``: its parts
    (``parent_id``) first, then e.g. the deals and events of an agreement."""
    found = []
    for other in ENTITIES.values():
        for column, target in reader.references(other.table).items():
            if target == noun.table:
                label = "parts" if column == "parent_id" else other.plural
                found.append((label, other, column))
    return sorted(found, key=lambda f: f[0] != "parts")


def list_records(reader: Reader, noun: Entity, f: Filters) -> Page:
    """The records of ``noun`` matching ``f``, in order, with their links attached."""
    params: dict[str, Any] = {}
    where = _where(reader, noun, f, params)
    sql = select(reader, noun)
    if where:
        sql += "\nWHERE " + "\nAND ".join(where)
    sql += f"\nORDER BY {order_by(noun, f.sort)}"
    if f.limit is not None:
        sql += "\nLIMIT :limit"
        params["limit"] = f.limit + 1
    rows = reader.rows(sql, params)
    more = f.limit is not None and len(rows) > f.limit
    rows = rows[: f.limit] if f.limit is not None else rows
    page = Page(attach(reader, noun, [shape(noun, r) for r in rows]), more)
    if noun.date is not None and dated(f) and not f.include_undated:
        page = page._replace(**_undated(reader, noun, f))
    return page


def _undated(reader: Reader, noun: Entity, f: Filters) -> dict[str, Any]:
    """How many records (and, for deals, how many low US dollars) the date filter of
    ``f`` leaves out because they have no date: a filter never hides in silence."""
    params: dict[str, Any] = {}
    where = " AND ".join(_where(reader, noun, f, params, undated=True))
    money = f"sum(t.{fields.USD.names['low']})" if noun.priced else "NULL"
    row = reader.rows(
        f"SELECT count(*) AS n, {money} AS usd FROM {noun.table} t WHERE {where}", params
    )[0]
    return {"undated": int(row["n"]), "undated_usd": row["usd"]}


def csv_template(reader: Reader, noun: Entity) -> dict[str, Any]:
    """A record of ``noun`` with every nested value present (never shown): the columns
    a CSV of any page of it has, found by shaping a row of placeholders the way real
    rows are shaped, so no list of columns is kept by hand."""
    columns, _ = reader.stream(f"{select(reader, noun)}\nWHERE 1 = 0")

    def placeholder(column: str) -> str:  # "[]": an empty aliases list too
        if column.endswith(("_start", "_end")):
            return "2000-01-01"  # a partial date is shaped (and given its EDTF form)
        return "day" if column.endswith("_precision") else "[]"

    record = shape(noun, {c: placeholder(c) for c in columns})
    record["id"] = 0  # no record has it: its lists stay empty
    return attach(reader, noun, [record])[0]


# --- shaping rows into records --------------------------------------------------------


def shape(noun: Entity, row: dict[str, Any]) -> dict[str, Any]:
    """A flat SQL row as a record: grouped fields (kzdiplo.fields) and aliases as nested
    values."""
    record = fields.shape(row)
    if "aliases" in record:
        record["aliases"] = aliases_of(record["aliases"])
    return record


def _share(party: dict[str, Any]) -> None:
    """A party's stated share as ``share`` {low, high, percent, text, usd}, only when a
    source states one (cited by the record's citation with field ``share:<key>``)."""
    columns = {k: party.pop(f"share_{k}") for k in ("low", "high", "percent", "text")}
    usd = {"low": party.pop("share_usd_low"), "high": party.pop("share_usd_high")}
    if columns["low"] is not None:
        party["share"] = columns | {"usd": usd}


def _chunks(values: Sequence[int], size: int = 500) -> list[Sequence[int]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


_PARTIES_SQL = """
SELECT p.{link} AS rid, p.role,
    CASE WHEN p.country_id IS NOT NULL THEN 'country' ELSE 'organization' END AS type,
    COALESCE(c.code, o.slug) AS key, COALESCE(c.name, o.name) AS name,
    p.share_low, p.share_high, p.share_percent, p.share_text, p.share_usd_low, p.share_usd_high
FROM parties p
LEFT JOIN countries c ON c.id = p.country_id
LEFT JOIN organizations o ON o.id = p.organization_id
WHERE p.{link} IN {ids}
ORDER BY p.id"""

_SECTORS_SQL = """
SELECT rs.{link} AS rid, s.slug FROM record_sectors rs JOIN sectors s ON s.id = rs.sector_id
WHERE rs.{link} IN {ids} ORDER BY rs.id"""


# An event has the sectors of the record it concerns as well as its own: a visit about a
# tungsten deal is a minerals event (``related_sectors``, derived: not in the export).
# Events are few, so this is computed, not stored. Any kind with ``linked_sectors``.
def _related_sectors(noun: Entity) -> str:
    """(rid, sector_id): the sectors of the records each record of ``noun`` refers to
    (through its link column to each other kind: events.agreement_id...)."""
    return " UNION ".join(
        f"SELECT t.id AS rid, rs.sector_id FROM {noun.table} t "
        f"JOIN record_sectors rs ON rs.{link} = t.{link}"
        for link in (e.link for e in ENTITIES.values() if e is not noun)
    )


def _own_and_related_sectors(noun: Entity) -> str:
    """(rid, sector_id): each record's own sectors and those of the records it refers to."""
    return (
        f"SELECT rs.{noun.link} AS rid, rs.sector_id FROM record_sectors rs "
        f"WHERE rs.{noun.link} IS NOT NULL UNION {_related_sectors(noun)}"
    )


_RELATED_SECTORS_SQL = (
    "SELECT es.rid, s.slug FROM ({related}) es JOIN sectors s ON s.id = es.sector_id "
    "WHERE es.rid IN {ids} ORDER BY s.slug"
)

_SOURCES_SQL = """
SELECT ci.{link} AS rid, s.slug AS source, s.title, s.publisher, s.url, s.published,
    ci.kind, ci.text, ci.field, ci.note
FROM citations ci JOIN sources s ON s.id = ci.source_id
WHERE ci.{link} IN {ids} ORDER BY ci.id"""


_DISCREPANCIES_SQL = """
SELECT x.{link} AS rid, x.kind, x.field, x.record_says, x.source_says AS says, x.note,
    s.slug AS source, s.title, s.publisher, s.url, s.published
FROM discrepancies x JOIN sources s ON s.id = x.source_id
WHERE x.{link} IN {ids} ORDER BY x.id"""

_STAGES_SQL = """
SELECT sc.{link} AS rid, sc.stage, sc.date_start, sc.date_end, sc.date_precision,
    sc.date_text, s.slug AS source, s.title, s.publisher, s.url, s.published,
    sc.kind, sc.text, sc.note
FROM stage_changes sc JOIN sources s ON s.id = sc.source_id
WHERE sc.{link} IN {ids}
ORDER BY (sc.date_start IS NULL), sc.date_start, sc.id"""


def cited(row: dict[str, Any]) -> dict[str, Any]:
    """A citation row with its text under ``quote`` (verbatim) or ``summary`` (ours),
    never both: the two are told apart in every format."""
    text = row.pop("text")
    row["quote" if row["kind"] == "quote" else "summary"] = text
    return row


_LINKS_SQL = """SELECT s.slug, o.slug AS origin FROM source_links l
JOIN sources s ON s.id = l.source_id JOIN sources o ON o.id = l.derived_from_id"""
# The links of the sources named and of every source they rest on, each sought through
# the index on source_links.source_id (UNION, not UNION ALL: a loop of links ends). As
# an IN (subquery), not a join, so that SQLite does not walk the whole table for the
# ORDER BY.
_REACHED_SQL = """WITH RECURSIVE reached(id) AS (
    SELECT id FROM sources WHERE slug IN {slugs}
    UNION
    SELECT l.derived_from_id FROM reached JOIN source_links l ON l.source_id = reached.id)
"""


def source_origins(reader: Reader, slugs: Sequence[str] | None = None) -> dict[str, str]:
    """Source slug -> the slug of the source it ultimately rests on (itself when it is
    its own origin): independence is counted by origin, not by page.

    With ``slugs``, only the chains from those sources are read (a record's page, a
    listing's): the whole table of links grows with the sources, the chains do not. A
    source with no link is its own origin and is left out, as with every source."""
    params: dict[str, Any] = {}
    if slugs is None or len(slugs) > IN_LIST_MAX:
        sql = f"{_LINKS_SQL} ORDER BY l.id"
    else:
        sql = (f"{_REACHED_SQL.format(slugs=in_list('slug', slugs, params))}{_LINKS_SQL} "
               "WHERE l.source_id IN (SELECT id FROM reached) ORDER BY l.id")  # fmt: skip
    parent = {r["slug"]: r["origin"] for r in reader.rows(sql, params)}

    def root(slug: str) -> str:
        seen = {slug}
        while slug in parent and parent[slug] not in seen:
            slug = parent[slug]
            seen.add(slug)
        return slug

    return {slug: root(slug) for slug in parent}


def _trust(record: dict[str, Any], origins: dict[str, str]) -> None:
    """Counts a reader needs at a glance: sources, independent origins, disputes."""
    sources = {s["source"] for s in record["sources"]}
    record["source_count"] = len(sources)
    record["independent_sources"] = len({origins.get(s, s) for s in sources})
    disputed = [d for d in record["discrepancies"] if d["kind"] == "disagreement"]
    record["disputes"] = len(disputed)
    record["disputed_fields"] = list(dict.fromkeys(d["field"] for d in disputed))


def attach(
    reader: Reader, noun: Entity | None, records: list[dict[str, Any]], link: str | None = None
) -> list[dict[str, Any]]:
    """Add ``partners``, ``sectors``, ``sources`` and ``discrepancies`` to each record (a
    few batched queries)."""
    link = link or (noun.link if noun else "")
    by_id = {r["id"]: r for r in records}
    wanted = ["sources", "discrepancies"]
    if noun is not None:  # a record, not a partner: it has parties and sectors
        wanted = ["partners", "sectors", *wanted]
        if noun.has_stages:
            wanted.append("stages")
        if noun.linked_sectors:
            wanted.append("related_sectors")
    for r in records:
        for name in wanted:
            r[name] = []
    queries = {
        "partners": _PARTIES_SQL,
        "sectors": _SECTORS_SQL,
        "related_sectors": _RELATED_SECTORS_SQL,
        "sources": _SOURCES_SQL,
        "discrepancies": _DISCREPANCIES_SQL,
        "stages": _STAGES_SQL,
    }
    related = _related_sectors(noun) if noun is not None and noun.linked_sectors else ""
    for chunk in _chunks(list(by_id)):
        for name in wanted:
            params: dict[str, Any] = {}
            sql = queries[name].format(link=link, ids=in_list("id", chunk, params), related=related)
            for row in reader.rows(sql, params):
                target = by_id[row.pop("rid")]
                if name in ("sectors", "related_sectors"):
                    target[name].append(row["slug"])
                    continue
                if "published" in row and row["published"] is not None:
                    row["published"] = str(row["published"])
                if name == "partners":
                    _share(row)
                if name == "stages":
                    row["date"] = fields.DATE.pop(row)
                target[name].append(cited(row) if "text" in row else row)
    if records:
        sources = {s["source"] for r in records for s in r["sources"]}
        origins = source_origins(reader, sorted(sources))
        for r in records:
            _trust(r, origins)
    return records


# --- one record in full -----------------------------------------------------------------


def by_slug(
    reader: Reader, table: str, key: str, columns: str = "id", *, scan: bool = True
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose slug is ``key`` in any case. Loaded slugs are lower
    case, so the key as typed and folded are looked up through the slug's unique index
    (a seek, flat at a million rows). Only a miss, with ``scan``, falls back to comparing
    folded slugs, which reads them all (a slug written in capitals through ad-hoc SQL is
    still found)."""
    typed = key.strip()
    wanted = {"key": typed, "folded": typed.lower()}
    rows = reader.rows(f"SELECT {columns} FROM {table} WHERE slug IN (:key, :folded)", wanted)
    if rows or not scan:
        return rows
    return reader.rows(f"SELECT {columns} FROM {table} WHERE lower(slug) = :folded", wanted)


def _find_id(reader: Reader, table: str, key: str, what: str) -> int:
    rows = by_slug(reader, table, key)
    if not rows and key.strip().isdigit():
        rows = reader.rows(f"SELECT id FROM {table} WHERE id = :id", {"id": int(key)})
    if not rows:
        known = [r["slug"] for r in reader.rows(f"SELECT slug FROM {table}")]
        raise did_you_mean(what, key, known)
    return int(rows[0]["id"])


def kinds_with_slug(reader: Reader, key: str) -> list[str]:
    """The kinds of record (and ``source``) whose slug is ``key``, in any case: what
    `kzdiplo show KEY` without a noun looks up, and how a slug of another kind is named."""
    tables = [(e.name, e.table) for e in ENTITIES.values()] + [("source", "sources")]
    # Index seeks first; the scan of folded slugs only when no table has the key.
    found = [name for name, table in tables if by_slug(reader, table, key, scan=False)]
    return found or [name for name, table in tables if by_slug(reader, table, key)]


def get_record(reader: Reader, noun: Entity, key: str) -> dict[str, Any]:
    """One record by slug (any case) or id, with partners, sectors, sources and links."""
    record_id = _find_id(reader, noun.table, key, noun.name)
    rows = reader.rows(f"{select(reader, noun)}\nWHERE t.id = :id", {"id": record_id})
    record = attach(reader, noun, [shape(noun, rows[0])])[0]
    record["linked"] = {
        label: reader.rows(
            f"SELECT '{other.name}' AS noun, slug, {other.label} AS title FROM {other.table} "
            f"WHERE {column} = :id ORDER BY slug",  # the same order on every backend
            {"id": record_id},
        )
        for label, other, column in referrers(reader, noun)
    }
    return record


def get_partner(reader: Reader, partner: Partner) -> dict[str, Any]:
    """A partner in full: what the sources say of it and every record it is a party to."""
    if partner.type == "country":
        row = reader.rows(
            "SELECT id, code AS key, alpha3, numeric, name, official_name, kind, aliases, "
            "relationship_level, summary FROM countries WHERE id = :id",
            {"id": partner.id},
        )[0]
        link = "country_id"
        row["organizations"] = reader.rows(
            "SELECT slug, name, kind FROM organizations WHERE country_id = :id ORDER BY slug",
            {"id": partner.id},
        )
    else:
        row = reader.rows(
            "SELECT o.id, o.slug AS key, o.name, o.kind, c.code AS country, o.anonymous, "
            "o.aliases, o.summary FROM organizations o LEFT JOIN countries c "
            "ON c.id = o.country_id WHERE o.id = :id",
            {"id": partner.id},
        )[0]
        row["anonymous"] = bool(row["anonymous"])
        link = "organization_id"
    row["aliases"] = aliases_of(row["aliases"])
    params: dict[str, Any] = {}
    condition = (
        f"(p.country_id IN {in_list('pc', partner.country_ids, params)} OR "
        f"p.organization_id IN {in_list('po', partner.organization_ids, params)})"
    )
    records = []
    for noun in ENTITIES.values():
        records += reader.rows(
            f"SELECT DISTINCT '{noun.name}' AS noun, t.slug, t.{noun.label} AS title, p.role, "
            f"COALESCE(c.code, o.slug) AS as_partner FROM parties p "
            f"JOIN {noun.table} t ON t.id = p.{noun.link} "
            f"LEFT JOIN countries c ON c.id = p.country_id "
            f"LEFT JOIN organizations o ON o.id = p.organization_id "
            f"WHERE {condition} ORDER BY t.slug",
            params,
        )
    row["records"] = sorted(records, key=lambda r: (r["role"], r["noun"], r["slug"]))  # by role
    # Its line of the money ledger, as `kzdiplo partners` shows it (None: no agreement or
    # deal credits it), so one command answers "what, and how much, with China".
    row["money"] = next(
        (
            {k: v for k, v in t.items() if k not in ("key", "name", "kind", "organizations")}
            for t in partner_totals(reader, include_kazakhstan=True)
            if t["key"] == row["key"]
        ),
        None,
    )
    return attach(reader, None, [row], link)[0]


# --- partners ---------------------------------------------------------------------------


# Per partner group (a country or bloc with its organisations, or an organisation with
# no home country) and stage: what it signed, and the deals it takes part in with their
# money summed from the money_flows view (migration 0012), the one ledger every total
# reads: own money (basis whole or stated_share) from and to the partner, and apart
# from it the whole sums it shares with others unsplit, targets and ceilings, and deals
# it is involved in with no money-moving role. Each deal counts once per partner.
PARTNER_TOTALS_SQL = """
WITH signed AS (
    SELECT COALESCE(p.country_id, o.country_id) AS gc,
        CASE WHEN p.country_id IS NULL AND o.country_id IS NULL
            THEN p.organization_id END AS go,
        p.agreement_id
    FROM parties p LEFT JOIN organizations o ON o.id = p.organization_id
    WHERE p.agreement_id IS NOT NULL
    GROUP BY COALESCE(p.country_id, o.country_id),
        CASE WHEN p.country_id IS NULL AND o.country_id IS NULL THEN p.organization_id END,
        p.agreement_id
),
per_deal AS (  -- the ledger's rows of one partner and deal, added up
    SELECT country_id AS gc, organization_id AS go, stage, deal_id,
        min(CASE WHEN basis = 'counted_elsewhere' THEN 1 ELSE 0 END) AS elsewhere,
        sum(CASE WHEN direction = 'from' THEN usd_low END) AS from_low,
        sum(CASE WHEN direction = 'from' THEN usd_high END) AS from_high,
        sum(CASE WHEN direction = 'from' AND private = 1 THEN usd_low END) AS private_low,
        sum(CASE WHEN direction = 'from' AND private = 1 THEN usd_high END) AS private_high,
        sum(CASE WHEN direction = 'to' THEN usd_low END) AS to_low,
        sum(CASE WHEN direction = 'to' THEN usd_high END) AS to_high,
        max(CASE WHEN basis = 'shared' THEN 1 ELSE 0 END) AS shared,
        max(CASE WHEN basis = 'regional' THEN 1 ELSE 0 END) AS regional,
        max(CASE WHEN basis IN ('target', 'ceiling') THEN 1 ELSE 0 END) AS target,
        max(CASE WHEN basis = 'involved' AND deal_usd_low IS NOT NULL THEN 1 ELSE 0 END)
            AS involved,
        max(deal_usd_low) AS whole_low, max(deal_usd_high) AS whole_high,
        max(CASE WHEN usd_low IS NOT NULL AND approximate THEN 1 ELSE 0 END) AS approximate,
        max(CASE WHEN basis IN ('whole', 'stated_share', 'shared', 'regional')
            AND deal_usd_low IS NULL THEN 1 ELSE 0 END) AS unpriced
    FROM money_flows
    GROUP BY country_id, organization_id, stage, deal_id
),
rows AS (
    SELECT s.gc, s.go, a.stage, 1 AS agreement_records, COALESCE(a.count, 1) AS agreements,
        0 AS deals, 0 AS not_added, NULL AS from_low, NULL AS from_high,
        NULL AS private_low, NULL AS private_high, NULL AS to_low, NULL AS to_high,
        0 AS shared, NULL AS whole_shared_low, NULL AS whole_shared_high,
        0 AS regional, NULL AS whole_regional_low, NULL AS whole_regional_high,
        0 AS target, NULL AS whole_target_low, NULL AS whole_target_high,
        0 AS involved, NULL AS whole_involved_low, NULL AS whole_involved_high,
        0 AS approximate, 0 AS unpriced
    FROM signed s JOIN agreements a ON a.id = s.agreement_id AND a.parent_id IS NULL
    UNION ALL
    SELECT gc, go, stage, 0, 0, 1, elsewhere, from_low, from_high, private_low,
        private_high, to_low, to_high,
        shared, CASE WHEN shared = 1 THEN whole_low END,
        CASE WHEN shared = 1 THEN whole_high END,
        regional, CASE WHEN regional = 1 THEN whole_low END,
        CASE WHEN regional = 1 THEN whole_high END,
        target, CASE WHEN target = 1 THEN whole_low END,
        CASE WHEN target = 1 THEN whole_high END,
        involved, CASE WHEN involved = 1 THEN whole_low END,
        CASE WHEN involved = 1 THEN whole_high END,
        approximate, unpriced
    FROM per_deal
    UNION ALL  -- partners the sources speak of, even without a record of their own
    SELECT COALESCE(c.country_id, o.country_id),
        CASE WHEN c.country_id IS NULL AND o.country_id IS NULL THEN c.organization_id END,
        NULL, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0, NULL, NULL,
        0, NULL, NULL, 0, NULL, NULL, 0, 0
    FROM citations c LEFT JOIN organizations o ON o.id = c.organization_id
    WHERE c.country_id IS NOT NULL OR c.organization_id IS NOT NULL
)
SELECT gc, go, stage, sum(agreement_records) AS agreement_records,
    sum(agreements) AS agreements, sum(deals) AS deals, sum(not_added) AS not_added,
    sum(from_low) AS from_low, sum(from_high) AS from_high,
    sum(private_low) AS private_low, sum(private_high) AS private_high,
    sum(to_low) AS to_low, sum(to_high) AS to_high,
    sum(shared) AS shared_deals, sum(whole_shared_low) AS shared_low,
    sum(whole_shared_high) AS shared_high,
    sum(regional) AS regional_deals, sum(whole_regional_low) AS regional_low,
    sum(whole_regional_high) AS regional_high,
    sum(target) AS target_deals, sum(whole_target_low) AS target_low,
    sum(whole_target_high) AS target_high,
    sum(involved) AS involved_deals, sum(whole_involved_low) AS involved_low,
    sum(whole_involved_high) AS involved_high,
    max(approximate) AS approximate, sum(unpriced) AS unpriced
FROM rows
GROUP BY gc, go, stage"""

# The columns of partner_totals_cache that PARTNER_TOTALS_SQL fills (db check compares them)
CACHE_COLUMNS = ("gc", "go", "stage", "agreement_records", "agreements", "deals", "not_added",
                 "from_low", "from_high", "private_low", "private_high", "to_low", "to_high",
                 "shared_deals", "shared_low", "shared_high", "regional_deals", "regional_low",
                 "regional_high", "target_deals", "target_low", "target_high",
                 "involved_deals", "involved_low", "involved_high", "approximate",
                 "unpriced")  # fmt: skip
_CACHE_LIST = ", ".join(CACHE_COLUMNS)
REBUILD_PARTNER_TOTALS = [
    "DELETE FROM partner_totals_cache",
    f"INSERT INTO partner_totals_cache ({_CACHE_LIST}) "
    f"SELECT {_CACHE_LIST} FROM ({PARTNER_TOTALS_SQL}) AS totals",
    "UPDATE derived_state SET stale = false WHERE name = 'partner_totals'",
]


def _partner_total_rows(reader: Reader) -> list[dict[str, Any]]:
    """The cached totals when they are fresh, else the live query (triggers mark the
    cache stale on any write: SQLite since migration 0005, PostgreSQL since 0006)."""
    state = reader.rows("SELECT stale FROM derived_state WHERE name = 'partner_totals'")
    if state and not state[0]["stale"]:
        return reader.rows("SELECT * FROM partner_totals_cache")
    return reader.rows(PARTNER_TOTALS_SQL)


NO_STAGE = "not_recorded"  # by_stage's key for records with no stage (keys are text in JSON)
_COUNTS = ("agreement_records", "agreements", "deals", "not_added", "shared_deals",
           "regional_deals", "target_deals", "involved_deals", "unpriced")  # fmt: skip
# (key in the output, column prefix in the totals): USD figures, each {low, high}
_MONEY = (("usd_from_partner", "from"), ("usd_from_partner_private", "private"),
          ("usd_to_partner", "to"), ("shared_unsplit", "shared"),
          ("regional_unsplit", "regional"), ("targets", "target"),
          ("involved_direction_not_stated", "involved"))  # fmt: skip


def _totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures of some of a partner's total rows, added up: counts, and each USD
    figure as {low, high, approximate} (None when no row has one)."""
    counts = {name: sum(int(r[name] or 0) for r in rows) for name in _COUNTS}
    approximate = any(r["approximate"] for r in rows)
    money: dict[str, Any] = {}
    for key, prefix in _MONEY:
        lows = [int(r[f"{prefix}_low"]) for r in rows if r[f"{prefix}_low"] is not None]
        highs = [int(r[f"{prefix}_high"] or 0) for r in rows if r[f"{prefix}_low"] is not None]
        money[key] = (
            {"low": sum(lows), "high": sum(highs), "approximate": approximate} if lows else None
        )
    return {
        "agreements": counts["agreements"],
        "agreement_records": counts["agreement_records"],
        "deals": counts["deals"],
        "deals_not_added": counts["not_added"],
        **{key: money[key] for key, _ in _MONEY[:3]},
        "shared_unsplit_deals": counts["shared_deals"],
        "shared_unsplit": money["shared_unsplit"],
        "regional_unsplit_deals": counts["regional_deals"],
        "regional_unsplit": money["regional_unsplit"],
        "target_deals": counts["target_deals"],
        "targets": money["targets"],
        "involved_deals": counts["involved_deals"],
        "involved_direction_not_stated": money["involved_direction_not_stated"],
        "unpriced_deals": counts["unpriced"],
    }


def partner_totals(
    reader: Reader, include_kazakhstan: bool = False, stages: list[str] | None = None
) -> list[dict[str, Any]]:
    """One row per partner (a country or bloc with its organisations, or an organisation
    without a home country): agreements counted with packages expanded, the deals it
    takes part in, and its money as the money_flows ledger credits it (own money from
    and to it; apart from that, sums shared unsplit, targets, deals it is involved in
    with no direction); ``by_stage`` splits the same figures by stage (one key per
    stage), and ``stages`` keeps only records at those stages."""
    totals = _partner_total_rows(reader)
    params: dict[str, Any] = {}
    used = [r["gc"] for r in totals if r["gc"] is not None]
    countries = {
        r["id"]: r
        for r in reader.rows(
            "SELECT id, code, name, kind, relationship_level FROM countries "
            f"WHERE id IN {in_list('c', used, params)}",
            params,
        )
    }
    organizations = {
        r["id"]: r
        for r in reader.rows("SELECT id, slug, name, kind, country_id FROM organizations")
    }
    groups: dict[tuple[Any, Any], list[dict[str, Any]]] = {}
    for row in totals:
        if (
            stages is not None
            and row["stage"] not in stages
            and (row["agreement_records"] or row["deals"])
        ):
            continue
        groups.setdefault((row["gc"], row["go"]), []).append(row)
    out = []
    for (gc, go), rows in groups.items():
        if gc is not None:
            c = countries[gc]
            if c["code"] == "KZ" and not include_kazakhstan:
                continue
            head = {"key": c["code"], "name": c["name"], "kind": c["kind"]}
            head["relationship_level"] = c["relationship_level"]
            members = [o["slug"] for o in organizations.values() if o["country_id"] == gc]
        else:
            o = organizations[go]
            head = {"key": o["slug"], "name": o["name"], "kind": o["kind"]}
            head["relationship_level"] = None
            members = []
        staged = [r for r in rows if r["agreement_records"] or r["deals"]]
        by_stage = {
            stage or NO_STAGE: _totals([r for r in staged if r["stage"] == stage])
            for stage in sorted({r["stage"] for r in staged}, key=_stage_order)
        }
        out.append(head | _totals(rows) | {"by_stage": by_stage, "organizations": members})
    out.sort(key=lambda r: (-_top(r, "usd_from_partner"), -r["agreements"],
                            -_top(r, "usd_to_partner"), r["key"]))  # fmt: skip
    return out


def _stage_order(stage: str | None) -> int:
    return STAGES.index(stage) if stage in STAGES else len(STAGES)


def _top(row: dict[str, Any], key: str) -> int:
    """Own money from a partner ranks it first, then agreements, then own money to it
    (money shared unsplit, regional, targets and involvement never rank a partner)."""
    return int((row[key] or {"high": 0})["high"])


# --- search -------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return "".join(c if c.isalnum() else " " for c in text).split()


MAX_SEARCH_TERMS = 64  # words (those of a phrase each count) and operators
# Room for 64 long words: a longer query is refused before it is read, so the work a
# query costs is bounded by what it may ask, whatever its length.
MAX_SEARCH_LENGTH = 1_000


def search_terms(text: str) -> list[tuple[str, str]]:
    """The user's query as ``(kind, text)`` terms: ``word`` (a whole word), ``prefix``
    (``word*``), ``phrase`` (``"two words"``) and the operators ``AND``, ``OR``, ``NOT``
    (upper case; words side by side mean AND). Only letters and digits of the user's
    words reach either backend's query syntax."""
    if len(text) > MAX_SEARCH_LENGTH:
        raise UsageError(
            f"search: at most {MAX_SEARCH_TERMS} words and operators, and "
            f"{MAX_SEARCH_LENGTH:,} characters (this query has {len(text):,})"
        )
    terms: list[tuple[str, str]] = []
    for n, part in enumerate(fold(text).split('"')):
        if n % 2:  # inside quotation marks
            if _words(part):
                terms.append(("phrase", " ".join(_words(part))))
            continue
        for token in part.split():
            if token in ("AND", "OR", "NOT"):
                terms.append(("op", token))
            elif _words(token):
                kind = "prefix" if token.endswith("*") else "word"
                terms += [("word", w) for w in _words(token)[:-1]]
                terms.append((kind, _words(token)[-1]))
    if not any(kind != "op" for kind, _ in terms):
        raise UsageError("nothing to search for: give one or more words")
    # 3,000 words took 6 s and SQLite's whole heap; a phrase costs as many words.
    if sum(len(value.split()) for _, value in terms) > MAX_SEARCH_TERMS:
        raise UsageError(f"search: at most {MAX_SEARCH_TERMS} words and operators")
    previous = "op"
    for kind, value in terms:
        if kind == "op" and previous == "op":
            raise UsageError(f"search: {value} needs a word before it (a OR b, a NOT b)")
        previous = kind
    if terms[-1][0] == "op":
        raise UsageError(f"search: {terms[-1][1]} needs a word after it (a OR b, a NOT b)")
    return terms


def _search_query(terms: list[tuple[str, str]], postgres: bool) -> str:
    """``terms`` in FTS5 or tsquery syntax (NOT binds tightest, then AND, then OR in
    both)."""
    out: list[str] = []
    for kind, value in terms:
        if kind == "op":
            out.append({"AND": "&", "OR": "|", "NOT": "& !"}[value] if postgres else value)
            continue
        if out and out[-1] not in ("AND", "OR", "NOT", "&", "|", "& !"):
            out.append("&" if postgres else "AND")
        if postgres:
            value = postgres_fold(value)
            words = value.split()
            out.append(
                "(" + " <-> ".join(words) + ")" if kind == "phrase" else
                f"{value}:*" if kind == "prefix" else value
            )  # fmt: skip
        else:
            out.append(f'"{value}"*' if kind == "prefix" else f'"{value}"')
    return " ".join(out).replace("& ! ", "& !")


SEARCH_COLUMNS = ("noun", "key", "title", "snippet", "score")  # each match's keys
# Matches a SQLite search ranks at most (the most recently added: the highest ids):
# ranking costs each match a read of its length, 57 ms for 60,000 matches at a million
# records against 7 ms for 2,000.
SEARCH_WINDOW = 2_000


def search(reader: Reader, text: str, limit: int = 20) -> list[dict[str, Any]]:
    """Records whose names, aliases, summaries or quotes match ``text`` (search_terms:
    whole words, ``word*``, "phrases", AND/OR/NOT), best first; ``score`` is higher for
    better matches."""
    terms = search_terms(text)
    # A document holds each field on a line of its own (migration 0011): snippets show
    # the line breaks as " | ", so one field does not run into the next.
    if reader.dialect == "postgresql":
        # The search table of migration 0006: its GIN index finds the matches (the view
        # computed every document's tsvector on every search); snippets for the page only.
        # The query's words are folded as kzdiplo_fold (0014) folded the documents.
        return reader.rows(
            """WITH best AS (
                SELECT s.doc_id, round(ts_rank(s.document, q)::numeric, 3) AS score
                FROM search_index s, to_tsquery('english', :q) AS q
                WHERE s.document @@ q
                ORDER BY score DESC, s.key LIMIT :limit)
            SELECT s.noun, s.key, s.label AS title,
                replace(ts_headline('english', s.title || CASE WHEN s.body = '' THEN ''
                    ELSE chr(10) || s.body END, to_tsquery('english', :q),
                    'StartSel=[, StopSel=], MaxWords=14, MinWords=5'), chr(10), ' | ')
                    AS snippet,
                best.score
            FROM best JOIN search_index s ON s.doc_id = best.doc_id
            ORDER BY best.score DESC, s.key""",
            {"q": _search_query(terms, postgres=True), "limit": limit},
        )
    # BM25 has no shortcut: it reads every ranked match's length. So the matches ranked
    # are the newest SEARCH_WINDOW (FTS5 walks rowids downwards and stops there; a rowid
    # is the record's id * 8 + its kind), a cost bounded by the window, not the data;
    # fewer matches than that are all ranked. Snippets are cut for the page only.
    return reader.rows(
        """WITH floor AS (
            SELECT rowid AS id FROM search_index WHERE search_index MATCH :q
            ORDER BY rowid DESC LIMIT 1 OFFSET :window - 1),
        best AS (
            SELECT rowid AS id, bm25(search_index, 0, 0, 0, 5.0, 1.0) AS rank
            FROM search_index WHERE search_index MATCH :q
            AND rowid >= coalesce((SELECT id FROM floor), 0) ORDER BY rank LIMIT :limit)
        SELECT noun, key, label AS title,
            replace(snippet(search_index, -1, '[', ']', '…', 12), char(10), ' | ') AS snippet,
            round(-best.rank, 3) AS score
        FROM best CROSS JOIN search_index ON search_index.rowid = best.id
        WHERE search_index MATCH :q ORDER BY best.rank""",
        {"q": _search_query(terms, postgres=False), "limit": limit,
         "window": search_window(limit)},
    )  # fmt: skip


def search_window(limit: int) -> int:
    """How many of the newest matches a SQLite search ranks: SEARCH_WINDOW, or all the
    matches asked for when ``--limit`` asks for more."""
    return max(SEARCH_WINDOW, limit)


def search_overflows(reader: Reader, text: str, limit: int) -> bool:
    """Whether more records match ``text`` than a SQLite search ranks (so the best of
    the newest were shown, not the best of all): one look past the window, which stops
    there."""
    if reader.dialect == "postgresql":
        return False  # its GIN index ranks every match
    rows = reader.rows(
        "SELECT rowid FROM search_index WHERE search_index MATCH :q "
        "ORDER BY rowid DESC LIMIT 1 OFFSET :window",
        {"q": _search_query(search_terms(text), postgres=False),
         "window": search_window(limit)},
    )  # fmt: skip
    return bool(rows)


# --- audit ------------------------------------------------------------------------------


def _buckets(counts: list[int]) -> dict[str, int]:
    out = {"1": 0, "2": 0, "3+": 0}
    for n in counts:
        out["3+" if n >= 3 else str(n)] += 1
    return out


def audit(reader: Reader) -> dict[str, Any]:
    """How well each record is sourced: its sources and its independent origins (a
    source that republishes or reports on another counts with its origin), the same per
    field, the single source of each single-sourced record, every disagreement, and the
    refinements (where a second source made a record more precise) apart."""
    origins = source_origins(reader)
    cited: dict[tuple[str, str], dict[str | None, set[str]]] = {}
    for r in reader.rows(
        "SELECT record_type, record_key, field, source FROM citation_details "
        "ORDER BY record_type, record_key, citation_id"
    ):
        fields = cited.setdefault((r["record_type"], r["record_key"]), {})
        fields.setdefault(r["field"], set()).add(r["source"])
    records: list[dict[str, Any]] = []
    for (record_type, key), fields in cited.items():
        sources = set().union(*fields.values())
        independent = {origins.get(s, s) for s in sources}
        records.append(
            {"record_type": record_type, "record_key": key, "sources": len(sources),
             "independent_sources": len(independent), "origins": sorted(independent)}
        )  # fmt: skip
    per_field = [
        {"record_type": t, "record_key": k, "field": f, "sources": len(v),
         "independent_sources": len({origins.get(s, s) for s in v})}
        for (t, k), fields in cited.items()
        for f, v in fields.items()
        if f is not None
    ]  # fmt: skip
    summary: dict[str, dict[str, int]] = {}
    for record_type in sorted({r["record_type"] for r in records}):
        mine = [r for r in records if r["record_type"] == record_type]
        summary[record_type] = _buckets([r["independent_sources"] for r in mine]) | {
            "records": len(mine)
        }
    found = reader.rows(
        "SELECT record_type, record_key, kind, field, record_says, source_says, note, source, "
        "source_title, publisher, url FROM discrepancy_details "
        "ORDER BY record_type, record_key, field, discrepancy_id"
    )
    single = [
        {"record_type": r["record_type"], "record_key": r["record_key"],
         "origin": r["origins"][0], "sources": r["sources"]}
        for r in records
        if r["independent_sources"] == 1
    ]  # fmt: skip
    two_or_more = sum(1 for r in records if r["independent_sources"] >= 2)
    return {
        "summary": summary,
        "records": records,
        "fields": per_field,
        "share_with_two_or_more_independent": round(two_or_more / len(records), 3)
        if records
        else None,
        "discrepancies": [d for d in found if d["kind"] == "disagreement"],
        "refinements": [d for d in found if d["kind"] == "refinement"],
        "single_sourced": single,
    }


# --- sources ------------------------------------------------------------------------------

_SOURCE_LIST = """
SELECT s.id, s.slug, s.title, s.publisher, s.published, s.kind, s.url,
    o.slug AS derived_from, l.relation,
    (SELECT count(*) FROM citations c WHERE c.source_id = s.id) AS citation_count,
    (SELECT count(*) FROM discrepancies x WHERE x.source_id = s.id) AS discrepancy_count,
    CASE WHEN s.text IS NULL THEN 0 ELSE 1 END AS text_held
FROM sources s
LEFT JOIN source_links l ON l.source_id = s.id
LEFT JOIN sources o ON o.id = l.derived_from_id"""


def _source_row(row: dict[str, Any]) -> dict[str, Any]:
    row["published"] = None if row["published"] is None else str(row["published"])
    row["text_held"] = bool(row["text_held"])
    return row


def list_sources(reader: Reader) -> list[dict[str, Any]]:
    """Every source: publisher, date, URL, what it rests on, how much cites it."""
    origins = source_origins(reader)
    rows = reader.rows(f"{_SOURCE_LIST} ORDER BY s.published IS NULL, s.published, s.slug")
    return [_source_row(r) | {"origin": origins.get(r["slug"], r["slug"])} for r in rows]


def get_source(reader: Reader, key: str) -> dict[str, Any]:
    """One source with every record and field that cites it, and what it disputes."""
    source_id = _find_id(reader, "sources", key, "source")
    row = _source_row(reader.rows(f"{_SOURCE_LIST} WHERE s.id = :id", {"id": source_id})[0])
    row["origin"] = source_origins(reader, [row["slug"]]).get(row["slug"], row["slug"])
    row["derived_by"] = reader.rows(
        "SELECT s.slug, l.relation FROM source_links l JOIN sources s ON s.id = l.source_id "
        "WHERE l.derived_from_id = :id ORDER BY s.slug",
        {"id": source_id},
    )
    row["cited_by"] = [
        cited(r)
        for r in reader.rows(
            "SELECT c.record_type, c.record_key, c.field, ci.kind, ci.text, ci.note "
            "FROM citation_details c JOIN citations ci ON ci.id = c.citation_id "
            "WHERE c.source = :slug ORDER BY c.record_type, c.record_key, c.citation_id",
            {"slug": row["slug"]},
        )
    ]
    row["disputes"] = reader.rows(
        "SELECT record_type, record_key, kind, field, source_says AS says, record_says "
        "FROM discrepancy_details WHERE source = :slug ORDER BY record_type, record_key",
        {"slug": row["slug"]},
    )
    return row
