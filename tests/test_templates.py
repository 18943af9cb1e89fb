"""``kzdiplo new`` skeletons against the load records: each one validates, names only
fields the records know, and the whole skeleton loads once its source holds the quote."""

from __future__ import annotations

import sqlite3
import typing
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from kzdiplo.entities import ENTITIES
from kzdiplo.loader import LoadError, read_files
from kzdiplo.records import SECTIONS
from kzdiplo.templates import HEADER, SKELETONS
from tests.cli_helpers import run

# Sections `kzdiplo new` has no skeleton for, and why.
NO_SKELETON = {
    "sectors": "the sector tree is part of the seeds; a load file names sectors by slug",
    "countries": "ISO countries come from pycountry; the few blocs are in the seeds",
}

# Fields of a load record that its skeleton leaves out, and why: the skeletons show what
# a typical record needs; these are optional and described in seeds/README.md. Kept
# exact (a field added to a skeleton must leave this list), so it cannot go stale.
EVERY_RECORD = {
    "discrepancies": "added when a second source says otherwise",
    "notes": "our own remarks",
    "aliases": "other names, added as sources use them",
}
LEFT_OUT: dict[str, dict[str, str]] = {
    "sources": {
        "text_file": "the alternative to text:, which the skeleton shows",
        "derived_from": "only for a source that republishes or reports on another",
        "relation": "given with derived_from",
        "published_inferred": "only when the publication date is inferred",
        "published_note": "only when the publication date needs a note",
    },
    "agreements": EVERY_RECORD | {
        "parent": "only for a part of a package",
        "stages": "the dated history of stages; the skeleton shows the current stage",
    },
    "deals": {k: EVERY_RECORD[k] for k in ("discrepancies", "notes")} | {
        "date": "optional: when the source dates the money itself",
        "stages": "the dated history of stages; the skeleton shows the current stage",
        "parent": "only for a part of a larger deal",
        "deposit": "the comment on agreement: names the other links",
        "project": "the comment on agreement: names the other links",
        "event": "only when a source says where it was announced",
        "overlaps": "only when another deal's money may include this one's",
        "overlap_note": "given with overlaps",
        "stake": "only for an acquisition or investment of a share",
        "stake_percent": "only for an acquisition or investment of a share",
        "summary": "optional: the title says what the money is for",
    },
    "deposits": EVERY_RECORD | {
        "count": "only for a group of deposits counted as one record",
        "parties": "only when a source names an owner or operator",
        "summary": "optional prose",
    },
    "projects": EVERY_RECORD | {
        "location": "shown in the deposits skeleton; optional here",
        "coordinates": "shown in the deposits skeleton; only from a source",
        "sectors": "shown in the other skeletons; optional",
        "summary": "optional prose",
    },
    "events": {k: EVERY_RECORD[k] for k in ("discrepancies", "notes")} | {
        "deal": "the comment on agreement: names the other links",
        "deposit": "the comment on agreement: names the other links",
        "project": "the comment on agreement: names the other links",
        "sectors": "shown in the other skeletons; optional",
        "summary": "optional prose",
    },
    "organizations": {k: EVERY_RECORD[k] for k in ("discrepancies", "aliases")} | {
        "anonymous": "only for a party a source does not name",
        "summary": "optional prose",
    },
}  # fmt: skip


TABLES = {e.plural: e.table for e in ENTITIES.values()}  # sources and organizations: as named


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models inside a field's type (``X | None``, ``list[X]``, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]


def _unknown_fields(value: Any, model: type[BaseModel], where: str) -> list[str]:
    """Every key of ``value``, at any depth, that ``model`` (or the record nested under
    that key) does not define. Independent of ``extra="forbid"``, so a record that
    stopped refusing unknown fields would still be caught here."""
    if not isinstance(value, dict):
        return []  # a short form, such as `date: 2026-01`
    unknown = [f"{where}.{key}" for key in value if key not in model.model_fields]
    for key, nested_value in value.items():
        field = model.model_fields.get(key)
        nested = _models_in(field.annotation) if field else []
        if not nested:
            continue
        items = nested_value if isinstance(nested_value, list) else [nested_value]
        for i, item in enumerate(items):
            unknown += _unknown_fields(item, nested[0], f"{where}.{key}[{i}]")
    return unknown


def _records(section: str) -> list[dict[str, Any]]:
    records = yaml.safe_load(SKELETONS[section])[section]
    assert isinstance(records, list) and records, f"the {section} skeleton has no record"
    return records


def test_every_section_has_a_skeleton_or_a_reason() -> None:
    assert not set(SKELETONS) & set(NO_SKELETON)
    assert set(SKELETONS) | set(NO_SKELETON) == set(SECTIONS)
    assert set(LEFT_OUT) == set(SKELETONS)


def test_the_field_walk_finds_unknown_fields_at_any_depth() -> None:
    deals = SECTIONS["deals"]
    record = {
        "slug": "x",
        "colour": "red",
        "amount": {"low": 1, "high": 1, "currency": "USD", "rate": 2},
        "citations": [{"source": "s", "summary": "ok"}, {"source": "s", "page": 3}],
    }
    assert _unknown_fields(record, deals, "deals[0]") == [
        "deals[0].colour",
        "deals[0].amount[0].rate",
        "deals[0].citations[1].page",
    ]


@pytest.mark.parametrize("section", sorted(SKELETONS))
def test_a_skeleton_names_only_fields_its_load_record_knows(section: str) -> None:
    model = SECTIONS[section]
    for i, record in enumerate(_records(section)):
        assert _unknown_fields(record, model, f"{section}[{i}]") == []


@pytest.mark.parametrize("section", sorted(SKELETONS))
def test_a_skeleton_validates_as_the_loader_reads_it(section: str, tmp_path: Path) -> None:
    path = tmp_path / f"{section}.yaml"
    path.write_text(HEADER + "\n" + SKELETONS[section], encoding="utf-8")
    try:
        bundle = read_files([path])
    except LoadError as exc:
        pytest.fail("\n".join(exc.problems))
    assert len(bundle.items[section]) == len(_records(section))


@pytest.mark.parametrize("section", sorted(SKELETONS))
def test_a_skeleton_shows_every_field_or_says_why_not(section: str) -> None:
    fields = set(SECTIONS[section].model_fields)
    shown = set().union(*(set(r) for r in _records(section)))
    assert sorted(fields - shown) == sorted(LEFT_OUT[section]), (
        f"a {section} field is neither in its skeleton (src/kzdiplo/templates.py) nor in "
        "LEFT_OUT with a reason (or is listed there but now shown)"
    )


def test_the_whole_skeleton_loads_once_its_source_holds_the_quote(
    seeded_db: Path, tmp_path: Path
) -> None:
    printed = run(seeded_db, "new")
    assert printed.exit_code == 0, printed.stderr
    data = yaml.safe_load(printed.stdout)
    assert set(data) == set(SKELETONS)
    # The one placeholder a load checks: each quote must be in its source's text.
    quotes = {
        citation["quote"]
        for records in data.values()
        for record in records
        for citation in record.get("citations", [])
        if "quote" in citation
    }
    assert quotes, "the skeletons show no quote"
    (source,) = data["sources"]
    source["text"] = " ".join(sorted(quotes))
    path = tmp_path / "filled.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    loaded = run(seeded_db, "load", str(path))
    assert loaded.exit_code == 0, loaded.stderr
    with sqlite3.connect(seeded_db) as conn:
        for section, records in data.items():
            table = TABLES.get(section, section)
            for record in records:
                found = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE slug = ?", (record["slug"],)
                ).fetchone()[0]
                assert found == 1, (section, record["slug"])
