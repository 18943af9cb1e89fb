"""Every command of the CLI, read from its registry, with arguments that make it work on a
hostile database: the walks in test_terminal.py and test_secrets.py use this.

The commands come from ``kzdiplo.cli.COMMANDS`` and each group's subcommands, and their
formats from their own ``--format`` choices, so a command or format added later is walked
without an edit here (with no arguments until it gets some in :func:`arguments`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ESC = "\x1b"
# What a hostile load file puts in every text: OSC 52 (writes the clipboard), OSC 8 (a
# hidden link), CSI (clears the screen), a C1 CSI, BEL, CR, a bidi override and isolate,
# Rich markup (a closing tag with no opening one crashed Rich; a link; blink), Markdown
# links, HTML and table rows that would be rendered as the document's own, BibTeX
# braces that would open an entry of their own, and a word too long for any column.
HOSTILE = (
    f"Hostile {ESC}]52;c;aGVsbG8=\x07 {ESC}]8;;https://evil.example\x07link{ESC}]8;;\x07 "
    f"{ESC}[2J\x9b2J bell\x07 cr\rover \u202egnp.exe\u202c \u2066iso\u2069 "
    "[/bogus] [link=javascript:alert(1)]x[/link] [blink]b[/blink] :smile: "
    '[md](javascript:alert(2)) <a href="javascript:alert(3)">a</a> <javascript:alert(4)> '
    "| cell |\n| --- |\n"
    "Title} , author = {Mallory}} @misc{injected, title={x} 100% \\end "
    '=HYPERLINK("http://evil.example") ' + "W" * 300
)
# Anything a terminal acts on: C0 but newline and tab, DEL, C1, bidi controls.
DANGEROUS = "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
SLUG = "hostile"
SOURCE_TEXT = f"The hostile source says {HOSTILE} and more."
QUOTE = f"The hostile source says {HOSTILE}"


def _record(**fields: Any) -> dict[str, Any]:
    return {"slug": SLUG, **fields, "summary": HOSTILE,
            "citations": [{"source": SLUG, "quote": QUOTE, "note": HOSTILE}]}  # fmt: skip


def hostile_load() -> dict[str, Any]:
    """One record of every kind whose every text field is :data:`HOSTILE`, cited to a
    source whose title, publisher and text are hostile and whose URL is ``javascript:``."""
    parties = [{"partner": "KZ", "role": "signatory"}, {"partner": SLUG, "role": "investor"}]
    return {
        "sources": [{"slug": SLUG, "title": HOSTILE, "publisher": HOSTILE, "kind": "media",
                     "url": "javascript:alert(document.domain)", "text": SOURCE_TEXT}],
        "organizations": [_record(name=HOSTILE, kind="company", aliases=[HOSTILE])],
        "agreements": [_record(title=HOSTILE, kind="agreement", stage="signed",
                               date={"value": "2025-03", "text": HOSTILE}, parties=parties,
                               notes=HOSTILE)],
        "deals": [_record(title=HOSTILE, kind="investment", stage="announced",
                          amount={"low": 5, "high": 5, "currency": "USD", "text": HOSTILE},
                          parties=parties, date=2025)],
        "deposits": [_record(name=HOSTILE, commodity=HOSTILE, status=HOSTILE,
                             location=HOSTILE, parties=parties)],
        "projects": [_record(name=HOSTILE, kind=HOSTILE, status=HOSTILE, location=HOSTILE,
                             parties=parties, started="2025-06")],
        "events": [_record(title=HOSTILE, kind="visit", date="2025-05", location=HOSTILE,
                           parties=parties)],
    }  # fmt: skip


def write_hostile_load(folder: Path) -> Path:
    path = folder / "hostile.yaml"
    path.write_text(yaml.safe_dump(hostile_load(), allow_unicode=True), encoding="utf-8")
    return path


def every_command() -> list[tuple[str, ...]]:
    """Each command's path: ``("deals",)``, ``("db", "check")``..., from the registry."""
    from kzdiplo.cli import COMMANDS, load_command

    paths: list[tuple[str, ...]] = []
    for name in COMMANDS:
        command = load_command(name)
        subcommands = getattr(command, "commands", None)
        paths += [(name, sub) for sub in subcommands] if subcommands else [(name,)]
    return paths


def formats(path: tuple[str, ...]) -> list[str | None]:
    """The choices of the command's ``--format`` (None: it has no such option)."""
    from kzdiplo.cli import load_command

    command: Any = load_command(path[0])
    for name in path[1:]:
        command = command.commands[name]
    for param in command.params:
        if "--format" in getattr(param, "opts", []):
            return list(param.type.choices)
    return [None]


@dataclass
class Workspace:
    """The files a walk works on: the seeded database, the same with the hostile load,
    the load file and a folder for output."""

    base: Path
    hostile: Path
    load: Path
    out: Path


def arguments(path: tuple[str, ...], fmt: str | None, w: Workspace) -> list[str]:
    """Arguments that make the command do its work on the hostile data (after ``--db``)."""
    out = str(w.out / "-".join([*path, fmt or "default"]))
    given = {
        ("show",): ["event", SLUG],
        ("search",): ["hostile"],
        ("sql",): ["SELECT title, summary FROM events UNION ALL SELECT title, url FROM sources"],
        ("load",): [str(w.load)],
        ("new",): ["events"],
        ("export",): ["--out", out],
        ("cite",): [SLUG],
        ("diff",): [str(w.base), str(w.hostile)],
        ("release",): ["--out", out, "--previous", str(w.base)],
        ("report",): ["--out", out],
        ("db", "backup"): [out + ".db"],
        ("db", "grant-readonly"): ["--print-sql"],
    }.get(path, [])
    return [*path, *given, *(["--format", fmt] if fmt else [])]
