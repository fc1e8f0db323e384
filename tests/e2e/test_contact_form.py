"""A visitor sends a contact form in a real browser: on its hosted page, and embedded with the
script tag in someone else's page (opened from a file, so a different origin)."""

import re

from django.core import mail
from django_scopes import scope

from saruna.tickets.models import ChannelType, Ticket
from tests.contactforms.helpers import make_form
from tests.e2e.conftest import screenshot
from tests.factories import make_account


def fill(page, email, message):
    page.get_by_label("Your name").fill("Vera Visitor")
    page.get_by_label("Your e-mail").fill(email)
    page.get_by_label("Subject").fill("Where is my order?")
    page.get_by_label("Plan").select_option("Pro")
    page.get_by_label("Newsletter").check()
    page.get_by_label("Message").fill(message)


def test_hosted_page_and_embedded_form_open_tickets(asgi_server, new_page, settings, tmp_path):
    settings.SARUNA_SIGNUP_MIN_SECONDS = 0
    account = make_account("acme")
    contact_form = make_form(account)

    hosted = new_page()
    hosted.goto(asgi_server.url("acme", f"/f/{contact_form.public_id}/"))
    fill(hosted, "vera@example.com", "Ordered last week, nothing arrived.")
    screenshot(hosted, "contact-form-hosted")
    hosted.get_by_role("button", name="Send").click()
    hosted.get_by_role("status").get_by_text("we answer within a day").wait_for()

    embed = tmp_path / "shop.html"
    embed.write_text(
        "<!doctype html><html><head><title>Shop</title>"
        "<style>form, input, label { display: none !important; color: red; }</style></head>"
        "<body><h1>Our shop</h1>"
        f'<script src="{asgi_server.url("acme", f"/f/{contact_form.public_id}/embed.js")}"'
        " async></script></body></html>"
    )
    shop = new_page()
    shop.goto(embed.as_uri())
    # The page's CSS hides every form and input; the shadow root keeps ours visible.
    shop.get_by_label("Your e-mail").wait_for(state="visible")
    fill(shop, "not-an-address@", "Second message from the shop page.")
    shop.get_by_label("Your e-mail").evaluate("el => el.type = 'text'")  # past the browser's check
    shop.get_by_role("button", name="Send").click()
    # The server's error is shown at its field and named by it.
    shop.get_by_text("Enter a valid email address.").wait_for()
    assert shop.get_by_label("Your e-mail").get_attribute("aria-invalid") == "true"
    screenshot(shop, "contact-form-embedded")
    shop.get_by_label("Your e-mail").fill("vera@example.com")
    shop.get_by_role("button", name="Send").click()
    shop.get_by_role("status").get_by_text("we answer within a day").wait_for()

    with scope(account=account):
        tickets = list(Ticket.objects.order_by("date_created"))
        assert [t.subject for t in tickets] == ["Where is my order?"] * 2
        assert {t.channel_type for t in tickets} == {ChannelType.CONTACT_FORM}
        assert tickets[0].owner == tickets[1].owner
        assert "Second message" in tickets[1].groups.get().messages.get().text
    assert len(mail.outbox) == 2
    assert re.search(rf"/portal/t/{tickets[1].public_access_urlcode}/", mail.outbox[1].body)
