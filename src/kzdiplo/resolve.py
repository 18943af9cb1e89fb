"""Turn what a user types (``US``, ``usa``, ``United States``, ``minerals``) into ids."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, NamedTuple

from kzdiplo.errors import UsageError, did_you_mean
from kzdiplo.reader import Reader


def aliases_of(value: Any) -> list[str]:
    """The aliases column as a list (JSON text on SQLite, a list on PostgreSQL)."""
    if value is None:
        return []
    if isinstance(value, str):
        return json.loads(value)
    return list(value)


def fold(text: str) -> str:
    """``text`` with ``ё`` written ``е``, as Russian print mostly writes it and as the
    search documents hold it (migration 0014): ``Соединенные`` finds ``Соединённые``.
    Case is the caller's (casefold, or the search's own folding)."""
    return text.replace("ё", "е").replace("Ё", "Е")


@cache
def _document_letters() -> dict[int, str]:
    """Migration 0014's ``kzdiplo_fold`` table, for the query: each upper-case Latin or
    Cyrillic letter beyond ASCII to its lower case, each accented Latin letter to its bare
    lower-case letter (the migration keeps its own copy, as migrations are frozen;
    tests/test_names.py holds the two equal)."""
    import unicodedata

    table: dict[int, str] = {}
    for code in [*range(0xC0, 0x250), *range(0x400, 0x530)]:
        char = chr(code)
        folded = char.lower()
        if code < 0x250:
            bare = unicodedata.normalize("NFD", folded)
            folded = "".join(c for c in bare if not unicodedata.combining(c))
        if len(folded) == 1 and folded != char and unicodedata.category(char).startswith("L"):
            table[code] = folded
    return table


def postgres_fold(word: str) -> str:
    """``word`` as PostgreSQL's search documents hold it (``kzdiplo_fold``, migration
    0014): in the C locale its own lower() knows only A-Z, so the query is folded here."""
    lowered = "".join(c.lower() if c.isascii() else c for c in fold(word))
    return lowered.translate(_document_letters())


# What people call some countries, beside their ISO names and the aliases the data holds.
EVERYDAY_NAMES = {
    "uk": "gb", "britain": "gb", "great britain": "gb", "england": "gb",
    "korea": "kr", "south korea": "kr", "north korea": "kp", "russia": "ru",
    "america": "us", "holland": "nl", "turkey": "tr", "czech republic": "cz", "iran": "ir",
    "vietnam": "vn", "syria": "sy", "laos": "la", "moldova": "md", "taiwan": "tw",
    "tanzania": "tz", "bolivia": "bo", "venezuela": "ve", "palestine": "ps",
}  # fmt: skip


class Partner(NamedTuple):
    """A resolved partner: a country or bloc (with its organisations) or an organisation."""

    type: str  # "country" or "organization"
    id: int
    key: str  # code or slug
    name: str
    country_ids: tuple[int, ...] = ()
    organization_ids: tuple[int, ...] = ()


_PARTNERS_SQL = """
SELECT 'country' AS type, id, code AS key, alpha3, name, official_name, aliases,
    NULL AS country_id
FROM countries
UNION ALL
SELECT 'organization', id, slug, NULL, name, NULL, aliases, country_id FROM organizations
"""


def resolve_partner(reader: Reader, text: str) -> Partner:
    """The partner named by ``text``: a code, slug, name or alias, in any case.

    A country includes its organisations (the US includes the US Export-Import Bank).
    """
    wanted = fold(text.strip().casefold())
    if not wanted:
        raise UsageError("partner needs a value (a code, name or alias: US, China, EU)")
    wanted = EVERYDAY_NAMES.get(wanted, wanted)
    rows = reader.rows(_PARTNERS_SQL)
    # A code or slug wins over a name, so names (each alias folded: most of this call's
    # time) are compared only when no key matches, as with a code typed (US, eu).
    matches = [r for r in rows if wanted in (str(r["key"]).casefold(),
                                             str(r["alpha3"] or "").casefold())]  # fmt: skip
    if not matches:
        matches = [r for r in rows if wanted in _names(r)]
    if not matches:
        labels: dict[str, str] = {}
        for r in rows:
            shown = f"{r['key']} ({r['name']})"
            for label in (r["key"], r["name"], r["official_name"], *aliases_of(r["aliases"])):
                if label:
                    labels.setdefault(str(label), shown)
        raise did_you_mean("partner", text, labels)
    if len(matches) > 1:
        options = ", ".join(f"{m['key']} ({m['name']})" for m in matches)
        raise UsageError(f"partner {text!r} is ambiguous: {options}")
    match = matches[0]
    if match["type"] == "organization":
        return Partner("organization", match["id"], match["key"], match["name"], (), (match["id"],))
    organizations = tuple(r["id"] for r in rows if r["country_id"] == match["id"])
    return Partner(
        "country", match["id"], match["key"], match["name"], (match["id"],), organizations
    )


def _names(row: dict[str, Any]) -> set[str]:
    """A partner's name, official name and aliases, folded as what users type is."""
    names = (row["name"], row["official_name"], *aliases_of(row["aliases"]))
    return {fold(str(n).casefold()) for n in names if n}


def any_partner(partners: list[Partner]) -> Partner:
    """Several partners as one filter that matches a record of any of them."""
    if len(partners) == 1:
        return partners[0]
    first = partners[0]
    return first._replace(
        key=", ".join(p.key for p in partners),
        name=", ".join(p.name for p in partners),
        country_ids=tuple(dict.fromkeys(i for p in partners for i in p.country_ids)),
        organization_ids=tuple(dict.fromkeys(i for p in partners for i in p.organization_ids)),
    )


class SectorTree:
    """The sector taxonomy, to expand a parent into itself and its descendants."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def resolve(self, text: str) -> list[int]:
        wanted = text.strip().casefold()
        if not wanted:
            raise UsageError("sector needs a value (minerals, energy, transport...)")
        for row in self.rows:
            labels = {row["slug"], row["name"], *aliases_of(row["aliases"])}
            if wanted in {label.casefold() for label in labels}:
                return self.descendants(row["id"])
        spellings = {
            label: row["slug"]
            for row in self.rows
            for label in (row["slug"], row["name"], *aliases_of(row["aliases"]))
        }
        raise did_you_mean("sector", text, spellings)

    def descendants(self, sector_id: int) -> list[int]:
        found, frontier = [sector_id], [sector_id]
        while frontier:  # breadth first; a cycle in hand-edited data cannot loop forever
            frontier = [
                r["id"] for r in self.rows if r["parent_id"] in frontier and r["id"] not in found
            ]
            found += frontier
        return found


def resolve_sector(reader: Reader, text: str) -> list[int]:
    """Ids of the sector named by ``text`` (slug, name or alias) and all its sub-sectors."""
    rows = reader.rows("SELECT id, slug, name, parent_id, aliases FROM sectors")
    return SectorTree(rows).resolve(text)
