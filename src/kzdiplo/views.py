"""What the SQL views the migrations create hold, view by view and column by column (the
SQL is in migrations/): ``kzdiplo schema`` and docs/schema.md print it."""

from __future__ import annotations

from kzdiplo.entities import LISTING_KEYS

VIEWS: dict[str, str] = {
    "party_details": (
        "Every party of every record (record_type, record_key), with the partner's code or "
        "slug, name, and the country it belongs to (an organisation's home country): filter "
        "on partner_country to find what a country and its organisations did"
    ),
    "agreement_overview": (
        "Each agreement with its partners and sectors as comma-separated lists, and its join "
        "keys (record_type agreement, record_key its slug)"
    ),
    "deal_overview": (
        "Each deal with its amounts, USD figures, payers, recipients and the agreement, "
        "deposit or project it belongs to; payers and recipients by the roles that move "
        "money; stage; counted_in names the deal its money is counted in; is_part = 1 for "
        "parts of an umbrella deal; join keys record_type deal and record_key its slug"
    ),
    "citation_details": (
        "Every citation with the record it supports (record_type, record_key), its kind, "
        "the verbatim quote (kind quote) or our summary (kind summary), never both, and "
        "the source's title and URL"
    ),
    "timeline": (
        "Every event with its partial date, partners and linked records, in date order: by "
        "the earliest day the date may be (undated events last), then the latest, then id; "
        "join keys record_type event and record_key its slug"
    ),
    "discrepancy_details": (
        "Every disagreement (kind disagreement) or refinement (kind refinement) between a "
        "record and a second source: the record, the field, what the record holds, what "
        "the other source says, and that source's title and URL"
    ),
    "search_documents": (
        "The text kzdiplo search looks in, one document per record, each field on a line of "
        "its own (search skips the line breaks; its snippets show them as ` | `): join on "
        "record_type and record_key, as every view (noun is the CLI's, partner for a "
        "country or an organisation)"
    ),
    "money_flows": (
        "The money ledger: one row per deal, partner and direction (from: it pays; to: it "
        "receives; involved: a role that moves no money) with the amount the partner is "
        "credited with and the basis of it. Only rows with basis whole or stated_share "
        "carry an own amount (usd_low, usd_high), so SUM(usd_low) ... GROUP BY partner, "
        "direction gives the partners command's figures and counts each deal once per "
        "side; the whole sum of every deal stays beside it (deal_usd_low, deal_usd_high)"
    ),
    "projects": "infrastructure_projects under the CLI's noun: the same rows and columns",
    "deposits": "mineral_deposits under the CLI's noun: the same rows and columns",
}

# The table each view takes its rows from: a column named as one of that table's
# keeps the model's comment (one home for it); the others are described below.
BASE_TABLES = {
    "party_details": "parties", "agreement_overview": "agreements", "deal_overview": "deals",
    "citation_details": "citations", "timeline": "events",
    "discrepancy_details": "discrepancies", "projects": "infrastructure_projects",
    "deposits": "mineral_deposits",
}  # fmt: skip

_SHARED = {
    "record_type": "The kind of record: agreement, deal, deposit, project, event, country "
    "or organization (with record_key, the join key of every view)",
    "record_key": "The record's slug (a country's code): kzdiplo show <record_type> <key>",
    "source": "The source's slug (kzdiplo show source <slug>)",
    "source_title": "The source's title",
    "publisher": "Who published the source",
    "url": "Where the source can be read",
    "published": "The day the source was published, when known",
    "partners": "Its partners' codes or slugs, comma-separated",
    "sectors": "Its sectors' slugs, comma-separated",
    **{k: LISTING_KEYS[k] for k in ("agreement", "deal", "deposit", "project")},
    "note": "Our note on this citation or disagreement, if any",
}
VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "party_details": {
        "party_id": "The party row (parties.id)",
        "record_key": "The slug of the record the party takes part in (with record_type, "
        "the join key of every view)",
        "record_id": "The id of the record in its own table",
        "partner_type": "country or organization",
        "partner_key": "The partner's code (a country) or slug (an organisation)",
        "partner_name": "The partner's name",
        "partner_country": "The partner's country code: the country itself, or an "
        "organisation's home country",
    },
    "deal_overview": {
        "payers": "Who pays (investor, financier, acquirer...), comma-separated",
        "recipients": "Who receives (recipient, beneficiary), comma-separated",
        "is_part": "1 for a part of an umbrella deal (totals count the umbrella, not it)",
        "counted_in": "The slug of the deal this one's money is counted in (an overlap), if any",
    },
    "money_flows": {
        "deal_id": "The deal (deals.id)",
        "deal": "The deal's slug (kzdiplo show deal <slug>)",
        "deal_title": "The deal's title",
        "partner": "The partner credited: a country's or bloc's code (with its "
        "organisations) or the slug of an organisation with no home country",
        "partner_type": "country or organization",
        "partner_name": "The partner's name",
        "parties": "The partner's own parties in the deal on this side (the country "
        "itself, its organisations), comma-separated",
        "direction": "from (it pays: investor, financier, co-financier, acquirer), to (it "
        "receives: recipient, beneficiary) or involved (a role that moves no money)",
        "basis": "How the partner is credited: stated_share (a source states its share), "
        "whole (alone on its side of the deal), shared (paid with other partners, split "
        "not stated: no own amount), regional (received with other partners, split not "
        "stated: no own amount), target or ceiling (not money that moves), involved (no "
        "direction stated), counted_elsewhere (counted through the deal in counted_in)",
        "private": "1 when every party of the partner on this side is a company (private "
        "money), 0 for a state, its bodies and banks",
        "stage": "The deal's stage",
        "figure": "What the deal's amount is: flow, target or ceiling",
        "amount_low": "The amount credited to the partner, low, in currency (NULL when "
        "nothing is its own)",
        "amount_high": "The same, high",
        "currency": "The deal's currency (ISO 4217)",
        "usd_low": "The amount credited, low, in US dollars at the deal's rate: sum this",
        "usd_high": "The same, high",
        "approximate": "True when the deal's amount is approximate (nearly, about)",
        "deal_usd_low": "The whole deal in US dollars, low (not the partner's: for context)",
        "deal_usd_high": "The same, high",
        "shared_with": "How many partners are on this side of the deal (1: alone)",
        "counted_in": "The slug of the deal through which this money is counted (a "
        "package, or the deal it overlaps), when basis is counted_elsewhere",
        "country_id": "The partner's country or bloc (countries.id), NULL for an "
        "organisation with no home country",
        "organization_id": "The organisation (organizations.id) when it has no home country",
    },
    "citation_details": {
        "citation_id": "The citation row (citations.id)",
        "quote": "The source's words, verbatim (null when the citation is our summary)",
        "summary": "Our summary of what the source supports (null for a verbatim quote)",
    },
    "discrepancy_details": {"discrepancy_id": "The disagreement row (discrepancies.id)"},
    "search_documents": {
        "doc_id": "The document's number in the search index",
        "noun": "The CLI's noun: agreement, deal, deposit, project, event, or partner for a "
        "country or an organisation",
        "key": "The record's slug or code: kzdiplo show <noun> <key>",
        "label": "The record's title or name, as search lists it",
        "title": "The searched title text: title or name, then aliases, a line each",
        "body": "The searched body text: kind, summary, notes and the like, then the "
        "texts of the citations of the record, a line each (empty fields left out)",
        "record_type": "The kind of record: agreement, deal, deposit, project, event, country "
        "or organization (noun, except that a partner is a country or an organization)",
        "record_key": "The record's slug (a country's code), as key",
    },
}


def column_description(view: str, column: str) -> str:
    """What ``column`` of ``view`` holds ("" when nothing says)."""
    own = VIEW_COLUMNS.get(view, {})
    if column in own:
        return own[column]
    base = BASE_TABLES.get(view)
    if base is not None:
        from kzdiplo.models import Base

        table = Base.metadata.tables[base]
        if column in table.columns:
            return table.columns[column].comment or ""
    return _SHARED.get(column, "")
