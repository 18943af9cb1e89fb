"""The browse tables' columns, indexes and facets, as plain data (kzdiplo.browse fills
the tables; models.py builds their SQLAlchemy tables from this module, which imports
nothing of kzdiplo's but the vocabularies)."""

from __future__ import annotations

from kzdiplo.vocab import PRECISIONS, in_words

# The answer first (what, which kind, when, how much, how far along, with whom), then
# the key and the columns for facets and search. Each column: (SQL type, description).
RECORDS_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("INTEGER", "The search index's document id: record id * 8 + noun number"),
    "title": ("TEXT", "Title or name; links to the record's page with every citation"),
    "noun": ("TEXT", "agreement, deal, deposit, project or event"),
    "date": ("TEXT", "The main date as precisely as its sources give it ('2025', 'Nov 2025'; "
             "~ inferred): sort and filter by date_start and date_end"),
    "date_text": ("TEXT", "The source's wording of the main date (date, or a project's start)"),
    "usd_low": ("BIGINT", "Deals: the lower US dollar figure (NULL: unpriced)"),
    "usd_high": ("BIGINT", "Deals: the upper US dollar figure"),
    "approximate": ("INTEGER", "1 when the source says 'nearly', 'about'..."),
    "stage": ("TEXT", "Agreements and deals: where it stands, as firmly as its sources say, "
              "or 'not recorded' (no source gives one); NULL for other records"),
    "partners": ("TEXT", "JSON array of partner keys (ISO code or organisation slug), one "
                 "per party"),
    "kind": ("TEXT", "The record's kind (signing, summit, mou...)"),
    "disputes": ("INTEGER", "Disagreements a second source raises against the record"),
    "slug": ("TEXT", "The record's key (kzdiplo show NOUN SLUG)"),
    "date_start": ("TEXT", "First day the main date may fall on"),
    "date_end": ("TEXT", "Last day the main date may fall on"),
    "date_precision": ("TEXT", in_words(PRECISIONS)),
    "years": ("TEXT", "JSON array: every year any of the record's dates may fall in (a "
              "project completing 'between 2035 and 2036' is in both); facet with _facet_array"),
    "partner_countries": ("TEXT", "JSON array: the partners' countries, an organisation "
                          "counted under its home country"),
    "roles": ("TEXT", "JSON array of the parties' roles (signatory, payer, host...)"),
    "partner_roles": ("TEXT", "JSON array of 'PARTNER: role' pairs"),
    "sectors": ("TEXT", "JSON array of sector slugs"),
    "disputed_fields": ("TEXT", "JSON array of the disputed fields"),
    "source_count": ("INTEGER", "Sources its citations come from"),
    "independent_sources": ("INTEGER", "Independent origins of those sources (a "
                            "republication counts with what it republishes)"),
    "summary": ("TEXT", "Our summary of the record (our words, not a quotation)"),
    "quotes": ("TEXT", "Every citation's text, for search (quotes verbatim, summaries ours)"),
    "page": ("TEXT", "The record's page in this Datasette"),
}  # fmt: skip
MONEY_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("INTEGER", "Row id"),
    "partner": ("TEXT", "Partner key (country, bloc, or organisation without a home country)"),
    "name": ("TEXT", "Partner name"),
    "stage": ("TEXT", "Stage of the records counted (NULL: not recorded)"),
    "from_partner": ("TEXT", "Its own money from it, as money (the money_flows ledger's "
                     "basis whole or stated_share)"),
    "to_partner": ("TEXT", "Its own money to it, as money"),
    "usd_from_low": ("BIGINT", "US dollars from the partner (its own, from the money_flows "
                     "ledger), low"),
    "usd_from_high": ("BIGINT", "US dollars from the partner, high"),
    "usd_to_low": ("BIGINT", "US dollars to the partner (its own, from the money_flows "
                   "ledger), low"),
    "usd_to_high": ("BIGINT", "US dollars to the partner, high"),
    "approximate": ("INTEGER", "1 when any figure added is approximate ('nearly')"),
    "not_own": ("TEXT", "Money it takes part in that is not its own to add (whole sums): "
                "paid with others or received with other states with no split stated, "
                "targets, no direction"),
    "unpriced_deals": ("INTEGER", "Deals with no amount in any source (counted, not added)"),
    "deals": ("INTEGER", "Deals the partner takes part in"),
    "agreements": ("INTEGER", "Agreements, packages expanded"),
}  # fmt: skip
COUNTS_COLUMNS: dict[str, tuple[str, str]] = {
    "id": ("INTEGER", "Row id"),
    "noun": ("TEXT", "The kind of record counted (NULL: every record)"),
    "facet": ("TEXT", "A column of records (noun, stage, or a JSON array column: partners, "
              "roles, sectors, years), or 'placed': records with coordinates"),
    "value": ("TEXT", "The facet's value (for 'placed': the kind of record)"),
    "count": ("INTEGER", "Records of that kind with that value (an array column: records "
              "whose array holds it)"),
}  # fmt: skip

# The records page's facets: plain columns, then JSON arrays (Datasette's array facet).
COLUMN_FACETS = ("noun", "stage")
ARRAY_FACETS = ("partners", "roles", "sectors", "years")

# Indexes: (name, table, columns). noun and title serve the default listing (sorted by
# title, optionally of one kind) and Datasette's counts; records_counts is read by facet.
INDEXES = (
    ("ix_records_title", "records", ("title",)),
    ("ix_records_noun_title", "records", ("noun", "title")),
    ("ix_records_counts_facet", "records_counts", ("facet", "noun", "count")),
)
