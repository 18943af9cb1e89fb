"""One-line descriptions of the SQL views the migrations create (the SQL is in migrations/)."""

from __future__ import annotations

VIEWS: dict[str, str] = {
    "party_details": (
        "Every party of every record, with the partner's code or slug, name, and the country "
        "it belongs to (an organisation's home country): filter on partner_country to find "
        "what a country and its organisations did"
    ),
    "agreement_overview": "Each agreement with its partners and sectors as comma-separated lists",
    "deal_overview": (
        "Each deal with its amounts, USD figures, payers, recipients and the agreement, "
        "deposit or project it belongs to; payers and recipients by the roles that move "
        "money; stage; counted_in names the deal its money is counted in; is_part = 1 for "
        "parts of an umbrella deal"
    ),
    "citation_details": (
        "Every citation with the record it supports (record_type, record_key), its kind, "
        "the verbatim quote (kind quote) or our summary (kind summary), never both, and "
        "the source's title and URL"
    ),
    "timeline": "Every event with its partial date, partners and linked records",
    "discrepancy_details": (
        "Every disagreement (kind disagreement) or refinement (kind refinement) between a "
        "record and a second source: the record, the field, what the record holds, what "
        "the other source says, and that source's title and URL"
    ),
}
