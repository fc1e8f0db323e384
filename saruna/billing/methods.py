"""Replacing the card or switching to PayPal at any time (terms §4): the calls behind the
owner's "Payment method" page. One method is in use per account; confirming a new one makes
it the one charged from then on and removes the old one, here and at its gateway, so there
is never a moment with none or two.

    kinds = methods.kinds_offered()                          # ["card", "paypal"]
    setup = methods.begin_setup(account, "card", return_url=..., cancel_url=...)
    # the browser completes ``setup`` at the gateway (see PendingSetup), then:
    method = methods.confirm_setup(account, setup.kind, token, actor=request.user)

Confirming during the trial ends it and invoices at once; on an account suspended for billing
it restores the account; either way every unpaid invoice is charged to the new method at
once (``actions.add_payment_method``)."""

from __future__ import annotations

import logging

from django.db import transaction

from saruna.accounts.models import User
from saruna.billing import actions, payments
from saruna.billing.actions import BillingError
from saruna.billing.gateways import gateway_for, get_gateway
from saruna.billing.gateways.base import GatewayError, PaymentGateway, PendingSetup
from saruna.billing.models import PaymentMethod
from saruna.core.models import Account

logger = logging.getLogger(__name__)


def kinds_offered() -> list[str]:
    """The kinds of payment method the owner can choose from, cards first."""
    offered = []
    for kind in PaymentMethod.Kind.values:
        try:
            gateway_for(kind)
        except GatewayError:
            continue
        offered.append(kind)
    return offered


def _gateway(kind: str) -> PaymentGateway:
    try:
        return gateway_for(kind)
    except GatewayError as error:
        raise BillingError(str(error)) from None


def begin_setup(
    account: Account, kind: str, *, return_url: str = "", cancel_url: str = ""
) -> PendingSetup:
    """Prepare the gateway's form for a new card or PayPal account. PayPal sends the owner
    back to ``return_url`` with ``approval_token_id`` (the setup's token) once they agree,
    or to ``cancel_url``."""
    gateway = _gateway(kind)
    earlier = PaymentMethod.objects.filter(account=account, gateway=gateway.name).exclude(
        customer_reference="").order_by("-created_at").first()
    try:
        return gateway.begin_setup(
            account, kind, customer_reference=earlier.customer_reference if earlier else "",
            return_url=return_url, cancel_url=cancel_url,
        )
    except GatewayError as error:
        raise BillingError(str(error)) from None


def confirm_setup(
    account: Account, kind: str, token: str, *, actor: User | None = None
) -> PaymentMethod:
    """Save the method ``token`` stands for (``PendingSetup.token``, or for the offline
    gateway what the owner typed) as the one in use, and remove the one it replaces."""
    replaced = payments.method_in_use(account)
    method = actions.add_payment_method(account, token, gateway=_gateway(kind).name,
                                        actor=actor)
    if replaced is not None:
        transaction.on_commit(lambda: _forget(replaced))
    return method


def _forget(method: PaymentMethod) -> None:
    """Ask the gateway to drop a replaced method. Saruna no longer charges it whatever the
    answer, so a failure is only logged."""
    try:
        get_gateway(method.gateway).remove_payment_method(method)
    except GatewayError as error:
        logger.warning("The %s gateway kept payment method %s: %s",
                       method.gateway, method.pk, error)
