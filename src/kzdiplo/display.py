"""Honest short text for people: "≈ $17 bn", "$14–15 bn", "€700 m (≈ $820 m)", "Nov 2025".

Used in tables and Markdown; JSON and CSV carry the exact values instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kzdiplo.vocab import PAYER_ROLES, RECIPIENT_ROLES

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CNY": "CN¥", "RUB": "₽"}
UNKNOWN = "—"
SHORT = 20  # a source's words for a date longer than this are a sentence, not a date


def _number(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value < 100 else f"{value:.0f}"


def money(low: int, high: int, currency: str, approximate: bool = False) -> str:
    """``low``-``high`` in ``currency`` as short text, keeping ranges and approximations."""
    top = max(low, high)
    size, suffix = next(
        (s, x)
        for s, x in ((1e12, " tn"), (1e9, " bn"), (1e6, " m"), (1e3, " k"), (1, ""))
        if top >= s or s == 1
    )
    lo, hi = _number(low / size), _number(high / size)
    figure = lo if lo == hi else f"{lo}–{hi}"
    symbol = SYMBOLS.get(currency)
    text = f"{symbol}{figure}{suffix}" if symbol else f"{figure}{suffix} {currency}"
    return f"≈ {text}" if approximate else text


def amount(amount: dict[str, Any] | None, usd: dict[str, Any] | None = None) -> str:
    """A deal's or project's amount, with its USD equivalent when converted."""
    if not amount:
        return UNKNOWN
    text = money(amount["low"], amount["high"], amount["currency"], amount["approximate"])
    if amount.get("qualifier") and not amount["approximate"]:
        text = f"{amount['qualifier']} {text}"  # "up to $3.7 bn"; "nearly" shows as ≈
    if usd and amount["currency"] != "USD" and usd.get("low") is not None:
        text += f" ({money(usd['low'], usd['high'], 'USD', True)})"
    return text


def usd_total(usd: dict[str, Any] | None, unpriced: int = 0) -> str:
    text = money(usd["low"], usd["high"], "USD", usd["approximate"]) if usd else UNKNOWN
    if unpriced:
        text += f" + {unpriced} unpriced"
    return text


def partial_date(date: dict[str, Any] | None) -> str:
    """A partial date at its own precision: 2025, Nov 2025, 2035–2036, early 2023."""
    if not date:
        return UNKNOWN
    start = dt.date.fromisoformat(date["start"])
    end = dt.date.fromisoformat(date["end"])
    precision = date["precision"]
    if precision == "day":
        text = start.isoformat() if start == end else f"{start.isoformat()}–{end:%d}"
        if start != end and (start.year, start.month) != (end.year, end.month):
            text = f"{start.isoformat()}–{end:%m-%d}"
        if start.year != end.year:
            text = f"{start.isoformat()}–{end.isoformat()}"
    elif precision == "month":
        text = start.strftime("%b %Y")
    elif precision == "year":
        text = str(start.year)
    elif precision == "years":
        text = f"{start.year}–{end.year}"
    elif date.get("text") and len(date["text"]) <= SHORT:
        text = date["text"]  # the source's own words: "early 2023"
    else:
        text = f"{start:%b}–{end:%b %Y}" if start.year == end.year else f"{start}–{end}"
    return f"~{text} (inferred)" if date.get("inferred") else text


def party(partner: dict[str, Any]) -> str:
    """A partner as people read it: a country by its code (KZ, US, EU), an organisation
    by its name (its slug is a key for commands, not for reading)."""
    return str(partner["key"] if partner.get("type") == "country" else partner["name"])


def partners(record: dict[str, Any], roles: tuple[str, ...] | None = None) -> str:
    names = [party(p) for p in record.get("partners", []) if roles is None or p["role"] in roles]
    return ", ".join(dict.fromkeys(names)) or UNKNOWN


def package_count(record: dict[str, Any]) -> str:
    """A package's stated size and how many of its documents a source names: "29 (5
    itemised)"; the count is the source's, the itemised parts never replace it."""
    text = UNKNOWN if record.get("count") is None else str(record["count"])
    if record.get("itemised"):
        text += f" ({record['itemised']} itemised)"
    return text


def stage(value: str | None) -> str:
    """A stage as people say it: "letter of interest"; unknown when none is recorded."""
    return value.replace("_", " ") if value else "stage not recorded"


def flagged(record: dict[str, Any], text: str) -> str:
    """``text`` with ⚠ before it when a source contradicts the record."""
    return f"⚠ {text}" if record.get("disputes") else text


def disputes(record: dict[str, Any]) -> str:
    """A marker for a record that a source disputes: "⚠ 2 (place, count)"."""
    if not record.get("disputes"):
        return ""
    return f"⚠ {record['disputes']} ({', '.join(record['disputed_fields'])})"


def flows(record: dict[str, Any]) -> str:
    """Who pays and who receives: ``US Export-Import Bank → KZ``."""
    payers = partners(record, PAYER_ROLES)
    recipients = partners(record, RECIPIENT_ROLES)
    if any(p["role"] == "co-financier" for p in record.get("partners", [])):
        payers += " and others"
    if payers == UNKNOWN and recipients == UNKNOWN:
        return partners(record)
    return f"{payers} → {recipients}"


def capacity(value: dict[str, Any] | None) -> str:
    if not value:
        return UNKNOWN
    return f"{_number(value['value'])} {value['unit']}"


def text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return UNKNOWN
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


# What the money ledger holds apart from a partner's own money (the partners command,
# the report and serve say it in these words): output key, count key, label.
NOT_OWN = (
    ("shared_unsplit", "shared_unsplit_deals", "paid with others, split not stated"),
    ("regional_unsplit", "regional_unsplit_deals", "regional, split not stated"),
    ("targets", "target_deals", "targets and ceilings, not money"),
    ("involved_direction_not_stated", "involved_deals", "involved, direction not stated"),
)


def not_own(totals: dict[str, Any]) -> list[str]:
    """A partner's money that is not its own to add, a line per kind: whole sums and how
    many deals ("regional, split not stated: $13.6 bn (3 deals)")."""
    lines = []
    for key, count, label in NOT_OWN:
        if totals[count]:
            deals = f"{totals[count]} deal{'s' if totals[count] != 1 else ''}"
            lines.append(f"{label}: {usd_total(totals[key])} ({deals})")
    return lines
