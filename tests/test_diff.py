"""kzdiplo diff: the real CLI on real SQLite files and JSON exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from kzdiplo.config import sqlite_url
from tests.cli_helpers import run

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "adding-facts.yaml"


def _diff(db: Path, *args: str) -> dict:
    result = run(db, "diff", *args, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_the_worked_example_adds_exactly_its_records(seeded_db: Path, tmp_path: Path) -> None:
    new = tmp_path / "new.db"
    new.write_bytes(seeded_db.read_bytes())
    loaded = run(new, "load", str(EXAMPLE))
    assert loaded.exit_code == 0, loaded.stderr
    result = _diff(seeded_db, str(seeded_db), str(new))
    example = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    expected = {(section, r["slug"]) for section, records in example.items() for r in records}
    assert {(e["section"], e["key"]) for e in result["added"]} == expected
    assert result["counts"] == {"added": len(expected), "removed": 0, "changed": 0}
    event = result["added"][0]["record"]
    wanted = example["events"][0]
    assert event["title"] == wanted["title"]
    assert [c["quote"] for c in event["citations"]] == [c["quote"] for c in wanted["citations"]]
    # And backwards: the same record removed, nothing else.
    back = _diff(seeded_db, str(new), str(seeded_db))
    assert back["counts"] == {"added": 0, "removed": len(expected), "changed": 0}
    md = run(seeded_db, "diff", str(seeded_db), str(new), "--format", "markdown")
    assert "### Added" in md.stdout and f"`{wanted['slug']}`" in md.stdout
    table = run(seeded_db, "diff", str(seeded_db), str(new))
    assert table.exit_code == 0 and wanted["slug"] in table.stdout and "1 added" in table.stdout


def test_a_database_and_its_json_export_do_not_differ(seeded_db: Path, tmp_path: Path) -> None:
    exported = run(seeded_db, "export", "--format", "json", "--out", str(tmp_path / "x"))
    assert exported.exit_code == 0, exported.stderr
    result = _diff(seeded_db, str(tmp_path / "x" / "kzdiplo.json"), str(seeded_db))
    assert result["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert _diff(seeded_db, str(tmp_path / "x"), str(seeded_db))["counts"]["changed"] == 0
    # an SQLite file named by URL (as in KZDIPLO_DATABASE_URL) is that file, with the
    # URL's percent-encoding decoded (config.sqlite_url)
    as_url = sqlite_url(seeded_db)
    assert _diff(seeded_db, as_url, str(seeded_db))["counts"] == {"added": 0, "removed": 0,
                                                                  "changed": 0}  # fmt: skip


def test_changed_quote_stage_and_discrepancy_are_named_by_field(
    seeded_db: Path, tmp_path: Path
) -> None:
    new = tmp_path / "new.db"
    new.write_bytes(seeded_db.read_bytes())
    with sqlite3.connect(new) as conn:
        slug, agreement_id = conn.execute(
            "SELECT slug, id FROM agreements WHERE id IN (SELECT agreement_id FROM citations "
            "WHERE kind = 'quote') ORDER BY id LIMIT 1"
        ).fetchone()
        citation = conn.execute(
            "SELECT id, text FROM citations WHERE agreement_id = ? AND kind = 'quote' "
            "ORDER BY id LIMIT 1",
            (agreement_id,),
        ).fetchone()
        conn.execute("UPDATE citations SET kind = 'summary', text = 'Our rewording.' "
                     "WHERE id = ?", (citation[0],))  # fmt: skip
        conn.execute("UPDATE agreements SET stage = 'cancelled' WHERE id = ?", (agreement_id,))
        discrepancy = conn.execute(
            "SELECT x.id, x.field, COALESCE(c.code, a.slug, d.slug, o.slug) FROM discrepancies x "
            "LEFT JOIN countries c ON c.id = x.country_id "
            "LEFT JOIN agreements a ON a.id = x.agreement_id "
            "LEFT JOIN deals d ON d.id = x.deal_id "
            "LEFT JOIN organizations o ON o.id = x.organization_id ORDER BY x.id LIMIT 1"
        ).fetchone()
        conn.execute("UPDATE discrepancies SET source_says = 'something else' WHERE id = ?",
                     (discrepancy[0],))  # fmt: skip
    result = _diff(seeded_db, str(seeded_db), str(new))
    changed = {e["key"]: e["fields"] for e in result["changed"]}
    assert result["counts"]["added"] == result["counts"]["removed"] == 0
    fields = {(f["field"], f["change"]) for f in changed[slug]}
    assert ("stage", "added") in fields or ("stage", "changed") in fields
    quote_change = next(f for f in changed[slug] if f["field"] == "citations")
    assert quote_change["change"] == "changed"
    assert quote_change["old"]["quote"] == citation[1]
    assert quote_change["new"] == {**quote_change["new"], "summary": "Our rewording."}
    assert "quote" not in quote_change["new"]
    d = next(f for f in changed[discrepancy[2]] if f["field"] == "discrepancies")
    assert d["change"] == "changed" and d["new"]["says"] == "something else"
    # The table marks our summary as ours, never as a quotation.
    table = run(seeded_db, "diff", str(seeded_db), str(new))
    assert "[summary] Our rewording." in table.stdout


def test_bad_input_is_one_line_and_exit_2(seeded_db: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("not json")
    wrong = tmp_path / "wrong.json"
    wrong.write_text('{"nonsense": []}')
    for args in ([str(tmp_path / "missing.db"), str(seeded_db)], [str(junk), str(seeded_db)],
                 [str(seeded_db), str(wrong)], [str(tmp_path), str(seeded_db)]):  # fmt: skip
        result = run(seeded_db, "diff", *args)
        assert result.exit_code == 2, (args, result.stdout)
        assert result.stderr.count("\n") == 1 and result.stderr.startswith("kzdiplo: error:")
