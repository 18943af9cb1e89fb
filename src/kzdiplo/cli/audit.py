"""kzdiplo audit: how well each record is sourced, and where sources disagree."""

from typing import Any

import typer

from kzdiplo.cli.common import FormatOption, LayoutOption, guarded, reading
from kzdiplo.render import Column, Format, Layout

SECTIONS = ("summary", "discrepancies", "refinements", "single_sourced")


def _one_csv(result: dict[str, Any]) -> list[dict[str, Any]]:
    """Every section in one CSV table, its rows told apart by a ``section`` column (the
    summary's rows are per record type)."""
    from kzdiplo.render import flatten

    summary = [{"record_type": k, **v} for k, v in sorted(result["summary"].items())]
    return [
        {"section": name, **flatten(row)}
        for name in SECTIONS
        for row in (summary if name == "summary" else result[name])
    ]


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
    from kzdiplo.render import Output, Table, write

    with reading(ctx) as reader:
        result = run_audit(reader)
    summary = [{"record_type": k, **v} for k, v in sorted(result["summary"].items())]
    share = result["share_with_two_or_more_independent"]
    per_record = [("Records", lambda r: r["record_type"]), ("Count", lambda r: str(r["records"])),
                  ("1 origin", lambda r: str(r["1"])), ("2 origins", lambda r: str(r["2"])),
                  ("3+ origins", lambda r: str(r["3+"]))]  # fmt: skip
    # Under each row, whole lines: the record (what `kzdiplo show` takes) and the
    # source that says otherwise, so the three texts share the width.
    record = Column("Record", lambda r: f"{r['record_type']} {r['record_key']}", no_wrap=True,
                    key_line=True)  # fmt: skip
    other = Column("Other source", lambda r: f"other source: {r['publisher']}: {r['source_title']}",
                   key_line=True)  # fmt: skip
    disagreements = [
        Column("Field", lambda r: r["field"], min_width=10),
        record,
        other,
        Column("Record says", lambda r: r["record_says"] or ""),
        Column("Other source says", lambda r: r["source_says"]),
    ]
    refined = [*disagreements[:3], Column("Second source adds", lambda r: r["source_says"])]
    single = [Column("Its one origin", lambda r: r["origin"]), record,
              Column("Sources", lambda r: str(r["sources"]), min_width=7)]  # fmt: skip
    tables = [
        Table(summary, per_record, "Independent sources per record"
              + (f" ({share:.0%} have two or more)" if share is not None else "")),
        Table(result["discrepancies"], disagreements,
              f"{len(result['discrepancies'])} disagreements"),
        Table(result["refinements"], refined,
              f"{len(result['refinements'])} refinements (a second source more precise)"),
        Table(result["single_sourced"], single,
              f"{len(result['single_sourced'])} records resting on a single origin"),
    ]  # fmt: skip
    output = Output(result, tables, csv=_one_csv(result), like=[{"section": None}],
                    heading="kzdiplo audit")  # fmt: skip
    write(output, fmt, layout=layout)
