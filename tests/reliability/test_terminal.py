"""What reaches a terminal: no escape sequence, control or bidi character from the data or
from a query drives it; CSV neutralises spreadsheet formulas by default."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from markdown_it import MarkdownIt

from kzdiplo.safetext import for_terminal, json_text
from tests.cli_helpers import ENV, kzdiplo_command, run, run_process
from tests.reliability import commands
from tests.reliability.commands import Workspace, every_command, formats
from tests.reliability.watch import Watched

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07 "
    "\x1b]52;c;aGVsbG8=\x07 bell\x07 c1\x9b2J \u202egnp.exe\u202c \u2066iso\u2069 "
    "zero\u200bwidth"
)
# Anything a terminal acts on: C0 but newline, DEL, C1, bidi embeddings/overrides/isolates.
DANGEROUS = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b]")


def _poison(db: Path) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE agreements SET title = ?, summary = ? WHERE id = 1",
                     (HOSTILE, HOSTILE))  # fmt: skip
        conn.execute("UPDATE citations SET note = ? WHERE agreement_id = 1", (HOSTILE,))


def test_for_terminal_makes_everything_visible() -> None:
    shown = for_terminal(HOSTILE)
    assert not DANGEROUS.search(shown)
    assert "<U+200B>" in shown and "<U+202E>" in shown and "\u241b[31m" in shown
    assert for_terminal("plain Қазақстан text, 100%") == "plain Қазақстан text, 100%"
    assert for_terminal("two\nlines", multiline=True) == "two\nlines"


def test_json_text_escapes_each_character_a_terminal_obeys_and_nothing_else() -> None:
    """Every code point of the Basic Multilingual Plane but the surrogates, one at a time
    and all together: DEL, C1, bidi and zero-width characters become \\uXXXX (what a
    JSON reader reads back as the same character), any other is left as it is."""
    escaped = {0x7F, *range(0x80, 0xA0), *range(0x202A, 0x202F), *range(0x2066, 0x206A),
               0x200E, 0x200F, 0x061C, 0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD}  # fmt: skip
    points = [c for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF]
    for code in points:
        expected = f"\\u{code:04x}" if code in escaped else chr(code)
        assert json_text(chr(code)) == expected, hex(code)
    whole = "".join(map(chr, points))
    assert json_text(whole) == "".join(json_text(chr(c)) for c in points)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_listings_show_and_audit_are_neutralised(fmt: str, seeded_db: Path) -> None:
    _poison(seeded_db)
    slug = sqlite3.connect(seeded_db).execute("SELECT slug FROM agreements WHERE id = 1")
    key = slug.fetchone()[0]
    for args in (["agreements"], ["show", "agreement", key], ["audit"], ["search", "bell"]):
        result = run(seeded_db, *args, "--format", fmt)
        assert result.exit_code == 0, (args, result.stderr)
        assert not DANGEROUS.search(result.stdout + result.stderr), args
    assert "<U+202E>" in run(seeded_db, "agreements", "--format", fmt).stdout


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["table", "markdown"])
def test_sql_results_are_neutralised(fmt: str, seeded_db: Path) -> None:
    query = ("SELECT char(27) || ']52;c;aGVsbG8=' || char(7) AS \"x\u202ey\", "
             "char(155) || '2J' AS c1, 'a' || char(8203) || 'b' AS zw")  # fmt: skip
    result = run_process("--db", str(seeded_db), "sql", query, "--format", fmt)
    assert result.returncode == 0, result.stderr
    out = result.stdout.decode()
    assert not DANGEROUS.search(out) and "<U+200B>" in out


@pytest.mark.slow
def test_error_lines_are_neutralised(seeded_db: Path) -> None:
    for args in (["agreements", "--partner", HOSTILE], ["show", "deal", HOSTILE],
                 ["sql", "SELECT * FROM \x1b]52;c;aGVsbG8=\x07"]):  # fmt: skip
        result = run_process("--db", str(seeded_db), *args)
        assert result.returncode in (1, 2), result.stderr
        err = result.stderr.decode()
        assert err.count("\n") == 1 and not DANGEROUS.search(err.rstrip("\n")), err


@pytest.mark.slow
def test_click_usage_errors_quote_input_escaped(seeded_db: Path) -> None:
    """Click prints its own usage errors; they quote the input with repr(), escaped."""
    for args in (["agreements", "--format", HOSTILE], ["agreements", "--limit", HOSTILE],
                 ["sql", "SELECT 1", "--timeout", HOSTILE], ["agreements", "--x" + HOSTILE],
                 ["agr\x1b[31meements"]):  # fmt: skip
        result = run_process("--db", str(seeded_db), *args)
        assert result.returncode == 2, result.stderr
        err = result.stderr.decode()
        assert not DANGEROUS.search(err.replace("\n", "")), err


def test_csv_neutralises_formulas_unless_raw(seeded_db: Path) -> None:
    query = ("SELECT '=HYPERLINK(\"http://evil\",\"x\")' AS a, '+1' AS b, '@SUM(1)' AS c, "
             "char(9) || '=1' AS d, -5 AS n, 'plain' AS e")  # fmt: skip
    safe = next(csv.DictReader(io.StringIO(run(seeded_db, "sql", query, "-f", "csv").stdout)))
    assert safe == {"a": "'=HYPERLINK(\"http://evil\",\"x\")", "b": "'+1", "c": "'@SUM(1)",
                    "d": "'\t=1", "n": "-5", "e": "plain"}  # fmt: skip
    raw = run(seeded_db, "sql", query, "-f", "csv-raw").stdout
    assert next(csv.DictReader(io.StringIO(raw)))["a"] == '=HYPERLINK("http://evil","x")'
    with sqlite3.connect(seeded_db) as conn:
        conn.execute("UPDATE agreements SET title = '=1+2' WHERE id = 1")
    listed = run(seeded_db, "agreements", "-f", "csv").stdout
    assert "'=1+2" in listed and "\n=1+2" not in listed
    assert "csv-raw" in run(seeded_db, "agreements", "--help").stdout


# --- every command and format on a hostile load file (issue 23) ---

WALK = [(path, fmt) for path in every_command() for fmt in formats(path)]
UNSAFE = re.compile(commands.DANGEROUS)
JS_LINK = re.compile(r"""(href=["']|"source_url"\s*:\s*")\s*javascript:""", re.IGNORECASE)
NARROW = {"COLUMNS": "80"}  # the long words and markup must fold in a real width


@pytest.fixture(scope="module")
def hostile(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    """The seeded database, and a copy with the hostile load file loaded into it."""
    folder = tmp_path_factory.mktemp("hostile")
    base, loaded = folder / "base.db", folder / "hostile.db"
    shutil.copyfile(seeded_template, base)
    shutil.copyfile(seeded_template, loaded)
    load = commands.write_hostile_load(folder)
    result = run_process("--db", str(loaded), "load", str(load))
    assert result.returncode == 0, result.stderr
    return Workspace(base, loaded, load, folder / "out")


def _serve(db: Path) -> tuple[int, bytes]:
    """``kzdiplo serve`` until it answered a page of the hostile record; what it printed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    server = subprocess.Popen(
        [*kzdiplo_command(), "--db", str(db), "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                url = f"http://127.0.0.1:{port}/-/kzdiplo/record/event/{commands.SLUG}"
                with urllib.request.urlopen(url, timeout=5) as page:
                    assert not JS_LINK.search(page.read().decode())
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "serve ended"
                time.sleep(0.3)
    finally:
        server.terminate()
        out, _ = server.communicate(timeout=30)
    return 0, out


def _written_links(folder: Path) -> list[str]:
    """Files a command wrote whose HTML or JSON links a javascript: URL."""
    if not folder.exists():
        return []
    files = [folder] if folder.is_file() else [p for p in folder.rglob("*") if p.is_file()]
    return [str(p) for p in files if p.suffix in (".html", ".json", ".js")
            and JS_LINK.search(p.read_text(encoding="utf-8", errors="replace"))]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("path", "fmt"), WALK, ids=[" ".join(p) + f"-{f}" for p, f in WALK])
def test_every_command_and_format_on_a_hostile_load(
    path: tuple[str, ...], fmt: str | None, hostile: Workspace
) -> None:
    """Each command of the registry, in each of its formats, on data whose every text
    holds terminal escapes, bidi overrides, Rich markup, BibTeX braces and a 300-letter
    word: no raw control character reaches stdout or stderr (CSV is checked on a
    terminal, where people read it; to a pipe it is exact data; TSV likewise), no crash, and a
    refusal is one line with exit 2. Files written link no javascript: URL."""
    args = ["--db", str(hostile.hostile), *commands.arguments(path, fmt, hostile)]
    if path == ("serve",):
        code, out = _serve(hostile.hostile)
        err = b""
    elif fmt in ("csv", "csv-raw", "tsv") and path != ("export",):  # CSV or TSV on stdout
        terminal = Watched(*args, env=NARROW)
        code = terminal.resume_to_end()
        out, err = terminal.output.replace(b"\r\n", b"\n"), b""
    else:
        result = run_process(*args, env=NARROW)
        code, out, err = result.returncode, result.stdout, result.stderr
    text = (out + err).decode("utf-8", errors="replace")
    assert "Traceback" not in text and code in (0, 2), (code, text[-2000:])
    if code == 2:
        assert err.decode().count("\n") == 1 and err.startswith(b"kzdiplo: error:"), err
    found = UNSAFE.search(text)
    assert found is None, (found, text[max(0, found.start() - 200) : found.end() + 50])
    if fmt == "markdown":  # rendered, the data makes no link, HTML or row of its own
        html = MarkdownIt("commonmark").enable("table").render(out.decode())
        assert "<a " not in html and 'javascript:alert(2)"' not in html, html[:3000]
    assert _written_links(hostile.out) == []


def test_the_walk_reaches_every_command() -> None:
    """The walk is read from the registry: every command, every format it offers."""
    from kzdiplo.cli import COMMANDS

    assert {p[0] for p, _ in WALK} == set(COMMANDS)
    assert (("cite",), "bibtex") in WALK and (("db", "check"), None) in WALK
    assert len(WALK) > 80


def test_web_link_accepts_only_http_urls() -> None:
    from kzdiplo.safetext import web_link

    assert web_link("https://example.org/a?b=1#c") == "https://example.org/a?b=1#c"
    assert web_link("HTTP://example.org") == "HTTP://example.org"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", " https://x.org", "java\tscript:x",
                "data:text/html,x", "https://x.org/\x1b]8;;", "https:///nohost", "//x.org",
                "http://[::1", "file:///etc/passwd", "vbscript:x", None, 5):  # fmt: skip
        assert web_link(bad) is None, bad


@pytest.mark.slow
def test_a_refused_hostile_load_is_one_shown_line(hostile: Workspace, tmp_path: Path) -> None:
    """The loader's refusal quotes the bad value and the field name from the file: both
    shown, never obeyed, on one line (and each --verbose problem on one line of its own)."""
    bad = commands.hostile_load()
    bad["events"][0] |= {"kind": commands.HOSTILE, commands.HOSTILE: 1}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad, allow_unicode=True), encoding="utf-8")
    for verbose in ([], ["--verbose"]):
        result = run_process("--db", str(hostile.hostile), "load", str(path), *verbose)
        err = result.stderr.decode()
        assert result.returncode == 2 and "Traceback" not in err, err
        assert err.startswith("kzdiplo:") and not UNSAFE.search(err), err
        assert err.count("\n") == (1 if not verbose else err.count("kzdiplo:")), err
