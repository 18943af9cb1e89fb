"""The readers' small helpers: parameter style for psycopg, URLs for libpq and messages."""

import shutil
from pathlib import Path

import pytest

from kzdiplo.config import redacted
from kzdiplo.paths import migrations_dir
from kzdiplo.reader import HEAD, REVISIONS, libpq_url, pyformat, script_revisions


def test_pyformat_converts_names_and_leaves_casts_and_percent_signs() -> None:
    sql = "SELECT x::numeric, 'a%b' FROM t WHERE k = :key AND v IN (:v0, :v1) AND y=:y"
    assert pyformat(sql) == (
        "SELECT x::numeric, 'a%%b' FROM t WHERE k = %(key)s AND v IN (%(v0)s, %(v1)s) AND y=%(y)s"
    )


def test_libpq_url_drops_the_sqlalchemy_driver_name() -> None:
    assert libpq_url("postgresql+psycopg://u:p@h:5432/db?sslmode=require") == (
        "postgresql://u:p@h:5432/db?sslmode=require"
    )
    assert libpq_url("postgres://h/db") == "postgresql://h/db"


def test_passwords_never_reach_messages() -> None:
    assert redacted("postgresql+psycopg://bob:hunter2@h/db") == "postgresql+psycopg://bob:***@h/db"
    assert redacted("postgresql://bob@h/db") == "postgresql://bob@h/db"
    assert redacted("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_the_known_revisions_are_the_migration_scripts_in_order() -> None:
    """REVISIONS is read from migrations/versions: Alembic's own reading agrees."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory(str(migrations_dir()))
    walked = [s.revision for s in scripts.walk_revisions()]  # newest first
    assert tuple(reversed(walked)) == REVISIONS and scripts.get_current_head() == HEAD


def _copy_of_versions(tmp_path: Path) -> Path:
    versions = tmp_path / "versions"
    shutil.copytree(migrations_dir() / "versions", versions)
    return versions


def test_a_new_migration_script_is_known_with_no_other_edit(tmp_path: Path) -> None:
    versions = _copy_of_versions(tmp_path)
    (versions / "9001_probe.py").write_text(
        f'"""Revision ID: 9001"""\nrevision: str = \'9001\'\ndown_revision = "{HEAD}"\n'
    )
    assert script_revisions(versions) == (*REVISIONS, "9001")


def test_only_lines_that_start_with_the_names_are_revision_lines(tmp_path: Path) -> None:
    """The scan reads the bytes for the two names: a name inside a line, an indented one
    or one in a comment is not the script's revision; CRLF line ends and a last line with
    no newline are."""
    versions = _copy_of_versions(tmp_path)
    (versions / "9001_probe.py").write_bytes(
        b'"""Revision ID: 9001\r\nrevision = "9999" in the docstring is not at a line start"""\r\n'
        b'old_revision = "9998"\r\n    revision = "9997"\r\n# revision = "9996"\r\n'
        + f'down_revision = "{HEAD}"\r\nrevision = "9001"'.encode()
    )
    assert script_revisions(versions) == (*REVISIONS, "9001")


def test_migrations_that_are_not_one_chain_are_refused(tmp_path: Path) -> None:
    versions = _copy_of_versions(tmp_path)
    (versions / "9001_second_head.py").write_text(
        f'revision = "9001"\ndown_revision = "{REVISIONS[-2]}"\n'
    )
    with pytest.raises(RuntimeError, match="not one chain"):
        script_revisions(versions)
