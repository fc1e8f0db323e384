"""Replacing the card or switching to PayPal (issue 8, point 7), in a real browser: during the
trial the owner adds a card in Stripe's own card element (Stripe.js as localstripe serves it,
talking to localstripe straight from the browser), sees a declined card refused in words on
the same page, then switches to PayPal through PayPal's approval page (the PayPal fake) and
back to a card.

localstripe's Stripe.js draws plain inputs instead of Stripe's iframes and confirms the
SetupIntent with fetch(), so headless Chromium drives it like any form."""

import re

import pytest
from django_scopes import scope

from saruna.billing import actions
from saruna.core.models import Plan
from tests.billing import paypal_fake
from tests.billing.stripe_server import (  # noqa: F401
    PUBLISHABLE_KEY,
    SECRET_KEY,
    localstripe_fixture,
    require_localstripe,
)
from tests.billing.test_lifetime_codes import restore_the_catalogue
from tests.e2e.test_billing import invoices_cleared_before_the_flush  # noqa: F401
from tests.e2e.test_inbox import log_in
from tests.factories import make_account, make_user

require_localstripe()


@pytest.fixture
def gateways(settings, localstripe):
    """Cards at Stripe (localstripe), PayPal accounts at PayPal (the fake)."""
    settings.SARUNA_PAYMENT_GATEWAY = "stripe"
    settings.SARUNA_STRIPE_SECRET_KEY = SECRET_KEY
    settings.SARUNA_STRIPE_PUBLISHABLE_KEY = PUBLISHABLE_KEY
    settings.SARUNA_STRIPE_API_BASE = localstripe
    settings.SARUNA_STRIPE_JS_URL = f"{localstripe}/js.stripe.com/v3/"
    with paypal_fake.PayPalFake() as fake:
        settings.SARUNA_PAYPAL_CLIENT_ID = paypal_fake.CLIENT_ID
        settings.SARUNA_PAYPAL_CLIENT_SECRET = paypal_fake.CLIENT_SECRET
        settings.SARUNA_PAYPAL_API_BASE = fake.url
        yield fake


def enter_card(page, number):
    """Types into the card element Stripe.js mounted (localstripe's: one input per field)."""
    page.get_by_placeholder("number").fill(number)
    page.get_by_placeholder("exp_month").fill("12")
    page.get_by_placeholder("exp_year").fill("30")
    page.get_by_placeholder("cvc").fill("123")
    page.get_by_placeholder("postal_code").fill("1010")
    page.get_by_role("button", name="Save the card").click()


def test_the_owner_adds_a_card_with_stripe_and_switches_to_paypal_and_back(
    asgi_server, new_page, gateways, invoices_cleared_before_the_flush  # noqa: F811
):
    restore_the_catalogue()
    account = make_account("acme")
    make_user(account, "anna@acme.test", role="owner", full_name="Anna Bērziņa")
    with scope(account=account):
        actions.start_subscription(account, plan=Plan.objects.get(code="all-inclusive"),
                                   seats=1)

    page = new_page()
    log_in(page, asgi_server, "anna@acme.test")
    page.goto(asgi_server.url("acme", "/account/"))

    # A card the bank refuses: the reason shows on the page, which keeps the card form.
    page.get_by_role("button", name="Add a card").click()
    enter_card(page, "4000000000000002")
    page.get_by_role("alert").get_by_text("Your card was declined.").wait_for()
    assert page.url == asgi_server.url("acme", "/account/")
    assert page.get_by_placeholder("number").is_visible()

    # A good card in a fresh setup ends the trial; the first month is invoiced and paid.
    page.reload()
    page.get_by_role("button", name="Add a card").click()
    enter_card(page, "4242424242424242")
    page.get_by_text("Visa •••• 4242 is now the payment method.").wait_for()
    assert page.get_by_text("In use: Visa •••• 4242").is_visible()
    assert "Paid" in page.get_by_role("row", name=re.compile("Visa •••• 4242")).inner_text()

    # PayPal instead: PayPal's approval page sends the owner back to My account.
    page.get_by_role("button", name="Use PayPal instead").click()
    page.get_by_text("PayPal payer@example.test is now the payment method.").wait_for()
    assert page.get_by_text("In use: PayPal payer@example.test").is_visible()

    # And back to a card (Stripe's Visa debit test card).
    page.get_by_role("button", name="Add a card").click()
    enter_card(page, "4000056655665556")
    page.get_by_text("Visa •••• 5556 is now the payment method.").wait_for()
    assert page.get_by_text("In use: Visa •••• 5556").is_visible()
