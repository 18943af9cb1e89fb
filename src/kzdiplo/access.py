"""Opening the user's database for a command: find it, create the default one on first
use, refuse a mistyped path, and make sure its schema is the one this kzdiplo reads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kzdiplo.config import Target, redacted, resolve
from kzdiplo.errors import KzError, UsageError

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

from kzdiplo.reader import (
    HEAD,
    REVISIONS,
    Reader,
    SqliteReader,
    schema_revision,
    server_reader,
)


def note(message: str) -> None:
    """One line for the user on stderr (never mixed into the data on stdout), with no
    character that could drive the terminal."""
    from kzdiplo.safetext import for_terminal

    print(f"kzdiplo: {for_terminal(message)}", file=sys.stderr)


def create_database(target: Target) -> str:
    """Create (or bring up to date) and seed the database; returns the load summary."""
    from kzdiplo.db import make_engine
    from kzdiplo.migrate import upgrade
    from kzdiplo.seed import seed

    if target.path is not None:
        target.path.parent.mkdir(parents=True, exist_ok=True)
    upgrade(target.url)
    engine = make_engine(target.url)
    try:
        return seed(engine).summary()
    finally:
        engine.dispose()


def check_sqlite_file(path: Path) -> None:
    """Refuse a directory or a file that is not an SQLite database, before opening it."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if header and header != b"SQLite format 3\x00":
        raise UsageError(f"{path} is not an SQLite database")


def _hint(target: Target) -> str:
    return f"kzdiplo --db {target.path} " if target.path and not target.is_default else "kzdiplo "


def open_reader(db: str | None) -> Reader:
    """A read connection to the database the user chose, ready to query."""
    target = resolve(db)
    if target.is_sqlite and target.path is not None:
        if not target.path.exists():
            if not target.is_default:
                raise UsageError(
                    f"no database at {target.path} (to create one: "
                    f"kzdiplo --db {target.path} db init)"
                )
            note(f"creating the database at {target.path} (first use)...")
            note(f"seeded: {create_database(target)}")
        check_sqlite_file(target.path)
        reader: Reader = SqliteReader(target.path)
    else:
        try:
            reader = server_reader(target.url)
        except Exception as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UsageError(f"cannot open {redacted(target.url)!r}: {detail}") from None
    try:
        revision = schema_revision(reader)
    except KzError:
        reader.close()
        raise
    if revision == HEAD:
        return reader
    reader.close()
    if revision is None and not target.is_default:
        raise KzError(f"the database has no kzdiplo schema yet: run {_hint(target)}db init")
    if revision is not None and revision not in REVISIONS:
        raise KzError(
            f"the database is at schema revision {revision}, unknown to this kzdiplo "
            f"(head {HEAD}): is it from a newer version?"
        )
    if target.is_default:
        note(f"upgrading the database schema from {revision} to {HEAD}...")
        create_database(target)
        return open_reader(db)
    raise KzError(
        f"the database schema is at revision {revision}, this kzdiplo needs {HEAD}: "
        f"run {_hint(target)}db upgrade"
    )


@contextmanager
def writing(db: str | None) -> Iterator[Engine]:
    """An engine for writing to the user's database, once it has passed the same checks
    as a read (it exists, is kzdiplo's and is up to date)."""
    from kzdiplo.db import make_engine

    open_reader(db).close()
    engine = make_engine(resolve(db).url)
    try:
        yield engine
    finally:
        engine.dispose()
