"""Constraints live in the database: bad rows are refused even through raw SQL."""

from __future__ import annotations

import sqlite3

import pytest

BAD_STATEMENTS = {
    "low above high": "UPDATE deals SET amount_low = amount_high + 1 WHERE amount_low IS NOT NULL",
    "negative amount": "UPDATE deals SET amount_low = -1 WHERE amount_low IS NOT NULL",
    "lower-case currency": "UPDATE deals SET currency = 'usd' WHERE currency IS NOT NULL",
    "four-letter currency": "UPDATE deals SET currency = 'USDT' WHERE currency IS NOT NULL",
    "amount without currency": "UPDATE deals SET currency = NULL WHERE amount_low IS NOT NULL",
    "unknown precision": "UPDATE events SET date_precision = 'week'",
    "start after end": "UPDATE events SET date_start = '2030-01-01'",
    "half a date": "UPDATE events SET date_end = NULL",
    "duplicate slug": "UPDATE agreements SET slug = 'same'",
    "package of zero": "UPDATE agreements SET count = 0 WHERE count IS NOT NULL",
    "unknown kind": "UPDATE agreements SET kind = 'treaty-ish'",
    "party with two partners": "UPDATE parties SET organization_id = 1 WHERE country_id IS NOT NULL",
    "party with no record": "UPDATE parties SET agreement_id = NULL WHERE agreement_id IS NOT NULL",
    "unknown role": "UPDATE parties SET role = 'boss'",
    "dangling source": "UPDATE citations SET source_id = 999",
    "dangling partner": "UPDATE parties SET country_id = 99999 WHERE country_id IS NOT NULL",
    "citation of two records": "UPDATE citations SET deal_id = 1 WHERE agreement_id IS NOT NULL",
    "empty citation text": "UPDATE citations SET text = ''",
    "unknown citation kind": "UPDATE citations SET kind = 'paraphrase'",
    "unknown stage": "UPDATE deals SET stage = 'rumoured'",
    "unknown discrepancy kind": "UPDATE discrepancies SET kind = 'quibble'",
    "deleting a cited source": "DELETE FROM sources",
}


@pytest.mark.parametrize("case", list(BAD_STATEMENTS))
def test_database_refuses(case: str, db: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        db.execute(BAD_STATEMENTS[case])


def test_deleting_a_record_removes_its_links(db: sqlite3.Connection) -> None:
    agreement = db.execute("SELECT id FROM agreements WHERE count = 29").fetchone()[0]
    db.execute("DELETE FROM agreements WHERE id = ?", (agreement,))
    for table in ("parties", "citations", "record_sectors"):
        left = db.execute(f"SELECT count(*) FROM {table} WHERE agreement_id = ?", (agreement,))
        assert left.fetchone()[0] == 0
    # the deal that belonged to it stays, unlinked
    assert (
        db.execute("SELECT count(*) FROM deals WHERE amount_low = 17000000000").fetchone()[0] == 1
    )
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []
