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


def _date_text(start: Any, end: Any, precision: Any, text: Any, inferred: Any, note: Any) -> Any:
    """A partial date's short text, as the listings show it (None: no date)."""
    from kzdiplo.fields import DATE

    row = dict(zip(DATE.names.values(), (start, end, precision, text, inferred, note), strict=True))
    value = DATE.shape(row)
    return DATE.text(value) if value else None


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
        out.append(f"{into}SELECT NULL, '{facet}', {facet}, count(*) FROM records "
                   f"WHERE {facet} IS NOT NULL GROUP BY {facet}")  # fmt: skip
        out.append(f"{into}SELECT noun, '{facet}', {facet}, count(*) FROM records "
                   f"WHERE {facet} IS NOT NULL GROUP BY noun, {facet}")  # fmt: skip
    for facet in ARRAY_FACETS:
        pairs = (
            f"(SELECT DISTINCT r.id, r.noun, j.value AS value FROM records r, "
            f"json_each(r.{facet}) j)"
        )
        out.append(f"{into}SELECT NULL, '{facet}', value, count(*) FROM {pairs} GROUP BY value")
        out.append(f"{into}SELECT noun, '{facet}', value, count(*) FROM {pairs} "
                   "GROUP BY noun, value")  # fmt: skip
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
    from kzdiplo.queries import source_origins
    from kzdiplo.reader import ConnectionReader
    from kzdiplo.web.pages import RECORD_PREFIX

    raw = conn.connection.driver_connection
    _functions(raw)
    reader = ConnectionReader(conn)
    origins = source_origins(reader)
    run = conn.exec_driver_sql
    run("DROP TABLE IF EXISTS temp.kz_origins")
    run("CREATE TEMP TABLE kz_origins (source_id INTEGER PRIMARY KEY, origin TEXT)")
    sources = [(s["id"], origins.get(s["slug"], s["slug"]))
               for s in reader.rows("SELECT id, slug FROM sources")]  # fmt: skip
    if sources:
        run("INSERT INTO temp.kz_origins VALUES (?, ?)", sources)
    for table in ("records", "records_counts", "partner_money"):
        run(f"DELETE FROM {table}")
    names = ", ".join(RECORDS_COLUMNS)
    for noun in ENTITIES.values():
        columns = set(reader.columns(noun.table))
        run(f"INSERT INTO records ({names}) {records_select(noun, columns, RECORD_PREFIX)}")
    run("DROP TABLE temp.kz_origins")
    for statement in _counts_sql():
        run(statement)
    money = [c for c in MONEY_COLUMNS if c != "id"]
    rows = money_rows(reader)
    if rows:
        marks = ", ".join(f":{c}" for c in money)
        run(f"INSERT INTO partner_money ({', '.join(money)}) VALUES ({marks})", rows)
    run(
        "UPDATE derived_state SET stale = 0, value = ? WHERE name = ?",
        (json.dumps({"longest": longest_value(raw), "last_ids": _last_ids(reader)}), BROWSE_STATE),
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
    rows = reader.rows(
        "SELECT value FROM derived_state WHERE name = :name AND NOT stale", {"name": BROWSE_STATE}
    )
    try:
        kept = json.loads(rows[0]["value"]) if rows and rows[0]["value"] else None
    except ValueError:
        return None
    if not isinstance(kept, dict) or kept.get("last_ids") != _last_ids(reader):
        return None
    return int(kept["longest"])
