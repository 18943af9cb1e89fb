"""Load files from strangers: cited texts stay put, omitted fields are kept, text_file
stays in its folder, YAML is bounded, and every bad value is named by file, record and
field in one short line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ENV, kzdiplo_command, run
from tests.conftest import snapshot

pytestmark = pytest.mark.slow  # loads of oversized files in subprocesses under limits

SOURCE = """\
sources:
  - slug: tengritimes-2026-01-03
    title: "Kazakhstan's Global Diplomatic Strategy and Strategic Transformation in 2025"
    kind: media
    {text}
"""
ARTICLE = Path(__file__).parents[2] / "seeds" / "texts" / "tengritimes-2026-01-03.txt"


def _write(folder: Path, body: str, name: str = "load.yaml") -> Path:
    path = folder / name
    path.write_text(body, encoding="utf-8")
    return path


def _one_clean_line(result) -> str:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert len(lines[0]) < 500, f"{len(lines[0])} characters"
    return lines[0]


def test_changing_a_cited_text_is_refused(seeded_db: Path, tmp_path: Path) -> None:
    before = snapshot(seeded_db)
    path = _write(tmp_path, SOURCE.format(text="text: Nothing of what it said before."))
    line = _one_clean_line(run(seeded_db, "load", str(path)))
    assert "would break" in line and "country KZ" in line, line
    assert snapshot(seeded_db) == before
    cleared = _write(tmp_path, SOURCE.format(text="text: null"), "clear.yaml")
    assert "would break" in _one_clean_line(run(seeded_db, "load", str(cleared)))
    assert snapshot(seeded_db) == before


def test_a_new_text_must_keep_the_quotes_of_kept_stages(seeded_db: Path, tmp_path: Path) -> None:
    """A record reloaded without ``stages:`` keeps its stage changes (the merge rule), so
    a source text re-declared in the same file must still hold their quotes. Before, the
    load was accepted and ``db check`` then failed."""
    first = """\
sources:
  - slug: test-stage-source
    title: A source for the stage test
    kind: media
    text: "The deal was announced in May. The deal was signed in June."
agreements:
  - slug: test-stage-agreement
    title: A test agreement
    kind: agreement
    citations:
      - source: test-stage-source
        quote: "The deal was announced in May."
    stages:
      - stage: signed
        source: test-stage-source
        quote: "The deal was signed in June."
"""
    assert run(seeded_db, "load", str(_write(tmp_path, first, "first.yaml"))).exit_code == 0
    before = snapshot(seeded_db)
    second = first.replace(" The deal was signed in June.", "").split("    stages:")[0]
    line = _one_clean_line(run(seeded_db, "load", str(_write(tmp_path, second, "second.yaml"))))
    assert "second.yaml" in line and "test-stage-source" in line and "text:" in line, line
    assert "agreement test-stage-agreement (stages)" in line, line
    assert snapshot(seeded_db) == before
    assert run(seeded_db, "db", "check").exit_code == 0
    # Given again (here: without the stage), the stages are replaced and the text may change.
    replaced = second + "    stages: []\n"
    result = run(seeded_db, "load", str(_write(tmp_path, replaced, "third.yaml")))
    assert result.exit_code == 0, result.stderr
    assert run(seeded_db, "db", "check").exit_code == 0


def test_a_text_that_keeps_every_quote_may_grow(seeded_db: Path, tmp_path: Path) -> None:
    longer = ARTICLE.read_text(encoding="utf-8") + "\nA correction appended later.\n"
    (tmp_path / "longer.txt").write_text(longer, encoding="utf-8")
    path = _write(tmp_path, SOURCE.format(text="text_file: longer.txt"))
    result = run(seeded_db, "load", str(path))
    assert result.exit_code == 0, result.stderr
    assert run(seeded_db, "db", "check").exit_code == 0


def test_omitted_fields_keep_their_values_and_null_clears(seeded_db: Path, tmp_path: Path) -> None:
    import sqlite3

    slug = "kz-ru-comprehensive-union-declaration"
    quote = (
        'In November 2025, Kazakhstan and Russia signed the "Declaration on a '
        'Comprehensive Union," formally elevating their relationship to the level of '
        "strategic partnership and alliance."
    )
    body = f"""\
agreements:
  - slug: {slug}
    title: Declaration on a Comprehensive Union (retitled)
    kind: declaration
    citations:
      - source: tengritimes-2026-01-03
        quote: '{quote}'
"""

    def row() -> tuple:
        with sqlite3.connect(seeded_db) as conn:
            return conn.execute(
                "SELECT a.title, a.summary, a.date_start, (SELECT count(*) FROM parties p "
                "WHERE p.agreement_id = a.id), (SELECT count(*) FROM record_sectors s "
                "WHERE s.agreement_id = a.id) FROM agreements a WHERE slug = ?",
                (slug,),
            ).fetchone()

    _, summary, date, parties, sectors = row()
    assert summary and date and parties and sectors
    assert run(seeded_db, "load", str(_write(tmp_path, body))).exit_code == 0
    assert row() == ("Declaration on a Comprehensive Union (retitled)", summary, date,
                     parties, sectors)  # fmt: skip
    cleared = body.replace("kind: declaration", "kind: declaration\n    summary: null")
    assert run(seeded_db, "load", str(_write(tmp_path, cleared, "null.yaml"))).exit_code == 0
    assert row()[1] is None and row()[2] == date


def _text_file_result(seeded_db: Path, folder: Path, name: str):  # type: ignore[no-untyped-def]
    path = _write(folder, SOURCE.replace("tengritimes-2026-01-03", "other-source").format(
        text=f"text_file: '{name}'"))  # fmt: skip
    # A FIFO or /dev/zero is refused by what it is, before it is opened: nothing waits.
    return run(seeded_db, "load", str(path))


@pytest.mark.parametrize(
    "name, expected",
    [("/etc/passwd", "inside"), ("../outside.txt", "inside"), ("link-out.txt", "leads out"),
     ("fifo", "not a regular file"), ("zero", "leads out"), ("big.txt", "larger than"),
     ("folder", "not a regular file")],
)  # fmt: skip
def test_text_file_stays_in_its_folder(
    name: str, expected: str, seeded_db: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "load"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("secret")
    (folder / "link-out.txt").symlink_to(tmp_path / "outside.txt")
    os.mkfifo(folder / "fifo")
    (folder / "zero").symlink_to("/dev/zero")
    (folder / "folder").mkdir()
    with (folder / "big.txt").open("wb") as f:
        f.truncate(5_000_001)
    before = snapshot(seeded_db)
    line = _one_clean_line(_text_file_result(seeded_db, folder, name))
    assert expected in line and "text_file" in line and "secret" not in line, line
    assert snapshot(seeded_db) == before


def _bounded_load(db: Path, path: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    """``kzdiplo load`` in a child capped at 1 GiB of address space; returns its result
    and peak RSS in MB (measured by a launcher, as in test_hostile_input). Which limit
    stopped the load is in its one line; no assertion reads a clock."""
    launcher = (
        "import os, resource, subprocess, sys\n"
        "cap = lambda: resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30))\n"
        "child = subprocess.Popen(sys.argv[1:], preexec_fn=cap, stderr=subprocess.PIPE)\n"
        "err = child.stderr.read()\n"
        "_, status, usage = os.wait4(child.pid, 0)\n"
        "sys.stderr.buffer.write(err)\n"
        "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    result = subprocess.run(
        [sys.executable, "-c", launcher, *kzdiplo_command(), "--db", str(db), "load", str(path)],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    code, peak_kb = map(int, result.stdout.split())
    result.returncode = code
    return result, peak_kb // 1024


ALIAS_BOMB = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["agreements: [*i]"]
)


@pytest.mark.parametrize(
    "body, expected",
    [(ALIAS_BOMB, "aliases"), ("agreements: " + "[" * 100_000, "nest"),
     ("agreements: []\nagreements: []\n", "duplicate key"),
     ("sources:\n  - slug: x\n    title: '" + "x" * 5_000_001 + "'\n", "longer than")],
    ids=["alias bomb", "deep nesting", "duplicate key", "long string"],
)  # fmt: skip
def test_yaml_is_bounded(body: str, expected: str, seeded_db: Path, tmp_path: Path) -> None:
    if body is ALIAS_BOMB:
        assert len(body) < 700
    path = _write(tmp_path, body)
    result, peak_mb = _bounded_load(seeded_db, path)
    assert result.returncode == 2, result.stderr[-500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and len(lines[0]) < 500, lines[:3]
    assert peak_mb < 300, peak_mb


def _ndjson_line(section: str, record: str) -> str:
    return f'{{"section": "{section}", "record": {record}}}\n'


LONG = "x" * 5_000_001
DEEP = "[" * 100_000 + "]" * 100_000
NESTED_60 = "[" * 60 + "]" * 60  # deeper than the limit, shallower than Python's recursion
# The same limits for every load format: (file name, body, words the one line holds).
EVERY_FORMAT = {
    "ndjson deep nesting": ("load.ndjson", _ndjson_line("events", DEEP), "nested deeper"),
    "ndjson 60 levels": ("load.ndjson", _ndjson_line("events", NESTED_60), "nested deeper"),
    "ndjson long string": (
        "load.ndjson", _ndjson_line("sources", f'{{"slug": "x", "text": "{LONG}"}}'), "longer than"
    ),
    "ndjson duplicate key": (
        "load.ndjson", '{"section": "events", "section": "events", "record": {}}\n', "duplicate"
    ),
    "json deep nesting": ("load.json", '{"events": ' + DEEP + "}", "nested deeper"),
    "json 60 levels": ("load.json", '{"events": ' + NESTED_60 + "}", "nested deeper"),
    "json long string": (
        "load.json", f'{{"sources": [{{"slug": "x", "text": "{LONG}"}}]}}', "longer than"
    ),
    "json duplicate key": ("load.json", '{"events": [], "events": []}', "duplicate key"),
    "csv": ("load.csv", "slug,title\nx,y\n", "CSV is not a load format"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(EVERY_FORMAT))
def test_every_load_format_is_bounded(name: str, seeded_db: Path, tmp_path: Path) -> None:
    """NDJSON skipped the file and string caps (100 MB: 240 s and 1.86 GB; a 30 MB text
    loaded and broke SELECT * FROM sources) and deep nesting raised RecursionError."""
    file_name, body, expected = EVERY_FORMAT[name]
    path = _write(tmp_path, body, file_name)
    before = snapshot(seeded_db)
    result, peak_mb = _bounded_load(seeded_db, path)
    assert result.returncode == 2, result.stderr[-500:]
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and str(path) in lines[0], lines[:3]
    assert len(lines[0]) < 500 and "Traceback" not in result.stderr
    assert peak_mb < 300, peak_mb
    assert snapshot(seeded_db) == before


def test_a_yaml_file_over_the_size_limit_is_refused_unread(seeded_db: Path, tmp_path: Path) -> None:
    """100 MB of YAML (parsed whole): refused by its size, at 20 MB, before it is parsed.
    NDJSON and JSON, read a record at a time, have no size limit but one per record
    (test_load_scale.py loads a file above the old cap)."""
    from kzdiplo.loadfile import MAX_FILE_BYTES

    line = _ndjson_line("events", '{"slug": "e", "title": "' + "x" * 1000 + '"}')
    path = tmp_path / "big.yaml"
    with path.open("w", encoding="utf-8") as f:
        for _ in range(100_000_000 // len(line)):
            f.write(line)
    result, peak_mb = _bounded_load(seeded_db, path)
    assert result.returncode == 2, result.stderr[-500:]
    (only,) = result.stderr.strip().splitlines()
    assert f"larger than {MAX_FILE_BYTES:,} bytes" in only and str(path) in only, only
    assert peak_mb < 300, peak_mb


@pytest.mark.parametrize("file_name", ["huge.ndjson", "huge.json"])
def test_a_record_over_the_record_limit_is_refused(
    file_name: str, seeded_db: Path, tmp_path: Path
) -> None:
    """One record of 40 MB (a title of many short strings, none over the string limit):
    refused by the limit on one record, naming the file, in bounded memory; before, the
    NDJSON line was read whole whatever its length."""
    from kzdiplo.loadfile import MAX_RECORD

    body = '{"slug": "e", "aliases": [' + ", ".join(['"' + "y" * 1000 + '"'] * 40_000) + "]}"
    assert len(body) > MAX_RECORD
    path = tmp_path / file_name
    if file_name.endswith(".ndjson"):
        path.write_text(_ndjson_line("events", body), encoding="utf-8")
    else:
        path.write_text('{"events": [' + body + "]}", encoding="utf-8")
    before = snapshot(seeded_db)
    result, peak_mb = _bounded_load(seeded_db, path)
    assert result.returncode == 2, result.stderr[-500:]
    (only,) = result.stderr.strip().splitlines()
    assert f"longer than {MAX_RECORD:,}" in only and str(path) in only, only
    assert peak_mb < 300, peak_mb
    assert snapshot(seeded_db) == before


def test_a_file_of_thousands_of_bad_records_stops_early(seeded_db: Path, tmp_path: Path) -> None:
    """423,000 records without citations (just under 20 MB): reading stops after 1,000
    problems (before: 846,808 problems listed, 51 s)."""
    line = _ndjson_line("events", '{"slug": "e"}')
    path = _write(tmp_path, line * (19_900_000 // len(line)), "load.ndjson")
    result, peak_mb = _bounded_load(seeded_db, path)
    assert result.returncode == 2, result.stderr[-500:]
    (only,) = result.stderr.strip().splitlines()
    assert "and 1000 more problems" in only, only
    assert peak_mb < 300, peak_mb


PROJECT = {"slug": "probe-project", "name": "A probe",
           "citations": [{"source": "tengritimes-2026-01-03", "quote": "Kazakhstan"}]}  # fmt: skip
OUT_OF_RANGE = {
    "yaml inf capacity": ("load.yaml", "projects:\n  - {slug: probe-project, name: A probe, "
                          "capacity: {value: .inf, unit: MW}, citations: [{source: "
                          "tengritimes-2026-01-03, quote: Kazakhstan}]}\n", "capacity.value"),
    "yaml nan capacity": ("load.yaml", "projects:\n  - {slug: probe-project, name: A probe, "
                          "capacity: {value: .nan, unit: MW}, citations: [{source: "
                          "tengritimes-2026-01-03, quote: Kazakhstan}]}\n", "capacity.value"),
    "json Infinity": ("load.json", '{"projects": [' + json.dumps(
        PROJECT | {"coordinates": {"latitude": 1, "longitude": 2, "precision": "city"}}
    ).replace('"longitude": 2', '"longitude": -Infinity') + "]}", "coordinates.longitude"),
    "ndjson NaN": ("load.ndjson", _ndjson_line("projects", json.dumps(
        PROJECT | {"capacity": {"unit": "MW", "value": 1}}).replace('"value": 1', '"value": NaN')),
        "capacity.value"),
    "event 9999-12-31": ("load.yaml", "events:\n  - {slug: probe-project, title: A probe, kind: "
                         "summit, date: 9999-12-31, citations: [{source: "
                         "tengritimes-2026-01-03, quote: Kazakhstan}]}\n", "date"),
    "event year 0999": ("load.json", '{"events": [{"slug": "probe-project", "title": "A probe", '
                        '"kind": "summit", "date": {"start": "0999-01-01", "end": '
                        '"1000-01-01", "precision": "years"}, "citations": [{"source": '
                        '"tengritimes-2026-01-03", "quote": "Kazakhstan"}]}]}', "date.start"),
    "source published 3000": ("load.yaml", "sources:\n  - {slug: probe-project, title: A "
                              "probe, kind: media, published: 3000-01-01}\n", "published"),
}  # fmt: skip


@pytest.mark.parametrize("name", list(OUT_OF_RANGE))
def test_values_no_format_can_carry_are_refused_at_load(
    name: str, seeded_db: Path, tmp_path: Path
) -> None:
    """`capacity: .inf` loaded and the JSON export held `Infinity`; an event dated
    9999-12-31 loaded and made `report` crash. Refused now, naming file, record, field."""
    file_name, body, field = OUT_OF_RANGE[name]
    path = _write(tmp_path, body, file_name)
    before = snapshot(seeded_db)
    line = _one_clean_line(run(seeded_db, "load", str(path)))
    assert str(path) in line and "probe-project" in line and f": {field}: " in line, line
    assert snapshot(seeded_db) == before


QUOTE = '"Kazakhstan"'


@pytest.mark.parametrize(
    "section, fields, field",
    [("agreements", "kind: agreement\n    date: 2025-13-01", "date"),
     ("agreements", "kind: agreement\n    date: 2025-13", "date"),
     ("agreements", "kind: agreement\n    count: 100000000000000000000000", "count"),
     ("agreements", "kind: agreement\n    count: 3000000000", "count"),
     ("agreements", "kind: agreement\n    count: many", "count"),
     ("agreements", "kind: [agreement]", "kind"),
     ("deals", "kind: investment\n    amount: {low: 10000000000000000000000, "
      "high: 10000000000000000000000, currency: USD}", "amount_low")],
    ids=["13th month day", "13th month", "huge count", "int32 count", "wrong type",
         "list for text", "huge amount"],
)  # fmt: skip
def test_every_bad_value_names_file_record_and_field(
    section: str, fields: str, field: str, seeded_db: Path, tmp_path: Path
) -> None:
    body = (f"{section}:\n  - slug: probe-record\n    title: A probe\n    {fields}\n"
            f"    citations:\n      - source: tengritimes-2026-01-03\n        quote: {QUOTE}\n")  # fmt: skip
    path = _write(tmp_path, body)
    before = snapshot(seeded_db)
    line = _one_clean_line(run(seeded_db, "load", str(path)))
    assert str(path) in line and "probe-record" in line and f": {field}" in line, line
    assert "Error" not in line, line
    assert snapshot(seeded_db) == before


def test_a_long_bad_value_is_not_echoed_in_full(seeded_db: Path, tmp_path: Path) -> None:
    body = ("agreements:\n  - slug: probe-record\n    title: A probe\n    kind: agreement\n"
            "    parties:\n      - {partner: '" + "Z" * 100_000 + "', role: signatory}\n"
            f"    citations:\n      - source: tengritimes-2026-01-03\n        quote: {QUOTE}\n")  # fmt: skip
    line = _one_clean_line(run(seeded_db, "load", str(_write(tmp_path, body))))
    assert "…" in line and "parties.0.partner" in line
