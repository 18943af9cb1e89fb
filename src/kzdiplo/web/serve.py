"""``kzdiplo serve``: Datasette on a read-only copy of the database, set up for this data.

Datasette on the raw tables shows the data badly (a year-only date faceted on 1
January, "US, KZ" as one partner, no page with a record's citations). So serve copies
the SQLite file (the online backup API: a consistent snapshot), adds to the copy only
derived tables built from ``kzdiplo.queries`` (``records``: one row per record with its
partners, roles, sectors and years as JSON arrays for array facets; ``records_fts``;
``partner_money``), and serves the copy immutable, with generated metadata, canned
queries and the plugin in ``kzdiplo.web.plugin``. The user's database is never written.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from kzdiplo import licence
from kzdiplo.display import not_own, usd_total
from kzdiplo.entities import ENTITIES, LISTING_KEYS
from kzdiplo.errors import KzError, UsageError
from kzdiplo.fields import FIELDS, years
from kzdiplo.queries import NO_STAGE, Filters, list_records, partner_totals
from kzdiplo.reader import Reader, SqliteReader
from kzdiplo.views import VIEWS
from kzdiplo.vocab import PRECISIONS, in_words
from kzdiplo.web.pages import RECORD_PREFIX, label_of, record_url

DATABASE = "kzdiplo"  # the copy's file stem: Datasette's database name and URL path

# The answer first (what, which kind, when, how much, how far along, with whom), then
# the key and the columns for facets and search.
RECORDS_COLUMNS: dict[str, str] = {
    "title": "Title or name; links to the record's page with every citation",
    "noun": "agreement, deal, deposit, project or event",
    "date": "The main date as precisely as its sources give it ('2025', 'Nov 2025'; "
    "~ inferred): sort and filter by date_start and date_end",
    "date_text": "The source's wording of the main date (date, or a project's start)",
    "usd_low": "Deals: the lower US dollar figure (NULL: unpriced)",
    "usd_high": "Deals: the upper US dollar figure",
    "approximate": "1 when the source says 'nearly', 'about'...",
    "stage": "Agreements and deals: where it stands, as firmly as its sources say, or "
    "'not recorded' (no source gives one); NULL for other records",
    "partners": "JSON array of partner keys (ISO code or organisation slug), one per party",
    "kind": "The record's kind (signing, summit, mou...)",
    "disputes": LISTING_KEYS["disputes"],
    "slug": "The record's key (kzdiplo show NOUN SLUG)",
    "date_start": "First day the main date may fall on",
    "date_end": "Last day the main date may fall on",
    "date_precision": in_words(PRECISIONS),
    "years": "JSON array: every year any of the record's dates may fall in (a project "
    "completing 'between 2035 and 2036' is in both); facet with _facet_array",
    "partner_countries": "JSON array: the partners' countries, an organisation counted "
    "under its home country",
    "roles": "JSON array of the parties' roles (signatory, payer, host...)",
    "partner_roles": "JSON array of 'PARTNER: role' pairs",
    "sectors": "JSON array of sector slugs",
    "disputed_fields": "JSON array of the disputed fields",
    "source_count": LISTING_KEYS["source_count"],
    "independent_sources": LISTING_KEYS["independent_sources"],
    "summary": "Our summary of the record (our words, not a quotation)",
    "quotes": "Every citation's text, for search (quotes verbatim, summaries ours)",
    "page": "The record's page in this Datasette",
}
MONEY_COLUMNS: dict[str, str] = {
    "partner": "Partner key (country, bloc, or organisation without a home country)",
    "name": "Partner name",
    "stage": "Stage of the records counted (NULL: not recorded)",
    "from_partner": "Its own money from it, as money (the money_flows ledger's basis whole "
    "or stated_share)",
    "to_partner": "Its own money to it, as money",
    "usd_from_low": "US dollars from the partner (its own, from the money_flows ledger), low",
    "usd_from_high": "US dollars from the partner, high",
    "usd_to_low": "US dollars to the partner (its own, from the money_flows ledger), low",
    "usd_to_high": "US dollars to the partner, high",
    "approximate": "1 when any figure added is approximate ('nearly')",
    "not_own": "Money it takes part in that is not its own to add (whole sums): paid with "
    "others or received with other states with no split stated, targets, no direction",
    "unpriced_deals": "Deals with no amount in any source (counted, not added)",
    "deals": "Deals the partner takes part in",
    "agreements": "Agreements, packages expanded",
}


def _row(noun: str, r: dict[str, Any], home: dict[str, str | None]) -> dict[str, Any]:
    main = ENTITIES[noun].date  # the partial date --year and the timeline use
    date = r.get(main) if main else None
    usd = r.get("usd") or {}
    parties = r.get("partners", [])
    keys = list(dict.fromkeys(p["key"] for p in parties))
    countries = list(dict.fromkeys(
        c for p in parties
        if (c := p["key"] if p["type"] == "country" else home.get(p["key"])) is not None
    ))  # fmt: skip
    return {
        "noun": noun,
        "slug": r["slug"],
        "title": label_of(r),
        "kind": r.get("kind"),
        "stage": r.get("stage") or ("not recorded" if ENTITIES[noun].has_stages else None),
        "date": FIELDS[main].text(date) if main and date else None,
        "date_text": date and (date.get("text") or None),
        "date_start": date and date["start"],
        "date_end": date and date["end"],
        "date_precision": date and date["precision"],
        "years": json.dumps([str(y) for y in years(r)]),
        "partners": json.dumps(keys),
        "partner_countries": json.dumps(countries),
        "roles": json.dumps(sorted({p["role"] for p in parties if p["role"]})),
        "partner_roles": json.dumps([f"{p['key']}: {p['role']}" for p in parties]),
        "sectors": json.dumps(r.get("sectors", [])),
        "usd_low": usd.get("low"),
        "usd_high": usd.get("high"),
        "approximate": int(bool((r.get("amount") or {}).get("approximate"))),
        "disputes": r["disputes"],
        "disputed_fields": json.dumps(r["disputed_fields"]),
        "source_count": r["source_count"],
        "independent_sources": r["independent_sources"],
        "summary": r.get("summary"),
        "quotes": " ".join(c.get("quote") or c.get("summary") or "" for c in r["sources"]),
        "page": record_url(noun, r["slug"]),
    }


def _money_rows(reader: Reader) -> list[dict[str, Any]]:
    rows = []
    for p in partner_totals(reader):
        for stage, s in p["by_stage"].items():
            f, t = s["usd_from_partner"] or {}, s["usd_to_partner"] or {}
            rows.append({
                "partner": p["key"], "name": p["name"],
                "stage": None if stage == NO_STAGE else stage,
                "from_partner": usd_total(f) if f else None,
                "to_partner": usd_total(t) if t else None,
                "usd_from_low": f.get("low"), "usd_from_high": f.get("high"),
                "usd_to_low": t.get("low"), "usd_to_high": t.get("high"),
                "approximate": int(bool(f.get("approximate") or t.get("approximate"))),
                "not_own": "; ".join(not_own(s)) or None,
                "unpriced_deals": s["unpriced_deals"], "deals": s["deals"],
                "agreements": s["agreements"],
            })  # fmt: skip
    return rows


def _create(conn: sqlite3.Connection, table: str, columns: dict[str, str], rows: list[Any]) -> None:
    conn.execute(f"DROP TABLE IF EXISTS {table}")
    conn.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
    marks = ", ".join(f":{c}" for c in columns)
    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)


def build_copy(source: Path, folder: Path) -> Path:
    """A copy of ``source`` in ``folder`` with the derived tables; returns its path."""
    from kzdiplo.export import sqlite_backup

    target = sqlite_backup(source, folder / f"{DATABASE}.db")
    reader = SqliteReader(target)
    try:
        home = {
            r["slug"]: r["code"]
            for r in reader.rows(
                "SELECT o.slug, c.code FROM organizations o "
                "LEFT JOIN countries c ON c.id = o.country_id"
            )
        }
        records = [
            _row(name, r, home)
            for name, noun in ENTITIES.items()
            for r in list_records(reader, noun, Filters(limit=None)).records
        ]
        money = _money_rows(reader)
    finally:
        reader.close()
    conn = sqlite3.connect(target)
    try:
        with conn:
            _create(conn, "records", RECORDS_COLUMNS, records)
            _create(conn, "partner_money", MONEY_COLUMNS, money)
            conn.execute("DROP TABLE IF EXISTS records_fts")
            conn.execute(
                "CREATE VIRTUAL TABLE records_fts USING fts5(title, summary, quotes, "
                "content='records', content_rowid='rowid')"
            )
            conn.execute("INSERT INTO records_fts(records_fts) VALUES ('rebuild')")
    finally:
        conn.close()
    return target


def value_limit(copy: Path) -> int:
    """SQLite's value-size limit for the served ``copy``: MIN_VALUE_BYTES, or more when
    a stored value is longer (it must stay readable). One call to a function that
    compares two strings takes time in proportion to their product, and a LIKE to the
    value times its pattern: a small limit keeps each call short."""
    conn = sqlite3.connect(copy)
    try:
        return max(MIN_VALUE_BYTES, longest_value(conn) + 1)
    finally:
        conn.close()


_SIGNED = ("signed", "approved", "in_force", "disbursing", "completed")
_HAS_PARTNER = (
    "(EXISTS (SELECT 1 FROM json_each(records.partners) WHERE lower(value) = lower(:partner))"
    " OR EXISTS (SELECT 1 FROM json_each(records.partner_countries) "
    "WHERE lower(value) = lower(:partner)))"
)
CANNED: dict[str, dict[str, str]] = {
    "signed_with_partner": {
        "title": "Agreements and deals with a partner",
        "description": "Every agreement and deal with a partner (a country includes its "
        "organisations: try US, CN, EU, rosatom), its stage, date and page. "
        f"signed = 1 for stages at or past signing ({', '.join(_SIGNED)}); a stage not "
        "recorded is shown as such, not guessed.",
        "sql": "SELECT noun, title, stage, CASE WHEN stage IN "
        f"({', '.join(repr(s) for s in _SIGNED)}) THEN 1 ELSE 0 END AS signed, date_text, "
        f"date_start, date_end, partners, disputes, page FROM records WHERE noun IN "
        f"('agreement', 'deal') AND {_HAS_PARTNER} ORDER BY date_start IS NULL, date_start",
    },
    "money_by_partner_and_stage": {
        "title": "Money by partner and stage",
        "description": "Each partner's own money from and to it, by stage, summed from the "
        "money_flows ledger as kzdiplo partners sums it: a deal counts for a partner alone "
        "on its side or with a stated share, once. not_own lists, with whole sums, what it "
        "takes part in but cannot be credited with (shared or regional with no split, "
        "targets, no direction). Ranges as low/high; approximate = 1 for 'nearly'.",
        "sql": "SELECT * FROM partner_money ORDER BY max(coalesce(usd_from_high, 0), "
        "coalesce(usd_to_high, 0)) DESC, agreements DESC, partner",
    },
    "timeline": {
        "title": "The timeline",
        "description": f"{VIEWS['timeline']}. Here from the records table, with the range "
        "a partial date may fall in: a year-only date runs from 1 January to 31 December.",
        "sql": "SELECT date_text, date_start, date_end, date_precision, title, partners, "
        "disputes, page FROM records WHERE noun = 'event' "
        "ORDER BY date_start IS NULL, date_start, date_end",
    },
    "disputed_facts": {
        "title": "Disputed facts",
        "description": f"{VIEWS['discrepancy_details']}; here the disagreements only.",
        "sql": "SELECT record_type, record_key, field, record_says, source_says, note, "
        f"source_title, publisher, url, '{RECORD_PREFIX}' || record_type || '/' || "
        "record_key AS page FROM discrepancy_details WHERE kind = 'disagreement' "
        "ORDER BY record_type, record_key, field",
    },
    "single_source_facts": {
        "title": "Facts resting on one source",
        "description": "Records whose citations all come from one independent origin (a "
        "republication counts with what it republishes).",
        "sql": "SELECT noun, title, source_count, independent_sources, page FROM records "
        "WHERE independent_sources <= 1 ORDER BY noun, title",
    },
}


def metadata(reader: Reader) -> dict[str, Any]:
    """Datasette metadata: the export's descriptions of every table and view, the
    derived tables' columns, licences (data and code apart), facets, canned queries."""
    from kzdiplo.export import datasette_metadata

    meta = datasette_metadata(reader)
    tables = meta["databases"].pop("kzdiplo")["tables"]
    tables["records"] = {
        "description": "Derived for browsing: one row per record, lists as JSON arrays "
        "(facets count US and KZ apart), years as every year a date may fall in",
        "columns": RECORDS_COLUMNS,
        "facets": [
            "noun",
            "stage",
            {"array": "partners"},
            {"array": "roles"},
            {"array": "sectors"},
            {"array": "years"},
        ],
        "fts_table": "records_fts",
        "fts_pk": "rowid",
        "sort": "title",
        "label_column": "title",
    }
    tables["partner_money"] = {
        "description": "Derived: kzdiplo partners' totals per partner and stage",
        "columns": MONEY_COLUMNS,
    }
    tables["records_fts"] = {"hidden": True}
    # The licence is in the footer of every page, once: the data's (linked) and the code's.
    meta |= {
        "about": f"{meta['about']}; code licence: {licence.CODE_LICENCE}",
        "description_html": "<p>A sourced database: every record cites the sentence it "
        "rests on.</p>",
    }
    meta.pop("description", None)
    # A canned query's page takes its footer from the query alone: give each the licence.
    keep = ("license", "license_url", "source", "source_url", "about")
    footer = {k: meta[k] for k in keep if meta.get(k)}
    queries = {name: footer | query for name, query in CANNED.items()}
    meta["databases"] = {DATABASE: {"tables": tables, "queries": queries}}
    return meta


# Bounds on every request (Datasette's settings): a query stops at SQL_TIME_LIMIT_MS (a
# progress handler; the plugin's prepare_connection makes every function call short enough
# to reach it), returns at most MAX_RETURNED_ROWS rows of at most the copy's longest value,
# and NUM_SQL_THREADS queries run at once, so a slow one holds a thread about a second.
SQL_TIME_LIMIT_MS = 1000
MAX_RETURNED_ROWS = 200
NUM_SQL_THREADS = 3
MIN_VALUE_BYTES = 1_000_000  # the value limit, unless the copy holds a longer value


def longest_value(conn: sqlite3.Connection) -> int:
    """The size in bytes of the longest value in any table of ``conn``'s database."""
    longest = 0
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    for table in tables:
        columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
        sizes = ", ".join(f'coalesce(length(CAST("{c}" AS BLOB)), 0)' for c in columns)
        (size,) = conn.execute(f'SELECT max(max(0, {sizes})) FROM "{table}"').fetchone()
        longest = max(longest, size or 0)
    return longest


def make_datasette(copy: Path, meta: dict[str, Any]) -> Any:
    """A Datasette on the immutable ``copy`` with kzdiplo's plugin and templates."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    from kzdiplo.web import plugin

    if not pm.is_registered(plugin):
        pm.register(plugin, name="kzdiplo")
    templates = resources.files("kzdiplo.web") / "templates"
    return Datasette(
        immutables=[str(copy)],
        metadata=meta,
        template_dir=str(templates),
        settings={
            "suggest_facets": False,
            "default_facet_size": 20,
            "sql_time_limit_ms": SQL_TIME_LIMIT_MS,
            "max_returned_rows": MAX_RETURNED_ROWS,
            "num_sql_threads": NUM_SQL_THREADS,
        },
    )


def _check_port(host: str, port: int) -> None:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except socket.gaierror:
            raise UsageError(f"--host {host!r} is not an address of this machine") from None
        except OSError as exc:
            raise KzError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


class HostGuard:
    """ASGI middleware: answer only requests whose ``Host`` names this server (the
    loopback names and ``--host``, plus any ``--allow-host``); anything else gets 400.
    A web page elsewhere can point its own domain at 127.0.0.1 (DNS rebinding) and then
    read this server as if same-origin: its requests carry that domain as ``Host``."""

    def __init__(self, app: Any, hosts: set[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    def allowed(self, host_header: str) -> bool:
        name = host_header.strip().lower()
        if name.startswith("["):  # [::1]:8001
            name = name[: name.find("]") + 1] if "]" in name else name
        else:
            name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
        return name in self.hosts

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] in ("http", "websocket"):
            headers = dict(scope.get("headers") or [])
            host = headers.get(b"host", b"").decode("latin-1")
            if not self.allowed(host):
                body = b"kzdiplo serve: unknown Host header\n"
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                        (b"content-length", str(len(body)).encode())]})  # fmt: skip
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def served_hosts(host: str, extra: list[str] | None = None) -> set[str]:
    """The names a Host header may carry: loopback, ``--host`` and ``--allow-host``."""
    names = {*LOCAL_NAMES, *(extra or [])}
    names.add(f"[{host}]" if ":" in host and not host.startswith("[") else host)
    return names


class Stopped(Exception):
    """SIGTERM (or SIGINT) arrived: leave the ``with`` blocks, removing the copy."""


def _stop(signum: int, _frame: Any) -> None:
    raise Stopped(signum)


def run(db: str | None, host: str, port: int, allow_hosts: list[str] | None = None) -> None:
    """Build the copy in a temporary folder and serve it until interrupted; the copy is
    removed on SIGTERM and SIGINT as on any other exit (SIGKILL cannot be caught)."""
    import signal

    from kzdiplo.access import open_reader
    from kzdiplo.config import resolve, sqlite_path_of

    target = resolve(db)
    path = target.path or sqlite_path_of(target.url)
    if not target.is_sqlite or path is None:
        raise UsageError(
            "serve reads SQLite: for PostgreSQL run `kzdiplo export --format sqlite --out DIR`"
            " then `kzdiplo --db DIR/kzdiplo.db serve`"
        )
    try:
        import datasette  # noqa: F401  (only to fail early, in one line)
        import uvicorn
    except ImportError:
        raise KzError("serve needs the web extra: pip install 'kzdiplo[web]'") from None
    _check_port(host, port)  # before the database: a bad --host creates nothing
    open_reader(db).close()  # a missing, foreign or outdated database fails here, in one line
    # uvicorn catches both signals to shut down, then raises them again: these handlers
    # turn that into an exception, so the temporary folder below is removed.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _stop)
    try:
        with tempfile.TemporaryDirectory(prefix="kzdiplo-serve-") as folder:
            copy = build_copy(path, Path(folder))
            reader = SqliteReader(copy)
            try:
                meta = metadata(reader)
            finally:
                reader.close()
            meta["plugins"] = {"kzdiplo": {"max_value_bytes": value_limit(copy)}}
            ds = make_datasette(copy, meta)
            asyncio.run(ds.invoke_startup())
            print(f"kzdiplo: serving a read-only copy at http://{host}:{port}/", file=sys.stderr)
            app = HostGuard(ds.app(), served_hosts(host, allow_hosts))
            uvicorn.run(app, host=host, port=port, log_level="warning")
    except Stopped:
        print("kzdiplo: stopped; the temporary copy is removed", file=sys.stderr)
