"""The loader refuses bad files with a precise message and leaves the database untouched."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import Engine

from kzdiplo.loader import LoadError
from kzdiplo.seed import seed, seed_files
from tests.conftest import snapshot


@pytest.mark.slow
def test_seeding_twice_changes_nothing(engine: Engine, seeded_db: Path) -> None:
    before = snapshot(seeded_db)
    report = seed(engine)
    assert report.changes == []
    assert snapshot(seeded_db) == before


def _broken_seeds(tmp_path: Path, mutate) -> list[Path]:
    """A copy of the seed files with one record changed by ``mutate(files)``."""
    folder = tmp_path / "seeds"
    shutil.copytree(seed_files()[0].parent, folder)
    files = {p.name: p for p in sorted(folder.glob("*.yaml"))}
    mutate(files)
    return sorted(files.values())


def _edit(path: Path, section: str, index: int, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data[section][index])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _set(key: str, value):
    def change(record: dict) -> None:
        record[key] = value

    return change


CASES = {
    "unknown partner": (
        lambda f: _edit(f["agreements.yaml"], "agreements", 0, _set("parties", [{"partner": "XX", "role": "signatory"}])),
        "agreements.yaml: agreements[0]",
        "parties.0.partner: unknown partner 'XX'",
    ),
    "low above high": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, lambda r: r["amount"].update(low=2, high=1)),
        "deals.yaml: deals[0]",
        "amount: low (2) is greater than high (1)",
    ),
    "bad currency": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, lambda r: r["amount"].update(currency="XYZ")),
        "deals.yaml: deals[0]",
        "amount.currency: XYZ is not an ISO 4217 currency code",
    ),
    "quote not in source": (
        lambda f: _edit(
            f["events.yaml"], "events", 0,
            _set("citations", [{"source": "tengritimes-2026-01-03", "quote": "Kazakhstan joined NATO"}]),
        ),
        "events.yaml: events[0]",
        "citations.0.quote: not found in the text of 'tengritimes-2026-01-03'",
    ),
    "unknown sector": (
        lambda f: _edit(f["agreements.yaml"], "agreements", 1, _set("sectors", ["space-mining"])),
        "agreements.yaml: agreements[1]",
        "sectors.0: unknown sector 'space-mining'",
    ),
    "wrong type": (
        lambda f: _edit(f["agreements.yaml"], "agreements", 1, _set("count", "twenty-nine")),
        "agreements.yaml: agreements[1]",
        "count",
    ),
    "bad date": (
        lambda f: _edit(f["events.yaml"], "events", 0, _set("date", "sometime")),
        "events.yaml: events[0]",
        "'sometime' is not a date",
    ),
    "bad role": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, _set("parties", [{"partner": "KZ", "role": "boss"}])),
        "deals.yaml: deals[0]",
        "parties.0.role",
    ),
    "missing citation": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, _set("citations", [])),
        "deals.yaml: deals[0]",
        "citations",
    ),
    "a deal overlapping itself": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, lambda r: r.update(overlaps=r["slug"])),
        "deals.yaml: deals[0]",
        "overlaps: a deal cannot overlap itself",
    ),
    "unknown field": (
        lambda f: _edit(f["deals.yaml"], "deals", 0, _set("price", 5)),
        "deals.yaml: deals[0]",
        "price: Extra inputs are not permitted",
    ),
    "duplicate slug": (
        lambda f: _edit(
            f["deals.yaml"], "deals", 1,
            _set("slug", yaml.safe_load(f["deals.yaml"].read_text())["deals"][0]["slug"]),
        ),
        "deals.yaml: deals[1]",
        "duplicate key",
    ),
    "bad YAML": (
        lambda f: f["events.yaml"].write_text("events:\n  - slug: [unclosed\n", encoding="utf-8"),
        "events.yaml: invalid YAML (line",
        "",
    ),
    "unknown section": (
        lambda f: f["events.yaml"].write_text("happenings: []\n", encoding="utf-8"),
        "events.yaml: unknown section 'happenings'",
        "",
    ),
}  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bad_seed_file_is_refused_and_changes_nothing(
    case: str, tmp_path: Path, engine: Engine, seeded_db: Path
) -> None:
    mutate, where, what = CASES[case]
    files = _broken_seeds(tmp_path, mutate)
    before = snapshot(seeded_db)
    with pytest.raises(LoadError) as caught:
        seed(engine, files)
    message = "\n".join(caught.value.problems)
    assert where in message and what in message, message
    assert snapshot(seeded_db) == before


@pytest.mark.slow
def test_a_changed_value_updates_the_record(
    tmp_path: Path, engine: Engine, seeded_db: Path
) -> None:
    files = _broken_seeds(
        tmp_path, lambda f: _edit(f["events.yaml"], "events", 0, _set("location", "Astana"))
    )
    report = seed(engine, files)
    assert [(c[0], c[2], c[3]) for c in report.changes] == [("events", "updated", ["location"])]
    report = seed(engine, files)
    assert report.changes == []
