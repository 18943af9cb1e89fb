"""The dataset's content hash: ``sha256`` of the canonical JSON of every record, the
same bytes for the same facts in any load order. A load stores it (migration 0015) so
that ``cite`` reads one row instead of hashing the whole dataset per call."""

from __future__ import annotations

import hashlib
import json
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from kzdiplo.reader import Reader

KEYS = {"countries": "code"}  # each section's key, where it is not the slug


def key_of(section: str, record: dict[str, Any]) -> str:
    return str(record[KEYS.get(section, "slug")])


def canonical(document: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The document with each section's records in key order: the same facts give the
    same bytes whatever order they were loaded in."""
    return {
        section: sorted(records, key=partial(key_of, section))
        for section, records in sorted(document.items())
    }


def content_hash(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of every record, source text included."""
    text = json.dumps(canonical(document), ensure_ascii=False, sort_keys=True,
                      separators=(",", ":"), default=str)  # fmt: skip
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


HASH_STATE = "content_hash"  # its row in derived_state (migration 0015)


def stored_hash(reader: Reader) -> str | None:
    """The content hash the last load or seed stored, while no write has touched the
    data since (triggers mark it stale); None otherwise."""
    rows = reader.rows(
        "SELECT value FROM derived_state WHERE name = :name AND NOT stale", {"name": HASH_STATE}
    )
    return rows[0]["value"] if rows and rows[0]["value"] else None


def current_hash(reader: Reader) -> str:
    """The database's content hash: the stored one when fresh (a read of one row), else
    computed from every record (as_document: time and memory in proportion to the data)."""
    from kzdiplo.export import as_document

    return stored_hash(reader) or content_hash(as_document(reader))


def store_hash(conn: Connection) -> str:
    """Compute the content hash inside the caller's transaction (a load, once its rows
    are written) and keep it in derived_state, marked fresh."""
    from sqlalchemy import text

    from kzdiplo.export import as_document
    from kzdiplo.reader import ConnectionReader

    value = content_hash(as_document(ConnectionReader(conn)))
    conn.execute(
        text("UPDATE derived_state SET value = :value, stale = false WHERE name = :name"),
        {"value": value, "name": HASH_STATE},
    )
    return value
