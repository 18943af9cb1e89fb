"""Search: whole words by default, word* for prefixes, "phrases", AND/OR/NOT; a query
that starts with - after --. And show partner lists every record it takes part in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run, run_json


def keys(db: Path, query: str) -> set[str]:
    return {(h["noun"], h["key"]) for h in run_json(db, "search", query, "--limit", "0")}


def test_whole_words_by_default_and_star_for_prefixes(seeded_db: Path) -> None:
    assert keys(seeded_db, "tungsten")
    assert keys(seeded_db, "tungst") == set()
    assert keys(seeded_db, "tungst*") == keys(seeded_db, "tungsten")


@pytest.mark.slow
def test_or_not_and_phrases(seeded_db: Path) -> None:
    tungsten, nuclear = keys(seeded_db, "tungsten"), keys(seeded_db, "nuclear")
    assert tungsten and nuclear
    assert keys(seeded_db, "tungsten OR nuclear") == tungsten | nuclear
    assert keys(seeded_db, "tungsten AND nuclear") == keys(seeded_db, "tungsten nuclear")
    mine = keys(seeded_db, "mine")
    assert keys(seeded_db, "tungsten NOT mine") == keys(seeded_db, "tungsten") - mine
    phrase = keys(seeded_db, '"nuclear power plant"')
    assert phrase and phrase <= keys(seeded_db, "nuclear power plant")


LONG_PHRASE = '"' + "tungsten " * 65 + '"'  # one phrase, but 65 words for the index to match


@pytest.mark.parametrize(("query", "message"), [("OR tungsten", "OR needs a word before it"),
                                                 ("tungsten NOT", "NOT needs a word after it"),
                                                 ("!!!", "nothing to search for"),
                                                 (LONG_PHRASE, "at most 64 words"),
                                                 ("tungsten " * 5_000, "(this query has 45,000)")],
                         ids=["OR first", "NOT last", "no word", "long phrase", "5,000 words"])  # fmt: skip
def test_a_malformed_query_is_one_clear_error(seeded_db: Path, query: str, message: str) -> None:
    result = run(seeded_db, "search", query)
    assert result.exit_code == 2 and message in result.stderr


def test_a_query_past_the_length_cap_is_refused_before_it_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cost of a refused query does not grow with its length: the length is checked
    before a word of it is split or folded (5,000 words once took 25 s)."""
    from kzdiplo import queries
    from kzdiplo.errors import UsageError

    read: list[str] = []
    monkeypatch.setattr(queries, "fold", lambda text: read.append(text) or text)
    queries.search_terms("x" * queries.MAX_SEARCH_LENGTH)
    assert len(read) == 1
    with pytest.raises(UsageError, match="at most 64 words"):
        queries.search_terms("tungsten " * 5_000)
    assert len(read) == 1  # the long query was never read


def test_a_leading_dash_goes_after_double_dash(seeded_db: Path) -> None:
    result = run(seeded_db, "search", "-f", "json", "--", "-tungsten")
    assert result.exit_code == 0, result.stderr
    assert "AND, OR and NOT" in run(seeded_db, "search", "--help").stdout


def test_show_partner_lists_every_record_it_takes_part_in_by_role(seeded_db: Path) -> None:
    partner = run_json(seeded_db, "show", "partner", "US")
    shown = {(r["noun"], r["slug"]) for r in partner["records"]}
    for noun in ("agreements", "deals", "deposits", "projects", "events"):
        for record in run_json(seeded_db, noun, "-p", "US", "--limit", "0"):
            assert (noun[:-1], record["slug"]) in shown
    roles = [r["role"] for r in partner["records"]]
    assert roles == sorted(roles)
