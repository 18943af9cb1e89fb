"""The five listing commands share one set of options (cli/common.py, cli/listing.py):
each takes the ones that apply to its kind of record, and no other."""

import inspect
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.cli import load_command
from kzdiplo.cli.listing import Asked
from kzdiplo.entities import ENTITIES
from kzdiplo.queries import Filters
from tests.cli_helpers import run, run_json

EXPECTED = {  # what a reader of the help should find, written out once here
    "agreements": {"partner", "sector", "year", "since", "until", "include_undated", "bilateral",
                   "kind", "stage"},
    "deals": {"partner", "sector", "year", "since", "until", "include_undated", "bilateral",
              "kind", "min_usd", "stage"},
    "deposits": {"partner", "sector", "bilateral", "commodity", "status"},
    "projects": {"partner", "sector", "year", "since", "until", "include_undated", "bilateral",
                 "kind", "status"},
    "events": {"partner", "sector", "year", "since", "until", "include_undated", "bilateral",
               "kind"},
}  # fmt: skip
OUTPUT = {"sort", "limit", "fmt", "layout"}


def _params(command: str) -> dict[str, Any]:
    """The Click parameters of ``command`` that reach its function (not the output
    shorthands and the hidden --db, which act through callbacks)."""
    return {p.name: p for p in load_command(command).params if p.name and p.expose_value}


@pytest.mark.parametrize("plural", EXPECTED)
def test_each_listing_takes_the_options_that_apply(plural: str) -> None:
    params = _params(plural)
    assert set(params) == EXPECTED[plural] | OUTPUT
    # A real function with real parameters: its signature is the command's options.
    import kzdiplo.cli.records as records

    signature = inspect.signature(getattr(records, plural))
    assert list(signature.parameters)[1:] == list(params)


def test_every_filter_a_listing_takes_reaches_asked() -> None:
    """Each filter option is a field of Asked (what filters_from reads)."""
    every = set().union(*EXPECTED.values())
    assert every == set(Asked._fields) - {"sort", "limit"}


def test_filters_cannot_gain_a_misspelt_field() -> None:
    """Filters is immutable: a misspelt filter is an error, not a silent new attribute."""
    with pytest.raises(TypeError):
        Filters(stage=["signed"])  # type: ignore[call-arg]  # the field is "stages"
    f = Filters(limit=5)
    with pytest.raises(AttributeError):
        f.stages = ["signed"]  # type: ignore[misc]
    with pytest.raises(AttributeError):
        f.stage = ["signed"]  # type: ignore[attr-defined]
    assert f._replace(stages=["signed"]).stages == ["signed"]
    with pytest.raises(ValueError):
        f._replace(stage=["signed"])


def test_geojson_only_where_records_have_places() -> None:
    for plural in EXPECTED:
        fmt = _params(plural)["fmt"]
        assert ("geojson" in fmt.type.choices) == (plural in ("deposits", "projects", "events")), (
            plural
        )


def test_sort_help_names_the_listings_own_keys() -> None:
    for entity in ENTITIES.values():
        help_text = _params(entity.plural)["sort"].help or ""
        assert all(key in help_text for key in entity.sorts), (entity.plural, help_text)


def test_a_shared_option_filters_every_listing_that_takes_it(seeded_db: Path) -> None:
    """--partner (shared by all five) narrows each listing to records of that partner."""
    for plural in EXPECTED:
        every = run_json(seeded_db, plural, "--limit", "0")
        us = run_json(seeded_db, plural, "--limit", "0", "--partner", "US")
        assert len(us) < len(every), plural
        assert all(any(p["key"] == "US" or p["type"] == "organization" for p in r["partners"])
                   for r in us), plural  # fmt: skip


def test_deposits_take_status_now_that_the_option_is_shared(seeded_db: Path) -> None:
    statuses = {r["status"] for r in run_json(seeded_db, "deposits", "--limit", "0")} - {None}
    assert statuses
    status = sorted(statuses)[0]
    found = run_json(seeded_db, "deposits", "--status", status, "--limit", "0")
    assert found and all(status in r["status"] for r in found)
    result = run(seeded_db, "deposits", "--year", "2025")
    assert result.exit_code == 2  # deposits have no date: the option does not exist
