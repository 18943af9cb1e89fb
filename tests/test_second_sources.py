"""Second sources (issue 8): the research integrated into the seed data keeps its integrity.

Every citation resolves to a source with a URL and a date; only the seed article is
quoted verbatim (everything else is our own summary); package parts never change a
total; the audit lists the disagreements; ``show`` prints them.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml

from kzdiplo.paths import seeds_dir
from tests.cli_helpers import run, run_json

ARTICLE = "tengritimes-2026-01-03"
SUMMARY_NOTE = "our summary, not a quote"
UMBRELLA = "kz-us-washington-agreements-value"
NOTED_TABLES = ("agreements", "deals", "mineral_deposits", "infrastructure_projects", "events")
SUBJECTS = ("country_id", "organization_id", "agreement_id", "deal_id", "deposit_id",
            "project_id", "event_id")  # fmt: skip


def _seed_records() -> list[tuple[str, str, dict]]:
    """(file, section, record) for every record of every seed file."""
    out = []
    for path in sorted(seeds_dir().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for section, records in data.items():
            out += [(path.name, section, r) for r in records or []]
    return out


# --- sources and citations -----------------------------------------------------------------


@pytest.mark.slow
def test_every_citation_and_discrepancy_in_the_seed_files_names_a_known_source() -> None:
    records = _seed_records()
    sources = {r["slug"] for _, section, r in records if section == "sources"}
    assert ARTICLE in sources and len(sources) > 1
    unknown = [
        (f, r.get("slug") or r.get("code"), item["source"])
        for f, section, r in records
        if section != "sources"
        for item in [*r.get("citations", []), *r.get("discrepancies", [])]
        if item["source"] not in sources
    ]
    assert unknown == []


def test_every_citation_resolves_to_a_source(db: sqlite3.Connection) -> None:
    dangling = db.execute(
        "SELECT c.id FROM citations c LEFT JOIN sources s ON s.id = c.source_id WHERE s.id IS NULL"
    ).fetchall()
    assert dangling == []
    dangling = db.execute(
        "SELECT x.id FROM discrepancies x LEFT JOIN sources s ON s.id = x.source_id "
        "WHERE s.id IS NULL"
    ).fetchall()
    assert dangling == []
    # each citation supports exactly one record
    subjects = " + ".join(f"({c} IS NOT NULL)" for c in SUBJECTS)
    assert db.execute(f"SELECT count(*) FROM citations WHERE {subjects} != 1").fetchone()[0] == 0
    # and every source is cited (by a citation, a stage or a discrepancy), is the origin
    # another source rests on, or is named in a record's notes as context only (the
    # research's "does not confirm" findings, which must not count as corroboration)
    unused = [
        r[0]
        for r in db.execute(
            "SELECT slug FROM sources s WHERE NOT EXISTS "
            "(SELECT 1 FROM citations c WHERE c.source_id = s.id) AND NOT EXISTS "
            "(SELECT 1 FROM stage_changes c WHERE c.source_id = s.id) AND NOT EXISTS "
            "(SELECT 1 FROM discrepancies c WHERE c.source_id = s.id) AND NOT EXISTS "
            "(SELECT 1 FROM source_links l WHERE l.derived_from_id = s.id)"
        )
    ]
    notes = " ".join(
        r[0]
        for table in NOTED_TABLES
        for r in db.execute(f"SELECT notes FROM {table} WHERE notes IS NOT NULL")
    )
    assert [slug for slug in unused if slug not in notes] == []


def test_every_source_has_a_url_and_a_date(db: sqlite3.Connection) -> None:
    rows = db.execute("SELECT slug, url, published, retrieved, published_note FROM sources")
    rows = rows.fetchall()
    assert len(rows) > 90  # the article and the research's sources
    for slug, url, published, retrieved, note in rows:
        assert url and url.startswith(("http://", "https://")), slug
        assert published or retrieved, slug
        if slug != ARTICLE:
            assert retrieved in ("2026-11-28", "2026-12-01", "2026-12-06"), slug  # research days
            if not published:  # a month, a year or nothing: said in words, never invented
                assert note, slug


def test_partial_publication_dates_are_not_padded_to_a_day(db: sqlite3.Connection) -> None:
    (published, note) = db.execute(
        "SELECT published, published_note FROM sources WHERE slug = 'astanatimes-trump-visit'"
    ).fetchone()
    assert published is None and "November 2025" in note and "day not shown" in note


def test_only_the_article_is_quoted_verbatim(db: sqlite3.Connection) -> None:
    """The article's text is held and its quotes are checked against it; we hold no text of
    the other sources, so their citations are our summaries, of kind summary."""
    texts = dict(db.execute("SELECT slug, text FROM sources").fetchall())
    assert texts[ARTICLE]
    assert [slug for slug, text in texts.items() if text and slug != ARTICLE] == []
    article = " ".join(texts[ARTICLE].split())
    rows = db.execute(
        "SELECT s.slug, c.kind, c.text FROM citations c JOIN sources s ON s.id = c.source_id "
        "UNION ALL SELECT s.slug, c.kind, c.text FROM stage_changes c "
        "JOIN sources s ON s.id = c.source_id"
    ).fetchall()
    quoted = [t for slug, kind, t in rows if kind == "quote"]
    assert quoted and {slug for slug, kind, _ in rows if kind == "quote"} == {ARTICLE}
    assert [q for q in quoted if " ".join(q.split()) not in article] == []
    assert {kind for slug, kind, _ in rows if slug != ARTICLE} == {"summary"}


@pytest.mark.slow
def test_the_seed_files_mark_every_summary() -> None:
    """The same rule in the files themselves, where a reviewer reads them: a source we
    do not hold is cited with summary:, never quote:, and no old marker note is left."""
    for f, _section, r in _seed_records():
        for c in [*r.get("citations", []), *r.get("stages", [])]:
            if c["source"] != ARTICLE:
                assert "quote" not in c and c.get("summary"), (f, r.get("slug") or r.get("code"))
            assert c.get("note") != SUMMARY_NOTE


def test_refined_dates_keep_the_article_wording_and_name_their_source(
    db: sqlite3.Connection,
) -> None:
    """Where a second source gave the day inside the article's month or year, the note
    names that source and the article's own words stay in ``date_text``."""
    for table, link in [("agreements", "agreement_id"), ("events", "event_id")]:
        rows = db.execute(
            f"SELECT t.slug, t.date_text, t.date_note, t.id FROM {table} t "
            f"WHERE t.date_note LIKE '%the article gives the %'"
        ).fetchall()
        assert rows, f"no {table} date refined by a second source (did the note's wording change?)"
        for slug, text, note, record_id in rows:
            cited = {
                r[0]
                for r in db.execute(
                    "SELECT s.slug FROM citations c JOIN sources s ON s.id = c.source_id "
                    f"WHERE c.{link} = ? AND c.field = 'date' AND s.slug != ?",
                    (record_id, ARTICLE),
                )
            }
            assert cited and any(s in note for s in cited), slug
            assert text, slug  # the article's wording is kept
    declaration = db.execute(
        "SELECT date_start, date_precision, date_text FROM events "
        "WHERE slug = 'kz-ru-declaration-signing'"
    ).fetchone()
    assert declaration == ("2025-11-12", "day", "In November 2025")


def test_article_claims_are_kept_where_sources_disagree(db: sqlite3.Connection) -> None:
    location = db.execute(
        "SELECT location FROM events WHERE slug = 'central-asia-china-summit-tianjin'"
    ).fetchone()[0]
    assert location == "Tianjin"
    started = db.execute(
        "SELECT started_start, started_precision, status FROM infrastructure_projects "
        "WHERE slug = 'kz-first-nuclear-power-plant'"
    ).fetchone()
    assert started == ("2025-08-01", "month", "under construction")
    cost = db.execute(
        "SELECT amount_low, amount_high FROM deals WHERE slug = 'kz-nuclear-plant-investment'"
    ).fetchone()
    assert cost == (14_000_000_000, 15_000_000_000)
    title, aliases = db.execute(
        "SELECT title, aliases FROM agreements WHERE slug = 'kz-ru-comprehensive-union-declaration'"
    ).fetchone()
    assert title == "Declaration on a Comprehensive Union"
    assert "Comprehensive Strategic Partnership and Alliance" in aliases  # official title


# --- package parts -------------------------------------------------------------------------


PARTS = {"kz-us-boeing-787-air-astana", "kz-us-john-deere-machinery",
         "kz-us-cove-tungsten-capex", "kz-us-ai-digital-partnerships"}  # fmt: skip


def test_package_parts_are_children_of_the_umbrella(db: sqlite3.Connection) -> None:
    """Parts of the Washington package only where a source (the Kazakh Foreign Ministry,
    via Fergana) names them among its results, each citing it for the link."""
    parts = db.execute(
        "SELECT d.slug, d.agreement_id FROM deals d JOIN deals p ON p.id = d.parent_id "
        "WHERE p.slug = ?",
        (UMBRELLA,),
    ).fetchall()
    assert {slug for slug, _ in parts} == PARTS
    assert all(agreement is None for _, agreement in parts)  # linked through the parent only
    for slug, _ in parts:
        link = db.execute(
            "SELECT count(*) FROM citations c JOIN deals d ON d.id = c.deal_id "
            "WHERE d.slug = ? AND c.field = 'parent'",
            (slug,),
        ).fetchone()[0]
        assert link >= 1, slug


def test_package_parts_never_add_up_to_more_than_the_package(db: sqlite3.Connection) -> None:
    low, high = db.execute(
        "SELECT sum(d.usd_low), sum(d.usd_high) FROM deals d JOIN deals p ON p.id = d.parent_id "
        "WHERE p.slug = ?",
        (UMBRELLA,),
    ).fetchone()
    (whole,) = db.execute("SELECT usd_high FROM deals WHERE slug = ?", (UMBRELLA,)).fetchone()
    assert (low, high) == (14_800_000_000, 16_800_000_000) and high <= whole


def test_a_part_is_added_once_for_each_partner(seeded_db: Path, db: sqlite3.Connection) -> None:
    """The package moves no money it names (its parties are parties), so the US is
    credited with the Cove capital expenditure, a part; EXIM's letter of interest for
    the same project is counted in it, not added. Give the package a US payer and the
    part is no longer added for the US: the package counts it."""
    us = next(r for r in run_json(seeded_db, "partners") if r["key"] == "US")
    assert us["usd_from_partner"]["low"] == 1_100_000_000 and us["deals_not_added"] == 1
    db.execute(
        "UPDATE parties SET role = 'investor' WHERE deal_id = (SELECT id FROM deals WHERE slug "
        "= ?) AND country_id = (SELECT id FROM countries WHERE code = 'US')",
        (UMBRELLA,),
    )
    db.commit()
    us = next(r for r in run_json(seeded_db, "partners") if r["key"] == "US")
    assert us["usd_from_partner"]["low"] == 17_000_000_000  # the package alone
    assert us["deals_not_added"] >= 2  # its parts and the overlapping letter of interest


def test_package_parts_do_not_change_the_umbrella_figure(seeded_db: Path) -> None:
    deals = {d["slug"]: d for d in run_json(seeded_db, "deals", "--limit", "0")}
    umbrella = deals[UMBRELLA]
    assert umbrella["amount"]["low"] == umbrella["amount"]["high"] == 17_000_000_000
    assert umbrella["amount"]["qualifier"] == "nearly" and umbrella["parent"] is None
    parts = [d for d in deals.values() if d["parent"] == UMBRELLA]
    shown = run_json(seeded_db, "show", "deal", UMBRELLA)
    assert {p["slug"] for p in shown["linked"]["parts"]} == {d["slug"] for d in parts} == PARTS
    # a part with two different amounts keeps one and records the other
    deere = run_json(seeded_db, "show", "deal", "kz-us-john-deere-machinery")
    assert (deere["amount"]["low"], deere["amount"]["high"]) == (3_000_000_000, 5_000_000_000)
    assert "astanatimes-us-industrial" in [d["source"] for d in deere["discrepancies"]]


# --- the audit and show --------------------------------------------------------------------


def _audit(seeded_db: Path) -> dict:
    return run_json(seeded_db, "audit")


def test_audit_counts_sources_per_record(seeded_db: Path) -> None:
    summary = _audit(seeded_db)["summary"]
    assert sum(per["3+"] for per in summary.values()) >= 1
    records = _audit(seeded_db)["records"]
    article_events = {r["record_key"] for r in records if r["record_type"] == "event"
                      and ARTICLE in r["origins"]}  # fmt: skip
    assert len(article_events) == 12  # every event of the article found elsewhere too
    assert all(r["independent_sources"] >= 2 for r in records if r["record_key"] in article_events)
    single = {(r["record_type"], r["record_key"]) for r in _audit(seeded_db)["single_sourced"]}
    # no second source was found for the EU's EUR 700 million: it stays single-sourced
    assert ("deal", "eu-central-asia-special-funds") in single


@pytest.mark.slow
def test_audit_lists_every_discrepancy_of_the_seed_files(seeded_db: Path) -> None:
    in_files = [d for _, _, r in _seed_records() for d in r.get("discrepancies", [])]
    audit = _audit(seeded_db)
    listed = audit["discrepancies"]
    refinements = sum(1 for d in in_files if d.get("kind") == "refinement")
    assert len(in_files) >= 30 and len(listed) == len(in_files) - refinements
    assert len(audit["refinements"]) == refinements > 0
    assert all(d["url"] and d["source_says"] for d in listed)


def _find(listed: list[dict], key: str, field: str, source: str) -> dict:
    (found,) = [
        d for d in listed
        if d["record_key"] == key and d["field"] == field and d["source"] == source
    ]  # fmt: skip
    return found


def test_audit_shows_the_specific_disagreements(seeded_db: Path) -> None:
    listed = _audit(seeded_db)["discrepancies"]
    astana = _find(listed, "kz-cn-24-intergovernmental-agreements", "place", "anewz-24-deals")
    assert "Tianjin" in astana["record_says"] and "Astana" in astana["source_says"]
    summit = _find(listed, "central-asia-china-summit-tianjin", "location",
                   "wikipedia-ca-china-2025")  # fmt: skip
    assert "Astana" in summit["source_says"]
    concrete = _find(listed, "kz-nuclear-plant-construction-start", "date", "tass-npp-2029")
    assert "2029" in concrete["source_says"] and "August 2025" in concrete["record_says"]
    assert _find(listed, "kz-first-nuclear-power-plant", "started", "tass-npp-2029")
    exim = _find(listed, "us-exim-critical-minerals-funding", "stage", "cove-bw-release")
    assert "letter of interest" in exim["source_says"].lower()
    assert "approved" in exim["record_says"]
    gas = _find(listed, "kz-gas-supply-halt-to-china-2023", "status", "azernews-gas-2023")
    assert "reduced" in gas["source_says"]
    cost = _find(listed, "kz-first-nuclear-power-plant", "cost", "diplomat-npp-164bn")
    assert "$16.4 billion" in cost["source_says"]


def test_show_prints_a_records_disagreements(seeded_db: Path) -> None:
    record = run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    statuses = [d for d in record["discrepancies"] if d["field"] == "stage"]
    assert len(statuses) == 4
    table = run(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    assert table.exit_code == 0
    assert {"approval", "commitment"} <= _words(table.stdout)  # the discrepancy's words
    assert {"E&E", "News"} <= _words(table.stdout)  # and the source that says it
    event = run(seeded_db, "show", "event", "central-asia-china-summit-tianjin")
    assert event.exit_code == 0
    assert {"Palace", "Independence", "Wikipedia"} <= _words(event.stdout)


def _words(text: str) -> set[str]:
    """The words of a table (its cells wrap, so phrases may be split across lines)."""
    return {w.strip("()[],.:;\"'“”") for w in text.split()}
