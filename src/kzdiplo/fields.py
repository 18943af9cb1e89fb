"""The grouped fields: a value the load format and the JSON output give as one nested
field (a partial date, an amount, a cost, a capacity, coordinates, a USD figure) and
the database stores as several columns.

Each kind has one converter here, and it alone knows the field's columns: the loader
turns a load record's value into columns (:meth:`Grouped.to_columns`), queries turn the
columns back into the nested JSON value (:meth:`Grouped.shape`), the export writes that
value in the load format again (:meth:`Grouped.to_load`), and ``show`` and the web
pages display it (:meth:`Grouped.text`, :meth:`Grouped.html`).

Stdlib only (plus the plain-text helpers of ``display``): the listing path imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kzdiplo import display
from kzdiplo.edtfdate import edtf

# How a partial date's precision reads on a web page ("part of a year").
PRECISION_WORDS = {
    "day": "day",
    "month": "month",
    "part_of_year": "part of a year",
    "year": "year",
    "years": "span of years",
}


def precision_word(date: Mapping[str, Any]) -> str:
    return PRECISION_WORDS.get(date["precision"], date["precision"])


def drop_empty(value: Mapping[str, Any]) -> dict[str, Any]:
    """Leave out what is unknown: the load format reads a missing field as NULL."""
    return {k: v for k, v in value.items() if v not in (None, [], "") and v is not False}


def escape(text: str) -> str:
    """``text`` escaped for HTML, quotes included. The stdlib's html module is imported
    here, not at the top: it loads html.entities (1.5 ms), and every command imports
    this module while only the report and serve write HTML."""
    from html import escape as html_escape

    return html_escape(text)


def _quoted_html(text: str, value: Mapping[str, Any]) -> str:
    return escape(text) + (f" <q>{escape(value['text'])}</q>" if value.get("text") else "")


class Grouped:
    """One kind of grouped field: ``key`` in the load format and the JSON output,
    ``names`` mapping each key of its nested value to the column that stores it (the
    first column is NULL exactly when the value is unknown). ``derived_from``: the load
    field it is computed from, for a field that is never given in a load file."""

    def __init__(self, key: str, names: Mapping[str, str], derived_from: str | None = None) -> None:
        self.key = key
        self.names = dict(names)
        self.derived_from = derived_from

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(self.names.values())

    def to_columns(self, value: Any) -> dict[str, Any]:
        """The column values for a load record's value (an object with the nested
        keys as attributes), all NULL when it is None."""
        return {column: getattr(value, name, None) for name, column in self.names.items()}

    def shape(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The nested JSON value of a row holding the columns (None: unknown)."""
        if row[self.columns[0]] is None:
            return None
        return {name: row[column] for name, column in self.names.items()}

    def pop(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The shaped value of ``row``, its columns removed from ``row``."""
        value = self.shape(row)
        for column in self.columns:
            row.pop(column, None)
        return value

    def to_load(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """The shaped value as a load file gives it (what it leaves out reads as NULL)."""
        return drop_empty(value) if value else None

    def text(self, value: dict[str, Any] | None) -> str:
        """The value as ``kzdiplo show`` prints it, without the source's words
        (:meth:`words` gives those, on lines of their own)."""
        return display.text(value)

    def words(self, value: dict[str, Any] | None) -> list[str]:
        """The value's own words, each a line apart from the value: how the source put
        it ("nearly $17 billion") and the note on where a refinement comes from."""
        if not value:
            return []
        lines = [f"in the source's words: \u201c{value['text']}\u201d"] if value.get("text") else []
        return lines + ([f"note: {value['note']}"] if value.get("note") else [])

    def html(self, value: dict[str, Any]) -> str:
        """A known value as a web page shows it (escaped HTML)."""
        return escape(display.text(value))


class PartialDateField(Grouped):
    """A partial date stored as ``<prefix>_start``, ``_end``, ``_precision``, ``_text``,
    ``_inferred`` and ``_note``; its JSON value adds the EDTF form."""

    def __init__(self, prefix: str) -> None:
        keys = ("start", "end", "precision", "text", "inferred", "note")
        super().__init__(prefix, {k: f"{prefix}_{k}" for k in keys})

    def to_columns(self, value: Any) -> dict[str, Any]:
        """Columns for a load record's date (``resolve()`` gives its range); an unknown
        date is all NULL except ``inferred``, which is never NULL."""
        if value is None:
            return super().to_columns(None) | {self.names["inferred"]: False}
        return super().to_columns(value.resolve())

    def shape(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        """The date as JSON; a row without ``inferred`` and ``note`` (a stage change has
        neither) reads as not inferred, with no note."""
        c = self.names
        if row.get(c["start"]) is None:
            return None
        inferred = bool(row.get(c["inferred"]))
        return {
            "start": str(row[c["start"]]),
            "end": str(row[c["end"]]),
            "precision": row[c["precision"]],
            "text": row[c["text"]],
            "inferred": inferred,
            "note": row.get(c["note"]),
            "edtf": edtf(row[c["start"]], row[c["end"]], row[c["precision"]], inferred),
        }

    def to_load(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        # EDTF is derived from the range for readers: the load format does not take it.
        return drop_empty({k: v for k, v in value.items() if k != "edtf"}) if value else None

    def text(self, value: dict[str, Any] | None) -> str:
        return display.partial_date(value)

    def html(self, value: dict[str, Any]) -> str:
        detail = f"{precision_word(value)}: {value['start']} to {value['end']}"
        if value.get("note"):
            detail += f"; {value['note']}"
        text = _quoted_html(display.partial_date(value), value)
        return f'{text} <span class="precision">({escape(detail)})</span>'

    def years(self, value: Mapping[str, Any] | None) -> range:
        """Every year the date may fall in (none when it is unknown)."""
        if not value:
            return range(0)
        return range(int(value["start"][:4]), int(value["end"][:4]) + 1)


class MoneyField(Grouped):
    """An amount as a source states it: low-high in a currency, approximate or not."""

    def to_columns(self, value: Any) -> dict[str, Any]:
        columns = super().to_columns(value)
        return columns | {self.names["approximate"]: bool(value and value.approximate)}

    def shape(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        shaped = super().shape(row)
        return shaped and shaped | {"approximate": bool(shaped["approximate"])}

    def text(self, value: dict[str, Any] | None) -> str:
        return display.amount(value)

    def html(self, value: dict[str, Any]) -> str:
        return _quoted_html(display.amount(value), value)


class UsdField(Grouped):
    """An amount in US dollars (a deal's amount, a project's cost), computed at load
    time (kzdiplo.money), with the rate used and where it comes from. Never in a load
    file.

    ``dated_by``: the partial dates whose end day gives the rate, the first one known;
    a record with none of them converts at the publication day of the source cited for
    the amount (else of its first source). A deal's day is its own date's end; a
    project's is the end of its completion date (the cost is that of the finished
    work), else of its start."""

    derived_from: str

    def __init__(
        self, key: str, names: Mapping[str, str], derived_from: str, dated_by: tuple[str, ...]
    ) -> None:
        super().__init__(key, names, derived_from)
        self.dated_by = dated_by

    def to_columns(self, value: Any) -> dict[str, Any]:
        """Columns for a :class:`kzdiplo.money.UsdFigure` (None: no amount)."""
        return super().to_columns(value)

    def shape(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        shaped = super().shape(row)
        if shaped and shaped["rate_date"] is not None:
            shaped["rate_date"] = str(shaped["rate_date"])
        return shaped

    def to_load(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None  # derived from the amount: the loader computes it again

    def text(self, value: dict[str, Any] | None) -> str:
        if not value:
            return display.UNKNOWN
        rate = f"rate {value['rate']}" + (f" on {value['rate_date']}" if value["rate_date"] else "")
        return (
            f"{display.money(value['low'], value['high'], 'USD')} ({rate}; {value['rate_source']})"
        )

    def html(self, value: dict[str, Any]) -> str:
        if value.get("low") is None:
            return display.UNKNOWN
        return escape(
            f"{display.money(value['low'], value['high'], 'USD')} at rate {value['rate']}"
            f" ({value.get('rate_date') or 'no date'}; {value.get('rate_source') or '—'})"
        )


class CapacityField(Grouped):
    """A project's capacity: a value in a unit, with the source's wording."""

    def text(self, value: dict[str, Any] | None) -> str:
        return display.capacity(value)

    def html(self, value: dict[str, Any]) -> str:
        return escape(display.capacity(value))


class CoordinatesField(Grouped):
    """Where a source places a deposit, project or event (WGS 84), and how precisely."""

    def to_load(self, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return value  # every key is required in the load format

    def text(self, value: dict[str, Any] | None) -> str:
        if not value:
            return display.UNKNOWN
        return f"{value['latitude']}, {value['longitude']} ({value['precision']})"

    def html(self, value: dict[str, Any]) -> str:
        return escape(
            f"{value['latitude']}, {value['longitude']} "
            f"(precision: {value.get('precision') or 'not given'})"
        )


def _money(key: str, currency: str, approximate: str, qualifier: str) -> MoneyField:
    return MoneyField(
        key,
        {"low": f"{key}_low", "high": f"{key}_high", "currency": currency,
         "approximate": approximate, "qualifier": qualifier, "text": f"{key}_text"},
    )  # fmt: skip


DATE = PartialDateField("date")
STARTED = PartialDateField("started")
COMPLETION = PartialDateField("completion")
AMOUNT = _money("amount", "currency", "approximate", "qualifier")
USD_NAMES = ("low", "high", "rate", "rate_date", "rate_source")
USD = UsdField("usd", {k: f"usd_{k}" for k in USD_NAMES}, derived_from="amount", dated_by=("date",))
COORDINATES = CoordinatesField(
    "coordinates",
    {"latitude": "latitude", "longitude": "longitude", "precision": "location_precision"},
)
CAPACITY = CapacityField("capacity", {k: f"capacity_{k}" for k in ("value", "unit", "text")})
COST = _money("cost", "cost_currency", "cost_approximate", "cost_qualifier")
COST_USD = UsdField(
    "cost_usd",
    {k: f"cost_usd_{k}" for k in USD_NAMES},
    derived_from="cost",
    dated_by=("completion", "started"),
)

# Every grouped field, in the order a shaped record lists them (after its own columns).
FIELDS: dict[str, Grouped] = {
    f.key: f
    for f in (DATE, STARTED, COMPLETION, AMOUNT, USD, COORDINATES, CAPACITY, COST, COST_USD)
}
# The partial dates, in the order a record's years and dated rows list them.
DATES: tuple[PartialDateField, ...] = (DATE, STARTED, COMPLETION)
# Each grouped column, and its field.
BY_COLUMN: dict[str, Grouped] = {c: f for f in FIELDS.values() for c in f.columns}
# A flattened record's (CSV, spreadsheet) name for each part of a grouped value
# (``coordinates_latitude``), and the column that stores it (``latitude``).
FLAT_COLUMNS: dict[str, str] = {
    f"{f.key}_{name}": column for f in FIELDS.values() for name, column in f.names.items()
}


def shape(row: Mapping[str, Any]) -> dict[str, Any]:
    """``row`` with each grouped field's columns replaced by its nested value; a field
    is shaped when the row holds its columns (a listing selects every column)."""
    present = [f for f in FIELDS.values() if f.columns[0] in row]
    record = {k: v for k, v in row.items() if k not in BY_COLUMN or BY_COLUMN[k] not in present}
    for f in present:
        record[f.key] = f.shape(row)
    return record


def years(record: Mapping[str, Any]) -> list[int]:
    """Every year any of the record's partial dates may fall in, in order."""
    found: set[int] = set()
    for d in DATES:
        found.update(d.years(record.get(d.key)))
    return sorted(found)
