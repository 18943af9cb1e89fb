"""A time limit that holds for anything a command does, even one long C call.

SQLite's progress handler (and ``Connection.interrupt``) is only looked at between two
steps of a query's program: a single expensive function call, such as ``instr`` or
``ltrim`` on two strings of a few megabytes, runs for minutes without reaching it. So a
command with a time limit also arms a watchdog thread: if the command is still running
a short grace period after its deadline (time for the ordinary stop to raise its own
error), the watchdog prints the command's one error line and ends the process with the
command's exit code. Python's ``sqlite3`` releases the GIL while SQLite works, so the
watchdog runs even while the main thread is inside SQLite.

A command that streams its output (``sql``) marks only its database calls with
:meth:`ProcessDeadline.inside`: a reader that is slow to take the output (``| less``)
is not the query running long, and the process is not ended while it only writes.

Only whole-process commands (``sql``, ``diff``) use it: ending the process is the one
stop that needs no cooperation from the code that is running. ``serve`` cannot end its
process per request; it bounds function calls through the connection instead
(``kzdiplo.adhoc.linear_functions``).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

GRACE_SECONDS = 0.5  # after the deadline, for the ordinary stop to raise its own error
POLL_SECONDS = 0.05


class ProcessDeadline:
    """``with ProcessDeadline(seconds, line, code): ...`` ends the process with ``line``
    (an error line, already made safe for a terminal) on stderr and exit ``code`` if the
    block outlives ``seconds`` plus GRACE_SECONDS; leaving the block disarms it. With
    ``only_inside``, only time spent in :meth:`inside` blocks past the deadline counts."""

    def __init__(self, seconds: float, line: str, code: int, *, only_inside: bool = False) -> None:
        self.line = line
        self.code = code
        self.only_inside = only_inside
        self._end = time.monotonic() + seconds
        self._entered: float | None = None  # when the current inside() block began
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    @contextmanager
    def inside(self) -> Iterator[None]:
        """Mark a call whose running past the deadline ends the process."""
        self._entered = time.monotonic()
        try:
            yield
        finally:
            self._entered = None

    def _overdue(self) -> bool:
        if not self.only_inside:
            return True
        entered = self._entered
        return entered is not None and time.monotonic() - max(entered, self._end) > GRACE_SECONDS

    def _watch(self) -> None:
        if self._done.wait(max(0.0, self._end + GRACE_SECONDS - time.monotonic())):
            return
        while not self._overdue():
            if self._done.wait(POLL_SECONDS):
                return
        # No flush of sys.stdout: the main thread may hold its lock, blocked on a pipe.
        os.write(2, (self.line + "\n").encode("utf-8", "replace"))
        os._exit(self.code)  # no clean-up can run inside a C call that never returns

    def __enter__(self) -> ProcessDeadline:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._done.set()
