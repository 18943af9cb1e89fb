"""Shell completion completes nouns, partner codes, sector words, slugs and sort keys
from the database, through the real entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import run_process


def complete(db: Path, line: str) -> list[str]:
    words = line.split()
    if line.endswith(" "):
        words.append("")
    result = run_process(
        env={
            "_KZDIPLO_COMPLETE": "complete_bash",
            "COMP_WORDS": " ".join(["kzdiplo", "--db", str(db), *words[1:]]),
            "COMP_CWORD": str(len(words) + 1),
        }
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.decode().split()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("kzdiplo deals -p U", "US"),
        ("kzdiplo deals --sector min", "minerals"),
        ("kzdiplo show par", "partner"),
        ("kzdiplo show deal us-ex", "us-exim-critical-minerals-funding"),
        ("kzdiplo show partner U", "US"),
        ("kzdiplo deals --sort u", "usd"),
    ],
)
def test_completion_from_the_database(seeded_db: Path, line: str, expected: str) -> None:
    assert expected in complete(seeded_db, line)


@pytest.mark.slow
def test_completion_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert complete(missing, "kzdiplo deals -p U") == []
    assert not missing.exists()
