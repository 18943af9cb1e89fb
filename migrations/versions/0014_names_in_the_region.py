"""Names as people in the region type them: events get aliases, and search folds Cyrillic
as it folds Latin.

- ``events.aliases``: the Russian and Kazakh names of the people and places in an
  event's title (``Тоқаев``, ``Токаев``, ``Мәскеу``). An event's search document gets
  them in its title part, as agreements, deposits and projects have had since 0002.
- Search documents (both backends) write ``ё`` as ``е``, as Russian print mostly does
  (``Соединённые`` is found as ``Соединенные``); the query is folded the same way
  (``kzdiplo.resolve.fold``). Other Cyrillic and Kazakh letters are letters of their own
  (``қ`` is not ``к``): the aliases carry both spellings (``Тоқаев``, ``Токаев``).
- PostgreSQL: its text search lowers case with the database's locale, and in the C
  locale only A-Z; nor does it drop Latin accents, which SQLite's tokenizer
  (``unicode61 remove_diacritics 2``) does. ``kzdiplo_fold(text)`` lowers Latin and
  Cyrillic letters and drops Latin accents with ``translate`` (no locale, no extension),
  the stored ``document`` is built through it, and the search folds the query's words
  the same way (``kzdiplo.resolve.postgres_fold``, so it also reads older schemas).
  SQLite's tokenizer already folds the case of Cyrillic.

The search documents are migration 0011's, rebuilt with 0011's own code (read through
Alembic's script directory) with the two changes above. The downgrade restores them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

YO = (("ё", "е"), ("Ё", "Е"))


def _fold_table() -> tuple[str, str]:
    """``translate``'s two lists: each upper-case Latin or Cyrillic letter beyond ASCII to
    its lower case, and each accented Latin letter to its bare lower-case letter."""
    source, target = [], []
    for code in [*range(0xC0, 0x250), *range(0x400, 0x530)]:
        char = chr(code)
        folded = char.lower()
        if code < 0x250:  # Latin: drop the combining marks, as unicode61 does
            bare = unicodedata.normalize("NFD", folded)
            folded = "".join(c for c in bare if not unicodedata.combining(c))
        if len(folded) == 1 and folded != char and unicodedata.category(char).startswith("L"):
            source.append(char)
            target.append(folded)
    return "".join(source), "".join(target)


FOLD_FUNCTION = """CREATE FUNCTION kzdiplo_fold(value text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE RETURNS NULL ON NULL INPUT
    AS $$ SELECT translate(lower(value), '{}', '{}') $$""".format(*_fold_table())


def _document_column(expression: str) -> None:
    """PostgreSQL: rebuild search_index.document (0006) from ``expression``."""
    op.execute("DROP INDEX IF EXISTS ix_search_index_document")
    op.execute("ALTER TABLE search_index DROP COLUMN document")
    op.execute(
        "ALTER TABLE search_index ADD COLUMN document tsvector NOT NULL "
        f"GENERATED ALWAYS AS (to_tsvector('english'::regconfig, {expression})) STORED"
    )
    op.execute("CREATE INDEX ix_search_index_document ON search_index USING gin (document)")


def _documents() -> ModuleType:
    """Migration 0011's module: the search documents, their view and SQLite triggers."""
    script = op.get_context().script
    assert script is not None, "migrations run through Alembic's script directory"
    module = script.get_revision("0011").module  # type: ignore[union-attr]
    assert isinstance(module, ModuleType)
    return module


def _without_yo(sql: str) -> str:
    for letter, plain in YO:
        sql = f"REPLACE({sql}, '{letter}', '{plain}')"
    return sql


@contextmanager
def _names_in_the_region(m: ModuleType) -> Iterator[None]:
    """0011's documents while inside: an event's aliases in its title, no ``ё``."""
    plain: Callable[[str, bool], list[tuple[Any, ...]]] = m._nouns

    def nouns(dialect: str, new: bool) -> list[tuple[Any, ...]]:
        out = []
        for number, noun, table, key, record_type, title, body in plain(dialect, new):
            if table == "events":
                fields = [m._field(c, dialect, new) for c in ("title", "aliases")]
                title = m._join(fields, new)
            out.append((number, noun, table, key, record_type, _without_yo(title),
                        _without_yo(body)))  # fmt: skip
        return out

    m._nouns = nouns
    try:
        yield
    finally:
        m._nouns = plain


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute("ALTER TABLE events ADD COLUMN aliases JSON DEFAULT '[]' NOT NULL")
    else:
        op.add_column(
            "events",
            sa.Column(
                "aliases", sa.JSON(), nullable=False, server_default="[]",
                comment="JSON list of the names in the title as people in the region write them",
            ),
        )  # fmt: skip
        op.execute(FOLD_FUNCTION)
        _document_column("kzdiplo_fold(title || ' ' || body)")
    m = _documents()
    with _names_in_the_region(m):
        m._search(True)


def downgrade() -> None:
    _documents()._search(True)  # 0011's documents (they never read events.aliases)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE events DROP COLUMN aliases")
    else:
        _document_column("title || ' ' || body")
        op.execute("DROP FUNCTION kzdiplo_fold(text)")
        op.drop_column("events", "aliases")
