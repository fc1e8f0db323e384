"""Collecting invoices through the gateway of the account's payment method.

An invoice is due while it is not cancelled by a credit note and neither it nor an invoice it
replaces has a succeeded payment. Each attempt is a :class:`Payment` row written before the
gateway is asked, so a crash mid-charge leaves a trace.

After every succeeded charge the owner gets a receipt with the invoice's PDF. A failed charge
is tried again 1, 3, 5 and 7 days after the invoice's first failure, the owner is e-mailed
after each failure, and when the last one fails the account is suspended until it is paid
(a new payment method restores it: ``actions.add_payment_method``)."""

from __future__ import annotations

import datetime
import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Max, QuerySet
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.billing import pdf
from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.base import Outcome
from saruna.billing.models import BillingDocument, Payment, PaymentMethod, Subscription
from saruna.billing.money import format_amount
from saruna.billing.periods import local_date
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.outbox import Attachment, queue_email

logger = logging.getLogger(__name__)

# Days after an invoice's first failed charge on which it is charged again (terms: failed
# charges are retried on days 1, 3, 5 and 7); when the last fails, the account is suspended.
RETRY_AFTER_DAYS = (1, 3, 5, 7)


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
    if outcome.succeeded:
        # Once the payment is recorded: a receipt that fails to render must not undo that.
        transaction.on_commit(lambda: _send_receipt(payment), robust=True)
    subscription = Subscription.objects.select_for_update().filter(
        account_id=payment.account_id
    ).first()
    if subscription is None:
        return
    if not outcome.succeeded:
        if subscription.status == Subscription.Status.ACTIVE:
            subscription.status = Subscription.Status.PAST_DUE
            subscription.save(update_fields=["status"])
        if subscription.status == Subscription.Status.PAST_DUE:
            _after_failure(payment, subscription)
    elif (
        subscription.status == Subscription.Status.PAST_DUE
        and not due_invoices(payment.account)
    ):
        subscription.status = Subscription.Status.ACTIVE
        subscription.save(update_fields=["status"])


def owners(account: Account) -> list[User]:
    return list(User.objects.filter(account=account, role=User.Role.OWNER, is_active=True))


def _mail_owners(
    account: Account, template: str, context: dict, attachments: list[Attachment] | None = None
) -> None:
    for owner in owners(account):
        queue_email(owner.email, template,
                    {**context, "account": account, "owner": owner, "account_url": account.url},
                    account=account, language=owner.language or account.language,
                    attachments=attachments or [])


def _send_receipt(payment: Payment) -> None:
    # Runs after the commit, which may come after the caller's scope has closed (a job).
    with scope(account=payment.account):
        invoice = payment.invoice
        _mail_owners(payment.account, "billing/email/receipt", {
            "invoice": invoice, "amount": format_amount(payment.amount_cents, payment.currency),
            "method": payment.method.label if payment.method else "",
            "paid_on": local_date(payment.account, payment.completed_at),
            "reference": payment.reference,
        }, [Attachment(f"{invoice.number}.pdf", pdf.render(invoice), "application/pdf")])


def next_retry_at(invoice: BillingDocument) -> datetime.datetime | None:
    """When a failed invoice is charged again: the first retry day (counted from its first
    failed charge) after its latest attempt, so an extra attempt in between (the owner added
    a card) does not move the days. None when it has not failed or the days are used up."""
    attempts = list(invoice.payments.order_by("created_at", "pk"))
    failures = [p for p in attempts if p.status == Payment.Status.FAILED and p.completed_at]
    if not failures:
        return None
    first_failure = failures[0].completed_at
    assert first_failure is not None
    retries = (first_failure + timedelta(days=days) for days in RETRY_AFTER_DAYS)
    return next((at for at in retries if at > attempts[-1].created_at), None)


def _after_failure(payment: Payment, subscription: Subscription) -> None:
    """Tell the owner, with the day of the next try; after the last, suspend the account."""
    account = payment.account
    retry_at = next_retry_at(payment.invoice)
    context = {
        "invoice": payment.invoice,
        "amount": format_amount(payment.amount_cents, payment.currency),
        "method": payment.method.label if payment.method else "",
        "reason": payment.failure_message,
    }
    if retry_at is not None:
        _mail_owners(account, "billing/email/payment_failed",
                     {**context, "retry_on": local_date(account, retry_at)})
        return
    subscription.status = Subscription.Status.SUSPENDED
    subscription.save(update_fields=["status"])
    Account.objects.filter(pk=account.pk).exclude(status=Account.Status.CLOSED).update(
        status=Account.Status.SUSPENDED
    )
    account.refresh_from_db(fields=["status"])
    audit.record(account, "billing.suspended", target=subscription, reason="unpaid",
                 invoice=payment.invoice.number)
    _mail_owners(account, "billing/email/payment_suspended", context)


def next_retry_for(account: Account) -> datetime.datetime | None:
    """The next retry of the account's failed invoices, while it is past due."""
    if not Subscription.objects.filter(
        account=account, status=Subscription.Status.PAST_DUE
    ).exists():
        return None
    retries = [next_retry_at(invoice) for invoice in due_invoices(account)]
    return min((at for at in retries if at is not None), default=None)


def retry_failed_charges() -> None:
    """Charge again, in each past-due account's own scope, the invoices whose retry day has
    come (the periodic task; a late run just catches up)."""
    with scopes_disabled():
        accounts = list(Account.objects.filter(pk__in=Subscription.objects.filter(
            status=Subscription.Status.PAST_DUE).values("account_id")))
    for account in accounts:
        with scope(account=account):
            for invoice in due_invoices(account):
                retry_at = next_retry_at(invoice)
                if retry_at is not None and retry_at <= timezone.now():
                    attempt(invoice)
