"""PayPal through its REST API, against a local fake of the endpoints Saruna calls (a real
HTTP server): the payer's approval, the vaulted payment token, orders paid with it and
captured at once, declines, idempotent retries, switching methods, refunds."""

import pytest
import requests
from django.core import mail as django_mail

from saruna.billing import actions, methods, payments
from saruna.billing.gateways import get_gateway
from saruna.billing.gateways.base import GatewayError
from saruna.billing.models import Payment, PaymentMethod, Subscription
from tests.billing import paypal_fake
from tests.billing.conftest import CARD, invoices
from tests.factories import make_account

RETURN_URL = "https://acme.saruna.test/account/billing/paypal/return"
CANCEL_URL = "https://acme.saruna.test/account/billing"


@pytest.fixture
def paypal(settings):
    with paypal_fake.PayPalFake() as fake:
        settings.SARUNA_PAYPAL_CLIENT_ID = paypal_fake.CLIENT_ID
        settings.SARUNA_PAYPAL_CLIENT_SECRET = paypal_fake.CLIENT_SECRET
        settings.SARUNA_PAYPAL_API_BASE = fake.url
        yield fake


@pytest.fixture
def trialing(customer, all_inclusive, committed, paypal):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    return customer


def approve(setup, payer="ilze@example.test"):
    """The payer agrees on PayPal's page and is sent back to Saruna."""
    response = requests.get(setup.approve_url, params={"payer": payer},
                            allow_redirects=False, timeout=5)
    assert response.status_code == 302
    return response.headers["Location"]


def add_paypal(account, committed, payer="ilze@example.test"):
    setup = methods.begin_setup(account, "paypal", return_url=RETURN_URL,
                                cancel_url=CANCEL_URL)
    approve(setup, payer)
    return committed(methods.confirm_setup, account, "paypal", setup.token)


def test_an_approved_paypal_account_pays_the_first_invoice(trialing, paypal, committed):
    setup = methods.begin_setup(trialing, "paypal", return_url=RETURN_URL,
                                cancel_url=CANCEL_URL)
    assert (setup.gateway, setup.kind) == ("paypal", "paypal")
    back = approve(setup)
    assert back == (f"{RETURN_URL}?approval_token_id={setup.token}"
                    f"&approval_session_id={setup.token}")

    method = committed(methods.confirm_setup, trialing, "paypal", setup.token)
    assert (method.gateway, method.kind, method.label) == (
        "paypal", "paypal", "PayPal ilze@example.test")
    [invoice] = invoices(trialing)
    [payment] = Payment.objects.all()
    assert (payment.status, payment.amount_cents) == ("succeeded", 4719)
    capture = paypal.captures[payment.reference]
    assert capture["amount"] == {"currency_code": "USD", "value": "47.19"}
    assert (capture["custom_id"], capture["payer"]) == (trialing.pk, "ilze@example.test")
    [order] = [body for verb, path, body in paypal.requests if path == "/v2/checkout/orders"]
    assert order["intent"] == "CAPTURE"
    assert order["payment_source"]["paypal"]["vault_id"] == method.reference
    assert order["purchase_units"][0]["description"] == f"Saruna {invoice.number}"
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_the_owner_receives_a_receipt_for_a_paypal_payment(trialing, paypal, committed):
    add_paypal(trialing, committed)
    [receipt] = django_mail.outbox
    assert "Paid with: PayPal ilze@example.test" in receipt.body


def test_paypal_not_approved_yet_or_of_another_account_is_refused(trialing, paypal):
    setup = methods.begin_setup(trialing, "paypal", return_url=RETURN_URL,
                                cancel_url=CANCEL_URL)
    with pytest.raises(actions.BillingError, match="not been approved yet"):
        methods.confirm_setup(trialing, "paypal", setup.token)
    other = methods.begin_setup(make_account("other"), "paypal", return_url=RETURN_URL,
                                cancel_url=CANCEL_URL)
    approve(other)
    with pytest.raises(actions.BillingError, match="does not know this approval"):
        methods.confirm_setup(trialing, "paypal", other.token)
    with pytest.raises(actions.BillingError, match="does not know this approval"):
        methods.confirm_setup(trialing, "paypal", "MADEUP")
    assert not PaymentMethod.objects.exists()
    assert Subscription.objects.get().status == Subscription.Status.TRIALING


def test_a_declined_paypal_payment_keeps_paypals_reason(trialing, paypal, committed):
    paypal.declining.add("broke@example.test")
    add_paypal(trialing, committed, payer="broke@example.test")
    [payment] = Payment.objects.all()
    assert payment.status == "failed"
    assert payment.failure_message.startswith("The instrument presented was either declined")
    assert Subscription.objects.get().status == Subscription.Status.PAST_DUE


def test_a_retried_request_with_the_same_key_charges_once(trialing, paypal, committed):
    method = add_paypal(trialing, committed)
    gateway = get_gateway("paypal")
    first = gateway.charge(method, 1000, "USD", idempotency_key="saruna-payment-x",
                           description="Saruna INV-X")
    again = gateway.charge(method, 1000, "USD", idempotency_key="saruna-payment-x",
                           description="Saruna INV-X")
    assert first == again and first.succeeded
    assert len(paypal.captures) == 2  # the first invoice's, and this one once


def test_switching_from_a_card_to_paypal_and_to_another_paypal_account(
    trialing, paypal, committed, settings
):
    settings.SARUNA_PAYMENT_GATEWAY = "offline"
    card = committed(methods.confirm_setup, trialing, "card", CARD)
    assert methods.kinds_offered() == ["card", "paypal"]
    first = add_paypal(trialing, committed)
    second = add_paypal(trialing, committed, payer="janis@example.test")
    assert payments.method_in_use(trialing) == second
    assert second.customer_reference == first.customer_reference  # the same PayPal customer
    assert set(PaymentMethod.objects.filter(removed_at__isnull=False)) == {first, card}
    assert first.reference not in paypal.payment_tokens  # PayPal forgot the replaced one
    assert second.reference in paypal.payment_tokens


def test_a_refund_of_part_of_a_capture_and_no_more_than_it(trialing, paypal, committed):
    add_paypal(trialing, committed)
    payment = Payment.objects.get()
    gateway = get_gateway("paypal")
    refund = gateway.refund(payment, 2000, idempotency_key="saruna-refund-1",
                            reason="50 % of unused prepaid credit")
    assert refund.succeeded
    assert paypal.captures[payment.reference]["refunded_cents"] == 2000
    too_much = gateway.refund(payment, 2720, idempotency_key="saruna-refund-2", reason="x")
    assert not too_much.succeeded and "must be less than or equal" in too_much.message


def test_wrong_credentials_are_an_error_that_names_paypal(trialing, paypal, settings):
    settings.SARUNA_PAYPAL_CLIENT_SECRET = "wrong"
    with pytest.raises(actions.BillingError, match="PayPal refused Saruna's credentials"):
        methods.begin_setup(trialing, "paypal", return_url=RETURN_URL, cancel_url=CANCEL_URL)


def test_which_methods_are_offered_follows_the_configuration(settings):
    settings.SARUNA_PAYMENT_GATEWAY = "offline"
    settings.SARUNA_PAYPAL_CLIENT_ID = ""
    assert methods.kinds_offered() == ["card", "paypal"]  # both, moving no money
    settings.SARUNA_PAYMENT_GATEWAY = "stripe"
    settings.SARUNA_STRIPE_SECRET_KEY = "sk_test_x"
    assert methods.kinds_offered() == ["card"]
    settings.SARUNA_PAYPAL_CLIENT_ID = "client"
    assert methods.kinds_offered() == ["card", "paypal"]
    settings.SARUNA_STRIPE_SECRET_KEY = ""
    assert methods.kinds_offered() == ["paypal"]
    with pytest.raises(GatewayError):
        get_gateway("stripe")
