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


def facts(db: Path, width: int, *args: str) -> list[str]:
    """The lines of `show`'s first table, right-trimmed."""
    text = invoke(db, width, "show", *args)
    lines = [line.rstrip() for line in text.splitlines()]
    rule = next(i for i, line in enumerate(lines) if RULE.match(line))
    end = next((i for i in range(rule + 1, len(lines)) if lines[i] and lines[i][0] != " "
                and lines[i].split()[0] in ("Sectors", "Sources", "Linked")), len(lines))  # fmt: skip
    return lines[rule + 1 : end]


@pytest.mark.parametrize("width", WIDTHS)
def test_show_leads_with_the_facts_each_apart_from_its_sources_words(
    seeded_db: Path, width: int
) -> None:
    lines = facts(seeded_db, width, "deal", "kz-us-washington-agreements-value")
    labels = [line.split()[0] for line in lines if not line.startswith(" ")]
    assert labels[:4] == ["title", "amount", "USD", "date"]
    assert labels.index("stage") < labels.index("parties") < labels.index("not")
    assert lines[labels.index("title")].split()[1:3] == ["Value", "of"]
    amount = next(line for line in lines if line.startswith("amount"))
    assert amount.split()[1:] == ["≈", "$17", "bn"]  # the value alone on its line
    worded = lines[lines.index(amount) + 1].strip()
    assert worded == "in the source's words: “nearly $17 billion”"
    quote = " ".join(" ".join(lines).split())
    assert "“This visit resulted in 29 agreements worth nearly $17 billion” — Times Tengri" in quote
    # fields no source states: one line, not a screen of dashes
    assert "—" not in [line.split()[-1] for line in lines if not line.startswith(" ")]
    start = next(i for i, line in enumerate(lines) if line.startswith("not stated"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith(" "))
    unstated = " ".join(" ".join(lines[start:end]).split()[2:])
    assert unstated.startswith("stake, stake percent, parent,"), unstated


def test_show_a_slug_without_its_noun(seeded_db: Path) -> None:
    from tests.cli_helpers import run_json

    for noun, key in [
        ("deal", "us-exim-critical-minerals-funding"),
        ("deposit", "north-katpal"),
        ("source", "cove-bw-release"),
        ("event", "tokayev-washington-visit"),
    ]:
        assert run_json(seeded_db, "show", key) == run_json(seeded_db, "show", noun, key)
    assert run_json(seeded_db, "show", "United States")["key"] == "US"  # a partner by name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["agreement", "us-exim-critical-minerals-funding"],
         "'us-exim-critical-minerals-funding' is a deal, not an agreement: "
         "kzdiplo show deal us-exim-critical-minerals-funding"),
        (["source", "north-katpal"], "'north-katpal' is a deposit, not a source"),
        (["no-such-thing"], "no record, source or partner has the key 'no-such-thing'"),
        (["deal"], "show deal needs a key: kzdiplo show deal SLUG"),
    ],
)  # fmt: skip
def test_show_names_the_kind_a_slug_is(seeded_db: Path, args: list[str], message: str) -> None:
    from tests.cli_helpers import run_process

    result = run_process("--db", str(seeded_db), "show", *args)
    assert result.returncode == 2 and not result.stdout
    assert result.stderr.decode().startswith(f"kzdiplo: error: {message}")
    assert len(result.stderr.decode().splitlines()) == 1


@pytest.mark.parametrize("width", WIDTHS)
def test_search_sources_and_audit_rows_keep_their_key_whole_under_the_answer(
    seeded_db: Path, width: int
) -> None:
    hits = json.loads(invoke(seeded_db, 200, "search", "tungsten", "-f", "json"))
    text = invoke(seeded_db, width, "search", "tungsten")
    keys = [f"{h['noun']} {h['key']}" for h in hits]
    for hit, block in zip(hits, blocks(text, keys), strict=True):
        assert set(hit["title"].split()) <= {w for line in block for w in line.split()}
    sources = json.loads(invoke(seeded_db, 200, "sources", "-f", "json"))
    text = invoke(seeded_db, width, "sources")
    lines = {line.strip() for line in text.splitlines()}
    assert {s["slug"] for s in sources} <= lines  # each slug a whole line of its own
    assert {s["url"] for s in sources if s["url"]} <= lines
    audit = json.loads(invoke(seeded_db, 200, "audit", "-f", "json"))
    text = invoke(seeded_db, width, "audit")
    lines = {line.strip() for line in text.splitlines()}
    for row in audit["discrepancies"] + audit["single_sourced"]:
        assert f"{row['record_type']} {row['record_key']}" in lines
    for text in (invoke(seeded_db, width, c) for c in ("sources", "audit")):
        assert all(cell_len(line) <= width or line.strip() in {s["url"] for s in sources}
                   for line in text.splitlines())  # fmt: skip


@pytest.fixture
def long_names_db(seeded_db: Path) -> Path:
    """Every kind of record with a slug wider than 80 columns, an unbreakable word in
    its title and a partner with a very long name."""
    import sqlite3

    word = "Supercalifragilistic" * 3
    with sqlite3.connect(seeded_db) as conn:
        for table, label in (
            ("agreements", "title"),
            ("deals", "title"),
            ("events", "title"),
            ("infrastructure_projects", "name"),
            ("mineral_deposits", "name"),
        ):
            slug = conn.execute(f"SELECT slug FROM {table} ORDER BY id LIMIT 1").fetchone()[0]
            conn.execute(f"UPDATE {table} SET slug = ?, {label} = ? WHERE slug = ?",
                         (f"{table}-" + "very-long-key-" * 6 + "end",
                          f"{word} and {'a long title ' * 10}", slug))  # fmt: skip
        conn.execute("UPDATE organizations SET name = ? WHERE slug = 'us-exim'",
                     ("The " + "Very Long Name " * 10 + "Bank",))  # fmt: skip
    return seeded_db


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(
    "noun", ["agreements", "deals", "events", "projects", "deposits", "partners", "timeline"]
)
def test_long_synthetic_values_fit_every_listing(
    long_names_db: Path, noun: str, width: int
) -> None:
    text = invoke(long_names_db, width, noun, "--limit", "0")
    lines = [line.strip() for line in text.splitlines()]
    long_keys = {line for line in lines if "very-long-key-" in line}
    assert all(cell_len(line) <= width or line.strip() in long_keys for line in text.splitlines())
    if noun not in ("partners", "timeline"):
        assert len(long_keys) == 1 and next(iter(long_keys)).endswith("-end")  # whole


def test_show_partner_gives_its_money_as_the_partners_ledger_does(seeded_db: Path) -> None:
    """`kzdiplo show CN` answers "China: agreements, deals and how much" in one command:
    its figures are its row of `kzdiplo partners` (the money_flows ledger), in the same
    words, beside the records it is a party to."""
    listed = json.loads(invoke(seeded_db, 200, "partners", "--limit", "0", "-f", "json"))
    row = next(r for r in listed if r["key"] == "CN")
    shown = json.loads(invoke(seeded_db, 200, "show", "CN", "-f", "json"))["money"]
    for key in ("agreements", "deals", "usd_from_partner", "usd_to_partner", "by_stage"):
        assert shown[key] == row[key], key
    assert row["usd_from_partner"]["low"], "China pays money in the seed data"
    text = invoke(seeded_db, 80, "show", "CN")
    money = text.split("Money, as the ledger credits it")[1].split("Linked records")[0]
    assert display.usd_total(row["usd_from_partner"]) in money
    assert max(cell_len(line) for line in money.splitlines()) <= 80
