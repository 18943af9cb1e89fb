"""Every command has help with an example, and appears in the README."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from kzdiplo.cli import app
from tests.cli_helpers import ENV

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands() -> list[list[str]]:
    """Every command through Click's group API (a lazy group builds each when asked)."""
    group = typer.main.get_group(app)
    found = []
    for name in group.list_commands(None):  # type: ignore[arg-type]  # the root ignores ctx
        command = group.get_command(None, name)  # type: ignore[arg-type]
        if hasattr(command, "commands"):
            found += [[name, sub] for sub in command.commands]
        else:
            found.append([name])
    return found


COMMANDS = _commands()


def test_the_public_commands_exist() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert names >= {
        "agreements", "deals", "deposits", "projects", "events", "partners", "show", "search",
        "sql", "schema", "db path", "db init", "db upgrade", "db current", "db seed", "db check",
    }  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_help_has_an_example(command: list[str]) -> None:
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, [*command, "--help"], env=ENV)
    assert result.exit_code == 0
    assert "Example" in result.stdout and "kzdiplo " in result.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c) for c in COMMANDS])
def test_readme_mentions_every_command(command: list[str]) -> None:
    text = README.read_text(encoding="utf-8")
    assert re.search(rf"kzdiplo (--db \S+ )?{' '.join(command)}\b", text), " ".join(command)


def test_the_readme_prints_the_hash_a_fresh_database_gives(seeded_db: Path) -> None:
    """The README's cite and release examples show the content hash of the data as
    shipped (before, the tour had loaded the example into the default database first, so
    it printed a hash no fresh database gives). After a change to the seeds, rerun
    scripts/readme_tour.py."""
    from kzdiplo.contenthash import content_hash
    from kzdiplo.dataset import DATA_VERSION, from_database

    text = README.read_text(encoding="utf-8")
    shown = re.findall(r"content (sha256:[0-9a-f]{64})", text)
    shown += re.findall(rf"release {re.escape(DATA_VERSION)} \((sha256:[0-9a-f]{{64}})\)", text)
    assert len(shown) >= 2, "the README no longer shows the content hash of the seed data"
    fresh = content_hash(from_database(str(seeded_db)))
    assert set(shown) == {fresh}


def _pasted_commands() -> list[str]:
    """The ``$`` lines of the README's console blocks after the tour (whose error
    examples fail on purpose), in order."""
    text = README.read_text(encoding="utf-8")
    after_tour = text[text.index("\n## Adding facts") :]
    blocks = re.findall(r"(?ms)^ *```console\n(.*?)^ *```", after_tour)
    return [line.strip()[2:] for b in blocks for line in b.splitlines()
            if line.strip().startswith("$ ")]  # fmt: skip


@pytest.mark.slow
def test_the_readme_commands_work_as_pasted(tmp_path: Path) -> None:
    """Each command after the tour, pasted into bash in order in a new home folder, exits
    0 (before: ``cp kzdiplo.db new.db`` named a file that is not there, and the diff and
    release after it failed with it)."""
    commands = _pasted_commands()
    assert any("release" in c for c in commands) and any("diff" in c for c in commands)
    # A reader has run "Two commands" first: its query creates the default database.
    first = re.search(r"\.venv/bin/(kzdiplo [^\n`]*)", README.read_text(encoding="utf-8"))
    assert first is not None
    commands.insert(0, first.group(1))
    home, work = tmp_path / "home", tmp_path / "work"
    home.mkdir()
    work.mkdir()
    (work / "docs").symlink_to(README.parent / "docs")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KZDIPLO_", "XDG_"))}
    env |= ENV | {"HOME": str(home),
                  "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"}  # fmt: skip
    for command in commands:
        done = subprocess.run(["bash", "-c", command], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)  # fmt: skip
        assert done.returncode == 0, (command, done.stderr)
