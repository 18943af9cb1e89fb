"""The browse tables ``kzdiplo serve`` shows, kept in the database itself (migration 0017).

Datasette on the raw tables shows the data badly (a year-only date faceted on 1 January,
"US, KZ" as one partner, no page with a record's citations), so serve shows derived
tables: ``records`` (one row per record, its lists as JSON arrays for array facets),
``records_counts`` (each facet's counts, over every record and per kind) and
``partner_money`` (the partners command's totals per partner and stage).

Serve used to build them in a copy of the database at every start, in Python: 145 s and
6.7 GiB at a million agreements. Now every load and seed rebuilds them in the load's
transaction (``rebuild``, set-based SQL: a few correlated subqueries per record over the
link tables' indexes), ``kzdiplo db upgrade`` builds them when they are missing, and any
other write marks them stale (triggers, as for the content hash), so serve opens the
user's file read-only as it is when they are fresh and builds them in a temporary copy
only when they are not. ``records.id`` is the search index's document id (``record id *
8 + noun number``, migration 0002), so the records page searches ``search_index``.

Only SQLite has them filled: serve reads SQLite (PostgreSQL users export a SQLite copy).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from kzdiplo.browse_tables import (
    ARRAY_FACETS,
    COLUMN_FACETS,
    MONEY_COLUMNS,
    RECORDS_COLUMNS,
)
from kzdiplo.entities import ENTITIES, Entity
from kzdiplo.fields import AMOUNT, DATES, FIELDS, USD, PartialDateField

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kzdiplo.reader import Reader

BROWSE_STATE = "browse"  # its row in derived_state: stale flag, and the longest value's size

# A record's number in the search index's document id (migration 0002): ENTITIES' order.
NOUN_NUMBER = {name: number for number, name in enumerate(ENTITIES)}
DOC_ID_STRIDE = 8


def _date_columns(field: PartialDateField) -> dict[str, str]:
    return {k: f"t.{c}" for k, c in field.names.items()}


def _main_date(noun: Entity) -> dict[str, str]:
    """The SELECT expressions of the main date's columns (NULL for a record without one)."""
    if noun.date is None:
        return {k: "NULL" for k in ("text", "shown", "start", "end", "precision")}
    field = FIELDS[noun.date]
    assert isinstance(field, PartialDateField)
    c = _date_columns(field)
    known = f"{c['start']} IS NOT NULL"
    args = ", ".join(c[k] for k in ("start", "end", "precision", "text", "inferred", "note"))
    return {
        "shown": f"kz_date_text({args})",
        "text": f"CASE WHEN {known} THEN NULLIF({c['text']}, '') END",
        "start": c["start"],
        "end": f"CASE WHEN {known} THEN {c['end']} END",
        "precision": f"CASE WHEN {known} THEN {c['precision']} END",
    }


def _years(noun: Entity) -> str:
    dates = [d for d in DATES if d.key in noun.grouped]
    args = ", ".join(f"t.{d.names['start']}, t.{d.names['end']}" for d in dates)
    return f"kz_years({args})"


def records_select(noun: Entity, columns: set[str], prefix: str) -> str:
    """SELECT of ``noun``'s rows of ``records`` in RECORDS_COLUMNS' order: the same values
    kzdiplo's own listing gives (queries.list_records), computed in SQL per record.
    ``columns``: the columns its table has; ``prefix``: the record page's address."""
    link = noun.link
    date = _main_date(noun)
    joins = (
        "FROM parties p LEFT JOIN countries c ON c.id = p.country_id "
        "LEFT JOIN organizations o ON o.id = p.organization_id"
    )
    parties = f"{joins} WHERE p.{link} = t.id"
    home = f"{joins} LEFT JOIN countries h ON h.id = o.country_id WHERE p.{link} = t.id"
    disagreements = f"FROM discrepancies x WHERE x.{link} = t.id AND x.kind = 'disagreement'"
    priced = noun.priced
    usd_low, usd_high = (f"t.{USD.names['low']}", f"t.{USD.names['high']}")
    amount = AMOUNT.names
    values = {
        "id": f"t.id * {DOC_ID_STRIDE} + {NOUN_NUMBER[noun.name]}",
        "title": f"COALESCE(NULLIF(t.{noun.label}, ''), t.slug)",
        "noun": f"'{noun.name}'",
        "date": date["shown"],
        "date_text": date["text"],
        "usd_low": usd_low if priced else "NULL",
        "usd_high": f"CASE WHEN {usd_low} IS NOT NULL THEN {usd_high} END" if priced else "NULL",
        "approximate": (
            f"CASE WHEN t.{amount['low']} IS NOT NULL AND t.{amount['approximate']} THEN 1 "
            "ELSE 0 END" if "amount" in noun.grouped else "0"
        ),
        "stage": "COALESCE(NULLIF(t.stage, ''), 'not recorded')" if noun.has_stages else "NULL",
        "partners": "(SELECT json_group_array(key) FROM (SELECT COALESCE(c.code, o.slug) AS "
        f"key, min(p.id) AS first {parties} GROUP BY key ORDER BY first))",
        "kind": "t.kind" if "kind" in columns else "NULL",
        "disputes": f"(SELECT count(*) {disagreements})",
        "slug": "t.slug",
        "date_start": date["start"],
        "date_end": date["end"],
        "date_precision": date["precision"],
        "years": _years(noun),
        "partner_countries": "(SELECT json_group_array(cc) FROM (SELECT "
        "CASE WHEN p.country_id IS NOT NULL THEN c.code ELSE h.code END AS cc, "
        f"min(p.id) AS first {home} "
        "GROUP BY cc HAVING cc IS NOT NULL ORDER BY first))",
        "roles": "(SELECT json_group_array(role) FROM (SELECT DISTINCT p.role AS role "
        f"FROM parties p WHERE p.{link} = t.id AND p.role IS NOT NULL AND p.role != '' "
        "ORDER BY role))",
        "partner_roles": "(SELECT json_group_array(pair) FROM (SELECT COALESCE(c.code, o.slug) "
        f"|| ': ' || COALESCE(p.role, 'None') AS pair {parties} ORDER BY p.id))",
        "sectors": "(SELECT json_group_array(slug) FROM (SELECT s.slug FROM record_sectors rs "
        f"JOIN sectors s ON s.id = rs.sector_id WHERE rs.{link} = t.id ORDER BY rs.id))",
        "disputed_fields": "(SELECT json_group_array(field) FROM (SELECT x.field, min(x.id) "
        f"AS first {disagreements} GROUP BY x.field ORDER BY first))",
        "source_count": f"(SELECT count(DISTINCT ci.source_id) FROM citations ci "
        f"WHERE ci.{link} = t.id)",
        "independent_sources": "(SELECT count(DISTINCT g.origin) FROM citations ci "
        f"JOIN temp.kz_origins g ON g.source_id = ci.source_id WHERE ci.{link} = t.id)",
        "summary": "t.summary" if "summary" in columns else "NULL",
        "quotes": "(SELECT COALESCE(group_concat(said, ' '), '') FROM (SELECT "
        f"COALESCE(ci.text, '') AS said FROM citations ci WHERE ci.{link} = t.id "
        "ORDER BY ci.id))",
        "page": f"'{prefix}{noun.name}/' || t.slug",
    }  # fmt: skip
    assert list(values) == list(RECORDS_COLUMNS)
    return f"SELECT {', '.join(values.values())} FROM {noun.table} t"


@lru_cache(maxsize=65536)
def _date_text(start: Any, end: Any, precision: Any, text: Any, inferred: Any, note: Any) -> Any:
    """A partial date's short text, as the listings show it (None: no date). Kept per
    distinct date: records share a few thousand dates (years, months), and shaping one
    in Python was a third of the records table's rebuild."""
    from kzdiplo.fields import DATE

    row = dict(zip(DATE.names.values(), (start, end, precision, text, inferred, note), strict=True))
    value = DATE.shape(row)
    return DATE.text(value) if value else None


@lru_cache(maxsize=65536)
def _years_json(*bounds: Any) -> str:
    """JSON array of every year any (start, end) pair may fall in, as strings, in order."""
    found: set[int] = set()
    for start, end in zip(bounds[::2], bounds[1::2], strict=True):
        if start is not None and end is not None:
            found.update(range(int(str(start)[:4]), int(str(end)[:4]) + 1))
    return json.dumps([str(y) for y in sorted(found)])


def _functions(raw: Any) -> None:
    """The two SQL functions the records SELECT calls: kzdiplo's own date text and years."""
    raw.create_function("kz_date_text", 6, _date_text, deterministic=True)
    raw.create_function("kz_years", -1, _years_json, deterministic=True)


def money_rows(reader: Reader) -> list[dict[str, Any]]:
    """``partner_money``'s rows: kzdiplo partners' totals, one row per partner and stage."""
    from kzdiplo.display import not_own, usd_total
    from kzdiplo.queries import NO_STAGE, partner_totals

    rows = []
    for p in partner_totals(reader):
        for stage, s in p["by_stage"].items():
            f, t = s["usd_from_partner"] or {}, s["usd_to_partner"] or {}
            rows.append({
                "partner": p["key"], "name": p["name"],
                "stage": None if stage == NO_STAGE else stage,
                "from_partner": usd_total(f) if f else None,
                "to_partner": usd_total(t) if t else None,
                "usd_from_low": f.get("low"), "usd_from_high": f.get("high"),
                "usd_to_low": t.get("low"), "usd_to_high": t.get("high"),
                "approximate": int(bool(f.get("approximate") or t.get("approximate"))),
                "not_own": "; ".join(not_own(s)) or None,
                "unpriced_deals": s["unpriced_deals"], "deals": s["deals"],
                "agreements": s["agreements"],
            })  # fmt: skip
    return rows


def _counts_sql() -> list[str]:
    """INSERTs of records_counts: each facet's counts over every record and per kind,
    and the records with coordinates of each kind."""
    from kzdiplo.fields import COORDINATES

    into = "INSERT INTO records_counts (noun, facet, value, count) "
    out = []
    for facet in COLUMN_FACETS:
        out.append(f"{into}SELECT noun, '{facet}', {facet}, count(*) FROM records "
                   f"WHERE {facet} IS NOT NULL GROUP BY noun, {facet}")  # fmt: skip
    for facet in ARRAY_FACETS:
        pairs = (
            f"(SELECT DISTINCT r.id, r.noun, j.value AS value FROM records r, "
            f"json_each(r.{facet}) j)"
        )
        out.append(f"{into}SELECT noun, '{facet}', value, count(*) FROM {pairs} "
                   "GROUP BY noun, value")  # fmt: skip
    # Over every kind: the sum of the kinds' counts (each record is of one kind), read
    # from the rows just written instead of a second pass over records.
    facets = ", ".join(f"'{f}'" for f in (*COLUMN_FACETS, *ARRAY_FACETS))
    out.append(f"{into}SELECT NULL, facet, value, sum(count) FROM records_counts "
               f"WHERE noun IS NOT NULL AND facet IN ({facets}) GROUP BY facet, value")  # fmt: skip
    latitude = COORDINATES.names["latitude"]
    for noun in ENTITIES.values():
        if noun.placed:
            out.append(f"{into}SELECT NULL, 'placed', '{noun.name}', count(*) FROM {noun.table} "
                       f"WHERE {latitude} IS NOT NULL")  # fmt: skip
    return out


def longest_value(raw: Any) -> int:
    """The size in bytes of the longest value in any table of the database (serve's
    value-size limit must let it be read)."""
    longest = 0
    tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [r[1] for r in raw.execute(f'PRAGMA table_info("{table}")')]
        sizes = ", ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
        (size,) = raw.execute(f'SELECT max(max(0, {sizes})) FROM "{table}"').fetchone()
        longest = max(longest, size or 0)
    return longest


def rebuild(conn: Connection) -> None:
    """Rebuild the browse tables inside the caller's transaction (SQLite only: on
    PostgreSQL they stay empty and stale) and mark them fresh, with the size of the
    longest stored value."""
    if conn.dialect.name != "sqlite":
        return
    from kzdiplo.reader import ConnectionReader

    reader = ConnectionReader(conn)
    run = conn.exec_driver_sql
    for table in ("records", "records_counts", "partner_money"):
        run(f"DELETE FROM {table}")
    with _origins(conn, reader):
        for noun in ENTITIES.values():
            run(_records_insert(reader, noun))
    for statement in _counts_sql():
        run(statement)
    _money(conn, reader)
    _mark_fresh(conn, reader, longest_value(conn.connection.driver_connection))


@contextmanager
def _origins(conn: Connection, reader: Reader) -> Iterator[None]:
    """The temporary table the records SELECT counts independent sources by (each
    source's origin, kzdiplo's own rule), and the SQL functions it calls."""
    from kzdiplo.queries import source_origins

    _functions(conn.connection.driver_connection)
    origins = source_origins(reader)
    run = conn.exec_driver_sql
    run("DROP TABLE IF EXISTS temp.kz_origins")
    run("CREATE TEMP TABLE kz_origins (source_id INTEGER PRIMARY KEY, origin TEXT)")
    sources = [(s["id"], origins.get(s["slug"], s["slug"]))
               for s in reader.rows("SELECT id, slug FROM sources")]  # fmt: skip
    if sources:
        run("INSERT INTO temp.kz_origins VALUES (?, ?)", sources)
    yield
    run("DROP TABLE temp.kz_origins")


def _records_insert(reader: Reader, noun: Entity, where: str = "") -> str:
    """The INSERT of ``noun``'s rows of records (those ``where`` keeps: all by default)."""
    from kzdiplo.web.pages import RECORD_PREFIX

    columns = set(reader.columns(noun.table))
    select = records_select(noun, columns, RECORD_PREFIX)
    return f"INSERT INTO records ({', '.join(RECORDS_COLUMNS)}) {select} {where}".rstrip()


def _money(conn: Connection, reader: Reader) -> None:
    """partner_money rebuilt whole: a few rows per partner, read from the partners
    totals the load has just rebuilt (no pass over the records)."""
    conn.exec_driver_sql("DELETE FROM partner_money")
    money = [c for c in MONEY_COLUMNS if c != "id"]
    rows = money_rows(reader)
    if rows:
        marks = ", ".join(f":{c}" for c in money)
        conn.exec_driver_sql(
            f"INSERT INTO partner_money ({', '.join(money)}) VALUES ({marks})", rows
        )


def _mark_fresh(conn: Connection, reader: Reader, longest: int) -> None:
    value = json.dumps({"longest": longest, "last_ids": _last_ids(reader)})
    conn.exec_driver_sql(
        "UPDATE derived_state SET stale = 0, value = ? WHERE name = ?", (value, BROWSE_STATE)
    )


def _last_ids(reader: Reader) -> dict[str, int]:
    """The highest id of each table of records (one index seek each)."""
    return {
        noun.table: int(reader.rows(f"SELECT coalesce(max(id), 0) AS n FROM {noun.table}")[0]["n"])
        for noun in ENTITIES.values()
    }


def fresh_limit(reader: Reader) -> int | None:
    """The longest stored value's size when the browse tables are fresh; None when they
    are stale: written to since the last load (the triggers say so), never built, or
    appended to by a writer that dropped the triggers for its bulk insert (as
    benchmarks/synth.py does: each table's highest id is no longer the one kept)."""
    kept = _kept_state(reader)
    if kept is None or kept["last_ids"] != _last_ids(reader):
        return None
    return int(kept["longest"])


def refresh(conn: Connection, changes: Iterable[tuple[str, str, str, list[str]]]) -> None:
    """After a load: the browse tables made equal to a full rebuild by rewriting only the
    rows of the records the load added or updated (``changes``: the load report's
    (section, key, action, fields), read more than once), the counts of their facet
    values and, when one of them is placed, their kind's count of placed records. Falls
    back to :func:`rebuild` when the tables were not fresh before the load, the load
    updated a source, a partner or a sector (rows of records it did not write may depend
    on it), or it changed more than REFRESH_MAX records."""
    if conn.dialect.name != "sqlite":
        return
    from kzdiplo.reader import ConnectionReader

    reader = ConnectionReader(conn)
    written = _written_ids(reader, changes)
    kept = _kept_state(reader)
    if written is None or kept is None or not _only_load_appended(reader, kept, written):
        rebuild(conn)
        return
    run = conn.exec_driver_sql
    run("DROP TABLE IF EXISTS temp.kz_touched")
    run("CREATE TEMP TABLE kz_touched (doc_id INTEGER PRIMARY KEY)")
    doc_ids = [(i * DOC_ID_STRIDE + NOUN_NUMBER[n],) for n, ids in written.items() for i in ids]
    if doc_ids:  # (none: the load wrote no record of these kinds)
        run("INSERT INTO temp.kz_touched VALUES (?)", doc_ids)
    run("DROP TABLE IF EXISTS temp.kz_delta")
    run("CREATE TEMP TABLE kz_delta (noun TEXT, facet TEXT, value, n INTEGER)")
    run(_facet_values_insert(-1))  # what the old rows counted
    run("DELETE FROM records WHERE id IN (SELECT doc_id FROM temp.kz_touched)")
    with _origins(conn, reader):
        for name, ids in written.items():
            noun = ENTITIES[name]
            run(_records_insert(reader, noun, WRITTEN_IDS), (json.dumps(ids),))
    run(_facet_values_insert(+1))  # what the new rows count
    _apply_delta(conn)
    _recount_placed(conn, changes, written)
    _money(conn, reader)
    longest = max(int(kept["longest"]), _longest_written(conn, changes, written))
    run("DROP TABLE temp.kz_delta")
    run("DROP TABLE temp.kz_touched")
    _mark_fresh(conn, reader, longest)


WRITTEN_IDS = "WHERE t.id IN (SELECT value FROM json_each(?))"


REFRESH_MAX = 50_000  # records a load changed, beyond which the tables are rebuilt whole


def _written_ids(
    reader: Reader, changes: Iterable[tuple[str, str, str, list[str]]]
) -> dict[str, list[int]] | None:
    """The ids of the records the load added or updated, by noun; None when it updated
    a source, partner or sector: rows of records it did not write may depend on those
    (a source's origin, an organisation's home country). An added one changes no stored
    row: nothing referred to it before. None too beyond REFRESH_MAX changes: the full
    rebuild is set-based, where these keys would all be held in memory."""
    by_section = {noun.plural: noun for noun in ENTITIES.values()}
    keys: dict[str, list[str]] = {}
    for count, (section, key, action, _) in enumerate(changes, 1):
        if count > REFRESH_MAX:
            return None
        if section in by_section:
            keys.setdefault(by_section[section].name, []).append(key)
        elif action != "added":
            return None
    return {
        name: [int(r["id"]) for r in reader.rows(
            f"SELECT id FROM {ENTITIES[name].table} WHERE slug IN (SELECT value FROM "
            "json_each(:keys)) ORDER BY id", {"keys": json.dumps(slugs)})]
        for name, slugs in keys.items()
    }  # fmt: skip


def _kept_state(reader: Reader) -> dict[str, Any] | None:
    """The state the last rebuild kept (longest value, highest ids) while the tables are
    marked fresh; None otherwise."""
    rows = reader.rows(
        "SELECT value FROM derived_state WHERE name = :name AND NOT stale", {"name": BROWSE_STATE}
    )
    try:
        kept = json.loads(rows[0]["value"]) if rows and rows[0]["value"] else None
    except ValueError:
        return None
    if not isinstance(kept, dict) or not isinstance(kept.get("last_ids"), dict):
        return None
    return kept


def _only_load_appended(
    reader: Reader, kept: dict[str, Any], written: dict[str, list[int]]
) -> bool:
    """True when every record above the highest id kept at the last rebuild is one this
    load wrote: no bulk writer appended records around the triggers since (one range
    seek on each table's primary key)."""
    for noun in ENTITIES.values():
        last = kept["last_ids"].get(noun.table)
        if not isinstance(last, int):
            return False
        ours = sum(1 for i in written.get(noun.name, []) if i > last)
        above = reader.rows(f"SELECT count(*) AS n FROM {noun.table} WHERE id > :last",
                            {"last": last})[0]["n"]  # fmt: skip
        if above != ours:
            return False
    return True


def _facet_values_insert(sign: int) -> str:
    """INSERT into temp.kz_delta of what the touched records' rows of records count in
    each facet (one row per noun, facet and value, ``sign`` times its count); rows of
    every kind (noun NULL) are added from these when the delta is applied."""
    touched = "r.id IN (SELECT doc_id FROM temp.kz_touched)"
    parts = [f"SELECT r.noun, '{facet}' AS facet, r.{facet} AS value FROM records r "
             f"WHERE {touched} AND r.{facet} IS NOT NULL" for facet in COLUMN_FACETS]  # fmt: skip
    parts += [f"SELECT noun, facet, value FROM (SELECT DISTINCT r.id, r.noun, '{facet}' AS "
              f"facet, j.value AS value FROM records r, json_each(r.{facet}) j WHERE {touched})"
              for facet in ARRAY_FACETS]  # fmt: skip
    return (f"INSERT INTO temp.kz_delta SELECT noun, facet, value, {sign} * count(*) FROM "
            f"({' UNION ALL '.join(parts)}) GROUP BY noun, facet, value")  # fmt: skip


def _apply_delta(conn: Connection) -> None:
    """Add the delta to records_counts, per kind and over every kind: a value newly
    counted gets its row, a value no longer counted loses it (as a rebuild has them)."""
    run = conn.exec_driver_sql
    sums = run(
        "SELECT noun, facet, value, sum(n) FROM temp.kz_delta GROUP BY noun, facet, value "
        "UNION ALL SELECT NULL, facet, value, sum(n) FROM temp.kz_delta GROUP BY facet, value"
    ).all()
    for noun, facet, value, n in sums:
        if not n:
            continue
        where = "facet = ? AND noun IS ? AND value IS ?"
        found = run(f"UPDATE records_counts SET count = count + ? WHERE {where}",
                    (n, facet, noun, value)).rowcount  # fmt: skip
        if found:
            run(f"DELETE FROM records_counts WHERE {where} AND count = 0", (facet, noun, value))
        else:
            run("INSERT INTO records_counts (noun, facet, value, count) VALUES (?, ?, ?, ?)",
                (noun, facet, value, n))  # fmt: skip


def _recount_placed(
    conn: Connection,
    changes: Iterable[tuple[str, str, str, list[str]]],
    written: dict[str, list[int]],
) -> None:
    """Each kind's count of placed records, moved by the records the load added with
    coordinates (one seek each). An update that changed a record's latitude leaves no
    trace of whether it had one before: that kind is counted again over its table."""
    from kzdiplo.fields import COORDINATES

    latitude = COORDINATES.names["latitude"]
    moved = {n.name for n in ENTITIES.values() for section, _, action, fields in changes
             if section == n.plural and action != "added" and latitude in fields}  # fmt: skip
    for name in written:
        noun = ENTITIES[name]
        if not noun.placed:
            continue
        added = [key for section, key, action, _ in changes
                 if section == noun.plural and action == "added"]  # fmt: skip
        where = "" if name in moved else "AND slug IN (SELECT value FROM json_each(:added))"
        counted = f"SELECT count(*) FROM {noun.table} WHERE {latitude} IS NOT NULL {where}"
        new = "" if name in moved else "count + "
        conn.exec_driver_sql(
            f"UPDATE records_counts SET count = {new}({counted}) WHERE facet = 'placed' "
            "AND noun IS NULL AND value = :noun",
            {"noun": noun.name, "added": json.dumps(added)},
        )


def _longest_written(
    conn: Connection,
    changes: Iterable[tuple[str, str, str, list[str]]],
    written: dict[str, list[int]],
) -> int:
    """The size of the longest value among the rows the load wrote: its records, every
    row that links to them (parties, citations...), the sources, partners and sectors
    it added with their own links, and the new rows of records. (An incremental refresh
    keeps the larger of this and the kept size: serve's limit only has to let every
    value be read.)"""
    raw: Any = conn.connection.driver_connection
    tables = [r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name NOT LIKE 'sqlite_%'")]  # fmt: skip
    columns = {t: [r[1] for r in raw.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    chosen = [("records", "id", "SELECT doc_id FROM temp.kz_touched", "[]")]
    added: dict[str, list[str]] = {}
    for section, key, action, _ in changes:
        if action == "added" and section in ADDED_KEYS:
            added.setdefault(section, []).append(key)
    ids = {ENTITIES[n].table: (json.dumps(i), "SELECT value FROM json_each(?)")
           for n, i in written.items()}  # fmt: skip
    for section, keys in added.items():
        key = ADDED_KEYS[section]
        chosen_keys = f"SELECT id FROM {section} WHERE {key} IN (SELECT value FROM json_each(?))"
        ids[section] = (json.dumps(keys), chosen_keys)
    for table, (listed, subquery) in ids.items():
        chosen.append((table, "id", subquery, listed))
        if table in LINKED_TO:  # a source, partner or sector: its own links only
            chosen += [(t, c, subquery, listed) for t, c in LINKED_TO[table]]
        else:  # a record: every row that links to it
            link = next(n.link for n in ENTITIES.values() if n.table == table)
            chosen += [(t, link, subquery, listed) for t in tables if link in columns[t]]
    longest = 0
    for table, column, subquery, listed in chosen:
        sizes = ", ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in columns[table])
        where = f'"{column}" IN ({subquery})'
        params = (listed,) if "?" in subquery else ()
        (size,) = raw.execute(f'SELECT max(max(0, {sizes})) FROM "{table}" WHERE {where}',
                              params).fetchone()  # fmt: skip
        longest = max(longest, size or 0)
    return longest


# The sections whose added records have no row in records, by their key's column, and
# the tables of the rows that belong to such a record (a partner's parties belong to
# the records they are party to, written with those records).
ADDED_KEYS = {"sources": "slug", "sectors": "slug", "countries": "code", "organizations": "slug"}
LINKED_TO: dict[str, tuple[tuple[str, str], ...]] = {
    "sources": (("source_links", "source_id"),),
    "sectors": (),
    "countries": (("citations", "country_id"), ("discrepancies", "country_id")),
    "organizations": (("citations", "organization_id"), ("discrepancies", "organization_id")),
}
