"""Replacing the card or switching to PayPal on My account, through the views: a card saved
with a Stripe SetupIntent (against localstripe; the test confirms it as Stripe.js would in
the owner's browser), a PayPal account approved on PayPal's page (against the PayPal fake,
end to end through the return URL), switching either way, and nobody but the account's
owner getting anywhere."""

from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
import requests
from django_scopes import scopes_disabled

from saruna.billing import actions
from saruna.billing.models import Payment, PaymentMethod, Subscription
from tests.billing import paypal_fake
from tests.billing.stripe_server import PUBLISHABLE_KEY, localstripe_fixture  # noqa: F401
from tests.billing.test_gateway_stripe import (  # noqa: F401
    DECLINED_WHEN_SAVED,
    VISA,
    enter_card,
    stripe_settings,
)
from tests.factories import make_account, make_user
from tests.tenancy import host_client

PAYPAL_ROUTES = ["/account/payment-method/paypal/", "/account/payment-method/paypal/return/",
                 "/account/payment-method/paypal/cancel/"]
STRIPE = pytest.mark.usefixtures("stripe_settings")  # the Stripe gateway, on localstripe
CARD_ROUTES = ["/account/payment-method/card/", "/account/payment-method/card/confirm/"]


@pytest.fixture
def paypal(settings):
    with paypal_fake.PayPalFake() as fake:
        settings.SARUNA_PAYPAL_CLIENT_ID = paypal_fake.CLIENT_ID
        settings.SARUNA_PAYPAL_CLIENT_SECRET = paypal_fake.CLIENT_SECRET
        settings.SARUNA_PAYPAL_API_BASE = fake.url
        yield fake


@pytest.fixture
def trialing(customer, all_inclusive, committed):
    committed(actions.start_subscription, customer, plan=all_inclusive, seats=1)
    return customer


@pytest.fixture
def owner_page(trialing):
    return host_client(trialing, trialing.owner)


def text(response):
    return " ".join(response.content.decode().split())


def start_card(page):
    """The owner clicks "Add a card": Saruna starts a SetupIntent for the browser."""
    response = page.post("/account/payment-method/card/")
    assert response.status_code == 200
    setup = response.json()
    return SimpleNamespace(token=setup["client_secret"].split("_secret_")[0], **setup)


def add_card(page, localstripe, committed, number=VISA):
    setup = start_card(page)
    enter_card(localstripe, setup, number)  # Stripe.js, in the owner's browser
    return committed(page.post, "/account/payment-method/card/confirm/",
                     {"setup_intent": setup.token})


def add_paypal(page, committed, payer="ilze@example.test"):
    """The owner clicks "Use PayPal instead", agrees on PayPal's page and comes back."""
    to_paypal = page.post("/account/payment-method/paypal/")
    assert to_paypal.status_code == 302
    back = requests.get(to_paypal["Location"], params={"payer": payer},
                        allow_redirects=False, timeout=5)
    assert back.status_code == 302
    url = urlsplit(back.headers["Location"])
    return committed(page.get, f"{url.path}?{url.query}")


def methods_in_use():
    with scopes_disabled():
        return list(PaymentMethod.objects.filter(removed_at__isnull=True)
                    .values_list("label", flat=True))


@STRIPE
def test_a_card_added_through_stripe_ends_the_trial_and_pays(
    owner_page, localstripe, committed
):
    page = text(owner_page.get("/account/"))
    assert "Add a card" in page and "billing/card.js" in page
    assert "Card number" not in page  # no card field of Saruna's own

    setup = start_card(owner_page)
    assert setup.publishable_key == PUBLISHABLE_KEY
    assert setup.script_url == "https://js.stripe.com/v3/"
    enter_card(localstripe, setup, VISA)
    confirmed = committed(owner_page.post, "/account/payment-method/card/confirm/",
                          {"setup_intent": setup.token})
    assert confirmed.json() == {"next": "/account/"}

    page = text(owner_page.get("/account/"))
    assert "Visa •••• 4242 is now the payment method." in page
    assert "In use: Visa •••• 4242" in page and "Replace the card" in page
    [payment] = Payment.objects.all()  # 39.00 + 21 % VAT
    assert (payment.status, payment.amount_cents) == ("succeeded", 4719)
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


@STRIPE
def test_a_card_stripe_declines_is_refused_in_words_and_the_trial_goes_on(
    owner_page, localstripe, committed
):
    response = add_card(owner_page, localstripe, committed, DECLINED_WHEN_SAVED)
    assert response.status_code == 400
    assert response.json() == {"error": "The card has not been confirmed yet."}
    assert methods_in_use() == []
    assert Subscription.objects.get().status == Subscription.Status.TRIALING
    missing = committed(owner_page.post, "/account/payment-method/card/confirm/", {})
    assert missing.status_code == 400


def test_paypal_approved_on_paypals_page_becomes_the_payment_method(
    owner_page, paypal, committed
):
    assert "Pay with PayPal" in text(owner_page.get("/account/"))
    response = add_paypal(owner_page, committed)
    assert response.status_code == 302 and response["Location"] == "/account/"
    page = text(owner_page.get("/account/"))
    assert "PayPal ilze@example.test is now the payment method." in page
    assert "In use: PayPal ilze@example.test" in page
    assert "Use another PayPal account" in page
    [payment] = Payment.objects.all()
    assert (payment.status, payment.amount_cents) == ("succeeded", 4719)
    assert Subscription.objects.get().status == Subscription.Status.ACTIVE


def test_cancelling_on_paypals_page_changes_nothing(owner_page, paypal, committed):
    add_paypal(owner_page, committed)
    owner_page.post("/account/payment-method/paypal/")
    response = owner_page.get("/account/payment-method/paypal/cancel/", follow=True)
    page = text(response)
    assert "PayPal was not set up: the payment method is unchanged." in page
    assert "In use: PayPal ilze@example.test" in page
    # The approval started before the cancel no longer counts.
    assert owner_page.get("/account/payment-method/paypal/return/",
                          {"approval_token_id": "X"}).status_code == 400


@STRIPE
def test_switching_from_a_card_to_paypal_and_back_replaces_the_method_charged(
    owner_page, localstripe, paypal, committed
):
    add_card(owner_page, localstripe, committed)
    page = text(owner_page.get("/account/"))
    assert "Use PayPal instead" in page and "Replace the card" in page

    add_paypal(owner_page, committed)
    assert methods_in_use() == ["PayPal ilze@example.test"]
    page = text(owner_page.get("/account/"))
    assert "In use: PayPal ilze@example.test" in page and "Add a card" in page

    add_card(owner_page, localstripe, committed)
    assert methods_in_use() == ["Visa •••• 4242"]
    assert "In use: Visa •••• 4242" in text(owner_page.get("/account/"))


@STRIPE
def test_another_owner_cannot_confirm_this_accounts_card_or_paypal(
    owner_page, trialing, localstripe, paypal, committed
):
    other = make_account("other")
    other_owner = host_client(other, make_user(other, "owner@other.test", role="owner"))

    card = start_card(owner_page)
    enter_card(localstripe, card, VISA)
    response = committed(other_owner.post, "/account/payment-method/card/confirm/",
                         {"setup_intent": card.token})
    assert response.status_code == 400
    assert response.json() == {"error": "Stripe does not know this card setup."}

    to_paypal = owner_page.post("/account/payment-method/paypal/")
    back = urlsplit(requests.get(to_paypal["Location"], allow_redirects=False,
                                 timeout=5).headers["Location"])
    response = committed(other_owner.get, f"{back.path}?{back.query}")
    assert response.status_code == 400
    assert "This PayPal approval was not started here." in text(response)

    assert methods_in_use() == []
    with scopes_disabled():
        assert set(Subscription.objects.values_list("status", flat=True)) == {"trialing"}


@STRIPE
@pytest.mark.parametrize("role", ["admin", "agent"])
def test_only_the_owner_starts_or_confirms_a_payment_method(
    trialing, role, localstripe, paypal
):
    person = host_client(trialing, make_user(trialing, f"{role}@acme.test", role=role))
    for route in CARD_ROUTES + PAYPAL_ROUTES[:1]:
        assert person.post(route).status_code == 403
    for route in PAYPAL_ROUTES[1:]:
        assert person.get(route).status_code == 403
    assert methods_in_use() == []


def test_without_stripe_or_paypal_their_routes_are_not_there(owner_page):
    page = text(owner_page.get("/account/"))
    assert "Card number" in page  # the offline gateway's test form
    assert "Add a card" not in page and "PayPal instead" not in page
    for route in CARD_ROUTES + PAYPAL_ROUTES[:1]:
        assert owner_page.post(route).status_code == 404
