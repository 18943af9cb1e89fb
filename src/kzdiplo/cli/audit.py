"""kzdiplo audit: how well each record is sourced, and where sources disagree."""

import sys
from typing import Any

import typer

from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.render import Column, Format, Layout


def _section(
    rows: list[dict[str, Any]], columns: list[Column], fmt: Format, title: str, layout: Layout
) -> None:
    from kzdiplo.render import emit

    if fmt is Format.markdown:
        sys.stdout.write(f"\n## {title}\n\n")
    emit(rows, columns, fmt, title=title, layout=layout)


SECTIONS = ("summary", "discrepancies", "refinements", "single_sourced")


def _one_csv(result: dict[str, Any], raw: bool) -> None:
    """Every section in one CSV table, its rows told apart by a ``section`` column (the
    summary's rows are per record type)."""
    from kzdiplo.render import flatten, write_csv

    summary = [{"record_type": k, **v} for k, v in sorted(result["summary"].items())]
    rows = [
        {"section": name, **flatten(row)}
        for name in SECTIONS
        for row in (summary if name == "summary" else result[name])
    ]
    write_csv(rows, sys.stdout, like=[dict.fromkeys(["section"])], raw=raw)


@guarded
def audit(
    ctx: typer.Context, fmt: FormatOption = Format.table, layout: LayoutOption = Layout.auto
) -> None:
    """How many independent sources each record rests on (1, 2, 3+), the single source
    of each record that has one, every disagreement between a record and a second
    source, and the refinements (a second source more precise: a day, a place) apart.

    Independent means by origin: a source that republishes or reports on another
    counts once with it (kzdiplo sources shows what rests on what). JSON adds the same
    counts per record and per field; CSV is one table with a section column.

    \b
    Examples:
      kzdiplo audit
      kzdiplo audit --format json
    """
    from kzdiplo.queries import audit as run_audit
    from kzdiplo.render import to_json

    with reading(ctx) as reader:
        result = run_audit(reader)
    if fmt in (Format.json, Format.ndjson):
        sys.stdout.write(to_json(result, None if fmt is Format.ndjson else 2) + "\n")
        return
    if fmt in (Format.csv, Format.csv_raw):
        _one_csv(result, raw=fmt is Format.csv_raw)
        return
    if fmt is Format.markdown:
        sys.stdout.write("# kzdiplo audit\n")
    summary = [{"record_type": k, **v} for k, v in sorted(result["summary"].items())]
    share = result["share_with_two_or_more_independent"]
    _section(
        summary,
        [("Records", lambda r: r["record_type"]), ("Count", lambda r: str(r["records"])),
         ("1 origin", lambda r: str(r["1"])), ("2 origins", lambda r: str(r["2"])),
         ("3+ origins", lambda r: str(r["3+"]))],
        fmt, f"Independent sources per record ({share:.0%} have two or more)"
        if share is not None else "Independent sources per record", layout,
    )  # fmt: skip
    disagreements = [
        ("Record", lambda r: f"{r['record_type']} {r['record_key']}"),
        ("Field", lambda r: r["field"]),
        ("Record says", lambda r: r["record_says"] or ""),
        ("Other source says", lambda r: r["source_says"]),
        ("Other source", lambda r: f"{r['publisher']}: {r['source_title']}"),
    ]
    _section(result["discrepancies"], disagreements, fmt,
             f"{len(result['discrepancies'])} disagreements", layout)  # fmt: skip
    refined = [*disagreements[:2], ("Second source adds", lambda r: r["source_says"]),
               disagreements[4]]  # fmt: skip
    title = f"{len(result['refinements'])} refinements (a second source more precise)"
    _section(result["refinements"], refined, fmt, title, layout)
    _section(
        result["single_sourced"],
        [("Record", lambda r: r["record_type"]), ("Key", lambda r: r["record_key"]),
         ("Its one origin", lambda r: r["origin"]),
         ("Sources", lambda r: str(r["sources"]))],
        fmt, f"{len(result['single_sourced'])} records resting on a single origin", layout,
    )  # fmt: skip
