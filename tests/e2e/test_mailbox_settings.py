"""An administrator connects mailboxes in a real browser: a forwarding address (shown as it is
typed, copied with one click) and an IMAP mailbox whose "Test connection" reports a closed
port in plain words without leaving the page."""

from django_scopes import scope

from saruna.mail.models import Mailbox
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, log_in
from tests.factories import make_account, make_user
from tests.servers import free_port


def test_admin_connects_mailboxes_and_tests_a_connection(asgi_server, new_page):
    account = make_account("acme")
    make_user(account, "anna@acme.test", role="owner")
    page = new_page(**LAPTOP, permissions=["clipboard-read", "clipboard-write"])
    log_in(page, asgi_server, "anna@acme.test")

    page.goto(asgi_server.url("acme", "/settings/"))
    page.get_by_role("link", name="Mailboxes").click()
    page.get_by_role("link", name="Add").click()
    page.get_by_label("Name:", exact=True).fill("Support")
    page.get_by_label("E-mail address").fill("support@acme.example")
    page.get_by_label("Forwarding address").check()
    assert not page.get_by_label("IMAP server").is_visible()  # the other kind's fields hide
    page.get_by_label("Forwarding name").fill("Help")
    forward = page.locator("#forward-address")
    assert forward.text_content() == "help@acme.localhost"
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied.").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == "help@acme.localhost"
    screenshot(page, "mailbox-forwarding")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(asgi_server.url("acme", "/settings/mailboxes/"))
    page.get_by_role("cell", name="Forwarding address").wait_for()
    with scope(account=account):
        assert list(Mailbox.objects.values_list("kind", "forward_local_part")) == [
            ("forward", "help")]

    closed_port = free_port()  # nothing listens on it any more
    page.get_by_role("link", name="Add").click()
    page.get_by_label("IMAP mailbox").check()
    page.get_by_label("IMAP server").fill("127.0.0.1")
    page.get_by_label("IMAP port").fill(str(closed_port))
    page.get_by_label("IMAP security").select_option("none")
    page.get_by_label("IMAP user name").fill("support")
    page.get_by_label("IMAP password").fill("secret")
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Test the IMAP connection").click()
    result = page.locator("#imap-test")
    result.get_by_text(f"refused the connection on port {closed_port}").wait_for()
    assert "no IMAP server listens there" in result.text_content()
    screenshot(page, "mailbox-test-connection")
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.get_by_label("IMAP password").input_value() == "secret"  # nothing re-typed
    with scope(account=account):
        assert Mailbox.objects.count() == 1  # testing saved nothing
