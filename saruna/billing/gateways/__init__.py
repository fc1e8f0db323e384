"""Payment gateways by name. ``SARUNA_PAYMENT_GATEWAY`` picks the one new payment methods are
saved with; each saved method remembers its gateway, so switching gateways keeps charging
old methods where they live."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string

from saruna.billing.gateways.base import PaymentGateway

ADAPTERS = {
    "offline": "saruna.billing.gateways.offline.OfflineGateway",
}


def get_gateway(name: str | None = None) -> PaymentGateway:
    name = name or settings.SARUNA_PAYMENT_GATEWAY
    gateway: PaymentGateway = import_string(ADAPTERS[name])()
    return gateway
