"""Load the seed files shipped with the package into a database, in one transaction."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kzdiplo.loader import Report, load_paths
from kzdiplo.paths import seeds_dir

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine


def seed_files() -> list[Path]:
    """The seed YAML files, in a stable order."""
    return sorted(seeds_dir().glob("*.yaml"))


def seed(engine: Engine, files: list[Path] | None = None) -> Report:
    """Load ISO countries and the seed files; idempotent; all or nothing."""
    return load_paths(engine, files if files is not None else seed_files())
