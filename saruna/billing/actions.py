"""Every write about an account's subscription: starting it, payment methods, seats, plan and
cycle changes, cancelling, billing details, and the scheduled jobs (trial ends, renewals).
One transaction each; refused input raises :class:`BillingError` and changes nothing.

The rules (terms §3 to §4, docs/billing.md):
- a paid plan starts with a 14-day trial; adding a payment method ends it and invoices the
  first period at once; a trial ending without one suspends the account;
- each period is invoiced and charged at its start;
- on an annual cycle, more seats or a dearer plan are charged at once for the rest of the
  period, above what was already paid this period; on a monthly cycle the next invoice
  carries the change;
- nothing is ever refunded or credited for fewer seats, a cheaper plan or leaving early,
  except half of unused prepaid credit (terms §5, ``prepaid.py``).

Prepaid credit (``prepaid.py``) and lifetime codes (``codes.py``) hook into the subscription's
life here: a credit can pay for a period instead of an invoice, and a lifetime subscription
is invoiced monthly in arrears for its extra agents instead of ahead for its seats.
"""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User

# codes and prepaid import this module too; each uses the other's names only when called.
from saruna.billing import catalogue, codes, documents, payments, prepaid, vat
from saruna.billing.documents import LineDraft
from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.base import GatewayError
from saruna.billing.models import (
    BillingDocument,
    BillingProfile,
    Cycle,
    DocumentLine,
    PaymentMethod,
    Subscription,
)
from saruna.billing.periods import local_date, period_end, start_of_day
from saruna.core import audit
from saruna.core.models import Account, Plan
from saruna.core.outbox import queue_email
from saruna.core.tenancy import enqueue_on_commit

CORRECTION_DAYS = 15
# How long a number VIES could not confirm waits before VIES is asked again.
VAT_RECHECK_AFTER = timedelta(hours=6)
# Subscriptions whose time is up: invoiced, charged or suspended by the jobs.
BILLED = (Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE)


class BillingError(Exception):
    """Refused input, with a message for the owner; nothing has changed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _collect_after_commit(account: Account, *, retry_failed: bool = False) -> None:
    from saruna.billing.tasks import collect_payments

    enqueue_on_commit(collect_payments, account.pk, retry_failed=retry_failed)


def _locked(account: Account) -> Subscription:
    subscription = Subscription.objects.select_for_update().filter(account=account).first()
    if subscription is None:
        raise BillingError(_("This account has no subscription yet."))
    return subscription


def active_users(account: Account) -> int:
    return User.objects.filter(account=account, is_active=True).count()


def _check_seats(account: Account, plan: Plan, seats: int) -> None:
    cap = (
        account.max_agents_override if account.max_agents_override is not None
        else plan.max_agents
    )
    if seats > cap:
        raise BillingError(
            ngettext("The %(plan)s plan has at most %(cap)d seat.",
                     "The %(plan)s plan has at most %(cap)d seats.", cap)
            % {"plan": plan.name, "cap": cap}
        )
    in_use = active_users(account)
    if seats < max(in_use, 1):
        raise BillingError(
            ngettext("%(count)d user is active: a seat is needed for them.",
                     "%(count)d users are active: deactivate users before removing their seats.",
                     in_use)
            % {"count": in_use}
        )


def _cycle_name(cycle: str) -> str:
    return _("annual") if cycle == Cycle.ANNUAL else _("monthly")


# --- Starting, and the first paid period ---------------------------------------------------


@transaction.atomic
def start_subscription(
    account: Account, *, plan: Plan, cycle: str = Cycle.MONTHLY, seats: int = 1,
    currency: str = "USD",
) -> Subscription:
    """Put a new account on ``plan``: a paid plan starts its 14-day trial, a free one just
    starts."""
    if Subscription.objects.filter(account=account).exists():
        raise BillingError(_("This account already has a subscription."))
    _check_seats(account, plan, seats)
    paid = catalogue.price_on(plan, currency, local_date(account)) is not None
    now = timezone.now()
    Account.objects.filter(pk=account.pk).update(plan=plan)
    account.plan = plan
    subscription = Subscription.objects.create(
        account=account, plan=plan, cycle=cycle, currency=currency, seats=seats,
        status=Subscription.Status.TRIALING if paid else Subscription.Status.ACTIVE,
        started_at=now,
        trial_ends_at=now + timedelta(days=catalogue.TRIAL_DAYS) if paid else None,
    )
    documents.billing_profile(account)
    audit.record(account, "billing.subscription_started", target=subscription, plan=plan.code,
                 cycle=cycle, seats=seats)
    return subscription


def _plan_line(subscription: Subscription, unit_cents: int) -> LineDraft:
    assert subscription.period_start is not None and subscription.period_end is not None
    return LineDraft(
        item=DocumentLine.Item.PLAN,
        description=_("%(plan)s plan, agent seat, %(cycle)s")
        % {"plan": subscription.plan.name, "cycle": _cycle_name(subscription.cycle)},
        quantity=subscription.seats, unit_cents=unit_cents,
        period_start=subscription.period_start,
        period_end=subscription.period_end - timedelta(days=1),
    )


def _begin_period(
    subscription: Subscription, account: Account, start: datetime.date
) -> BillingDocument | None:
    """Start the period beginning on ``start`` and invoice it (nothing for a free plan)."""
    if subscription.next_cycle:
        subscription.cycle, subscription.next_cycle = subscription.next_cycle, ""
    if prepaid.begin_period(subscription, account, start):
        return None
    price = catalogue.price_on(subscription.plan, subscription.currency, start)
    if price is None:
        subscription.period_start = subscription.period_end = subscription.anchor_day = None
        subscription.paid_seat_cents = []
        subscription.save()
        return None
    if subscription.anchor_day is None:
        subscription.anchor_day = start.day
    unit = price.seat_cents(subscription.cycle)
    subscription.period_start = start
    subscription.period_end = period_end(start, subscription.cycle, subscription.anchor_day)
    subscription.paid_seat_cents = [unit] * subscription.seats
    subscription.save()
    return documents.issue_invoice(account, [_plan_line(subscription, unit)],
                                   currency=subscription.currency)


def _start_paying(subscription: Subscription, account: Account) -> BillingDocument | None:
    """The first paid period starts today, anchored on today's date. The caller has the
    invoice collected."""
    subscription.status = Subscription.Status.ACTIVE
    subscription.anchor_day = None
    return _begin_period(subscription, account, local_date(account))


# --- Payment methods -------------------------------------------------------------------------


def add_payment_method(
    account: Account, token: str, *, gateway: str | None = None, actor: User | None = None
) -> PaymentMethod:
    """Save a card or PayPal account in place of the one in use. During the trial this ends
    the trial and invoices the first period at once; on an account suspended for billing it
    restores the account and invoices (the time it was suspended is never billed)."""
    adapter = get_gateway(gateway)
    try:
        saved = adapter.save_payment_method(account, token)
    except GatewayError as error:
        raise BillingError(str(error)) from None
    with transaction.atomic():
        subscription = _locked(account)
        now = timezone.now()
        PaymentMethod.objects.filter(account=account, removed_at__isnull=True).update(
            removed_at=now
        )
        method = PaymentMethod.objects.create(
            account=account, gateway=adapter.name, kind=saved.kind, reference=saved.reference,
            customer_reference=saved.customer_reference, label=saved.label,
        )
        audit.record(account, "billing.payment_method_added", actor=actor, target=method,
                     kind=method.kind)
        if subscription.status == Subscription.Status.TRIALING:
            audit.record(account, "billing.trial_ended", actor=actor, target=subscription,
                         reason="payment_method_added")
            _start_paying(subscription, account)
        elif subscription.status == Subscription.Status.SUSPENDED:
            _restore(subscription, account, actor)
        _collect_after_commit(account, retry_failed=True)
    return method


def _restore(subscription: Subscription, account: Account, actor: User | None) -> None:
    if subscription.is_lifetime:
        codes.unblock(subscription, account, actor)
        return
    Account.objects.filter(pk=account.pk, status=Account.Status.SUSPENDED).update(
        status=Account.Status.ACTIVE
    )
    account.refresh_from_db(fields=["status"])
    audit.record(account, "billing.restored", actor=actor, target=subscription)
    if subscription.period_end is None or subscription.period_end <= local_date(account):
        _start_paying(subscription, account)
    else:
        subscription.status = Subscription.Status.PAST_DUE
        subscription.save(update_fields=["status"])


# --- Seats and plans inside a period ---------------------------------------------------------


def _refuse_for_lifetime(subscription: Subscription) -> None:
    if subscription.is_lifetime:
        raise BillingError(_(
            "A lifetime code gives this account its plan and %(included)d seats for life; "
            "extra agents are billed by the days they exist."
        ) % {"included": subscription.included_seats})


def _top_up(paid: list[int], unit: int, seats: int) -> tuple[Counter[int], list[int]]:
    """What ``seats`` seats at ``unit`` cost above what was already paid per seat this
    period: the differences (difference → number of seats) and the new per-seat record.
    Seats are matched to the best-paid ones first, so nothing paid for is paid again."""
    covered = sorted(paid, reverse=True)
    covered += [0] * max(0, seats - len(covered))
    owed = Counter(unit - cents for cents in covered[:seats] if unit > cents)
    record = [max(cents, unit) for cents in covered[:seats]] + covered[seats:]
    return owed, sorted((cents for cents in record if cents), reverse=True)


def _charge_change(subscription: Subscription, account: Account) -> BillingDocument | None:
    """On an annual cycle, invoice what the current plan and seats cost for the rest of the
    period above what was paid this period:
    ``round_half_up(difference per period * days_left / days_in_period)``, the day of the
    change counted. Monthly cycles and trials are charged at the next invoice."""
    if (
        subscription.cycle != Cycle.ANNUAL
        or subscription.status not in BILLED
        or subscription.period_start is None
        or subscription.period_end is None
    ):
        return None
    price = catalogue.price_on(subscription.plan, subscription.currency,
                               subscription.period_start)
    if price is None:
        return None
    unit = price.seat_cents(Cycle.ANNUAL)
    owed, record = _top_up(subscription.paid_seat_cents, unit, subscription.seats)
    if not owed:
        return None
    today = local_date(account)
    days_left = (subscription.period_end - today).days
    days_in_period = (subscription.period_end - subscription.period_start).days
    lines = [
        LineDraft(
            item=DocumentLine.Item.PRORATION,
            description=(
                _("%(plan)s plan, additional agent seat, rest of the annual period")
                if difference == unit else
                _("Upgrade to the %(plan)s plan, per agent seat, rest of the annual period")
            ) % {"plan": subscription.plan.name},
            quantity=count, unit_cents=difference, period_start=today,
            period_end=subscription.period_end - timedelta(days=1),
            days_left=days_left, days_in_period=days_in_period,
        )
        for difference, count in sorted(owed.items(), reverse=True)
    ]
    subscription.paid_seat_cents = record
    subscription.save(update_fields=["paid_seat_cents"])
    invoice = documents.issue_invoice(account, lines, currency=subscription.currency)
    _collect_after_commit(account)
    return invoice


@transaction.atomic
def set_seats(account: Account, seats: int, *, actor: User | None = None) -> Subscription:
    """Change the number of paid seats. More seats on an annual cycle are charged now for
    the rest of the period; fewer take effect now and lower the price from the next period."""
    subscription = _locked(account)
    _refuse_for_lifetime(subscription)
    _check_seats(account, subscription.plan, seats)
    if seats == subscription.seats:
        return subscription
    previous, subscription.seats = subscription.seats, seats
    subscription.save(update_fields=["seats"])
    if not prepaid.seats_changed(subscription, account, previous):
        _charge_change(subscription, account)
    audit.record(account, "billing.seats_changed", actor=actor, target=subscription,
                 previous=previous, seats=seats)
    return subscription


@transaction.atomic
def cover_active_users(account: Account) -> None:
    """Called when a user becomes active (an invitation accepted, a user reactivated): the
    paid seats grow to cover every active user, charged as any added seat is."""
    subscription = Subscription.objects.select_for_update().filter(account=account).first()
    if subscription is None or subscription.status == Subscription.Status.CANCELLED:
        return
    if subscription.is_lifetime:  # no seats to buy: extra users are billed by their days
        codes.users_changed(subscription, account)
        return
    in_use = active_users(account)
    if in_use <= subscription.seats:
        return
    previous, subscription.seats = subscription.seats, in_use
    subscription.save(update_fields=["seats"])
    if not prepaid.seats_changed(subscription, account, previous):
        _charge_change(subscription, account)
    audit.record(account, "billing.seats_changed", target=subscription, previous=previous,
                 seats=in_use, reason="user_activated")


@transaction.atomic
def change_plan(account: Account, plan: Plan, *, actor: User | None = None) -> Subscription:
    """Move to another plan now. A dearer plan on an annual cycle is charged at once for the
    rest of the period; a cheaper one costs less from the next period, with no credit."""
    subscription = _locked(account)
    _refuse_for_lifetime(subscription)
    if plan.pk == subscription.plan_id:
        return subscription
    prepaid.refuse_while_open(account)
    if catalogue.price_on(plan, subscription.currency, local_date(account)) is None and (
        catalogue.is_paid(plan)
    ):
        raise BillingError(_("The %(plan)s plan is not sold in %(currency)s.")
                           % {"plan": plan.name, "currency": subscription.currency})
    _check_seats(account, plan, subscription.seats)
    was_free = (
        subscription.status == Subscription.Status.ACTIVE and subscription.period_start is None
    )
    previous = subscription.plan
    subscription.plan = plan
    account.plan = plan
    Account.objects.filter(pk=account.pk).update(plan=plan)
    paid = catalogue.is_paid(plan)
    if not paid and subscription.status == Subscription.Status.TRIALING:
        subscription.status = Subscription.Status.ACTIVE  # a free plan needs no trial
    subscription.save()
    if paid and was_free:
        if subscription.trial_ends_at is None:
            subscription.status = Subscription.Status.TRIALING
            subscription.trial_ends_at = timezone.now() + timedelta(days=catalogue.TRIAL_DAYS)
            subscription.save(update_fields=["status", "trial_ends_at"])
        elif payments.method_in_use(account) is not None:
            _start_paying(subscription, account)
            _collect_after_commit(account)
        else:
            raise BillingError(_("Add a payment method first: the trial has been used."))
    else:
        _charge_change(subscription, account)
    audit.record(account, "billing.plan_changed", actor=actor, target=subscription,
                 previous=previous.code, plan=plan.code)
    return subscription


@transaction.atomic
def change_cycle(account: Account, cycle: str, *, actor: User | None = None) -> Subscription:
    """Monthly or annual. Before the first paid period the change is immediate; after it,
    the next period is the first of the new cycle (nothing is prorated between cycles)."""
    if cycle not in Cycle.values:
        raise BillingError(_("Choose monthly or annual."))
    subscription = _locked(account)
    _refuse_for_lifetime(subscription)
    if subscription.period_start is None:
        subscription.cycle, subscription.next_cycle = cycle, ""
    else:
        subscription.next_cycle = "" if cycle == subscription.cycle else cycle
    subscription.save(update_fields=["cycle", "next_cycle"])
    audit.record(account, "billing.cycle_changed", actor=actor, target=subscription, cycle=cycle)
    return subscription


@transaction.atomic
def cancel(account: Account, *, actor: User | None = None) -> Subscription:
    """Cancel at once: the account closes, nothing more is charged and nothing is refunded
    (terms §3, §8) but half of any unused prepaid credit (terms §5)."""
    subscription = _locked(account)
    if subscription.status == Subscription.Status.CANCELLED:
        raise BillingError(_("This subscription is already cancelled."))
    subscription.status = Subscription.Status.CANCELLED
    subscription.cancelled_at = timezone.now()
    subscription.save(update_fields=["status", "cancelled_at"])
    Account.objects.filter(pk=account.pk).update(status=Account.Status.CLOSED)
    account.status = Account.Status.CLOSED
    audit.record(account, "billing.cancelled", actor=actor, target=subscription)
    prepaid.leave_early(subscription, account)
    return subscription


# --- Billing details -------------------------------------------------------------------------

DETAIL_FIELDS = ("name", "company", "address_lines", "country", "email", "registration_number")


def _apply_details(
    profile: BillingProfile, details: dict[str, Any], vies: vat.Vies | None
) -> vat.VatNumberCheck | None:
    unknown = set(details) - {*DETAIL_FIELDS, "vat_number"}
    if unknown:
        raise BillingError(_("Unknown billing details: %(names)s") % {
            "names": ", ".join(sorted(unknown))})
    for name in DETAIL_FIELDS:
        if name in details:
            setattr(profile, name, details[name])
    profile.country = profile.country.upper()
    check = None
    if "vat_number" in details:
        check = _apply_vat_number(profile, details["vat_number"] or "", vies)
    profile.save()
    return check


def _apply_vat_number(
    profile: BillingProfile, raw: str, vies: vat.Vies | None
) -> vat.VatNumberCheck | None:
    if not raw.strip():
        profile.vat_number, profile.vat_status, profile.vat_checked_at = "", "", None
        return None
    check = vat.check_vat_number(raw, vies=vies)
    if check.status == vat.INVALID:
        raise BillingError(check.message)
    profile.vat_number, profile.vat_status = check.number, check.status
    profile.vat_checked_at = timezone.now()
    profile.country = profile.country or check.country
    return check


@transaction.atomic
def update_billing_details(
    account: Account, *, actor: User | None = None, vies: vat.Vies | None = None, **details: Any
) -> BillingProfile:
    """New details (a VAT number included) apply from the next invoice; nothing already
    invoiced changes and nothing is refunded (terms §4)."""
    profile = BillingProfile.objects.select_for_update().get(
        pk=documents.billing_profile(account).pk
    )
    _apply_details(profile, details, vies)
    audit.record(account, "billing.details_updated", actor=actor, target=profile,
                 fields=sorted(details))
    subscription = Subscription.objects.select_for_update().filter(account=account).first()
    if subscription is not None and subscription.is_lifetime:
        codes.unblock(subscription, account, actor)  # the details may be all it waited for
    return profile


def recheck_vat_numbers(*, vies: vat.Vies | None = None) -> None:
    """Ask VIES again about the numbers it could not confirm; a verdict applies from the next
    invoice (an invalid number then pays VAT like a consumer, with no correction of the
    past)."""
    with scopes_disabled():
        profiles = list(BillingProfile.objects.filter(
            vat_status=vat.UNVERIFIED, vat_checked_at__lte=timezone.now() - VAT_RECHECK_AFTER,
        ).select_related("account"))
    for profile in profiles:
        with scope(account=profile.account):
            _recheck(profile, vies)


@transaction.atomic
def _recheck(profile: BillingProfile, vies: vat.Vies | None) -> None:
    check = vat.check_vat_number(profile.vat_number, vies=vies)
    profile.vat_status, profile.vat_checked_at = check.status, timezone.now()
    profile.save(update_fields=["vat_status", "vat_checked_at"])
    if check.status != vat.UNVERIFIED:
        audit.record(profile.account, "billing.vat_number_checked", target=profile,
                     vat_number=profile.vat_number, status=check.status)


@dataclass(frozen=True)
class Correction:
    """What a correction request did: a credit note and a re-issued invoice, or why not."""

    credit_note: BillingDocument | None = None
    invoice: BillingDocument | None = None
    refused: str = ""


def last_invoice(account: Account) -> BillingDocument | None:
    """The newest invoice still standing (not cancelled by a credit note)."""
    return BillingDocument.objects.filter(
        account=account, kind=BillingDocument.Kind.INVOICE, number__isnull=False,
        credit_notes__isnull=True,
    ).order_by("-issued_at", "-pk").first()


@dataclass(frozen=True)
class CorrectionWindow:
    """Whether the last invoice can still be corrected: until ``last_day`` inclusive, the day
    of the first invoice of its chain of corrections plus 15, in the account's time zone."""

    invoice: BillingDocument
    last_day: datetime.date
    open: bool

    @property
    def refusal(self) -> str:
        return _(
            "Invoice %(number)s was issued more than 15 days ago, so it can no longer be "
            "corrected. The new details apply from the next invoice."
        ) % {"number": self.invoice.number}


def correction_window(account: Account) -> CorrectionWindow | None:
    invoice = last_invoice(account)
    if invoice is None:
        return None
    original = invoice
    while original.replaces is not None:
        original = original.replaces
    assert original.issued_at is not None
    last_day = local_date(account, original.issued_at) + timedelta(days=CORRECTION_DAYS)
    return CorrectionWindow(invoice, last_day, local_date(account) <= last_day)


@transaction.atomic
def correct_billing_details(
    account: Account, *, actor: User | None = None, vies: vat.Vies | None = None,
    **details: Any,
) -> Correction:
    """Save new billing details and, within 15 days (the day of the invoice plus 15, in the
    account's time zone) after the last invoice, replace it: a credit note for it and a
    re-issued invoice with the new details and the same amounts and tax. The 15 days run
    from the first invoice of a chain of corrections, so correcting again does not extend
    them. Later, the details apply from the next invoice and the request says so."""
    profile = update_billing_details(account, actor=actor, vies=vies, **details)
    window = correction_window(account)
    if window is None or window.invoice.buyer == profile.snapshot():
        return Correction()
    if not window.open:
        return Correction(refused=window.refusal)
    invoice = window.invoice
    credit_note, replacement = documents.reissue_with_new_details(invoice)
    audit.record(account, "billing.invoice_corrected", actor=actor, target=invoice,
                 credit_note=credit_note.number, invoice=replacement.number)
    _collect_after_commit(account)
    return Correction(credit_note=credit_note, invoice=replacement)


# --- The scheduled jobs ----------------------------------------------------------------------


def _owners(account: Account) -> list[User]:
    return list(User.objects.filter(account=account, role=User.Role.OWNER, is_active=True))


@transaction.atomic
def end_trial_without_payment(account: Account) -> None:
    """The trial is over and no payment method came: the account is suspended, its data
    kept, until one is added."""
    subscription = _locked(account)
    if (
        subscription.status != Subscription.Status.TRIALING
        or subscription.trial_ends_at is None
        or subscription.trial_ends_at > timezone.now()
    ):
        return
    subscription.status = Subscription.Status.SUSPENDED
    subscription.save(update_fields=["status"])
    Account.objects.filter(pk=account.pk).exclude(status=Account.Status.CLOSED).update(
        status=Account.Status.SUSPENDED
    )
    account.refresh_from_db(fields=["status"])
    audit.record(account, "billing.trial_ended", target=subscription, reason="no_payment_method")
    for owner in _owners(account):
        queue_email(owner.email, "billing/email/trial_ended",
                    {"account": account, "owner": owner, "account_url": account.url},
                    account=account, language=owner.language or account.language)


@transaction.atomic
def renew(account: Account) -> list[BillingDocument]:
    """Start every period whose time has come (more than one if the jobs were stopped),
    each invoiced at its start with the plan, seats and price of that day."""
    subscription = _locked(account)
    invoices = []
    today = local_date(account)
    while (
        subscription.status in BILLED
        and subscription.period_end is not None
        and subscription.period_end <= today
    ):
        invoice = (
            codes.invoice_month(subscription, account) if subscription.is_lifetime
            else _begin_period(subscription, account, subscription.period_end)
        )
        if invoice is not None:
            invoices.append(invoice)
    if invoices:
        _collect_after_commit(account)
    return invoices


def next_job_at(subscription: Subscription, account: Account) -> datetime.datetime | None:
    """When the jobs next have something to do for this subscription."""
    if subscription.status == Subscription.Status.TRIALING:
        return subscription.trial_ends_at
    if subscription.status in BILLED and subscription.period_end is not None:
        return start_of_day(account, subscription.period_end)
    return None


def run_due_jobs() -> None:
    """End trials and renew periods whose time has come, in each account's own scope."""
    now = timezone.now()
    with scopes_disabled():
        due = Subscription.objects.filter(
            status=Subscription.Status.TRIALING, trial_ends_at__lte=now
        ) | Subscription.objects.filter(
            # Time zones run up to 14 hours ahead of UTC; renew() checks the local day.
            status__in=BILLED, period_end__lte=(now + timedelta(days=1)).date()
        )
        accounts = list(Account.objects.filter(pk__in=due.values("account_id")))
    for account in accounts:
        with scope(account=account):
            end_trial_without_payment(account)
            renew(account)
    codes.track_all_deactivations()
