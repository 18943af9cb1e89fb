"""The command's entry point (``kzdiplo``, ``python -m kzdiplo``).

Start-up makes some 30,000 objects that mostly live as long as the process (modules,
classes, functions, the command and its options), and Python's cycle collector looked
through them about 50 times (every 700 new objects) before a listing had printed
anything: 6 ms of a 95 ms `agreements --partner US` (timed with gc.callbacks). A run
frees its objects by reference counting; a collection finds almost nothing (about 1,000
objects in a whole `load` of the seeded file). So the command's process collects every
50,000 new objects: none at start-up, still often enough to bound what a long command
(load, serve) holds. It is set here, before the CLI's imports, and not in kzdiplo.cli:
a process that imports the CLI as a library (the test suite, a notebook) keeps its own
setting, and with it the collection of the SQLite connections its code leaves in cycles.
"""

import gc

gc.set_threshold(50_000, *gc.get_threshold()[1:])

from kzdiplo.cli import main  # noqa: E402  (after the threshold, which the imports need)

if __name__ == "__main__":
    main()
