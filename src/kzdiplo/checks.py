"""Integrity checks for ``kzdiplo db check``: each returns a list of problems."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kzdiplo.entities import ENTITIES, PARTNER_LINKS
from kzdiplo.loader import normalise_space
from kzdiplo.reader import Reader, holds_records


def integrity(reader: Reader) -> list[str]:
    rows = reader.rows("PRAGMA integrity_check")
    messages = [next(iter(r.values())) for r in rows]
    return [] if messages == ["ok"] else messages


def foreign_keys(reader: Reader) -> list[str]:
    return [
        f"{r['table']} row {r['rowid']} points at a missing {r['parent']} row"
        for r in reader.rows("PRAGMA foreign_key_check")
    ]


def search_index(reader: Reader) -> list[str]:
    """Every record has exactly its current document in the search index: SQLite's FTS5
    table (keyed by rowid) or PostgreSQL's search table of migration 0006 (by doc_id)."""
    key = "rowid" if reader.dialect == "sqlite" else "doc_id"
    stale = reader.rows(
        "SELECT doc_id, noun, key FROM search_documents d WHERE NOT EXISTS ("
        f"SELECT 1 FROM search_index s WHERE s.{key} = d.doc_id AND s.title = d.title "
        "AND s.body = d.body)"
    )
    extra = reader.rows(
        f"SELECT {key} AS id FROM search_index WHERE {key} NOT IN "
        "(SELECT doc_id FROM search_documents)"
    )
    problems = [f"search index is stale for {r['noun']} {r['key']}" for r in stale]
    problems += [f"search index holds a document of a deleted record ({r['id']})" for r in extra]
    return problems


# How many triggers keep the search index in step, and the query that finds them:
# SQLite, 3 per record table (7) and 3 on citations (migration 0002); PostgreSQL, one
# per record table and one on citations, enabled (migration 0006).
SEARCH_TRIGGERS = {
    "sqlite": (24, "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                   "AND name LIKE 'search_%'"),
    "postgresql": (8, "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
                      "AND tgname LIKE 'search_index_%'"),
}  # fmt: skip


def search_triggers(reader: Reader) -> list[str]:
    """The triggers that keep the search index in step exist (a table rebuild drops them;
    on PostgreSQL they can also be disabled)."""
    expected, sql = SEARCH_TRIGGERS[reader.dialect]
    found = len(reader.rows(sql))
    if found == expected:
        return []
    return [f"{found} of {expected} search-index triggers exist: writes will not reach "
            "the search index (run kzdiplo db upgrade, or restore them)"]  # fmt: skip


ORDER_INDEXES = ("ix_agreements_date_order", "ix_deals_date_order", "ix_events_date_order")


def order_indexes(reader: Reader) -> list[str]:
    """The indexes that keep listings fast at scale exist (a table rebuild drops them)."""
    present = {
        r["name"] for r in reader.rows("SELECT name FROM sqlite_master WHERE type = 'index'")
    }
    return [f"index {name} is missing: listings will sort every row" for name in
            ORDER_INDEXES if name not in present]  # fmt: skip


def partner_cache(reader: Reader) -> list[str]:
    """A cache marked fresh holds exactly what the live query computes."""
    from kzdiplo.queries import CACHE_COLUMNS as columns
    from kzdiplo.queries import PARTNER_TOTALS_SQL

    state = reader.rows("SELECT stale FROM derived_state WHERE name = 'partner_totals'")
    if not state or state[0]["stale"]:
        return []  # stale: partners uses the live query, nothing can be wrong

    def rows(sql: str) -> list[tuple[Any, ...]]:
        return sorted((tuple(r[c] for c in columns) for r in reader.rows(sql)), key=repr)

    cached = rows("SELECT * FROM partner_totals_cache")
    if cached != rows(PARTNER_TOTALS_SQL):
        return ["partner_totals_cache differs from the live totals: run kzdiplo db seed"]
    return []


def quotes(reader: Reader) -> list[str]:
    """Every verbatim quote (of a citation or a stage change) is in its source's stored
    text; a quote of a source whose text we do not hold cannot be checked, so it is an
    error too (it should be our summary)."""
    problems = []
    texts = {
        r["id"]: normalise_space(r["text"])
        for r in reader.rows("SELECT id, text FROM sources WHERE text IS NOT NULL")
    }
    for r in reader.rows(
        "SELECT 'citation' AS what, c.id, c.source_id, c.text, d.record_type, d.record_key "
        "FROM citations c JOIN citation_details d ON d.citation_id = c.id WHERE c.kind = 'quote' "
        "UNION ALL SELECT 'stage change', sc.id, sc.source_id, sc.text, "
        "CASE WHEN sc.agreement_id IS NULL THEN 'deal' ELSE 'agreement' END, "
        "COALESCE(a.slug, d.slug) FROM stage_changes sc "
        "LEFT JOIN agreements a ON a.id = sc.agreement_id LEFT JOIN deals d ON d.id = sc.deal_id "
        "WHERE sc.kind = 'quote'"
    ):
        text = texts.get(r["source_id"])
        where = f"{r['what']} {r['id']} of {r['record_type']} {r['record_key']}"
        if text is None:
            problems.append(f"{where}: a quote of a source whose text is not held")
        elif normalise_space(r["text"]) not in text:
            problems.append(f"{where}: quote not in its source")
    return problems


def package_parts(reader: Reader) -> list[str]:
    """A package is no smaller than its parts: parts whose lowest amounts add up to more
    than the package's highest (or more agreements than its count) mean a part was
    linked that no source puts in it, or a figure is wrong."""
    problems = []
    for r in reader.rows(
        "SELECT p.slug, p.usd_high AS whole, sum(d.usd_low) AS parts, count(d.id) AS n "
        "FROM deals p JOIN deals d ON d.parent_id = p.id "
        "GROUP BY p.id, p.slug, p.usd_high"
    ):
        if r["whole"] is not None and r["parts"] is not None and r["parts"] > r["whole"]:
            problems.append(
                f"deal {r['slug']}: its {r['n']} parts add up to at least ${r['parts']:,}, "
                f"more than the package's ${r['whole']:,}"
            )
    for r in reader.rows(
        "SELECT p.slug, p.count AS whole, count(a.id) AS parts FROM agreements p "
        "JOIN agreements a ON a.parent_id = p.id GROUP BY p.id, p.slug, p.count"
    ):
        if r["whole"] is not None and r["parts"] > r["whole"]:
            problems.append(
                f"agreement {r['slug']}: {r['parts']} parts, more than its count of {r['whole']}"
            )
    return problems


def uncited(reader: Reader) -> list[str]:
    """Every fact record has at least one citation."""
    problems = []
    cited = [(e.table, e.link) for e in ENTITIES.values()]
    for table, column in [*cited, ("organizations", PARTNER_LINKS["organizations"])]:
        for r in reader.rows(
            f"SELECT slug FROM {table} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM citations c WHERE c.{column} = t.id)"
        ):
            problems.append(f"{table} {r['slug']} has no citation")
    return problems


EMPTY = "the database holds no records: kzdiplo db seed loads the seed data"


def has_records(reader: Reader) -> list[str]:
    """A database with the schema but no records is not a working kzdiplo database (a
    first run stopped before seeding, or everything deleted)."""
    return [] if holds_records(reader) else [EMPTY]


def run_checks(reader: Reader) -> list[tuple[str, list[str]]]:
    checks: list[tuple[str, Callable[[Reader], list[str]]]] = [
        ("the database holds records", has_records),
        ("every citation quote is in its source", quotes),
        ("every record has a citation", uncited),
        ("no package is smaller than its parts", package_parts),
    ]
    sqlite = reader.dialect == "sqlite"
    if reader.dialect in SEARCH_TRIGGERS:
        checks = [
            ("search index matches the records", search_index),
            ("search index triggers are in place", search_triggers),
            *([("sort indexes are in place", order_indexes)] if sqlite else []),
            ("partners cache matches the live totals", partner_cache),
            *checks,
        ]
    if sqlite:
        checks = [
            ("PRAGMA integrity_check", integrity),
            ("PRAGMA foreign_key_check", foreign_keys),
            *checks,
        ]
    results = []
    for name, check in checks:
        try:
            results.append((name, check(reader)))
        except Exception as exc:  # a corrupt file fails the check, it does not crash it
            results.append((name, [f"could not run: {str(exc).splitlines()[0]}"]))
    return results
