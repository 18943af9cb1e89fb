"""Structural guards for flat query cost (docs/benchmarks.md): on a synthetic database
with the skew of the million-row benchmark, the statements kzdiplo sends use the indexes
meant for them. Plans, not timings: the same plans were read at 1,000,000 agreements."""

import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kzdiplo import queries
from kzdiplo.entities import ENTITIES
from kzdiplo.reader import SqliteReader
from kzdiplo.resolve import resolve_partner

pytestmark = pytest.mark.slow  # builds a large synthetic database

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import synth
    finally:
        sys.path.remove(str(BENCHMARKS))
    path = tmp_path_factory.mktemp("plans") / "synth.db"
    synth.build(path, 20_000, progress=False)
    return path


@pytest.fixture
def traced(synthetic: Path) -> Iterator[tuple[SqliteReader, list[str]]]:
    reader = SqliteReader(synthetic)
    sent: list[str] = []
    reader.conn.set_trace_callback(sent.append)  # expanded SQL: parameters inlined
    yield reader, sent
    reader.close()


def _plan(conn: sqlite3.Connection, sql: str) -> list[str]:
    return [row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}")]


def _listing_plan(reader: SqliteReader, sent: list[str], partner: str) -> list[str]:
    f = queries.Filters(limit=50, partner=resolve_partner(reader, partner))
    sent.clear()
    queries.list_records(reader, ENTITIES["agreement"], f)
    main = [s for s in sent if "FROM agreements t" in s and "ORDER BY" in s]
    assert len(main) == 1, sent
    return _plan(reader.conn, main[0])


def _agreements_per_partner(reader: SqliteReader) -> dict[str, int]:
    rows = reader.rows(
        "SELECT c.code, count(DISTINCT p.agreement_id) AS n FROM parties p "
        "LEFT JOIN organizations o ON o.id = p.organization_id "
        "JOIN countries c ON c.id = COALESCE(p.country_id, o.country_id) "
        "WHERE p.agreement_id IS NOT NULL AND c.code <> 'KZ' GROUP BY c.code"
    )
    return {r["code"]: r["n"] for r in rows}


def test_a_common_partner_walks_the_sort_index_and_stops(
    traced: tuple[SqliteReader, list[str]],
) -> None:
    reader, sent = traced
    counts = _agreements_per_partner(reader)
    assert counts["US"] > queries.PROBE_LIMIT  # the common-partner path
    plan = _listing_plan(reader, sent, "US")
    assert "SCAN t USING INDEX ix_agreements_date_order" in plan
    assert any("SEARCH p USING INDEX ix_parties_agreement_id" in step for step in plan)
    assert not any(step.startswith("SCAN p") or "TEMP B-TREE" in step for step in plan)


def test_a_rare_partner_starts_from_its_party_rows(
    traced: tuple[SqliteReader, list[str]],
) -> None:
    reader, sent = traced
    counts = _agreements_per_partner(reader)
    rare = min(counts, key=lambda code: counts[code])
    plan = _listing_plan(reader, sent, rare)
    assert any("USING INDEX ix_parties_country_id" in step for step in plan), plan
    assert any("SEARCH t USING INTEGER PRIMARY KEY" in step for step in plan), plan
    assert not any(step.startswith(("SCAN t", "SCAN p")) for step in plan), plan


def test_partners_reads_the_cache_and_search_the_index(
    traced: tuple[SqliteReader, list[str]],
) -> None:
    reader, sent = traced
    sent.clear()
    queries.partner_totals(reader)
    assert any("FROM partner_totals_cache" in s for s in sent)
    assert not any("GROUP BY pg.gc" in s for s in sent)  # the live aggregate did not run
    sent.clear()
    queries.search(reader, "tungsten")
    plan = _plan(reader.conn, next(s for s in sent if "MATCH" in s))
    assert any("VIRTUAL TABLE INDEX" in step for step in plan), plan
