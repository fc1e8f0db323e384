"""The European Central Bank's euro reference rates, for stating VAT in euros on documents in
another currency (Directive 2006/112/EC, Art. 230).

Rates are loaded from the ECB's eurofxref XML (the daily file or the 90-day history) by a daily
task or ``saruna billing rates FILE``. The ECB publishes working days only, so a day without a
rate takes the latest earlier one."""

from __future__ import annotations

import datetime
import logging
import urllib.request
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import IO
from xml.etree import ElementTree

from django.conf import settings
from django.db import transaction

from saruna.billing.models import ExchangeRate
from saruna.billing.money import round_half_up

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 10.0  # seconds; a slow ECB must not hold a worker


def rate_on(currency: str, day: datetime.date) -> ExchangeRate | None:
    """The rate of ``currency`` published on ``day``, or the latest before it."""
    return (ExchangeRate.objects.filter(currency=currency.upper(), date__lte=day)
            .order_by("-date").first())


def to_eur_cents(cents: int, rate: Decimal) -> int:
    """``cents`` of a currency quoted at ``rate`` per euro, in euro cents, rounded half up."""
    return round_half_up(Fraction(cents) / Fraction(rate))


class RatesFileError(ValueError):
    """Not an ECB eurofxref file."""


def parse_ecb_xml(data: bytes) -> list[tuple[str, datetime.date, Decimal]]:
    """``(currency, day, rate per euro)`` for every rate in the file. Elements are matched by
    local name, so the file's namespaces do not matter."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise RatesFileError(f"not XML: {error}") from None
    rates = []
    for day_cube in root.iter():
        if not day_cube.tag.endswith("Cube") or "time" not in day_cube.attrib:
            continue
        try:
            day = datetime.date.fromisoformat(day_cube.attrib["time"])
            for cube in day_cube:
                rates.append((cube.attrib["currency"].upper(), day,
                              Decimal(cube.attrib["rate"])))
        except (KeyError, ValueError, InvalidOperation) as error:
            raise RatesFileError(f"bad rate on {day_cube.attrib['time']}: {error}") from None
    if not rates:
        raise RatesFileError("no rates in the file")
    return rates


@transaction.atomic
def load_ecb_xml(data: bytes) -> int:
    """Store the file's rates (a published rate replaces one loaded before for the same day);
    returns how many there were."""
    rates = parse_ecb_xml(data)
    for currency, day, rate in rates:
        ExchangeRate.objects.update_or_create(currency=currency, date=day,
                                              defaults={"rate": rate})
    return len(rates)


Opener = Callable[[str, float], IO[bytes]]


def _urlopen(url: str, timeout: float) -> IO[bytes]:
    return urllib.request.urlopen(url, timeout=timeout)


def fetch_rates(opener: Opener = _urlopen) -> int | None:
    """Load ``SARUNA_ECB_RATES_URL``; None when it is empty or the fetch failed. A failure is
    only logged: documents are issued without the euro VAT rather than not at all."""
    url = settings.SARUNA_ECB_RATES_URL
    if not url:
        return None
    try:
        with opener(url, FETCH_TIMEOUT) as response:
            return load_ecb_xml(response.read())
    except (OSError, RatesFileError) as error:
        logger.warning("ECB rates not loaded from %s: %s", url, error)
        return None
