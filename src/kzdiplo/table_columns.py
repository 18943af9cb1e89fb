"""The columns of each record table, generated from kzdiplo.models by
``python -m kzdiplo.entities`` (do not edit: tests/test_entities.py fails when
it differs from the models). The read path uses it so as not to import SQLAlchemy."""

COLUMNS: dict[str, tuple[str, ...]] = {
    "agreements": (
        "id", "slug", "title", "aliases", "kind", "count", "parent_id", "stage", "date_start",
        "date_end", "date_precision", "date_text", "date_inferred", "date_note", "summary",
        "notes",
    ),
    "deals": (
        "id", "slug", "title", "kind", "amount_low", "amount_high", "currency", "approximate",
        "qualifier", "amount_text", "figure", "usd_low", "usd_high", "usd_rate",
        "usd_rate_date", "usd_rate_source", "stake", "stake_percent", "parent_id",
        "agreement_id", "deposit_id", "project_id", "event_id", "stage", "date_start",
        "date_end", "date_precision", "date_text", "date_inferred", "date_note", "summary",
        "notes",
    ),
    "events": (
        "id", "slug", "title", "aliases", "kind", "agreement_id", "deal_id", "deposit_id",
        "project_id", "location", "latitude", "longitude", "location_precision", "date_start",
        "date_end", "date_precision", "date_text", "date_inferred", "date_note", "summary",
        "notes",
    ),
    "infrastructure_projects": (
        "id", "slug", "name", "aliases", "kind", "status", "capacity_value", "capacity_unit",
        "capacity_text", "cost_low", "cost_high", "cost_currency", "cost_approximate",
        "cost_qualifier", "cost_text", "started_start", "started_end", "started_precision",
        "started_text", "started_inferred", "started_note", "completion_start",
        "completion_end", "completion_precision", "completion_text", "completion_inferred",
        "completion_note", "location", "latitude", "longitude", "location_precision", "summary",
        "notes",
    ),
    "mineral_deposits": (
        "id", "slug", "name", "aliases", "commodity", "status", "count", "location", "latitude",
        "longitude", "location_precision", "summary", "notes",
    ),
}  # fmt: skip
# Each column that refers to another record, and that record's table.
REFERENCES: dict[str, dict[str, str]] = {
    "agreements": {
        "parent_id": "agreements",
    },
    "deals": {
        "parent_id": "deals",
        "agreement_id": "agreements",
        "deposit_id": "mineral_deposits",
        "project_id": "infrastructure_projects",
        "event_id": "events",
    },
    "events": {
        "agreement_id": "agreements",
        "deal_id": "deals",
        "deposit_id": "mineral_deposits",
        "project_id": "infrastructure_projects",
    },
    "infrastructure_projects": {},
    "mineral_deposits": {},
}  # fmt: skip
