"""Writing invoices and credit notes: lines, VAT, the seller's and buyer's details, and the
gapless number each gets when it is finalised."""

from __future__ import annotations

import datetime
import logging
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from saruna.billing import fx, vat
from saruna.billing.models import BillingDocument, BillingProfile, DocumentCounter, DocumentLine
from saruna.billing.money import percent_of, prorate
from saruna.core.models import Account

logger = logging.getLogger(__name__)

SERIES: dict[str, str] = {
    BillingDocument.Kind.INVOICE: "INV", BillingDocument.Kind.CREDIT_NOTE: "CN",
}


@dataclass(frozen=True)
class LineDraft:
    """A line before it is written. ``period_end`` is the last day paid for; a prorated line
    has ``days_left`` (counting the day of the change) out of ``days_in_period``."""

    item: str
    description: str
    quantity: int
    unit_cents: int
    period_start: datetime.date | None = None
    period_end: datetime.date | None = None
    days_left: int | None = None
    days_in_period: int | None = None

    @property
    def amount_cents(self) -> int:
        whole = self.quantity * self.unit_cents
        if self.days_left is None or self.days_in_period is None:
            return whole
        return prorate(whole, self.days_left, self.days_in_period)


def seller_details() -> dict:
    return {
        "name": settings.SARUNA_SELLER_NAME,
        "address_lines": list(settings.SARUNA_SELLER_ADDRESS),
        "country": settings.SARUNA_SELLER_COUNTRY,
        "vat_number": settings.SARUNA_SELLER_VAT_ID,
        "registration_number": settings.SARUNA_SELLER_REGISTRATION_NUMBER,
        "email": settings.SARUNA_SELLER_EMAIL,
    }


def seller_today() -> datetime.date:
    """Documents are dated, and numbered by year, in the seller's calendar."""
    return timezone.now().astimezone(zoneinfo.ZoneInfo(settings.SARUNA_SELLER_TIME_ZONE)).date()


def billing_profile(account: Account) -> BillingProfile:
    profile, _created = BillingProfile.objects.get_or_create(account=account)
    return profile


def _take_number(kind: str, year: int) -> str:
    """The next number of the series, taken under a row lock inside the caller's
    transaction: a rollback gives the number back, so the series has no gaps."""
    series = SERIES[kind]
    counters = DocumentCounter.objects.select_for_update()
    counter = counters.filter(series=series, year=year).first()
    if counter is None:
        try:
            with transaction.atomic():
                counter = DocumentCounter.objects.create(series=series, year=year)
        except IntegrityError:  # another transaction opened the year first
            counter = counters.get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}-{year}-{counter.last_number:06d}"


def _vat_in_eur(currency: str, tax: int, day: datetime.date,
                credits: BillingDocument | None) -> dict:
    """``vat_eur_cents``, ``eur_rate`` and ``eur_rate_date`` for a document with VAT in a
    currency other than the euro (Art. 230). A credit note takes the rate of the invoice it
    cancels, so both state the same euros. No known rate never stops billing: the document is
    issued without them and a warning logged."""
    if tax <= 0 or currency == "EUR":
        return {}
    if credits is not None and credits.eur_rate is not None:
        rate, rate_day = credits.eur_rate, credits.eur_rate_date
    else:
        known = fx.rate_on(currency, day)
        if known is None:
            logger.warning("No ECB rate for %s on or before %s: VAT not stated in EUR.",
                           currency, day)
            return {}
        rate, rate_day = known.rate, known.date
    return {"vat_eur_cents": fx.to_eur_cents(tax, rate), "eur_rate": rate,
            "eur_rate_date": rate_day}


def _write(
    account: Account, kind: str, lines: list[LineDraft], *, buyer: dict, currency: str,
    treatment: vat.VatTreatment, credits: BillingDocument | None = None,
    replaces: BillingDocument | None = None, reason: str = "",
) -> BillingDocument:
    subtotal = sum(line.amount_cents for line in lines)
    tax = percent_of(subtotal, treatment.rate)
    today = seller_today()
    # Written with the draft: once the number is set below, nothing may change.
    document = BillingDocument.objects.create(
        account=account, kind=kind, language=account.language, currency=currency,
        seller=seller_details(), buyer=buyer, vat_treatment=treatment.kind,
        vat_rate=treatment.rate, vat_country=treatment.country, vat_note=treatment.note,
        subtotal_cents=subtotal, tax_cents=tax, total_cents=subtotal + tax,
        credits=credits, replaces=replaces, reason=reason,
        **_vat_in_eur(currency, tax, today, credits),
    )
    DocumentLine.objects.bulk_create([
        DocumentLine(
            account=account, document=document, position=position, item=line.item,
            description=line.description, quantity=line.quantity, unit_cents=line.unit_cents,
            days_left=line.days_left, days_in_period=line.days_in_period,
            amount_cents=line.amount_cents, period_start=line.period_start,
            period_end=line.period_end,
        )
        for position, line in enumerate(lines, start=1)
    ])
    # The only write to a document after its creation: it becomes final here.
    BillingDocument.objects.filter(pk=document.pk, number__isnull=True).update(
        number=_take_number(kind, today.year), issued_at=timezone.now(), issue_date=today
    )
    document.refresh_from_db()
    return document


def _drafts_of(document: BillingDocument) -> list[LineDraft]:
    return [
        LineDraft(
            item=line.item, description=line.description, quantity=line.quantity,
            unit_cents=line.unit_cents, period_start=line.period_start,
            period_end=line.period_end, days_left=line.days_left,
            days_in_period=line.days_in_period,
        )
        for line in document.lines.all()
    ]


def _treatment_of(document: BillingDocument) -> vat.VatTreatment:
    return vat.VatTreatment(
        document.vat_treatment, document.vat_rate, document.vat_country, document.vat_note
    )


@transaction.atomic
def issue_invoice(account: Account, lines: list[LineDraft], *, currency: str) -> BillingDocument:
    """A finalised invoice to the account's current billing details, with the VAT they call
    for today."""
    profile = billing_profile(account)
    with translation.override(account.language):
        treatment = vat.treatment(
            buyer_country=profile.country, vat_number=profile.vat_number,
            vat_status=profile.vat_status, on=seller_today(),
        )
    return _write(account, BillingDocument.Kind.INVOICE, lines, buyer=profile.snapshot(),
                  currency=currency, treatment=treatment)


@transaction.atomic
def reissue_with_new_details(invoice: BillingDocument) -> tuple[BillingDocument, BillingDocument]:
    """A credit note cancelling ``invoice`` and a new invoice to the current billing details
    with the same lines, amounts and VAT (terms §4)."""
    account = invoice.account
    with translation.override(invoice.language):
        reason = _("Billing details corrected; replaced by a re-issued invoice.")
    credit_note = _write(
        account, BillingDocument.Kind.CREDIT_NOTE, _drafts_of(invoice), buyer=invoice.buyer,
        currency=invoice.currency, treatment=_treatment_of(invoice), credits=invoice,
        reason=reason,
    )
    replacement = _write(
        account, BillingDocument.Kind.INVOICE, _drafts_of(invoice),
        buyer=billing_profile(account).snapshot(), currency=invoice.currency,
        treatment=_treatment_of(invoice), replaces=invoice,
    )
    return credit_note, replacement
