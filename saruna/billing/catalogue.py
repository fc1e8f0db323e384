"""The plans on sale: prices by date, limits per plan and per account, price changes."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User
from saruna.billing.models import LimitOverride, PlanLimits, PlanPrice, Subscription
from saruna.billing.money import format_amount, to_cents
from saruna.core.models import Account, Plan
from saruna.core.outbox import queue_email

TRIAL_DAYS = 14
PRICE_CHANGE_NOTICE = timedelta(days=30)
ALL_INCLUSIVE_PLAN = "all-inclusive"


class CatalogueError(ValueError):
    """A price change or plan the rules do not allow; the message says why."""


def price_on(plan: Plan, currency: str, day: datetime.date) -> PlanPrice | None:
    """The price version of ``plan`` in effect on ``day``; None for a free plan.

    A plan added after ``day`` (an upgrade to it inside a period that began earlier) is
    priced by its first version."""
    prices = PlanPrice.objects.filter(plan=plan, currency=currency)
    return (
        prices.filter(effective_from__lte=day).order_by("-effective_from").first()
        or prices.order_by("effective_from").first()
    )


def is_paid(plan: Plan) -> bool:
    return PlanPrice.objects.filter(plan=plan).exists()


@dataclass(frozen=True)
class Limits:
    """What an account may use; None is no limit."""

    agents: int
    mailboxes: int | None
    chat_buttons: int | None
    history_days: int | None
    api_requests_per_minute: int | None


def limits_of(account: Account) -> Limits:
    """The plan's limits with the provider's overrides for this account on top."""
    plan_limits = PlanLimits.objects.filter(plan_id=account.plan_id).first()
    with scope(account=account):
        override = LimitOverride.objects.filter(account=account).first()

    def pick(name: str) -> int | None:
        value = getattr(override, name, None)
        return value if value is not None else getattr(plan_limits, name, None)

    return Limits(
        agents=account.max_agents,
        mailboxes=pick("max_mailboxes"),
        chat_buttons=pick("max_chat_buttons"),
        history_days=pick("history_days"),
        api_requests_per_minute=pick("api_requests_per_minute"),
    )


@transaction.atomic
def schedule_price_change(
    plan: Plan, *, currency: str, seat_month: str, seat_year: str, effective_from: datetime.date
) -> PlanPrice:
    """Add a price version and e-mail the owner of every account on the plan at once.

    The terms promise 30 days' notice, so ``effective_from`` must be at least 30 days away;
    each subscription pays the new price from its first renewal on or after that day."""
    now = timezone.now()
    if effective_from < (now + PRICE_CHANGE_NOTICE).date():
        raise CatalogueError(
            _("A price change needs 30 days' notice: the earliest effective date is %(day)s.")
            % {"day": (now + PRICE_CHANGE_NOTICE).date().isoformat()}
        )
    if not PlanPrice.objects.filter(plan=plan, currency=currency).exists():
        raise CatalogueError(_("%(plan)s has no price in %(currency)s to change.")
                             % {"plan": plan.name, "currency": currency})
    price = PlanPrice.objects.create(
        plan=plan, currency=currency, seat_month_cents=to_cents(seat_month),
        seat_year_cents=to_cents(seat_year), effective_from=effective_from, announced_at=now,
    )
    with scopes_disabled():
        accounts = list(Account.objects.filter(
            pk__in=Subscription.objects.filter(plan=plan, currency=currency).exclude(
                status=Subscription.Status.CANCELLED
            ).values("account_id")
        ))
    for account in accounts:
        with scope(account=account):
            for owner in User.objects.filter(account=account, role=User.Role.OWNER,
                                             is_active=True):
                queue_email(
                    owner.email, "billing/email/price_change",
                    {
                        "account": account, "owner": owner, "plan": plan, "price": price,
                        "seat_month": format_amount(price.seat_month_cents, currency),
                        "seat_year": format_amount(price.seat_year_cents, currency),
                    },
                    account=account, language=owner.language or account.language,
                )
    return price
