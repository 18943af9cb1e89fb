"""What users of sqlite-utils and Datasette expect: --csv, --tsv, --json and --nl beside
--format, --no-headers, and named SQL parameters (``kzdiplo sql ... -p NAME VALUE``),
through the real entry point (exit codes and stderr are the process's)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from kzdiplo.cli import COMMANDS, load_command
from tests.cli_helpers import run_process

pytestmark = pytest.mark.slow  # subprocesses


def _out(db: Path, *args: str) -> str:
    result = run_process("--db", str(db), *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.decode()


def _one_error(db: Path, *args: str) -> str:
    result = run_process("--db", str(db), *args)
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 2 and result.stdout == b"", result.stderr
    assert lines[0].startswith("kzdiplo: error: ") and "Traceback" not in result.stderr.decode()
    assert all(line.startswith("kzdiplo: hint: ") for line in lines[1:])
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "fmt"), [("--csv", "csv"), ("--json", "json"), ("--nl", "ndjson"), ("--tsv", "tsv")]
)
def test_a_shorthand_writes_what_its_format_writes(seeded_db: Path, flag: str, fmt: str) -> None:
    for command in (["deals", "-p", "US"], ["sql", "SELECT code, name FROM countries"]):
        assert _out(seeded_db, *command, flag) == _out(seeded_db, *command, "--format", fmt)


def test_tsv_is_tab_separated_with_the_csv_header(seeded_db: Path) -> None:
    as_csv = list(csv.reader(io.StringIO(_out(seeded_db, "deals", "--csv", "-n", "0"))))
    text = _out(seeded_db, "deals", "--tsv", "-n", "0")
    as_tsv = list(csv.reader(io.StringIO(text), dialect="excel-tab"))
    assert as_tsv == as_csv and len(as_tsv) > 10
    assert text.splitlines()[0].split("\t") == as_csv[0]


def test_no_headers_leaves_out_the_header_row_only(seeded_db: Path) -> None:
    for flag in ("--csv", "--tsv"):
        whole = _out(seeded_db, "events", flag, "-n", "0").splitlines()
        bare = _out(seeded_db, "events", flag, "--no-headers", "-n", "0").splitlines()
        assert whole[0].startswith(("id,slug", "id\tslug")) and bare == whole[1:]
    rows = _out(seeded_db, "sql", "SELECT 1 AS one, 2 AS two", "--csv", "--no-headers")
    assert rows == "1,2\n"


def test_two_formats_at_once_are_refused(seeded_db: Path) -> None:
    assert "--csv and --json" in _one_error(seeded_db, "deals", "--csv", "--json")
    assert "--format json and --csv" in _one_error(seeded_db, "deals", "--format", "json", "--csv")
    same = _out(seeded_db, "deals", "-n", "1", "--format", "csv", "--csv")
    assert same.startswith("id,slug")


def test_every_command_with_a_table_format_takes_the_shorthands() -> None:
    """output_options is applied to each command whose --format offers them."""
    for name in COMMANDS:
        command = load_command(name)
        for each in [command, *getattr(command, "commands", {}).values()]:
            options = {o for p in each.params for o in getattr(p, "opts", ())}
            fmt = next((p for p in each.params if "--format" in getattr(p, "opts", ())), None)
            choices = set(getattr(fmt and fmt.type, "choices", ()))
            if {"table", "csv", "json", "ndjson", "tsv"} <= choices:
                assert {"--csv", "--tsv", "--json", "--nl", "--no-headers"} <= options, name
            elif "table" not in choices:
                assert "--csv" not in options, name  # export, cite...: their own formats


def test_sql_binds_named_parameters(seeded_db: Path) -> None:
    slug = "us-exim-critical-minerals-funding"
    rows = json.loads(_out(seeded_db, "sql", "SELECT slug FROM deals WHERE slug = :s",
                           "-p", "s", slug, "--json"))  # fmt: skip
    assert rows == [{"slug": slug}]
    # A value is bound, never spliced into the SQL: quotes and SQL stay text.
    hostile = "x' OR 1=1 --"
    rows = json.loads(_out(seeded_db, "sql", "SELECT :a AS a, :b AS b, count(*) AS n FROM deals "
                           "WHERE slug = :a", "-p", "a", hostile, "-p", "b", "2", "--json"))  # fmt: skip
    assert rows == [{"a": hostile, "b": "2", "n": 0}]


def test_sql_names_a_missing_parameter(seeded_db: Path) -> None:
    line = _one_error(seeded_db, "sql", "SELECT * FROM deals WHERE slug = :s AND stage = :t",
                      "-p", "s", "x")  # fmt: skip
    assert ":t" in line and "-p t VALUE" in line
    assert ":s" in _one_error(seeded_db, "sql", "SELECT :s")
    assert "not ?" in _one_error(seeded_db, "sql", "SELECT ?", "-p", "s", "1")
    assert "not a parameter name" in _one_error(seeded_db, "sql", "SELECT 1", "-p", "a b", "1")
    assert "requires 2 arguments" in _one_error(seeded_db, "sql", "SELECT 1", "-p", "s")
