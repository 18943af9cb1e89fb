"""The entity registry against the models, and the columns the read path finds in the
database: each check names the file to change when they drift apart."""

import io
import sqlite3
from pathlib import Path

from kzdiplo import entities, fields, models, queries
from kzdiplo.access import open_reader
from kzdiplo.entities import ENTITIES
from kzdiplo.export import plain_fields
from kzdiplo.reader import Reader
from kzdiplo.records import SECTIONS
from kzdiplo.render import flatten, write_csv
from tests.cli_helpers import run_json

DERIVED = {"id"}  # the database's own key


def load_field(column: str) -> str | None:
    """The load record field a table column is read from (None: derived, not loaded)."""
    if column in DERIVED:
        return None
    grouped = fields.BY_COLUMN.get(column)  # one of a nested field's columns
    if grouped is not None:
        return None if grouped.derived_from else grouped.key  # USD: from the amount
    return column.removesuffix("_id")


def test_the_database_has_the_models_columns_and_references(seeded_db: Path) -> None:
    """What the read path asks the database (Reader.columns and Reader.references) is
    what the models define; a migration that drifts from its model fails here."""
    assert_reader_matches_models(open_reader(str(seeded_db)))


def assert_reader_matches_models(reader: Reader) -> None:
    """Every kind's table, as ``reader`` finds it in the database (columns and
    references), is what the models define; the reader is closed after."""
    try:
        for entity in ENTITIES.values():
            table = models.Base.metadata.tables[entity.table]
            assert set(reader.columns(entity.table)) == {c.name for c in table.columns}
            assert reader.references(entity.table) == models.references(entity.table)
    finally:
        reader.close()


def test_the_flags_follow_the_models_columns() -> None:
    """What an entity tells the CLI before a database is open (it has US dollars, it has
    places on a map) is what its table holds."""
    for entity in ENTITIES.values():
        columns = models.Base.metadata.tables[entity.table].c
        assert entity.priced == ("usd_low" in columns), f"entities.py: {entity.name}'s grouped"
        assert entity.placed == ("latitude" in columns), f"entities.py: {entity.name}'s grouped"


def test_each_entity_names_its_model_and_load_record() -> None:
    for entity in ENTITIES.values():
        assert entity.model.__tablename__ == entity.table, f"entities.py: {entity.name}'s table"
        assert entity.record is SECTIONS[entity.plural], (
            f"records.py: SECTIONS has no load record for {entity.plural}"
        )
        staged = "stages" in entity.record.model_fields
        assert entity.has_stages == staged == ("stage" in entity.model.__table__.c), (
            f"entities.py: {entity.name}'s has_stages, its load record's stages and its "
            "table's stage column disagree"
        )
        assert entity.label in entity.model.__table__.c, (
            f"entities.py: {entity.name}'s label column"
        )
        for link_table in (models.Citation, models.Party, models.RecordSector):
            assert entity.link in link_table.__table__.c, (
                f"models.py: {link_table.__tablename__} has no {entity.link}"
            )


def test_every_model_column_is_loaded_exported_and_documented() -> None:
    for entity in ENTITIES.values():
        fields = SECTIONS[entity.plural].model_fields
        for column in models.Base.metadata.tables[entity.table].columns:
            field = load_field(column.name)
            if field is not None:
                assert field in fields, (
                    f"{entity.table}.{column.name}: add the field {field!r} to "
                    f"{entity.record.__name__} in src/kzdiplo/records.py (the load format)"
                )
            assert column.comment, (
                f"{entity.table}.{column.name}: give it comment= in src/kzdiplo/models.py "
                "(kzdiplo schema and docs/schema.md print it)"
            )


def test_every_plain_load_field_is_in_the_listing_record(seeded_db: Path) -> None:
    """The export copies plain fields from the listing record: each must be there."""
    reader = open_reader(str(seeded_db))
    try:
        for entity in ENTITIES.values():
            record = queries.csv_template(reader, entity)
            for field in plain_fields(entity.plural):
                assert field in record, (
                    f"{entity.plural}.{field}: the listing record lacks it; the column that "
                    "holds it belongs in src/kzdiplo/models.py (then regenerate), or its "
                    "shape in queries.shape"
                )
    finally:
        reader.close()


def test_every_derived_key_of_a_listing_record_is_described(seeded_db: Path) -> None:
    """What a listing record holds beyond its table's columns and grouped fields is
    described once, in entities.LISTING_KEYS (the spreadsheet and the served table read
    it); ``sources`` has a sheet and a page section of its own."""
    reader = open_reader(str(seeded_db))
    try:
        for entity in ENTITIES.values():
            record = queries.csv_template(reader, entity)
            own = {*reader.columns(entity.table), *fields.FIELDS, "sources"}
            for key in record:
                assert key in own or key in entities.LISTING_KEYS, (
                    f"{entity.plural}: the listing record's {key!r} is not described: add "
                    "it to LISTING_KEYS in src/kzdiplo/entities.py"
                )
    finally:
        reader.close()


def test_linked_records_follow_the_references(seeded_db: Path) -> None:
    reader = open_reader(str(seeded_db))
    try:
        labels = {
            e.name: [label for label, _, _ in queries.referrers(reader, e)]
            for e in ENTITIES.values()
        }
    finally:
        reader.close()
    assert labels == {
        "agreement": ["parts", "deals", "events"],
        "deal": ["parts", "events"],
        "deposit": ["deals", "events"],
        "project": ["deals", "events"],
        "event": ["deals"],  # the deals announced or signed at it
    }


def test_a_column_added_to_the_database_reaches_listing_show_and_csv(seeded_db: Path) -> None:
    """A column added to a table (as a migration would) reaches listing JSON, show and
    CSV with no other edit: the read path takes the columns from the database.
    tests/test_new_column.py makes the same probe through the model and a migration."""
    conn = sqlite3.connect(seeded_db)
    conn.execute("ALTER TABLE deals ADD COLUMN audit_note TEXT")
    conn.execute("UPDATE deals SET audit_note = 'checked' WHERE id = (SELECT min(id) FROM deals)")
    conn.commit()
    conn.close()
    reader = open_reader(str(seeded_db))
    try:
        deal = ENTITIES["deal"]
        listed = queries.list_records(reader, deal, queries.Filters(limit=None)).records
        assert {r["audit_note"] for r in listed} == {"checked", None}
        slug = next(r["slug"] for r in listed if r["audit_note"])
        assert queries.get_record(reader, deal, slug)["audit_note"] == "checked"
        out = io.StringIO()
        write_csv([flatten(r) for r in listed], out)
        assert "audit_note" in out.getvalue().splitlines()[0].split(",")
    finally:
        reader.close()


def test_the_listing_commands_show_every_column(seeded_db: Path) -> None:
    """Each column of a table reaches its listing's JSON: as itself, as the slug of
    the record it refers to, or inside the nested value of its load field."""
    for entity in ENTITIES.values():
        records = run_json(seeded_db, entity.plural, "--limit", "0")
        assert records, entity.plural
        keys = set(records[0])
        for column in (c.name for c in models.Base.metadata.tables[entity.table].columns):
            shown = column.removesuffix("_id") if column != "id" else column
            grouped = fields.BY_COLUMN.get(column)  # a derived one (USD) under its own key
            under = grouped.key if grouped else None
            assert shown in keys or load_field(column) in keys or under in keys, (
                f"{entity.plural}: {column} is missing from the listing"
            )
        assert {f.key for f in entity.fields} <= keys  # the derived USD figures too
