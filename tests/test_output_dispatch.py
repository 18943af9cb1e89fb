"""One output path: every command that prints records, tables or query results goes
through render.write, one renderer per format."""

import ast
import csv
import io
import json
from pathlib import Path

import pytest

from kzdiplo import render
from kzdiplo.render import Format, Output, PlaceFormat, Table
from tests.cli_helpers import run

CLI = Path(render.__file__).parent / "cli"
# Commands whose documents are formats of their own (a changelog, citations), not views
# of records: they write what their module renders.
OWN_DOCUMENTS = {"research.py", "data.py"}
COMMANDS = [
    ["agreements", "-p", "US"],
    ["show", "deal", "us-exim-critical-minerals-funding"],
    ["audit"],
    ["schema", "deals"],
    ["sql", "SELECT slug, title FROM agreements ORDER BY id LIMIT 3"],
    ["search", "tungsten"],
    ["partners", "--limit", "3"],
    ["sources"],
]


def test_every_format_has_one_renderer() -> None:
    assert set(render.RENDERERS) == {f.value for f in PlaceFormat}
    assert {f.value for f in Format} < set(render.RENDERERS)


def test_no_command_writes_a_format_itself() -> None:
    """Outside render.py nothing calls the format writers: a new format is one renderer."""
    writers = {"to_json", "write_csv", "write_markdown", "write_table", "write_keys"}
    for path in sorted(CLI.glob("*.py")):
        if path.name in OWN_DOCUMENTS:
            continue
        called = {
            node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call)
        }
        assert not called & writers, f"{path.name} calls {called & writers}: use render.write"


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_each_command_writes_every_format(seeded_db: Path, command: list[str]) -> None:
    outputs = {f.value: run(seeded_db, *command, "--format", f.value) for f in Format}
    for fmt, result in outputs.items():
        assert result.exit_code == 0, (fmt, result.output)
        assert result.stdout.strip(), fmt
    json.loads(outputs["json"].stdout)
    for line in outputs["ndjson"].stdout.splitlines():
        json.loads(line)
    header = next(csv.reader(io.StringIO(outputs["csv"].stdout)))
    assert header and all(header), header
    assert outputs["markdown"].stdout.lstrip().startswith(("#", "|")), outputs["markdown"].stdout


def test_a_document_of_several_tables_is_one_markdown_document(seeded_db: Path) -> None:
    for command in (["audit"], ["show", "deal", "us-exim-critical-minerals-funding"]):
        text = run(seeded_db, *command, "--format", "markdown").stdout
        lines = text.splitlines()
        assert lines[0].startswith("# ") and sum(line.startswith("# ") for line in lines) == 1
        assert sum(line.startswith("## ") for line in lines) >= 2, text[:300]


def test_show_refuses_geojson_with_one_line(seeded_db: Path) -> None:
    result = run(seeded_db, "show", "deal", "us-exim-critical-minerals-funding", "-f", "geojson")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("kzdiplo: error:") and len(result.stderr.splitlines()) <= 2


def test_a_stream_is_written_as_it_comes() -> None:
    """SQL rows: CSV and JSON read the iterator once and hold nothing but the row."""
    consumed: list[int] = []

    def rows():
        for i in range(3):
            consumed.append(i)
            yield (i, f"r{i}")

    out = io.StringIO()
    source = rows()
    render.write(
        Output((dict(zip(("n", "s"), r, strict=True)) for r in source), csv=source,
               header=("n", "s")),
        "csv", out,
    )  # fmt: skip
    assert out.getvalue() == "n,s\n0,r0\n1,r1\n2,r2\n" and consumed == [0, 1, 2]
    out = io.StringIO()
    render.write(Output(iter([{"n": 1}, {"n": 2}]), [Table([], [])]), "json", out)
    assert json.loads(out.getvalue()) == [{"n": 1}, {"n": 2}]
