"""Engines for a database URL, with the one SQLite connect hook that sets the PRAGMAs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 5000


def sqlite_pragmas(dbapi_connection: Any) -> None:
    """PRAGMAs every kzdiplo SQLite connection runs: foreign keys on, a bounded busy wait."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An SQLAlchemy engine; SQLite connections get :func:`sqlite_pragmas`, and every
    transaction starts with ``BEGIN IMMEDIATE``: a writer takes the write lock up front
    and a second writer waits (busy_timeout) instead of failing at its first write.

    JSON columns (aliases) are written as UTF-8 text, not ``\\u`` escapes: the search
    documents index the stored text, so ``Росатом`` must be stored as typed."""
    import json

    from sqlalchemy import create_engine, event

    kwargs.setdefault("json_serializer", lambda value: json.dumps(value, ensure_ascii=False))
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            sqlite_pragmas(dbapi_connection)

        @event.listens_for(engine, "begin")
        def _on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
