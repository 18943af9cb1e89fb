"""Options do what they say: a repeated --partner or --sector means any of them, and
events have the sectors of what they concern."""

from __future__ import annotations

from pathlib import Path

from tests.cli_helpers import run_json


def slugs(db: Path, *args: str) -> set[str]:
    return {r["slug"] for r in run_json(db, *args, "--limit", "0")}


def test_a_repeated_partner_means_any_of_them(seeded_db: Path) -> None:
    us, ru = slugs(seeded_db, "deals", "-p", "US"), slugs(seeded_db, "deals", "-p", "RU")
    assert us and ru and us != ru
    assert slugs(seeded_db, "deals", "-p", "US", "-p", "RU") == us | ru
    assert slugs(seeded_db, "agreements", "--partner", "US", "--partner", "china") == (
        slugs(seeded_db, "agreements", "-p", "US") | slugs(seeded_db, "agreements", "-p", "CN")
    )


def test_a_repeated_sector_means_any_of_them(seeded_db: Path) -> None:
    minerals = slugs(seeded_db, "deals", "-s", "minerals")
    energy = slugs(seeded_db, "deals", "-s", "energy")
    assert minerals and energy and minerals != energy
    assert slugs(seeded_db, "deals", "-s", "minerals", "-s", "energy") == minerals | energy


def test_events_take_the_sectors_of_what_they_concern(seeded_db: Path) -> None:
    events = run_json(seeded_db, "events", "--limit", "0")
    concerned = [e for e in events if e["deal"] or e["agreement"]]
    assert concerned
    found = slugs(seeded_db, "events", "--sector", "minerals")
    assert found, "no event found under minerals"
    for event in run_json(seeded_db, "events", "--sector", "minerals", "--limit", "0"):
        assert event["sectors"] or event["related_sectors"], event["slug"]
    assert any(not e["sectors"] and e["related_sectors"] for e in events)
