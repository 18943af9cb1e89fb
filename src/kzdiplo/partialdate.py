"""Partial dates: what a source says about when (a year, a month, "early 2023", 2035-2036).

A partial date is stored as the range it may fall in plus a precision, so that
``--year 2025`` and ``--since 2025-06`` compare honestly, and the source's own wording.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_DAY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_YEARS = re.compile(r"^(\d{4})\s*/\s*(\d{4})$")


# Dates a load may hold: every output format (JSON, CSV, EDTF, the report's timeline,
# JavaScript's Date in the browser) carries these, and a day on either side still exists
# (9999-12-31 plus one day does not, and the report crashed computing it).
FIRST_YEAR, LAST_YEAR = 1000, 2999


def check_supported(day: dt.date) -> dt.date:
    """``day`` when its year is FIRST_YEAR-LAST_YEAR; else ValueError saying so."""
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ValueError(
            f"{day.isoformat()}: dates must fall in the years {FIRST_YEAR}-{LAST_YEAR}"
        )
    return day


@dataclass(frozen=True)
class PartialDate:
    start: dt.date
    end: dt.date
    precision: str
    text: str | None = None
    inferred: bool = False
    note: str | None = None


def _month_end(year: int, month: int) -> dt.date:
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def range_of(value: str | int | dt.date) -> tuple[dt.date, dt.date, str]:
    """The (start, end, precision) of a short form: 2025, 2025-11, 2025-08-15, 2035/2036.

    Raises ValueError naming the accepted forms.
    """
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value, value, "day"
    text = str(value).strip()
    if m := _YEAR.match(text):
        year = int(m[1])
        return dt.date(year, 1, 1), dt.date(year, 12, 31), "year"
    if m := _MONTH.match(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise ValueError(f"month {month} is not 01-12")
        return dt.date(year, month, 1), _month_end(year, month), "month"
    if m := _DAY.match(text):
        day = dt.date(int(m[1]), int(m[2]), int(m[3]))
        return day, day, "day"
    if m := _YEARS.match(text):
        first, last = int(m[1]), int(m[2])
        if first > last:
            raise ValueError(f"{first}/{last}: the first year is after the last")
        return dt.date(first, 1, 1), dt.date(last, 12, 31), "years"
    raise ValueError(f"{text!r} is not a date: use 2025, 2025-11, 2025-08-15 or 2035/2036")


def parse_bound(value: str, *, end: bool = False) -> dt.date:
    """A user's ``--since``/``--until`` value as the first (or last) day it covers."""
    start, last, _ = range_of(value)
    return last if end else start
