"""Shell completion from the database: nouns, partner codes, sector words, slugs and
sort keys (``kzdiplo --install-completion`` sets it up).

A completion runs on every Tab press, so it reads the SQLite file with the stdlib driver
and never creates, migrates or seeds a database; anything it cannot read completes
nothing.
"""

# No ``from __future__ import annotations`` here: Typer reads each completion callback's
# annotations when it builds a command's options, and string annotations cost it an eval
# of each, twice (inspect.signature and get_type_hints), on every run.
import sqlite3

import typer


def _noun_tables() -> dict[str, str]:
    """Noun -> table. The registry is imported only when a Tab press asks: every command
    imports this module for its options' completion callbacks."""
    from kzdiplo.entities import ENTITIES

    return {**{e.name: e.table for e in ENTITIES.values()}, "source": "sources"}


def _column(ctx: typer.Context, sql: str) -> list[str]:
    """The first column of ``sql`` on the user's SQLite file ([] when there is none)."""
    from kzdiplo.config import resolve
    from kzdiplo.reader import connect_sqlite
    from kzdiplo.safetext import for_terminal

    root = ctx.find_root()
    target = resolve(root.params.get("db_path"))
    if target.path is None or not target.path.is_file():
        return []
    try:
        conn = connect_sqlite(target.path)
        try:
            values = [str(r[0]) for r in conn.execute(sql) if r[0] is not None]
        finally:
            conn.close()
    except sqlite3.Error:
        return []
    # A completion is typed into the user's shell: a key holding a control, bidi or
    # whitespace character (from a stranger's database) is offered nowhere.
    return [v for v in values if v == for_terminal(v) and not any(c.isspace() for c in v)]


def _starting(values: list[str], incomplete: str) -> list[str]:
    wanted = incomplete.casefold()
    return sorted({v for v in values if v.casefold().startswith(wanted)}, key=str.casefold)


def partners(ctx: typer.Context, incomplete: str) -> list[str]:
    """Country codes and organisation slugs."""
    sql = "SELECT code FROM countries UNION SELECT slug FROM organizations"
    return _starting(_column(ctx, sql), incomplete)


def sectors(ctx: typer.Context, incomplete: str) -> list[str]:
    return _starting(_column(ctx, "SELECT slug FROM sectors"), incomplete)


def stages(ctx: typer.Context, incomplete: str) -> list[str]:
    """The stages of the vocabulary (no database needed)."""
    from kzdiplo.vocab import STAGES

    return _starting(list(STAGES), incomplete)


def nouns(incomplete: str) -> list[str]:
    return _starting([*_noun_tables(), "partner"], incomplete)


def keys(ctx: typer.Context, incomplete: str) -> list[str]:
    """The slugs of the noun given before (partner codes for ``show partner``)."""
    noun = str(ctx.params.get("noun") or "").strip().lower().removesuffix("s")
    if noun == "partner":
        return partners(ctx, incomplete)
    table = _noun_tables().get(noun)
    return _starting(_column(ctx, f"SELECT slug FROM {table}"), incomplete) if table else []


def sort_keys(ctx: typer.Context, incomplete: str) -> list[str]:
    """The listing's sort keys, ascending and descending."""
    from kzdiplo.entities import BY_PLURAL

    noun = BY_PLURAL.get(ctx.info_name or "")
    found = [*noun.sorts, *(f"-{k}" for k in noun.sorts)] if noun else []
    return _starting(found, incomplete)
