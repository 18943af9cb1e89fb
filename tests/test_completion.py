"""Shell completion completes nouns, partner codes, sector words, slugs and sort keys
from the database, through the real entry point."""

from __future__ import annotations

import sqlite3
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
        ("kzdiplo deals --stage si", "signed"),  # from the vocabulary (Click's shell_complete)
        ("kzdiplo agreements --stage in", "in_force"),
    ],
)
def test_completion_from_the_database(seeded_db: Path, line: str, expected: str) -> None:
    assert expected in complete(seeded_db, line)


@pytest.mark.slow
def test_completion_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    assert complete(missing, "kzdiplo deals -p U") == []
    assert not missing.exists()


@pytest.mark.slow
def test_a_hostile_key_is_never_offered(seeded_db: Path) -> None:
    """A stranger's database may hold any slug: one with an escape sequence, a newline
    (a second completion forged) or a bidi override is not typed into the shell."""
    hostile = ["us-\x1b]52;c;aGVsbG8=\x07x", "us-a\nrm -rf", "us-\u202ex"]
    kept = "us-exim-critical-minerals-funding"  # still offered beside them
    with sqlite3.connect(seeded_db) as conn:
        ids = [
            i for (i,) in conn.execute("SELECT id FROM deals WHERE slug != ? ORDER BY id", (kept,))
        ]
        for target, slug in zip(ids, hostile, strict=False):
            conn.execute("UPDATE deals SET slug = ? WHERE id = ?", (slug, target))
    offered = run_process(
        env={"_KZDIPLO_COMPLETE": "complete_bash", "COMP_WORDS": f"kzdiplo --db {seeded_db} "
             "show deal us", "COMP_CWORD": "5"},
    ).stdout.decode()  # fmt: skip
    assert kept in offered
    assert not any(c in offered for c in "\x1b\x07\u202e") and "rm -rf" not in offered


@pytest.mark.slow
def test_stage_completes_every_stage_and_only_those(seeded_db: Path) -> None:
    from kzdiplo.vocab import STAGES

    assert complete(seeded_db, "kzdiplo deals --stage ") == sorted(STAGES)
    assert complete(seeded_db, "kzdiplo deals --stage c") == ["cancelled", "completed"]


def test_completion_callbacks_carry_their_annotations_as_objects() -> None:
    """Structural guard for start-up: Typer reads each completion callback's annotations
    when it builds a command, on every run; as strings it evaluated each one twice."""
    from kzdiplo.cli import complete

    for callback in (complete.partners, complete.sectors, complete.stages, complete.sort_keys,
                     complete.keys, complete.nouns):  # fmt: skip
        assert not [a for a in callback.__annotations__.values() if isinstance(a, str)]
