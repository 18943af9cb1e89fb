"""The installed package finds its migrations and seeds from any working directory."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import kzdiplo
from kzdiplo.paths import migrations_dir, seeds_dir

SCRIPT = """
import sys
from kzdiplo.config import sqlite_url
from kzdiplo.db import make_engine
from kzdiplo.migrate import upgrade
from kzdiplo.seed import seed
url = sqlite_url(sys.argv[1])
upgrade(url)
print(seed(make_engine(url)).summary())
"""


def test_data_folders_exist() -> None:
    assert (migrations_dir() / "env.py").is_file()
    assert list((migrations_dir() / "versions").glob("0001_*.py"))
    assert (seeds_dir() / "agreements.yaml").is_file()


def test_installed_wheel_ships_its_data() -> None:
    """Under a real (non-editable) install the folders are inside the package."""
    package = Path(kzdiplo.__file__).resolve().parent
    if "site-packages" not in str(package):
        import pytest

        pytest.skip("running from a checkout or editable install; .ci/run tests the wheel")
    assert migrations_dir() == package / "_migrations"
    assert seeds_dir() == package / "_seeds"


@pytest.mark.slow
def test_migrate_and_seed_from_another_directory(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "x.db")],
        cwd=elsewhere, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "added" in result.stdout
