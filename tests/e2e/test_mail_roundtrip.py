"""The e-mail channel as a new account tries it: connect a forwarding mailbox in the browser
(its SMTP connection tested), a customer mails from outside, the agent answers in the inbox,
the answer reaches the customer's mail server, the customer replies to it — one ticket with
three messages, the reply shown live."""

import smtplib
import time
from email.message import EmailMessage
from email.utils import make_msgid

from django_scopes import scope

from saruna.mail.smtpd import ForwardingServer
from saruna.tickets.models import MessageGroup, Ticket
from tests.e2e.conftest import screenshot
from tests.e2e.test_inbox import LAPTOP, log_in
from tests.factories import make_account, make_user
from tests.mail.smtp_sink import smtp_sink_fixture  # noqa: F401  (the customer's mail server)
from tests.servers import free_port

CUSTOMER = "cleo@example.com"


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


def customer_mail(subject: str, body: str, to: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = f"Cleo Customer <{CUSTOMER}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def answer_to_customer(sink, timeout: float = 15):
    """The agent's answer as the customer's server received it (not an acknowledgement)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answers = [r.message for r in sink.received if r.message["Auto-Submitted"] is None]
        if answers:
            return answers[0]
        time.sleep(0.1)
    raise AssertionError(f"no answer arrived; received {len(sink.received)} mails")


def test_mail_in_answer_out_reply_in_one_ticket(asgi_server, new_page, smtp_sink):
    account = make_account("acme")
    make_user(account, "anna@acme.test", role="owner", full_name="Anna Bērziņa")
    smtpd = ForwardingServer("127.0.0.1", free_port())
    smtpd.start()
    try:
        page = new_page(**LAPTOP)
        log_in(page, asgi_server, "anna@acme.test")

        # Connect the mailbox: a forwarding address, answers through "our" SMTP server.
        page.goto(asgi_server.url("acme", "/settings/mailboxes/new/"))
        page.get_by_label("Name:", exact=True).fill("Help")
        page.get_by_label("E-mail address").fill("help@acme.example")
        page.get_by_label("Forwarding address").check()
        page.get_by_label("Forwarding name").fill("help")
        page.get_by_label("SMTP server").fill(smtp_sink.host)
        page.get_by_label("SMTP port").fill(str(smtp_sink.port))
        page.get_by_label("SMTP security").select_option("none")
        page.get_by_role("button", name="Test the SMTP connection").click()
        page.locator(".message-success").get_by_text("Connected.").wait_for()
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(asgi_server.url("acme", "/settings/mailboxes/"))

        # A customer writes from outside.
        send(smtpd.port, customer_mail(
            "Printer on fire", "It started smoking this morning.", "help@acme.localhost"))
        page.goto(asgi_server.url("acme", "/inbox/"))
        row = page.locator("a.subject", has_text="Printer on fire")
        for _ in range(50):  # processing runs after the SMTP server's commit
            if row.count():
                break
            page.wait_for_timeout(200)
            page.reload()
        row.click()
        page.get_by_text("It started smoking this morning.").wait_for()

        editor = page.locator("#reply-editor")
        editor.click()
        editor.press_sequentially("Unplug it and keep the window open.", delay=5)
        page.get_by_role("button", name="Send", exact=True).click()
        page.locator("#ticket-conversation").get_by_text(
            "Unplug it and keep the window open.").wait_for()

        answer = answer_to_customer(smtp_sink)
        with scope(account=account):
            ticket = Ticket.objects.get()
        assert answer["To"].addresses[0].addr_spec == CUSTOMER
        assert answer["Subject"] == f"Re: Printer on fire [#{ticket.code}]"
        assert "Unplug it" in answer.get_body(("plain",)).get_content()

        # The customer answers the mail; it lands on the same ticket, live in the browser.
        send(smtpd.port, customer_mail(
            f"Re: {answer['Subject']}", "Unplugged. The smoke is gone, thank you!",
            answer["Reply-To"], In_Reply_To=answer["Message-ID"],
            References=answer["Message-ID"]))
        page.locator("#ticket-conversation").get_by_text(
            "Unplugged. The smoke is gone").wait_for(timeout=15_000)
        screenshot(page, "mail-roundtrip")
    finally:
        smtpd.stop()

    with scope(account=account):
        assert Ticket.objects.count() == 1
        authors = MessageGroup.objects.filter(ticket=ticket).order_by("pk").values_list(
            "author_contact_id", "author_user_id")
        kinds = ["agent" if user else "customer" if contact else "?" for contact, user in authors]
        assert kinds == ["customer", "agent", "customer"]
