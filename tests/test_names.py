"""Names as people in the region type them (issue 24): Russian and Kazakh names of
partners, places and people find their records, in any case, with ё or е."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
from pathlib import Path

import pytest

from kzdiplo.resolve import fold, postgres_fold
from tests.cli_helpers import run, run_json, run_process
from tests.script_helpers import load_script

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def test_seed_files_carry_every_regional_name() -> None:
    """A title that names Tokayev or Moscow without their Russian and Kazakh names (a
    new event, say) fails here: run scripts/regional_names.py."""
    script = load_script("regional_names")
    missing = {
        p.name: n
        for p in sorted(script.SEEDS.glob("*.yaml"))
        if (n := script.update(p, write=False))
    }
    assert missing == {}


def test_names_come_from_what_a_title_says() -> None:
    script = load_script("regional_names")
    visit = {"slug": "x", "title": "Tokayev's state visit to Russia", "location": "Moscow"}
    assert script.new_names(visit, "events") == ["Токаев", "Тоқаев", "Toqaev", "Москва", "Мәскеу"]
    airline = {
        "slug": "y",
        "title": "Air Astana orders jets",
        "location": "near Ulken, Almaty region",
    }
    assert script.new_names(airline, "events") == ["Улькен", "Үлкен", "Ülken"]
    assert script.new_names({"slug": "rosatom", "aliases": ["Росатом"]}, "organizations") == [
        "Госкорпорация «Росатом»"
    ]


def _keys(db: Path, *words: str) -> set[str]:
    return {hit["key"] for hit in run_json(db, "search", *words, "--limit", "0")}


def test_partner_by_its_russian_and_kazakh_names(seeded_db: Path) -> None:
    """`--partner Россия` (seed alias), `Ресей` and `Российская Федерация` (pycountry's
    Kazakh and Russian catalogues) are Russia."""
    russia = run_json(seeded_db, "agreements", "--partner", "RU")
    assert russia
    for name in ("Россия", "РОССИЯ", "Ресей", "Российская Федерация"):
        assert run_json(seeded_db, "agreements", "--partner", name) == russia, name
    us = run_json(seeded_db, "deals", "--partner", "US")
    assert run_json(seeded_db, "deals", "--partner", "Соединенные Штаты Америки") == us
    assert run_json(seeded_db, "deals", "--partner", "АҚШ") == us


@pytest.mark.parametrize(
    ("words", "key"),
    [
        ("Росатом", "rosatom"), ("РОСАТОМ", "rosatom"), ("росатом", "rosatom"),
        ("Қатпар", "north-katpal"), ("қатпар", "north-katpal"), ("Катпар", "north-katpal"),
        ("Тоқаев", "tokayev-state-visit-russia-2025"), ("ТОКАЕВ", "tokayev-washington-visit"),
        ("Мәскеу", "tokayev-state-visit-russia-2025"), ("Улькен", "kz-first-nuclear-power-plant"),
        ("Қазақстан", "KZ"), ("СОЕДИНЁННЫЕ", "US"), ("Соединенные", "US"),
        ("to lam", "to-lam-state-visit-kazakhstan-2025"),
    ],
)  # fmt: skip
def test_search_finds_cyrillic_names_in_any_case(seeded_db: Path, words: str, key: str) -> None:
    assert key in _keys(seeded_db, words)


def test_both_spellings_of_tokayev_find_the_same_events(seeded_db: Path) -> None:
    """Қ is a letter of its own (not folded into К): the aliases carry both spellings."""
    kazakh, russian = _keys(seeded_db, "Тоқаев"), _keys(seeded_db, "Токаев")
    assert len(kazakh) >= 8 and kazakh == russian == _keys(seeded_db, "Toqaev")


def test_the_query_is_folded_as_postgres_folds_documents() -> None:
    """The query side's copy of migration 0014's kzdiplo_fold table is the same table."""
    path = SCRIPTS.parent / "migrations" / "versions" / "0014_names_in_the_region.py"
    spec = importlib.util.spec_from_file_location("migration_0014", path)
    assert spec and spec.loader
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    source, target = migration._fold_table()
    assert len(source) > 300 and "Қ" in source and "É" in source
    assert postgres_fold(source) == fold(target)  # the documents write ё as е before it
    assert postgres_fold("ТОҚАЕВ Société Соединённые") == "тоқаев societe соединенные"


def test_fold_writes_yo_as_ye_only() -> None:
    assert fold("Соединённые ЁЛКИ") == "Соединенные ЕЛКИ"
    assert fold("Тоқаев Йошкар") == "Тоқаев Йошкар"


def test_aliases_are_stored_as_text_not_escapes(db: sqlite3.Connection) -> None:
    """The search index reads the stored JSON text: `\\u0420` would hide Росатом."""
    (aliases,) = db.execute("SELECT aliases FROM organizations WHERE slug = 'rosatom'").fetchone()
    assert "Росатом" in aliases and "\\u" not in aliases
    (kz,) = db.execute("SELECT aliases FROM countries WHERE code = 'KZ'").fetchone()
    assert {"Казахстан", "Қазақстан", "Qazaqstan"} <= set(json.loads(kz))


def test_every_partner_of_a_record_has_a_cyrillic_name(db: sqlite3.Connection) -> None:
    """Each country and named organisation that is a party to some record answers to a
    Russian or Kazakh name (unnamed groups and a few firms the regional press names in
    Latin letters aside)."""
    latin_only = {
        "unnamed-us-company-north-katpal", "wabtec", "john-deere", "leidos",
        "cerberus-capital-management", "china-state-construction-engineering-corporation",
        "unnamed-national-governments-eu-fund", "unnamed-ifis-eu-fund",
        "central-asian-countries", "zhongyun-international", "sovico-group",
        "us-ai-technology-companies",  # NVIDIA, Oracle, Cisco...: written in Latin there too
    }  # fmt: skip
    rows = db.execute(
        "SELECT DISTINCT p.key, p.aliases FROM ("
        " SELECT c.code AS key, c.aliases FROM parties x JOIN countries c ON c.id = x.country_id"
        " UNION ALL SELECT o.slug, o.aliases FROM parties x"
        " JOIN organizations o ON o.id = x.organization_id) p"
    ).fetchall()
    assert len(rows) > 20
    missing = [
        key
        for key, aliases in rows
        if key not in latin_only
        and not any("\u0400" <= ch <= "\u04ff" for name in json.loads(aliases) for ch in name)
    ]
    assert missing == []


@pytest.mark.slow
def test_the_installed_command_searches_in_cyrillic(seeded_db: Path) -> None:
    result = run_process("--db", str(seeded_db), "search", "Росатом", "--format", "json")
    assert result.returncode == 0, result.stderr.decode()
    assert [hit["key"] for hit in json.loads(result.stdout)] == ["rosatom"]
    refused = run(seeded_db, "agreements", "--partner", "Россиия")
    assert refused.exit_code == 2 and "did you mean RU (Russian Federation)" in refused.stderr
