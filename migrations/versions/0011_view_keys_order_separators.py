"""Views for people who write SQL: fields apart in search documents, the timeline in date
order, the same join keys in every view.

- ``search_documents`` (and so the search index on both backends) puts each of a
  record's fields, and each citation's text, on a line of its own (they were joined with
  a space) and leaves empty fields out; ``kzdiplo search`` shows each line break in a
  snippet as `` | ``, so a snippet shows where a summary ends and a quote begins. A
  line break, not a visible mark, on purpose: FTS5's unicode61 and PostgreSQL's parser
  skip it as they skipped the space (PostgreSQL in the C locale makes a word of a
  non-ASCII ``·``), so the indexed words and their positions, hence matches and ranks,
  are what they were; and FTS5's snippet() skips it as white space when it looks for a
  sentence start before a word (a ``.`` or ``:``), so snippets start where they did.
  SQLite's triggers (0002) build the documents themselves: they are rebuilt. On
  PostgreSQL the triggers (0006) re-read the view: only the stored documents are
  rebuilt. ``search_documents`` also gets ``record_type`` (country or organization
  where ``noun`` says partner) and ``record_key``, the join keys of the other views.
- ``timeline`` lists events by their partial date's start (undated last), then end,
  then id: the ORDER BY of the ``ix_events_date_order`` index (0005).
- ``party_details``, ``agreement_overview``, ``deal_overview`` and ``timeline`` get
  ``record_type`` and ``record_key`` (``citation_details`` and ``discrepancy_details``
  have them), so any two views join ``USING (record_type, record_key)``. New columns
  come last: every existing column keeps its name and place.

The downgrade restores 0010's views, triggers and documents.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SEPARATOR = "\n"  # in SQL a string literal may hold a line break (both backends)


# --- search documents ------------------------------------------------------------------


def _agg(dialect: str) -> str:
    return "string_agg" if dialect == "postgresql" else "group_concat"


def _field(column: str, dialect: str, new: bool) -> str:
    if column == "aliases":  # a JSON list: index the names, not the brackets
        text = "t.aliases::text" if dialect == "postgresql" else "t.aliases"
        names = f"REPLACE(REPLACE(REPLACE({text}, '[\"', ''), '\"]', ''), '\", \"', '; ')"
        return f"NULLIF({names}, '[]')" if new else names  # an empty list holds no word
    return f"t.{column}"


def _quotes(column: str, dialect: str, new: bool) -> str:
    """The texts of the citations of record ``t``, one a line (0010: space-joined)."""
    between = SEPARATOR if new else " "
    return (
        f"(SELECT {_agg(dialect)}(ci.text, '{between}') FROM citations ci "
        f"WHERE ci.{column} = t.id)"
    )


def _join(parts: list[str], new: bool) -> str:
    """0010: every part (NULL as ''), space-joined. New: the non-empty parts, SEPARATOR
    between them (each gets it in front, and substr cuts the first)."""
    if not new:
        return " || ' ' || ".join(f"COALESCE({p}, '')" for p in parts)
    pieces = " || ".join(f"COALESCE('{SEPARATOR}' || NULLIF({p}, ''), '')" for p in parts)
    return f"substr({pieces}, {len(SEPARATOR) + 1})"


def _nouns(dialect: str, new: bool) -> list[tuple[int, str, str, str, str, str, str]]:
    """(noun number, noun, table, key column, record_type, title SQL, body SQL)."""

    def title(*columns: str) -> str:
        return _join([_field(c, dialect, new) for c in columns], new)

    def body(citation_column: str, *columns: str) -> str:
        fields = [_field(c, dialect, new) for c in columns]
        return _join([*fields, _quotes(citation_column, dialect, new)], new)

    return [
        (0, "agreement", "agreements", "slug", "agreement", title("title", "aliases"),
         body("agreement_id", "kind", "summary", "notes", "date_text")),
        (1, "deal", "deals", "slug", "deal", title("title"),
         body("deal_id", "kind", "amount_text", "stake", "summary", "notes")),
        (2, "deposit", "mineral_deposits", "slug", "deposit", title("name", "aliases"),
         body("deposit_id", "commodity", "status", "location", "summary", "notes")),
        (3, "project", "infrastructure_projects", "slug", "project", title("name", "aliases"),
         body("project_id", "kind", "status", "capacity_text", "cost_text", "location",
              "summary", "notes")),
        (4, "event", "events", "slug", "event", title("title"),
         body("event_id", "kind", "location", "date_text", "summary", "notes")),
        (5, "partner", "countries", "code", "country",
         title("name", "official_name", "aliases", "code", "alpha3"),
         body("country_id", "relationship_level", "summary")),
        (6, "partner", "organizations", "slug", "organization", title("name", "aliases"),
         body("organization_id", "kind", "summary")),
    ]


def _document(noun: tuple[int, str, str, str, str, str, str], view: bool, new: bool) -> str:
    """One record table's SELECT of documents: the view's (with the join keys from this
    revision) or the search index's columns (what the SQLite triggers insert)."""
    number, name, table, key, record_type, title, body = noun
    label = "t.title" if table in ("agreements", "deals", "events") else "t.name"
    keys = f", '{record_type}' AS record_type, t.{key} AS record_key" if view and new else ""
    return (
        f"SELECT t.id * 8 + {number} AS doc_id, '{name}' AS noun, t.{key} AS key, "
        f"{label} AS label, {title} AS title, {body} AS body{keys} FROM {table} t"
    )


def _refresh(noun: tuple[int, str, str, str, str, str, str], id_: str, new: bool) -> str:
    return (
        f"DELETE FROM search_index WHERE rowid = {id_} * 8 + {noun[0]};\n"
        f"INSERT INTO search_index (rowid, noun, key, label, title, body) "
        f"{_document(noun, False, new)} WHERE t.id = {id_};\n"
    )


CITATION_COLUMNS = ("agreement_id", "deal_id", "deposit_id", "project_id", "event_id",
                    "country_id", "organization_id")  # noun numbers 0..6


def _triggers(new: bool) -> list[tuple[str, str]]:
    """(name, CREATE TRIGGER) of the SQLite triggers that keep search_index in step with
    every record table and with citations (the set of migration 0002)."""
    nouns = _nouns("sqlite", new)
    out = []
    for noun in nouns:
        number, table = noun[0], noun[2]
        refresh = _refresh(noun, "NEW.id", new)
        delete = f"DELETE FROM search_index WHERE rowid = OLD.id * 8 + {number};\n"
        out += [
            (f"search_{table}_ai", f"AFTER INSERT ON {table} BEGIN\n{refresh}END"),
            (f"search_{table}_au", f"AFTER UPDATE ON {table} BEGIN\n{delete}{refresh}END"),
            (f"search_{table}_ad", f"AFTER DELETE ON {table} BEGIN\n{delete}END"),
        ]
    for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
        body = "".join(
            _refresh(noun, f"{row}.{column}", new)
            for row in rows
            for noun, column in zip(nouns, CITATION_COLUMNS, strict=True)
        )
        name = f"search_citations_{event.lower()}"
        out.append((name, f"AFTER {event} ON citations BEGIN\n{body}END"))
    return [(name, f"CREATE TRIGGER {name} {sql}") for name, sql in out]


def _search(new: bool) -> None:
    dialect = op.get_bind().dialect.name
    sqlite = dialect == "sqlite"
    if sqlite:
        for name, _ in _triggers(not new):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP VIEW IF EXISTS search_documents")
    documents = "\nUNION ALL\n".join(_document(n, True, new) for n in _nouns(dialect, new))
    op.execute(f"CREATE VIEW search_documents AS {documents}")
    # Both backends' search_index hold (doc_id or rowid, noun, key, label, title, body);
    # PostgreSQL computes its tsvector column from title and body on insert.
    doc_id = "rowid" if sqlite else "doc_id"
    op.execute("DELETE FROM search_index")
    op.execute(
        f"INSERT INTO search_index ({doc_id}, noun, key, label, title, body) "
        "SELECT doc_id, noun, key, label, title, body FROM search_documents"
    )
    if sqlite:
        for _, statement in _triggers(new):
            op.execute(statement)


# --- the other views --------------------------------------------------------------------


def _partners_of(column: str, key: str, roles: str | None = None) -> str:
    agg = _agg(op.get_bind().dialect.name)
    role_filter = f" AND p.role IN ({roles})" if roles else ""
    return f"""(SELECT {agg}(COALESCE(pc.code, po.slug), ', ') FROM parties p
            LEFT JOIN countries pc ON pc.id = p.country_id
            LEFT JOIN organizations po ON po.id = p.organization_id
            WHERE p.{column} = {key}{role_filter})"""


def _sectors_of(column: str, key: str) -> str:
    agg = _agg(op.get_bind().dialect.name)
    return f"""(SELECT {agg}(s.slug, ', ') FROM record_sectors rs
            JOIN sectors s ON s.id = rs.sector_id WHERE rs.{column} = {key})"""


def _party_details(new: bool) -> str:
    """0001's view; from 0011 with record_key, the record's slug."""
    key = ",\n    COALESCE(a.slug, d.slug, m.slug, ip.slug, e.slug) AS record_key" if new else ""
    joins = """
LEFT JOIN agreements a ON a.id = p.agreement_id
LEFT JOIN deals d ON d.id = p.deal_id
LEFT JOIN mineral_deposits m ON m.id = p.deposit_id
LEFT JOIN infrastructure_projects ip ON ip.id = p.project_id
LEFT JOIN events e ON e.id = p.event_id""" if new else ""
    return f"""
SELECT p.id AS party_id, p.role,
    CASE
        WHEN p.agreement_id IS NOT NULL THEN 'agreement'
        WHEN p.deal_id IS NOT NULL THEN 'deal'
        WHEN p.deposit_id IS NOT NULL THEN 'deposit'
        WHEN p.project_id IS NOT NULL THEN 'project'
        WHEN p.event_id IS NOT NULL THEN 'event'
        WHEN p.country_id IS NOT NULL THEN 'country'
        WHEN p.organization_id IS NOT NULL THEN 'organization' END AS record_type,
    COALESCE(p.agreement_id, p.deal_id, p.deposit_id, p.project_id, p.event_id) AS record_id,
    CASE WHEN p.country_id IS NOT NULL THEN 'country' ELSE 'organization' END AS partner_type,
    COALESCE(c.code, o.slug) AS partner_key,
    COALESCE(c.name, o.name) AS partner_name,
    COALESCE(c.code, oc.code) AS partner_country{key}
FROM parties p
LEFT JOIN countries c ON c.id = p.country_id
LEFT JOIN organizations o ON o.id = p.organization_id
LEFT JOIN countries oc ON oc.id = o.country_id{joins}"""


def _agreement_overview(new: bool) -> str:
    """0001's view; from 0011 with record_type and record_key."""
    keys = ",\n    'agreement' AS record_type, a.slug AS record_key" if new else ""
    return f"""
SELECT a.id, a.slug, a.title, a.kind, a.count, a.date_start, a.date_end,
    a.date_precision, a.date_text, a.date_inferred,
    {_partners_of("agreement_id", "a.id")} AS partners,
    {_sectors_of("agreement_id", "a.id")} AS sectors,
    a.summary{keys}
FROM agreements a"""


def _deal_overview(new: bool) -> str:
    """0009's view; from 0011 with record_type and record_key."""
    keys = ",\n    'deal' AS record_type, d.slug AS record_key" if new else ""
    return f"""
SELECT d.id, d.slug, d.title, d.kind, d.stage,
    (SELECT od.slug FROM deal_overlaps x JOIN deals od ON od.id = x.overlaps_id
        WHERE x.deal_id = d.id) AS counted_in,
    d.amount_low, d.amount_high, d.currency, d.approximate, d.qualifier, d.amount_text,
    d.usd_low, d.usd_high, d.usd_rate, d.usd_rate_date, d.usd_rate_source, d.stake,
    {_partners_of("deal_id", "d.id", "'investor', 'financier', 'co-financier', 'acquirer'")}
        AS payers,
    {_partners_of("deal_id", "d.id", "'recipient', 'beneficiary'")} AS recipients,
    a.slug AS agreement, m.slug AS deposit, ip.slug AS project,
    CASE WHEN d.parent_id IS NULL THEN 0 ELSE 1 END AS is_part,
    d.date_start, d.date_end, d.date_precision, d.date_text,
    {_sectors_of("deal_id", "d.id")} AS sectors,
    d.summary{keys}
FROM deals d
LEFT JOIN agreements a ON a.id = d.agreement_id
LEFT JOIN mineral_deposits m ON m.id = d.deposit_id
LEFT JOIN infrastructure_projects ip ON ip.id = d.project_id"""


def _timeline(new: bool) -> str:
    """0001's view; from 0011 in date order, with record_type and record_key."""
    keys = ",\n    'event' AS record_type, e.slug AS record_key" if new else ""
    order = "\nORDER BY (e.date_start IS NULL), e.date_start, e.date_end, e.id" if new else ""
    return f"""
SELECT e.id, e.slug, e.date_start, e.date_end, e.date_precision, e.date_text, e.title,
    e.kind, e.location, {_partners_of("event_id", "e.id")} AS partners,
    a.slug AS agreement, d.slug AS deal, m.slug AS deposit, ip.slug AS project{keys}
FROM events e
LEFT JOIN agreements a ON a.id = e.agreement_id
LEFT JOIN deals d ON d.id = e.deal_id
LEFT JOIN mineral_deposits m ON m.id = e.deposit_id
LEFT JOIN infrastructure_projects ip ON ip.id = e.project_id{order}"""


VIEWS = {
    "party_details": _party_details,
    "agreement_overview": _agreement_overview,
    "deal_overview": _deal_overview,
    "timeline": _timeline,
}


def _views(new: bool) -> None:
    for name, sql in VIEWS.items():
        op.execute(f"DROP VIEW IF EXISTS {name}")
        op.execute(f"CREATE VIEW {name} AS {sql(new)}")


def upgrade() -> None:
    _views(new=True)
    _search(new=True)


def downgrade() -> None:
    _search(new=False)
    _views(new=False)
