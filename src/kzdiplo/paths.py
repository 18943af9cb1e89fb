"""Where the package finds its migrations and seed files.

In a wheel they are shipped inside the package (``kzdiplo/_migrations`` and
``kzdiplo/_seeds``); in an editable install or a checkout they are the top-level
``migrations/`` and ``seeds/`` folders of the repository.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT_DIR = _PACKAGE_DIR.parent.parent


def _find(packaged: str, checkout: str) -> Path:
    for candidate in (_PACKAGE_DIR / packaged, _CHECKOUT_DIR / checkout):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"kzdiplo cannot find its {checkout}/ folder (looked in {_PACKAGE_DIR})"
    )


def migrations_dir() -> Path:
    """The Alembic script folder (env.py and versions/)."""
    return _find("_migrations", "migrations")


def seeds_dir() -> Path:
    """The folder holding the seed YAML files and source texts."""
    return _find("_seeds", "seeds")
