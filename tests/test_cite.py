"""kzdiplo cite: every format read back by the real library for it (bibtexparser,
jsonschema against the CSL data schema, citeproc-py, rispy)."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

import bibtexparser
import jsonschema
import pybtex.database
import pytest
import rispy
from citeproc import (
    Citation,
    CitationItem,
    CitationStylesBibliography,
    CitationStylesStyle,
    formatter,
)
from citeproc.source.json import CiteProcJSON

from kzdiplo.cite import BIB_REPLACE
from kzdiplo.dataset import DATA_VERSION
from tests.cli_helpers import run

SCHEMA = Path(__file__).resolve().parent / "data" / "csl-data.json"
DEAL = "north-katpal-controlling-stake"


def _cite(db: Path, *args: str) -> str:
    result = run(db, "cite", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout


def _citations(db: Path, slug: str | None = None) -> list[tuple[str, str, str]]:
    """(source slug, kind, text) of the citations behind a record (or all records); the
    tests loop over them, so both kinds must be there for the loops to check anything."""
    where = "" if slug is None else "WHERE record_key = ?"
    with sqlite3.connect(db) as conn:
        found = conn.execute(
            "SELECT d.source, c.kind, c.text FROM citation_details d "
            "JOIN citations c ON c.id = d.citation_id "
            f"{where} {'AND' if where else 'WHERE'} d.record_type IN "
            "('agreement', 'deal', 'deposit', 'project', 'event')",
            () if slug is None else (slug,),
        ).fetchall()
    assert {kind for _, kind, _ in found} == {"quote", "summary"}, (slug, found)
    return found


def test_bibtex_parses_back_with_every_source_and_claim(seeded_db: Path) -> None:
    library = bibtexparser.parse_string(_cite(seeded_db, DEAL, "--format", "bibtex"))
    assert not library.failed_blocks
    entries = {e.key: e for e in library.entries}
    data = entries[f"kzdiplo-data-{DATA_VERSION}"]
    assert data["version"] == DATA_VERSION and "sha256:" in data["note"]
    cited = _citations(seeded_db, DEAL)
    assert set(entries) - {data.key} == {source for source, _, _ in cited}
    for entry in entries.values():
        assert "author" not in entry.fields_dict  # no made-up author, no title as author
        assert entry["title"].startswith("{") and entry["title"].endswith("}")
    for source, kind, text in cited:
        note = entries[source]["note"]
        words = " ".join(text.split()).replace("%", r"\%").replace("$", r"\$")
        if kind == "quote":
            assert f"Quote: ``{words}''" in note
        else:
            assert f"Our summary (not a quotation): {words}" in note
            assert f"``{words}" not in note


@pytest.mark.slow
def test_csl_json_is_valid_and_renders_without_repeating_titles(seeded_db: Path) -> None:
    items = json.loads(_cite(seeded_db, "--all", "--format", "csl-json"))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft3Validator.check_schema(schema)
    jsonschema.Draft3Validator(schema).validate(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, CiteProcJSON(items), formatter.plain)
    for item in items:
        bibliography.register(Citation([CitationItem(item["id"])]))
    rendered = [str(b) for b in bibliography.bibliography()]
    assert len(rendered) == len(items)
    for item in items:
        matches = [r for r in rendered if item["title"] in r]
        assert matches, item["id"]
        assert all(r.count(item["title"]) == 1 for r in matches), matches
        for person in item.get("author", []):
            assert set(person) == {"literal"} and person["literal"] != item["title"]
    claim = re.compile(r"Supports (agreement|deal|deposit|project|event) ")
    claims = sum(len(claim.findall(item["note"])) for item in items[1:])
    assert claims == len(_citations(seeded_db))


@pytest.mark.slow
def test_summaries_are_never_quoted_in_csl_or_ris(seeded_db: Path) -> None:
    items = {i["id"]: i for i in json.loads(_cite(seeded_db, "--all", "-f", "csl-json"))}
    records = rispy.loads(_cite(seeded_db, "--all", "-f", "ris"))
    by_id = {r.get("id"): r for r in records}
    assert records[0]["type_of_reference"] == "DATA" and records[0]["edition"] == DATA_VERSION
    for source, kind, text in _citations(seeded_db):
        words = " ".join(text.split())
        notes = by_id[source]["notes"]
        if kind == "quote":
            assert f"Quote: \u201c{words}\u201d" in items[source]["note"]
            assert any(f"Quote: \u201c{words}\u201d" in n for n in notes)
        else:
            assert f"Our summary (not a quotation): {words}" in items[source]["note"]
            assert f"\u201c{words}" not in items[source]["note"]
            assert any(f"Our summary (not a quotation): {words}" in n for n in notes)


def test_text_marks_summaries_and_quotes(seeded_db: Path) -> None:
    out = _cite(seeded_db, DEAL)
    assert out.startswith("kzdiplo: a sourced database") and f"version {DATA_VERSION}" in out
    for _, kind, text in _citations(seeded_db, DEAL):
        words = " ".join(text.split())
        assert (f"\u201c{words}\u201d" if kind == "quote" else f"[summary] {words}") in " ".join(
            out.split()
        )


@pytest.mark.slow
def test_same_data_same_hash_and_a_change_changes_it(seeded_db: Path, tmp_path: Path) -> None:
    first = json.loads(_cite(seeded_db, DEAL, "-f", "csl-json"))[0]["note"]
    copy = tmp_path / "copy.db"
    copy.write_bytes(seeded_db.read_bytes())
    assert json.loads(_cite(copy, DEAL, "-f", "csl-json"))[0]["note"] == first
    with sqlite3.connect(copy) as conn:
        conn.execute("UPDATE deals SET notes = 'edited' WHERE slug = ?", (DEAL,))
    assert json.loads(_cite(copy, DEAL, "-f", "csl-json"))[0]["note"] != first


@pytest.mark.parametrize("args", [["no-such-record"], [], [DEAL, "--all"]])
def test_bad_input_is_one_line_and_exit_2(seeded_db: Path, args: list[str]) -> None:
    result = run(seeded_db, "cite", *args)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("kzdiplo: error:")


def _unlatex(value: str) -> str:
    """A BibTeX field as text again: the inverse of kzdiplo's escaping (cite.BIB_REPLACE
    and a backslash before & % $ # _)."""
    back = {v: k for k, v in BIB_REPLACE.items()}
    commands = "|".join(re.escape(c) for c in back)
    return re.sub(rf"{commands}|\\([&%$#_])", lambda m: m[1] or back[m[0]], value)


@pytest.mark.slow
def test_hostile_source_text_cannot_break_out_of_its_bibtex_field(seeded_db: Path) -> None:
    """BibTeX counts every brace, escaped or not, to find where a field ends: read the
    output with pybtex in strict mode (it reads as BibTeX does; bibtexparser skips over
    ``\\}``) and find one entry per source, each title exactly what the source says."""
    hostile = ("Title} , author = {Mallory}} @misc{injected, title={x} 100% \\end ~^ #_$& "
               "\\} \\{ {{{ @comment{")  # fmt: skip
    with sqlite3.connect(seeded_db) as conn:
        source = conn.execute(
            "SELECT s.slug FROM sources s JOIN citations c ON c.source_id = s.id "
            "JOIN deals d ON d.id = c.deal_id WHERE d.slug = ? LIMIT 1",
            (DEAL,),
        ).fetchone()[0]
        conn.execute("UPDATE sources SET title = ?, publisher = ? WHERE slug = ?",
                     (hostile, hostile, source))  # fmt: skip
    out = _cite(seeded_db, DEAL, "--format", "bibtex")
    expected = [item["id"] for item in json.loads(_cite(seeded_db, DEAL, "-f", "csl-json"))]
    library = pybtex.database.parse_string(out, "bibtex")  # strict: raises on a bad entry
    assert list(library.entries) == expected and "injected" not in library.entries
    entry = library.entries[source]
    assert set(entry.fields) <= {"title", "organization", "date", "year", "url", "urldate",
                                 "note"} and not entry.persons  # fmt: skip
    assert _unlatex(entry.fields["title"]) == "{" + hostile + "}"
    assert _unlatex(entry.fields["organization"]) == hostile
    bib = bibtexparser.parse_string(out)
    assert not bib.failed_blocks and [e.key for e in bib.entries] == expected
    ris_records = rispy.loads(_cite(seeded_db, DEAL, "--format", "ris"))
    assert next(r for r in ris_records if r.get("id") == source)["title"] == hostile
