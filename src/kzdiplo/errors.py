"""Domain errors: the CLI turns each into one line on stderr and an exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class KzError(Exception):
    """A problem the user can fix; ``exit_code`` 1 for runtime, 2 for bad input."""

    exit_code = 1


class UsageError(KzError):
    """Bad input: an unknown name, a malformed value, a missing database file."""

    exit_code = 2


class QueryTimeout(KzError):
    """A query ran past its time limit."""

    exit_code = 3


class QueryTooBig(KzError):
    """A query needed more memory, or built a larger value, than ``kzdiplo sql`` allows."""

    exit_code = 3


def did_you_mean(what: str, value: str, known: Iterable[str]) -> UsageError:
    """An 'unknown X' error that suggests the closest known values."""
    choices = sorted(set(known), key=str.lower)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(value.lower(), list(lowered), n=3, cutoff=0.6)
    starts = [c for low, c in lowered.items() if low.startswith(value.lower()[:3])][:3]
    suggestions = list(dict.fromkeys([lowered[c] for c in close] + starts))[:3]
    hint = f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions else ""
    return UsageError(f"unknown {what} {value!r}{hint}")
