"""Payment gateways by name. ``SARUNA_PAYMENT_GATEWAY`` picks the one new cards are saved
with; PayPal accounts go to PayPal once its credentials are set. Each saved method remembers
its gateway, so switching gateways keeps charging old methods where they live."""

from __future__ import annotations

import os

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from saruna.billing.gateways.base import GatewayError, PaymentGateway
from saruna.billing.models import PaymentMethod

ADAPTERS = {
    "offline": "saruna.billing.gateways.offline.OfflineGateway",
    "stripe": "saruna.billing.gateways.stripe.StripeGateway",
    "paypal": "saruna.billing.gateways.paypal.PayPalGateway",
}


def setting(name: str, default: str = "") -> str:
    """An installation setting of the gateways (README, Configuration): Django's setting of
    that name when settings.py has one, else the environment variable; ``default`` when
    empty."""
    value = getattr(settings, name) if hasattr(settings, name) else os.environ.get(name, "")
    return str(value) or default


def get_gateway(name: str | None = None) -> PaymentGateway:
    name = name or settings.SARUNA_PAYMENT_GATEWAY
    gateway: PaymentGateway = import_string(ADAPTERS[name])()
    return gateway


def gateway_for(kind: str) -> PaymentGateway:
    """Where a new method of ``kind`` is saved: PayPal accounts at PayPal when
    ``SARUNA_PAYPAL_CLIENT_ID`` is set, everything else at ``SARUNA_PAYMENT_GATEWAY``
    (the offline gateway saves both kinds)."""
    if kind == PaymentMethod.Kind.PAYPAL and setting("SARUNA_PAYPAL_CLIENT_ID"):
        return get_gateway("paypal")
    gateway = get_gateway()
    if kind not in gateway.kinds:
        raise GatewayError(_("This kind of payment method is not accepted here."))
    return gateway
