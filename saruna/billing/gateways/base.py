"""What Saruna needs from a payment gateway. An adapter (offline, Stripe, PayPal) implements
:class:`PaymentGateway` and is named in ``gateways.ADAPTERS``.

Adapters never touch the database: the billing code stores what they return. A decline is a
result (``succeeded=False`` with a message for the owner); an exception means the gateway
could not be asked, and the attempt counts as failed with that message."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from saruna.billing.models import Payment, PaymentMethod
    from saruna.core.models import Account


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is for the owner."""


@dataclass(frozen=True)
class PendingSetup:
    """What the browser needs to let the owner enter a payment method at the gateway. The
    owner's page passes ``token`` back to ``save_payment_method`` once the gateway has it.

    - Stripe: load Stripe.js from ``script_url`` with ``publishable_key`` and call
      ``stripe.confirmCardSetup(client_secret, {payment_method: {card}})``;
    - PayPal: send the owner to ``approve_url``; PayPal sends them back to the return URL;
    - offline: ``token`` is empty: Saruna's own form asks for a test card number or
      ``paypal:<e-mail>`` and passes that as the token."""

    gateway: str
    kind: str  # PaymentMethod.Kind
    token: str = ""  # a Stripe SetupIntent id, a PayPal setup token id
    client_secret: str = ""
    publishable_key: str = ""
    script_url: str = ""
    approve_url: str = ""


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
    kinds: ClassVar[frozenset[str]]  # the PaymentMethod.Kind values it saves

    @abstractmethod
    def begin_setup(
        self, account: Account, kind: str, *, customer_reference: str = "",
        return_url: str = "", cancel_url: str = "",
    ) -> PendingSetup:
        """Prepare the gateway's own form for a new payment method. ``customer_reference``
        is the gateway's customer id from the account's earlier methods, if any; the URLs
        are where the owner returns from a gateway's page (PayPal's approval)."""

    @abstractmethod
    def save_payment_method(self, account: Account, token: str) -> SavedMethod:
        """Keep the method that ``token`` stands for (what the browser got from the gateway's
        own form: a Stripe SetupIntent, a PayPal setup token the payer approved)."""

    @abstractmethod
    def remove_payment_method(self, method: PaymentMethod) -> None:
        """Have the gateway forget a method Saruna no longer uses."""

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
