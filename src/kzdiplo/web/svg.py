"""Charts with no script: a timeline and money by partner as HTML (bars placed in
percent, so they reflow at any width and their text stays at the page's size: a phone
gets the same chart, not a scaled-down picture), and a map as SVG.

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
from kzdiplo.fields import precision_word
from kzdiplo.queries import NO_STAGE

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


def _link(href: str | None, body: str) -> str:
    return f'<a href="{escape(href)}">{body}</a>' if href else body


# The timeline's axis: the year with the most events gets FOCUS_SHARE of the width; the
# years before it (and after it) are folded into FOLDED_SHARE each, so three events in
# 2022-2024 do not squeeze a year of seventy into a fifth of a phone's width.
FOLDED_SHARE = 0.14


def _segments(
    spans: list[tuple[dt.date, dt.date]],
) -> list[tuple[str, dt.date, dt.date, float, float]]:
    """(label, first day, day after the last, left, width) of each stretch of the axis,
    left and width as fractions of the track."""
    starts = [s.year for s, _ in spans]
    focus = max(set(starts), key=lambda y: (starts.count(y), y))
    first = dt.date(min(s for s, _ in spans).year, 1, 1)
    last = dt.date(max(e - dt.timedelta(days=1) for _, e in spans).year + 1, 1, 1)
    year_start, year_end = dt.date(focus, 1, 1), dt.date(focus + 1, 1, 1)
    before, after = first < year_start, last > year_end
    share = 1 - FOLDED_SHARE * (before + after)
    out = []
    left = 0.0
    if before:
        label = (
            f"{first.year}–{(focus - 1) % 100:02d}" if first.year < focus - 1 else str(first.year)
        )
        out.append((label, first, year_start, left, FOLDED_SHARE))
        left += FOLDED_SHARE
    out.append((str(focus), year_start, year_end, left, share))
    left += share
    if after:
        label = (
            f"{focus + 1}–{(last.year - 1) % 100:02d}"
            if last.year - 1 > focus + 1
            else str(focus + 1)
        )
        out.append((label, year_end, last, left, FOLDED_SHARE))
    return out


def _position(day: dt.date, segments: list[tuple[str, dt.date, dt.date, float, float]]) -> float:
    """Where ``day`` falls on the track, as a percentage (linear within its stretch)."""
    for _, start, end, left, width in segments:
        if day <= end:
            return 100 * (left + width * max((day - start).days, 0) / (end - start).days)
    return 100.0


def timeline(
    events: list[dict[str, Any]],
    href: Callable[[dict[str, Any]], str | None] = lambda _r: None,
) -> str:
    """One row per dated event: its title and date as text (wrapping at any width, at
    the page's font size), and a bar over every day its date may fall on (a year-only
    date spans the year) on an axis that gives the busiest year most of the width and
    folds the years before and after it. Undated events are left to the caller."""
    dated = [e for e in events if e.get("date")]
    if not dated:
        return '<p class="empty">No dated events.</p>'
    spans = [date_span(e["date"]) for e in dated]
    segments = _segments(spans)
    axis = []
    for label, start, _, left, width in segments:
        folded = " folded" if width <= FOLDED_SHARE else ""
        axis.append(
            f'<span class="segment{folded}" style="left:{100 * left:.2f}%;width:{100 * width:.2f}%"'
            f' data-from="{start}">{label}</span>'
        )
        if not folded:
            for month, name in ((4, "Apr"), (7, "Jul"), (10, "Oct")):
                at = _position(dt.date(start.year, month, 1), segments)
                axis.append(f'<span class="tick" style="left:{at:.2f}%">{name}</span>')
    rows = []
    for event, (start, end) in zip(dated, spans, strict=True):
        date = event["date"]
        when = display.partial_date(date)
        wording = f" ({date['text']})" if date.get("text") else ""
        disputed = " ⚠" if event.get("disputes") else ""
        x0, x1 = _position(start, segments), _position(end, segments)
        rows.append(
            f'<li class="event" data-slug="{escape(event["slug"])}">'
            f'<div class="label">{_link(href(event), escape(event["title"]))}{disputed} '
            f'<span class="when">{escape(when)} · {escape(precision_word(date))}</span></div>'
            f'<div class="track"><span class="bar p-{escape(date["precision"])}" '
            f'style="left:{x0:.3f}%;width:{x1 - x0:.3f}%" title="{escape(when + wording)}" '
            f'data-start="{start}" data-end="{end - dt.timedelta(days=1)}" '
            f'data-precision="{escape(date["precision"])}"></span></div></li>'
        )
    return (
        f'<figure class="chart timeline" aria-label="Timeline of {len(dated)} dated events">'
        f'<div class="axis-row"><div class="label"></div><div class="axis">{"".join(axis)}'
        f'</div></div><ol class="rows">{"".join(rows)}</ol></figure>'
    )


def timeline_table(
    events: list[dict[str, Any]], href: Callable[[dict[str, Any]], str | None] = lambda _r: None
) -> str:
    """The timeline's figures as a table: each dated event's date, its precision, the
    range it may fall in and the source's wording."""
    rows = "".join(
        f"<tr><td>{escape(display.partial_date(e['date']))}</td>"
        f"<td>{escape(precision_word(e['date']))}: {e['date']['start']} to {e['date']['end']}</td>"
        f"<td>{escape(e['date'].get('text') or display.UNKNOWN)}</td>"
        f"<td>{_link(href(e), escape(e['title']))}</td></tr>"
        for e in events
        if e.get("date")
    )
    return (
        '<div class="scroll"><table class="figures"><thead><tr><th>Date</th><th>May fall '
        "in</th><th>The source's words</th><th>Event</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


def _money_rows(
    partners: list[dict[str, Any]],
) -> list[tuple[dict[str, Any], dict[str, Any], str, dict[str, Any] | None]]:
    """(partner, stage totals, direction, US dollars or None) for each row of the chart."""
    rows = []
    for p in partners:
        for name, s in p["by_stage"].items():
            s = s | {"stage": None if name == NO_STAGE else name}
            for side, word in (("usd_from_partner", "from"), ("usd_to_partner", "to")):
                if s[side]:
                    rows.append((p, s, word, s[side]))
            if not (s["usd_from_partner"] or s["usd_to_partner"]) and s["unpriced_deals"]:
                rows.append((p, s, "unpriced", None))
    return rows


def _figure(stage: dict[str, Any], usd: dict[str, Any] | None) -> str:
    if usd is None:
        return f"{stage['unpriced_deals']} unpriced deal(s), no amount in any source"
    figure = display.money(usd["low"], usd["high"], "USD", usd["approximate"])
    extra = f" + {stage['unpriced_deals']} unpriced" if stage["unpriced_deals"] else ""
    return figure + extra


def money(partners: list[dict[str, Any]]) -> str:
    """Each partner's own US dollars (the money_flows ledger's), from and to it, one row
    per partner, direction and stage, as text with a bar beside it (under it on a phone):
    a range is a bar from low to high with end caps, a single figure a dot, "nearly" a
    hollow mark and ≈; a log scale, so that $8 m and $17 bn both show. Unpriced deals
    are counted in the row's figure."""
    rows = _money_rows(partners)
    if not rows:
        return '<p class="empty">No money recorded.</p>'
    values = [v for *_, u in rows if u for v in (u["low"], u["high"]) if v]
    low = 10 ** math.floor(math.log10(min(values)))
    high = 10 ** math.ceil(math.log10(max(values)))
    if high == low:
        high = low * 10

    def at(value: float) -> float:
        return 100 * (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))

    ticks = []
    tick = low
    while tick <= high:
        ticks.append(
            f'<span class="tick" style="left:{at(tick):.2f}%">'
            f"{escape(display.money(int(tick), int(tick), 'USD'))}</span>"
        )
        tick *= 10
    items = []
    for partner, stage, word, usd in rows:
        colour = STAGE_COLOURS.get(stage["stage"], STAGE_COLOURS[None])
        stage_word = display.stage(stage["stage"])
        mark = ""
        if usd:
            x0, x1 = at(usd["low"]), at(max(usd["high"], usd["low"]))
            hollow = " hollow" if usd["approximate"] else ""
            if x1 - x0 > 0.5:
                mark = (f'<span class="range{hollow}" style="left:{x0:.2f}%;width:{x1 - x0:.2f}%;'
                        f'border-color:{colour};color:{colour}"></span>')  # fmt: skip
            else:
                mark = (f'<span class="dot{hollow}" style="left:{x0:.2f}%;border-color:{colour};'
                        f'color:{colour}"></span>')  # fmt: skip
        items.append(
            f'<li class="money-row" data-partner="{escape(partner["key"])}" '
            f'data-stage="{escape(stage["stage"] or "")}" data-direction="{word}">'
            f'<div class="label">{escape(partner["name"])} ({escape(partner["key"])}) · {word} · '
            f"{escape(stage_word)}</div>"
            f'<div class="track">{mark}</div>'
            f'<div class="figure">{escape(_figure(stage, usd))}</div></li>'
        )
    return (
        '<figure class="chart money" aria-label="US dollars by partner and stage">'
        f'<div class="axis-row"><div class="label"></div><div class="axis">{"".join(ticks)}'
        f'</div><div class="figure"></div></div><ol class="rows">{"".join(items)}</ol></figure>'
    )


def money_table(partners: list[dict[str, Any]]) -> str:
    """The money chart's figures as a table, row for row."""
    rows = "".join(
        f"<tr><td>{escape(p['name'])} ({escape(p['key'])})</td><td>{word}</td>"
        f"<td>{escape(display.stage(s['stage']))}</td><td>{escape(_figure(s, usd))}</td></tr>"
        for p, s, word, usd in _money_rows(partners)
    )
    return (
        '<div class="scroll"><table class="figures"><thead><tr><th>Partner</th>'
        "<th>Direction</th><th>Stage</th><th>US dollars</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></div>"
    )


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
