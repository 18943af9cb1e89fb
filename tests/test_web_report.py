"""kzdiplo report: the static folder, opened from file:// in a real Chromium with every
request that would leave the machine blocked and counted."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kzdiplo.web.report import PAGE_SIZE
from tests.browser import (
    colours_in_png,
    guarded_page,
    launch,
    png_size,
    smallest_text,
)
from tests.cli_helpers import run

pytestmark = pytest.mark.slow  # a Chromium browser (Playwright) over a built report

LOCAL = ("file://",)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


@pytest.fixture(scope="module")
def site(seeded_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "site"
    result = run(seeded_template, "report", "--out", str(out))
    assert result.exit_code == 0, result.stderr
    return out


def _open(browser: Any, path: Path, width: int = 1280) -> Any:
    page, guard = guarded_page(browser, LOCAL, width)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, guard


def _dated_events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM events WHERE date_start IS NOT NULL"
        ).fetchone()
    return int(count)


def test_the_index_opens_with_no_request_leaving_the_machine(browser: Any, site: Path) -> None:
    page, guard = _open(browser, site / "index.html")
    assert page.locator("h1").inner_text() == "Kazakhstan's 2025 diplomacy"
    for section in ("#timeline .chart", "#money .chart", "#map svg.map"):
        assert page.locator(section).count() >= 1, section
    page.locator("#records a[href^='records/']").first.click()
    page.wait_for_load_state("load")
    assert guard.blocked == []


def test_the_timeline_has_one_bar_per_dated_event(
    browser: Any, site: Path, seeded_template: Path
) -> None:
    page, guard = _open(browser, site / "index.html")
    bars = page.locator("#timeline .chart .bar")
    assert bars.count() == _dated_events(seeded_template) > 5
    early = page.locator("#timeline li[data-slug='kz-gas-supply-halt-to-china-2023'] .bar")
    assert early.get_attribute("data-start") == "2023-01-01"
    assert early.get_attribute("data-precision") == "part_of_year"
    label = page.locator("#timeline li[data-slug='kz-gas-supply-halt-to-china-2023'] .label")
    assert "part of a year" in label.inner_text()
    # a year-only 2025 date spans the whole 2025 stretch of the axis, a day is a sliver
    year = page.locator("#timeline .segment", has_text="2025").bounding_box()
    whole = page.locator("#timeline li .bar[data-precision='year'][data-start='2025-01-01']")
    assert abs(whole.first.bounding_box()["width"] - year["width"]) < 2
    assert guard.blocked == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_timeline_gives_2025_most_of_its_width(browser: Any, site: Path, width: int) -> None:
    """The busiest year (2025: nearly every event) takes most of the axis; the three
    events of 2022-2024 share a folded stretch, each still drawn."""
    page, guard = _open(browser, site / "index.html", width)
    axis = page.locator("#timeline .axis").bounding_box()
    year = page.locator("#timeline .segment", has_text="2025").bounding_box()
    folded = page.locator("#timeline .segment.folded")
    assert folded.count() >= 1 and "2022" in folded.first.inner_text()
    assert year["width"] > 0.7 * axis["width"], (year, axis)
    for slug in ("kz-gas-supply-halt-to-china-2023",):
        bar = page.locator(f"#timeline li[data-slug='{slug}'] .bar").bounding_box()
        assert bar["width"] >= 3 and axis["x"] <= bar["x"] < year["x"]
    assert guard.blocked == []


@pytest.mark.parametrize("width", [1280, 390])
def test_no_chart_text_is_smaller_than_11_px(browser: Any, site: Path, width: int) -> None:
    """On a phone the charts reflow rather than scale down: before, the timeline's and
    the money chart's SVG text was drawn 4-5 px high at 390 px."""
    page, guard = _open(browser, site / "index.html", width)
    for chart in ("#timeline .chart", "#money .chart", "#map svg.map"):
        assert page.locator(chart).count() >= 1, chart
    smallest, where = smallest_text(page, "#timeline .chart *, #money .chart *, #map svg.map *")
    assert smallest >= 11, (smallest, where)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert guard.blocked == []


def test_every_chart_has_its_figures_as_a_table(
    browser: Any, site: Path, seeded_template: Path
) -> None:
    with sqlite3.connect(seeded_template) as conn:
        dated = conn.execute("SELECT count(*) FROM events WHERE date_start IS NOT NULL").fetchone()
        placed = sum(
            conn.execute(f"SELECT count(*) FROM {t} WHERE latitude IS NOT NULL").fetchone()[0]
            for t in (
                "agreements",
                "deals",
                "mineral_deposits",
                "infrastructure_projects",
                "events",
            )
            if "latitude" in [c[1] for c in conn.execute(f"PRAGMA table_info({t})")]
        )
    page, guard = _open(browser, site / "index.html", 390)
    assert page.locator("#timeline table.figures tbody tr").count() == dated[0]
    rows = page.locator("#money .chart li.money-row").count()
    assert page.locator("#money table.figures tbody tr").count() == rows > 3
    assert page.locator("#map table.places tbody tr").count() == placed > 0
    drawn = page.locator("#map svg.map g.place").evaluate_all(
        "gs => gs.reduce((n, g) => n + Number(g.dataset.count), 0)"
    )
    assert drawn == placed  # every placed record is on a map, none dropped
    assert guard.blocked == []


def test_a_record_page_shows_the_quote_and_marks_summaries_as_ours(
    browser: Any, site: Path
) -> None:
    page, guard = _open(browser, site / "records" / "deal-kz-us-washington-agreements-value.html")
    quotes = page.locator("blockquote.quote")
    assert any("nearly $17 billion" in q for q in quotes.all_inner_texts())
    page2, _ = _open(browser, site / "records" / "deposit-north-katpal.html")
    summaries = page2.locator("li.citation[data-kind='summary']")
    assert summaries.count() > 0
    for text in (summaries.nth(i).text_content() for i in range(summaries.count())):
        assert "Our summary, not a quotation" in text
        assert "\u201c" not in text.split("Our summary, not a quotation:")[1].split("—")[0]
    assert page2.locator(".discrepancy h3", has_text="This record says").count() > 0
    assert guard.blocked == []


def _loaded_scripts(page: Any) -> list[str]:
    return page.evaluate(
        "Array.from(document.querySelectorAll('script[src]'), s => s.getAttribute('src'))"
    )


def test_search_finds_tungsten_and_links_to_the_record(browser: Any, site: Path) -> None:
    """The index is split: the page starts with the keys alone and, for "tungsten",
    loads the files of the key "tu" and the file describing the records it shows."""
    page, guard = _open(browser, site / "index.html")
    assert [s for s in _loaded_scripts(page) if s.startswith("search/")] == []
    page.fill("#q", "tungsten")
    link = page.locator("#results").get_by_role(
        "link", name="North Katpal tungsten mine", exact=True
    )
    link.wait_for()
    assert link.count() == 1
    loaded = {s for s in _loaded_scripts(page) if s.startswith("search/")}
    assert "search/w-74-75.0.js" in loaded  # "tu": its key's code points
    assert {s.split(".")[0] for s in loaded if s.startswith("search/w-")} == {"search/w-74-75"}
    assert any(s.startswith("search/d-") for s in loaded)
    assert page.locator("#results mark").first.inner_text().lower() == "tungsten"
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("records/deposit-north-katpal.html")
    assert page.locator("h1").inner_text() == "North Katpal tungsten mine"
    assert guard.blocked == []


@pytest.mark.parametrize("width", [1280, 390])
def test_the_index_leads_to_every_record_through_the_list_pages(
    browser: Any, site: Path, seeded_template: Path, width: int
) -> None:
    with sqlite3.connect(seeded_template) as conn:
        (agreements,) = conn.execute("SELECT count(*) FROM agreements").fetchone()
    page, guard = _open(browser, site / "index.html", width)
    page.locator("#records a[href='lists/agreement-1.html']").click()
    page.wait_for_load_state("load")
    assert page.locator("h1").inner_text() == f"Agreements ({agreements})"
    assert page.locator("ol.records > li").count() == min(agreements, PAGE_SIZE)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    page.locator("ol.records a").first.click()
    page.wait_for_load_state("load")
    assert "/records/agreement-" in page.url and page.locator("h1").count() == 1
    assert guard.blocked == []


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_are_pngs_and_not_blank(
    browser: Any, site: Path, tmp_path: Path, width: int
) -> None:
    page, guard = _open(browser, site / "index.html", width)
    target = tmp_path / f"report-{width}.png"
    page.screenshot(path=str(target), full_page=True)
    png = target.read_bytes()
    assert png_size(png)[0] == width
    assert colours_in_png(browser, png) > 20
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no side-scroll
    page.goto((site / "records" / "deposit-north-katpal.html").as_uri())
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert guard.blocked == []


def test_report_refuses_a_folder_it_did_not_write(seeded_template: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = run(seeded_template, "report", "--out", str(out))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "--force" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    forced = run(seeded_template, "report", "--out", str(out), "--force")
    assert forced.exit_code == 0, forced.stderr
    assert (out / "notes.txt").read_text() == "mine" and (out / "index.html").is_file()
    stale = out / "records" / "event-gone.html"
    marker = out / ".kzdiplo-report"
    marker.write_text(
        marker.read_text().replace('"index.html"', '"index.html", "records/event-gone.html"')
    )
    stale.write_text("old page")
    # notes.txt is still someone else's: every run into that folder needs --force.
    assert run(seeded_template, "report", "--out", str(out)).exit_code == 2
    again = run(seeded_template, "report", "--out", str(out), "--force")
    assert again.exit_code == 0, again.stderr
    assert not stale.exists()
    file = tmp_path / "file"
    file.write_text("x")
    assert run(seeded_template, "report", "--out", str(file)).exit_code == 2


def test_the_map_draws_placed_records_by_precision_and_lists_the_rest() -> None:
    from kzdiplo.web.svg import place_map

    placed = {
        "slug": "a",
        "name": "A site",
        "coordinates": {"latitude": 48.0, "longitude": 70.0, "precision": "site"},
    }
    region = {
        "slug": "b",
        "name": "A region",
        "coordinates": {"latitude": 47.0, "longitude": 75.0, "precision": "region"},
    }
    svg = place_map([placed, region, {"slug": "c", "name": "Nowhere", "coordinates": None}])
    assert svg.count("<circle") == 2 and 'r="4"' in svg and 'r="18"' in svg
    assert "Nowhere" not in svg  # the caller lists it beside the map


def test_money_keeps_ranges_nearly_unpriced_and_stages() -> None:
    from kzdiplo.queries import NO_STAGE
    from kzdiplo.web.svg import money, money_table

    def stage(usd: dict[str, Any] | None, unpriced: int = 0) -> dict[str, Any]:
        return {"usd_from_partner": usd, "usd_to_partner": None, "unpriced_deals": unpriced}

    partner = {"key": "US", "name": "United States", "by_stage": {
        "signed": stage({"low": 14 * 10**9, "high": 15 * 10**9, "approximate": False}),
        "announced": stage({"low": 17 * 10**9, "high": 17 * 10**9, "approximate": True}, 1),
        NO_STAGE: stage(None, 2),
    }}  # fmt: skip
    chart = money([partner])
    assert chart.count('class="money-row"') == 3
    assert 'data-stage="signed"' in chart and 'data-stage="announced"' in chart
    assert 'class="range"' in chart and "$14–15 bn" in chart  # a range, with end caps
    assert 'class="dot hollow"' in chart and "≈ $17 bn + 1 unpriced" in chart  # "nearly"
    assert "2 unpriced deal(s)" in chart  # counted, not drawn
    table = money_table([partner])
    assert table.count("<tr><td>") == 3 and "$14–15 bn" in table


def test_only_web_links_become_links() -> None:
    from kzdiplo.web.pages import source_html

    assert "<a " not in source_html({"title": "x", "url": "javascript:alert(1)"})
    assert '<a href="https://example.org/?a=1&amp;b=2"' in source_html(
        {"title": "<b>", "url": "https://example.org/?a=1&b=2"}
    )
    assert "&lt;b&gt;" in source_html({"title": "<b>", "url": None})
