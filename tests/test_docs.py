"""Every command has help with an example, and appears in the README."""

from __future__ import annotations

import re
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
