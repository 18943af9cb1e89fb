"""Usage errors, Click's included, are one ``kzdiplo: error:`` line and at most one hint,
exit 2; values are forgiving (everyday names, any case) and suggestions name each entity
once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run, run_json, run_process

CLICK_ERRORS = [
    (["deals", "--limit", "-1"], "Invalid value for '--limit'"),
    (["deals", "--format", "xml"], "'xml' is not one of 'table', 'json'"),
    (["deals", "--layout", "grid"], "'grid' is not one of 'auto', 'table', 'records'"),
    (["sql", "SELECT 1", "--timeout", "0"], "Invalid value for '--timeout'"),
    (["deals", "--nope"], "No such option: --nope"),
    (["sql"], "Missing argument"),
    (["agreemnts"], "No such command 'agreemnts'"),
    (["events", "--year", "abc"], "'abc' is not a valid"),
]


def assert_one_error(stderr: str, message: str) -> None:
    lines = stderr.splitlines()
    assert lines[0].startswith("kzdiplo: error: ") and message in lines[0], stderr
    assert len(lines) <= 2 and all(line.startswith("kzdiplo: hint: ") for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "message"), CLICK_ERRORS, ids=[" ".join(a) for a, _ in CLICK_ERRORS]
)
def test_click_usage_errors_are_one_line_and_a_hint(
    seeded_db: Path, args: list[str], message: str
) -> None:
    result = run(seeded_db, *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert_one_error(result.stderr, message)


@pytest.mark.slow
def test_the_entry_point_prints_click_errors_the_same_way(seeded_db: Path) -> None:
    result = run_process("--db", str(seeded_db), "deals", "--limit", "-1")
    assert result.returncode == 2 and result.stdout == b""
    assert_one_error(result.stderr.decode(), "Invalid value for '--limit'")


@pytest.mark.slow
def test_db_is_accepted_after_the_command(seeded_db: Path) -> None:
    result = run_process("deals", "--db", str(seeded_db), "-p", "US", "-f", "json")
    assert result.returncode == 0, result.stderr
    assert b"us-exim-critical-minerals-funding" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["deals", "--kind", "zz"], "(choose from: acquisition, fund, funding, investment"),
        (["deposits", "--commodity", "zz"], "(choose from: rare earths, tungsten)"),
        (["show", "thing", "x"], "(choose from: agreement, deal, deposit, event, partner"),
        (["new", "zz"], "(choose from: agreements, deals, deposits, events"),
        (["deals", "--stage", "zz"], "choose from: announced, letter_of_interest"),
    ],
)
def test_unknown_values_list_the_valid_ones(seeded_db: Path, args: list[str], message: str) -> None:
    result = run(seeded_db, *args)
    assert result.exit_code == 2
    assert_one_error(result.stderr, message)


def test_sort_keys_are_case_insensitive(seeded_db: Path) -> None:
    assert run_json(seeded_db, "deals", "--sort", "-USD") == run_json(
        seeded_db, "deals", "--sort", "-usd"
    )
    assert run_json(seeded_db, "events", "--sort", "Date")


def test_one_suggestion_per_partner_and_aliases_are_searched(seeded_db: Path) -> None:
    typo = run(seeded_db, "deals", "-p", "United Stats").stderr
    assert typo.count("(United States") == 1 and "United States of America" not in typo
    cove = run(seeded_db, "deals", "-p", "Cove").stderr
    assert "Cove Kaz Capital Group" in cove


@pytest.mark.parametrize(
    ("name", "code"),
    [("UK", "GB"), ("Britain", "GB"), ("Great Britain", "GB"), ("russia", "RU"), ("Korea", "KR")],
)
def test_everyday_country_names_are_accepted(seeded_db: Path, name: str, code: str) -> None:
    assert run_json(seeded_db, "show", "partner", name)["key"] == code


@pytest.mark.parametrize("option", ["--partner", "--sector"])
def test_an_empty_value_needs_a_value(seeded_db: Path, option: str) -> None:
    result = run(seeded_db, "deals", option, " ")
    assert result.exit_code == 2
    assert_one_error(result.stderr, "needs a value")
    assert "ambiguous" not in result.stderr
