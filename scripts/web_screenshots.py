"""Redo the README's screenshots: the static report of the seed data, in Chromium.

    python scripts/web_screenshots.py [--out docs]

Builds a fresh seeded SQLite file in a temporary folder, writes `kzdiplo report` there
and photographs its index (1280 px wide, and 390 px: a phone) and a record page (390
px), then starts `kzdiplo serve` on a free local port and photographs its home page, the
records table and a record page at 1280x900 (the first screen a person sees), with Debian's
Chromium through Playwright (no browser download; every request that would leave the
machine is blocked and the script fails if there was one).
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from kzdiplo.config import sqlite_url
from kzdiplo.db import make_engine
from kzdiplo.migrate import upgrade
from kzdiplo.reader import SqliteReader
from kzdiplo.seed import seed
from kzdiplo.web.report import write_report

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
SHOTS = [  # (page in the report, width, height, file under --out)
    ("index.html", 1280, 1400, "report-index-1280.png"),
    ("index.html", 390, 1400, "report-index-390.png"),
    ("records/deal-kz-us-washington-agreements-value.html", 390, 1600, "report-record-390.png"),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent.parent / "docs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "kzdiplo.db"
        upgrade(sqlite_url(db))
        engine = make_engine(sqlite_url(db))
        seed(engine)
        engine.dispose()
        site = Path(tmp) / "site"
        reader = SqliteReader(db)
        write_report(reader, site)
        reader.close()
        blocked: list[str] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for page_name, width, height, name in SHOTS:
                page = browser.new_page(viewport={"width": width, "height": height})
                page.route(
                    "**/*",
                    lambda route: (
                        route.continue_()
                        if route.request.url.startswith("file://")
                        else (blocked.append(route.request.url), route.abort())
                    ),
                )
                page.goto((site / page_name).as_uri())
                page.screenshot(path=str(args.out / name))
                print(f"wrote {args.out / name}")
            _serve_shots(browser, db, args.out, blocked)
            browser.close()
    if blocked:
        print(f"requests left the machine: {blocked}", file=sys.stderr)
        return 1
    return 0


SERVE_SHOTS = [  # (path in kzdiplo serve, file under --out): each the first 1280x900
    ("/", "serve-home-1280.png"),
    ("/kzdiplo/records", "serve-records-1280.png"),
    ("/-/kzdiplo/record/deal/kz-us-washington-agreements-value", "serve-record-1280.png"),
]


def _serve_shots(browser: object, db: Path, out: Path, blocked: list[str]) -> None:
    """The first screen of serve's home page, records table and a record page."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "kzdiplo", "--db", str(db), "serve", "--port", str(port)]
    server = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/-/versions.json", timeout=2).close()
                break
            except OSError:
                time.sleep(0.3)
        page = browser.new_page(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
        page.route(
            "**/*",
            lambda route: (
                route.continue_()
                if route.request.url.startswith(url + "/")
                else (blocked.append(route.request.url), route.abort())
            ),
        )
        for path, name in SERVE_SHOTS:
            page.goto(url + path)
            page.screenshot(path=str(out / name))
            print(f"wrote {out / name}")
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
