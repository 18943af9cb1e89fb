"""One bounded reader for every load format: YAML, JSON and NDJSON.

A load file comes from anyone, so before any of it is believed it is held to the same
limits whatever its format: a regular file of at most MAX_FILE_BYTES (YAML, parsed
whole) or MAX_STREAMED_BYTES (NDJSON and JSON, parsed a record at a time), no string
longer than MAX_STRING characters, nothing nested deeper than MAX_DEPTH, no duplicate
keys, and (YAML) no more than MAX_NODES values once aliases are expanded. A file over a
limit is refused in one line that names it, and the line (NDJSON) or the record where
the format says where.

The reader hands out records one at a time (:func:`records`), in file order, each with
its section and where it was: NDJSON is read a line at a time; JSON is scanned for its
sections and each record parsed on its own with the ``json`` module (never through
YAML), so no tree of the whole file is built; YAML is parsed whole. Most records are
cleared of the string and depth limits at a glance (their length and bracket count).
No command loads CSV: a ``.csv`` file is refused with a line that says which formats
are read.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

MAX_FILE_BYTES = 20_000_000  # a file parsed whole: YAML, and JSON read by diff and release
# A load file read a record at a time (NDJSON, and JSON through kzdiplo load): what stays
# in memory is each record once validated, about 5.6 kB per record (290 MB of peak for
# the 25 MB NDJSON export of 20,000 agreements), so this bounds a load near 700 MB.
MAX_STREAMED_BYTES = 64_000_000
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


def open_bounded(path: Path, limit: int = MAX_FILE_BYTES) -> IO[bytes]:
    """``path`` opened for reading once it is shown to be a regular file of at most
    ``limit`` bytes (a FIFO, a device or a folder would be read without end). Opened
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
    if info.st_size > limit:
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


def spool_stdin(stream: IO[bytes], folder: Path, limit: int = MAX_STREAMED_BYTES) -> Path:
    """Standard input copied into ``folder`` (at most ``limit`` bytes) under a name whose
    suffix is its format, so that it is read like any load file: NDJSON when its first
    line is a ``{"section": ..., "record": ...}`` object, JSON when it starts with
    ``{``, else YAML. A ``text_file`` in it finds nothing in the private folder."""
    raw = stream.read(limit + 1)
    if len(raw) > limit:
        raise LoadFileError(f"{STDIN}: larger than {limit:,} bytes (the limit)")
    first = raw.lstrip().split(b"\n", 1)[0]
    suffix = ".yaml"
    if first.startswith(b"{"):
        suffix = ".json"
        try:
            line = json.loads(first)
        except ValueError:
            line = None
        if isinstance(line, dict) and set(line) == {"section", "record"}:
            suffix = ".ndjson"
    path = folder / f"stdin{suffix}"
    path.write_bytes(raw)
    return path


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
    ndjson``), read a line at a time within the file limit."""
    counts: dict[str, int] = {}
    read = 0
    with open_bounded(path, MAX_STREAMED_BYTES) as f:
        for number, raw in enumerate(f, 1):
            read += len(raw)
            if read > MAX_STREAMED_BYTES:
                raise _too_large(path, MAX_STREAMED_BYTES)
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
    the text is scanned for the sections' names and brackets, and each record is
    parsed on its own (``raw_decode``) and checked at a glance, so that no tree of the
    whole file is ever built. Anything else (a file that is not one object) is parsed
    whole, as before, so that its error is the one JSON gives."""

    def __init__(self, text: str, known: Collection[str]) -> None:
        self.text, self.known, self.pos = text, known, 0

    def _skip(self) -> str:
        """The next character that is not white space ('' at the end)."""
        self.pos = _SPACE.match(self.text, self.pos).end()  # type: ignore[union-attr]  # * always matches
        return self.text[self.pos : self.pos + 1]

    def _value(self, depth: int) -> Any:
        self._skip()
        start = self.pos
        try:
            value, self.pos = _DECODER.raw_decode(self.text, start)
        except json.JSONDecodeError as exc:
            raise _invalid(exc) from None
        except RecursionError:
            raise LoadFileError(f"nested deeper than {MAX_DEPTH} levels") from None
        _check_limits(value, self.text, start, self.pos, depth)
        return value

    def _expect(self, allowed: str, what: str) -> str:
        char = self._skip()
        if not char or char not in allowed:
            raise _invalid(json.JSONDecodeError(f"Expecting {what}", self.text, self.pos))
        self.pos += 1
        return char

    def entries(self) -> Iterator[Entry]:
        self._expect("{", "'{'")
        seen: set[str] = set()
        while self._skip() != "}":
            if seen:
                self._expect(",", "',' delimiter")
            if self._skip() != '"':
                message = "Expecting property name enclosed in double quotes"
                raise _invalid(json.JSONDecodeError(message, self.text, self.pos))
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
            raise _invalid(json.JSONDecodeError("Extra data", self.text, self.pos))


def _json_document(path: Path, known: Collection[str]) -> Iterator[Entry]:
    """The records of a JSON load file, a record at a time (:class:`_JsonSections`)."""
    text = read_text(path, MAX_STREAMED_BYTES)
    if not text.lstrip(" \t\n\r").startswith("{"):
        yield from _sections(path, parse_json_document(path, text), known)
        return
    try:
        yield from _JsonSections(text, known).entries()
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
