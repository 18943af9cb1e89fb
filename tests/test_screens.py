"""Listings lead with the answer at 80, 100, 120 and 200 columns (issue 26): every row
shows the fields its question needs, the key people type into `kzdiplo show` stands
whole on a line of its own under the row, no line is wider than the terminal, and what
a narrow terminal leaves out is named with the option that shows it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len

from kzdiplo import display
from kzdiplo.cli.partners import COLUMNS as PARTNER_COLUMNS
from kzdiplo.cli.records import COLUMNS
from tests.test_fit import RULE, invoke

WIDTHS = [80, 100, 120, 200]


def getter(columns: list[Any], header: str) -> Callable[[dict[str, Any]], str]:
    return next(c.get for c in columns if c.header == header)


# What each listing answers, as the columns that must be on every row at each width
# (from 100 columns a deal also says who pays whom).
NEEDED: dict[str, tuple[list[Any], dict[int, list[str]]]] = {
    "deals": (COLUMNS["deal"], {80: ["Title", "Amount", "Stage"], 100: ["Payer → recipient"]}),
    "agreements": (COLUMNS["agreement"], {80: ["Date", "Title", "Stage", "Count"]}),
    "events": (COLUMNS["event"], {80: ["Date", "Event", "Where"]}),
    "projects": (COLUMNS["project"], {80: ["Name", "Status", "Cost"]}),
    "deposits": (COLUMNS["deposit"], {80: ["Name", "Status", "Count"]}),
    "partners": (PARTNER_COLUMNS, {80: ["Name", "Agreements", "USD from partner",
                                        "USD to partner"]}),
}  # fmt: skip


def needed(noun: str, width: int) -> list[str]:
    return [h for w, headers in NEEDED[noun][1].items() if w <= width for h in headers]


def blocks(text: str, keys: list[str]) -> list[list[str]]:
    """The table's lines cut into one block per record: each ends with its key line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if RULE.match(line.strip())) + 1
    found: list[list[str]] = []
    current: list[str] = []
    wanted = iter(keys)
    key = next(wanted)
    for line in lines[start:]:
        current.append(line)
        if line.strip() == key:
            found.append(current)
            current = []
            key = next(wanted, "")
    assert len(found) == len(keys), f"{len(found)} key lines for {len(keys)} records"
    return found


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("noun", list(NEEDED))
def test_every_row_shows_what_its_question_needs(seeded_db: Path, noun: str, width: int) -> None:
    records = json.loads(invoke(seeded_db, 200, noun, "--limit", "0", "-f", "json"))
    text = invoke(seeded_db, width, noun, "--limit", "0")
    assert all(cell_len(line) <= width for line in text.splitlines())
    assert any(RULE.match(line.strip()) for line in text.splitlines()), "a table, not records"
    hidden = " ".join(text[text.find("Not shown") :].split()) if "Not shown" in text else ""
    if noun != "partners":  # a package's parts are listed under it: the page's own order
        from kzdiplo.cli.records import under_packages

        records = under_packages(records)
    keys = [r.get("slug") or r["key"] for r in records]
    columns = NEEDED[noun][0]
    for record, block in zip(records, blocks(text, keys), strict=True):
        words = {w for line in block for w in line.split()}
        for header in needed(noun, width):
            assert header not in hidden
            value = getter(columns, header)(record)
            missing = [w for w in value.split() if w not in words]
            assert not missing, f"{header} of {keys[records.index(record)]}: {missing}"
    if hidden:
        assert hidden.endswith("(--layout records shows all)")


def test_a_deal_says_who_pays_whom_by_name(seeded_db: Path) -> None:
    text = invoke(seeded_db, 100, "deals", "--limit", "0", "--layout", "records")
    assert "Payer → recipient US Export-Import Bank → KZ" in [t.rstrip() for t in text.splitlines()]
    assert "us-exim →" not in text  # a slug is a key for commands, not for reading


def test_a_partner_of_a_country_is_its_code_and_of_an_organisation_its_name() -> None:
    record = {"partners": [{"key": "KZ", "name": "Kazakhstan", "type": "country", "role": "x"},
                           {"key": "us-exim", "name": "US Export-Import Bank",
                            "type": "organization", "role": "x"}]}  # fmt: skip
    assert display.partners(record) == "KZ, US Export-Import Bank"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_timeline_keeps_dates_whole_wraps_titles_and_names_partners(
    seeded_db: Path, width: int
) -> None:
    events = json.loads(invoke(seeded_db, 200, "events", "--limit", "0", "-f", "json"))
    text = invoke(seeded_db, width, "timeline")
    assert all(cell_len(line) <= width for line in text.splitlines())
    words = {w for line in text.splitlines() for w in line.split()}
    for event in events:
        assert display.partial_date(event["date"]).split()[0] in words  # never cut with …
        assert all(w in words for w in event["title"].split()), event["slug"]
    assert "…" not in text
    assert "European Commission" in " ".join(text.split())
    assert "european-commission" not in text  # partners by name, not slug


def test_the_timeline_keeps_one_kind(seeded_db: Path) -> None:
    summits = json.loads(
        invoke(seeded_db, 200, "events", "--kind", "summit", "--limit", "0", "-f", "json")
    )
    others = json.loads(invoke(seeded_db, 200, "events", "--limit", "0", "-f", "json"))
    text = " ".join(invoke(seeded_db, 200, "timeline", "--kind", "summit").split())
    assert summits and len(summits) < len(others)
    for event in others:
        assert (" ".join(event["title"].split()) in text) == (event in summits), event["slug"]
