"""kzdiplo db: where the database is, create, migrate, seed and check it."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kzdiplo.cli.common import guarded, state
from kzdiplo.errors import KzError, UsageError
from kzdiplo.safetext import say

if TYPE_CHECKING:  # config is imported by the commands that use it, when they run
    from kzdiplo.config import Target

app = typer.Typer(
    help="Manage the database: path, init, upgrade, current, seed, check, backup.",
    no_args_is_help=True,
)


def _target(ctx: typer.Context, must_exist: bool = True) -> "Target":
    from kzdiplo.access import check_backend, check_sqlite_file
    from kzdiplo.config import resolve

    target = resolve(state(ctx).db)
    check_backend(target)
    if target.path is not None and must_exist:
        if not target.path.exists():
            hint = "kzdiplo db init" if target.is_default else f"kzdiplo --db {target.path} db init"
            raise UsageError(f"no database at {target.path} (to create one: {hint})")
        check_sqlite_file(target.path)
    return target


@app.command()
@guarded
def path(ctx: typer.Context) -> None:
    """Print where the database is (a file path, or the URL for other backends).

    \b
    Example:
      sqlite3 "$(kzdiplo db path)" ".tables"
    """
    target = _target(ctx, must_exist=False)
    if target.path is not None:
        say(str(target.path))
    else:
        from kzdiplo.config import redacted

        say(redacted(target.url))


@app.command()
@guarded
def init(
    ctx: typer.Context,
    empty: Annotated[
        bool,
        typer.Option(
            "--empty",
            help="A new database with the schema only, no seed data: to load an export "
            "(kzdiplo export -f json|ndjson) or your own files into.",
        ),
    ] = False,
) -> None:
    """Create the database (or bring it up to date) and load the seed data.

    \b
    Examples:
      kzdiplo --db ./kz.db db init
      kzdiplo --db ./copy.db db init --empty && kzdiplo --db ./copy.db load export.ndjson
    """
    from kzdiplo.access import create_database, note

    target = _target(ctx, must_exist=False)
    if target.path is not None and target.path.exists():
        if empty:
            raise UsageError(f"--empty makes a new database, and {target.path} exists")
        _refuse_foreign_file(target)
    if empty:
        from kzdiplo.migrate import upgrade as run_upgrade
        from kzdiplo.reader import HEAD

        if target.path is not None:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        run_upgrade(target.url)
        note(f"empty database ready at {target.path or target.url} (schema {HEAD}, no records)")
        return
    summary = create_database(target)
    note(f"database ready at {target.path or target.url}: {summary}")


def _refuse_foreign_file(target: "Target") -> None:
    """Do not migrate somebody else's SQLite file into a kzdiplo database, a half-created
    one (tables, no revision) or one from a newer kzdiplo (Alembic would fail half-way)."""
    import sqlite3

    from kzdiplo.access import check_sqlite_file, newer_schema, no_revision
    from kzdiplo.files import sqlite_read_uri
    from kzdiplo.reader import REVISIONS

    path = target.path
    assert path is not None  # called for SQLite files only
    check_sqlite_file(path, empty_ok=True)
    conn = sqlite3.connect(sqlite_read_uri(path), uri=True)
    try:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        revisions = (
            [r[0] for r in conn.execute("SELECT version_num FROM alembic_version")]
            if "alembic_version" in names
            else []
        )
    except sqlite3.DatabaseError as exc:
        raise UsageError(f"{path} cannot be read ({exc}): kzdiplo db check says more") from None
    finally:
        conn.close()
    if names and "alembic_version" not in names:
        raise UsageError(
            f"{path} holds other tables and is not a kzdiplo database; not touching it"
        )
    if names - {"alembic_version"} and not revisions:
        raise no_revision(target)
    for revision in revisions:
        if revision not in REVISIONS:
            raise newer_schema(revision)


@app.command()
@guarded
def upgrade(ctx: typer.Context) -> None:
    """Migrate the database to the schema this kzdiplo needs (safe to repeat).

    \b
    Example:
      kzdiplo --db ./kz.db db upgrade
    """
    from kzdiplo.access import note
    from kzdiplo.migrate import upgrade as run_upgrade
    from kzdiplo.reader import HEAD

    target = _target(ctx)
    if target.path is not None:
        _refuse_foreign_file(target)
    run_upgrade(target.url)
    note(f"schema at revision {HEAD}")


@app.command()
@guarded
def current(ctx: typer.Context) -> None:
    """Print the database's schema revision and the one this kzdiplo needs.

    \b
    Example:
      kzdiplo db current
    """
    from kzdiplo.reader import HEAD, SqliteReader, schema_revision, server_reader

    target = _target(ctx)
    reader = SqliteReader(target.path) if target.path else server_reader(target.url)
    try:
        revision = schema_revision(reader)
    finally:
        reader.close()
    status = "up to date" if revision == HEAD else "run `kzdiplo db upgrade`"
    print(f"database: {revision or 'none'}  kzdiplo: {HEAD}  ({status})")


@app.command()
@guarded
def seed(ctx: typer.Context) -> None:
    """Load the seed data again (idempotent: unchanged records are left alone).

    \b
    Example:
      kzdiplo db seed
    """
    from kzdiplo.access import note, writing
    from kzdiplo.loader import LoadError
    from kzdiplo.seed import seed as run_seed

    try:
        with writing(state(ctx).db) as engine:
            report = run_seed(engine)
    except LoadError as exc:
        raise KzError(str(exc)) from None
    note(f"seeded: {report.summary()}")


@app.command()
@guarded
def backup(
    ctx: typer.Context,
    dest: Annotated[Path, typer.Argument(help="The file to write (must not exist).")],
    force: Annotated[bool, typer.Option("--force", help="Replace DEST if it exists.")] = False,
) -> None:
    """Copy the database with SQLite's online backup API: a consistent snapshot, safe
    while other processes read or write.

    \b
    Example:
      kzdiplo db backup ~/kzdiplo-2026-11-28.db
    """
    from kzdiplo.access import note
    from kzdiplo.export import sqlite_backup
    from kzdiplo.files import refuse_database

    target = _target(ctx)
    if target.path is None:
        raise UsageError("db backup works on SQLite databases (use pg_dump for PostgreSQL)")
    if str(dest) == "-":
        raise UsageError("db backup writes a file, not stdout: give a file name")
    refuse_database(dest, target.path)
    if dest.is_dir():
        raise UsageError(f"{dest} is a folder: give a file name")
    if dest.exists() and not dest.is_file():
        raise UsageError(f"{dest} is not a regular file")
    if (dest.exists() or dest.is_symlink()) and not force:
        raise UsageError(f"{dest} exists (--force replaces a file)")
    if not dest.parent.is_dir():
        raise UsageError(f"{dest.parent}: no such folder")
    sqlite_backup(target.path, dest)
    note(f"backed up {target.path} to {dest}")


@app.command()
@guarded
def check(ctx: typer.Context) -> None:
    """Check integrity: SQLite's own checks, foreign keys, the search index, and that
    every citation quote is still in its source's text. Exit 1 when anything is wrong.

    \b
    Example:
      kzdiplo db check
    """
    from kzdiplo.access import open_reader
    from kzdiplo.checks import run_checks
    from kzdiplo.reader import SqliteReader

    try:
        reader = open_reader(state(ctx).db)
    except KzError as exc:
        target = _target(ctx)  # a missing, empty or foreign file stops here
        if target.path is None:
            raise
        # A damaged kzdiplo file: run every check anyway and report what fails.
        from kzdiplo.config import scrub

        say(f"FAIL  opening the database: {scrub(str(exc))}")
        try:
            reader = SqliteReader(target.path)
        except Exception:
            raise KzError("1 check(s) failed") from None
    try:
        results = run_checks(reader)
    finally:
        reader.close()
    failed = 0
    for name, problems in results:
        say(f"{'ok  ' if not problems else 'FAIL'}  {name}")
        for problem in problems[:20]:
            say(f"      {problem}")  # problems quote data: one line each, shown not obeyed
        if len(problems) > 20:
            print(f"      ... and {len(problems) - 20} more")
        failed += bool(problems)
    if failed:
        raise KzError(f"{failed} check(s) failed")


def grant_readonly_sql(role: str, database: str, password: str | None) -> list[str]:
    """The statements that create (or update) a login role that can only read."""
    quoted_db = '"' + database.replace('"', '""') + '"'
    login = "LOGIN" + (" PASSWORD '" + password.replace("'", "''") + "'" if password else "")
    return [
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') "
        f"THEN CREATE ROLE {role}; END IF; END $$",
        f"ALTER ROLE {role} WITH {login} NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT",
        f"ALTER ROLE {role} SET default_transaction_read_only = on",
        f"REVOKE ALL ON DATABASE {quoted_db} FROM {role}",
        f"GRANT CONNECT ON DATABASE {quoted_db} TO {role}",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO {role}",
        # What every role gets by default (PUBLIC): objects in the public schema and
        # temporary tables. Migrations run as the database owner, who keeps both.
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"REVOKE TEMPORARY ON DATABASE {quoted_db} FROM PUBLIC",
    ]


# Granted to PUBLIC by default and revocable only by a superuser: large objects (which any
# role may create) and the advisory locks (a reader holding kzdiplo's load lock would make
# loads wait, within their lock_timeout). The role running this keeps the load lock.
SUPERUSER_REVOKES = [
    "REVOKE EXECUTE ON FUNCTION lo_create(oid), lo_creat(integer), lo_import(text), "
    "lo_import(text, oid), lo_from_bytea(oid, bytea), lo_put(oid, bigint, bytea), "
    "lowrite(integer, bytea) FROM PUBLIC",
    "REVOKE EXECUTE ON FUNCTION pg_advisory_lock(bigint), pg_advisory_lock_shared(bigint), "
    "pg_try_advisory_lock(bigint), pg_try_advisory_lock_shared(bigint), "
    "pg_advisory_xact_lock(bigint), pg_advisory_xact_lock_shared(bigint), "
    "pg_try_advisory_xact_lock(bigint), pg_try_advisory_xact_lock_shared(bigint) FROM PUBLIC",
    "GRANT EXECUTE ON FUNCTION pg_advisory_xact_lock(bigint), "
    "pg_try_advisory_xact_lock(bigint) TO CURRENT_USER",
]


@app.command("grant-readonly")
@guarded
def grant_readonly(
    ctx: typer.Context,
    role: Annotated[
        str, typer.Option("--role", help="The read-only login role.")
    ] = "kzdiplo_reader",
    password: Annotated[
        str | None, typer.Option("--password", help="Its password (none: trust/peer auth).")
    ] = None,
    print_only: Annotated[
        bool, typer.Option("--print-sql", help="Print the SQL instead of running it.")
    ] = False,
) -> None:
    """PostgreSQL: create a login role that can only read, for `kzdiplo sql`. A READ ONLY
    transaction alone can be escaped (`SET TRANSACTION READ WRITE; DELETE ...`); a role
    with nothing but SELECT grants cannot.

    \b
    Example:
      export KZDIPLO_DATABASE_URL=postgresql+psycopg://admin@db/kzdiplo
      kzdiplo db grant-readonly --password s3cret
    """
    import re

    from sqlalchemy.engine import make_url

    from kzdiplo.access import note
    from kzdiplo.db import make_engine

    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", role):
        raise UsageError(f"--role {role!r}: use lower-case letters, digits and _")
    target = _target(ctx, must_exist=False)
    if target.is_sqlite:
        raise UsageError("grant-readonly is for PostgreSQL (SQLite opens the file read-only)")
    url = make_url(target.url)
    statements = grant_readonly_sql(role, url.database or "", password)
    if print_only:
        print(";\n".join(statements) + ";")
        print("-- as a superuser, also:\n" + ";\n".join(SUPERUSER_REVOKES) + ";")
        return
    engine = make_engine(target.url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
            superuser = conn.exec_driver_sql(
                "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
            ).scalar()
            if superuser:
                for statement in SUPERUSER_REVOKES:
                    conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
    if not superuser:
        note(
            "not a superuser: large-object and advisory-lock functions stay callable by "
            "every role (see --print-sql); loads still wait for the lock only so long"
        )
    readonly = url.set(username=role, password=password)
    note(
        f"role {role} can read {url.database}; set KZDIPLO_READONLY_URL="
        f"{readonly.render_as_string(hide_password=True)}"
    )
