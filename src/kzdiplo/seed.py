"""Load the seed files shipped with the package into a database, in one transaction."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from kzdiplo.loader import Report, load_paths
from kzdiplo.paths import seeds_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def seed_files() -> list[Path]:
    """The seed YAML files in the load's section order (by the last section a file
    holds, then by name): sources, sectors, partners... A load writes as it reads and
    sets aside a record whose reference is still to come, so in this order a fresh seed
    writes the rows in the order a seed over a database that already holds them does,
    and both number them alike (a downgrade then a re-seed gives back the same rows)."""
    from kzdiplo.records import SECTIONS

    order = list(SECTIONS)

    def last_section(path: Path) -> int:
        found = re.findall(r"^([a-z_]+):", path.read_text(encoding="utf-8"), re.MULTILINE)
        return max((order.index(n) for n in found if n in order), default=len(order))

    return sorted(seeds_dir().glob("*.yaml"), key=lambda p: (last_section(p), p.name))


def seed(engine: Engine, files: list[Path] | None = None) -> Report:
    """Load ISO countries and the seed files; idempotent; all or nothing."""
    return load_paths(engine, files if files is not None else seed_files())
