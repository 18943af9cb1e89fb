"""PostgreSQL: the same answers as SQLite for the same data, and the server-side safety
(a read-only role, statement_timeout, serialised loads). Runs when
KZDIPLO_TEST_POSTGRES_URL names a superuser URL (scripts/with-postgres.sh sets it up);
otherwise every test here is skipped, and .ci/run always runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kzdiplo.cli import app
from tests.cli_helpers import ENV, kzdiplo_command
from tests.reliability.bulk import write_events
from tests.test_cli_sql import WRITES

ADMIN_URL = os.environ.get("KZDIPLO_TEST_POSTGRES_URL", "")
pytestmark = [
    pytest.mark.slow,  # a PostgreSQL server per test database, CLI subprocesses
    pytest.mark.skipif(
        not ADMIN_URL, reason="set KZDIPLO_TEST_POSTGRES_URL (scripts/with-postgres.sh) to run"
    ),
]


def _url(database: str, user: str | None = None, password: str | None = None) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(ADMIN_URL).set(database=database)
    if user:
        url = url.set(username=user, password=password)
    return url.render_as_string(hide_password=False)


def _admin(statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    from kzdiplo.db import make_engine
    from kzdiplo.migrate import upgrade
    from kzdiplo.seed import seed

    name = f"kzdiplo_template_{uuid.uuid4().hex[:6]}"
    _admin(f"CREATE DATABASE {name}")
    url = _url(name)
    upgrade(url)
    engine = make_engine(url)
    seed(engine)
    engine.dispose()
    yield name
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A private copy of the seeded database (CREATE DATABASE ... TEMPLATE)."""
    name = f"kzdiplo_test_{uuid.uuid4().hex[:8]}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    yield _url(name)
    _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def pg_run(url: str, *args: str, extra_env: dict[str, str] | None = None) -> Any:
    env = ENV | {"KZDIPLO_DATABASE_URL": url} | (extra_env or {})
    return CliRunner().invoke(app, list(args), env=env)


def sqlite_run(path: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["--db", str(path), *args], env=ENV)


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("id", "score")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


SAME_ANSWERS = [
    ["agreements"], ["agreements", "-p", "US"], ["agreements", "-p", "russia", "--since", "2025-11"],
    ["agreements", "--sort", "-count"], ["deals"], ["deals", "-s", "minerals"],
    ["deals", "--min-usd", "1bn", "--sort", "-usd"], ["deposits"], ["deposits", "-c", "tungsten"],
    ["projects"], ["projects", "-p", "rosatom"], ["events"], ["events", "--year", "2023"],
    ["events", "--until", "2025-06", "-p", "EU"], ["partners"], ["audit"],
    ["show", "agreement", "kz-us-washington-29-agreements"], ["show", "partner", "US"],
    ["show", "deal", "eu-central-asia-special-funds"], ["show", "project", "kz-first-nuclear-power-plant"],
    ["agreements", "-p", "Россия"], ["events", "-p", "Ресей"],
]  # fmt: skip


@pytest.mark.parametrize("args", SAME_ANSWERS, ids=[" ".join(a) for a in SAME_ANSWERS])
def test_same_answers_as_sqlite(args: list[str], pg_url: str, seeded_db: Path) -> None:
    on_pg = pg_run(pg_url, *args, "-f", "json")
    on_sqlite = sqlite_run(seeded_db, *args, "-f", "json")
    assert on_pg.exit_code == 0 and on_sqlite.exit_code == 0, on_pg.stderr + on_sqlite.stderr
    assert _without_ids(json.loads(on_pg.stdout)) == _without_ids(json.loads(on_sqlite.stdout))


@pytest.mark.parametrize(
    "words", ["tungsten", "comprehensive alliance", "nuclear plant", "Tianjin"]
)
def test_search_finds_the_same_records(words: str, pg_url: str, seeded_db: Path) -> None:
    on_pg = json.loads(pg_run(pg_url, "search", words, "-f", "json").stdout)
    on_sqlite = json.loads(sqlite_run(seeded_db, "search", words, "-f", "json").stdout)
    assert on_pg and {h["key"] for h in on_pg} == {h["key"] for h in on_sqlite}
    assert all("[" in h["snippet"] for h in on_pg)


# Cyrillic in any case, ё or е, Latin with or without accents: PostgreSQL (C locale, where
# its own lower() knows only A-Z) finds what SQLite's unicode61 tokenizer finds.
FOLDED = {
    "Росатом": {"rosatom"}, "РОСАТОМ": {"rosatom"}, "росатом": {"rosatom"},
    "Қатпар": {"north-katpal"}, "ҚАТПАР": {"north-katpal"},
    "Соединенные": {"US"}, "СОЕДИНЁННЫЕ": {"US"}, "to lam": {"to-lam-state-visit-kazakhstan-2025"},
}  # fmt: skip


@pytest.mark.parametrize("words", list(FOLDED))
def test_search_folds_cyrillic_as_sqlite_does(words: str, pg_url: str, seeded_db: Path) -> None:
    on_pg = json.loads(pg_run(pg_url, "search", words, "-f", "json").stdout)
    on_sqlite = json.loads(sqlite_run(seeded_db, "search", words, "-f", "json").stdout)
    found = {h["key"] for h in on_pg}
    assert found == {h["key"] for h in on_sqlite} and FOLDED[words] <= found


def test_tokayev_in_either_spelling_finds_the_same_events(pg_url: str) -> None:
    keys = [_search_keys(pg_url, w) for w in ("Тоқаев", "ТОКАЕВ", "toqaev")]
    assert len(keys[0]) >= 8 and keys[0] == keys[1] == keys[2]


def test_errors_are_the_same(pg_url: str) -> None:
    result = pg_run(pg_url, "agreements", "--partner", "Untied States")
    assert result.exit_code == 2 and "did you mean" in result.stderr


def _dump(url: str) -> dict[str, list[tuple]]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            tables = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
            ]
            return {
                t: sorted(conn.exec_driver_sql(f'SELECT * FROM "{t}"').fetchall(), key=repr)
                for t in tables
            }
    finally:
        engine.dispose()


@pytest.fixture
def readonly_url(pg_url: str) -> str:
    from sqlalchemy.engine import make_url

    role = f"reader_{uuid.uuid4().hex[:6]}"
    result = pg_run(pg_url, "db", "grant-readonly", "--role", role, "--password", "pw")
    assert result.exit_code == 0, result.stderr
    return _url(make_url(pg_url).database or "", role, "pw")


@pytest.mark.parametrize("statement", [*WRITES, "SET TRANSACTION READ WRITE; DELETE FROM deals"])
def test_sql_cannot_write(statement: str, pg_url: str, readonly_url: str, tmp_path: Path) -> None:
    before = _dump(pg_url)
    result = pg_run(
        pg_url,
        "sql",
        statement.format(dir=tmp_path),
        extra_env={"KZDIPLO_READONLY_URL": readonly_url},
    )
    assert result.exit_code in (1, 2) and result.stderr.count("\n") == 1, result.stdout
    assert "Traceback" not in result.stderr
    assert _dump(pg_url) == before


def test_the_role_is_the_wall(pg_url: str, readonly_url: str) -> None:
    """Even talking to the server directly, with the escape that beats a READ ONLY
    transaction, the read-only role cannot change anything."""
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(readonly_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(conninfo) as conn:  # a transaction, as a client would open one
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET TRANSACTION READ WRITE; DELETE FROM deals")
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SET TRANSACTION READ WRITE; CREATE TABLE evil (x int)")
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM deals").fetchone()[0] > 0


def test_sql_reads_times_out_and_caps(pg_url: str, readonly_url: str) -> None:
    env = {"KZDIPLO_READONLY_URL": readonly_url}
    query = (
        "SELECT slug, count FROM agreements WHERE slug IN ('kz-us-washington-29-agreements', "
        "'kz-cn-24-intergovernmental-agreements') ORDER BY count"
    )
    rows = pg_run(pg_url, "sql", query, "-f", "json", extra_env=env)
    assert [r["count"] for r in json.loads(rows.stdout)] == [24, 29]
    slow = pg_run(pg_url, "sql", "SELECT pg_sleep(5)", "--timeout", "0.3", extra_env=env)
    assert slow.exit_code == 3 and "time limit" in slow.stderr
    capped = pg_run(pg_url, "sql", "SELECT * FROM generate_series(1, 5000)", "--max-rows", "10",
                    "-f", "csv", extra_env=env)  # fmt: skip
    assert len(capped.stdout.splitlines()) == 11 and "truncated" in capped.stderr
    missing = pg_run(pg_url, "sql", "SELECT 1")
    assert missing.exit_code == 2 and "KZDIPLO_READONLY_URL" in missing.stderr


def test_sql_binds_named_parameters_as_on_sqlite(pg_url: str, readonly_url: str) -> None:
    """-p NAME VALUE on PostgreSQL: bound (a quote stays text, a % is not a format),
    a name the query uses and -p does not give is one line, exit 2."""
    env = {"KZDIPLO_READONLY_URL": readonly_url}
    query = "SELECT slug, :q AS q, '100%' AS pct FROM agreements WHERE slug = :s"
    hostile = "x' OR 1=1 --"
    rows = pg_run(pg_url, "sql", query, "-p", "s", "kz-us-washington-29-agreements",
                  "-p", "q", hostile, "-f", "json", extra_env=env)  # fmt: skip
    assert rows.exit_code == 0, rows.stderr
    assert json.loads(rows.stdout) == [
        {"slug": "kz-us-washington-29-agreements", "q": hostile, "pct": "100%"}
    ]
    missing = pg_run(pg_url, "sql", query, "-p", "s", "x", extra_env=env)
    assert missing.exit_code == 2 and ":q" in missing.stderr


def test_migrations_round_trip_and_match_models(pg_url: str) -> None:
    from alembic import command

    from kzdiplo.db import make_engine
    from kzdiplo.migrate import alembic_config, downgrade, upgrade
    from kzdiplo.seed import seed

    before = {t: len(rows) for t, rows in _dump(pg_url).items()}
    command.check(alembic_config(pg_url))
    engine = make_engine(pg_url)
    for older in ("0008", "0003", "0002", "0001", "base"):
        downgrade(pg_url, older)
        upgrade(pg_url)
        seed(engine)  # what a downgrade dropped by design (a table, a column) comes back
        assert {t: len(rows) for t, rows in _dump(pg_url).items()} == before, older
    engine.dispose()


def test_0009_keeps_every_citation_and_its_kind_down_and_up(pg_url: str) -> None:
    """As on SQLite (tests/test_migrations.py): down to 0008 every summary carries the old
    note and every text stays; up again the kinds are as they were."""
    import sqlalchemy as sa

    from kzdiplo.db import make_engine
    from kzdiplo.migrate import downgrade, upgrade

    query = "SELECT id, kind, text, note FROM citations ORDER BY id"
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            before = [tuple(r) for r in conn.execute(sa.text(query))]
        assert {r[1] for r in before} == {"quote", "summary"}
        downgrade(pg_url, "0008")
        with engine.connect() as conn:
            old = [tuple(r) for r in conn.execute(sa.text(
                "SELECT id, quote, note FROM citations ORDER BY id"))]  # fmt: skip
        assert [(i, t) for i, _, t, _ in before] == [(i, q) for i, q, _ in old]
        assert [k == "summary" for _, k, _, _ in before] == [
            (n or "").startswith("our summary, not a quote") for _, _, n in old
        ]
        upgrade(pg_url)
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(sa.text(query))] == before
    finally:
        engine.dispose()


def test_export_then_load_into_an_empty_database(pg_url: str, tmp_path: Path) -> None:
    from kzdiplo.migrate import upgrade

    assert pg_run(pg_url, "export", "-f", "json", "-o", str(tmp_path)).exit_code == 0
    name = f"kzdiplo_empty_{uuid.uuid4().hex[:6]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        empty = _url(name)
        upgrade(empty)
        loaded = pg_run(empty, "load", str(tmp_path / "kzdiplo.json"))
        assert loaded.exit_code == 0, loaded.stderr
        again = tmp_path / "again"
        assert pg_run(empty, "export", "-f", "json", "-o", str(again)).exit_code == 0
        assert (again / "kzdiplo.json").read_text() == (tmp_path / "kzdiplo.json").read_text()
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_the_hash_a_load_stores_is_sqlites(pg_url: str, seeded_db: Path) -> None:
    """The content hash reads each kind's records in key order (COLLATE "C" on
    PostgreSQL: byte order, Python's) and hashes them as they come; the seed's stored
    value is the SQLite seed's, reached without falling back to sorting in Python."""
    from kzdiplo.contenthash import ordered_hash, stored_hash
    from kzdiplo.db import make_engine
    from kzdiplo.export import canonical_sections
    from kzdiplo.reader import ConnectionReader, SqliteReader

    lite = SqliteReader(seeded_db)
    expected = stored_hash(lite)
    lite.close()
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            reader = ConnectionReader(conn)
            assert expected is not None and stored_hash(reader) == expected
            assert ordered_hash(canonical_sections(reader)) == expected  # no ValueError
    finally:
        engine.dispose()


def test_concurrent_loads_leave_no_duplicates(pg_url: str, tmp_path: Path) -> None:
    """Two processes load the same new records at once: the advisory lock queues them,
    the second finds everything in place; readers meanwhile see before or after."""
    bulk = write_events(tmp_path / "bulk.yaml", 400)
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")}
    env |= {"KZDIPLO_DATABASE_URL": pg_url}
    count_sql = "SELECT count(*) FROM events"
    before = _dump(pg_url)["events"]
    loads = [
        subprocess.Popen(
            [*kzdiplo_command(), "load", str(bulk)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    seen = set()
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    while any(p.poll() is None for p in loads):
        with engine.connect() as conn:
            seen.add(conn.exec_driver_sql(count_sql).scalar())
    engine.dispose()
    outputs = [(p.returncode, p.stderr.read().decode()) for p in loads]
    assert all(code == 0 for code, _ in outputs), outputs
    assert sorted(o.strip().split(": ")[-1] for _, o in outputs) == [
        "0 added, 0 updated, 400 unchanged", "400 added, 0 updated, 0 unchanged",
    ]  # fmt: skip
    after = len(before) + 400
    assert len(_dump(pg_url)["events"]) == after
    assert seen <= {len(before), after}


def test_the_money_ledger_sums_to_the_partners_totals_on_postgres(
    pg_url: str, readonly_url: str
) -> None:
    """The same plain GROUP BY over money_flows as on SQLite gives the partners
    command's figures on PostgreSQL too (the view is the one ledger on both)."""
    from tests.test_money_ledger import LEDGER_TOTALS, ledger_matches_partners

    rows = pg_run(pg_url, "partners", "--with-kazakhstan", "-f", "json")
    ledger = pg_run(
        pg_url, "sql", LEDGER_TOTALS, "-f", "json", extra_env={"KZDIPLO_READONLY_URL": readonly_url}
    )
    assert rows.exit_code == ledger.exit_code == 0, (rows.stderr, ledger.stderr)
    partners = {r["key"]: r for r in json.loads(rows.stdout)}
    assert ledger_matches_partners(json.loads(ledger.stdout), partners) >= 5


def test_db_check_on_postgres(pg_url: str) -> None:
    assert pg_run(pg_url, "db", "check").exit_code == 0
    import sqlalchemy as sa

    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE citations SET text = 'Kazakhstan joined NATO' WHERE id = (SELECT min(id) FROM citations WHERE kind = 'quote')"
        )
    engine.dispose()
    result = pg_run(pg_url, "db", "check")
    assert result.exit_code == 1 and "FAIL  every citation quote is in its source" in result.stdout


def test_the_read_path_finds_the_models_columns_and_references(pg_url: str) -> None:
    """Reader.columns and Reader.references, read from PostgreSQL's catalogue, are what
    the models define (tests/test_entities.py checks the same on SQLite)."""
    from kzdiplo.reader import server_reader
    from tests.test_entities import assert_reader_matches_models

    assert_reader_matches_models(server_reader(pg_url))


def _statements(url: str, call: Any) -> list[tuple[str, dict[str, Any]]]:
    """The statements ``call(reader)`` sends through kzdiplo's PostgreSQL reader."""
    from kzdiplo.reader import server_reader

    reader = server_reader(url)
    sent: list[tuple[str, dict[str, Any]]] = []
    original = reader.stream

    def recording(sql: str, params: dict[str, Any] | None = None) -> Any:
        sent.append((sql, dict(params or {})))
        return original(sql, params)

    reader.stream = recording  # type: ignore[method-assign]
    try:
        call(reader)
    finally:
        reader.close()
    return sent


def test_search_uses_the_gin_index(pg_url: str) -> None:
    """The search reads the GIN index of migration 0006, never every document: with
    sequential scans priced out (the seeded tables are too small for the planner to
    prefer an index by itself), the plan is a bitmap scan of ix_search_index_document."""
    import sqlalchemy as sa

    from kzdiplo.queries import search

    [(sql, params)] = _statements(pg_url, lambda reader: search(reader, "tungsten mine"))
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(r[0] for r in conn.execute(sa.text(f"EXPLAIN {sql}"), params))
    finally:
        engine.dispose()
    assert "Bitmap Index Scan on ix_search_index_document" in plan, plan
    assert "to_tsvector" not in plan and "search_documents" not in sql, plan
    for table in ("search_index", "agreements", "deals", "citations"):
        assert f"Seq Scan on {table}" not in plan, plan


def _search_keys(url: str, words: str) -> set[str]:
    result = pg_run(url, "search", words, "-f", "json")
    assert result.exit_code == 0, result.stderr
    return {hit["key"] for hit in json.loads(result.stdout)}


def test_search_index_follows_every_write(pg_url: str) -> None:
    """Triggers keep the search table in step with records and citations, whatever
    writes them (here: plain SQL), and db check's search-index check agrees."""
    import sqlalchemy as sa

    from kzdiplo.checks import search_index, search_triggers
    from kzdiplo.reader import SqlAlchemyReader

    slug = "kz-us-washington-29-agreements"
    engine = sa.create_engine(pg_url)

    def write(statement: str) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)

    try:
        write(f"UPDATE agreements SET summary = 'zanzibarite pact' WHERE slug = '{slug}'")
        assert _search_keys(pg_url, "zanzibarite") == {slug}
        write(
            "UPDATE citations SET text = text || ' quokkaquote' WHERE id = (SELECT min(c.id) "
            f"FROM citations c JOIN agreements a ON a.id = c.agreement_id WHERE a.slug = '{slug}')"
        )
        assert _search_keys(pg_url, "quokkaquote") == {slug}
        write(f"UPDATE agreements SET slug = 'renamed-pact' WHERE slug = '{slug}'")
        assert _search_keys(pg_url, "zanzibarite quokkaquote") == {"renamed-pact"}
        write("DELETE FROM agreements WHERE slug = 'renamed-pact'")
        assert _search_keys(pg_url, "zanzibarite") == set()
        reader = SqlAlchemyReader(pg_url)
        try:
            assert search_index(reader) == [] and search_triggers(reader) == []
            write("ALTER TABLE deals DISABLE TRIGGER search_index_deals")
            write("UPDATE deals SET summary = 'unindexed words' WHERE id = 1")
            assert len(search_index(reader)) == 1 and len(search_triggers(reader)) == 1
        finally:
            reader.close()
    finally:
        engine.dispose()


def test_partners_cache_goes_stale_on_any_write(pg_url: str) -> None:
    """Migration 0006's statement triggers mark the partners cache stale on PostgreSQL,
    so partners reads it only while it holds what the live query computes."""
    import sqlalchemy as sa

    def stale() -> bool:
        with engine.connect() as conn:
            return conn.exec_driver_sql(
                "SELECT stale FROM derived_state WHERE name = 'partner_totals'"
            ).scalar_one()

    engine = sa.create_engine(pg_url)
    try:
        assert not stale()  # the seed rebuilt it
        before = json.loads(pg_run(pg_url, "partners", "-f", "json").stdout)
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "DELETE FROM parties WHERE id = (SELECT min(p.id) FROM parties p "
                "JOIN countries c ON c.id = p.country_id WHERE c.code = 'US')"
            )
        assert stale()
        after = json.loads(pg_run(pg_url, "partners", "-f", "json").stdout)
        assert after != before  # the live totals, not the cached ones
        assert pg_run(pg_url, "db", "seed").exit_code == 0
        assert not stale()
        assert pg_run(pg_url, "db", "check").exit_code == 0
    finally:
        engine.dispose()


def test_postgres_reads_import_no_sqlalchemy(pg_url: str) -> None:
    """Structural guard for start-up on PostgreSQL: read commands talk to the server
    through psycopg alone (SQLAlchemy's import and dialect set-up cost ~250 ms)."""
    code = (
        "import sys\n"
        "from kzdiplo.cli import main\n"
        "for args in (['agreements', '-p', 'US'], ['search', 'tungsten'], ['partners']):\n"
        "    sys.argv = ['kzdiplo', *args]\n"
        "    try:\n"
        "        main()\n"
        "    except SystemExit as exit:\n"
        "        assert not exit.code, exit.code\n"
        "print('HEAVY', [m for m in ('sqlalchemy', 'alembic') if m in sys.modules], "
        "file=sys.stderr)\n"
    )
    env = {**os.environ, **ENV, "KZDIPLO_DATABASE_URL": pg_url}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert b"kz-us-washington-29-agreements" in result.stdout
    assert b"HEAVY []" in result.stderr, result.stderr


def _conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(False)


def test_sql_refuses_a_role_that_can_write(pg_url: str, readonly_url: str) -> None:
    """A superuser (or any role with a write grant) as KZDIPLO_READONLY_URL is refused
    before the query runs: pg_read_file and pg_terminate_backend never execute."""
    from sqlalchemy.engine import make_url

    query = "SELECT pg_read_file('/etc/hostname'), pg_terminate_backend(pg_backend_pid())"
    as_admin = pg_run(pg_url, "sql", query, extra_env={"KZDIPLO_READONLY_URL": pg_url})
    assert as_admin.exit_code == 2 and "superuser" in as_admin.stderr, as_admin.stderr
    assert as_admin.stderr.count("\n") == 1 and as_admin.stdout == ""
    import sqlalchemy as sa

    role = make_url(readonly_url).username
    engine = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    env = {"KZDIPLO_READONLY_URL": readonly_url}
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(f"GRANT INSERT ON deals TO {role}")
            writer = pg_run(pg_url, "sql", "SELECT 1", extra_env=env)
            assert writer.exit_code == 2 and "write 1 table" in writer.stderr, writer.stderr
            conn.exec_driver_sql(f"REVOKE INSERT ON deals FROM {role}")
            conn.exec_driver_sql(f"GRANT CREATE ON SCHEMA public TO {role}")
            creator = pg_run(pg_url, "sql", "SELECT 1", extra_env=env)
            assert creator.exit_code == 2 and "create objects in public" in creator.stderr
            conn.exec_driver_sql(f"REVOKE CREATE ON SCHEMA public FROM {role}")
    finally:
        engine.dispose()
    assert pg_run(pg_url, "sql", "SELECT 1", extra_env=env).exit_code == 0


def test_the_read_only_role_can_persist_nothing(pg_url: str, readonly_url: str) -> None:
    """Connected with plain psycopg, the role granted by kzdiplo db grant-readonly cannot
    create, write, or keep anything, even after turning its read-only default off. (It
    can change its own session defaults, ALTER ROLE CURRENT_USER SET: PostgreSQL lets
    every role do that, and it reaches only that role's sessions.)"""
    import psycopg

    attempts = [
        "CREATE TABLE public.evil (x int)", "CREATE TEMP TABLE evil (x int)",
        "CREATE SCHEMA evil", "CREATE FUNCTION public.evil() RETURNS int AS 'SELECT 1' "
        "LANGUAGE sql", "INSERT INTO deals (slug) VALUES ('evil')", "DELETE FROM citations",
        "TRUNCATE deals", "SELECT lo_create(0)", "SELECT lo_from_bytea(0, 'evil')",
        "SELECT lo_import('/etc/hostname')", "COPY deals TO '/tmp/kzdiplo-evil.csv'",
        "SELECT pg_advisory_lock(1)", "SELECT pg_advisory_xact_lock(1802135664)",
        "CREATE VIEW public.evil AS SELECT 1",
    ]  # fmt: skip
    before = _dump(pg_url)
    with psycopg.connect(_conninfo(readonly_url), autocommit=True) as conn:
        conn.execute("SET default_transaction_read_only = off")
        for statement in attempts:
            try:
                conn.execute(statement)
            except psycopg.Error:
                continue
            pytest.fail(f"the read-only role ran {statement!r}")
        objects = conn.execute("SELECT count(*) FROM pg_largeobject_metadata").fetchone()[0]
    assert objects == 0
    assert _dump(pg_url) == before


def _counting_fetches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of each batch that ``sql``'s server-side cursor asks for, in order (the
    real fetch runs: this only counts the round trips)."""
    import psycopg

    asked: list[int] = []
    fetchmany = psycopg.ServerCursor.fetchmany

    def counted(self: psycopg.ServerCursor[Any], size: int = 0) -> list[Any]:
        asked.append(size)
        return fetchmany(self, size)

    monkeypatch.setattr(psycopg.ServerCursor, "fetchmany", counted)
    return asked


def test_the_time_limit_bounds_the_whole_query(
    pg_url: str, readonly_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The time limit is the whole query's, not each FETCH's: 25 rows of 0.4 s under
    --timeout 0.5 stop after the first row (per FETCH, all 25 would come, in 10 s).
    Rows come in batches: 100,000 rows are 202 round trips, not 100,000."""
    from kzdiplo.adhoc import FETCH_BATCH

    env = {"KZDIPLO_READONLY_URL": readonly_url}
    asked = _counting_fetches(monkeypatch)
    slow_rows = pg_run(pg_url, "sql", "SELECT pg_sleep(0.4) FROM generate_series(1, 25)",
                       "--timeout", "0.5", "-f", "csv", extra_env=env)  # fmt: skip
    assert slow_rows.exit_code == 3 and "time limit" in slow_rows.stderr
    assert len(slow_rows.stdout.splitlines()) <= 2 and len(asked) <= 2, (slow_rows.stdout, asked)
    asked.clear()
    many = pg_run(pg_url, "sql", "SELECT x FROM generate_series(1, 100000) x", "--max-rows",
                  "0", "-f", "csv", "--timeout", "30", extra_env=env)  # fmt: skip
    assert many.exit_code == 0 and len(many.stdout.splitlines()) == 100_001
    assert asked == [1] + [FETCH_BATCH] * (100_000 // FETCH_BATCH + 1), asked


def test_a_held_load_lock_makes_loads_wait_a_bounded_time(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    from kzdiplo import loader

    monkeypatch.setattr(loader, "LOCK_TIMEOUT_S", 1)
    (tmp_path / "empty.yaml").write_text("{}\n")
    with psycopg.connect(_conninfo(pg_url), autocommit=True) as holder:
        holder.execute(f"SELECT pg_advisory_lock({loader.LOAD_LOCK})")
        result = pg_run(pg_url, "load", str(tmp_path / "empty.yaml"))
    assert result.exit_code == 1 and "waiting" in result.stderr, result.stderr
    assert "load lock" in result.stderr and "Traceback" not in result.stderr
    assert pg_run(pg_url, "load", str(tmp_path / "empty.yaml")).exit_code == 0


@pytest.mark.parametrize(
    "bad",
    ["postgresql://{user}:p%zzsecret@{host}/db", "postgresql://{user}:my secret@{host}/db",
     "postgresql://{user}:secret@[::1/db", "postgresql://{user}:secret@{host}:notaport/db",
     "postgresql://{user}:se@cret@{host}/db", "postgresql://{user}@{host}/db?password=secret&x"],
)  # fmt: skip
def test_a_bad_readonly_url_never_shows_its_password(bad: str, pg_url: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_url)
    readonly = bad.format(user="reader", host=f"{url.host}:{url.port}")
    if ":notaport" in bad:
        readonly = bad.format(user="reader", host=url.host)
    result = pg_run(pg_url, "sql", "SELECT 1", extra_env={"KZDIPLO_READONLY_URL": readonly})
    assert result.exit_code in (1, 2) and result.stderr.count("\n") == 1, result.stderr
    assert "secret" not in result.stdout + result.stderr and "cret" not in result.stderr
