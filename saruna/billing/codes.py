"""Lifetime codes (terms §6): codes sold elsewhere, imported by the provider in batches with a
redemption deadline and redeemed at ``/signup/code/``.

- A code is single use and an account holds at most one (``CodeRedemption`` is unique per code
  and per account; the code row is locked while it is redeemed). After the batch's deadline a
  code is refused.
- A redeemed code puts the account on the all-inclusive plan with 2 seats for life. Each user
  beyond them is billed at the plan's monthly seat price by the days it existed in the
  calendar month, invoiced on the 1st of the next month (in arrears). ``SeatInterval`` rows
  keep when each user was active.
- The owner is e-mailed whenever an activated user takes the account beyond its included
  seats. If the first month with something to charge finds no payment method or incomplete
  billing details, the account is blocked (suspended, nothing deleted) until the owner
  supplies both; the month is then invoiced to those details.
- The provider suspends accounts that reused a code (audited).
"""

from __future__ import annotations

import calendar
import csv
import datetime
import io
import re
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_scopes import scope, scopes_disabled

from saruna.accounts import signup
from saruna.accounts.models import User
from saruna.billing import actions, catalogue, documents, payments, prepaid
from saruna.billing.documents import LineDraft
from saruna.billing.models import (
    BillingDocument,
    BillingProfile,
    CodeBatch,
    CodeRedemption,
    Cycle,
    DocumentLine,
    LifetimeCode,
    SeatInterval,
    Subscription,
)
from saruna.billing.money import format_amount
from saruna.billing.periods import add_months, local_date, start_of_day
from saruna.core import audit
from saruna.core.models import Account, Plan
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url

INCLUDED_SEATS = 2
CODE_FORMAT = re.compile(r"^[A-Z0-9][A-Z0-9_-]{3,63}$")
# What "full billing details" means before the first charge (terms §6: real name, e-mail,
# company, full address and the company data local law asks for).
REQUIRED_DETAILS = ("name", "email", "company", "address_lines", "country", "registration_number")


def normalise(code: str) -> str:
    return code.strip().upper()


def _month_after(day: datetime.date) -> datetime.date:
    """The first day of the month after ``day``'s."""
    return add_months(day.replace(day=1), 1, 1)


# --- Importing (the provider) --------------------------------------------------------------------


class CodeImportError(ValueError):
    """The file cannot be imported as it is; nothing was imported."""


def codes_in_csv(text: str) -> list[str]:
    """The codes of a CSV file: the first column of each row, a header row ``code`` and blank
    rows skipped."""
    found: list[str] = []
    for row in csv.reader(io.StringIO(text)):
        cell = normalise(row[0]) if row else ""
        if cell and not (not found and cell == "CODE"):
            found.append(cell)
    return found


@transaction.atomic
def import_codes(*, name: str, redeem_by: datetime.datetime, csv_text: str,
                 staff: User | None = None) -> CodeBatch:
    """A batch of codes from a CSV file, all or nothing: a malformed, repeated or already
    known code refuses the whole file."""
    codes = codes_in_csv(csv_text)
    if not codes:
        raise CodeImportError(_("The file has no codes."))
    problems = [_("“%(code)s” is not a code (4 to 64 letters, digits, - or _).") % {"code": c}
                for c in codes if not CODE_FORMAT.match(c)]
    problems += [_("“%(code)s” is in the file more than once.") % {"code": c}
                 for c, n in Counter(codes).items() if n > 1]
    problems += [_("“%(code)s” was imported before.") % {"code": c}
                 for c in LifetimeCode.objects.filter(code__in=codes).values_list("code",
                                                                                   flat=True)]
    if problems:
        raise CodeImportError(" ".join(problems[:5]) + (" …" if len(problems) > 5 else ""))
    batch = CodeBatch.objects.create(name=name.strip(), redeem_by=redeem_by, imported_by=staff)
    LifetimeCode.objects.bulk_create([LifetimeCode(batch=batch, code=code) for code in codes])
    return batch


# --- Redeeming -----------------------------------------------------------------------------------


def _usable(code: str, *, lock: bool) -> LifetimeCode:
    """The code if it can still be redeemed; a refusal says why."""
    codes = LifetimeCode.objects.select_related("batch")
    row = (codes.select_for_update() if lock else codes).filter(code=normalise(code)).first()
    if row is None:
        raise actions.BillingError(_("This code is not valid. Check it and try again."))
    # Whether any account redeemed it: a yes or no about the provider's code, nothing more.
    with scopes_disabled():
        taken = CodeRedemption.objects.filter(code=row).exists()
    if taken:
        raise actions.BillingError(_("This code has already been redeemed: each code can be "
                                     "used once."))
    if timezone.now() > row.batch.redeem_by:
        raise actions.BillingError(
            _("This code had to be redeemed by %(deadline)s UTC and can no longer be used.")
            % {"deadline": row.batch.redeem_by.astimezone(datetime.UTC).strftime(
                "%Y-%m-%d %H:%M")}
        )
    return row


@transaction.atomic
def redeem_code(account: Account, code: str, *, actor: User | None = None) -> CodeRedemption:
    """Give ``account`` lifetime access to 2 seats on the all-inclusive plan. Only an account
    that has not been invoiced yet (a new one, or one still in its trial) can redeem a code."""
    row = _usable(code, lock=True)
    if CodeRedemption.objects.filter(account=account).exists():
        raise actions.BillingError(_("This account already has a lifetime code: codes do not "
                                     "stack."))
    subscription = Subscription.objects.select_for_update().filter(account=account).first()
    if subscription is not None and (
        BillingDocument.objects.filter(account=account).exists()
        or prepaid.open_credit(account) is not None
    ):
        raise actions.BillingError(_("A lifetime code is for an account that has not paid for "
                                     "a subscription yet."))
    try:
        with transaction.atomic():
            redemption = CodeRedemption.objects.create(account=account, code=row)
    except IntegrityError:  # another redemption of this code committed first
        raise actions.BillingError(_("This code has already been redeemed: each code can be "
                                     "used once.")) from None
    plan = Plan.objects.get(code=catalogue.ALL_INCLUSIVE_PLAN)
    today = local_date(account)
    subscription = subscription or Subscription(account=account, plan=plan, seats=0,
                                                status=Subscription.Status.ACTIVE)
    if subscription.status == Subscription.Status.SUSPENDED:  # its trial had ended
        Account.objects.filter(pk=account.pk, status=Account.Status.SUSPENDED).update(
            status=Account.Status.ACTIVE)
        account.refresh_from_db(fields=["status"])
    subscription.plan = plan
    subscription.mode = Subscription.Mode.LIFETIME
    subscription.included_seats = subscription.seats = INCLUDED_SEATS
    subscription.cycle, subscription.next_cycle = Cycle.MONTHLY, ""
    subscription.status = Subscription.Status.ACTIVE
    subscription.trial_ends_at = None
    subscription.anchor_day = None
    subscription.paid_seat_cents = []
    subscription.period_start, subscription.period_end = today, _month_after(today)
    subscription.save()
    Account.objects.filter(pk=account.pk).update(plan=plan)
    account.plan = plan
    documents.billing_profile(account)
    track_users(account)
    audit.record(account, "billing.code_redeemed", actor=actor, target=redemption,
                 code=row.code, batch=row.batch.name)
    return redemption


def signup_with_code(
    *, code: str, company: str, full_name: str, email: str, password: str,
    slug: str | None = None, request: HttpRequest | None = None,
) -> signup.NewAccount:
    """The signup at ``/signup/code/``: a new account and its owner, with the code redeemed,
    in one transaction (a refused code leaves no account behind). Raises
    :class:`signup.SignupError` (``field`` "code" for the code) or a password
    ``ValidationError``."""
    try:
        _usable(code, lock=False)  # the code's problems first, before anything is made
        with transaction.atomic():
            new = signup.create_account(company=company, full_name=full_name, email=email,
                                 password=password, slug=slug, request=request,
                                 plan=Plan.objects.get(code=catalogue.ALL_INCLUSIVE_PLAN))
            with scope(account=new.account):
                redeem_code(new.account, code, actor=new.owner)
    except actions.BillingError as error:
        raise signup.SignupError("code", error.message) from None
    return new


# --- Users and the month's invoice ---------------------------------------------------------------


def track_users(account: Account) -> None:
    """Bring the account's seat intervals up to date: users deactivated since are closed at
    their deactivation time, users active now and without an open interval get one."""
    now = timezone.now()
    open_intervals = SeatInterval.objects.filter(account=account, ended_at__isnull=True)
    for interval in open_intervals.select_related("user"):
        if not interval.user.is_active:
            interval.ended_at = interval.user.deactivated_at or now
            interval.save(update_fields=["ended_at"])
    tracked = set(open_intervals.values_list("user_id", flat=True))
    SeatInterval.objects.bulk_create([
        SeatInterval(account=account, user_id=pk, started_at=now)
        for pk in User.objects.filter(account=account, is_active=True).values_list("pk",
                                                                                   flat=True)
        if pk not in tracked
    ])


def track_all_deactivations() -> None:
    """Close the intervals of users deactivated since the last look, in each account's scope
    (part of the billing sweep), so a user deactivated and later reactivated is not billed for
    the time between."""
    with scopes_disabled():
        accounts = list(Account.objects.filter(pk__in=SeatInterval.objects.filter(
            ended_at__isnull=True, user__is_active=False).values("account_id")))
    for account in accounts:
        with scope(account=account):
            track_users(account)


def _owners(account: Account) -> list[User]:
    return list(User.objects.filter(account=account, role=User.Role.OWNER, is_active=True))


def _my_account_url(account: Account) -> str:
    return public_url(account.host, reverse("my_account", urlconf=settings.SARUNA_TENANT_URLCONF))


def users_changed(subscription: Subscription, account: Account) -> None:
    """A user became active. Beyond the included seats, the owner hears of it at once."""
    track_users(account)
    in_use = actions.active_users(account)
    if in_use <= subscription.included_seats:
        return
    price = catalogue.price_on(subscription.plan, subscription.currency, local_date(account))
    audit.record(account, "billing.included_seats_exceeded", target=subscription,
                 users=in_use, included=subscription.included_seats)
    for owner in _owners(account):
        queue_email(owner.email, "billing/email/seats_exceeded", {
            "account": account, "owner": owner, "users": in_use,
            "included": subscription.included_seats,
            "extra": in_use - subscription.included_seats,
            "seat_month": (format_amount(price.seat_month_cents, subscription.currency)
                           if price else ""),
            "ready": ready_to_pay(account), "my_account_url": _my_account_url(account),
        }, account=account, language=owner.language or account.language)


def _users_per_day(account: Account, start: datetime.date, end: datetime.date) -> list[int]:
    """For each day from ``start`` to the day before ``end`` (in the account's time zone), how
    many users were active at some moment of it."""
    first, last = start_of_day(account, start), start_of_day(account, end)
    intervals = list(SeatInterval.objects.filter(account=account, started_at__lt=last).exclude(
        ended_at__lte=first).values_list("user_id", "started_at", "ended_at"))
    counts = []
    day = start
    while day < end:
        low, high = start_of_day(account, day), start_of_day(account, day + timedelta(days=1))
        counts.append(len({user for user, began, ended in intervals
                           if began < high and (ended is None or ended > low)}))
        day += timedelta(days=1)
    return counts


def _extra_users_lines(subscription: Subscription, account: Account) -> list[LineDraft]:
    """What the current period (ended or not) owes for users beyond the included seats: per
    number of extra users, the days there were that many, each day at ``monthly seat price /
    days in the month``."""
    start, end = subscription.period_start, subscription.period_end
    assert start is not None and end is not None
    track_users(account)
    extra_days = Counter(
        users - subscription.included_seats for users in _users_per_day(account, start, end)
        if users > subscription.included_seats
    )
    price = catalogue.price_on(subscription.plan, subscription.currency, start)
    if price is None:
        return []
    return [
        LineDraft(
            item=DocumentLine.Item.EXTRA_USERS,
            description=ngettext(
                "%(plan)s plan, agent beyond the %(included)d included seats, by days",
                "%(plan)s plan, agents beyond the %(included)d included seats, by days",
                extra) % {"plan": subscription.plan.name,
                          "included": subscription.included_seats},
            quantity=extra, unit_cents=price.seat_month_cents, period_start=start,
            period_end=end - timedelta(days=1), days_left=days,
            days_in_period=calendar.monthrange(start.year, start.month)[1],
        )
        for extra, days in sorted(extra_days.items())
    ]


def invoice_month(subscription: Subscription, account: Account) -> BillingDocument | None:
    """The renewal job of a lifetime subscription: invoice the month that just ended for its
    extra users and start the next calendar month. When there is something to charge but no
    payment method or no full billing details, the account is blocked instead and the month
    is invoiced, with the details, once the owner gives both."""
    lines = _extra_users_lines(subscription, account)
    if lines and not ready_to_pay(account):
        _block(subscription, account, lines)
        return None
    assert subscription.period_end is not None
    subscription.period_start = subscription.period_end
    subscription.period_end = _month_after(subscription.period_end)
    subscription.save(update_fields=["period_start", "period_end"])
    if not lines:
        return None
    return documents.issue_invoice(account, lines, currency=subscription.currency)


# --- Blocked until billing details and a payment method ------------------------------------------


def missing_details(account: Account) -> list[str]:
    """The billing details the first charge needs that the profile lacks (field names)."""
    profile = documents.billing_profile(account)
    return [name for name in REQUIRED_DETAILS if not getattr(profile, name)]


def ready_to_pay(account: Account) -> bool:
    return payments.method_in_use(account) is not None and not missing_details(account)


def _block(subscription: Subscription, account: Account, lines: list[LineDraft]) -> None:
    subscription.status = Subscription.Status.SUSPENDED
    subscription.save(update_fields=["status"])
    Account.objects.filter(pk=account.pk).exclude(status=Account.Status.CLOSED).update(
        status=Account.Status.SUSPENDED)
    account.refresh_from_db(fields=["status"])
    amount = format_amount(sum(line.amount_cents for line in lines), subscription.currency)
    audit.record(account, "billing.blocked", target=subscription, amount=amount,
                 reason="billing_details_needed")
    for owner in _owners(account):
        queue_email(owner.email, "billing/email/lifetime_blocked", {
            "account": account, "owner": owner, "amount": amount,
            "my_account_url": _my_account_url(account),
        }, account=account, language=owner.language or account.language)


def unblock(subscription: Subscription, account: Account, actor: User | None = None) -> bool:
    """Open a blocked lifetime account once it has a payment method and full billing details
    (not one suspended for reusing its code): the month that waited is invoiced now, and
    usage counts again from today, so the blocked days are not billed. True when it opened."""
    if (
        subscription.status != Subscription.Status.SUSPENDED
        or suspended_for_reuse(account)
        or not ready_to_pay(account)
    ):
        return False
    today = local_date(account)
    assert subscription.period_end is not None
    if subscription.period_end <= today:
        lines = _extra_users_lines(subscription, account)
        if lines:
            documents.issue_invoice(account, lines, currency=subscription.currency)
        subscription.period_start, subscription.period_end = today, _month_after(today)
    subscription.status = Subscription.Status.ACTIVE
    subscription.save(update_fields=["status", "period_start", "period_end"])
    Account.objects.filter(pk=account.pk, status=Account.Status.SUSPENDED).update(
        status=Account.Status.ACTIVE)
    account.refresh_from_db(fields=["status"])
    audit.record(account, "billing.restored", actor=actor, target=subscription)
    actions._collect_after_commit(account, retry_failed=True)
    return True


# --- Code reuse (the provider) -------------------------------------------------------------------


def suspended_for_reuse(account: Account) -> bool:
    return CodeRedemption.objects.filter(account=account,
                                         suspended_for_reuse_at__isnull=False).exists()


@transaction.atomic
def suspend_for_code_reuse(account: Account, *, staff: User, reason: str) -> CodeRedemption:
    """Reusing a code breaks the terms (§6): the account is suspended, its data kept, and
    neither a payment method nor billing details open it again. Audited with the reason."""
    if not reason.strip():
        raise actions.BillingError(_("Give the reason: the customer sees it in the audit log."))
    redemption = CodeRedemption.objects.select_for_update().select_related("code").filter(
        account=account).first()
    if redemption is None:
        raise actions.BillingError(_("This account has not redeemed a lifetime code."))
    if redemption.suspended_for_reuse_at is not None:
        raise actions.BillingError(_("This account is already suspended for code reuse."))
    redemption.suspended_for_reuse_at = timezone.now()
    redemption.save(update_fields=["suspended_for_reuse_at"])
    Subscription.objects.filter(account=account).exclude(
        status=Subscription.Status.CANCELLED).update(status=Subscription.Status.SUSPENDED)
    Account.objects.filter(pk=account.pk).exclude(status=Account.Status.CLOSED).update(
        status=Account.Status.SUSPENDED)
    account.refresh_from_db(fields=["status"])
    audit.record(account, "billing.code_reuse_suspended", actor=staff, target=redemption,
                 code=redemption.code.code, reason=reason.strip())
    return redemption


def missing_detail_labels(account: Account) -> list[str]:
    """The missing billing details in the owner's words."""
    labels = []
    for name in missing_details(account):
        field = BillingProfile._meta.get_field(name)
        assert isinstance(field, models.Field)
        labels.append(str(field.verbose_name))
    return labels
