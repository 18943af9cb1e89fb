"""A real Chromium for the web tests: Debian's package driven by Playwright.

Nothing is downloaded: Playwright is pointed at /usr/bin/chromium (``executable_path``).
Without a browser the tests skip on a workstation but fail in CI (CI=true), where
.ci/run installs it, so a broken set-up cannot pass as green.
"""

from __future__ import annotations

import base64
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("KZDIPLO_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _missing(what: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{what} is missing in CI: .ci/run should have installed it", pytrace=False)
    pytest.skip(f"{what} is not installed")


def launch() -> Iterator[Any]:
    """A headless Chromium, for a module-scoped fixture (starting one costs a second)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("playwright (pip install 'kzdiplo[web]')")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _missing(f"Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield launched
        launched.close()


class Guard:
    """Every request a page makes that leaves the machine, blocked and recorded."""

    def __init__(self, local: tuple[str, ...]) -> None:
        self.local = local
        self.blocked: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.local):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()


def guarded_page(browser: Any, local: tuple[str, ...], width: int = 1280) -> tuple[Any, Guard]:
    """A page whose requests outside ``local`` (URL prefixes) are aborted and counted."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    guard = Guard(local)
    context.route("**/*", guard)
    page = context.new_page()
    page.set_default_timeout(10_000)  # a missing element fails in seconds, not minutes
    page.on(
        "request",
        lambda r: None if r.url.startswith((*local, "data:")) else guard.blocked.append(r.url),
    )
    return page, guard


def colours_in_png(browser: Any, png: bytes) -> int:
    """How many distinct colours a PNG has (sampled), decoded by the browser's canvas:
    a blank or single-colour screenshot has one or two."""
    page = browser.new_page()
    try:
        return int(
            page.evaluate(
                """async (data) => {
                    const img = new Image();
                    img.src = 'data:image/png;base64,' + data;
                    await img.decode();
                    const c = document.createElement('canvas');
                    c.width = img.width; c.height = img.height;
                    const g = c.getContext('2d');
                    g.drawImage(img, 0, 0);
                    const px = g.getImageData(0, 0, c.width, c.height).data;
                    const seen = new Set();
                    for (let i = 0; i < px.length; i += 4 * 7) {
                        seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
                    }
                    return seen.size;
                }""",
                base64.b64encode(png).decode(),
            )
        )
    finally:
        page.close()


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# Every piece of text matching a selector, as drawn: its computed font size times the
# scale its SVG is drawn at (1 for HTML); hidden elements are left out.
_SMALLEST_TEXT = """(selector) => {
    let smallest = Infinity, where = "";
    for (const el of document.querySelectorAll(selector)) {
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || el.getClientRects().length === 0) continue;
        const style = getComputedStyle(el);
        if (style.display === "none" || style.visibility === "hidden") continue;
        let size = parseFloat(style.fontSize);
        if (el instanceof SVGElement) size *= el.getScreenCTM().a;
        if (size < smallest) { smallest = size; where = el.textContent.trim().slice(0, 40); }
    }
    return [smallest, where];
}"""


def smallest_text(page: Any, selector: str) -> tuple[float, str]:
    """The smallest text a person sees among ``selector``'s elements, in CSS pixels,
    and the start of that text (Infinity when nothing shows)."""
    smallest, where = page.evaluate(_SMALLEST_TEXT, selector)
    return float(smallest), str(where)


def placed_records(db: Path) -> int:
    """How many records of the SQLite file ``db`` have coordinates (any table with a
    ``latitude`` column)."""
    import sqlite3

    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return sum(
            conn.execute(f'SELECT count(*) FROM "{t}" WHERE latitude IS NOT NULL').fetchone()[0]
            for t in tables
            if "latitude" in [c[1] for c in conn.execute(f'PRAGMA table_info("{t}")')]
        )
