"""A Rich progress bar on stderr for long loads and exports; nothing when piped."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

Tick = Callable[[], None]


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int | None], Tick | None]]:
    """Yields ``start(total)``, which returns a per-item callback (None when stderr is not
    a terminal, so scripts and pipes see no bar); a total of None (not known ahead, as
    for a load read as it is written) draws a bar that counts without an end."""
    if not sys.stderr.isatty():
        yield lambda _total: None
        return
    from rich.progress import MofNCompleteColumn, Progress

    # The default columns, and the count of items done: with no total (a load read as it
    # is written) the bar cannot say how far it is, the count can ("1500/?").
    with Progress(*Progress.get_default_columns(), MofNCompleteColumn(), transient=True) as bar:

        def start(total: int | None) -> Tick:
            task = bar.add_task(label, total=total)
            return lambda: bar.advance(task)

        yield start
