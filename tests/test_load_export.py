"""kzdiplo load, new and export: one validated path, round trips, and the formats."""

from __future__ import annotations

import csv
import json
import sqlite3
from pathlib import Path

import pytest
import yaml

from kzdiplo.config import sqlite_url
from kzdiplo.migrate import upgrade
from tests.cli_helpers import run, run_json
from tests.conftest import snapshot

EXAMPLE = Path(__file__).resolve().parent.parent / "docs" / "examples" / "adding-facts.yaml"


def content(path: Path) -> dict[str, list[tuple]]:
    """Every table's rows without row ids, links spelled as natural keys: equal content
    whatever order the rows were written in."""
    out: dict[str, list[tuple]] = {}
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT LIKE 'search_index%' AND name NOT IN ('alembic_version', 'parties', "
            "'citations', 'record_sectors')"
        )]  # fmt: skip
        for table in tables:
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            keep = [c for c in columns if c != "id" and not c.endswith("_id")]
            out[table] = sorted(conn.execute(f"SELECT {', '.join(keep)} FROM {table}"), key=repr)
        out["links"] = sorted(conn.execute(
            "SELECT 'party', record_type, partner_key, role, NULL FROM party_details "
            "UNION ALL SELECT 'citation', record_type, record_key, kind || ': ' || COALESCE(quote, summary), field FROM citation_details"
        ), key=repr)  # fmt: skip
        out["parents"] = sorted(conn.execute(
            "SELECT o.slug, c.code FROM organizations o JOIN countries c ON c.id = o.country_id "
            "UNION ALL SELECT d.slug, a.slug FROM deals d JOIN agreements a ON a.id = d.agreement_id "
            "UNION ALL SELECT s.slug, p.slug FROM sectors s JOIN sectors p ON p.id = s.parent_id"
        ), key=repr)  # fmt: skip
    return out


@pytest.mark.slow
def test_export_json_then_load_reproduces_the_data(seeded_db: Path, tmp_path: Path) -> None:
    result = run(seeded_db, "export", "--format", "json", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    exported = tmp_path / "out" / "kzdiplo.json"
    fresh = tmp_path / "fresh.db"
    upgrade(sqlite_url(fresh))  # an empty database: schema only, no seeds
    loaded = run(fresh, "load", str(exported))
    assert loaded.exit_code == 0, loaded.stderr
    assert content(fresh) == content(seeded_db)
    again = run(fresh, "export", "--format", "json", "--out", str(tmp_path / "again"))
    assert again.exit_code == 0
    assert (tmp_path / "again" / "kzdiplo.json").read_text() == exported.read_text()


@pytest.mark.slow
def test_reloading_an_export_changes_nothing(seeded_db: Path, tmp_path: Path) -> None:
    run(seeded_db, "export", "-f", "json", "-o", str(tmp_path))
    before = snapshot(seeded_db)
    result = run(seeded_db, "load", str(tmp_path / "kzdiplo.json"))
    assert result.exit_code == 0 and result.stdout == ""
    assert "0 added, 0 updated" in result.stderr
    assert snapshot(seeded_db) == before


@pytest.mark.slow
def test_worked_example_loads_and_dry_run_writes_nothing(seeded_db: Path) -> None:
    before = snapshot(seeded_db)
    dry = run(seeded_db, "load", "--dry-run", str(EXAMPLE))
    assert dry.exit_code == 0, dry.stderr
    assert "dry run, nothing written" in dry.stderr and dry.stdout.startswith("+ ")
    assert snapshot(seeded_db) == before
    real = run(seeded_db, "load", str(EXAMPLE))
    assert real.exit_code == 0 and real.stdout == dry.stdout
    assert run(seeded_db, "db", "check").exit_code == 0


def test_a_changed_value_is_reported(seeded_db: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    assert run(seeded_db, "load", str(EXAMPLE)).exit_code == 0
    data["events"][0]["kind"] = "announcement"
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    result = run(seeded_db, "load", str(changed))
    assert result.exit_code == 0
    assert result.stdout == f"~ events {data['events'][0]['slug']} (kind)\n"


def test_bad_load_file_changes_nothing(seeded_db: Path, tmp_path: Path) -> None:
    data = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    data["events"][0]["citations"][0]["quote"] = "words the source never wrote"
    data["events"][0]["parties"] = [{"partner": "Atlantis", "role": "host"}]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    before = snapshot(seeded_db)
    result = run(seeded_db, "load", str(bad))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "nothing loaded: " in result.stderr and "(and 1 more problems" in result.stderr
    verbose = run(seeded_db, "load", "--verbose", str(bad))
    assert (
        "unknown partner 'Atlantis'" in verbose.stderr and "not found in the text" in verbose.stderr
    )
    assert snapshot(seeded_db) == before
    missing = run(seeded_db, "load", str(tmp_path / "nope.yaml"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_new_prints_skeletons(seeded_db: Path) -> None:
    everything = run(seeded_db, "new")
    assert everything.exit_code == 0 and "sources:" in everything.stdout
    assert "deals:" in everything.stdout and yaml.safe_load(everything.stdout)
    assert run(seeded_db, "new", "dels").exit_code == 2


@pytest.mark.slow
def test_csv_export_with_data_dictionary(seeded_db: Path, tmp_path: Path) -> None:
    assert run(seeded_db, "export", "-f", "csv", "-o", str(tmp_path)).exit_code == 0
    with (tmp_path / "columns.csv").open() as f:
        dictionary = list(csv.DictReader(f))
    assert {"table", "column", "type", "description"} == set(dictionary[0])
    assert all(row["description"] for row in dictionary)
    with (tmp_path / "agreements.csv").open() as f:
        exported = list(csv.DictReader(f))
    assert len(exported) == len(run_json(seeded_db, "agreements", "--limit", "0"))
    tables = {row["table"] for row in dictionary}
    assert all((tmp_path / f"{t}.csv").exists() for t in tables)


def test_sqlite_export_is_a_standalone_copy(seeded_db: Path, tmp_path: Path) -> None:
    onto_itself = run(seeded_db, "export", "-f", "sqlite", "-o", str(seeded_db.parent))
    assert onto_itself.exit_code == 2 and "is the database being read" in onto_itself.stderr
    assert run(seeded_db, "agreements").exit_code == 0  # still there
    out = tmp_path / "published"
    assert run(seeded_db, "export", "-f", "sqlite", "-o", str(out)).exit_code == 0
    copy = out / "kzdiplo.db"
    with sqlite3.connect(copy) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert content(copy) == content(seeded_db)


def test_geojson(seeded_db: Path) -> None:
    result = run(seeded_db, "projects", "-f", "geojson")
    collection = json.loads(result.stdout)
    projects = run_json(seeded_db, "projects")
    assert collection["type"] == "FeatureCollection"
    assert len(collection["features"]) == len(projects)  # the unplaced are listed, not dropped
    unplaced = [f for f in collection["features"] if f["geometry"] is None]
    assert unplaced and f"{len(unplaced)} of {len(projects)} projects have no coordinates" in (
        result.stderr
    )
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE mineral_deposits SET latitude = 47.5, longitude = 74.5, "
                     "location_precision = 'region' WHERE slug = 'north-katpal'")  # fmt: skip
    deposits = json.loads(run(seeded_db, "deposits", "-f", "geojson").stdout)["features"]
    placed = [f for f in deposits if f["geometry"]]
    assert placed[0]["geometry"] == {"type": "Point", "coordinates": [74.5, 47.5]}
    assert run(seeded_db, "events", "-f", "geojson").exit_code == 0  # events have places (0013)
    assert run(seeded_db, "agreements", "-f", "geojson").exit_code == 2


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_datasette_publishes_the_export(seeded_db: Path, tmp_path: Path) -> None:
    """The real Datasette serves the exported copy with its metadata (needs the test extra)."""
    import shutil
    import subprocess
    import sys
    import time
    import urllib.parse
    import urllib.request

    datasette = Path(sys.executable).with_name("datasette")
    if not datasette.exists():
        datasette = Path(shutil.which("datasette") or "datasette")
    if not datasette.exists():
        pytest.skip("datasette is not installed (pip install '.[test]')")
    site = tmp_path / "site"
    assert run(seeded_db, "export", "-f", "datasette", "-o", str(site)).exit_code == 0
    metadata = json.loads((site / "metadata.json").read_text())
    assert metadata["source_url"].startswith("https://") and metadata["license"]
    assert metadata["databases"]["kzdiplo"]["tables"]["deals"]["columns"]["amount_low"]
    port = _free_port()
    server = subprocess.Popen(
        [str(datasette), "serve", str(site / "kzdiplo.db"), "-m", str(site / "metadata.json"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # up to 10 s for the server to listen
            try:
                urllib.request.urlopen(f"{base}/-/versions.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        page = urllib.request.urlopen(f"{base}/kzdiplo/agreements", timeout=10).read().decode()
        assert "Declaration on a Comprehensive Union" in page
        assert "Agreements, declarations, memoranda" in page  # the table description
        query = (
            "select title, count from agreements where slug in ('kz-us-washington-29-agreements',"
            " 'kz-cn-24-intergovernmental-agreements') order by count"
        )
        url = f"{base}/kzdiplo.json?sql={urllib.parse.quote(query)}&_shape=array"
        rows = json.loads(urllib.request.urlopen(url, timeout=10).read())
        assert [r["count"] for r in rows] == [24, 29]
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.slow
def test_export_ndjson_then_load_into_an_empty_database(seeded_db: Path, tmp_path: Path) -> None:
    """The README's round trip: db init --empty, then load the NDJSON export."""
    result = run(seeded_db, "export", "--format", "ndjson", "--out", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    exported = tmp_path / "out" / "kzdiplo.ndjson"
    fresh = tmp_path / "fresh.db"
    made = run(fresh, "db", "init", "--empty")
    assert made.exit_code == 0, made.stderr
    assert run_json(fresh, "agreements") == []
    loaded = run(fresh, "load", str(exported))
    assert loaded.exit_code == 0, loaded.stderr
    assert content(fresh) == content(seeded_db)
    assert run(fresh, "db", "init", "--empty").exit_code == 2  # never over an existing file


def test_a_broken_ndjson_line_is_one_clear_error(seeded_db: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.ndjson"
    bad.write_text('{"section": "events", "record": {}}\n{not json\n')
    result = run(seeded_db, "load", str(bad))
    assert result.exit_code == 2 and "line 2: invalid JSON" in result.stderr


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "JavaScript:alert(1)", " https://x.example", "data:text/html,x",
            "https://exa mple.org", "http:///nohost", "java\tscript:alert(1)"],
)  # fmt: skip
def test_datasette_metadata_links_only_web_urls(seeded_db: Path, tmp_path: Path, url: str) -> None:
    """Datasette shows ``source_url`` as the "Data source" link of every page."""
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE sources SET url = ? WHERE id = (SELECT min(id) FROM sources)", (url,))
    site = tmp_path / "site"
    assert run(seeded_db, "export", "-f", "datasette", "-o", str(site)).exit_code == 0
    metadata = json.loads((site / "metadata.json").read_text())
    assert "source_url" not in metadata and metadata["source"]
