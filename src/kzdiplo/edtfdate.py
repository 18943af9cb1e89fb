"""Partial dates as EDTF (ISO 8601-2 Extended Date/Time Format), so other tools read them.

Our partial date is a range plus a precision; EDTF says the same thing in one string that
citation managers, archives and the ``edtf`` library understand:

- day ``2025-11-05``, month ``2025-11``, year ``2025``;
- years ``2035/2036`` (an interval of whole years);
- part of a year ("early 2023", stored as 2023-01-01..2023-04-30): an interval of the
  months it spans, each end marked approximate (``2023-01~/2023-04~``): the source gives
  no exact bounds, and the range is our reading of its words;
- a date we inferred rather than read gets the uncertain qualifier ``?``.

Stdlib only: the listing path imports this module (start-up time).
"""

from __future__ import annotations

import datetime as dt
from typing import Any


def _iso(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def edtf(start: Any, end: Any, precision: str | None, inferred: bool = False) -> str | None:
    """The EDTF string for a stored partial date (None when the date is unknown, or is
    not a date: the listing's column probe shapes a row of placeholders)."""
    if start is None or end is None:
        return None
    try:
        first, last = _iso(start), _iso(end)
    except ValueError:
        return None
    mark = "?" if inferred else ""
    if precision == "day" and first == last:
        return f"{first.isoformat()}{mark}"
    if precision == "month" and _month(first) == _month(last):
        return f"{_month(first)}{mark}"
    if precision == "year" and first.year == last.year:
        return f"{first.year:04d}{mark}"
    if precision == "years":
        return f"{first.year:04d}{mark}/{last.year:04d}{mark}"
    if precision == "part_of_year":
        approximate = "%" if inferred else "~"  # % is uncertain and approximate at once
        return f"{_month(first)}{approximate}/{_month(last)}{approximate}"
    # Anything else (hand-written start/end that do not fit the precision): the exact range.
    return f"{first.isoformat()}{mark}/{last.isoformat()}{mark}"


def of(value: dict[str, Any] | None) -> str | None:
    """EDTF for a partial date as the queries shape it (start, end, precision, inferred)."""
    if not value:
        return None
    return edtf(value["start"], value["end"], value["precision"], bool(value.get("inferred")))
