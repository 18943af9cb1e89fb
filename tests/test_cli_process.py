"""The installed entry point as a user runs it: first use, exit codes, stderr, start-up."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import kzdiplo_command, run_process

pytestmark = pytest.mark.slow  # the installed entry point in subprocesses, first-use builds


def test_first_use_creates_the_default_database(tmp_path: Path) -> None:
    first = run_process("agreements", "--partner", "US", home=tmp_path)
    assert first.returncode == 0, first.stderr
    assert b"kz-us-washington-29-agreements" in first.stdout  # a slug is never broken
    assert b"creating the database at" in first.stderr and b"Traceback" not in first.stderr
    database = tmp_path / "data" / "kzdiplo" / "kzdiplo.db"
    assert database.is_file()
    second = run_process("agreements", "--partner", "US", home=tmp_path)
    assert second.returncode == 0 and second.stderr == b""
    path = run_process("db", "path", home=tmp_path)
    assert path.stdout.decode().strip() == str(database)


def test_environment_url_overrides_the_default(tmp_path: Path, seeded_db: Path) -> None:
    result = run_process(
        "deals", "-f", "json", home=tmp_path, env={"KZDIPLO_DATABASE_URL": f"sqlite:///{seeded_db}"}
    )
    assert result.returncode == 0 and b"us-exim" in result.stdout
    assert not (tmp_path / "data" / "kzdiplo").exists()


def test_exit_codes_and_one_line_errors(tmp_path: Path, seeded_db: Path) -> None:
    ok = run_process("--db", str(seeded_db), "events", "-f", "csv")
    assert ok.returncode == 0 and ok.stdout.startswith(b"id,slug")
    bad = run_process("--db", str(seeded_db), "agreements", "-p", "Narnia")
    assert bad.returncode == 2 and bad.stderr.count(b"\n") == 1 and bad.stdout == b""
    missing = run_process("--db", str(tmp_path / "nope.db"), "deals")
    assert missing.returncode == 2 and not (tmp_path / "nope.db").exists()
    timeout = run_process(
        "--db", str(seeded_db), "sql", "--timeout", "0.2",
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c",
    )  # fmt: skip
    assert timeout.returncode == 3 and b"time limit" in timeout.stderr
    version = run_process("--version")
    assert version.returncode == 0 and version.stdout.startswith(b"kzdiplo ")


def test_non_utf8_and_nul_input(seeded_db: Path) -> None:
    result = run_process("--db", str(seeded_db), "sql", "-", input=b"SELECT '\xff\xfe'")
    assert result.returncode == 2 and b"not UTF-8" in result.stderr
    weird = run_process(
        "--db",
        str(seeded_db),
        "agreements",
        "-p",
        "\udcff".encode("utf-8", "surrogateescape").decode("latin-1"),
    )
    assert weird.returncode == 2 and b"Traceback" not in weird.stderr


def test_closed_pipe_is_not_an_error(seeded_db: Path) -> None:
    command = " ".join(f"'{part}'" for part in kzdiplo_command())
    script = (
        f"{command} --db '{seeded_db}' sql 'SELECT code FROM countries' --max-rows 0 -f csv "
        '| head -n 1; echo "status=${PIPESTATUS[0]}"'
    )
    result = subprocess.run(["bash", "-c", script], capture_output=True, timeout=60)
    # Click ends a command whose reader went away with status 1 and no message.
    assert result.stdout.startswith(b"code\nstatus=") and result.stderr == b""


def test_read_commands_do_not_import_the_heavy_stack(seeded_db: Path) -> None:
    """Structural guard for start-up speed: no Alembic, SQLAlchemy, ORM models or pydantic
    on the read path (see docs/benchmarks.md for the timings)."""
    code = (
        "import sys\n"
        "from kzdiplo.cli import app\n"
        "for args in (['agreements', '-p', 'US'], ['deals', '-s', 'minerals', '-f', 'json'],\n"
        "             ['sql', 'SELECT 1'], ['search', 'tungsten'], ['partners']):\n"
        f"    app(['--db', {str(seeded_db)!r}, *args], standalone_mode=False)\n"
        "heavy = [m for m in ('alembic', 'sqlalchemy', 'pydantic', 'kzdiplo.models', 'yaml')\n"
        "         if m in sys.modules]\n"
        "print('HEAVY', heavy, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert b"HEAVY []" in result.stderr, result.stderr


def _loaded_after(
    seeded_db: Path, *args: str, prefixes: tuple[str, ...] = ("rich", "kzdiplo.cli.")
) -> tuple[bytes, str]:
    """Run the entry point in a fresh interpreter; its stdout and the modules it imported
    whose names start with one of ``prefixes`` (by default kzdiplo.cli's and Rich's)."""
    loaded = f"sorted(m for m in sys.modules if m.startswith({prefixes!r}))"
    return _probe_after(seeded_db, "", loaded, *args)


def test_one_command_imports_one_command_module_and_rich_for_its_table(seeded_db: Path) -> None:
    """Structural guard for start-up speed: the entry point registers only the command
    asked for (kzdiplo.cli.COMMANDS); the table is drawn by Rich."""
    out, loaded = _loaded_after(seeded_db, "agreements", "-p", "US")
    assert b"kz-us-washington-29-agreements" in out
    modules = ast.literal_eval(loaded)
    assert [m for m in modules if m.startswith("kzdiplo.")] == [
        "kzdiplo.cli.common",
        "kzdiplo.cli.complete",  # the completion callbacks the options name (stdlib only)
        "kzdiplo.cli.listing",  # the options the five listings share
        "kzdiplo.cli.records",
    ]
    assert "rich.table" in modules and "rich.console" in modules


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_the_start_up_listing_imports_nothing_only_writes_or_html_need(
    seeded_db: Path, fmt: str
) -> None:
    """Structural guard for the start-up benchmark (`agreements --partner US`): tempfile
    (with random) is for writing files, html (with html.entities) for the report and
    serve; each cost 1.5 ms when a module every read imports loaded it at its top."""
    out, loaded = _loaded_after(
        seeded_db, "agreements", "--partner", "US", "-f", fmt, prefixes=("tempfile", "html")
    )
    assert b"kz-us-washington-29-agreements" in out
    assert ast.literal_eval(loaded) == [], loaded


def _probe_after(
    seeded_db: Path, setup: str, report: str, *args: str, env: dict[str, str] | None = None
) -> tuple[bytes, str]:
    """Run the entry point in a fresh interpreter after ``setup`` (code run first); its
    stdout and what the expression ``report`` is once the command has run."""
    code = (
        "import sys\n"
        f"{setup}\n"
        f"sys.argv = ['kzdiplo', '--db', {str(seeded_db)!r}, *{list(args)!r}]\n"
        "from kzdiplo.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('REPORT', {report}, file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr.decode().rpartition("REPORT ")[2].strip()


@pytest.mark.parametrize(("fmt", "compiled"), [("table", "0"), ("csv", "0"), ("json", "1")])
def test_only_json_compiles_the_json_escape_class(seeded_db: Path, fmt: str, compiled: str) -> None:
    """Structural guard for start-up: the class of characters JSON escapes costs 0.45 ms
    to compile, so it is compiled when JSON is written, not when safetext is imported."""
    out, found = _probe_after(
        seeded_db, "", "sys.modules['kzdiplo.safetext']._json_unsafe.cache_info().currsize",
        "agreements", "--partner", "US", "-f", fmt,
    )  # fmt: skip
    assert b"kz-us-washington-29-agreements" in out
    assert found == compiled


def test_a_table_asks_the_terminal_its_size_once(seeded_db: Path) -> None:
    """Structural guard for start-up: Rich asked the terminal its size (one ioctl per
    standard stream until one answers) each time it read a width: 130 times for the US
    agreements. The console keeps the size it measured first."""
    setup = (
        "import os\n"
        "calls = []\n"
        "def counted(*args, _size=os.get_terminal_size):\n"
        "    calls.append(args)\n"
        "    return _size(*args)\n"
        "os.get_terminal_size = counted"
    )
    # Rich takes COLUMNS and LINES from the environment (pytest sets them) and then never
    # asks the terminal: leave them out, as in a terminal.
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out, found = _probe_after(
        seeded_db, setup, "len(calls)", "agreements", "--partner", "US", env=env
    )
    assert b"kz-us-washington-29-agreements" in out
    assert int(found) <= 3  # stdin, stdout and stderr are tried, none a terminal here


def test_the_json_listing_imports_no_dataclasses(seeded_db: Path) -> None:
    """Structural guard for start-up: queries.Filters and files.Entries, which every
    listing creates at import, are no dataclasses (0.8 ms, and the dataclasses import on
    the JSON path; Rich imports it for a table)."""
    out, loaded = _loaded_after(
        seeded_db, "agreements", "--partner", "US", "-f", "json", prefixes=("dataclasses",)
    )
    assert b"kz-us-washington-29-agreements" in out
    assert ast.literal_eval(loaded) == [], loaded


@pytest.mark.parametrize("fmt", ["table", "json"])
def test_the_start_up_listing_runs_no_cycle_collection(seeded_db: Path, fmt: str) -> None:
    """Structural guard for start-up: the cycle collector looked through the objects the
    imports make some 50 times (every 700 new ones) before a listing had printed, 6 ms
    of `agreements --partner US`; it now runs every 50,000 (kzdiplo.__main__)."""
    setup = (
        "import gc\n"
        "import kzdiplo.__main__\n"
        "runs = []\n"
        "gc.callbacks.append(lambda phase, info: runs.append(info) if phase == 'stop' else None)"
    )
    out, found = _probe_after(
        seeded_db, setup, "len(runs)", "agreements", "--partner", "US", "-f", fmt
    )
    assert b"kz-us-washington-29-agreements" in out
    assert found == "0"


def test_importing_the_cli_leaves_the_process_s_collector_as_it_was() -> None:
    """The collector's threshold is the command's (kzdiplo.__main__), not a side effect
    of importing kzdiplo.cli: a process that imports it as a library (this test suite)
    keeps collecting as often as it did, or the SQLite connections its code leaves in
    cycles pile up against the SQLite heap limit that `kzdiplo sql` sets."""
    code = (
        "import gc\n"
        "before = gc.get_threshold()\n"
        "import kzdiplo.cli\n"
        "print(before == gc.get_threshold(), gc.get_threshold()[0])\n"
        "import kzdiplo.__main__\n"
        "print(gc.get_threshold()[0])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [b"True", b"700", b"50000"]


@pytest.mark.parametrize(
    "args", [["agreements", "--partner", "US"], ["agreements", "--partner", "nowhere"]]
)
def test_the_exit_leaves_the_run_s_objects_to_the_system(seeded_db: Path, args: list[str]) -> None:
    """Structural guard for start-up: Python's exit looked through every object the run
    made and freed the imports' classes and functions cycle by cycle (15 ms of the US
    agreements); the entry point freezes them first, after a good run or an error."""
    _, frozen = _probe_after(seeded_db, "import gc", "gc.get_freeze_count()", *args)
    assert int(frozen) > 10_000


def test_a_frozen_exit_still_writes_everything(seeded_db: Path, tmp_path: Path) -> None:
    """What a command writes is flushed and closed by its owner, not by the collection
    that the frozen exit leaves out: the whole table on stdout, an export's files whole."""
    listed = run_process("--db", str(seeded_db), "agreements", "--partner", "US", "-f", "json")
    table = run_process("--db", str(seeded_db), "agreements", "--partner", "US")
    assert table.returncode == 0 and table.stdout.endswith(b"\n")
    for record in json.loads(listed.stdout):  # every row, the last one too
        assert record["slug"].encode() in table.stdout
    out = tmp_path / "out"
    done = run_process("--db", str(seeded_db), "export", "-f", "json", "--out", str(out))
    assert done.returncode == 0, done.stderr
    for written in out.iterdir():
        if written.suffix == ".json":
            json.loads(written.read_text(encoding="utf-8"))


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "markdown"])
@pytest.mark.parametrize("command", [["agreements", "-p", "US"], ["sql", "SELECT 1 AS one"]])
def test_machine_formats_import_no_rich(seeded_db: Path, fmt: str, command: list[str]) -> None:
    """Rich costs start-up time: only the table format may import it."""
    out, loaded = _loaded_after(seeded_db, *command, "--format", fmt)
    assert out
    assert not [m for m in ast.literal_eval(loaded) if m.startswith("rich")], loaded


@pytest.mark.parametrize(
    "args",
    [
        ["--db", "{db}", "events", "-f", "json"],
        ["events", "--db", "{db}", "-f", "json"],  # Click's own option on the command
        ["--db=/nowhere/x.db", "events", "--db", "{db}", "-f", "json"],  # the later wins
    ],
)
def test_db_is_taken_before_or_after_the_command(seeded_db: Path, args: list[str]) -> None:
    result = run_process(*(a.format(db=seeded_db) for a in args))
    assert result.returncode == 0, result.stderr
    assert b'"slug"' in result.stdout


def test_db_after_a_group_command(seeded_db: Path) -> None:
    """``kzdiplo db path --db X``: each command of a group takes --db too."""
    result = run_process("db", "path", "--db", str(seeded_db))
    assert result.returncode == 0 and result.stdout.decode().strip() == str(seeded_db)


def test_db_after_the_command_is_checked_as_before_it(tmp_path: Path) -> None:
    for args in (["deals", "--db", ""], ["--db", " ", "deals"], ["db", "path", "--db", ""]):
        result = run_process(*args, home=tmp_path)
        assert result.returncode == 2, args
        assert result.stderr == b"kzdiplo: error: --db needs a file path\n", args


def test_help_imports_no_command_module(tmp_path: Path) -> None:
    """`kzdiplo --help` lists every command from cli.COMMANDS without importing one."""
    code = (
        "import sys\n"
        "sys.argv = ['kzdiplo', '--help']\n"
        "from kzdiplo.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', sorted(m for m in sys.modules if m.startswith('kzdiplo.cli.')),\n"
        "      file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert b"\n  serve " in result.stdout and b"\n  agreements " in result.stdout
    loaded = ast.literal_eval(result.stderr.decode().rpartition("LOADED ")[2])
    assert loaded == ["kzdiplo.cli.common", "kzdiplo.cli.complete"], loaded


def test_lazy_start_up_still_knows_every_command(tmp_path: Path) -> None:
    help_text = run_process("--help", home=tmp_path).stdout.decode()
    for name in ("agreements", "partners", "sql", "load", "export", "audit", "db"):
        assert f"\n  {name} " in help_text
    typo = run_process("agreemnts", home=tmp_path)
    assert typo.returncode == 2 and b"agreements" in typo.stderr


def test_an_older_default_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """A user's default database from an earlier kzdiplo (schema 0005, before the
    PostgreSQL search table and the OR-chain CHECKs) is brought up to date on first use,
    keeping every row."""
    from kzdiplo.config import sqlite_url
    from kzdiplo.migrate import downgrade
    from kzdiplo.reader import HEAD
    from tests.conftest import snapshot

    assert run_process("db", "init", home=tmp_path).returncode == 0
    database = tmp_path / "data" / "kzdiplo" / "kzdiplo.db"
    rows = snapshot(database)
    downgrade(sqlite_url(database), "0005")
    result = run_process("agreements", "--partner", "US", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"upgrading the database schema from 0005 to {HEAD}".encode() in result.stderr
    assert b"kz-us-washington-29-agreements" in result.stdout
    assert snapshot(database) == rows


def test_help_at_80_columns_cuts_no_sentence(tmp_path: Path) -> None:
    """Each command's line in `kzdiplo --help` is whole at a new terminal's width."""
    from kzdiplo.cli import COMMANDS, load_command

    assert all(load_command(name).name == name for name in COMMANDS)  # each entry loads
    text = run_process("--help", home=tmp_path, env={"COLUMNS": "80"}).stdout.decode()
    listed = text.split("Commands:")[1].splitlines()
    assert all(not line.rstrip().endswith("...") for line in listed), listed
    assert all(len(line) <= 80 for line in text.splitlines())
