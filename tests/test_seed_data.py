"""The seeded database holds every fact of the article, each with a verbatim quote."""

from __future__ import annotations

import re
import sqlite3

import pytest

from kzdiplo.paths import seeds_dir

SOURCE = "tengritimes-2026-01-03"


def one(db: sqlite3.Connection, sql: str, *params: object) -> tuple:
    row = db.execute(sql, params).fetchone()
    assert row is not None, sql
    return row


def test_row_counts_match_the_fact_inventory(db: sqlite3.Connection) -> None:
    """The records resting on the article are exactly its fact rows (facts.md); the rest
    of the database widens it to the year (issue 17) and never replaces them."""
    counts = dict(
        db.execute(
            "SELECT record_type, count(DISTINCT record_key) FROM citation_details "
            "WHERE source = 'tengritimes-2026-01-03' GROUP BY record_type"
        ).fetchall()
    )
    assert {k: counts[k] for k in ("agreement", "deal", "deposit", "project", "event")} == {
        "agreement": 7, "deal": 5, "deposit": 2, "project": 5, "event": 12,
    }  # fmt: skip
    # P1-P14: 8 countries and blocs carry article facts; 6 organisations of the article,
    # plus the 3 groups of its EUR 700 million sentence (unnamed governments, unnamed
    # financial institutions, "Central Asian countries").
    cited_countries = db.execute(
        "SELECT count(DISTINCT country_id) FROM citations WHERE country_id IS NOT NULL"
    ).fetchone()[0]
    assert cited_countries == 8
    from_article = db.execute(
        "SELECT count(DISTINCT c.organization_id) FROM citations c JOIN sources s "
        "ON s.id = c.source_id WHERE s.slug = ? AND c.organization_id IS NOT NULL",
        (SOURCE,),
    ).fetchone()[0]
    assert from_article == 9


def test_iso_countries_come_from_pycountry(db: sqlite3.Connection) -> None:
    import pycountry

    n = db.execute("SELECT count(*) FROM countries WHERE kind = 'country'").fetchone()[0]
    assert n == len(pycountry.countries)
    assert one(db, "SELECT alpha3, name FROM countries WHERE code = 'KZ'") == ("KAZ", "Kazakhstan")
    assert one(db, "SELECT kind, name FROM countries WHERE code = 'EU'") == (
        "bloc",
        "European Union",
    )


def test_every_fact_row_has_a_citation(db: sqlite3.Connection) -> None:
    for table, column in [
        ("agreements", "agreement_id"),
        ("deals", "deal_id"),
        ("mineral_deposits", "deposit_id"),
        ("infrastructure_projects", "project_id"),
        ("events", "event_id"),
        ("organizations", "organization_id"),
    ]:
        uncited = db.execute(
            f"SELECT slug FROM {table} t WHERE NOT EXISTS "
            f"(SELECT 1 FROM citations c WHERE c.{column} = t.id)"
        ).fetchall()
        assert uncited == [], table


def test_every_quote_is_verbatim_in_the_source_file(db: sqlite3.Connection) -> None:
    """Checked against the text file itself, not only the copy in the database."""
    text = (seeds_dir() / "texts" / f"{SOURCE}.txt").read_text(encoding="utf-8")
    norm = " ".join(text.split())
    # Only the article's text is held: other sources are cited with our own summary.
    quotes = db.execute(
        "SELECT c.text FROM citations c JOIN sources s ON s.id = c.source_id "
        "WHERE s.slug = ? AND c.kind = 'quote'",
        (SOURCE,),
    ).fetchall()
    assert len(quotes) >= 42  # at least one per fact row of facts.md
    missing = [q for (q,) in quotes if " ".join(q.split()) not in norm]
    assert missing == []
    stored = one(db, "SELECT text FROM sources WHERE slug = ?", SOURCE)[0]
    assert stored == text


def test_source_text_has_no_page_chrome() -> None:
    text = (seeds_dir() / "texts" / f"{SOURCE}.txt").read_text(encoding="utf-8")
    for chrome in ("top of page", "bottom of page", "Comments", "5 min read"):
        assert chrome not in text
    assert "2025 marked a watershed year" in text


def test_source_publication_year_is_marked_inferred(db: sqlite3.Connection) -> None:
    published, inferred, note = one(
        db,
        "SELECT published, published_inferred, published_note FROM sources WHERE slug = ?",
        SOURCE,
    )
    assert (published, inferred) == ("2026-01-03", 1)
    assert "Jan 3" in note


def test_us_package(db: sqlite3.Connection) -> None:
    count, partners = one(
        db,
        "SELECT count, partners FROM agreement_overview WHERE kind = 'package' AND partners LIKE '%US%'",
    )
    assert count == 29 and set(partners.split(", ")) == {"KZ", "US"}
    low, high, currency, approx, qualifier = one(
        db,
        "SELECT amount_low, amount_high, currency, approximate, qualifier FROM deals "
        "WHERE agreement_id = (SELECT id FROM agreements WHERE count = 29)",
    )
    assert (low, high, currency, approx, qualifier) == (
        17_000_000_000,
        17_000_000_000,
        "USD",
        1,
        "nearly",
    )


def test_china_package_and_tianjin(db: sqlite3.Connection) -> None:
    count, partners = one(db, "SELECT count, partners FROM agreement_overview WHERE count = 24")
    assert count == 24 and set(partners.split(", ")) == {"KZ", "CN"}
    # the article's Tianjin summit stays (its place disputed), beside the SCO summit there
    tianjin = {r[0] for r in db.execute("SELECT slug FROM events WHERE location = 'Tianjin'")}
    assert {"central-asia-china-summit-tianjin", "sco-summit-tianjin-2025"} <= tianjin


def test_russia_declaration_keeps_both_names(db: sqlite3.Connection) -> None:
    title, aliases, start, end, precision, text, note = one(
        db,
        "SELECT title, aliases, date_start, date_end, date_precision, date_text, date_note "
        "FROM agreements WHERE slug = 'kz-ru-comprehensive-union-declaration'",
    )
    assert title == "Declaration on a Comprehensive Union"
    assert "Declaration on a Comprehensive Alliance" in aliases
    # the article's month, refined to the day by a second source that the note names
    assert (start, end, precision) == ("2025-11-12", "2025-11-12", "day")
    assert text == "In November 2025" and "globnews-declaration" in note


def test_minerals_money(db: sqlite3.Connection) -> None:
    exim = one(
        db,
        "SELECT d.amount_low, d.amount_high, d.currency FROM deals d JOIN parties p ON p.deal_id = d.id "
        "JOIN organizations o ON o.id = p.organization_id WHERE o.slug = 'us-exim'",
    )
    assert exim == (900_000_000, 900_000_000, "USD")
    eu = one(
        db,
        "SELECT amount_low, amount_high, usd_low, usd_rate, usd_rate_date FROM deals "
        "WHERE slug = 'eu-central-asia-special-funds'",
    )
    assert eu[:2] == (700_000_000, 700_000_000)
    assert eu[2] == round(700_000_000 * eu[3]) and eu[4] is not None  # USD with a named rate date
    stake, percent, low, high = one(
        db,
        "SELECT d.stake, d.stake_percent, d.amount_low, d.amount_high FROM deals d "
        "JOIN mineral_deposits m ON m.id = d.deposit_id WHERE m.name LIKE 'North Katpal%' "
        "AND d.kind = 'acquisition'",
    )
    # the article's word in one field, the percentage a second source gives in another
    assert stake == "controlling" and percent == 70
    assert low is None and high is None  # the price is not stated


def test_unnamed_company_is_named_by_second_sources_only(db: sqlite3.Connection) -> None:
    """The article does not name the US company; second sources do. The slug and an alias
    keep the article's view, and the name is cited to a source that is not the article."""
    org_id, name, anonymous, country, aliases, summary = one(
        db,
        "SELECT o.id, o.name, o.anonymous, c.code, o.aliases, o.summary FROM organizations o "
        "JOIN countries c ON c.id = o.country_id WHERE o.slug LIKE 'unnamed%'",
    )
    assert name == "Cove Kaz Capital Group LLC" and anonymous == 0 and country == "US"
    assert "Unnamed US company" in aliases and "does not name it" in summary
    name_sources = {
        r[0]
        for r in db.execute(
            "SELECT s.slug FROM citations c JOIN sources s ON s.id = c.source_id "
            "WHERE c.organization_id = ? AND c.field = 'name'",
            (org_id,),
        )
    }
    assert name_sources and SOURCE not in name_sources


def test_nuclear_plant(db: sqlite3.Connection) -> None:
    row = one(
        db,
        "SELECT capacity_value, capacity_unit, cost_low, cost_high, cost_currency, "
        "started_start, started_precision, completion_start, completion_end, completion_precision "
        "FROM infrastructure_projects WHERE kind LIKE '%nuclear%'",
    )
    assert row == (
        2.4, "GW", 14_000_000_000, 15_000_000_000, "USD",
        "2025-08-01", "month", "2035-01-01", "2036-12-31", "years",
    )  # fmt: skip
    partners = one(
        db,
        "SELECT group_concat(partner_key) FROM party_details WHERE record_type = 'project' "
        "AND record_id = (SELECT id FROM infrastructure_projects WHERE kind LIKE '%nuclear%')",
    )[0]
    assert "rosatom" in partners.split(",")


def test_rare_earth_group_is_one_row(db: sqlite3.Connection) -> None:
    count, commodity = one(
        db, "SELECT count, commodity FROM mineral_deposits WHERE count IS NOT NULL"
    )
    assert count == 50 and re.search("rare earth", commodity, re.I)


def test_gas_halt_is_early_2023(db: sqlite3.Connection) -> None:
    start, end, precision, text = one(
        db,
        "SELECT date_start, date_end, date_precision, date_text FROM events "
        "WHERE date_start >= '2023-01-01' AND date_end <= '2023-12-31'",
    )
    assert precision == "part_of_year" and start == "2023-01-01" and end < "2023-07-01"
    assert "early 2023" in text


def test_derived_date_is_marked(db: sqlite3.Connection) -> None:
    start, inferred = one(
        db,
        "SELECT date_start, date_inferred FROM agreements WHERE slug = 'kz-ru-energy-cooperation-commitments'",
    )
    assert start.startswith("2025") and inferred == 1
    # the agreement whose year was derived from "tenth anniversary" now has a sourced day
    start, precision, inferred, note = one(
        db,
        "SELECT date_start, date_precision, date_inferred, date_note FROM agreements "
        "WHERE kind = 'partnership_agreement'",
    )
    assert (start, precision, inferred) == ("2015-12-21", "day", 0)
    assert "isdp-epca-2015" in note and "tenth anniversary" in note


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM events WHERE date_start IS NULL",
        "SELECT count(*) FROM infrastructure_projects WHERE started_start IS NULL AND started_text IS NOT NULL",
    ],
)
def test_no_half_dates(db: sqlite3.Connection, sql: str) -> None:
    assert db.execute(sql).fetchone()[0] == 0
