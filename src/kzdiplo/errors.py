"""Domain errors: the CLI turns each into one line on stderr and an exit code."""

from __future__ import annotations

from collections.abc import Iterable, Mapping


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


LIST_ALL = 12  # this many valid values or fewer: name them all instead of guessing


def did_you_mean(what: str, value: str, known: Iterable[str] | Mapping[str, str]) -> UsageError:
    """An 'unknown X' error: every valid value when there are few, else the closest.

    ``known`` is the valid spellings, or a mapping from each spelling (a name, an
    alias) to the one entity it names, so a suggestion names each entity once."""
    import difflib  # here, not at the top: every run imports this module, few need it

    if not value.strip():
        return UsageError(f"{what} needs a value")
    named = isinstance(known, Mapping)
    entity = dict(known) if isinstance(known, Mapping) else {k: repr(k) for k in known}
    lowered = {label.casefold(): label for label in sorted(entity, key=str.casefold)}
    wanted = value.strip().casefold()
    close = difflib.get_close_matches(wanted, list(lowered), n=6, cutoff=0.6)
    words = [low for low in lowered if len(wanted) >= 3 and wanted in low.split()]
    starts = [low for low in lowered if len(wanted) >= 3 and low.startswith(wanted)]
    found = [entity[lowered[low]] for low in (words + starts or close)]
    suggestions = list(dict.fromkeys(found))[:3]
    hint = f"; did you mean {', '.join(suggestions)}?" if suggestions else ""
    distinct = list(dict.fromkeys(entity[label] for label in lowered.values()))
    if len(distinct) <= LIST_ALL:
        valid = distinct if named else list(lowered.values())
        hint += f" (choose from: {', '.join(valid)})"
    return UsageError(f"unknown {what} {value!r}{hint}")
