"""Run the real ``kzdiplo`` on a terminal and stop it at a point the test observes.

The fault tests kill or read at points they can see (the load's progress bar, rows in
the database, files in a folder), never after a sleep that assumes a machine's speed.
``freeze_when`` stops the child with SIGSTOP the moment the condition holds, so what the
test then reads is the child's exact state; the test then kills or resumes it.
"""

from __future__ import annotations

import os
import pty
import re
import select
import signal
import subprocess
from collections.abc import Callable

from tests.cli_helpers import ENV, kzdiplo_command

PERCENT = re.compile(rb"(\d{1,3})%")
DONE = re.compile(rb"(\d+)/(?:\d+|\?)")  # the bar's count of items done ("1500/?")


class Watched:
    """``kzdiplo ARGS`` with stdout and stderr on a pseudo-terminal, so that its Rich
    progress bar is drawn (it is left out when stderr is not a terminal)."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
        full_env |= ENV | {"TERM": "xterm", "COLUMNS": "100"} | (env or {})  # a real terminal
        self._master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [*kzdiplo_command(), *args],
            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=full_env,
        )  # fmt: skip
        os.close(slave)
        self.output = b""
        self.percent: int | None = None  # the last percentage the progress bar showed
        self.done: int | None = None  # the last count of items done it showed
        self._open = True

    def read(self, timeout: float = 0.02) -> bool:
        """Take in what the child wrote within ``timeout``; False once it closed the
        terminal (it exited)."""
        if not self._open:
            return False
        ready, _, _ = select.select([self._master], [], [], timeout)
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: the child's side is closed
            chunk = b""
        if not chunk:
            self._open = False
            return False
        self.output += chunk
        found = PERCENT.findall(chunk)
        if found:
            self.percent = int(found[-1])
        counted = DONE.findall(chunk)
        if counted:
            self.done = int(counted[-1])
        return True

    def freeze_when(self, condition: Callable[[], bool]) -> bool:
        """Read the child's output until ``condition()`` holds, then stop the child
        (SIGSTOP) and return True; False if the child ended first."""
        while True:
            if condition():
                self.process.send_signal(signal.SIGSTOP)
                return True
            if not self.read():
                self.process.wait(timeout=120)
                return False

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.close()

    def resume_to_end(self) -> int:
        """Let a frozen child go on to its end, reading its output so it never blocks."""
        self.process.send_signal(signal.SIGCONT)
        while self.read(timeout=1.0):
            pass
        code = self.process.wait(timeout=120)
        self.close()
        return code

    def close(self) -> None:
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
            self._open = False
