"""``GET /subscriptions/{subscriptionId}/billingStatus`` (API §22). ``subscriptionId`` is
``me`` or the account's id. ``valid_to``: the end of the trial or of the paid period as a
Unix timestamp (null for lifetime plans and accounts without a subscription); ``has_errors``:
the last charge failed, or the subscription is overdue or suspended for billing."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Router, Schema

from saruna.api.auth import ApiError, require
from saruna.api.v3.common import responses
from saruna.billing.models import Payment, Subscription

router = Router(tags=["subscriptions"])

TROUBLED = (Subscription.Status.PAST_DUE, Subscription.Status.SUSPENDED)


class BillingStatusOut(Schema):
    valid_to: int | None = None
    has_errors: bool


def _valid_to(subscription: Subscription, zone_name: str) -> int | None:
    if subscription.is_lifetime:
        return None
    if subscription.status == Subscription.Status.TRIALING and subscription.trial_ends_at:
        return int(subscription.trial_ends_at.timestamp())
    if subscription.period_end is None:
        return None
    try:
        zone: dt.tzinfo = zoneinfo.ZoneInfo(zone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    # Period dates are in the account's time zone; the end is the next period's first day.
    end = dt.datetime.combine(subscription.period_end, dt.time(), tzinfo=zone)
    return int(end.timestamp())


@router.get("/subscriptions/{subscriptionId}/billingStatus",
            response=responses(BillingStatusOut), summary="Billing status of the subscription")
def billing_status(request: HttpRequest, subscriptionId: str) -> dict[str, Any]:
    require(request, "subscription.read", "subscription.own")
    account = request.account  # type: ignore[attr-defined]
    if subscriptionId not in ("me", account.pk):
        raise ApiError(404, gettext("Unknown subscription."))
    subscription = Subscription.objects.select_related("plan").first()
    if subscription is None:
        return {"valid_to": None, "has_errors": False}
    last = Payment.objects.order_by("-created_at", "-pk").first()
    failed = last is not None and last.status == Payment.Status.FAILED
    return {
        "valid_to": _valid_to(subscription, account.time_zone),
        "has_errors": failed or subscription.status in TROUBLED,
    }
