"""The readers' small helpers: parameter style for psycopg, URLs for libpq and messages."""

from kzdiplo.config import redacted
from kzdiplo.reader import libpq_url, pyformat


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
