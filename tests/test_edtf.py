"""Partial dates carry an EDTF string that the real ``edtf`` library parses back to the
same range."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from edtf import parse_edtf, struct_time_to_date
from hypothesis import given, settings
from hypothesis import strategies as st

from kzdiplo.edtfdate import edtf
from tests.cli_helpers import run_json


@pytest.mark.parametrize(
    ("start", "end", "precision", "inferred", "expected"),
    [
        ("2025-11-05", "2025-11-05", "day", False, "2025-11-05"),
        ("2025-11-01", "2025-11-30", "month", False, "2025-11"),
        ("2025-01-01", "2025-12-31", "year", False, "2025"),
        ("2025-01-01", "2025-12-31", "year", True, "2025?"),
        ("2035-01-01", "2036-12-31", "years", False, "2035/2036"),
        ("2023-01-01", "2023-04-30", "part_of_year", False, "2023-01~/2023-04~"),
        ("2023-01-01", "2023-04-30", "part_of_year", True, "2023-01%/2023-04%"),
        ("2025-03-02", "2025-03-09", "day", False, "2025-03-02/2025-03-09"),
    ],
)
def test_each_precision_is_valid_edtf_covering_the_range(
    start: str, end: str, precision: str, inferred: bool, expected: str
) -> None:
    text = edtf(start, end, precision, inferred)
    assert text == expected
    parsed = parse_edtf(text)  # raises EDTFParseException when not EDTF
    assert struct_time_to_date(parsed.lower_strict()) == dt.date.fromisoformat(start)
    assert struct_time_to_date(parsed.upper_strict()) == dt.date.fromisoformat(end)


def test_unknown_date_has_no_edtf() -> None:
    assert edtf(None, None, None) is None
    assert edtf("[]", "[]", "[]") is None  # the CSV column probe's placeholder row


@pytest.mark.slow
def test_every_listed_date_parses_and_matches_its_range(seeded_db: Path) -> None:
    seen = set()
    for noun, keys in (("agreements", ["date"]), ("deals", ["date"]), ("events", ["date"]),
                       ("projects", ["started", "completion"])):  # fmt: skip
        for record in run_json(seeded_db, noun, "--limit", "0"):
            dates = [record.get(k) for k in keys]
            dates += [s["date"] for s in record.get("stages", [])]
            for value in filter(None, dates):
                parsed = parse_edtf(value["edtf"])
                low = struct_time_to_date(parsed.lower_strict())
                high = struct_time_to_date(parsed.upper_strict())
                assert (str(low), str(high)) == (value["start"], value["end"]), value
                seen.add(value["precision"])
    # The seeds hold the hard cases: early 2023 and 2035-2036.
    assert {"part_of_year", "years", "month", "day"} <= seen


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(
    st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9998, 12, 31)),
    st.sampled_from(["day", "month", "year", "years", "part_of_year"]),
    st.booleans(),
)
def test_any_range_the_loader_can_store_round_trips(
    day: dt.date, precision: str, inferred: bool
) -> None:
    """Whatever the day, the EDTF parses and covers exactly the stored range."""
    if precision == "day":
        start = end = day
    elif precision == "month":
        start = day.replace(day=1)
        end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    elif precision == "year":
        start, end = dt.date(day.year, 1, 1), dt.date(day.year, 12, 31)
    elif precision == "years":
        start, end = dt.date(day.year, 1, 1), dt.date(day.year + 1, 12, 31)
    else:  # "early <year>": January to April
        start, end = dt.date(day.year, 1, 1), dt.date(day.year, 4, 30)
    parsed = parse_edtf(edtf(start, end, precision, inferred))
    assert struct_time_to_date(parsed.lower_strict()) == start
    assert struct_time_to_date(parsed.upper_strict()) == end
