"""kzdiplo serve: a real Datasette on 127.0.0.1, looked at in a real Chromium."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.browser import (
    colours_in_png,
    guarded_page,
    launch,
    placed_records,
    png_size,
    smallest_text,
)
from tests.cli_helpers import ENV, kzdiplo_command, run_process

pytestmark = pytest.mark.slow  # a Chromium browser (Playwright) against a served site


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from launch()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(seeded_template: Path) -> Iterator[str]:
    """``kzdiplo serve`` on a free port, until the module's tests are done."""
    with serving(seeded_template) as url:
        yield url


@contextmanager
def serving(db: Path) -> Iterator[str]:
    """``kzdiplo serve`` of ``db`` on a free port; its URL."""
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KZDIPLO_")} | ENV
    proc = subprocess.Popen(
        [*kzdiplo_command(), "--db", str(db), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(url + "/-/versions.json", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stderr.read().decode() if proc.stderr else ""
                    ) from None
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    # read-only: the database served is byte for byte what it was
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def _open(browser: Any, server: str, path: str, width: int = 1280) -> Any:
    page, guard = guarded_page(browser, (server + "/",), width)
    page.goto(server + path)
    return page, guard


def _facet_count(page: Any, facet: str, value: str) -> int:
    """The count Datasette shows beside ``value`` in the facet box ``facet``."""
    item = page.locator(f".facet-info[data-column='{facet}'] li").filter(
        has=page.get_by_role("link", name=value, exact=True)
    )
    assert item.count() == 1, f"{facet}={value}"
    return int(item.inner_text().split()[-1].replace(",", ""))


def test_the_partner_facet_counts_us_and_kz_apart(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/kzdiplo/records")
    us, kz = _facet_count(page, "partners", "US"), _facet_count(page, "partners", "KZ")
    truth = _get_json(server + "/kzdiplo/records.json?_shape=array&_size=max")
    assert us == sum("US" in json.loads(r["partners"]) for r in truth) > 0
    assert kz == sum("KZ" in json.loads(r["partners"]) for r in truth) > us
    assert page.get_by_role("link", name="US, KZ").count() == 0  # never one joined value
    assert guard.blocked == []


def test_the_year_facet_counts_2035_2036_in_both_years(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/kzdiplo/records")
    assert _facet_count(page, "years", "2035") >= 1
    assert _facet_count(page, "years", "2036") >= 1
    for year in ("2035", "2036"):
        page.get_by_role("link", name=year, exact=True).first.click()
        page.wait_for_load_state("load")
        assert page.get_by_text("Kazakhstan's first nuclear power plant").count() >= 1, year
        page.go_back()
    assert "01-01" not in " ".join(
        page.locator(".facet-info[data-column='years'] li").all_inner_texts()
    )
    assert guard.blocked == []


def test_search_finds_tungsten_and_links_to_the_record(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/-/kzdiplo/search?q=tungsten")
    link = page.get_by_role("link", name="North Katpal tungsten mine", exact=True)
    assert link.count() == 1
    assert page.locator(".results mark").first.inner_text().lower().startswith("tungsten")
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/-/kzdiplo/record/deposit/north-katpal")
    assert page.locator("h1").inner_text() == "North Katpal tungsten mine"
    assert page.get_by_text("This record says").count() > 0  # both sides of a discrepancy
    assert guard.blocked == []


def test_a_record_page_shows_the_quote_and_marks_summaries(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/-/kzdiplo/record/deal/kz-us-washington-agreements-value")
    assert any(
        "nearly $17 billion" in q for q in page.locator("blockquote.quote").all_inner_texts()
    )
    summaries = page.locator("li.citation[data-kind='summary'] p.summary")
    assert summaries.count() > 0
    assert all(
        "Our summary, not a quotation" in (summaries.nth(i).text_content() or "")
        for i in range(summaries.count())
    )
    assert page.locator(".source a[href^='http']").count() > 0  # each source links out
    missing = page.goto(server + "/-/kzdiplo/record/deal/no-such-deal")
    assert missing is not None and missing.status == 404
    assert guard.blocked == []


def test_canned_queries_and_metadata(server: str) -> None:
    meta = _get_json(server + "/-/metadata.json")
    assert "code licence: MIT" in meta["about"] and "CC BY 4.0" in meta["license"]
    tables = meta["databases"]["kzdiplo"]["tables"]
    assert tables["records"]["columns"]["years"] and tables["agreements"]["description"]
    signed = _get_json(server + "/kzdiplo/signed_with_partner.json?partner=US&_shape=array")
    assert any(r["title"] == "29 agreements of the Washington visit" for r in signed)
    for name in ("money_by_partner_and_stage", "timeline", "disputed_facts",
                 "single_source_facts"):  # fmt: skip
        assert _get_json(server + f"/kzdiplo/{name}.json?_shape=array"), name
    timeline = _get_json(server + "/kzdiplo/timeline.json?_shape=array")
    early = next(r for r in timeline if r["date_text"] == "In early 2023")
    assert (early["date_start"], early["date_end"]) == ("2023-01-01", "2023-04-30")


def test_a_screenshot_is_not_blank(browser: Any, server: str, tmp_path: Path) -> None:
    page, guard = _open(browser, server, "/kzdiplo/records", 1280)
    png = page.screenshot(full_page=False)
    assert png_size(png)[0] == 1280
    assert colours_in_png(browser, png) > 20
    assert guard.blocked == []


def test_serve_refuses_postgres_and_bad_ports(tmp_path: Path) -> None:
    result = run_process(
        "serve", env={"KZDIPLO_DATABASE_URL": "postgresql+psycopg://u@127.0.0.1:1/x"}
    )
    assert result.returncode == 2
    assert b"export --format sqlite" in result.stderr and result.stderr.count(b"\n") == 1
    assert run_process("serve", "--port", "70000", home=tmp_path).returncode == 2
    bad_host = run_process("serve", "--host", "no-such-host.invalid", home=tmp_path)
    assert bad_host.returncode == 2 and bad_host.stderr.count(b"\n") == 1, bad_host.stderr


def test_a_javascript_url_in_loaded_data_never_becomes_a_link(
    browser: Any, seeded_db: Path, tmp_path: Path
) -> None:
    """Datasette links the first source as the "Data source" of every page: a load that
    gives that source a javascript: URL must leave it as text. In Chromium, every link on
    the pages is http(s) or on the site, and clicking the source's name runs nothing."""
    with sqlite3.connect(seeded_db) as conn:
        slug, title = conn.execute("SELECT slug, title FROM sources ORDER BY id LIMIT 1").fetchone()
    load = tmp_path / "js.yaml"
    load.write_text(yaml.safe_dump({"sources": [{"slug": slug, "title": title, "kind": "media",
                                                 "url": "javascript:alert(document.domain)"}]}))  # fmt: skip
    assert run_process("--db", str(seeded_db), "load", str(load)).returncode == 0
    with serving(seeded_db) as url:
        for path in ("/", "/kzdiplo", "/kzdiplo/records", "/kzdiplo/sources"):
            page, guard = _open(browser, url, path)
            ran: list[str] = []
            page.on("dialog", lambda d, ran=ran: (ran.append(d.message), d.dismiss()))
            named = page.get_by_text(title, exact=True)
            for i in range(named.count()):  # a link would run its URL here
                named.nth(i).click()
            assert ran == [] and guard.blocked == [], (path, ran)
            schemes = page.evaluate("[...document.links].map(a => a.protocol)")
            assert set(schemes) <= {"http:", "https:"}, (path, schemes)
            page.close()


def _top(page: Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["y"])


def test_a_table_page_opens_on_rows_and_facets(browser: Any, server: str) -> None:
    """At 1280x900 the first rows and every facet are above the fold; the column notes
    are one click away (before: a screen of them, facets 1,100-1,500 px down)."""
    page, guard = _open(browser, server, "/kzdiplo/records")
    rows = page.locator("table.rows-and-columns tbody tr")
    assert rows.count() > 3
    assert rows.nth(2).bounding_box()["y"] < 900  # three rows in the first screen
    facets = page.locator(".facet-info")
    assert facets.count() == 6
    assert all(facets.nth(i).bounding_box()["y"] < 900 for i in range(6))
    # The answer's columns come first (what, which kind, when, how much), the key later.
    headers = page.locator("table.rows-and-columns thead th").all_inner_texts()
    named = [h.strip().split()[0] for h in headers if h.strip()]
    wanted = ["title", "noun", "date", "usd_low", "usd_high"]
    assert [n for n in named if n in wanted] == wanted
    assert named.index("usd_high") < named.index("slug"), named
    notes = page.get_by_text("JSON array of sector slugs")
    assert not any(notes.nth(i).is_visible() for i in range(notes.count()))
    page.locator("details.columns summary").click()
    assert page.locator("details.columns").get_by_text("JSON array of sector slugs").is_visible()
    assert guard.blocked == []


def test_long_texts_are_cut_and_open_on_a_click(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/kzdiplo/records?_sort=title")
    cell = page.locator("td.col-quotes details.long").first
    summary = cell.locator("summary")
    full = cell.evaluate("d => d.textContent.length")
    assert len(summary.inner_text()) < 80 < full
    tallest = page.locator("table.rows-and-columns tbody tr").evaluate_all(
        "rows => Math.max(...rows.slice(0, 20).map(r => r.getBoundingClientRect().height))"
    )
    assert tallest < 200, tallest  # a row is a few lines, not a screen
    summary.click()
    assert cell.evaluate("d => d.open")
    assert guard.blocked == []


def test_the_home_page_leads_with_the_records_and_the_questions(browser: Any, server: str) -> None:
    from kzdiplo.licence import LICENCE
    from kzdiplo.web.serve import CANNED

    page, guard = _open(browser, server, "/")
    kinds = page.locator(".home-kinds a").all_inner_texts()
    for word in ("agreements", "deals", "events", "partners"):
        assert any(word in k for k in kinds), (word, kinds)
    assert _top(page, ".home-kinds") < _top(page, ".questions") < 900
    titles = page.locator(".questions a").all_inner_texts()
    assert titles == [q["title"] for q in CANNED.values()]
    assert page.locator("body").inner_text().count(LICENCE) == 1  # before: three times
    page.get_by_role("link", name="Money by partner and stage").click()
    page.wait_for_load_state("load")
    assert page.title().startswith("Money by partner and stage")  # before: the raw SQL
    money = page.locator("td.col-usd_from_high").all_inner_texts()
    money = [m.strip() for m in money]
    assert money and all(m == "" or m.startswith(("$", "≈ $")) for m in money), money[:5]
    assert "$" in money[0] and not any(m.isdigit() for m in money)  # not 30111929027
    assert page.locator("body").inner_text().count(LICENCE) == 1
    page.goto(server + "/kzdiplo/deals?currency__not=USD&usd_rate__notblank=1")
    rates = [r.strip() for r in page.locator("td.col-usd_rate").all_inner_texts()]
    assert rates and all(float(r) > 0 for r in rates), rates  # a rate is not money
    assert all("$" in m for m in page.locator("td.col-usd_low").all_inner_texts())
    assert guard.blocked == []


def test_a_record_page_leads_with_its_facts(browser: Any, server: str) -> None:
    page, guard = _open(browser, server, "/-/kzdiplo/record/deal/kz-us-washington-agreements-value")
    facts = page.locator("table.facts th").all_inner_texts()
    assert facts[:3] == ["amount", "usd", "date"] and "stage" in facts and "parties" in facts
    assert "$17 bn" in page.locator("table.facts td").first.inner_text()
    wording = page.locator("table.facts td q").first  # the source's words, not run together
    assert wording.evaluate("q => getComputedStyle(q, '::before').content") == '"\u201c"'
    not_stated = page.locator("p.not-stated").inner_text()
    assert not_stated.startswith("Not stated:") and "stake" in not_stated
    assert page.locator("table.facts").bounding_box()["y"] < 400
    assert _top(page, "table.facts") < _top(page, "h2:has-text('Citations')")
    assert guard.blocked == []


def test_the_map_shows_every_placed_record(
    browser: Any, server: str, seeded_template: Path
) -> None:
    placed = placed_records(seeded_template)
    page, guard = _open(browser, server, "/-/kzdiplo/map")
    drawn = page.locator("svg.map g.place").evaluate_all(
        "gs => gs.reduce((n, g) => n + Number(g.dataset.count), 0)"
    )
    assert drawn == placed > 0
    assert page.locator("table.places tbody tr").count() == placed
    with sqlite3.connect(seeded_template) as conn:
        (sites,) = conn.execute(
            "SELECT (SELECT count(*) FROM mineral_deposits WHERE latitude IS NULL) + "
            "(SELECT count(*) FROM infrastructure_projects WHERE latitude IS NULL)"
        ).fetchone()
    assert page.locator("ul.unplaced li").count() == sites > 0  # listed, not dropped
    assert guard.blocked == []


def test_no_map_without_coordinates(browser: Any, seeded_db: Path) -> None:
    """A database whose records have no coordinates gets no empty grid: the map page
    says so and the home page does not offer a map."""
    with sqlite3.connect(seeded_db) as conn:
        for table in ("mineral_deposits", "infrastructure_projects", "events"):
            conn.execute(f"UPDATE {table} SET latitude = NULL, longitude = NULL, "
                         "location_precision = NULL")  # fmt: skip
    assert placed_records(seeded_db) == 0
    with serving(seeded_db) as url:
        page, guard = _open(browser, url, "/-/kzdiplo/map")
        assert page.locator("svg").count() == 0
        assert page.get_by_text("No record has coordinates yet.").count() == 1
        page.goto(url + "/")
        assert page.get_by_role("link", name="placed on the map").count() == 0
        assert guard.blocked == []


@pytest.mark.parametrize(
    "path",
    ["/", "/kzdiplo/records", "/kzdiplo/money_by_partner_and_stage", "/-/kzdiplo/map",
     "/-/kzdiplo/record/deal/kz-us-washington-agreements-value"],
)  # fmt: skip
def test_on_a_phone_nothing_scrolls_sideways_or_shrinks(
    browser: Any, server: str, path: str
) -> None:
    """At 390x844 no page is wider than the phone (before: a canned query's SQL made
    the page 1,220 px wide) and no map label is drawn under 11 px (they give way to the
    table that names every place)."""
    page, guard = guarded_page(browser, (server + "/",), 390)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(server + path)
    assert page.evaluate("document.documentElement.scrollWidth") <= 391
    smallest, where = smallest_text(page, "svg.map *, .facts *, .home-kinds *")
    assert smallest >= 11, (smallest, where)
    if "record/" in path:
        assert _top(page, "table.facts") < 844  # the facts in the first screen
    assert guard.blocked == []
