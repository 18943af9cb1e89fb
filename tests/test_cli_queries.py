"""Golden answers of the listing, show and search commands on the seeded database."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.cli_helpers import run, run_json


@pytest.mark.parametrize(
    "spelling", ["US", "us", "USA", "United States", "united states of america"]
)
def test_partner_spellings_give_the_same_rows(seeded_db: Path, spelling: str) -> None:
    rows = run_json(seeded_db, "agreements", "--partner", spelling)
    slugs = [r["slug"] for r in rows]
    assert "kz-us-washington-29-agreements" in slugs
    assert slugs == [r["slug"] for r in run_json(seeded_db, "agreements", "--partner", "US")]


def test_us_package_with_its_source(seeded_db: Path) -> None:
    (agreement,) = [a for a in run_json(seeded_db, "agreements", "-p", "US") if a["count"]]
    assert agreement["count"] == 29 and agreement["kind"] == "package"
    assert {p["key"] for p in agreement["partners"]} == {"KZ", "US"}
    assert "minerals" in agreement["sectors"]
    source = next(s for s in agreement["sources"] if s["kind"] == "quote")
    assert source["url"].startswith("https://www.tengritimes.com/")
    assert "29 agreements worth nearly $17 billion" in source["quote"]
    deals = run_json(seeded_db, "deals", "-p", "US")
    package = next(d for d in deals if d["agreement"] == agreement["slug"])
    assert package["amount"] | {"text": None} == {
        "low": 17_000_000_000, "high": 17_000_000_000, "currency": "USD",
        "approximate": True, "qualifier": "nearly", "text": None,
    }  # fmt: skip


def test_a_country_includes_its_organisations(seeded_db: Path) -> None:
    slugs = {d["slug"] for d in run_json(seeded_db, "deals", "--partner", "US")}
    assert "us-exim-critical-minerals-funding" in slugs  # US EXIM counts for the US
    only_exim = run_json(seeded_db, "deals", "--partner", "EXIM")
    assert [d["slug"] for d in only_exim] == ["us-exim-critical-minerals-funding"]


def test_china_package_and_tianjin(seeded_db: Path) -> None:
    packages = [a for a in run_json(seeded_db, "agreements", "-p", "china") if a["count"]]
    assert 24 in {a["count"] for a in packages}
    events = run_json(seeded_db, "events", "-p", "CN")
    assert "Tianjin" in {e["location"] for e in events}


@pytest.mark.slow
def test_russia_declaration_under_both_names(seeded_db: Path) -> None:
    declarations = run_json(seeded_db, "agreements", "-p", "Russia", "--kind", "declaration")
    (declaration,) = [
        d for d in declarations if d["slug"] == "kz-ru-comprehensive-union-declaration"
    ]
    assert declaration["title"] == "Declaration on a Comprehensive Union"
    assert "Declaration on a Comprehensive Alliance" in declaration["aliases"]
    # the article's month, refined to the day by a second source
    assert declaration["date"]["precision"] == "day"
    assert declaration["date"]["start"] == "2025-11-12"
    assert declaration["date"]["text"] == "In November 2025"
    for name in ("Comprehensive Union", "Comprehensive Alliance"):
        hits = run_json(seeded_db, "search", name)
        assert declaration["slug"] in [h["key"] for h in hits], name


def test_minerals_deals(seeded_db: Path) -> None:
    deals = {d["slug"]: d for d in run_json(seeded_db, "deals", "--sector", "minerals")}
    exim = deals["us-exim-critical-minerals-funding"]
    assert (exim["amount"]["low"], exim["amount"]["currency"]) == (900_000_000, "USD")
    fund = deals["eu-central-asia-special-funds"]
    assert (fund["amount"]["low"], fund["amount"]["currency"]) == (700_000_000, "EUR")
    assert fund["usd"]["rate_date"] and fund["usd"]["low"] > 700_000_000
    assert deals["north-katpal-controlling-stake"]["amount"] is None  # not stated
    assert "kz-nuclear-plant-investment" not in deals
    mining = {d["slug"] for d in run_json(seeded_db, "deals", "--sector", "Mining")}
    assert mining == set(deals)


def test_sector_children(seeded_db: Path) -> None:
    tungsten = {d["slug"] for d in run_json(seeded_db, "deposits", "--sector", "tungsten")}
    minerals = {d["slug"] for d in run_json(seeded_db, "deposits", "--sector", "minerals")}
    assert tungsten == {"north-katpal"} and minerals >= {
        "north-katpal",
        "kz-50-rare-earth-deposits",
    }


def test_deposits(seeded_db: Path) -> None:
    deposits = {d["slug"]: d for d in run_json(seeded_db, "deposits")}
    assert deposits["kz-50-rare-earth-deposits"]["count"] == 50
    assert deposits["north-katpal"]["name"] == "North Katpal tungsten mine"
    only = run_json(seeded_db, "deposits", "--commodity", "TUNGSTEN")
    assert [d["slug"] for d in only] == ["north-katpal"]


def test_nuclear_plant(seeded_db: Path) -> None:
    (plant,) = run_json(seeded_db, "projects", "-p", "rosatom")
    assert plant["capacity"]["value"] == 2.4 and plant["capacity"]["unit"] == "GW"
    assert (plant["cost"]["low"], plant["cost"]["high"]) == (14_000_000_000, 15_000_000_000)
    assert (plant["completion"]["start"], plant["completion"]["end"]) == (
        "2035-01-01",
        "2036-12-31",
    )
    assert plant["started"]["start"] == "2025-08-01" and plant["started"]["precision"] == "month"
    table = run(seeded_db, "projects", "-p", "rosatom")
    assert "2.4 GW" in table.stdout and "$14–15 bn" in table.stdout and "2035–2036" in table.stdout


def test_timeline_is_oldest_first_and_dates_compare_honestly(seeded_db: Path) -> None:
    events = run_json(seeded_db, "events", "--limit", "0")
    starts = [e["date"]["start"] for e in events]
    assert starts == sorted(starts) and len(events) >= 40
    (halt,) = [e for e in events if "natural gas" in e["title"]]
    assert halt["date"]["text"] == "In early 2023"
    assert halt["slug"] in {e["slug"] for e in run_json(seeded_db, "events", "--year", "2023")}
    # "early 2023" may fall in March 2023 but not in June 2023
    assert run_json(seeded_db, "events", "--since", "2023-03", "--until", "2023-03")
    assert run_json(seeded_db, "events", "--since", "2023-06", "--until", "2023-12") == []
    # the November 2025 declaration is after 2025-10 but not before it
    after = {e["slug"] for e in run_json(seeded_db, "agreements", "--since", "2025-11")}
    before = {e["slug"] for e in run_json(seeded_db, "agreements", "--until", "2025-10")}
    assert "kz-ru-comprehensive-union-declaration" in after - before


def test_partners_totals_do_not_double_count(seeded_db: Path) -> None:
    rows = {r["key"]: r for r in run_json(seeded_db, "partners")}
    us = rows["US"]
    # the package counts by its size once; its itemised documents are not counted again
    packages = [a for a in run_json(seeded_db, "agreements", "-p", "US", "--limit", "0")
                if not a["parent"]]  # fmt: skip
    assert us["agreement_records"] == len(packages)
    assert us["agreements"] == sum(a["count"] or 1 for a in packages)
    # the US is credited with Cove's $1.1 billion, not again with EXIM's letter of
    # interest for the same project, nor with the $17 billion whose payer is not named
    assert us["usd_from_partner"] == {"low": 1_100_000_000, "high": 1_100_000_000,
                                      "approximate": False}  # fmt: skip
    # EXIM's letter is counted in Cove's deal; Boeing and John Deere, parts of the $17
    # billion package, count through it, where the US is involved (direction not stated)
    assert us["deals_not_added"] == 3 and "us-exim" in us["organizations"]
    assert us["involved_direction_not_stated"]["low"] >= 17_000_000_000
    assert rows["CN"]["agreements"] >= 24
    assert rows["RU"]["usd_from_partner"] is None  # a participant in the plant, no payer
    assert rows["RU"]["relationship_level"] == "strategic partnership and alliance"
    assert "KZ" not in rows and {"JP", "csto", "sco"} <= set(rows)


@pytest.mark.slow
def test_show_every_noun(seeded_db: Path) -> None:
    for noun, key in [
        ("agreement", "kz-us-washington-29-agreements"),
        ("deals", "us-exim-critical-minerals-funding"),
        ("deposit", "north-katpal"),
        ("project", "kz-first-nuclear-power-plant"),
        ("event", "kz-gas-supply-halt-to-china-2023"),
        ("partner", "european council"),
    ]:
        record = run_json(seeded_db, "show", noun, key)
        assert record["sources"], noun
        assert all((s.get("quote") or s.get("summary")) and s["url"] for s in record["sources"])
        table = run(seeded_db, "show", noun, key)
        assert table.exit_code == 0 and "Sources" in table.stdout
    agreement = run_json(seeded_db, "show", "agreement", "kz-us-washington-29-agreements")
    assert [d["slug"] for d in agreement["linked"]["deals"]] == [
        "kz-us-washington-agreements-value"
    ]
    deal = run_json(seeded_db, "show", "deal", "north-katpal-controlling-stake")
    assert deal["deposit"] == "north-katpal"


def test_search_ranks_and_snippets(seeded_db: Path) -> None:
    hits = run_json(seeded_db, "search", "tungsten")
    assert "[tungsten]" in hits[0]["snippet"].lower()
    # the deposit is among the best matches (the package part and the stake deal also
    # carry "tungsten" in their titles)
    assert "north-katpal" in [h["key"] for h in hits[:3]]
    assert run_json(seeded_db, "search", "nuclear plant")[0]["noun"] in ("project", "event", "deal")
    assert run_json(seeded_db, "search", "zzzqqq") == []


@pytest.mark.slow
@pytest.mark.parametrize("command", ["agreements", "deals", "deposits", "projects", "events"])
def test_every_format(seeded_db: Path, command: str) -> None:
    records = run_json(seeded_db, command)
    assert records and all(r["sources"] for r in records)
    ndjson = run(seeded_db, command, "-f", "ndjson").stdout.splitlines()
    assert [json.loads(line)["slug"] for line in ndjson] == [r["slug"] for r in records]
    rows = list(csv.DictReader(io.StringIO(run(seeded_db, command, "-f", "csv").stdout)))
    assert [r["slug"] for r in rows] == [r["slug"] for r in records]
    # every record has sources; the article's records cite it (the rest widen the year)
    assert all(r["sources"] for r in rows)
    assert any("tengritimes" in r["sources"] for r in rows)
    markdown = run(seeded_db, command, "-f", "markdown").stdout.splitlines()
    assert markdown[0].startswith("| ") and len(markdown) == len(records) + 2
    table = run(seeded_db, command)
    assert table.exit_code == 0 and records[0]["slug"][:12] in table.stdout


def test_empty_results(seeded_db: Path) -> None:
    assert run_json(seeded_db, "agreements", "--year", "1990") == []
    result = run(seeded_db, "agreements", "--year", "1990")
    assert result.exit_code == 0 and "no agreements match" in result.stderr


def test_limit_and_sort(seeded_db: Path) -> None:
    result = run(seeded_db, "events", "--limit", "3", "-f", "json")
    assert len(json.loads(result.stdout)) == 3 and "--limit 0 shows all" in result.stderr
    newest = run_json(seeded_db, "events", "--sort", "-date", "--limit", "1")
    assert newest[0]["date"]["start"] == max(
        e["date"]["start"] for e in run_json(seeded_db, "events")
    )
    by_usd = run_json(seeded_db, "deals", "--sort", "-usd", "--limit", "0")
    highs = [d["usd"]["high"] for d in by_usd if d["usd"]]
    assert highs == sorted(highs, reverse=True) and by_usd[len(highs)]["usd"] is None
    big = run_json(seeded_db, "deals", "--min-usd", "10bn", "--limit", "0")
    assert {"kz-us-washington-agreements-value", "kz-nuclear-plant-investment"} <= {
        d["slug"] for d in big
    }
    assert all(d["usd"]["high"] >= 10**10 for d in big)


@pytest.mark.slow
def test_partners_cache_follows_ad_hoc_writes(seeded_db: Path) -> None:
    """A write outside kzdiplo marks the cached totals stale; partners then computes them."""
    import sqlite3

    with sqlite3.connect(seeded_db) as conn:
        assert conn.execute("SELECT stale FROM derived_state").fetchone()[0] == 0
    before = {r["key"]: r for r in run_json(seeded_db, "partners")}
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM deals WHERE slug = 'kz-us-cove-tungsten-capex'")
        assert conn.execute("SELECT stale FROM derived_state").fetchone()[0] == 1
    after = {r["key"]: r for r in run_json(seeded_db, "partners")}
    # without the capital expenditure, EXIM's letter of interest no longer overlaps money
    # the US is credited with: it is added instead
    assert before["US"]["usd_from_partner"]["low"] == 1_100_000_000
    assert after["US"]["usd_from_partner"]["low"] == 900_000_000
    assert run(seeded_db, "db", "seed").exit_code == 0  # a load rebuilds the cache
    with sqlite3.connect(seeded_db) as conn:
        assert conn.execute("SELECT stale FROM derived_state").fetchone()[0] == 0


@pytest.mark.parametrize("partner", ["US", "CN", "rosatom"])
def test_rare_and_common_partners_give_the_same_rows_either_way(
    seeded_db: Path, partner: str
) -> None:
    """The probe picks a query shape by how common the partner is; both shapes agree."""
    from kzdiplo import queries
    from kzdiplo.entities import ENTITIES
    from kzdiplo.reader import SqliteReader
    from kzdiplo.resolve import resolve_partner

    reader = SqliteReader(seeded_db)
    try:
        found = resolve_partner(reader, partner)
        noun = ENTITIES["agreement"]
        filters = queries.Filters(partner=found, limit=None)
        chosen = [r["slug"] for r in queries.list_records(reader, noun, filters).records]
        original = queries.PROBE_LIMIT
        try:
            queries.PROBE_LIMIT = 0  # never "few": always the EXISTS shape
            walked = [r["slug"] for r in queries.list_records(reader, noun, filters).records]
        finally:
            queries.PROBE_LIMIT = original
        assert chosen == walked
    finally:
        reader.close()
