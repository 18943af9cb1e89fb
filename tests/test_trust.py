"""What kzdiplo says is what its sources say (issue 12): quotes apart from our summaries
in every format, money credited by role and counted once, package parts only where a
source says so, stages, dispute markers, and independence counted by origin."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.vocab import STAGES
from tests.cli_helpers import row_of, run, run_json

NOUNS = ("agreements", "deals", "deposits", "projects", "events")


def _records(db: Path) -> list[dict[str, Any]]:
    return [r for noun in NOUNS for r in run_json(db, noun, "--limit", "0")]


# --- quotes and summaries ----------------------------------------------------------------


def test_json_gives_a_quote_or_our_summary_never_both(seeded_db: Path) -> None:
    held = {s["slug"] for s in run_json(seeded_db, "sources") if s["text_held"]}
    kinds = set()
    for record in _records(seeded_db):
        for s in record["sources"]:
            kinds.add(s["kind"])
            assert ("quote" in s) != ("summary" in s), (record["slug"], s)
            assert ("quote" in s) == (s["kind"] == "quote")
            if s["kind"] == "quote":
                assert s["source"] in held, (record["slug"], s["source"])
    assert kinds == {"quote", "summary"}


def _summaries(record: dict[str, Any]) -> list[str]:
    return [s["summary"] for s in record["sources"] if "summary" in s]


def test_csv_marks_summaries_and_never_quotes_them(seeded_db: Path) -> None:
    deals = {d["slug"]: d for d in run_json(seeded_db, "deals", "--limit", "0")}
    result = run(seeded_db, "deals", "--limit", "0", "--format", "csv")
    rows = {r["slug"]: r for r in csv.DictReader(io.StringIO(result.stdout))}
    checked = 0
    for slug, deal in deals.items():
        cell = rows[slug]["sources"]
        for summary in _summaries(deal):
            assert f"[summary] {summary}" in cell
            assert f"\u201c{summary}" not in cell and f'"{summary}' not in cell
            checked += 1
    assert checked > 10


@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_show_marks_summaries_in_people_formats(seeded_db: Path, fmt: str) -> None:
    deal = run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    out = " ".join(run(seeded_db, "show", "deal", deal["slug"], "--format", fmt).stdout.split())
    out = out.replace("│ ", "").replace(" │", "").replace("| ", "").replace(" |", "")
    quote = next(s["quote"] for s in deal["sources"] if "quote" in s)
    assert f"\u201c{quote[:30]}" in out
    summaries = _summaries(deal)
    assert summaries, "the deal chosen for this test must cite a summary"
    assert out.count("[summary]") >= len(summaries)
    for summary in summaries:
        assert f"\u201c{summary[:30]}" not in out


def _amount_forms(value: int) -> set[str]:
    """Ways a source summary may write a figure: 7 billion, $7bn, 900 million, 7,000,000,000."""
    forms = {f"{value:,}", str(value)}
    sizes = (
        (10**12, ("trillion", "tn")),
        (10**9, ("billion", "bn", "b")),
        (10**6, ("million", "m")),
    )
    for size, words in sizes:
        if value >= size:
            number = f"{value / size:.2f}".rstrip("0").rstrip(".")
            forms |= {f"{number} {w}" for w in words} | {f"{number}{w}" for w in words}
            forms.add(number)
    return forms


def test_a_summary_for_an_amount_states_the_amount(seeded_db: Path) -> None:
    """A citation attached to ``amount`` states the figure it supports (issue 12: the
    readout items once cited one sentence that named no figure)."""
    checked = 0
    for deal in run_json(seeded_db, "deals", "--limit", "0"):
        amount = deal["amount"]
        for s in deal["sources"]:
            if s.get("field") != "amount" or "summary" not in s or amount is None:
                continue
            text = s["summary"].replace("US$", "$").replace("\u2011", "-")
            forms = _amount_forms(amount["low"]) | _amount_forms(amount["high"])
            assert any(re.search(rf"(?<![\d.]){re.escape(f)}", text) for f in forms), (
                deal["slug"],
                s["source"],
                s["summary"],
            )
            checked += 1
    assert checked >= 7


@pytest.mark.slow
def test_a_summary_for_a_date_states_the_date(seeded_db: Path) -> None:
    months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"]  # fmt: skip
    checked = 0
    for record in _records(seeded_db):
        date = record.get("date")
        for s in record["sources"]:
            if s.get("field") != "date" or "summary" not in s or not date:
                continue
            year = date["start"][:4]
            month = months[int(date["start"][5:7]) - 1]
            text = s["summary"]
            assert year in text or month[:3] in text, (record["slug"], text)
            checked += 1
    assert checked >= 1


# --- money by role, counted once --------------------------------------------------------


def test_russia_is_not_credited_with_the_nuclear_plant(seeded_db: Path) -> None:
    plant = run_json(seeded_db, "show", "deal", "kz-nuclear-plant-investment")
    assert {p["role"] for p in plant["partners"] if p["key"] in ("RU", "rosatom")} <= {
        "participant", "contractor",
    }  # fmt: skip
    russia = next(r for r in run_json(seeded_db, "partners") if r["key"] == "RU")
    assert russia["usd_from_partner"] is None or russia["usd_from_partner"]["high"] < 14e9
    assert russia["deals"] >= 1  # the deal still counts as one it takes part in


def test_the_eu_fund_is_shown_as_co_financed_for_central_asia(seeded_db: Path) -> None:
    fund = run_json(seeded_db, "show", "deal", "eu-central-asia-special-funds")
    roles = {p["key"]: p["role"] for p in fund["partners"]}
    assert roles["EU"] == "co-financier"
    assert sum(1 for role in roles.values() if role == "co-financier") >= 2  # not the EU alone
    assert sum(1 for role in roles.values() if role == "beneficiary") >= 2  # not KZ alone
    eu = next(r for r in run_json(seeded_db, "partners") if r["key"] == "EU")
    assert eu["shared_unsplit_deals"] >= 1  # paid with others, split not stated
    table = run(seeded_db, "deals", "--sector", "minerals").stdout
    assert "and others" in table


def test_overlapping_money_is_linked_and_counted_once(seeded_db: Path) -> None:
    exim = run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    assert exim["overlaps"] == "kz-us-cove-tungsten-capex" and exim["overlap_note"]
    us = next(r for r in run_json(seeded_db, "partners") if r["key"] == "US")
    assert us["deals_not_added"] >= 1


def test_package_parts_only_where_a_source_says_so(seeded_db: Path) -> None:
    parts = [
        (noun, record)
        for noun in ("deals", "agreements")
        for record in run_json(seeded_db, noun, "--limit", "0")
        if record["parent"]
    ]
    assert {noun for noun, _ in parts} == {"deals", "agreements"}  # both kinds have parts
    for _, record in parts:
        assert any(s.get("field") == "parent" for s in record["sources"]), record["slug"]
    wabtec = run_json(seeded_db, "show", "deal", "kz-us-wabtec-locomotives")
    assert wabtec["parent"] is None  # signed in New York in September, before the visit


def test_db_check_flags_a_package_smaller_than_its_parts(seeded_db: Path) -> None:
    assert run(seeded_db, "db", "check").exit_code == 0
    with sqlite3.connect(seeded_db) as conn:
        conn.execute(
            "UPDATE deals SET parent_id = (SELECT id FROM deals WHERE slug = "
            "'kz-us-washington-agreements-value') WHERE usd_low IS NOT NULL AND slug NOT IN "
            "('kz-us-washington-agreements-value')"
        )
    result = run(seeded_db, "db", "check")
    assert result.exit_code == 1 and "more than the package's" in result.stdout


# --- stages ----------------------------------------------------------------------------------


def test_every_agreement_and_deal_has_a_stage_with_its_history(seeded_db: Path) -> None:
    for noun in ("agreements", "deals"):
        records = run_json(seeded_db, noun, "--limit", "0")
        assert records and any(r["stages"] for r in records), noun
        for record in records:
            assert record["stage"] in STAGES, (noun, record["slug"])
            for change in record["stages"]:
                assert change["stage"] in STAGES and ("quote" in change) != ("summary" in change)
    exim = run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    claims = {c["stage"]: c["source"] for c in exim["stages"]}
    assert {"approved", "letter_of_interest"} <= set(claims)  # both kept
    assert any(d["field"] == "stage" for d in exim["discrepancies"])  # and the dispute


@pytest.mark.slow
def test_stage_filter_on_listings_and_partners(seeded_db: Path) -> None:
    deals = run_json(seeded_db, "deals", "--limit", "0")
    for stage in {d["stage"] for d in deals}:
        got = run_json(seeded_db, "deals", "--limit", "0", "--stage", stage.replace("_", " "))
        assert {d["slug"] for d in got} == {d["slug"] for d in deals if d["stage"] == stage}
    two = sorted({d["stage"] for d in deals})[:2]
    got = run_json(seeded_db, "deals", "--limit", "0", "--stage", two[0], "--stage", two[1])
    assert {d["stage"] for d in got} == set(two)
    bad = run(seeded_db, "deals", "--stage", "rumoured")
    assert bad.exit_code == 2 and "letter_of_interest" in bad.stderr
    every = {r["key"]: r for r in run_json(seeded_db, "partners")}
    for key, row in every.items():
        assert sum(s["deals"] for s in row["by_stage"].values()) == row["deals"], key
    signed = {r["key"]: r for r in run_json(seeded_db, "partners", "--stage", "signed")}
    us = every["US"]["by_stage"]["signed"]
    assert signed["US"]["deals"] == us["deals"]


# --- disputes and independence ----------------------------------------------------------


def test_listings_mark_disputed_records_in_every_format(seeded_db: Path) -> None:
    slug = "kz-cn-24-intergovernmental-agreements"  # "signed in Tianjin": disputed
    record = next(r for r in run_json(seeded_db, "agreements") if r["slug"] == slug)
    assert record["disputes"] >= 1 and "place" in record["disputed_fields"]
    slugs = [r["slug"] for r in run_json(seeded_db, "agreements")]
    assert "⚠" in row_of(run(seeded_db, "agreements").stdout, slug, slugs)
    markdown = run(seeded_db, "agreements", "--format", "markdown").stdout
    assert "⚠" in next(line for line in markdown.splitlines() if slug in line)
    rows = csv.DictReader(io.StringIO(run(seeded_db, "agreements", "--format", "csv").stdout))
    assert int(next(r for r in rows if r["slug"] == slug)["disputes"]) == record["disputes"]


def test_independent_sources_are_counted_by_origin(seeded_db: Path) -> None:
    origin = {s["slug"]: s["origin"] for s in run_json(seeded_db, "sources")}
    assert any(s != o for s, o in origin.items())  # some sources rest on others
    audited = {
        (r["record_type"], r["record_key"]): r for r in run_json(seeded_db, "audit")["records"]
    }
    checked = 0
    for noun, record_type in zip(
        NOUNS, ("agreement", "deal", "deposit", "project", "event"), strict=True
    ):
        for record in run_json(seeded_db, noun, "--limit", "0"):
            cited = {s["source"] for s in record["sources"]}
            expected = len({origin[s] for s in cited})
            assert record["independent_sources"] == expected <= record["source_count"]
            assert audited[(record_type, record["slug"])]["independent_sources"] == expected
            checked += expected < len(cited)
    assert checked >= 1  # at least one record cites several pages of one origin


def test_audit_names_single_sources_and_keeps_refinements_apart(seeded_db: Path) -> None:
    result = run_json(seeded_db, "audit")
    assert result["single_sourced"] and all(r["origin"] for r in result["single_sourced"])
    assert result["refinements"] and all(d["kind"] == "refinement" for d in result["refinements"])
    discrepancies = result["discrepancies"]
    assert discrepancies and all(d["kind"] == "disagreement" for d in discrepancies)
    assert result["fields"] and all(f["field"] for f in result["fields"])
    markdown = run(seeded_db, "audit", "--format", "markdown").stdout
    assert markdown.startswith("# kzdiplo audit") and markdown.count("\n## ") == 4


def test_sources_and_show_source(seeded_db: Path) -> None:
    with sqlite3.connect(seeded_db) as conn:
        total = conn.execute("SELECT count(*) FROM sources").fetchone()[0]
    listed = run_json(seeded_db, "sources")
    assert len(listed) == total and any(s["derived_from"] for s in listed)
    source = run_json(seeded_db, "show", "source", "cove-bw-release")
    cited = {(c["record_type"], c["record_key"]) for c in source["cited_by"]}
    assert ("deal", "us-exim-critical-minerals-funding") in cited
    assert source["derived_by"]  # the reports resting on Cove's release
    table = run(seeded_db, "show", "source", "cove-bw-release").stdout
    assert "Records citing it" in table and "[summary]" in table
    assert run(seeded_db, "show", "source", "no-such-source").exit_code == 2


def test_a_package_shows_its_stated_count_and_how_much_is_itemised(seeded_db: Path) -> None:
    """Issue 17: "n of 29 itemised" is visible; the parts never replace the stated count."""
    package = next(
        a for a in run_json(seeded_db, "agreements", "-p", "US")
        if a["slug"] == "kz-us-washington-29-agreements"
    )  # fmt: skip
    parts = [a for a in run_json(seeded_db, "agreements", "--limit", "0")
             if a["parent"] == package["slug"]]  # fmt: skip
    assert package["count"] == 29 and package["itemised"] == len(parts) > 0
    table = run(seeded_db, "agreements", "-p", "US").stdout
    slugs = [a["slug"] for a in run_json(seeded_db, "agreements", "-p", "US")]
    assert f"29 ({len(parts)}" in row_of(table, package["slug"], slugs)


def test_a_load_that_leaves_out_links_keeps_them(seeded_db: Path, tmp_path: Path) -> None:
    """A file that names a deal without its overlap or event, or a source without its
    origin, changes neither (issue 13's merge rule); an explicit null clears them."""
    path = tmp_path / "touch.yaml"
    path.write_text(
        "sources:\n  - {slug: minexforum-jv, title: t, kind: media}\n"
        "deals:\n  - slug: us-exim-critical-minerals-funding\n"
        "    title: US Export-Import Bank funding for critical mineral development projects\n"
        "    kind: funding\n"
        "    citations: [{source: cove-bw-release, summary: EXIM issued a $900 million letter.}]\n"
    )
    assert run(seeded_db, "load", str(path)).exit_code == 0
    exim = run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")
    assert exim["overlaps"] == "kz-us-cove-tungsten-capex"
    assert (
        run_json(seeded_db, "show", "source", "minexforum-jv")["derived_from"] == "cove-bw-release"
    )
    path.write_text(
        path.read_text().replace("    kind: funding\n", "    kind: funding\n    overlaps: null\n")
    )
    assert run(seeded_db, "load", str(path)).exit_code == 0
    assert (
        run_json(seeded_db, "show", "deal", "us-exim-critical-minerals-funding")["overlaps"] is None
    )
