"""A record is a part of a package only when a source says so (seeds/README.md, "Package
parts"): every part carries a citation with ``field: parent`` from a source that lists it
among the package's documents, and a package never has more parts than its count says it
holds. The rules are checked on the seeded database, and shown to catch a part that
breaks them when one is loaded."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.cli_helpers import run

# (table, the citation column that links to it) for the records that can have parts.
PART_TABLES = (("agreements", "agreement_id"), ("deals", "deal_id"))


def parts_without_listing(conn: sqlite3.Connection) -> list[str]:
    """Parts with no citation that names them as a part of their package (a citation
    with ``field: parent``, from the source that lists the part among its documents)."""
    missing = []
    for table, link in PART_TABLES:
        rows = conn.execute(
            f"SELECT p.slug FROM {table} p WHERE p.parent_id IS NOT NULL AND NOT EXISTS ("
            f"  SELECT 1 FROM citations c WHERE c.{link} = p.id AND c.field = 'parent' "
            f"  AND length(trim(c.text)) > 0)"
        ).fetchall()
        missing += [f"{table} {slug}" for (slug,) in rows]
    return missing


def overfull_packages(conn: sqlite3.Connection) -> list[tuple[str, int, int]]:
    """Packages of agreements with more parts than their count: (slug, count, parts)."""
    return conn.execute(
        "SELECT pk.slug, pk.count, count(part.id) FROM agreements pk "
        "JOIN agreements part ON part.parent_id = pk.id "
        "WHERE pk.count IS NOT NULL GROUP BY pk.id HAVING count(part.id) > pk.count"
    ).fetchall()


def itemised(conn: sqlite3.Connection, package: str) -> int:
    return conn.execute(
        "SELECT count(*) FROM agreements part JOIN agreements pk ON pk.id = part.parent_id "
        "WHERE pk.slug = ?",
        (package,),
    ).fetchone()[0]


def test_every_part_is_cited_as_a_part_of_its_package(db: sqlite3.Connection) -> None:
    assert parts_without_listing(db) == []


def test_parts_never_outnumber_their_package(db: sqlite3.Connection) -> None:
    assert overfull_packages(db) == []


def test_the_named_documents_of_the_packages_are_itemised(db: sqlite3.Connection) -> None:
    """Issue 24: the documents that official lists name are held as parts (the Italy list
    names all eight; the CSTO and CIS lists most of theirs; the Uzbek state visit's list
    is cut off after nine, so that package has no count)."""
    assert itemised(db, "kz-it-agreements-2025") == 8
    assert itemised(db, "csto-bishkek-2025-documents") >= 11
    assert itemised(db, "cis-dushanbe-2025-documents") >= 12
    assert itemised(db, "kz-uz-state-visit-documents-2025") >= 10
    for package in (
        "kz-cn-24-intergovernmental-agreements",
        "kz-jp-official-visit-14-documents",
        "kz-tm-state-visit-documents-2025",
        "kz-us-washington-29-agreements",
    ):
        assert itemised(db, package) >= 1, package


BAD_PARTS = """\
sources:
  - slug: test-list
    title: A list
    kind: media
agreements:
  - slug: test-package
    title: Two documents
    kind: package
    count: 1
    stage: signed
    citations:
      - {source: test-list, field: count, summary: The list counts one document.}
  - slug: test-part-listed
    title: A listed document
    kind: agreement
    stage: signed
    parent: test-package
    citations:
      - {source: test-list, field: parent, summary: The list names this document.}
  - slug: test-part-unlisted
    title: A document no source places in the package
    kind: agreement
    stage: signed
    parent: test-package
    citations:
      - {source: test-list, summary: The list mentions this document elsewhere.}
"""


def test_the_rules_catch_an_unlisted_part_and_an_overfull_package(
    seeded_db: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad-parts.yaml"
    bad.write_text(BAD_PARTS, encoding="utf-8")
    result = run(seeded_db, "load", str(bad))
    assert result.exit_code == 0, result.stderr
    with sqlite3.connect(seeded_db) as conn:
        assert parts_without_listing(conn) == ["agreements test-part-unlisted"]
        assert overfull_packages(conn) == [("test-package", 1, 2)]
