"""A citation attached to a field states the value it supports, and no stored date is
finer than what the record's citations say (issue 24).

The data audit found date citations that named no day (or another day) and counts cited
to sources that give another number ("more than 150" for 158). These checks read the
seeded database: a citation of a date states it at the record's precision (the day and
month for a day, the month for a month, the year always, both ends of a span); a
citation of a count states the number in digits or words.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import date
from typing import NamedTuple

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")  # fmt: skip
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"  # fmt: skip
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_DASH = r"\s*(?:-|\u2013|\u2014|to|and)\s*"
# "6-7 November", "6 November", "November 6-7", "November 6", "2025-11-06"
_DAYS_BEFORE = re.compile(rf"(?<!\d){_DAY}(?:{_DASH}{_DAY})?\s+(?:of\s+)?{_MONTH}\b", re.I)
_DAYS_AFTER = re.compile(rf"\b{_MONTH}\s+{_DAY}(?:{_DASH}{_DAY})?(?![\d,]\d)", re.I)
_ISO = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_YEAR = re.compile(r"(?<![\d.,])((?:19|20)\d\d)(?!\d)")

# The date columns of each table, and the citation field that supports each.
DATED = {
    "agreements": (("date", "date"),),
    "deals": (("date", "date"),),
    "events": (("date", "date"),),
    "infrastructure_projects": (("started", "started"), ("completion", "completion")),
}
LINK = {"agreements": "agreement_id", "deals": "deal_id", "events": "event_id",
        "infrastructure_projects": "project_id"}  # fmt: skip


class Stated(NamedTuple):
    """The calendar facts a text states: (month, day) pairs, months and years."""

    days: set[tuple[int, int]]
    months: set[int]
    years: set[int]


def _month(word: str) -> int:
    return next(i for i, m in enumerate(MONTHS, 1) if m.startswith(word.lower().rstrip(".")))


def stated(text: str) -> Stated:
    """What a quote or summary says about dates: "6-7 November" states 6 and 7 November."""
    days: set[tuple[int, int]] = set()
    for d1, d2, month in _DAYS_BEFORE.findall(text):
        days |= {(_month(month), int(d)) for d in (d1, d2) if d}
    for month, d1, d2 in _DAYS_AFTER.findall(text):
        days |= {(_month(month), int(d)) for d in (d1, d2) if d}
    years = {int(y) for y in _YEAR.findall(text)}
    for y, m, d in _ISO.findall(text):
        days.add((int(m), int(d)))
        years.add(int(y))
    months = {m for m, _ in days} | {
        _month(w) for w in re.findall(rf"\b{_MONTH}(?=\W|$)", text, re.I)
    }
    # "May" is also a verb: only a May next to a day or a year counts as the month
    if 5 in months and not re.search(r"\bmay\s+(\d{1,2}\b|(19|20)\d\d)|\d\s+may\b", text, re.I):
        months.discard(5)
    return Stated(days, months, years)


def ends_stated(
    text: str, published: str | None, start: date, end: date, precision: str
) -> set[date]:
    """The ends of a date (``start``, ``end``) that ``text`` states at ``precision``: the
    day and month for a day, the month for a month, the year always (the year(s) alone
    for coarser precisions). A year the text leaves out is the source's own when the
    source was published that year ("on 6 November" in a report of 7 November 2025)."""
    said = stated(text)
    years = said.years | ({int(published[:4])} if published else set())
    if precision in ("year", "years", "part_of_year"):
        return {d for d in (start, end) if d.year in years}
    if precision == "month":
        return {d for d in (start, end) if d.year in years and d.month in said.months}
    return {d for d in (start, end) if d.year in years and (d.month, d.day) in said.days}


def states_date(text: str, published: str | None, start: date, end: date, precision: str) -> bool:
    """True when ``text`` states the whole date: both ends of a span."""
    return ends_stated(text, published, start, end, precision) == {start, end}


class DatedCitation(NamedTuple):
    table: str
    slug: str
    column: str
    start: date
    end: date
    precision: str
    inferred: bool
    field: str | None
    source: str
    published: str | None
    text: str


def dated_citations(db: sqlite3.Connection) -> Iterator[DatedCitation]:
    """Every citation of every dated record, with the record's date beside it."""
    for table, columns in DATED.items():
        for column, _field in columns:
            inferred = f"t.{column}_inferred" if column == "date" else "0"
            rows = db.execute(
                f"SELECT t.slug, t.{column}_start, t.{column}_end, t.{column}_precision, "
                f"{inferred}, c.field, s.slug, s.published, c.text FROM {table} t "
                f"JOIN citations c ON c.{LINK[table]} = t.id JOIN sources s ON s.id = c.source_id "
                f"WHERE t.{column}_start IS NOT NULL ORDER BY t.slug, c.id"
            )
            for slug, start, end, precision, inf, field, source, published, text in rows:
                yield DatedCitation(
                    table, slug, column, date.fromisoformat(start), date.fromisoformat(end),
                    precision, bool(inf), field, source, published, text,
                )  # fmt: skip


def test_the_date_reader_understands_the_ways_sources_write_dates() -> None:
    """The reader behind both date tests, on the forms the seed files use."""
    nov6 = date(2025, 11, 6)
    assert states_date("signed on 6 November 2025", None, nov6, nov6, "day")
    assert states_date("Tokayev arrived on November 6", "2025-11-07", nov6, nov6, "day")
    assert not states_date("Tokayev arrived on November 6", None, nov6, nov6, "day")
    assert not states_date("during the visit to Washington", "2025-11-07", nov6, nov6, "day")
    assert not states_date("signed in November 2025", None, nov6, nov6, "day")
    assert states_date("signed in November 2025", None, nov6, date(2025, 11, 30), "month")
    span = (date(2025, 8, 31), date(2025, 9, 1))
    assert states_date("met on 31 August-1 September 2025", None, *span, "day")
    assert states_date("August 31-September 1, 2025", None, *span, "day")
    assert not states_date("addressed the Council on 1 September 2025", None, *span, "day")
    assert states_date("a visit of 18-20 December 2025", None, date(2025, 12, 18),
                       date(2025, 12, 20), "day")  # fmt: skip
    assert not states_date("a visit of 18 December 2025", None, date(2025, 12, 18),
                           date(2025, 12, 20), "day")  # fmt: skip
    assert states_date("dated 2024-01-29", None, date(2024, 1, 29), date(2024, 1, 29), "day")
    assert states_date("between 2035 and 2036", None, date(2035, 1, 1), date(2036, 12, 31), "years")
    assert not states_date("it may open in 2035", None, date(2035, 1, 1), date(2036, 12, 31),
                           "years")  # fmt: skip
    may = (date(2025, 5, 1), date(2025, 5, 31))
    assert not states_date("it may be signed in 2025", None, *may, "month")
    assert states_date("signed in May 2025", None, *may, "month")


def _ends(c: DatedCitation) -> set[date]:
    return ends_stated(c.text, c.published, c.start, c.end, c.precision)


def test_a_field_citation_of_a_date_states_it(db: sqlite3.Connection) -> None:
    """A citation attached to a date field (``field: date``, ``started``, ``completion``)
    states that date at the record's precision, the year included: the audit found 21
    that did not (a coarser date, a day the source does not give, another day). A span
    may rest on two sources, one for each end, but each citation states one end at least
    and together they state both."""
    checked, wrong = 0, []
    covered: dict[tuple[str, str, str], set[date]] = {}
    for c in dated_citations(db):
        if c.field != c.column:
            continue
        checked += 1
        ends = _ends(c)
        key = (c.table, c.slug, f"{c.column} {c.start}..{c.end} {c.precision}")
        covered.setdefault(key, set()).update(ends)
        if not ends:
            wrong.append(f"{' '.join(key)} {c.source}: {c.text}")
    assert checked >= 100
    for key, ends in covered.items():
        start, end = (date.fromisoformat(d[:10]) for d in key[2].split()[1].split(".."))
        if ends and ends != {start, end}:
            wrong.append(f"{' '.join(key)}: no date citation states {sorted({start, end} - ends)}")
    assert wrong == [], "\n".join(wrong)


def test_no_stored_date_is_finer_than_its_citations(db: sqlite3.Connection) -> None:
    """Every stored date (unless marked as inferred, with a note saying how) is stated,
    at its precision and both ends of a span, by the record's citations: a day that no
    citation gives is a day we made up."""
    covered: dict[tuple[str, str, str], set[date]] = {}
    spans: dict[tuple[str, str, str], set[date]] = {}
    for c in dated_citations(db):
        if c.inferred:
            continue
        key = (c.table, c.slug, f"{c.column} {c.start}..{c.end} {c.precision}")
        spans[key] = {c.start, c.end}
        covered.setdefault(key, set()).update(_ends(c))
    assert len(covered) >= 100
    unsupported = sorted(" ".join(k) for k, ends in covered.items() if ends != spans[k])
    assert unsupported == [], "\n".join(unsupported)


_UNITS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
]  # fmt: skip
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def count_words(n: int) -> set[str]:
    """English words for a count below 100 ("twenty-four", "twenty four"); none above."""
    if n < 20:
        return {_UNITS[n]}
    if n < 100:
        tens, unit = divmod(n, 10)
        if not unit:
            return {_TENS[tens]}
        return {f"{_TENS[tens]}-{_UNITS[unit]}", f"{_TENS[tens]} {_UNITS[unit]}"}
    return set()


def states_count(text: str, n: int) -> bool:
    """The count appears as a number of its own (not "150" for 158, nor "1,158") or in words."""
    digits = rf"(?<![\d.,]){n:,}(?![\d]|,\d)|(?<![\d.,]){n}(?![\d]|,\d)"
    if re.search(digits, text):
        return True
    return any(re.search(rf"\b{w}\b", text, re.I) for w in count_words(n))


def test_the_count_reader() -> None:
    assert states_count("the leaders signed 15 documents", 15)
    assert states_count("Fourteen documents were signed", 14)
    assert states_count("twenty-four agreements", 24)
    assert not states_count("more than 150 documents", 158)
    assert not states_count("19 documents were signed", 15)
    assert not states_count("1,158 documents", 158)


def test_a_field_citation_of_a_count_states_it(db: sqlite3.Connection) -> None:
    """A citation with ``field: count`` gives the stored count, in digits or words: the
    audit found a TASS report of 19 documents cited for a package of 15, and "more than
    150" cited for 158."""
    rows = db.execute(
        "SELECT 'agreement', t.slug, t.count, s.slug, c.text FROM agreements t "
        "JOIN citations c ON c.agreement_id = t.id JOIN sources s ON s.id = c.source_id "
        "WHERE c.field = 'count' UNION ALL "
        "SELECT 'deposit', t.slug, t.count, s.slug, c.text FROM mineral_deposits t "
        "JOIN citations c ON c.deposit_id = t.id JOIN sources s ON s.id = c.source_id "
        "WHERE c.field = 'count'"
    ).fetchall()
    assert len(rows) >= 10
    wrong = [r for r in rows if r[2] is None or not states_count(r[4], r[2])]
    assert wrong == [], "\n".join(map(str, wrong))
