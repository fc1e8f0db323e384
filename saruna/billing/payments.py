"""Collecting invoices through the gateway of the account's payment method.

An invoice is due while it is not cancelled by a credit note and neither it nor an invoice it
replaces has a succeeded payment. Each attempt is a :class:`Payment` row written before the
gateway is asked, so a crash mid-charge leaves a trace."""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone

from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.base import Outcome
from saruna.billing.models import BillingDocument, Payment, PaymentMethod, Subscription
from saruna.core.models import Account

logger = logging.getLogger(__name__)


def method_in_use(account: Account) -> PaymentMethod | None:
    return PaymentMethod.objects.filter(account=account, removed_at__isnull=True).first()


def is_settled(invoice: BillingDocument) -> bool:
    """Paid, or replaced (after a correction) by an invoice whose original was paid."""
    current: BillingDocument | None = invoice
    while current is not None:
        if current.payments.filter(status=Payment.Status.SUCCEEDED).exists():
            return True
        current = current.replaces
    return False


def due_invoices(account: Account) -> list[BillingDocument]:
    invoices: QuerySet[BillingDocument] = BillingDocument.objects.filter(
        account=account, kind=BillingDocument.Kind.INVOICE, number__isnull=False,
        credit_notes__isnull=True,
    ).order_by("issued_at", "pk")
    return [invoice for invoice in invoices if not is_settled(invoice)]


def collect_due(account: Account, *, retry_failed: bool = False) -> list[Payment]:
    """Charge each due invoice that has not been tried yet (and, with ``retry_failed``,
    those whose attempts failed: a new payment method was just added). Nothing is charged
    for a cancelled subscription."""
    if Subscription.objects.filter(
        account=account, status=Subscription.Status.CANCELLED
    ).exists():
        return []
    tried = (attempt(invoice, retry=retry_failed) for invoice in due_invoices(account))
    return [payment for payment in tried if payment is not None]


def attempt(invoice: BillingDocument, *, retry: bool = True) -> Payment | None:
    """One charge of the invoice's total with the payment method in use. None when there is
    no method, the invoice is settled or being charged, or (``retry`` off) was tried before.

    The invoice row is locked while the attempt is written, so workers collecting the same
    invoice at once make one attempt between them; the charge itself runs after that
    commit, outside any lock."""
    account = invoice.account
    method = method_in_use(account)
    if method is None:
        return None
    with transaction.atomic():
        invoice = BillingDocument.objects.select_for_update().get(pk=invoice.pk)
        tries = invoice.payments.all()
        if (
            is_settled(invoice)
            or tries.filter(status=Payment.Status.PENDING).exists()
            or (not retry and tries.exists())
        ):
            return None
        payment = Payment.objects.create(
            account=account, invoice=invoice,
            attempt=(tries.aggregate(last=Max("attempt"))["last"] or 0) + 1,
            method=method, gateway=method.gateway, amount_cents=invoice.total_cents,
            currency=invoice.currency,
        )
    try:
        outcome = get_gateway(method.gateway).charge(
            method, invoice.total_cents, invoice.currency,
            idempotency_key=payment.idempotency_key, description=f"Saruna {invoice.number}",
        )
    except Exception as error:  # the gateway could not be asked: the attempt failed
        logger.warning("Charging %s failed: %s", invoice.number, error)
        outcome = Outcome(False, message=str(error))
    _record(payment, outcome)
    return payment


@transaction.atomic
def _record(payment: Payment, outcome: Outcome) -> None:
    payment.status = Payment.Status.SUCCEEDED if outcome.succeeded else Payment.Status.FAILED
    payment.reference = outcome.reference
    payment.failure_message = outcome.message
    payment.completed_at = timezone.now()
    payment.save(update_fields=["status", "reference", "failure_message", "completed_at"])
    subscription = Subscription.objects.select_for_update().filter(
        account_id=payment.account_id
    ).first()
    if subscription is None:
        return
    if not outcome.succeeded and subscription.status == Subscription.Status.ACTIVE:
        subscription.status = Subscription.Status.PAST_DUE
        subscription.save(update_fields=["status"])
    elif (
        outcome.succeeded
        and subscription.status == Subscription.Status.PAST_DUE
        and not due_invoices(payment.account)
    ):
        subscription.status = Subscription.Status.ACTIVE
        subscription.save(update_fields=["status"])
