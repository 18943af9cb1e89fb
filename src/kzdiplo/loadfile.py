"""One bounded reader for every load format: YAML, JSON and NDJSON.

A load file comes from anyone, so before any of it is believed it is held to the same
limits whatever its format: a regular file, of at most MAX_FILE_BYTES when it is parsed
whole (YAML), and of any size when it is read a record at a time (NDJSON and JSON) but
with no record over MAX_RECORD (bytes of an NDJSON line, characters of a JSON record);
no string longer than MAX_STRING characters, nothing nested deeper than MAX_DEPTH, no
duplicate keys, and (YAML) no more than MAX_NODES values once aliases are expanded. A
file over a limit is refused in one line that names it, and the line (NDJSON) or the
record where the format says where.

The reader hands out records one at a time (:func:`records`), in file order, each with
its section and where it was: NDJSON is read a line at a time; JSON is read 256 kB at a
time, scanned for its sections and each record parsed on its own with the ``json``
module (never through YAML), so neither the whole text nor a tree of it is ever held
(the loader writes records as they come, so a load's memory does not grow with the
file); YAML is parsed whole. Most records are
cleared of the string and depth limits at a glance (their length and bracket count).
No command loads CSV: a ``.csv`` file is refused with a line that says which formats
are read.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

MAX_FILE_BYTES = 20_000_000  # a file parsed whole: YAML, and JSON read by diff and release
# One record of a file read a record at a time (an NDJSON line, in bytes; a JSON record,
# in characters): room for a source's longest text (MAX_STRING characters, each up to
# six bytes once escaped) and its fields. The file itself has no limit: the load holds
# one batch of records at a time, whatever the file's size.
MAX_RECORD = 32_000_000
READ_CHUNK = 1 << 18  # bytes read at a time from a JSON file or standard input
MAX_STRING = 5_000_000  # characters of one string value (the longest source text: ~60 kB)
MAX_DEPTH = 50  # nesting of collections (the format needs about 6)
MAX_NODES = 2_000_000  # YAML values once aliases are expanded (the seeds have ~20,000)
MAX_SHOWN = 120  # characters of a parser's own message quoted in ours

FORMATS = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".ndjson": "ndjson",
           ".jsonl": "ndjson"}  # fmt: skip


class LoadFileError(ValueError):
    """A load file the reader refuses; the message is one line naming the file."""


@dataclass(frozen=True)
class Entry:
    """One record of a load file: its section, its position in that section, the raw
    value, and where it was (``line 12`` for NDJSON, else empty)."""

    section: str
    index: int
    record: Any
    where: str = ""


def _clip(text: str, limit: int = MAX_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _too_large(path: Path, limit: int = MAX_FILE_BYTES) -> LoadFileError:
    return LoadFileError(f"{path}: larger than {limit:,} bytes (the limit)")


def open_bounded(path: Path, limit: int | None = MAX_FILE_BYTES) -> IO[bytes]:
    """``path`` opened for reading once it is shown to be a regular file of at most
    ``limit`` bytes (None: any size; a FIFO, a device or a folder would be read without
    end). Opened
    without blocking, so that a FIFO is refused rather than waited on, and checked with
    ``fstat`` on what was opened, not on whatever the name points to later."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise LoadFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise LoadFileError(f"{path}: not a regular file")
    if limit is not None and info.st_size > limit:
        os.close(fd)
        raise _too_large(path, limit)
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The whole of ``path`` as UTF-8 text, within ``limit`` bytes even if it grows."""
    with open_bounded(path, limit) as f:
        # Its size first (a read of limit + 1 bytes sets that much memory aside), then
        # whatever it grew by since, a megabyte at a time, up to the limit.
        raw = f.read(min(os.fstat(f.fileno()).st_size, limit) + 1)
        while len(raw) <= limit and (more := f.read(min(1 << 20, limit + 1 - len(raw)))):
            raw += more
    if len(raw) > limit:
        raise _too_large(path, limit)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LoadFileError(f"{path}: not UTF-8 text") from None


STDIN = "-"  # the file name that means standard input (``kzdiplo load -``)


def spool_stdin(stream: IO[bytes], folder: Path) -> Path:
    """Standard input copied into ``folder``, 256 kB at a time, under a name whose
    suffix is its format, so that it is read like any load file: NDJSON when its first
    line is a ``{"section": ..., "record": ...}`` object, JSON when it starts with
    ``{``, else YAML (at most MAX_FILE_BYTES, the limit of a file parsed whole). A
    ``text_file`` in it finds nothing in the private folder."""
    head = _first_line(stream)
    suffix = _format_of_start(head)
    limit = MAX_FILE_BYTES if suffix == ".yaml" else None
    path = folder / f"stdin{suffix}"
    with path.open("wb") as out:
        size, chunk = 0, head
        while chunk:
            size += len(chunk)
            if limit is not None and size > limit:
                raise LoadFileError(f"{STDIN}: larger than {limit:,} bytes (the limit)")
            out.write(chunk)
            chunk = stream.read(READ_CHUNK)
    return path


def _first_line(stream: IO[bytes]) -> bytes:
    """The start of ``stream``: read until its first line that is not blank is whole,
    or MAX_RECORD bytes (a longer line is no NDJSON record)."""
    head = b""
    while len(head) <= MAX_RECORD and b"\n" not in head.lstrip():
        chunk = stream.read(READ_CHUNK)
        if not chunk:
            break
        head += chunk
    return head


def _format_of_start(head: bytes) -> str:
    """The suffix of the format whose start ``head`` is (see :func:`spool_stdin`)."""
    start = head.lstrip()
    if not start.startswith(b"{"):
        return ".yaml"
    first = start.split(b"\n", 1)[0]
    if len(first) > MAX_RECORD:
        return ".json"
    try:
        line = json.loads(first)
    except ValueError:
        return ".json"
    return ".ndjson" if isinstance(line, dict) and set(line) == {"section", "record"} else ".json"


def check_value(value: Any, depth: int = 0) -> str | None:
    """Why ``value`` (parsed JSON or YAML, ``depth`` deep in its document) is over a
    limit, with the path to the offending part, or None. Walks without recursion, so
    depth cannot overflow it."""
    stack: list[tuple[Any, int, str]] = [(value, depth, "")]
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                return f"{where or 'a value'}: longer than {MAX_STRING:,} characters"
        elif isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                return f"{where or 'the document'}: nested deeper than {MAX_DEPTH} levels"
            pairs = item.items() if isinstance(item, dict) else enumerate(item)
            for key, child in pairs:
                if isinstance(key, str) and len(key) > MAX_STRING:
                    return f"{where or 'a key'}: a key longer than {MAX_STRING:,} characters"
                label = f"{where}[{key}]" if isinstance(item, list) else f"{where}.{key}"
                stack.append((child, depth + 1, _clip(label.lstrip("."), 200)))
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)  # built in C; a key given twice makes it shorter than pairs
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise LoadFileError(f"duplicate key {_clip(repr(key), 60)}")
            seen.add(key)
    return result


def _within_limits_at_a_glance(text: str, start: int, end: int, depth: int) -> bool:
    """True when ``text[start:end]``, parsed, cannot cross a limit, found with two
    C-speed counts instead of a walk of every value: no string in it can be longer than
    the span, and nothing can nest deeper than its brackets and braces (those inside
    strings count too: only an over-count, which sends the value to the full walk).
    ``depth`` is how deep the value sits in its document."""
    return end - start <= MAX_STRING and (
        text.count("[", start, end) + text.count("{", start, end) + depth <= MAX_DEPTH
    )


_DECODER = json.JSONDecoder(object_pairs_hook=_no_duplicates)


def _invalid(exc: json.JSONDecodeError) -> LoadFileError:
    return LoadFileError(f"invalid JSON (line {exc.lineno}, column {exc.colno}): {_clip(exc.msg)}")


def parse_json(text: str) -> Any:
    """JSON text as Python values; duplicate keys and deep nesting refused
    (LoadFileError without the file name: the caller adds it)."""
    try:
        value = _DECODER.decode(text)  # one decoder: json.loads makes one per call
    except json.JSONDecodeError as exc:
        raise _invalid(exc) from None
    except RecursionError:
        raise LoadFileError(f"nested deeper than {MAX_DEPTH} levels") from None
    _check_limits(value, text, 0, len(text), 0)
    return value


def _check_limits(value: Any, text: str, start: int, end: int, depth: int) -> None:
    """Refuse ``value`` (parsed from ``text[start:end]``, ``depth`` deep in its
    document) when it crosses a limit; most values are cleared at a glance."""
    if _within_limits_at_a_glance(text, start, end, depth):
        return
    problem = check_value(value, depth)
    if problem:
        raise LoadFileError(f"refused: {problem}")


def _yaml_loader() -> type:
    """PyYAML's safe loader (the C one when built) that refuses duplicate keys and reads
    dates as text, so that a bad date is reported by the field that holds it."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader when built

    class BoundedLoader(base):  # type: ignore[misc]  # a base picked at run time is Any
        yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, Any]]]] = {
            first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(":timestamp")]
            for first, resolvers in base.yaml_implicit_resolvers.items()
        }

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    duplicate = key in seen
                    seen.add(key)
                except TypeError:
                    continue  # an unhashable key: the base class reports it
                if duplicate:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {_clip(repr(key), 60)}", key_node.start_mark
                    )
            return super().construct_mapping(node, deep=deep)

    return BoundedLoader


def _check_yaml_shape(text: str, loader: type) -> None:
    """Refuse YAML that would be huge once read: deep nesting, long scalars, and aliases
    that expand (a few hundred bytes of nested aliases make billions of nodes)."""
    import yaml

    sizes: dict[str | None, int] = {}  # anchor -> nodes in what it names, expanded
    starts: list[tuple[str | None, int]] = []  # open collections: (anchor, count at start)
    count = 0
    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, yaml.AliasEvent):
            count += sizes.get(event.anchor, 1)
        elif isinstance(event, yaml.ScalarEvent):
            count += 1
            if len(event.value) > MAX_STRING:
                raise LoadFileError(f"refused: a value longer than {MAX_STRING:,} characters")
            if event.anchor:
                sizes[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            count += 1
            starts.append((event.anchor, count))
            if len(starts) > MAX_DEPTH:
                raise LoadFileError(f"refused: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, start = starts.pop()
            if anchor:
                sizes[anchor] = count - start + 1
        if count > MAX_NODES:
            raise LoadFileError(
                f"refused: more than {MAX_NODES:,} values once its aliases are expanded"
            )


def parse_yaml(text: str) -> Any:
    """YAML text as Python values, within the limits (LoadFileError without the file
    name: the caller adds it)."""
    import yaml

    loader = _yaml_loader()
    try:
        _check_yaml_shape(text, loader)
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise LoadFileError(f"invalid YAML{where}: {_clip(str(problem))}") from None


def format_of(path: Path) -> str:
    """``yaml``, ``json`` or ``ndjson`` by the file's suffix (YAML when it has none)."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        raise LoadFileError(f"{path}: CSV is not a load format (YAML, JSON or NDJSON)")
    return FORMATS.get(suffix, "yaml")


def read_yaml_document(path: Path) -> Any:
    """A whole YAML load file, parsed within the limits."""
    text = read_text(path)
    try:
        return parse_yaml(text)
    except LoadFileError as exc:
        raise LoadFileError(f"{path}: {exc}") from None


def parse_json_document(path: Path, text: str) -> Any:
    """The JSON ``text`` of ``path`` parsed whole, within the limits."""
    try:
        return parse_json(text)
    except LoadFileError as exc:
        raise LoadFileError(f"{path}: {exc}") from None


def _unknown_section(section: Any, known: Collection[str]) -> str:
    return f"unknown section {_clip(repr(section), 60)} (known: {', '.join(known)})"


def _known(path: Path, section: Any, known: Collection[str], where: str = "") -> str:
    if section not in known:
        at = f" {where}:" if where else ""
        raise LoadFileError(f"{path}:{at} {_unknown_section(section, known)}")
    return str(section)


def _sections(path: Path, document: Any, known: Collection[str]) -> Iterator[Entry]:
    if document is None:
        return
    if not isinstance(document, dict):
        raise LoadFileError(f"{path}: expected a mapping of sections ({', '.join(known)})")
    for section, records in document.items():
        _known(path, section, known)
        if not isinstance(records, list):
            raise LoadFileError(f"{path}: {_clip(str(section), 60)}: expected a list of records")
        for index, record in enumerate(records):
            yield Entry(str(section), index, record)


def _ndjson(path: Path, known: Collection[str]) -> Iterator[Entry]:
    """One ``{"section": ..., "record": ...}`` object a line (``kzdiplo export -f
    ndjson``), read a line at a time, each line within MAX_RECORD bytes."""
    counts: dict[str, int] = {}
    with open_bounded(path, None) as f:
        number = 0
        while raw := f.readline(MAX_RECORD + 1):
            number += 1
            if len(raw) > MAX_RECORD:
                raise LoadFileError(
                    f"{path}: line {number}: longer than {MAX_RECORD:,} bytes "
                    "(the limit for one record)"
                )
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise LoadFileError(f"{path}: line {number}: not UTF-8 text") from None
            if not line.strip():
                continue
            try:
                item = parse_json(line)
            except LoadFileError as exc:
                raise LoadFileError(f"{path}: line {number}: {exc}") from None
            if not isinstance(item, dict) or set(item) != {"section", "record"}:
                raise LoadFileError(
                    f'{path}: line {number}: expected {{"section": ..., "record": ...}}'
                )
            section = _known(path, item["section"], known, f"line {number}")
            index = counts.get(section, 0)
            counts[section] = index + 1
            yield Entry(section, index, item["record"], f"line {number}")


_SPACE = re.compile(r"[ \t\n\r]*")  # what JSON allows between tokens


class _JsonSections:
    """A JSON load file (``{"section": [record, ...], ...}``) read a record at a time:
    the file is read READ_CHUNK bytes at a time into a buffer that keeps only what is
    not parsed yet, scanned for the sections' names and brackets, and each record is
    parsed on its own (``raw_decode``) and checked at a glance. A record cut by the
    buffer's end is parsed again once more is read, up to MAX_RECORD characters, so
    neither the whole text nor a tree of it is ever held."""

    def __init__(self, stream: IO[bytes], known: Collection[str]) -> None:
        self.stream, self.known = stream, known
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text, self.pos, self.ended = "", 0, False
        self.lines, self.column = 0, 0  # lines and columns of the text already dropped

    def _more(self) -> bool:
        """Drop the parsed text, read the next chunk; False at the end of the file."""
        if self.ended:
            return False
        raw = self.stream.read(READ_CHUNK)
        try:
            chunk = self.decoder.decode(raw, final=not raw)
        except UnicodeDecodeError:
            raise LoadFileError("not UTF-8 text") from None
        if not raw:  # the end: the text stays where it is (an error may point into it)
            self.ended = True
            return False
        if (newlines := self.text.count("\n", 0, self.pos)) > 0:  # counted in place
            self.lines += newlines
            self.column = self.pos - self.text.rfind("\n", 0, self.pos) - 1
        else:
            self.column += self.pos
        self.text, self.pos = self.text[self.pos :] + chunk, 0
        return True

    def _invalid(self, exc: json.JSONDecodeError) -> LoadFileError:
        """A JSON error placed in the whole file (the buffer starts somewhere in it)."""
        column = exc.colno + (self.column if exc.lineno == 1 else 0)
        where = f"line {exc.lineno + self.lines}, column {column}"
        return LoadFileError(f"invalid JSON ({where}): {_clip(exc.msg)}")

    def _error(self, message: str) -> LoadFileError:
        return self._invalid(json.JSONDecodeError(message, self.text, self.pos))

    def _skip(self) -> str:
        """The next character that is not white space ('' at the end)."""
        while True:
            self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]  # * always matches
            if self.pos < len(self.text) or not self._more():
                return self.text[self.pos : self.pos + 1]

    def _value(self, depth: int) -> Any:
        """The next value, read whole: parsed again with more text while the buffer's
        end may have cut it (a number at the very end may go on, too)."""
        self._skip()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.pos)
            except json.JSONDecodeError as exc:
                if len(self.text) - self.pos > MAX_RECORD:
                    raise LoadFileError(
                        f"a record longer than {MAX_RECORD:,} characters (the limit for one "
                        f"record), or {self._invalid(exc)}"
                    ) from None
                if self._more():
                    continue
                raise self._invalid(exc) from None
            except RecursionError:
                raise LoadFileError(f"nested deeper than {MAX_DEPTH} levels") from None
            if end < len(self.text) or not self._more():
                break
        _check_limits(value, self.text, self.pos, end, depth)
        self.pos = end
        return value

    def _expect(self, allowed: str, what: str) -> str:
        char = self._skip()
        if not char or char not in allowed:
            raise self._error(f"Expecting {what}")
        self.pos += 1
        return char

    def entries(self) -> Iterator[Entry]:
        self._expect("{", "'{'")
        seen: set[str] = set()
        while self._skip() != "}":
            if seen:
                self._expect(",", "',' delimiter")
            if self._skip() != '"':
                raise self._error("Expecting property name enclosed in double quotes")
            section = self._value(1)
            if section in seen:
                raise LoadFileError(f"duplicate key {_clip(repr(section), 60)}")
            seen.add(section)
            if section not in self.known:
                raise LoadFileError(_unknown_section(section, self.known))
            self._expect(":", "':' delimiter")
            if self._skip() != "[":
                self._value(1)  # a JSON error first, else the shape's
                raise LoadFileError(f"{_clip(str(section), 60)}: expected a list of records")
            self.pos += 1
            index = 0
            while self._skip() != "]":
                if index:
                    self._expect(",", "',' delimiter")
                yield Entry(str(section), index, self._value(2))
                index += 1
            self.pos += 1
        self.pos += 1
        if self._skip():
            raise self._error("Extra data")


def _first_character(f: IO[bytes]) -> bytes:
    """The first byte of ``f`` that is not JSON white space (b"" for none)."""
    while piece := f.read(4096):
        if start := piece.lstrip(b" \t\n\r"):
            return start[:1]
    return b""


def _json_document(path: Path, known: Collection[str]) -> Iterator[Entry]:
    """The records of a JSON load file, a record at a time (:class:`_JsonSections`); a
    file that is not one object is parsed whole (within MAX_FILE_BYTES), so that its
    error is the one JSON gives."""
    with open_bounded(path, None) as f:
        if _first_character(f) != b"{":
            f.close()
            yield from _sections(path, parse_json_document(path, read_text(path)), known)
            return
        f.seek(0)
        try:
            yield from _JsonSections(f, known).entries()
        except LoadFileError as exc:  # its messages leave the file's name to us
            raise LoadFileError(f"{path}: {exc}") from None


def records(path: Path, known: Collection[str]) -> Iterator[Entry]:
    """Every record of the load file ``path``, in file order, within the limits; raises
    LoadFileError (one line naming the file) at the first limit crossed or at a section
    not in ``known``."""
    fmt = format_of(path)
    if fmt == "ndjson":
        yield from _ndjson(path, known)
    elif fmt == "json":
        yield from _json_document(path, known)
    else:
        yield from _sections(path, read_yaml_document(path), known)
