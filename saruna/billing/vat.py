"""EU VAT: which rate an invoice carries, and whether a VAT number is good.

The seller is the installation (``SARUNA_SELLER_COUNTRY``, ``SARUNA_SELLER_VAT_ID``). For a
customer:

- a business in another EU country with a good VAT number → reverse charge, 0 %;
- the seller's own country, or an EU consumer → that country's standard rate on the day;
- outside the EU → no VAT.

A number is checked by its checksum (python-stdnum) and, when the service answers, by the
EU's VIES. VIES being unreachable leaves a number "not verified yet", never "invalid", and
such a number is treated as good until VIES says otherwise.
"""

from __future__ import annotations

import datetime
import json
import logging
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.translation import gettext as _
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

logger = logging.getLogger(__name__)

# Standard rates in per cent, each with the day it took effect, oldest first. The table
# starts on 2020-01-01; a change is one more row, so invoices before it keep the old rate
# (each invoice also keeps the rate it used). Greece is "GR" here and "EL" in VAT numbers.
STANDARD_RATES: dict[str, tuple[tuple[datetime.date, Decimal], ...]] = {
    code: tuple((datetime.date.fromisoformat(day), Decimal(rate)) for day, rate in changes)
    for code, changes in {
        "AT": [("2020-01-01", "20")],
        "BE": [("2020-01-01", "21")],
        "BG": [("2020-01-01", "20")],
        "CY": [("2020-01-01", "19")],
        "CZ": [("2020-01-01", "21")],
        "DE": [("2020-01-01", "19"), ("2020-07-01", "16"), ("2021-01-01", "19")],
        "DK": [("2020-01-01", "25")],
        "EE": [("2020-01-01", "20"), ("2024-01-01", "22"), ("2025-07-01", "24")],
        "ES": [("2020-01-01", "21")],
        "FI": [("2020-01-01", "24"), ("2024-09-01", "25.5")],
        "FR": [("2020-01-01", "20")],
        "GR": [("2020-01-01", "24")],
        "HR": [("2020-01-01", "25")],
        "HU": [("2020-01-01", "27")],
        "IE": [("2020-01-01", "23"), ("2020-09-01", "21"), ("2021-03-01", "23")],
        "IT": [("2020-01-01", "22")],
        "LT": [("2020-01-01", "21")],
        "LU": [("2020-01-01", "17"), ("2023-01-01", "16"), ("2024-01-01", "17")],
        "LV": [("2020-01-01", "21")],
        "MT": [("2020-01-01", "18")],
        "NL": [("2020-01-01", "21")],
        "PL": [("2020-01-01", "23")],
        "PT": [("2020-01-01", "23")],
        "RO": [("2020-01-01", "19"), ("2025-08-01", "21")],
        "SE": [("2020-01-01", "25")],
        "SI": [("2020-01-01", "22")],
        "SK": [("2020-01-01", "20"), ("2025-01-01", "23")],
    }.items()
}
EU_COUNTRIES = frozenset(STANDARD_RATES)
# VAT numbers start with these; all equal the ISO code except Greece's.
_VAT_PREFIX_COUNTRY = {("EL" if code == "GR" else code): code for code in EU_COUNTRIES}


def standard_rate(country: str, on: datetime.date) -> Decimal:
    """The standard VAT rate of an EU country on a day."""
    changes = STANDARD_RATES[country]
    if on < changes[0][0]:
        raise LookupError(f"No VAT rate for {country} before {changes[0][0]}")
    return [rate for day, rate in changes if day <= on][-1]


# --- VAT numbers -------------------------------------------------------------------------


class Vies(Protocol):
    """Asks VIES about one number: True valid, False invalid, None when it cannot answer."""

    def confirm(self, prefix: str, number: str) -> bool | None: ...


class ViesService:
    """The EU's VIES REST service (``GET <base>/ms/<prefix>/vat/<number>``)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def confirm(self, prefix: str, number: str) -> bool | None:
        url = f"{self.base_url}/ms/{prefix}/vat/{number}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                answer = json.load(response)
        except (OSError, ValueError) as error:  # refused, timed out, HTTP error, not JSON
            logger.info("VIES did not answer for %s%s: %s", prefix, number, error)
            return None
        if answer.get("isValid") is True:
            return True
        # VIES also says isValid=false when a member state's register is down; only the
        # INVALID answer is a verdict.
        if answer.get("userError") == "INVALID":
            return False
        return None


class NoVies:
    """No VIES configured: every checksum-valid number stays "not verified yet"."""

    def confirm(self, prefix: str, number: str) -> bool | None:
        return None


def default_vies() -> Vies:
    url = settings.SARUNA_VIES_URL
    return ViesService(url) if url else NoVies()


VALID = "valid"
INVALID = "invalid"
UNVERIFIED = "unverified"


@dataclass(frozen=True)
class VatNumberCheck:
    number: str  # compact, with its prefix: "LV40003245752"
    country: str  # ISO code of the issuing country ("GR" for "EL...")
    status: str  # VALID, INVALID or UNVERIFIED ("not verified yet")
    message: str  # for the person who typed it


def check_vat_number(raw: str, *, vies: Vies | None = None) -> VatNumberCheck:
    number = "".join(ch for ch in raw.upper() if ch.isalnum())
    prefix = number[:2]
    country = _VAT_PREFIX_COUNTRY.get(prefix, "")
    if not country:
        return VatNumberCheck(number, "", INVALID, _(
            "Enter an EU VAT number starting with its country code, such as LV40003245752."
        ))
    try:
        number = eu_vat.validate(number)
    except StdnumError:
        return VatNumberCheck(number, country, INVALID, _(
            "%(number)s is not a valid VAT number: check it for typing mistakes."
        ) % {"number": number})
    confirmed = (vies or default_vies()).confirm(prefix, number[2:])
    if confirmed is False:
        return VatNumberCheck(number, country, INVALID, _(
            "The EU's VIES service says %(number)s is not a registered VAT number."
        ) % {"number": number})
    if confirmed is None:
        return VatNumberCheck(number, country, UNVERIFIED, _(
            "The VAT number is saved but not verified yet: the EU's VIES service did not "
            "answer. It will be checked again."
        ))
    return VatNumberCheck(number, country, VALID, _("The VAT number is verified."))


# --- The rate of one invoice -----------------------------------------------------------------

STANDARD = "standard"
REVERSE_CHARGE = "reverse_charge"
OUTSIDE_EU = "outside_eu"
SELLER_OUTSIDE_EU = "seller_outside_eu"


@dataclass(frozen=True)
class VatTreatment:
    kind: str
    rate: Decimal  # per cent
    country: str  # whose rate, for STANDARD
    note: str  # printed on the invoice


def treatment(
    *, buyer_country: str, vat_number: str, vat_status: str, on: datetime.date
) -> VatTreatment:
    """The VAT an invoice issued on ``on`` to this buyer carries.

    A buyer whose country is not known yet pays the seller country's rate: charging VAT that
    turns out not to be due is put right by a correction, while not charging due VAT is the
    seller's loss."""
    seller = settings.SARUNA_SELLER_COUNTRY
    if seller not in EU_COUNTRIES:
        return VatTreatment(SELLER_OUTSIDE_EU, Decimal(0), "", "")
    business_country = _VAT_PREFIX_COUNTRY.get(vat_number[:2], "") if vat_number else ""
    good_number = business_country and vat_status in (VALID, UNVERIFIED)
    country = business_country if good_number else (buyer_country or seller)
    if country not in EU_COUNTRIES:
        return VatTreatment(OUTSIDE_EU, Decimal(0), "", _(
            "VAT not applicable: the customer is established outside the EU."
        ))
    if good_number and country != seller:
        return VatTreatment(REVERSE_CHARGE, Decimal(0), "", _(
            "Reverse charge: VAT to be accounted for by the recipient "
            "(Article 196, Council Directive 2006/112/EC)."
        ))
    return VatTreatment(STANDARD, standard_rate(country, on), country, "")
