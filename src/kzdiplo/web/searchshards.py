"""The report's search index, split into small files the page loads as it needs them.

A single index file grew with the dataset (18 MB at 20,000 agreements) and the browser
read all of it before the first result. Here the index is inverted and sharded:

* every word of a record (folded to lower case) is filed under its first two letters,
  its *key*; a key's words and the records holding them go into ``search/w-KEY.N.js``
  files of at most ``SHARD_POSTINGS`` (word, record) pairs each, so a file never holds
  more than that however large the dataset;
* each record is a number; ``search/d-M.js`` holds the title, kind, page and opening
  text of ``DOCS_PER_FILE`` records, for the results list;
* ``search-index.js`` holds only the keys and how many files each has (bounded by the
  alphabet, not by the records).

A query word's key names the files to load (a one-letter word loads every key that
starts with it); a record is a result when each query word starts one of its words.
The (word, record) pairs are gathered in a temporary SQLite file and read back sorted,
so the writer's memory does not grow with the records either.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable
from typing import Any

SHARD_POSTINGS = 5000  # (word, record) pairs in one search/w-*.js file, at most
DOCS_PER_FILE = 500  # records described in one search/d-*.js file
TEXT_CHARS = 300  # a record's text kept for the result's snippet
PREFIX = 2  # letters of a word that name its key
_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """The words of ``text`` as the page's script splits them: runs of letters and
    digits, lower case."""
    return _WORD.findall(text.lower())


def key_of(word: str) -> str:
    """The key a word is filed under: its first letters' code points in hex, so a file
    name is plain ASCII whatever the script ("tu" -> "74-75")."""
    return "-".join(f"{ord(c):x}" for c in word[:PREFIX])


def _script(call: str, *args: Any) -> str:
    body = ", ".join(json.dumps(a, ensure_ascii=False, separators=(",", ":")) for a in args)
    return f"KZDIPLO_SEARCH.{call}({body});\n"


class SearchShards:
    """Collects records as the report streams them and writes the shards through
    ``write(name, text)`` (the report's folder writer)."""

    def __init__(self, write: Callable[[str, str], None]) -> None:
        self.write = write
        self.count = 0  # records numbered so far
        self.docs: list[list[str]] = []  # the current d-*.js file's records
        self.pairs = sqlite3.connect("")  # a private temporary file, removed on close
        self.pairs.execute("PRAGMA journal_mode = OFF")
        self.pairs.execute("PRAGMA synchronous = OFF")
        self.pairs.execute("CREATE TABLE pair (word TEXT NOT NULL, doc INTEGER NOT NULL)")

    def add(self, title: str, noun: str, href: str, text: str) -> None:
        """One record: its words filed, its title and text kept for the results."""
        doc = self.count
        self.count += 1
        found = set(words(title + " " + text))
        self.pairs.executemany("INSERT INTO pair VALUES (?, ?)", ((w, doc) for w in found))
        self.docs.append([title, noun, href, text[:TEXT_CHARS]])
        if len(self.docs) == DOCS_PER_FILE:
            self._flush_docs()

    def _flush_docs(self) -> None:
        if self.docs:
            number = (self.count - 1) // DOCS_PER_FILE
            self.write(f"search/d-{number}.js", _script("docs", number, self.docs))
            self.docs = []

    def finish(self) -> dict[str, int]:
        """Write the word files and the last records' file; returns each key's number of
        word files (what ``search-index.js`` holds)."""
        self._flush_docs()
        parts: dict[str, int] = {}
        key, prefix, held = "", "", 0
        shard: dict[str, list[int]] = {}  # the file being filled: word -> records
        rows = self.pairs.execute("SELECT word, doc FROM pair ORDER BY word, doc")
        for word, doc in rows:
            if word[:PREFIX] != prefix or held == SHARD_POSTINGS:
                if shard:
                    self._write_shard(key, parts, shard)
                key, prefix, shard, held = key_of(word), word[:PREFIX], {}, 0
            shard.setdefault(word, []).append(doc)
            held += 1
        if shard:
            self._write_shard(key, parts, shard)
        self.pairs.close()
        return parts

    def _write_shard(self, key: str, parts: dict[str, int], shard: dict[str, list[int]]) -> None:
        number = parts.get(key, 0)
        parts[key] = number + 1
        self.write(f"search/w-{key}.{number}.js", _script("part", key, number, list(shard.items())))

    def close(self) -> None:
        self.pairs.close()


def keys_script(parts: dict[str, int]) -> str:
    """``search-index.js``: the keys, each with its number of word files, and how many
    records a d-*.js file holds."""
    return (
        f"window.KZDIPLO_SEARCH_KEYS = {json.dumps(parts, sort_keys=True)};\n"
        f"window.KZDIPLO_SEARCH_DOCS = {DOCS_PER_FILE};\n"
    )
