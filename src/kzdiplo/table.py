"""Box-drawn text tables for people: the ``table`` output format.

Written here rather than drawn with Rich, which the CLI used at first: importing Rich's
console and table cost about 25 ms on every run, and its table measured each cell through
several layers (about 0.7 ms a row), so a 50-row listing took 1.3 times as long as a
one-row listing (docs/benchmarks.md). This module does one job: plain-text cells, columns
as wide as their widest cell, wrapped columns narrowed until the table fits, key columns
(``no_wrap``) never broken so they can be copied whole.
"""

import os
import shutil
import unicodedata
from collections.abc import Collection, Sequence
from typing import TextIO

PIPE_WIDTH = 160  # a pipe or a file has no width: wide enough for most rows
MIN_WIDTH = 8  # a wrapped column keeps at least this, its longest word up to
MAX_FLOOR = 20  # this, or its widest cell if narrower
_ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
# Control characters from the data (a hostile `kzdiplo sql` result, say) must not reach
# the terminal as escape sequences: tabs become spaces, the rest a visible U+FFFD.
_CONTROLS = {c: "\ufffd" for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))}
_CONTROLS |= {ord("\t"): " ", ord("\n"): "\n"}


def text_width(text: str) -> int:
    """Terminal columns ``text`` takes: East Asian wide characters count two, combining
    marks and zero-width characters none."""
    if text.isascii():
        return len(text)
    return sum(_char_width(char) for char in text)


def _char_width(char: str) -> int:
    if char in _ZERO_WIDTH or unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _fold(word: str, width: int) -> tuple[str, str]:
    """Split ``word`` after at most ``width`` columns (at least one character), after
    its last hyphen there if it has one."""
    used = 0
    for i, char in enumerate(word):
        used += _char_width(char)
        if used > width:
            hyphen = word.rfind("-", 0, i)
            cut = hyphen + 1 if hyphen > 0 else max(i, 1)
            return word[:cut], word[cut:]
    return word, ""


def wrap(text: str, width: int) -> list[str]:
    """``text`` as lines of at most ``width`` columns: broken at spaces, and inside a
    word only when the word is longer than a line."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line, used = "", 0
        for word in paragraph.split():
            size = text_width(word)
            if line and used + 1 + size <= width:
                line, used = f"{line} {word}", used + 1 + size
                continue
            if line:
                lines.append(line)
            while size > width:
                head, word = _fold(word, width)
                lines.append(head)
                size = text_width(word)
            line, used = word, size
        lines.append(line)
    return lines


def column_widths(
    natural: Sequence[int], longest_word: Sequence[int], no_wrap: Sequence[bool], space: int
) -> list[int]:
    """Each column's width: its ``natural`` width when the table fits in ``space``
    columns of text; otherwise the wrapped columns share what the others leave in
    proportion to their natural widths, none narrower than its floor (MIN_WIDTH, or its
    longest word up to MAX_FLOOR); key columns keep their width even if the table then
    overflows."""
    if sum(natural) <= space:
        return list(natural)
    widths = list(natural)
    flexible = [i for i, fixed in enumerate(no_wrap) if not fixed]
    budget = space - sum(natural[i] for i, fixed in enumerate(no_wrap) if fixed)
    wanted = sum(natural[i] for i in flexible) or 1
    floors = {i: min(natural[i], max(MIN_WIDTH, min(longest_word[i], MAX_FLOOR))) for i in flexible}
    for i in flexible:
        widths[i] = max(floors[i], natural[i] * budget // wanted)
    for i in sorted(flexible, key=lambda i: natural[i] - widths[i]):  # rounding leftovers
        if sum(widths[j] for j in flexible) < budget and widths[i] < natural[i]:
            widths[i] += 1
    while sum(widths[i] for i in flexible) > budget:  # floors took too much: trim the widest
        widest = max(flexible, key=lambda i: widths[i] - floors[i])
        if widths[widest] <= floors[widest]:
            break
        widths[widest] -= 1
    return widths


def _pad(text: str, width: int) -> str:
    return text + " " * (width - text_width(text))


def output_width(out: TextIO) -> int:
    """The terminal's width (COLUMNS wins, as in every terminal program); 160 for a pipe
    or a file."""
    isatty = getattr(out, "isatty", None)
    if os.environ.get("COLUMNS") or (isatty is not None and isatty()):
        return shutil.get_terminal_size((PIPE_WIDTH, 24)).columns
    return PIPE_WIDTH


def _styled(out: TextIO) -> bool:
    isatty = getattr(out, "isatty", None)
    return (
        bool(isatty and isatty())
        and "NO_COLOR" not in os.environ
        and (os.environ.get("TERM") != "dumb")
    )


def write_table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    out: TextIO,
    title: str | None = None,
    no_wrap: Collection[str] = (),
) -> None:
    """Write ``rows`` under ``headers`` as a box-drawn table sized to ``out`` (a result
    without columns writes only its title)."""
    if not headers:
        out.write(f"{title}\n" if title else "")
        return
    headers = [h.translate(_CONTROLS) for h in headers]
    cells = [[str(c).translate(_CONTROLS) for c in row] for row in rows]
    fixed = [h in no_wrap for h in headers]
    natural = [
        max(text_width(line) for text in (h, *(r[i] for r in cells)) for line in text.split("\n"))
        for i, h in enumerate(headers)
    ]
    space = output_width(out) - (3 * len(headers) + 1)  # "│ " + " │ " between + " │"
    widths = natural
    if sum(natural) > space:
        longest_word = [
            max(
                text_width(word)
                for text in (h, *(r[i] for r in cells))
                for word in [*text.split(), ""]
            )
            for i, h in enumerate(headers)
        ]
        widths = column_widths(natural, longest_word, fixed, space)

    def lines_of(row: Sequence[str], left: str, middle: str, right: str) -> list[str]:
        parts = [
            text.split("\n") if fixed[i] else wrap(text, widths[i]) for i, text in enumerate(row)
        ]
        height = max(len(p) for p in parts)
        return [
            left
            + middle.join(_pad(p[n] if n < len(p) else "", widths[i]) for i, p in enumerate(parts))
            + right
            for n in range(height)
        ]

    def rule(left: str, line: str, middle: str, right: str) -> str:
        return left + middle.join(line * (w + 2) for w in widths) + right

    bold, reset = ("\x1b[1m", "\x1b[0m") if _styled(out) else ("", "")
    text = [title] if title else []
    text.append(rule("┏", "━", "┳", "┓"))
    text += [f"{line[:2]}{bold}{line[2:-2]}{reset}{line[-2:]}" if bold else line
             for line in lines_of(headers, "┃ ", " ┃ ", " ┃")]  # fmt: skip
    if not cells:
        text.append(rule("┗", "━", "┻", "┛"))
    else:
        text.append(rule("┡", "━", "╇", "┩"))
        for row in cells:
            text += lines_of(row, "│ ", " │ ", " │")
        text.append(rule("└", "─", "┴", "┘"))
    out.write("\n".join(text) + "\n")
