"""The dataset as a citable thing: its name, its data version, and a hash of its content.

The data version is the version of the seed data, separate from the code version
(``kzdiplo.__version__``): a code release that changes no fact keeps it, a corrected
quote bumps it. The shipped seeds' version lives here, in one constant, because
``seeds/`` holds only data and the loader reads every file there; the project bumps it
(CalVer: year.month.serial) whenever the seed data changes. Someone who releases their
own data (the seeds plus their loads) names its version with ``kzdiplo release
--data-version``, which :func:`edition` checks; ``release`` stamps it on the package,
CITATION.cff and the CHANGELOG. The content hash pins the exact data whatever the version
says: two databases with the same facts have the same hash, whatever their row ids or
load history.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kzdiplo.contenthash import KEYS
from kzdiplo.errors import UsageError

if TYPE_CHECKING:  # types only: the reader is imported when a database is read
    from kzdiplo.reader import SqliteReader

NAME = "kzdiplo: a sourced database of Kazakhstan's 2025 diplomacy"
SHORT_NAME = "kzdiplo"
DATA_VERSION = "2026.12.2"
DATA_DATE = "2026-12-06"  # when the data of DATA_VERSION was fixed

# CalVer year.month.serial, without leading zeros: 2026.12.1, 2027.1.12
VERSION_FORMAT = re.compile(
    r"(?P<year>[1-9][0-9]{3})\.(?P<month>[1-9][0-9]?)\.(?P<serial>[1-9][0-9]*)"
)


@dataclass(frozen=True)
class Edition:
    """A data version and the day its data was fixed, as a release stamps them."""

    version: str
    date: str  # ISO 8601 day

    def order(self) -> tuple[int, int, int]:
        """The version as numbers, so 2026.12.2 sorts after 2026.9.10."""
        match = VERSION_FORMAT.fullmatch(self.version)
        assert match is not None  # every Edition is checked by edition() or shipped
        return int(match["year"]), int(match["month"]), int(match["serial"])


SHIPPED = Edition(DATA_VERSION, DATA_DATE)


def edition(version: str | None, today: dt.date | None = None) -> Edition:
    """The edition a release stamps: the shipped seeds' own, or ``version`` (from
    ``--data-version``) dated ``today`` (UTC by default). A version not in the CalVer
    form year.month.serial is bad input."""
    if version is None or version == DATA_VERSION:
        return SHIPPED
    match = VERSION_FORMAT.fullmatch(version)
    if match is None or not 1 <= int(match["month"]) <= 12:
        shown = version if len(version) <= 40 else version[:40] + "..."
        raise UsageError(
            f"--data-version {shown!r}: expected year.month.serial, such as "
            f"{next_version(SHIPPED.version)} (no leading zeros)"
        )
    day = today or dt.datetime.now(dt.UTC).date()
    return Edition(version, day.isoformat())


def next_version(version: str, today: dt.date | None = None) -> str:
    """The version that follows ``version``: the next serial in its month, or serial 1
    of the current month once the month has changed."""
    day = today or dt.datetime.now(dt.UTC).date()
    match = VERSION_FORMAT.fullmatch(version)
    if match and (int(match["year"]), int(match["month"])) >= (day.year, day.month):
        return f"{match['year']}.{match['month']}.{int(match['serial']) + 1}"
    return f"{day.year}.{day.month}.1"


# The stable key of each load-format section (everything else is keyed by slug).
SQLITE_MAGIC = b"SQLite format 3\x00"


def from_database(db: str, seconds: float | None = None) -> dict[str, Any]:
    """The load-format document of a database: an SQLite file, or a server URL (opened
    read-only and checked to be at this kzdiplo's schema, like ``--db``). An SQLite file
    may come from anyone (``diff`` and ``release --previous`` read other people's files),
    so it is read within ``kzdiplo sql``'s limits and, given ``seconds``, stops then."""
    from kzdiplo.access import open_reader, open_server
    from kzdiplo.config import redacted, scheme_of, sqlite_path_of
    from kzdiplo.export import as_document
    from kzdiplo.reader import HEAD, SqliteReader, schema_revision

    if scheme_of(db) == "sqlite":  # a file named as a URL: opened as the file
        db = str(sqlite_path_of(db) or db)
    if scheme_of(db) not in (None, "sqlite"):
        reader = open_server(db)
        if schema_revision(reader) != HEAD:
            reader.close()
            raise UsageError(f"{redacted(db)}: not a kzdiplo database at schema {HEAD}")
    else:
        reader = open_reader(db)
    try:
        if isinstance(reader, SqliteReader):
            return _read_guarded(reader, db, seconds)
        return as_document(reader)
    finally:
        reader.close()


def _read_guarded(reader: SqliteReader, db: str, seconds: float | None) -> dict[str, Any]:
    """as_document on an SQLite reader under sql's limits (a view of another's file can
    recurse without end or build huge values); a stop is one line naming the file."""
    import sqlite3
    import time

    from kzdiplo.adhoc import explain_error, limit_connection, stop_at
    from kzdiplo.errors import QueryTimeout
    from kzdiplo.export import as_document

    limit_connection(reader.conn)
    if seconds is not None:
        stop_at(reader.conn, time.monotonic() + seconds)
    try:
        return as_document(reader)
    except sqlite3.Error as exc:
        error = explain_error(exc)
        if isinstance(error, QueryTimeout):
            raise QueryTimeout(f"{db}: reading it stopped at the time limit (--timeout)") from None
        raise type(error)(f"{db}: {error}") from None


def load_document(where: str, seconds: float | None = None) -> dict[str, Any]:
    """The document behind ``where``: an SQLite file or database URL, a JSON export
    (``kzdiplo export --format json``), or a folder holding one (a release). A JSON file
    goes through the load files' bounded reader (size, depth and string limits)."""
    from kzdiplo.config import scheme_of
    from kzdiplo.loadfile import LoadFileError, parse_json, read_text
    from kzdiplo.records import SECTIONS

    if scheme_of(where) is not None:
        return from_database(where, seconds)
    path = Path(where)
    if path.is_dir():
        for candidate in (path / "kzdiplo.json", path / "data" / "kzdiplo.json"):
            if candidate.is_file():
                path = candidate
                break
        else:
            raise UsageError(f"{where}: a folder without kzdiplo.json (a release or JSON export)")
    if not path.is_file():
        raise UsageError(f"{where}: no such file")
    with path.open("rb") as f:
        head = f.read(len(SQLITE_MAGIC))
    if head == SQLITE_MAGIC:
        return from_database(str(path), seconds)
    try:
        text = read_text(path)
    except LoadFileError as exc:
        raise UsageError(str(exc)) from None
    try:
        document = parse_json(text)
    except LoadFileError as exc:
        raise UsageError(f"{where}: neither an SQLite database nor a JSON export: {exc}") from None
    if not isinstance(document, dict) or not set(document) <= set(SECTIONS):
        raise UsageError(f"{where}: not a kzdiplo JSON export (sections: {', '.join(SECTIONS)})")
    for section, records in document.items():
        if not isinstance(records, list) or not all(
            isinstance(r, dict) and KEYS.get(section, "slug") in r for r in records
        ):
            raise UsageError(f"{where}: section {section!r} is not a list of keyed records")
    return document
