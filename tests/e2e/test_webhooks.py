"""An owner connects a webhook and makes an API key in a real browser: the test event reaches
a real receiver and shows in the delivery log; the key, shown once, answers the API until it
is revoked."""

import json
import re
import urllib.error
import urllib.request

from django_scopes import scope

from saruna.webhooks.models import Webhook
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, log_in
from tests.factories import make_account, make_user
from tests.webhooks.conftest import on_premise, receiver  # noqa: F401 (fixtures)


def ping(server, key: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}/api/v3/ping",
        headers={"Host": f"acme.localhost:{server.port}", "apikey": key})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_owner_connects_a_webhook_and_makes_an_api_key(
    asgi_server, new_page, receiver, on_premise  # noqa: F811
):
    account = make_account("acme")
    make_user(account, "anna@acme.test", role="owner")
    page = new_page(**LAPTOP)
    log_in(page, asgi_server, "anna@acme.test")

    page.goto(asgi_server.url("acme", "/settings/"))
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Add").click()
    page.get_by_label("URL").fill(receiver.url())
    page.get_by_label("Ticket created").check()
    page.get_by_label("Chat started").check()
    page.get_by_label("Description").fill("CRM sync")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Webhook added.").wait_for()
    with scope(account=account):
        webhook = Webhook.objects.get()
    assert webhook.events == ["ticket.created", "chat.started"]
    page.get_by_text("Show the secret").click()
    assert page.locator("#webhook-secret").text_content() == webhook.secret

    page.get_by_role("button", name="Send a test event").click()
    page.get_by_text("The test event was delivered (HTTP 200).").wait_for()
    page.get_by_role("cell", name="HTTP 200").wait_for()
    screenshot(page, "webhook-delivery-log")
    (received,) = receiver.requests
    assert json.loads(received.body)["event"] == "ping"

    page.goto(asgi_server.url("acme", "/settings/"))
    page.get_by_role("link", name="API keys").click()
    page.get_by_role("link", name="Add").click()
    page.get_by_label("Name").fill("Reporting")
    page.get_by_label("Read only").check()
    page.get_by_role("button", name="Create key").click()
    key = page.locator("#new-api-key").text_content()
    assert re.fullmatch(r"[a-z0-9]{32}", key)
    assert ping(asgi_server, key) == 200
    page.get_by_role("link", name="Done").click()
    row = page.locator("tr", has_text="Reporting")
    assert f"****{key[-4:]}" in row.text_content() and "Read only" in row.text_content()
    assert key not in page.content()
    row.get_by_role("link", name="Revoke…").click()
    page.get_by_role("button", name="Revoke").click()
    page.get_by_text("it no longer works").wait_for()
    assert ping(asgi_server, key) == 401
