"""Charts as plain SVG text, no script: a timeline, money by partner, a map.

Generated on the server side so that the static report opens from ``file://`` with no
library and no network, and the Datasette pages can show the same pictures. Each chart
keeps the data's uncertainty visible: a partial date is a bar over every day it may
fall on, a money range is a range, "nearly" is marked, unpriced deals are counted.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from html import escape
from typing import Any

from kzdiplo import display
from kzdiplo.queries import NO_STAGE

PRECISION_WORDS = {
    "day": "day",
    "month": "month",
    "part_of_year": "part of a year",
    "year": "year",
    "years": "span of years",
}
# One colour per stage (colour-blind-safe Okabe-Ito order); "not recorded" is grey.
STAGE_COLOURS = {
    "announced": "#E69F00",
    "letter_of_interest": "#56B4E9",
    "memorandum": "#009E73",
    "signed": "#0072B2",
    "approved": "#D55E00",
    "in_force": "#CC79A7",
    "disbursing": "#000000",
    "completed": "#332288",
    "suspended": "#882255",
    "cancelled": "#999933",
    None: "#777777",
}
# Radius (in map pixels) that shows how precisely a cited source places a record.
PLACE_RADIUS = {"exact": 3, "site": 4, "settlement": 6, "district": 11, "region": 18}


def _day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def date_span(date: dict[str, Any]) -> tuple[dt.date, dt.date]:
    """First day and the day after the last day a partial date may fall on."""
    return _day(date["start"]), _day(date["end"]) + dt.timedelta(days=1)


def precision_word(date: dict[str, Any]) -> str:
    return PRECISION_WORDS.get(date["precision"], date["precision"])


def _link(href: str | None, body: str) -> str:
    return f'<a href="{escape(href)}">{body}</a>' if href else body


def timeline(
    events: list[dict[str, Any]],
    href: Callable[[dict[str, Any]], str | None] = lambda _r: None,
    width: int = 1000,
) -> str:
    """One bar per dated event over its whole range (a year-only date spans the year),
    labelled with the source's wording and the precision; undated events are left to
    the caller to list."""
    dated = [e for e in events if e.get("date")]
    if not dated:
        return '<p class="empty">No dated events.</p>'
    spans = [date_span(e["date"]) for e in dated]
    first = dt.date(min(s for s, _ in spans).year, 1, 1)
    last = dt.date(max(e for _, e in spans).year + 1, 1, 1)
    left, right, top, row = 8, 8, 34, 34
    plot = width - left - right
    per_day = plot / (last - first).days
    height = top + row * len(dated) + 10

    def x(day: dt.date) -> float:
        return left + (day - first).days * per_day

    parts = [
        f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" data-px-per-day="{per_day:.6f}" '
        f'aria-label="Timeline of {len(dated)} dated events">'
    ]
    year = first.year
    while dt.date(year, 1, 1) < last:
        x0 = x(dt.date(year, 1, 1))
        parts.append(
            f'<line class="year" x1="{x0:.1f}" y1="18" x2="{x0:.1f}" y2="{height}"/>'
            f'<text class="axis" x="{x0 + 3:.1f}" y="14">{year}</text>'
        )
        for month in range(2, 13):
            xm = x(dt.date(year, month, 1))
            parts.append(f'<line class="month" x1="{xm:.1f}" y1="22" x2="{xm:.1f}" y2="28"/>')
        year += 1
    for i, (event, (start, end)) in enumerate(zip(dated, spans, strict=True)):
        y = top + i * row
        x0, x1 = x(start), x(end)
        date = event["date"]
        when = display.partial_date(date)
        wording = f" ({date['text']})" if date.get("text") else ""
        disputed = " ⚠" if event.get("disputes") else ""
        label = f"{when} · {precision_word(date)} — {event['title']}{disputed}"
        parts.append(
            f'<g class="event" data-slug="{escape(event["slug"])}">'
            f"<title>{escape(when + wording)}: {escape(event['title'])}</title>"
            f'<rect class="bar p-{escape(date["precision"])}" x="{x0:.2f}" y="{y + 15}" '
            f'width="{max(x1 - x0, 3):.2f}" height="12" rx="2" '
            f'data-start="{start}" data-end="{end - dt.timedelta(days=1)}" '
            f'data-precision="{escape(date["precision"])}"/>'
            f'<text class="label" x="{left}" y="{y + 11}">'
            f"{_link(href(event), escape(label))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _log_x(value: float, low: float, high: float, left: float, plot: float) -> float:
    return (
        left + (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low)) * plot
    )


def money(partners: list[dict[str, Any]], width: int = 1000) -> str:
    """Each partner's own US dollars (the money_flows ledger's), from and to it, one row per
    partner, direction and stage:
    a range is a bar from low to high with end caps, a single figure a dot, "nearly" a
    hollow mark and ≈; a log scale, so that $8 m and $17 bn both show. Unpriced deals
    are counted at the row's end."""
    rows = []
    for p in partners:
        for name, s in p["by_stage"].items():
            s = s | {"stage": None if name == NO_STAGE else name}
            for side, word in (("usd_from_partner", "from"), ("usd_to_partner", "to")):
                if s[side]:
                    rows.append((p, s, word, s[side]))
            if not (s["usd_from_partner"] or s["usd_to_partner"]) and s["unpriced_deals"]:
                rows.append((p, s, "unpriced", None))
    if not rows:
        return '<p class="empty">No money recorded.</p>'
    values = [v for *_, u in rows if u for v in (u["low"], u["high"]) if v]
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    if high == low:
        high = low * 10
    left, right, top, row = 330, 130, 30, 24
    plot = width - left - right
    height = top + row * len(rows) + 10
    parts = [
        f'<svg class="money" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="US dollars by partner and stage">'
    ]
    tick = low
    while tick <= high:
        tx = _log_x(tick, low, high, left, plot)
        parts.append(
            f'<line class="year" x1="{tx:.1f}" y1="18" x2="{tx:.1f}" y2="{height}"/>'
            f'<text class="axis" x="{tx:.1f}" y="14" text-anchor="middle">'
            f"{escape(display.money(int(tick), int(tick), 'USD'))}</text>"
        )
        tick *= 10
    for i, (partner, stage, word, usd) in enumerate(rows):
        y = top + i * row + 8
        colour = STAGE_COLOURS.get(stage["stage"], STAGE_COLOURS[None])
        name = f"{partner['name']} ({partner['key']})"
        short = name if len(name) <= 26 else name[:25] + "…"
        stage_word = display.stage(stage["stage"])
        parts.append(
            f'<g class="money-row" data-partner="{escape(partner["key"])}" '
            f'data-stage="{escape(stage["stage"] or "")}" data-direction="{word}">'
            f"<title>{escape(name)}: {word} the partner, {escape(stage_word)}</title>"
            f'<text class="label" x="{left - 8}" y="{y + 4}" text-anchor="end">'
            f"{escape(short)} · {word} · {escape(stage_word)}</text>"
        )
        if usd:
            x0 = _log_x(usd["low"], low, high, left, plot)
            x1 = _log_x(max(usd["high"], usd["low"]), low, high, left, plot)
            fill = "none" if usd["approximate"] else colour
            if x1 - x0 > 1:
                parts.append(
                    f'<line class="range" x1="{x0:.1f}" y1="{y}" x2="{x1:.1f}" y2="{y}" '
                    f'stroke="{colour}"/>'
                    f'<line x1="{x0:.1f}" y1="{y - 5}" x2="{x0:.1f}" y2="{y + 5}" '
                    f'stroke="{colour}"/>'
                    f'<line x1="{x1:.1f}" y1="{y - 5}" x2="{x1:.1f}" y2="{y + 5}" '
                    f'stroke="{colour}"/>'
                )
            else:
                parts.append(
                    f'<circle cx="{x0:.1f}" cy="{y}" r="5" fill="{fill}" stroke="{colour}" '
                    'stroke-width="2"/>'
                )
            figure = display.money(usd["low"], usd["high"], "USD", usd["approximate"])
            extra = f" + {stage['unpriced_deals']} unpriced" if stage["unpriced_deals"] else ""
            parts.append(
                f'<text class="figure" x="{x1 + 9:.1f}" y="{y + 4}">{escape(figure + extra)}</text>'
            )
        else:
            parts.append(
                f'<text class="figure" x="{left}" y="{y + 4}">'
                f"{stage['unpriced_deals']} unpriced deal(s), no amount in any source</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def stage_legend() -> str:
    """The stage colours as an HTML list (text, so it reads on a phone)."""
    items = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>'
        f"{escape(display.stage(stage))}</li>"
        for stage, colour in STAGE_COLOURS.items()
    )
    return f'<ul class="legend">{items}</ul>'


# Kazakhstan's extent, with a margin: a plain longitude/latitude frame, no base map
# (no tiles to fetch, and no outline data to vendor); the world's, for places abroad.
MAP_BOX = (46.0, 40.0, 88.0, 56.0)  # west, south, east, north
WORLD_BOX = (-180.0, -60.0, 180.0, 80.0)


def in_box(at: dict[str, Any], box: tuple[float, float, float, float] = MAP_BOX) -> bool:
    """A point inside ``box``: one outside it would be drawn off the frame."""
    west, south, east, north = box
    return bool(west <= at["longitude"] <= east and south <= at["latitude"] <= north)


def _grid(box: tuple[float, float, float, float]) -> tuple[range, range]:
    """Meridians and parallels to draw: every 5 degrees in a country, 30 on the world."""
    west, south, east, north = box
    step = 5 if east - west < 90 else 30
    first_lon = int(math.ceil(west / step) * step)
    first_lat = int(math.ceil(south / step) * step)
    return range(first_lon, int(east), step), range(first_lat, int(north), step)


def place_map(
    records: list[dict[str, Any]],
    href: Callable[[dict[str, Any]], str | None] = lambda _r: None,
    box: tuple[float, float, float, float] = MAP_BOX,
    width: int = 700,
) -> str:
    """Records whose sources give a place, one circle per place (its records named in
    its label and tooltip), sized by how precise the place is (a region is a wide
    circle, a site a dot), on a longitude/latitude grid of ``box``."""
    west, south, east, north = box
    scale = width / (east - west)
    # degrees of latitude drawn longer than longitude, about right for the frame's middle
    stretch = 1 / max(math.cos(math.radians((north + south) / 2)), 0.5)
    height = round((north - south) * scale * stretch)
    groups: dict[tuple[float, float], list[dict[str, Any]]] = {}
    for r in records:
        c = r.get("coordinates")
        if c and in_box(c, box):
            groups.setdefault((c["longitude"], c["latitude"]), []).append(r)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (lon - west) * scale, (north - lat) / (north - south) * height

    placed = sum(len(g) for g in groups.values())
    parts = [
        f'<svg class="map" viewBox="0 0 {width} {height}" role="img" '
        f'xmlns="http://www.w3.org/2000/svg" aria-label="{placed} placed records">'
        f'<rect class="frame" x="0" y="0" width="{width}" height="{height}"/>'
    ]
    meridians, parallels = _grid(box)
    for lon in meridians:
        x, _ = xy(lon, north)
        parts.append(
            f'<line class="grid" x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height}"/>'
            f'<text class="axis" x="{x + 2:.1f}" y="{height - 4}">'
            f"{abs(lon)}°{'E' if lon >= 0 else 'W'}</text>"
        )
    for lat in parallels:
        _, y = xy(west, lat)
        parts.append(
            f'<line class="grid" x1="0" y1="{y:.1f}" x2="{width}" y2="{y:.1f}"/>'
            f'<text class="axis" x="2" y="{y - 2:.1f}">{abs(lat)}°{"N" if lat >= 0 else "S"}</text>'
        )
    for (at_lon, at_lat), group in groups.items():
        x, y = xy(at_lon, at_lat)
        radius = min(PLACE_RADIUS.get(r["coordinates"].get("precision") or "", 6) for r in group)
        names = [str(r.get("title") or r.get("name") or r["slug"]) for r in group]
        if len(group) == 1:
            label = _link(href(group[0]), escape(names[0]))
        else:
            where = min((r.get("location") or "" for r in group), key=len) or f"{at_lat}, {at_lon}"
            label = escape(f"{where}: {len(group)} records")
        tooltip = "; ".join(names)
        parts.append(
            f'<g class="place" data-slug="{escape(group[0]["slug"])}" data-count="{len(group)}">'
            f"<title>{escape(tooltip)}</title>"
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}"/>'
            f'<text class="label" x="{x + radius + 3:.1f}" y="{y + 4:.1f}">{label}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)
