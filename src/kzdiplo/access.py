"""Opening the user's database for a command: find it, create the default one on first
use, refuse a mistyped path, and make sure its schema is the one this kzdiplo reads."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kzdiplo.config import Target, redacted, resolve, scheme_of, scrub
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
    from kzdiplo.safetext import say

    say(f"kzdiplo: {scrub(message)}", sys.stderr)


def create_database(target: Target) -> str:
    """Create (or bring up to date) and seed the database; returns the load summary.

    A new SQLite file is built under a temporary name beside it and appears under its
    own name only once migrated and seeded: a run killed half-way leaves no database
    (perhaps a hidden ``.*.tmp`` file), never an empty one that looks complete."""
    if target.path is not None and not target.path.exists():
        return _create_sqlite_file(target.path)
    return _migrate_and_seed(target.url)


def _migrate_and_seed(url: str) -> str:
    from kzdiplo.db import make_engine
    from kzdiplo.migrate import upgrade
    from kzdiplo.seed import seed

    upgrade(url)
    engine = make_engine(url)
    try:
        return seed(engine).summary()
    finally:
        engine.dispose()


FIRST_USE_WAIT_SECONDS = 120  # for another run building the same new database


def _create_sqlite_file(path: Path) -> str:
    """Build a new database file at ``path``, one run at a time: two first uses at once
    both found no file and both built one, and the second then refused the file the
    first had moved into place. A lock file beside it (``.NAME.lock``, flock) lets one
    build while the other waits; the waiter then finds the database complete."""
    import fcntl
    import os
    import time

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise UsageError(f"cannot create {path.parent}: {exc.strerror}") from None
    try:
        waited_until = time.monotonic() + FIRST_USE_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > waited_until:
                    raise KzError(
                        f"another kzdiplo has been creating {path} for over "
                        f"{FIRST_USE_WAIT_SECONDS} s; try again when it is done"
                    ) from None
                time.sleep(0.1)
        if path.exists():  # built by the run that held the lock
            return "the database was created by another kzdiplo run at the same time"
        summary = _build_sqlite_file(path)
        # Remove the lock file only now, still holding it: a run that opened it before
        # finds the database once it gets the lock, and a later run never needs it.
        (path.parent / f".{path.name}.lock").unlink(missing_ok=True)
        return summary
    finally:
        os.close(fd)


def _build_sqlite_file(path: Path) -> str:
    import os

    from kzdiplo.config import sqlite_url
    from kzdiplo.files import atomic_path

    with atomic_path(path) as temporary:
        summary = _migrate_and_seed(sqlite_url(temporary))
        for suffix in ("-wal", "-shm"):  # the last connection closed folds the WAL in
            if os.path.exists(f"{temporary}{suffix}"):
                raise KzError(f"the new database left {temporary}{suffix} behind; not moved")
        if path.exists():
            raise UsageError(f"{path} appeared while the database was being built; kept it")
    return summary


def check_sqlite_file(path: Path, *, empty_ok: bool = False) -> None:
    """Refuse a directory, an empty file (unless ``empty_ok``: db init fills it) or a file
    that is not an SQLite database, before opening it."""
    if path.is_dir():
        raise UsageError(f"{path} is a directory, not a database file")
    try:
        with path.open("rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if not header and not empty_ok:
        raise UsageError(
            f"{path} is an empty file (0 bytes), not a database (to create one there: "
            f"kzdiplo --db {path} db init)"
        )
    if header and header != b"SQLite format 3\x00":
        raise UsageError(f"{path} is not an SQLite database")


SUPPORTED_SCHEMES = ("sqlite", "postgresql")


def check_backend(target: Target) -> None:
    """Refuse a URL of a backend kzdiplo does not support, in one line."""
    scheme = scheme_of(target.url)
    if scheme not in SUPPORTED_SCHEMES:
        named = scheme and scheme.isalnum() and len(scheme) < 20
        what = f"the {scheme} backend" if named else "a URL without a known backend"
        raise UsageError(
            f"KZDIPLO_DATABASE_URL: {what} is not supported (use sqlite:///FILE "
            "or postgresql+psycopg://USER@HOST/DB)"
        )


def newer_schema(revision: str) -> UsageError:
    return UsageError(
        f"the database is at schema revision {revision}, newer than this kzdiplo knows "
        f"(up to {HEAD}): it was made by a newer kzdiplo; upgrade kzdiplo to use it"
    )


def no_revision(target: Target) -> UsageError:
    where = target.path or redacted(target.url)
    return UsageError(
        f"{where} has tables but no schema revision (alembic_version is empty): it may be "
        "half-created; restore a backup, or move it away and run kzdiplo db init"
    )


def _hint(target: Target) -> str:
    return f"kzdiplo --db {target.path} " if target.path and not target.is_default else "kzdiplo "


def open_server(url: str) -> Reader:
    """A read connection to a database server, for ``KZDIPLO_DATABASE_URL`` and for a URL
    given as an argument (``diff``, ``release --previous``) alike: a failure is one line
    with the URL and the driver's message masked (config.scrub)."""
    try:
        return server_reader(url)
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UsageError(f"cannot open {redacted(url)!r}: {scrub(detail, url)}") from None


def open_reader(db: str | None) -> Reader:
    """A read connection to the database the user chose, ready to query."""
    target = resolve(db)
    check_backend(target)
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
        reader = open_server(target.url)
    try:
        revision = schema_revision(reader)
    except KzError:
        reader.close()
        raise
    if revision == HEAD:
        return reader
    reader.close()
    if revision is None:
        raise no_revision(target)
    if revision not in REVISIONS:
        raise newer_schema(revision)
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
