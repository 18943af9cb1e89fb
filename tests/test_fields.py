"""The grouped-field converters (kzdiplo.fields): each kind's columns, both ways, its
JSON and load-format shapes and its display text. A converter that drops, renames or
mistypes a column fails the round trips; a changed display fails the texts."""

import datetime as dt
from typing import Any

import pytest
from pydantic import BaseModel

from kzdiplo import fields, models
from kzdiplo.entities import ENTITIES
from kzdiplo.money import UsdFigure
from kzdiplo.records import SECTIONS, AmountIn, CapacityIn, CoordinatesIn, DateIn

# One stored row per converter, every column set (a NULL would hide a lost column).
ROWS: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "date": (DateIn, {
        "date_start": dt.date(2025, 11, 1), "date_end": dt.date(2025, 11, 30),
        "date_precision": "month", "date_text": "in November", "date_inferred": True,
        "date_note": "from the visit's dates"}),
    "started": (DateIn, {
        "started_start": dt.date(2023, 1, 1), "started_end": dt.date(2023, 4, 30),
        "started_precision": "part_of_year", "started_text": "early 2023",
        "started_inferred": False, "started_note": "as the ministry said"}),
    "completion": (DateIn, {
        "completion_start": dt.date(2035, 1, 1), "completion_end": dt.date(2036, 12, 31),
        "completion_precision": "years", "completion_text": "2035-2036",
        "completion_inferred": True, "completion_note": "planned"}),
    "amount": (AmountIn, {
        "amount_low": 700_000_000, "amount_high": 750_000_000, "currency": "EUR",
        "approximate": True, "qualifier": "about", "amount_text": "about €0.7 billion"}),
    "cost": (AmountIn, {
        "cost_low": 3_000_000_000, "cost_high": 3_700_000_000, "cost_currency": "USD",
        "cost_approximate": True, "cost_qualifier": "up to", "cost_text": "up to $3.7 bn"}),
    "capacity": (CapacityIn, {
        "capacity_value": 2.4, "capacity_unit": "GW", "capacity_text": "2.4 gigawatts"}),
    "coordinates": (CoordinatesIn, {
        "latitude": 47.1, "longitude": 51.9, "location_precision": "site"}),
}  # fmt: skip
USD_ROW = {"usd_low": 810_000_000, "usd_high": 870_000_000, "usd_rate": 1.157,
           "usd_rate_date": dt.date(2025, 11, 28), "usd_rate_source": "ECB"}  # fmt: skip


def test_every_grouped_field_has_a_row_here() -> None:
    assert set(ROWS) | {"usd"} == set(fields.FIELDS)


@pytest.mark.parametrize("key", sorted(ROWS))
def test_columns_to_value_to_load_file_and_back_to_the_same_columns(key: str) -> None:
    """The path of an export and reload: stored columns, shaped JSON, the load format,
    the load record that reads it, and the columns the loader writes from it."""
    record_class, row = ROWS[key]
    f = fields.FIELDS[key]
    assert set(f.columns) == set(row)
    value = f.shape(row)
    assert value is not None
    loaded = record_class.model_validate(f.to_load(value))
    assert f.to_columns(loaded) == row


@pytest.mark.parametrize("key", sorted(ROWS))
def test_an_unknown_value_is_null_columns_and_none(key: str) -> None:
    f = fields.FIELDS[key]
    empty = f.to_columns(None)
    assert set(empty) == set(f.columns)
    # Flags are never NULL: an unknown date is not inferred, an unknown amount not approximate.
    assert {c for c, v in empty.items() if v is not None} <= {
        "date_inferred", "started_inferred", "completion_inferred", "approximate",
        "cost_approximate"}  # fmt: skip
    assert f.shape(empty) is None
    assert f.to_load(None) is None


def test_usd_columns_from_a_figure_and_back() -> None:
    figure = UsdFigure(810_000_000, 870_000_000, 1.157, dt.date(2025, 11, 28), "ECB")
    assert fields.USD.to_columns(figure) == USD_ROW
    assert fields.USD.shape(USD_ROW) == {"low": 810_000_000, "high": 870_000_000,
                                         "rate": 1.157, "rate_date": "2025-11-28",
                                         "rate_source": "ECB"}  # fmt: skip
    assert fields.USD.shape(fields.USD.to_columns(None)) is None
    assert fields.USD.to_load(fields.USD.shape(USD_ROW)) is None  # recomputed at load


def test_a_shaped_date_has_its_edtf_form_and_strings() -> None:
    value = fields.DATE.shape(ROWS["date"][1])
    assert value == {"start": "2025-11-01", "end": "2025-11-30", "precision": "month",
                     "text": "in November", "inferred": True,
                     "note": "from the visit's dates", "edtf": "2025-11?"}  # fmt: skip
    assert fields.DATE.to_load(value) == {
        "start": "2025-11-01", "end": "2025-11-30", "precision": "month",
        "text": "in November", "inferred": True, "note": "from the visit's dates"}  # fmt: skip


def test_a_stage_date_without_inferred_or_note_columns() -> None:
    row = {"stage": "signed", "date_start": "2025-08-15", "date_end": "2025-08-15",
           "date_precision": "day", "date_text": None}  # fmt: skip
    assert fields.DATE.pop(row) == {"start": "2025-08-15", "end": "2025-08-15",
                                    "precision": "day", "text": None, "inferred": False,
                                    "note": None, "edtf": "2025-08-15"}  # fmt: skip
    assert row == {"stage": "signed"}


def test_an_amount_of_zero_keeps_its_figures_in_the_load_format() -> None:
    row = dict(ROWS["amount"][1], amount_low=0, amount_high=0, approximate=False)
    loaded = fields.AMOUNT.to_load(fields.AMOUNT.shape(row))
    assert loaded is not None
    assert (loaded["low"], loaded["high"]) == (0, 0)
    assert "approximate" not in loaded  # false reads as the default


def test_a_row_is_shaped_with_its_own_columns_first_then_its_grouped_fields() -> None:
    row = {"id": 1, "slug": "x", **ROWS["coordinates"][1], **ROWS["cost"][1],
           **ROWS["started"][1], "summary": None}  # fmt: skip
    shaped = fields.shape(row)
    assert list(shaped) == ["id", "slug", "summary", "started", "coordinates", "cost"]
    assert shaped["coordinates"] == {"latitude": 47.1, "longitude": 51.9, "precision": "site"}
    assert shaped["cost"]["currency"] == "USD"
    assert shaped["cost"]["approximate"] is True


def test_years_cover_every_date_of_a_record() -> None:
    record = {"started": fields.STARTED.shape(ROWS["started"][1]),
              "completion": fields.COMPLETION.shape(ROWS["completion"][1]), "date": None}  # fmt: skip
    assert fields.years(record) == [2023, 2035, 2036]
    assert fields.years({}) == []


def _shaped(key: str) -> dict[str, Any]:
    value = fields.FIELDS[key].shape(ROWS[key][1])
    assert value is not None
    return value


def test_terminal_text_keeps_the_value_apart_from_the_source_words() -> None:
    """``text`` is the value alone; ``words`` the source's wording and the note, each a
    line of its own (before issue 26 they ran together: "Nov 2025 In 2025")."""
    assert fields.DATE.text(_shaped("date")) == "~Nov 2025 (inferred)"
    assert fields.DATE.words(_shaped("date")) == [
        "in the source's words: \u201cin November\u201d",
        "note: from the visit's dates",
    ]
    assert fields.COMPLETION.text(_shaped("completion")) == "~2035–2036 (inferred)"
    assert fields.COMPLETION.words(_shaped("completion"))[-1] == "note: planned"
    assert fields.AMOUNT.text(_shaped("amount")) == "≈ €700–750 m"
    assert fields.COST.text(_shaped("cost")) == "≈ $3–3.7 bn"
    assert fields.CAPACITY.text(_shaped("capacity")) == "2.4 GW"
    assert fields.CAPACITY.words(_shaped("capacity")) == [
        "in the source's words: \u201c2.4 gigawatts\u201d"
    ]
    assert fields.COORDINATES.text(None) == "—"
    assert fields.USD.text(fields.USD.shape(USD_ROW)) == (
        "$810–870 m (rate 1.157 on 2025-11-28; ECB)"
    )
    for f in fields.FIELDS.values():
        assert f.text(None) == "—", f
        assert f.words(None) == [], f


def test_html_text_escapes_and_quotes_the_source() -> None:
    value = _shaped("date") | {"text": "<b>late</b> 2025"}
    assert fields.DATE.html(value) == (
        "~Nov 2025 (inferred) <q>&lt;b&gt;late&lt;/b&gt; 2025</q> "
        '<span class="precision">(month: 2025-11-01 to 2025-11-30; '
        "from the visit&#x27;s dates)</span>"
    )
    assert fields.AMOUNT.html(_shaped("amount")) == "≈ €700–750 m <q>about €0.7 billion</q>"
    assert fields.CAPACITY.html(_shaped("capacity")) == "2.4 GW"
    assert fields.COORDINATES.html(_shaped("coordinates")) == "47.1, 51.9 (precision: site)"
    assert fields.USD.html(fields.USD.shape(USD_ROW)) == (  # type: ignore[arg-type]
        "$810–870 m at rate 1.157 (2025-11-28; ECB)"
    )


def test_each_entity_declares_the_grouped_fields_its_load_record_and_table_have() -> None:
    for entity in ENTITIES.values():
        loaded = {f for f in SECTIONS[entity.plural].model_fields if f in fields.FIELDS}
        declared = {f.key for f in entity.fields}
        assert {f.key for f in entity.fields if not f.derived_from} == loaded, (
            f"entities.py: {entity.name}'s grouped= should name {sorted(loaded)}"
        )
        table = models.Base.metadata.tables[entity.table]
        grouped_columns = {c.name for c in table.columns if c.name in fields.BY_COLUMN}
        assert grouped_columns == {c for f in entity.fields for c in f.columns}, (
            f"entities.py: {entity.name}'s grouped= {sorted(declared)} and its table's "
            "grouped columns differ"
        )
