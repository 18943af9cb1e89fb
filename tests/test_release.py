"""kzdiplo release: a Frictionless data package checked by the real ``frictionless
validate``, CITATION.cff, a CHANGELOG from diff, and no clobbering of others' files."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from edtf import parse_edtf, struct_time_to_date

from kzdiplo.dataset import DATA_VERSION
from kzdiplo.models import Base
from tests.cli_helpers import run

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "adding-facts.yaml"
FRICTIONLESS = Path(sys.executable).with_name("frictionless")
CFF_SCHEMA = Path(__file__).resolve().parent / "data" / "cff-schema-1.2.0.json"


def _release(db: Path, out: Path, *args: str) -> None:
    result = run(db, "release", "--out", str(out), *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(out)


def _validate(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FRICTIONLESS), "validate", "--json", "datapackage.json"],
        cwd=folder, capture_output=True, text=True, timeout=240,
    )  # fmt: skip


@pytest.mark.slow
def test_the_package_validates_and_its_foreign_keys_are_checked(
    seeded_db: Path, tmp_path: Path
) -> None:
    out = tmp_path / "release"
    _release(seeded_db, out)
    checked = _validate(out)
    assert checked.returncode == 0, checked.stdout[-2000:]
    report = json.loads(checked.stdout)
    assert (
        report["valid"] and len(report["tasks"]) == len(Base.metadata.tables) + 2
    )  # dates and the money ledger
    # Point one citation at a source that does not exist: the validator must say so.
    path = out / "data" / "citations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[0]["source_id"] = "999999"
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    broken = _validate(out)
    assert broken.returncode != 0
    errors = [e for t in json.loads(broken.stdout)["tasks"] for e in t["errors"]]
    assert {e["type"] for e in errors} == {"foreign-key"}


@pytest.mark.slow
def test_schemas_come_from_the_models(seeded_db: Path, tmp_path: Path) -> None:
    _release(seeded_db, tmp_path / "r")
    package = json.loads((tmp_path / "r" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == DATA_VERSION
    assert package["kzdiplo"]["content_hash"].startswith("sha256:")
    resources = {r["name"]: r for r in package["resources"]}
    assert set(resources) == set(Base.metadata.tables) | {"dates", "money_flows"}
    # the money ledger ships as the view has it: a plain sum gives the partners totals
    with (tmp_path / "r" / "data" / "money_flows.csv").open(encoding="utf-8") as f:
        ledger = list(csv.DictReader(f))
    assert list(ledger[0]) == [x["name"] for x in resources["money_flows"]["schema"]["fields"]]
    ebrd = sum(int(r["usd_low"] or 0) for r in ledger
               if r["partner"] == "ebrd" and r["direction"] == "from")  # fmt: skip
    assert ebrd == 1_623_450_000  # its stated EUR 1.5 bn of the EUR 10 bn pledge
    for name, table in Base.metadata.tables.items():
        schema = resources[name]["schema"]
        assert [f["name"] for f in schema["fields"]] == [c.name for c in table.columns]
        assert len(schema.get("foreignKeys", [])) == len(table.foreign_keys)
        header = (tmp_path / "r" / resources[name]["path"]).read_text().splitlines()[0]
        assert header.split(",") == [c.name for c in table.columns]
    citation = yaml.safe_load((tmp_path / "r" / "CITATION.cff").read_text(encoding="utf-8"))
    cff_schema = json.loads(CFF_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator(cff_schema, format_checker=jsonschema.FormatChecker()).validate(
        citation
    )
    assert citation["cff-version"] == "1.2.0" and citation["type"] == "dataset"
    assert citation["version"] == DATA_VERSION
    assert citation["identifiers"][0]["value"] == package["kzdiplo"]["content_hash"]
    assert "First release" in (tmp_path / "r" / "CHANGELOG.md").read_text(encoding="utf-8")


@pytest.mark.slow
def test_changelog_lists_what_changed_since_the_previous_release(
    seeded_db: Path, tmp_path: Path
) -> None:
    _release(seeded_db, tmp_path / "old")
    new = tmp_path / "new.db"
    new.write_bytes(seeded_db.read_bytes())
    assert run(new, "load", str(EXAMPLE)).exit_code == 0
    # Same data version, different data: refused, so no two releases share a version.
    same = run(new, "release", "--out", str(tmp_path / "new"), "--previous", str(tmp_path / "old"))
    assert same.exit_code == 2 and "--data-version" in same.stderr
    assert "dataset.py" not in same.stderr  # nobody edits the source to release data
    _release(new, tmp_path / "new", "--previous", str(tmp_path / "old"), "--force")
    changelog = (tmp_path / "new" / "CHANGELOG.md").read_text(encoding="utf-8")
    slug = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))["events"][0]["slug"]
    assert "### Added" in changelog and f"event `{slug}`" in changelog
    assert "1 record added, 0 removed, 0 changed" in changelog
    assert changelog.index("### Added") < changelog.index("First release")  # older below
    # The release's own kzdiplo.json diffs clean against the database it came from.
    diff = run(new, "diff", str(tmp_path / "new"), str(new), "--format", "json")
    assert json.loads(diff.stdout)["counts"] == {"added": 0, "removed": 0, "changed": 0}


@pytest.mark.slow
def test_never_clobbers_files_it_did_not_write(seeded_db: Path, tmp_path: Path) -> None:
    out = tmp_path / "theirs"
    out.mkdir()
    (out / "CHANGELOG.md").write_text("someone else's\n")
    refused = run(seeded_db, "release", "--out", str(out))
    assert refused.exit_code == 2 and refused.stderr.count("\n") == 1
    assert "--force" in refused.stderr
    assert sorted(p.name for p in out.iterdir()) == ["CHANGELOG.md"]
    assert (out / "CHANGELOG.md").read_text() == "someone else's\n"
    # Its own earlier release is replaced; a file added beside it makes it foreign again.
    ours = tmp_path / "ours"
    _release(seeded_db, ours)
    _release(seeded_db, ours)
    (ours / "notes.txt").write_text("mine")
    assert run(seeded_db, "release", "--out", str(ours)).exit_code == 2
    _release(seeded_db, ours, "--force")
    assert (ours / "notes.txt").read_text() == "mine"
    assert not [p for p in ours.iterdir() if p.name.startswith(".kzdiplo-release-")]
    afile = tmp_path / "afile"
    afile.write_text("x")
    assert run(seeded_db, "release", "--out", str(afile)).exit_code == 2


@pytest.mark.slow
def test_every_partial_date_is_released_with_its_edtf(seeded_db: Path, tmp_path: Path) -> None:
    _release(seeded_db, tmp_path / "r")
    rows = list(csv.DictReader((tmp_path / "r" / "data" / "dates.csv").open(encoding="utf-8")))
    with sqlite3.connect(seeded_db) as conn:
        expected = sum(
            conn.execute(f"SELECT count({column}) FROM {table}").fetchone()[0]
            for table, column in (("agreements", "date_start"), ("deals", "date_start"),
                                  ("events", "date_start"), ("stage_changes", "date_start"),
                                  ("infrastructure_projects", "started_start"),
                                  ("infrastructure_projects", "completion_start"))
        )  # fmt: skip
    assert len(rows) == expected
    for row in rows:
        parsed = parse_edtf(row["edtf"])
        assert str(struct_time_to_date(parsed.lower_strict())) == row["start"], row
        assert str(struct_time_to_date(parsed.upper_strict())) == row["end"], row
    assert {"2035/2036", "2023-01~/2023-04~"} <= {r["edtf"] for r in rows}


def _headings(folder: Path) -> list[str]:
    changelog = (folder / "CHANGELOG.md").read_text(encoding="utf-8")
    return [line for line in changelog.splitlines() if line.startswith("## ")]


@pytest.mark.slow
def test_data_version_names_a_release_of_changed_data(seeded_db: Path, tmp_path: Path) -> None:
    """Before, the only way to release changed data under a new version was to edit
    DATA_VERSION in src/kzdiplo/dataset.py, which a pip install cannot do."""
    _release(seeded_db, tmp_path / "old")
    new = tmp_path / "new.db"
    new.write_bytes(seeded_db.read_bytes())
    assert run(new, "load", str(EXAMPLE)).exit_code == 0
    previous = ("--previous", str(tmp_path / "old"))
    for bad in ("2026.13.1", "v2", "2026.12", "2026.012.1", "2026.12.0", "x" * 500):
        refused = run(new, "release", "--out", str(tmp_path / "new"), *previous,
                      "--data-version", bad)  # fmt: skip
        assert refused.exit_code == 2, (bad, refused.stderr)
        assert refused.stderr.startswith("kzdiplo: error: --data-version")
        assert refused.stderr.count("\n") == 1 and len(refused.stderr) < 200
        assert "year.month.serial" in refused.stderr and "Traceback" not in refused.stderr
        assert not (tmp_path / "new").exists()
    older = run(new, "release", "--out", str(tmp_path / "new"), *previous,
                "--data-version", "2026.1.7")  # fmt: skip
    assert older.exit_code == 2 and f"older than the previous release's {DATA_VERSION}" in (
        older.stderr
    )
    year, month, serial = DATA_VERSION.split(".")
    bumped = f"{year}.{month}.{int(serial) + 1}"
    _release(new, tmp_path / "new", *previous, "--data-version", bumped)
    folder = tmp_path / "new"
    package = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    citation = yaml.safe_load((folder / "CITATION.cff").read_text(encoding="utf-8"))
    manifest = json.loads((folder / ".kzdiplo-release.json").read_text(encoding="utf-8"))
    assert package["version"] == citation["version"] == manifest["version"] == bumped
    assert [h.split()[1] for h in _headings(folder)] == [bumped, DATA_VERSION]
    # The next release of the same data keeps the version it was given.
    _release(new, tmp_path / "again", "--previous", str(folder))
    again = json.loads((tmp_path / "again" / ".kzdiplo-release.json").read_text("utf-8"))
    assert again["version"] == bumped
    assert [h.split()[1] for h in _headings(tmp_path / "again")] == [bumped, DATA_VERSION]


@pytest.mark.slow
def test_one_changelog_section_per_version(seeded_db: Path, tmp_path: Path) -> None:
    """Before, --force (and any re-release of one version) wrote a second section under
    the same version's heading."""
    _release(seeded_db, tmp_path / "first")
    _release(seeded_db, tmp_path / "same", "--previous", str(tmp_path / "first"))
    assert _headings(tmp_path / "same") == _headings(tmp_path / "first")
    assert (tmp_path / "same" / "CHANGELOG.md").read_text("utf-8") == (
        tmp_path / "first" / "CHANGELOG.md"
    ).read_text("utf-8")
    new = tmp_path / "new.db"
    new.write_bytes(seeded_db.read_bytes())
    assert run(new, "load", str(EXAMPLE)).exit_code == 0
    _release(new, tmp_path / "forced", "--previous", str(tmp_path / "first"), "--force")
    assert len(_headings(tmp_path / "forced")) == 1
    changelog = (tmp_path / "forced" / "CHANGELOG.md").read_text(encoding="utf-8")
    assert changelog.index("### Added") < changelog.index("First release")
    assert "### Earlier in this version" in changelog
