"""A time limit that holds for anything a command does, even one long C call.

SQLite's progress handler (and ``Connection.interrupt``) is only looked at between two
steps of a query's program: a single expensive function call, such as ``instr`` or
``ltrim`` on two strings of a few megabytes, runs for minutes without reaching it. So a
command with a time limit also arms a watchdog thread: if the command is still running
a short grace period after its deadline (time for the ordinary stop to raise its own
error), the watchdog prints the command's one error line and ends the process with the
command's exit code. Python's ``sqlite3`` releases the GIL while SQLite works, so the
watchdog runs even while the main thread is inside SQLite.

Only whole-process commands (``sql``, ``diff``) use it: ending the process is the one
stop that needs no cooperation from the code that is running. ``serve`` cannot end its
process per request; it bounds function calls through the connection instead
(``kzdiplo.adhoc.guard_connection``).
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

GRACE_SECONDS = 0.5  # after the deadline, for the ordinary stop to raise its own error


class ProcessDeadline:
    """``with ProcessDeadline(seconds, line, code): ...`` ends the process with ``line``
    (an error line, already made safe for a terminal) on stderr and exit ``code`` if the
    block outlives ``seconds`` plus GRACE_SECONDS; leaving the block disarms it."""

    def __init__(self, seconds: float, line: str, code: int) -> None:
        self.seconds = seconds
        self.line = line
        self.code = code
        self._timer = threading.Timer(seconds + GRACE_SECONDS, self._expire)
        self._timer.daemon = True

    def _expire(self) -> None:
        # No flush of sys.stdout: the main thread may hold its lock, blocked on a pipe.
        os.write(2, (self.line + "\n").encode("utf-8", "replace"))
        os._exit(self.code)  # no clean-up can run inside a C call that never returns

    def __enter__(self) -> ProcessDeadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()
