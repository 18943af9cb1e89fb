"""Text that leaves for a person: nothing in it can drive the terminal or hide itself.

Data comes from load files and from users' own SQL, so a cell can hold ESC sequences
(colours, OSC 8 links, OSC 52 clipboard writes), BEL, C1 controls or bidirectional
overrides that make a line read differently from what it holds. :func:`for_terminal`
turns each such character into a visible stand-in; everything else is left alone. It is
the one guard of every human format: the table and Markdown renderers, the timeline,
diff, cite, CSV to a terminal, the spreadsheet, and every line printed with :func:`say`.
:func:`csv_cell` keeps a spreadsheet from running a cell as a formula (OWASP's rule);
:func:`web_link` keeps anything but an http(s) URL from becoming a link.
"""

from __future__ import annotations

import functools
import re
import sys
from typing import Any, TextIO

# Bidirectional embeddings, overrides and isolates; zero-width characters. Shown as <U+XXXX>.
_BIDI = [*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C]
_ZERO_WIDTH = [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD]


def _table(keep: str) -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x20):  # C0: the Control Pictures block has a glyph for each
        if chr(code) not in keep:
            table[code] = chr(0x2400 + code)
    table[0x7F] = "\u2421"  # DEL
    for code in range(0x80, 0xA0):  # C1 (0x9B is a one-byte CSI, 0x9D an OSC)
        table[code] = f"<U+{code:04X}>"
    for code in _BIDI + _ZERO_WIDTH:
        table[code] = f"<U+{code:04X}>"
    return table


_LINE = _table(keep="")  # one line: newlines and tabs shown too
_BLOCK = _table(keep="\n\t")  # a block of text that may span lines


def for_terminal(text: str, *, multiline: bool = False) -> str:
    """``text`` with every control, escape, bidi and zero-width character made visible.
    ``multiline`` keeps newlines and tabs (a cell the table will wrap, a quote)."""
    return text.translate(_BLOCK if multiline else _LINE)


# What JSON may hold raw but a terminal acts on (json.dumps escapes C0 itself).
_JSON_ESCAPES = {
    code: f"\\u{code:04x}" for code in [0x7F, *range(0x80, 0xA0), *_BIDI, *_ZERO_WIDTH]
}


@functools.cache
def _json_unsafe() -> re.Pattern[str]:
    """The same characters as one class: a search for them runs in C over text that
    seldom holds any, where str.translate with a dict looks up every character (1.4 ms
    against 0.1 for the 32 kB of `agreements --partner US -f json`). Compiled on first
    use: compiling the class costs 0.45 ms, which a table, CSV or Markdown run never
    needs to pay."""
    return re.compile("[" + "".join(re.escape(chr(code)) for code in _JSON_ESCAPES) + "]")


def json_text(text: str) -> str:
    """JSON text with DEL, C1, bidi and zero-width characters written as ``\\uXXXX``
    escapes: the same data to every JSON reader (they only occur inside strings), and
    nothing for a terminal to obey when the JSON is printed."""
    return _json_unsafe().sub(lambda found: _JSON_ESCAPES[ord(found[0])], text)


def terminal_value(value: Any, *, multiline: bool = True) -> Any:
    """:func:`for_terminal` for strings; other values as they are."""
    return for_terminal(value, multiline=multiline) if isinstance(value, str) else value


def say(text: str, file: TextIO | None = None) -> None:
    """Print one line for a person (stdout unless ``file``): a newline in ``text`` is
    shown, not obeyed, so data cannot forge a line of its own (an "ok" in `db check`)."""
    print(for_terminal(text), file=file or sys.stdout)


def web_link(url: Any) -> str | None:
    """``url`` when it may become a link a person clicks: http or https with a host and
    nothing a browser would strip or reinterpret (spaces, controls); else None, so a
    ``javascript:`` or ``data:`` URL in loaded data is shown as text, never followed."""
    from urllib.parse import urlsplit

    if not isinstance(url, str) or for_terminal(url) != url or any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed [ in the host
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.hostname else None


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell that starts like a formula gets a leading ``'`` (numbers are left
    alone: ``-5`` stays a number)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
