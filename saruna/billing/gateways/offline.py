"""A gateway for development and tests that moves no money and needs no network.

It is deterministic: references come from the idempotency key, and a card number decides
the outcome as Stripe's test cards do (4242 4242 4242 4242 is paid, 4000 0000 0000 0002 is
declined). ``paypal:<e-mail>`` saves a PayPal method. :func:`fail_next_charge` makes the
account's next charge fail once, :func:`fail_next_refunds` its next refunds; the flags live in
the shared cache, so the web process can set them for the worker."""

from __future__ import annotations

from django.core.cache import cache
from stdnum import luhn

from saruna.billing.gateways.base import (
    GatewayError,
    Outcome,
    PaymentGateway,
    PendingSetup,
    SavedMethod,
)
from saruna.billing.models import Payment, PaymentMethod
from saruna.core.models import Account

DECLINED_CARD = "4000000000000002"
DECLINE_MESSAGE = "The card was declined."


def _fail_key(account_id: str) -> str:
    return f"{account_id}:offline-gateway:fail-next-charge"


def fail_next_charge(account: Account) -> None:
    cache.set(_fail_key(account.pk), True, timeout=None)


def _refund_fail_key(account_id: str) -> str:
    return f"{account_id}:offline-gateway:fail-next-refunds"


def fail_next_refunds(account: Account, times: int = 1) -> None:
    cache.set(_refund_fail_key(account.pk), times, timeout=None)


class OfflineGateway(PaymentGateway):
    name = "offline"
    kinds = frozenset({PaymentMethod.Kind.CARD, PaymentMethod.Kind.PAYPAL})

    def begin_setup(
        self, account: Account, kind: str, *, customer_reference: str = "",
        return_url: str = "", cancel_url: str = "",
    ) -> PendingSetup:
        return PendingSetup(gateway=self.name, kind=kind)

    def remove_payment_method(self, method: PaymentMethod) -> None:
        """Nothing is kept anywhere but in Saruna's own row."""

    def save_payment_method(self, account: Account, token: str) -> SavedMethod:
        token = token.strip()
        if token.startswith("paypal:"):
            email = token.removeprefix("paypal:")
            if "@" not in email:
                raise GatewayError("Enter the PayPal account's e-mail address.")
            return SavedMethod(PaymentMethod.Kind.PAYPAL, f"offline_pp_{email}",
                               f"PayPal {email}")
        number = "".join(token.split())
        if not number.isdigit() or len(number) < 12 or not luhn.is_valid(number):
            raise GatewayError("The card number is not valid.")
        return SavedMethod(PaymentMethod.Kind.CARD, f"offline_pm_{number}",
                           f"Test card •••• {number[-4:]}")

    def charge(
        self, method: PaymentMethod, amount_cents: int, currency: str, *,
        idempotency_key: str, description: str,
    ) -> Outcome:
        if cache.get(_fail_key(method.account_id)):
            cache.delete(_fail_key(method.account_id))
            return Outcome(False, message=DECLINE_MESSAGE)
        if method.reference == f"offline_pm_{DECLINED_CARD}":
            return Outcome(False, message=DECLINE_MESSAGE)
        return Outcome(True, reference=f"offline_ch_{idempotency_key}")

    def refund(
        self, payment: Payment, amount_cents: int, *, idempotency_key: str, reason: str
    ) -> Outcome:
        if amount_cents > payment.amount_cents:
            return Outcome(False, message="A refund cannot be larger than the payment.")
        failures_left = cache.get(_refund_fail_key(payment.account_id), 0)
        if failures_left:
            cache.set(_refund_fail_key(payment.account_id), failures_left - 1, timeout=None)
            return Outcome(False, message="The refund was refused.")
        return Outcome(True, reference=f"offline_re_{idempotency_key}")
