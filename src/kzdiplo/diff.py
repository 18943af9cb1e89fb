"""What changed between two versions of the data: records added, removed and changed, by
key and field, down to a single citation's quote, a stage or a discrepancy.

Both sides are compared as load-format documents (``kzdiplo export --format json``), so a
database, a JSON export and a release folder compare alike, and row ids, which differ
between databases with the same facts, never show as changes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from kzdiplo.contenthash import key_of
from kzdiplo.entities import ENTITIES

# List fields whose items are matched by identity, so an edited quote is one changed
# citation rather than a removed one and an added one.
_ITEM_KEYS: dict[str, tuple[str, ...]] = {
    "citations": ("source", "field"),
    "stages": ("stage", "source"),
    "discrepancies": ("field", "source", "kind"),
    "parties": ("partner", "role"),
}
# How each section names its records in a change list (singular, as ``kzdiplo show``).
NOUN = {
    "sources": "source",
    "sectors": "sector",
    "countries": "country",
    "organizations": "organization",
    **{e.plural: e.name for e in ENTITIES.values()},
}


def _label(record: dict[str, Any]) -> str | None:
    return record.get("title") or record.get("name")


def _identity(field: str, item: Any) -> Any:
    if isinstance(item, dict) and field in _ITEM_KEYS:
        return tuple(item.get(k) for k in _ITEM_KEYS[field])
    return json.dumps(item, sort_keys=True, default=str)


def _list_changes(field: str, old: list[Any], new: list[Any]) -> list[dict[str, Any]]:
    """Items removed, added and changed; items with the same identity pair in order."""
    groups_old: dict[Any, list[Any]] = defaultdict(list)
    groups_new: dict[Any, list[Any]] = defaultdict(list)
    for item in old:
        groups_old[_identity(field, item)].append(item)
    for item in new:
        groups_new[_identity(field, item)].append(item)
    changes: list[dict[str, Any]] = []
    for ident in dict.fromkeys([*groups_old, *groups_new]):
        before = [i for i in groups_old.get(ident, []) if i not in groups_new.get(ident, [])]
        after = [i for i in groups_new.get(ident, []) if i not in groups_old.get(ident, [])]
        for a, b in zip(before, after, strict=False):
            changes.append({"field": field, "change": "changed", "old": a, "new": b})
        for a in before[len(after) :]:
            changes.append({"field": field, "change": "removed", "old": a, "new": None})
        for b in after[len(before) :]:
            changes.append({"field": field, "change": "added", "old": None, "new": b})
    return changes


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    for field in dict.fromkeys([*old, *new]):
        a, b = old.get(field), new.get(field)
        if a == b:
            continue
        if isinstance(a, list | None) and isinstance(b, list | None) and (a or b):
            changes += _list_changes(field, a or [], b or [])
        elif isinstance(a, dict) and isinstance(b, dict):
            for sub in dict.fromkeys([*a, *b]):
                if a.get(sub) != b.get(sub):
                    changes.append({"field": f"{field}.{sub}", "change": "changed",
                                    "old": a.get(sub), "new": b.get(sub)})  # fmt: skip
        else:
            change = "added" if a is None else "removed" if b is None else "changed"
            changes.append({"field": field, "change": change, "old": a, "new": b})
    return changes


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """``{"added": [...], "removed": [...], "changed": [...], "counts": {...}}``; each
    entry names the section, key and title; changed entries list their field changes."""
    added: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for section in dict.fromkeys([*old, *new]):
        before = {key_of(section, r): r for r in old.get(section, [])}
        after = {key_of(section, r): r for r in new.get(section, [])}
        for key in sorted(after.keys() - before.keys()):
            added.append({"section": section, "key": key, "title": _label(after[key]),
                          "record": after[key]})  # fmt: skip
        for key in sorted(before.keys() - after.keys()):
            removed.append({"section": section, "key": key, "title": _label(before[key]),
                            "record": before[key]})  # fmt: skip
        for key in sorted(before.keys() & after.keys()):
            fields = _field_changes(before[key], after[key])
            if fields:
                changed.append({"section": section, "key": key, "title": _label(after[key]),
                                "fields": fields})  # fmt: skip
    counts = {"added": len(added), "removed": len(removed), "changed": len(changed)}
    return {"counts": counts, "added": added, "removed": removed, "changed": changed}


def _short(value: Any, width: int = 160) -> str:
    if value is None:
        return ""
    if isinstance(value, dict) and ("quote" in value or "summary" in value):
        from kzdiplo.render import said

        where = f" [{value['field']}]" if value.get("field") else ""
        text = f"{value.get('source')}{where}: {said(value)}"
    elif isinstance(value, dict | list):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    else:
        text = str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per record added or removed and per field changed: the table's rows."""
    out: list[dict[str, Any]] = []
    for change in ("added", "removed"):
        for entry in result[change]:
            out.append({"change": change, "kind": NOUN[entry["section"]], "key": entry["key"],
                        "field": "", "old": "", "new": entry["title"] or ""})  # fmt: skip
    for entry in result["changed"]:
        for f in entry["fields"]:
            out.append({"change": f["change"], "kind": NOUN[entry["section"]],
                        "key": entry["key"], "field": f["field"], "old": _short(f["old"]),
                        "new": _short(f["new"])})  # fmt: skip
    return out


def markdown(result: dict[str, Any], heading: str | None = None, level: int = 2) -> str:
    """The changes as a CHANGELOG section: Added, Removed, Changed, each record by key."""
    h = "#" * level
    lines = [f"{h} {_md(heading)}", ""] if heading else []
    c = result["counts"]
    noun = "record" if c["added"] == 1 else "records"
    lines += [f"{c['added']} {noun} added, {c['removed']} removed, {c['changed']} changed.", ""]
    for change in ("added", "removed"):
        if result[change]:
            lines += [f"{h}# {change.capitalize()}", ""]
            for e in result[change]:
                title = f": {_md(e['title'])}" if e["title"] else ""
                lines.append(f"- {NOUN[e['section']]} `{_md(e['key'])}`{title}")
            lines.append("")
    if result["changed"]:
        lines += [f"{h}# Changed", ""]
        for e in result["changed"]:
            lines.append(f"- {NOUN[e['section']]} `{_md(e['key'])}`")
            for f in e["fields"]:
                if f["change"] == "changed":
                    what = f"{_md(_short(f['old']))} → {_md(_short(f['new']))}"
                elif f["change"] == "added":
                    what = f"added {_md(_short(f['new']))}"
                else:
                    what = f"removed {_md(_short(f['old']))}"
                lines.append(f"  - `{_md(f['field'])}`: {what}")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str | None) -> str:
    """Data in the Markdown: through the one guard of human formats (render), so a title
    or a key from a hostile export cannot drive the terminal or forge a line."""
    from kzdiplo.render import markdown_cell

    return markdown_cell(text or "")
