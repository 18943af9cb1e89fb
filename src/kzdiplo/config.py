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


def scheme_of(url: str) -> str | None:
    """The backend a database URL names, lower-case, without its driver (``postgres`` and
    ``postgresql+psycopg`` are ``postgresql``); None when ``url`` is no URL (a path). The
    one reading of a URL's scheme, for the URL variables and URL arguments alike."""
    import re

    scheme, separator, _ = url.partition("://")
    if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return None
    backend = scheme.split("+", 1)[0].lower()
    return "postgresql" if backend == "postgres" else backend


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


READONLY_ENV = "KZDIPLO_READONLY_URL"


def _secrets(url: str) -> list[str]:
    """Every spelling of the password(s) in ``url``: the userinfo after the user name
    (raw and percent-decoded) and any ``password=`` query or key/value parameter."""
    import re
    from urllib.parse import unquote

    found: list[str] = []
    _, separator, rest = url.partition("://")
    credentials, at, _ = (rest if separator else url).rpartition("@")
    if at and ":" in credentials:
        password = credentials.split(":", 1)[1]
        found += [password, *password.split("@")]  # a parser may stop at the first @
    found += re.findall(r"password\s*=\s*([^&\s]+)", url, flags=re.IGNORECASE)
    found += [unquote(secret) for secret in found]
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def known_urls() -> list[str]:
    """Every URL this run was given: the kzdiplo URL variables and each command-line
    argument that looks like a URL or a connection string (``diff URL``, ``--previous
    URL``, ``--db URL``), so that no error line of any command shows their passwords."""
    import sys

    urls = [os.environ.get(name, "") for name in (ENV_URL, READONLY_ENV)]
    urls += [a for a in sys.argv[1:] if "://" in a or "password" in a.lower()]
    return [url for url in urls if url]


def scrub(text: str, *urls: str) -> str:
    """``text`` with every password of ``urls`` (by default :func:`known_urls`) and any
    ``scheme://user:password@`` userinfo replaced by ``***``, whatever the text is: a
    parser's error may quote the malformed URL it could not read (psycopg quotes a bad
    percent escape alone), and a path may have folded ``://`` into ``:/``."""
    import re

    for url in urls or known_urls():
        for secret in _secrets(url):
            text = text.replace(secret, "***")
    text = re.sub(r"([A-Za-z][\w+.-]*:/{1,2}[^:/@\s\"']*):[^\s\"']*@", r"\1:***@", text)
    return re.sub(r"(password\s*=\s*)[^&\s\"']+", r"\1***", text, flags=re.IGNORECASE)


def redacted(url: str) -> str:
    """``url`` with its password, if any, as ``***`` (for messages), even when the URL
    is malformed."""
    return scrub(url, url)
