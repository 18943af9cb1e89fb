"""kzdiplo audit: how well each record is sourced, and where sources disagree."""

import sys

import typer

from kzdiplo.cli.common import FormatOption, guarded, reading
from kzdiplo.render import Format


@guarded
def audit(ctx: typer.Context, fmt: FormatOption = Format.table) -> None:
    """How many independent sources each record rests on (1, 2, 3+), every disagreement
    between a record and a second source, and the records still resting on one source.

    \b
    Examples:
      kzdiplo audit
      kzdiplo audit --format json
    """
    from kzdiplo.queries import audit as run_audit
    from kzdiplo.render import emit, to_json

    with reading(ctx) as reader:
        result = run_audit(reader)
    if fmt in (Format.json, Format.ndjson):
        sys.stdout.write(to_json(result, None if fmt is Format.ndjson else 2) + "\n")
        return
    summary = [{"record_type": k, **v} for k, v in sorted(result["summary"].items())]
    emit(
        summary,
        [("Records", lambda r: r["record_type"]), ("1 source", lambda r: str(r["1"])),
         ("2 sources", lambda r: str(r["2"])), ("3+ sources", lambda r: str(r["3+"]))],
        fmt, title="Sources per record",
    )  # fmt: skip
    emit(
        result["discrepancies"],
        [("Record", lambda r: f"{r['record_type']} {r['record_key']}"),
         ("Field", lambda r: r["field"]), ("Record says", lambda r: r["record_says"] or ""),
         ("Other source says", lambda r: r["source_says"]),
         ("Other source", lambda r: f"{r['publisher']}: {r['source_title']}")],
        fmt, title=f"{len(result['discrepancies'])} disagreements",
    )  # fmt: skip
    emit(
        result["single_sourced"],
        [("Record", lambda r: r["record_type"]), ("Key", lambda r: r["record_key"])],
        fmt, title=f"{len(result['single_sourced'])} records resting on a single source",
    )  # fmt: skip
