"""The records page's facets from the counts each load keeps (``records_counts``).

Datasette counts a facet by grouping every row the page's filters match: at a million
records the array facets (one JSON parse per row) and even the column ones ran past
``facet_time_limit_ms`` and were left out. The load counts each facet over every record
and over each kind (``kzdiplo.browse``), so the pages people open first (every record,
or one kind from the home page) read their facets from those counts: the same numbers,
a few rows read. Any other filter (a partner, a search, a second column) is counted by
Datasette as before, within its time limit; a facet it cannot finish in time is named on
the page ("These facets timed out"), never shown with partial counts.
"""

from __future__ import annotations

from typing import Any

from datasette.facets import ArrayFacet, ColumnFacet
from datasette.utils import path_with_added_args, path_with_removed_args

from kzdiplo.browse_tables import ARRAY_FACETS, COLUMN_FACETS

COUNTED_TABLE = "records"
# Query-string arguments that change how the page looks, not which rows it counts.
DISPLAY_ARGS = frozenset({
    "_facet", "_facet_array", "_facet_date", "_facet_size", "_sort", "_sort_desc", "_size",
    "_next", "_col", "_nocol", "_labels", "_nolabels", "_nofacet", "_nocount", "_nosuggest",
    "_trace", "_extra", "_shape", "_json", "_nl", "_stream", "_dl", "_ttl",
})  # fmt: skip
NOUN_FILTERS = ("noun", "noun__exact")
COUNTS_SQL = (
    "SELECT value, count FROM records_counts WHERE facet = :facet AND noun IS :noun "
    "ORDER BY count DESC, value LIMIT :limit"
)


def counted_scope(table: str | None, request: Any) -> tuple[bool, str | None]:
    """(True, kind) when the page's rows are every record (kind None) or every record of
    one kind, the sets whose facets the load has counted; (False, None) otherwise."""
    if table != COUNTED_TABLE or request is None:
        return False, None
    noun = None
    for key in request.args:
        values = request.args.getlist(key)
        if key in NOUN_FILTERS and len(values) == 1 and noun is None:
            noun = values[0]
        elif key not in DISPLAY_ARGS:
            return False, None
    return True, noun


def _column(source_and_config: dict[str, Any]) -> str:
    config = source_and_config["config"]
    return str(config.get("column") or config["simple"])


class _Counted:
    """What the two facet classes share: in a counted scope, the facets the load has
    counted come from records_counts, in the shape Datasette's own facets give them;
    any other facet asked for is counted by Datasette."""

    type: str
    toggle_arg: str  # the query-string argument that adds or removes the facet
    counted: tuple[str, ...]  # the columns whose counts the load keeps
    _part: bool | None = None  # get_configs: only the counted facets, only the others, all

    def selection(self, column: str) -> str:
        """The query-string key a value of this facet is selected with."""
        raise NotImplementedError

    def get_configs(self: Any) -> list[dict[str, Any]]:
        configs: list[dict[str, Any]] = super().get_configs()  # type: ignore[misc]
        if self._part is None:
            return configs
        return [c for c in configs if (_column(c) in self.counted) == self._part]

    async def facet_results(self: Any) -> tuple[list[Any], list[str]]:
        counted, noun = counted_scope(self.table, self.request)
        if not counted:
            return await super().facet_results()  # type: ignore[misc]
        self._part = True
        results = await self._counted_results(noun)
        self._part = False
        others, timed_out = await super().facet_results()  # type: ignore[misc]
        self._part = None
        return results + others, timed_out

    async def _counted_results(self: Any, noun: str | None) -> list[Any]:
        results = []
        size = self.get_facet_size()
        pairs = self.get_querystring_pairs()
        for source_and_config in self.get_configs():
            column = _column(source_and_config)
            rows = (await self.ds.execute(
                self.database, COUNTS_SQL, {"facet": column, "noun": noun, "limit": size + 1}
            )).rows  # fmt: skip
            key = self.selection(column)
            values = []
            for row in rows[:size]:
                value = str(row["value"])
                selected = (key, value) in pairs
                change = path_with_removed_args if selected else path_with_added_args
                path = change(self.request, {key: value})
                values.append({
                    "value": row["value"], "label": row["value"], "count": row["count"],
                    "toggle_url": self.ds.absolute_url(self.request, self.ds.urls.path(path)),
                    "selected": selected,
                })  # fmt: skip
            results.append({
                "name": column, "type": self.type,
                "hideable": source_and_config["source"] != "metadata",
                "toggle_url": self.ds.urls.path(
                    path_with_removed_args(self.request, {self.toggle_arg: column})
                ),
                "results": values, "truncated": len(rows) > size,
            })  # fmt: skip
        return results


class CountedColumnFacet(_Counted, ColumnFacet):  # type: ignore[misc]  # Datasette is untyped
    toggle_arg = "_facet"
    counted = COLUMN_FACETS

    def selection(self, column: str) -> str:
        return f"{column}__exact" if column.startswith("_") else column


class CountedArrayFacet(_Counted, ArrayFacet):  # type: ignore[misc]
    toggle_arg = "_facet_array"
    counted = ARRAY_FACETS

    def selection(self, column: str) -> str:
        return f"{column}__arraycontains"


# Datasette's facet classes and the ones serve uses in their place.
REPLACES = {ColumnFacet: CountedColumnFacet, ArrayFacet: CountedArrayFacet}
