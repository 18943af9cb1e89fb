"""kzdiplo timeline: one line per event in 80 columns, a bar over a partial date."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from kzdiplo.cli import app

ENV = {"NO_COLOR": "1", "COLUMNS": "80", "TERM": "dumb"}


def _timeline(db: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["--db", str(db), "timeline", *args], env=ENV)
    return result.exit_code, result.stdout, result.stderr


def events_drawn(out: str) -> list[str]:
    """Each event's lines joined: its first line (date, bar, mark, title) starts at the
    margin; its title's next lines and its partners are indented under the title."""
    body = out.splitlines()[1:-1]  # the header with the years, the legend last
    drawn: list[str] = []
    for line in body:
        if line[:1].strip():
            drawn.append(line)
        else:
            drawn[-1] += "\n" + line
    return drawn


def test_one_event_a_row_within_80_columns(seeded_db: Path) -> None:
    """Each event starts a row (the title wraps under itself, its partners under it)."""
    with sqlite3.connect(seeded_db) as conn:
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        disputed = conn.execute(
            "SELECT count(DISTINCT event_id) FROM discrepancies "
            "WHERE kind = 'disagreement' AND event_id IS NOT NULL"
        ).fetchone()[0]
    code, out, _ = _timeline(seeded_db)
    assert code == 0
    lines = out.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    drawn = events_drawn(out)
    assert len(drawn) == events
    assert sum("⚠" in event.splitlines()[0] for event in drawn) == disputed > 0
    assert "'23" in lines[0] and "'25" in lines[0]
    early = next(event for event in drawn if "halts natural" in event)
    assert early.startswith("In early 2023") and "⚠" in early and "KZ, CN" in early
    assert "▒" in early  # vague: drawn in the lighter shade
    tokayev = next(event for event in drawn if "President Tokayev" in " ".join(event.split()))
    assert "█" in tokayev and "▒" not in tokayev


def test_a_year_only_date_fills_the_whole_year(seeded_db: Path) -> None:
    code, out, _ = _timeline(seeded_db, "--year", "2025")
    assert code == 0
    year = next(line for line in out.splitlines() if "Article's account" in line)
    assert "▒" * 12 in year  # every month of 2025, not a mark on January
    assert "Kazakhstan halts natural gas" not in out


def test_filters_as_in_the_listings(seeded_db: Path) -> None:
    code, out, _ = _timeline(seeded_db, "--partner", "US", "--since", "2025-09")
    assert code == 0
    assert "President Tokayev" in out and "Alaska" not in out
    code, out, _ = _timeline(seeded_db, "--until", "2023")
    assert "EU and Kazakhstan sign" in out and "Washington" not in out
    code, out, _ = _timeline(seeded_db, "--until", "1990")
    assert code == 0 and "No events match" in out


def test_bad_input_is_one_line_and_exit_2(seeded_db: Path) -> None:
    for args in (["--since", "soon"], ["--since", "2025-10", "--until", "2025-01"],
                 ["--partner", "Atlantis"]):  # fmt: skip
        code, _out, err = _timeline(seeded_db, *args)
        assert code == 2, args
        assert err.count("\n") == 1 and err.startswith("kzdiplo: error:"), err
