"""Annual prepaid credit (terms §5): credit bought ahead pays for the subscription instead of
period invoices, for as long as it lasts.

- It is invoiced and charged when bought, and starts when the period already paid for ends
  (nothing is paid twice).
- From then on it burns ``seats * annual seat price / 365`` a day. While it runs, the
  subscription's current period is the credit's span: ``period_end`` is the first day it no
  longer covers. A seat change settles what was used so far and moves that day: fewer seats,
  later; more seats, sooner. Seats added meanwhile are not invoiced; the credit pays for them.
- When it is used up the renewal job starts an ordinary period that day.
- Leaving early (``actions.cancel``) refunds half of the unused part of what was paid, through
  the gateway; the other half is the cancellation fee, recorded on the credit.

Amounts are counted in 1/365 cent (:data:`models.UNITS_PER_CENT`) so a day's burn is exact.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.billing import actions, catalogue, documents
from saruna.billing.documents import LineDraft
from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.base import Outcome
from saruna.billing.models import (
    UNITS_PER_CENT,
    DocumentLine,
    Payment,
    PrepaidCredit,
    Refund,
    Subscription,
)
from saruna.billing.money import format_amount, round_half_up, to_cents
from saruna.billing.periods import local_date
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.outbox import retry_delay
from saruna.core.tenancy import enqueue_on_commit

logger = logging.getLogger(__name__)

# A refused refund is sent again 1, 2, 4 … 64 minutes after each failure (the outbox's
# backoff): a gateway hiccup passes within the two hours; after the eighth failure it stays
# failed on the provider's billing page for someone to look at.
REFUND_ATTEMPTS = 8

OPEN = (PrepaidCredit.Status.WAITING, PrepaidCredit.Status.RUNNING)


def open_credit(account: Account) -> PrepaidCredit | None:
    """The credit waiting to start or running, if any (there is at most one)."""
    return PrepaidCredit.objects.filter(account=account, status__in=OPEN).first()


def _day_units(credit: PrepaidCredit, seats: int) -> int:
    return seats * credit.seat_year_cents


def _days_covered(units: int, day_units: int) -> int:
    """Whole days ``units`` pay for; a last part-day is covered in full."""
    return max(0, -(-units // day_units))


def _settle(credit: PrepaidCredit, seats: int, today: datetime.date) -> int:
    """Count the days before ``today`` as used at ``seats``; returns the units left."""
    assert credit.settled_on is not None
    days = max(0, (today - credit.settled_on).days)
    credit.used_units += days * _day_units(credit, seats)
    credit.settled_on = max(today, credit.settled_on)
    return credit.capacity_units - credit.used_units


# --- Buying --------------------------------------------------------------------------------------


def refuse_while_open(account: Account) -> None:
    """The credit is priced on the plan it was bought for: no plan change while it lasts."""
    if open_credit(account) is not None:
        raise actions.BillingError(_(
            "This account has prepaid credit for its current plan. Change the plan once the "
            "credit is used up."
        ))


def _parse_amount(raw: str | Decimal) -> int:
    try:
        cents = to_cents(Decimal(str(raw).strip()))
    except (InvalidOperation, ValueError):
        raise actions.BillingError(_("Enter an amount such as 1170.00.")) from None
    if cents <= 0:
        raise actions.BillingError(_("Enter an amount above zero."))
    return cents


@transaction.atomic
def add_prepaid_credit(
    account: Account, amount: str | Decimal, *, actor: User | None = None
) -> PrepaidCredit:
    """Invoice and charge ``amount`` of credit now; it starts paying for the subscription when
    the period already paid for ends."""
    amount_cents = _parse_amount(amount)
    subscription = actions._locked(account)
    if subscription.is_lifetime:
        raise actions.BillingError(_("A lifetime account pays only for its extra agents, "
                                     "so it takes no prepaid credit."))
    if subscription.status != Subscription.Status.ACTIVE or subscription.period_end is None:
        raise actions.BillingError(_(
            "Prepaid credit starts when a paid period ends: add a payment method first."
        ))
    price = catalogue.price_on(subscription.plan, subscription.currency, local_date(account))
    if price is None:
        raise actions.BillingError(_("The %(plan)s plan is free: there is nothing to prepay.")
                                   % {"plan": subscription.plan.name})
    if open_credit(account) is not None:
        raise actions.BillingError(_(
            "This account already has prepaid credit. Add more once it is used up."
        ))
    if amount_cents * UNITS_PER_CENT < subscription.seats * price.seat_year_cents:
        raise actions.BillingError(_("The credit must pay for at least one day of the "
                                     "current seats."))
    invoice = documents.issue_invoice(account, [LineDraft(
        item=DocumentLine.Item.PREPAID_CREDIT,
        description=_("Prepaid credit for the %(plan)s plan, at %(price)s per agent seat per "
                      "year") % {"plan": subscription.plan.name,
                                 "price": format_amount(price.seat_year_cents,
                                                        subscription.currency)},
        quantity=1, unit_cents=amount_cents,
    )], currency=subscription.currency)
    credit = PrepaidCredit.objects.create(
        account=account, amount_cents=amount_cents, currency=subscription.currency,
        seat_year_cents=price.seat_year_cents, invoice=invoice,
    )
    audit.record(account, "billing.prepaid_credit_added", actor=actor, target=credit,
                 amount=format_amount(amount_cents, credit.currency), invoice=invoice.number,
                 starts_on=subscription.period_end.isoformat())
    actions._collect_after_commit(account)
    return credit


# --- Hooks of the subscription's life (called by actions) ----------------------------------------


def begin_period(subscription: Subscription, account: Account, start: datetime.date) -> bool:
    """A period begins on ``start``: a running credit that reached its end is used up, and a
    waiting one starts, becoming the period. True when a credit pays for the new period (then
    nothing is invoiced)."""
    now = timezone.now()
    PrepaidCredit.objects.filter(account=account, status=PrepaidCredit.Status.RUNNING).update(
        status=PrepaidCredit.Status.USED_UP, ended_at=now, settled_on=start,
    )
    credit = PrepaidCredit.objects.filter(
        account=account, status=PrepaidCredit.Status.WAITING
    ).first()
    if credit is None:
        return False
    credit.status = PrepaidCredit.Status.RUNNING
    credit.started_on = credit.settled_on = start
    credit.save(update_fields=["status", "started_on", "settled_on"])
    subscription.period_start = start
    subscription.period_end = start + timedelta(
        days=_days_covered(credit.capacity_units, _day_units(credit, subscription.seats))
    )
    # The next ordinary period is anchored on the day the credit runs out.
    subscription.anchor_day = None
    subscription.paid_seat_cents = []
    subscription.save()
    audit.record(account, "billing.prepaid_credit_started", target=credit,
                 until=subscription.period_end.isoformat())
    return True


def seats_changed(subscription: Subscription, account: Account, previous: int) -> bool:
    """The paid seats went from ``previous`` to ``subscription.seats``. With a credit running,
    the days so far are used at the old count and the credit's end moves for the new one;
    True then, as the credit pays for the new seats and nothing is invoiced."""
    credit = PrepaidCredit.objects.select_for_update().filter(
        account=account, status=PrepaidCredit.Status.RUNNING
    ).first()
    if credit is None:
        return False
    today = local_date(account)
    left = _settle(credit, previous, today)
    credit.save(update_fields=["used_units", "settled_on"])
    subscription.period_end = today + timedelta(
        days=_days_covered(left, _day_units(credit, subscription.seats))
    )
    subscription.save(update_fields=["period_end"])
    return True


# --- Leaving early -------------------------------------------------------------------------------


def leave_early(subscription: Subscription, account: Account) -> PrepaidCredit | None:
    """The account closes with credit left: half of the unused part of what was paid is
    refunded through the gateway (after commit), the other half kept as the cancellation fee.
    The day of leaving is not counted as used."""
    credit = PrepaidCredit.objects.select_for_update().filter(
        account=account, status__in=OPEN
    ).first()
    if credit is None:
        return None
    if credit.status == PrepaidCredit.Status.RUNNING:
        left = max(0, _settle(credit, subscription.seats, local_date(account)))
    else:
        left = credit.capacity_units
    payment = credit.invoice.payments.filter(status=Payment.Status.SUCCEEDED).first()
    paid = payment.amount_cents if payment is not None else 0
    credit.unused_cents = round_half_up(Fraction(paid * left, credit.capacity_units))
    refund_cents = round_half_up(Fraction(credit.unused_cents, 2))
    credit.fee_cents = credit.unused_cents - refund_cents
    credit.status = PrepaidCredit.Status.ENDED_EARLY
    credit.ended_at = timezone.now()
    if payment is not None and refund_cents > 0:
        with_currency = {"unused": format_amount(credit.unused_cents, credit.currency),
                         "fee": format_amount(credit.fee_cents, credit.currency)}
        credit.refund = Refund.objects.create(
            account=account, payment=payment, amount_cents=refund_cents,
            currency=payment.currency,
            reason=_("50 %% of the unused prepaid credit (%(unused)s); the other half is the "
                     "cancellation fee (%(fee)s).") % with_currency,
        )
        from saruna.billing.tasks import send_refund

        enqueue_on_commit(send_refund, account.pk, credit.refund.pk)
    credit.save()
    audit.record(account, "billing.prepaid_credit_ended_early", target=credit,
                 unused=format_amount(credit.unused_cents, credit.currency),
                 refund=format_amount(refund_cents if credit.refund else 0, credit.currency),
                 fee=format_amount(credit.fee_cents, credit.currency))
    return credit


def send_refund(refund: Refund) -> None:
    """Ask the gateway for a pending refund; the call runs outside any transaction, and its
    idempotency key makes a repeated call refund once. A failure is tried again later
    (:func:`retry_failed_refunds`) until the last attempt, then stays failed for the provider."""
    if refund.status != Refund.Status.PENDING:
        return
    payment = refund.payment
    try:
        outcome = get_gateway(payment.gateway).refund(
            payment, refund.amount_cents, idempotency_key=f"saruna-refund-{refund.pk}",
            reason=refund.reason,
        )
    except Exception as error:  # the gateway could not be asked: the refund failed for now
        logger.warning("Refund %s failed: %s", refund.pk, error)
        outcome = Outcome(False, message=str(error))
    refund.attempts += 1
    refund.completed_at = timezone.now()
    refund.reference = outcome.reference
    if outcome.succeeded:
        refund.status = Refund.Status.SUCCEEDED
        refund.failure_message = ""
        refund.next_attempt_at = None
    else:
        refund.status = Refund.Status.FAILED
        refund.failure_message = outcome.message
        refund.next_attempt_at = (refund.completed_at + retry_delay(refund.attempts)
                                  if refund.attempts < REFUND_ATTEMPTS else None)
    refund.save(update_fields=["status", "reference", "completed_at", "attempts",
                               "failure_message", "next_attempt_at"])


def retry_failed_refunds() -> None:
    """Send again, in each account's scope, the failed refunds whose next attempt is due (the
    periodic task). Each is claimed back to pending by a conditional update first, so two
    workers never both send it."""
    with scopes_disabled():
        due = list(Refund.objects.filter(status=Refund.Status.FAILED,
                                         next_attempt_at__lte=timezone.now())
                   .values_list("pk", "account"))
        accounts = {account.pk: account for account in Account.objects.filter(
            pk__in={account_id for _pk, account_id in due})}
    for refund_id, account_id in due:
        with scope(account=accounts[account_id]):
            claimed = Refund.objects.filter(
                pk=refund_id, status=Refund.Status.FAILED, next_attempt_at__isnull=False,
            ).update(status=Refund.Status.PENDING, next_attempt_at=None)
            if claimed:
                send_refund(Refund.objects.get(pk=refund_id))


# --- What "My account" shows ---------------------------------------------------------------------


@dataclass(frozen=True)
class CreditState:
    credit: PrepaidCredit
    left_cents: int  # what is left of the credit's amount (before VAT), today
    starts_on: datetime.date
    last_day: datetime.date  # the last day it covers at the current seats


def state(account: Account, subscription: Subscription) -> CreditState | None:
    credit = open_credit(account)
    if credit is None or subscription.period_end is None:
        return None
    day_units = _day_units(credit, subscription.seats)
    if credit.status == PrepaidCredit.Status.WAITING:
        left, starts_on = credit.capacity_units, subscription.period_end
        end = starts_on + timedelta(days=_days_covered(left, day_units))
    else:
        assert credit.started_on is not None and credit.settled_on is not None
        today = local_date(account)
        used_since = max(0, (today - credit.settled_on).days) * day_units
        left = max(0, credit.capacity_units - credit.used_units - used_since)
        starts_on, end = credit.started_on, subscription.period_end
    return CreditState(credit, round_half_up(Fraction(left, UNITS_PER_CENT)), starts_on,
                       end - timedelta(days=1))
