"""Cards through Stripe, against localstripe (a real HTTP server, started by the fixture):
saving a card with a SetupIntent the browser confirms, off-session charges, declines,
replacing the card, refunds, and Stripe out of reach."""

import pytest
import requests

from saruna.billing import actions, methods, payments
from saruna.billing.gateways import get_gateway
from saruna.billing.models import Payment, PaymentMethod, Subscription
from tests.billing.conftest import invoices
from tests.billing.stripe_server import (  # noqa: F401
    PUBLISHABLE_KEY,
    SECRET_KEY,
    localstripe_fixture,
    require_localstripe,
)
from tests.factories import make_account
from tests.servers import free_port

require_localstripe()

VISA = "4242424242424242"
DECLINED_WHEN_CHARGED = "4000000000000341"
DECLINED_WHEN_SAVED = "4000000000000002"


@pytest.fixture
def stripe_settings(settings, localstripe):
    settings.SARUNA_PAYMENT_GATEWAY = "stripe"
    settings.SARUNA_STRIPE_SECRET_KEY = SECRET_KEY
    settings.SARUNA_STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.SARUNA_STRIPE_API_BASE = localstripe
    return settings


def stripe_get(localstripe, path):
    return requests.get(f"{localstripe}{path}", auth=(SECRET_KEY, ""), timeout=5).json()


def enter_card(localstripe, setup, number):
    """What Stripe.js does in the owner's browser: confirm the SetupIntent with the card,
    authenticated by the publishable key and the client secret only."""
    return requests.post(f"{localstripe}/v1/setup_intents/{setup.token}/confirm", data={
        "key": setup.publishable_key, "client_secret": setup.client_secret,
        "payment_method_data[type]": "card", "payment_method_data[card][number]": number,
        "payment_method_data[card][exp_month]": "12",
        "payment_method_data[card][exp_year]": "2030",
        "payment_method_data[card][cvc]": "123",
    }, timeout=5)


def add_card(account, localstripe, number, committed):
    setup = methods.begin_setup(account, "card")
    enter_card(localstripe, setup, number)
    return committed(methods.confirm_setup, account, "card", setup.token)


@pytest.fixture
def trialing(customer, all_inclusive, committed, stripe_settings):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    return customer


def test_a_card_saved_with_a_setup_intent_pays_the_first_invoice_off_session(
    trialing, localstripe, committed
):
    setup = methods.begin_setup(trialing, "card")
    assert (setup.gateway, setup.kind, setup.publishable_key) == ("stripe", "card",
                                                                  PUBLISHABLE_KEY)
    assert setup.client_secret.startswith(setup.token + "_secret_")
    assert setup.script_url == "https://js.stripe.com/v3/"
    assert enter_card(localstripe, setup, VISA).json()["status"] == "succeeded"

    method = committed(methods.confirm_setup, trialing, "card", setup.token)
    assert (method.gateway, method.kind, method.label) == ("stripe", "card", "Visa •••• 4242")
    assert method.customer_reference.startswith("cus_")
    [invoice] = invoices(trialing)  # the trial ended: 39.00 + 21 % VAT
    [payment] = Payment.objects.all()
    assert (payment.status, payment.amount_cents) == ("succeeded", 4719)
    charged = stripe_get(localstripe, f"/v1/payment_intents/{payment.reference}")
    assert (charged["status"], charged["amount"], charged["currency"]) == (
        "succeeded", 4719, "usd")
    assert (charged["customer"], charged["payment_method"]) == (
        method.customer_reference, method.reference)
    assert charged["metadata"] == {"saruna_account": trialing.pk,
                                   "description": f"Saruna {invoice.number}"}
    card = stripe_get(localstripe, f"/v1/payment_methods/{method.reference}")
    assert card["customer"] == method.customer_reference  # kept for off-session charges
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_a_card_the_bank_declines_leaves_the_invoice_due(trialing, localstripe, committed):
    add_card(trialing, localstripe, DECLINED_WHEN_CHARGED, committed)
    [payment] = Payment.objects.all()
    assert (payment.status, payment.failure_message) == ("failed", "Your card was declined.")
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
    assert payments.due_invoices(trialing) == invoices(trialing)


def test_a_card_declined_at_setup_is_refused_and_the_trial_goes_on(
    trialing, localstripe, committed
):
    setup = methods.begin_setup(trialing, "card")
    assert enter_card(localstripe, setup, DECLINED_WHEN_SAVED).status_code == 402
    with pytest.raises(actions.BillingError, match="not been confirmed"):
        methods.confirm_setup(trialing, "card", setup.token)
    assert not PaymentMethod.objects.exists()
    assert Subscription.objects.get().status == Subscription.Status.TRIALING


def test_another_accounts_setup_intent_is_refused(trialing, localstripe, committed):
    other = make_account("other")
    setup = methods.begin_setup(other, "card")
    enter_card(localstripe, setup, VISA)
    with pytest.raises(actions.BillingError, match="does not know this card setup"):
        methods.confirm_setup(trialing, "card", setup.token)
    with pytest.raises(actions.BillingError, match="does not know this card setup"):
        methods.confirm_setup(trialing, "card", "seti_madeup")
    assert not PaymentMethod.objects.exists()


def test_a_new_card_replaces_a_declined_one_pays_the_invoice_and_stripe_forgets_the_old(
    trialing, localstripe, committed
):
    declined = add_card(trialing, localstripe, DECLINED_WHEN_CHARGED, committed)
    replacement = add_card(trialing, localstripe, "5555555555554444", committed)
    assert payments.method_in_use(trialing) == replacement
    assert replacement.label == "Visa •••• 4444"
    assert replacement.customer_reference == declined.customer_reference  # one customer
    paid = Payment.objects.get(attempt=2)
    assert (paid.status, paid.method) == ("succeeded", replacement)
    charged = stripe_get(localstripe, f"/v1/payment_intents/{paid.reference}")
    assert charged["payment_method"] == replacement.reference
    assert stripe_get(localstripe, f"/v1/payment_methods/{declined.reference}")[
        "customer"] is None
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_a_refund_goes_back_through_stripe(trialing, localstripe, committed):
    add_card(trialing, localstripe, VISA, committed)
    payment = Payment.objects.get()
    outcome = get_gateway("stripe").refund(payment, 1000, idempotency_key="refund-1",
                                           reason="50 % of unused prepaid credit")
    assert outcome.succeeded and outcome.reference.startswith("re_")
    refund = stripe_get(localstripe, f"/v1/refunds/{outcome.reference}")
    assert (refund["amount"], refund["metadata"]["reason"]) == (
        1000, "50 % of unused prepaid credit")
    charge = stripe_get(localstripe, f"/v1/payment_intents/{payment.reference}")[
        "latest_charge"]
    assert charge["amount_refunded"] == 1000


def test_stripe_out_of_reach_fails_the_attempt_and_keeps_the_invoice_due(
    trialing, localstripe, committed, settings
):
    committed(actions.change_cycle, trialing, "annual")
    add_card(trialing, localstripe, VISA, committed)
    settings.SARUNA_STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens
    committed(actions.set_seats, trialing, 2)  # the rest of the year for a second seat
    failed = Payment.objects.order_by("pk").last()
    assert failed.status == "failed"
    assert failed.failure_message.startswith("Stripe could not take the request")
    assert payments.due_invoices(trialing) == [failed.invoice]
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE
