"""Opening and writing files safely: one place for SQLite URIs and for atomic writes.

Every SQLite path opened as a URI goes through :func:`sqlite_uri` (an unencoded ``#`` or
``?`` silently opens another file). Every file kzdiplo writes goes through
:func:`atomic_file` or :func:`atomic_path`: a uniquely named temporary file in the target's
folder, flushed and fsynced, then moved into place with ``os.replace``, so a failed write
leaves the previous file as it was and no temporary file behind. Neither ever writes on or
through the database or its ``-wal``, ``-shm`` and ``-journal`` files.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from kzdiplo.errors import UsageError

DATABASE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_uri(path: Path | str, mode: str = "ro") -> str:
    """``file:`` URI for ``path`` with every special character percent-encoded."""
    absolute = os.path.abspath(os.fspath(path))
    return f"file:{quote(absolute, safe='/')}?mode={mode}"


def sqlite_read_uri(path: Path | str) -> str:
    """A read-only URI for ``path``. In a folder this process cannot write, with no
    ``-wal``/``-shm`` beside the file, SQLite cannot create the WAL index a read needs:
    the file is opened ``immutable`` (no writer can exist there either, as a WAL writer
    must create those files in the same folder)."""
    absolute = os.path.abspath(os.fspath(path))
    uri = sqlite_uri(absolute, "ro")
    folder = os.path.dirname(absolute)
    if not os.access(folder, os.W_OK) and not any(
        os.path.exists(absolute + suffix) for suffix in ("-wal", "-shm")
    ):
        uri += "&immutable=1"
    return uri


def _same(first: str, second: str) -> bool:
    if os.path.realpath(first) == os.path.realpath(second):
        return True
    try:
        return os.path.samefile(first, second)
    except OSError:
        return False


def refuse_database(target: Path, database: Path | None) -> None:
    """Raise UsageError when ``target`` is, or leads through a link to, the database or
    one of its companion files (``-wal``, ``-shm``, ``-journal``)."""
    if database is None:
        return
    for suffix in DATABASE_SUFFIXES:
        companion = os.fspath(database) + suffix
        if _same(os.fspath(target), companion):
            what = f"database's {suffix} file" if suffix else "database"
            raise UsageError(f"{target} is the {what} being read: choose another destination")


def _temporary(target: Path) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f".{target.name[:80]}.", suffix=".tmp", dir=target.parent)


def _mode_for(target: Path) -> int:
    """The permissions the file gets: those of the file it replaces, else 0666 less the
    umask (what open() would give a new file)."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(
    target: Path, database: Path | None = None, *, mode: str = "w", **open_args: Any
) -> Iterator[IO[Any]]:
    """An open temporary file that becomes ``target`` when the block ends without error."""
    with atomic_path(target, database) as temporary, open(temporary, mode, **open_args) as f:
        yield f
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def atomic_path(target: Path, database: Path | None = None) -> Iterator[Path]:
    """A fresh temporary path beside ``target`` for a writer that needs a name (SQLite's
    backup API); fsynced and moved onto ``target`` when the block ends without error,
    removed (with any SQLite companions) otherwise."""
    refuse_database(target, database)
    try:
        fd, name = _temporary(target)
    except OSError as exc:
        raise UsageError(f"cannot write in {target.parent}: {exc.strerror}") from None
    try:
        os.fchmod(fd, _mode_for(target))  # mkstemp makes 0600; a written file is ordinary
    finally:
        os.close(fd)
    temporary = Path(name)
    try:
        yield temporary
        with open(temporary, "rb+") as f:
            os.fsync(f.fileno())
        refuse_database(target, database)  # still not the database, just before the move
        os.replace(temporary, target)
        _fsync_folder(target.parent)
    finally:
        for suffix in DATABASE_SUFFIXES:
            Path(name + suffix).unlink(missing_ok=True)
