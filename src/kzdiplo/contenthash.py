"""The dataset's content hash: ``sha256`` of the canonical JSON of every record, the
same bytes for the same facts in any load order. A load stores it (migration 0015) so
that ``cite`` reads one row instead of hashing the whole dataset per call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import partial
from typing import IO, TYPE_CHECKING, Any

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


def _compact(value: Any) -> str:
    """The canonical JSON text of one value (the hash's serialisation)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=str)  # fmt: skip


def content_hash(document: dict[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical JSON of every record, source text included."""
    return "sha256:" + hashlib.sha256(_compact(canonical(document)).encode("utf-8")).hexdigest()


def streamed_hash(records: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """:func:`content_hash` of the document that ``records`` (section, record pairs,
    each section's records together, as ``export.sections`` yields them) make, without
    holding that document: each section's records are kept as their JSON text only
    until the section ends, sorted by key and written to a temporary file; the files
    are then hashed in the order of their section names. The same bytes are hashed as
    ``content_hash`` serialises in one piece (``{"name":[record,...],...}``)."""
    import tempfile
    from contextlib import ExitStack
    from itertools import chain

    with ExitStack() as stack:
        done: dict[str, IO[bytes]] = {}
        current: str | None = None
        texts: list[tuple[str, str]] = []
        for section, record in chain(records, [("", {})]):  # an end mark after the last
            if section != current:
                if current is not None:
                    done[current] = _spill(stack.enter_context(tempfile.TemporaryFile()),
                                           current, texts)  # fmt: skip
                if section in done:
                    raise ValueError(f"the records of {section} are not together")
                current, texts = section, []
            if section:
                texts.append((key_of(section, record), _compact(record)))
        digest = hashlib.sha256(b"{")
        for i, name in enumerate(sorted(done)):
            spilled = done[name]
            spilled.seek(0)
            digest.update(b"," if i else b"")
            while chunk := spilled.read(1 << 20):
                digest.update(chunk)
        digest.update(b"}")
        return "sha256:" + digest.hexdigest()


def _spill(spilled: IO[bytes], section: str, texts: list[tuple[str, str]]) -> IO[bytes]:
    """``"section":[record,...]`` (records in key order) written to ``spilled``."""
    texts.sort(key=lambda pair: pair[0])
    spilled.write(f"{_compact(section)}:[".encode())
    for i, (_, text) in enumerate(texts):
        spilled.write((("," if i else "") + text).encode("utf-8"))
    spilled.write(b"]")
    return spilled


def ordered_hash(records: Iterable[tuple[str, dict[str, Any]]]) -> str:
    """:func:`streamed_hash` of ``records`` that come in the canonical order (sections
    by name, each section's records by key, as ``export.canonical_sections`` reads
    them): each record is hashed as it comes and nothing is kept. The same bytes in the
    same order, so the same value; ValueError when a record comes out of that order."""
    digest = hashlib.sha256(b"{")
    section: str | None = None
    key = ""
    for name, record in records:
        now = key_of(name, record)
        if name != section:
            if section is not None and name <= section:
                raise ValueError(f"section {name} after {section}")
            digest.update(f"{'],' if section else ''}{_compact(name)}:[".encode())
            section = name
        elif now <= key:
            raise ValueError(f"{name}: {now!r} after {key!r}")
        else:
            digest.update(b",")
        digest.update(_compact(record).encode("utf-8"))
        key = now
    digest.update(b"]}" if section else b"}")
    return "sha256:" + digest.hexdigest()


def dataset_hash(reader: Reader) -> str:
    """The content hash computed from every record, read in key order a page at a time
    (time in proportion to the data, memory to a page). Should the database order keys
    otherwise than Python (a collation changed by hand), the records are hashed as
    :func:`streamed_hash` does, sorted in Python: the same value, more memory."""
    from kzdiplo.export import canonical_sections, sections

    try:
        return ordered_hash(canonical_sections(reader))
    except ValueError:
        return streamed_hash(sections(reader))


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
    computed from every record (:func:`dataset_hash`)."""
    return stored_hash(reader) or dataset_hash(reader)


def store_hash(conn: Connection) -> str:
    """Compute the content hash inside the caller's transaction (a load, once its rows
    are written) and keep it in derived_state, marked fresh."""
    from sqlalchemy import text

    from kzdiplo.reader import ConnectionReader

    value = dataset_hash(ConnectionReader(conn))
    conn.execute(
        text("UPDATE derived_state SET value = :value, stale = false WHERE name = :name"),
        {"value": value, "name": HASH_STATE},
    )
    return value
