#!/usr/bin/env bash
# Run a command with a throwaway PostgreSQL cluster on 127.0.0.1, e.g.
#   scripts/with-postgres.sh .venv/bin/python -m pytest
# It installs PostgreSQL from apt when missing (as root), starts a cluster in a
# temporary folder (initdb + pg_ctl; as the postgres user when run as root; fsync off),
# exports KZDIPLO_TEST_POSTGRES_URL (a superuser URL; the tests create their own
# databases and roles) and stops and removes the cluster on exit, also on failure.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pg_bin)" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "with-postgres: PostgreSQL is not installed (apt-get install postgresql)" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
BIN="$(pg_bin)"

as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

work="$(mktemp -d)"
chmod 755 "$work"
[ "$(id -u)" = 0 ] && chown postgres "$work"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

cleanup() {
    as_owner "$BIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

as_owner "$BIN/initdb" -D "$work/data" -U postgres -A trust --no-sync -E UTF8 --locale=C >/dev/null
as_owner "$BIN/pg_ctl" -D "$work/data" -l "$work/log" -w start -o \
    "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off" >/dev/null

export KZDIPLO_TEST_POSTGRES_URL="postgresql+psycopg://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
"$@"
