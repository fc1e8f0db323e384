"""What Saruna needs from a payment gateway. An adapter (offline, Stripe, PayPal) implements
:class:`PaymentGateway` and is named in ``gateways.ADAPTERS``.

Adapters never touch the database: the billing code stores what they return. A decline is a
result (``succeeded=False`` with a message for the owner); an exception means the gateway
could not be asked, and the attempt counts as failed with that message."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from saruna.billing.models import Payment, PaymentMethod
    from saruna.core.models import Account


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is for the owner."""


@dataclass(frozen=True)
class SavedMethod:
    """A payment method the gateway keeps for off-session charges."""

    kind: str  # PaymentMethod.Kind: "card" or "paypal"
    reference: str  # the gateway's id of the method
    label: str  # what the owner sees, e.g. "Visa •••• 4242"
    customer_reference: str = ""  # the gateway's customer id, where it has customers


@dataclass(frozen=True)
class Outcome:
    """The answer to a charge or a refund."""

    succeeded: bool
    reference: str = ""  # the gateway's id of the charge or refund
    message: str = ""  # why it failed, in words for the owner


class PaymentGateway(ABC):
    name: str

    @abstractmethod
    def save_payment_method(self, account: Account, token: str) -> SavedMethod:
        """Keep the method that ``token`` stands for (what the browser got from the gateway's
        own form: a Stripe PaymentMethod confirmed by a SetupIntent, a PayPal vault token)."""

    @abstractmethod
    def charge(
        self, method: PaymentMethod, amount_cents: int, currency: str, *,
        idempotency_key: str, description: str,
    ) -> Outcome:
        """Charge a saved method with no customer present (off-session)."""

    @abstractmethod
    def refund(
        self, payment: Payment, amount_cents: int, *, idempotency_key: str, reason: str
    ) -> Outcome:
        """Give back part or all of a succeeded payment."""
