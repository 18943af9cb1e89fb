"""Where the database is: the ``--db`` flag, ``KZDIPLO_DATABASE_URL``, or the default file.

Nothing here touches the disk at import time.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

ENV_URL = "KZDIPLO_DATABASE_URL"


def default_db_path() -> Path:
    """The default SQLite file in the user's data directory."""
    from platformdirs import user_data_path

    return user_data_path("kzdiplo", appauthor=False) / "kzdiplo.db"


class Target(NamedTuple):
    """A database the user asked for."""

    url: str
    path: Path | None  # the SQLite file, when the URL names one
    is_default: bool  # the platformdirs default, created on first use

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")


def sqlite_url(path: Path) -> str:
    """An SQLAlchemy URL for the file ``path``; percent-encoded, since SQLAlchemy decodes
    the database part and would take ``?`` for the start of the query and ``#`` away."""
    from urllib.parse import quote

    return f"sqlite:///{quote(os.fspath(path), safe='/')}"


def sqlite_path_of(url: str) -> Path | None:
    """The file an ``sqlite:///...`` URL names (None for memory or other backends)."""
    if not url.startswith("sqlite"):
        return None
    _, _, rest = url.partition(":///")
    rest = rest.split("?", 1)[0]
    if not rest or rest == ":memory:":
        return None
    from urllib.parse import unquote

    return Path(unquote(rest))


def resolve(db: str | os.PathLike[str] | None = None) -> Target:
    """The database to use: an explicit path wins, then the environment, then the default."""
    if db is not None:
        path = Path(db).expanduser()
        return Target(sqlite_url(path), path, is_default=False)
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return Target(url, sqlite_path_of(url), is_default=False)
    path = default_db_path()
    return Target(sqlite_url(path), path, is_default=True)


def redacted(url: str) -> str:
    """``url`` with its password, if any, as ``***`` (for messages)."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"
