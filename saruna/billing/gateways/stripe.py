"""Cards through Stripe, with the official ``stripe`` library.

A card is saved with a SetupIntent (usage ``off_session``) that the owner's browser confirms
with Stripe.js, so the card number never reaches Saruna; charges are off-session
PaymentIntents confirmed at once, sent with the payment's idempotency key. Every object
Saruna creates carries the account id in its metadata, and a SetupIntent of another account
is refused. ``SARUNA_STRIPE_API_BASE`` points the library elsewhere (the tests use
localstripe)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import stripe
from django.utils.translation import gettext as _

from saruna.billing.gateways import setting
from saruna.billing.gateways.base import (
    GatewayError,
    Outcome,
    PaymentGateway,
    PendingSetup,
    SavedMethod,
)
from saruna.billing.models import PaymentMethod

if TYPE_CHECKING:
    from saruna.billing.models import Payment
    from saruna.core.models import Account

ACCOUNT_KEY = "saruna_account"
# Refunds Stripe accepted but has not settled yet are "pending"; they fail only in rare
# cases that Stripe reports later, so Saruna records them as done.
REFUNDED = ("succeeded", "pending")


def _refused(error: stripe.StripeError) -> GatewayError:
    return GatewayError(_("Stripe could not take the request: %(reason)s")
                        % {"reason": error.user_message or str(error)})


class StripeGateway(PaymentGateway):
    name = "stripe"
    kinds = frozenset({PaymentMethod.Kind.CARD})

    def __init__(self) -> None:
        secret_key = setting("SARUNA_STRIPE_SECRET_KEY")
        if not secret_key:
            raise GatewayError(_("Card payments are not set up (no Stripe key)."))
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": setting("SARUNA_STRIPE_API_BASE", "https://api.stripe.com")},
            # Safe to retry: every write carries an idempotency key.
            max_network_retries=2,
        )

    def begin_setup(
        self, account: Account, kind: str, *, customer_reference: str = "",
        return_url: str = "", cancel_url: str = "",
    ) -> PendingSetup:
        metadata = {ACCOUNT_KEY: account.pk}
        try:
            if not customer_reference:
                customer_reference = self.client.v1.customers.create(
                    params={"name": account.name, "metadata": metadata}
                ).id
            intent = self.client.v1.setup_intents.create(params={
                "customer": customer_reference, "usage": "off_session", "metadata": metadata,
            })
        except stripe.StripeError as error:
            raise _refused(error) from error
        assert intent.client_secret is not None
        return PendingSetup(
            gateway=self.name, kind=PaymentMethod.Kind.CARD, token=intent.id,
            client_secret=intent.client_secret,
            publishable_key=setting("SARUNA_STRIPE_PUBLISHABLE_KEY"),
            script_url=setting("SARUNA_STRIPE_JS_URL", "https://js.stripe.com/v3/"),
        )

    def save_payment_method(self, account: Account, token: str) -> SavedMethod:
        try:
            intent = self.client.v1.setup_intents.retrieve(
                token, params={"expand": ["payment_method"]})
        except stripe.InvalidRequestError:
            raise GatewayError(_("Stripe does not know this card setup.")) from None
        except stripe.StripeError as error:
            raise _refused(error) from error
        metadata = intent.metadata
        if metadata is None or ACCOUNT_KEY not in metadata or metadata[ACCOUNT_KEY] != account.pk:
            raise GatewayError(_("Stripe does not know this card setup."))
        method = intent.payment_method
        if intent.status != "succeeded" or not isinstance(method, stripe.PaymentMethod):
            raise GatewayError(_("The card has not been confirmed yet."))
        customer = intent.customer if isinstance(intent.customer, str) else ""
        # Stripe attaches the card to the SetupIntent's customer; a server that has not
        # (localstripe) gets it attached here, so charges can name the customer.
        if method.customer != customer:
            try:
                method = self.client.v1.payment_methods.attach(
                    method.id, params={"customer": customer})
            except stripe.StripeError as error:
                raise _refused(error) from error
        card = method.card
        label = f"{card.brand.title()} •••• {card.last4}" if card else _("Card")
        return SavedMethod(PaymentMethod.Kind.CARD, method.id, label,
                           customer_reference=customer)

    def remove_payment_method(self, method: PaymentMethod) -> None:
        try:
            self.client.v1.payment_methods.detach(method.reference)
        except stripe.StripeError as error:
            raise _refused(error) from error

    def charge(
        self, method: PaymentMethod, amount_cents: int, currency: str, *,
        idempotency_key: str, description: str,
    ) -> Outcome:
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount_cents, "currency": currency.lower(),
                    "customer": method.customer_reference, "payment_method": method.reference,
                    "off_session": True, "confirm": True,
                    "metadata": {ACCOUNT_KEY: method.account_id, "description": description},
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.CardError as error:
            return Outcome(False, message=error.user_message or _("The card was declined."))
        except stripe.StripeError as error:
            raise _refused(error) from error
        if intent.status == "succeeded":
            return Outcome(True, reference=intent.id)
        return Outcome(False, reference=intent.id, message=_(
            "Stripe did not complete the payment (%(status)s).") % {"status": intent.status})

    def refund(
        self, payment: Payment, amount_cents: int, *, idempotency_key: str, reason: str
    ) -> Outcome:
        try:
            refund = self.client.v1.refunds.create(
                params={"payment_intent": payment.reference, "amount": amount_cents,
                        "metadata": {ACCOUNT_KEY: payment.account_id, "reason": reason}},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.InvalidRequestError as error:
            return Outcome(False, message=error.user_message or str(error))
        except stripe.StripeError as error:
            raise _refused(error) from error
        if refund.status in REFUNDED:
            return Outcome(True, reference=refund.id)
        return Outcome(False, reference=refund.id, message=_(
            "Stripe did not make the refund (%(status)s).") % {"status": refund.status})
