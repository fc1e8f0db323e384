"""Mail to customers, received by a real SMTP server: agent replies with their threading
headers, text and HTML and attachments; retries; DKIM; bounces; the acknowledgement."""

import base64
import email
import email.policy
import shutil
import subprocess
from datetime import timedelta

import dkim
import pytest
import time_machine
from django.core import mail as django_mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.core import outbox
from saruna.mail import sending, tokens
from saruna.mail.models import BouncingAddress, Mailbox, OutgoingMail, Security
from saruna.mail.parser import ParsedMail
from saruna.mail.quotes import REPLY_MARKER
from saruna.mail.sending_tasks import retry_due_outgoing_mail
from saruna.portal.links import ticket_url
from saruna.tickets import actions, inbox_actions
from saruna.tickets.models import GroupType
from tests.factories import make_user
from tests.mail.smtp_sink import (  # noqa: F401  (the fixtures)
    LOGIN,
    smtp_sink_fixture,
    smtp_sink_with_login_fixture,
)
from tests.servers import free_port

FIRST_MAIL_ID = "<first.1@customer.example.com>"
SECOND_MAIL_ID = "<second.2@customer.example.com>"
PDF = b"%PDF-1.4\n% a small file\n"


@pytest.fixture
def scoped(account):
    with scope(account=account):
        yield account


@pytest.fixture
def customer(scoped):
    return contact_actions.create_contact(
        scoped, firstname="Cleo", lastname="Customer", emails=["cleo@example.com"]
    )


@pytest.fixture
def mailbox(scoped, smtp_sink):
    return Mailbox.objects.create(
        account=scoped, name="Support", email="support@acme.test", smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port, smtp_security=Security.NONE,
    )


@pytest.fixture
def mail_ticket(scoped, customer):
    """A ticket the customer opened by mail and wrote to again."""
    ticket = actions.open_ticket(
        scoped, "Printer on fire", "It is on fire.", customer, mail_msg_id=FIRST_MAIL_ID
    )
    actions.add_customer_message(ticket, customer, "Still burning.", mail_msg_id=SECOND_MAIL_ID)
    return ticket


@pytest.fixture
def ann(scoped):
    return make_user(scoped, "ann@acme.test", full_name="Ann Agent")


def reply(ticket, agent, html="<p>Hello <b>Cleo</b>, try water.</p>", **options):
    return inbox_actions.reply(ticket, agent, "", html=html, **options)


def parts(message):
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    return text, html


@pytest.mark.django_db
def test_agent_reply_reaches_the_customer_threaded_with_text_html_and_attachment(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        group = reply(mail_ticket, ann, html=(
            '<p>Hello <b>Cleo</b>, try water.</p><img src="https://acme.test/logo.png" alt="">'
        ), uploads=[SimpleUploadedFile("plan.pdf", PDF, "application/pdf")])

    [received] = smtp_sink.received
    assert received.mail_from == "support@acme.test"
    assert received.rcpt_tos == ["cleo@example.com"]
    message = received.message
    stored = OutgoingMail.objects.get()
    group.refresh_from_db()
    assert message["Message-ID"] == stored.message_id == group.mail_msg_id
    assert message["In-Reply-To"] == SECOND_MAIL_ID
    assert message["References"].split() == [FIRST_MAIL_ID, SECOND_MAIL_ID]
    assert message["Reply-To"] == tokens.reply_address(mail_ticket.account, mail_ticket.public_id)
    assert tokens.tickets_in(mail_ticket.account, [message["Reply-To"]]) == [
        mail_ticket.public_id
    ]
    assert message["Auto-Submitted"] is None
    assert message["From"].addresses[0].display_name == "Ann Agent (Acme)"
    assert message["To"].addresses[0].display_name == "Cleo Customer"
    assert message["Subject"] == f"Re: Printer on fire [#{mail_ticket.code}]"

    text, html = parts(message)
    assert text.startswith(REPLY_MARKER)
    assert "Hello Cleo, try water." in text
    assert "<b>Cleo</b>" in html and REPLY_MARKER in html
    assert '<img src="https://acme.test/logo.png"' in html  # the agent's image loads again
    assert ticket_url(mail_ticket) in text and ticket_url(mail_ticket) in html
    [attachment] = message.iter_attachments()
    assert attachment.get_filename() == "plan.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content() == PDF

    stored.refresh_from_db()
    assert stored.status == OutgoingMail.Status.SENT and stored.attempts == 1


@pytest.mark.django_db
def test_the_next_reply_answers_the_customers_latest_mail_and_references_ours(
    mailbox, mail_ticket, ann, customer, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = reply(mail_ticket, ann)
    actions.add_customer_message(mail_ticket, customer, "Thanks!", mail_msg_id="<third@c.example>")
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann, html="<p>Glad to help.</p>")

    second = smtp_sink.received[1].message
    assert second["In-Reply-To"] == "<third@c.example>"
    assert second["References"].split() == [
        FIRST_MAIL_ID, SECOND_MAIL_ID, first.mail_msg_id, "<third@c.example>"
    ]


@pytest.mark.django_db
def test_a_long_ticket_keeps_references_short_with_the_first_and_latest_mails(
    mailbox, mail_ticket, ann, customer, smtp_sink, django_capture_on_commit_callbacks
):
    for number in range(30):
        actions.add_customer_message(mail_ticket, customer, "More.",
                                     mail_msg_id=f"<more.{number}@c.example>")
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann)

    references = smtp_sink.received[0].message["References"].split()
    assert len(references) == sending.MAX_REFERENCES
    assert references[0] == FIRST_MAIL_ID
    assert references[-1] == "<more.29@c.example>"


@pytest.mark.django_db
@pytest.mark.parametrize("separator", ["\r\n", "\n", "\r", "\u2028", "\x85", "\x00"])
def test_names_and_subjects_with_line_breaks_create_no_headers(
    mailbox, scoped, smtp_sink, separator, django_capture_on_commit_callbacks
):
    if separator == "\x00" and connection.vendor == "postgresql":
        pytest.skip("PostgreSQL stores no NUL characters, so none can reach a header")
    injected = f"{separator}Bcc: evil@attacker.example"
    agent = make_user(scoped, "eve@acme.test", full_name=f"Eve{injected}")
    contact = contact_actions.create_contact(
        scoped, firstname=f"Cleo{injected}", emails=["cleo@example.com"]
    )
    ticket = actions.open_ticket(scoped, f"Help{injected}", "Please.", contact,
                                 mail_msg_id=FIRST_MAIL_ID)
    with django_capture_on_commit_callbacks(execute=True):
        reply(ticket, agent, uploads=[SimpleUploadedFile(f"a{injected}.pdf", PDF)])

    [received] = smtp_sink.received
    assert received.rcpt_tos == ["cleo@example.com"]
    header_lines = received.data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith(b"bcc") for line in header_lines)
    message = received.message
    assert message["Bcc"] is None
    assert message["Subject"] == f"Re: Help Bcc: evil@attacker.example [#{ticket.code}]"
    assert message["From"].addresses[0].display_name == "Eve Bcc: evil@attacker.example (Acme)"
    assert message["To"].addresses[0].addr_spec == "cleo@example.com"
    assert len(message["To"].addresses) == 1


@pytest.mark.django_db
def test_a_busy_server_gets_the_mail_again_after_the_backoff(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse("451 4.3.0 Mailbox busy, try later")
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            reply(mail_ticket, ann)
        stored = OutgoingMail.objects.get()
        assert stored.status == OutgoingMail.Status.PENDING and stored.attempts == 1
        assert "451 4.3.0 Mailbox busy" in stored.last_error
        assert stored.next_attempt_at == timezone.now() + timedelta(minutes=1)
        assert smtp_sink.received == []

        clock.shift(timedelta(seconds=30))
        retry_due_outgoing_mail()
        assert smtp_sink.received == []  # not due yet
        clock.shift(timedelta(seconds=31))
        retry_due_outgoing_mail()

    assert len(smtp_sink.received) == 1
    stored.refresh_from_db()
    assert stored.status == OutgoingMail.Status.SENT
    assert stored.attempts == 2 and stored.last_error == ""


@pytest.mark.django_db
def test_mail_the_server_keeps_refusing_is_dead_with_the_reason_in_words(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse("451 4.3.0 Mailbox busy, try later", times=outbox.MAX_ATTEMPTS + 1)
    with time_machine.travel(timezone.now(), tick=False) as clock:
        with django_capture_on_commit_callbacks(execute=True):
            reply(mail_ticket, ann)
        stored = OutgoingMail.objects.get()
        for attempt in range(2, outbox.MAX_ATTEMPTS + 1):
            clock.shift(outbox.retry_delay(attempt - 1))
            retry_due_outgoing_mail()
            stored.refresh_from_db()
            assert stored.attempts == attempt
        clock.shift(timedelta(days=1))
        retry_due_outgoing_mail()

    stored.refresh_from_db()
    assert stored.status == OutgoingMail.Status.DEAD
    assert stored.attempts == outbox.MAX_ATTEMPTS
    assert stored.last_error == (
        "The server refused the recipient: cleo@example.com 451 4.3.0 Mailbox busy, try later"
    )
    assert smtp_sink.received == []


@pytest.mark.django_db
def test_a_recipient_refused_for_good_is_not_tried_again_until_someone_retries(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    smtp_sink.refuse("550 5.1.1 No such user")
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann)
    stored = OutgoingMail.objects.get()
    assert stored.status == OutgoingMail.Status.DEAD and stored.attempts == 1
    assert "550 5.1.1 No such user" in stored.last_error
    bounce = BouncingAddress.objects.get()
    assert (bounce.email, bounce.bounces) == ("cleo@example.com", 1)
    assert "No such user" in bounce.reason

    with django_capture_on_commit_callbacks(execute=True):
        sending.retry(stored.pk)
    stored.refresh_from_db()
    assert stored.status == OutgoingMail.Status.SENT
    assert len(smtp_sink.received) == 1


@pytest.mark.django_db
def test_mail_is_dkim_signed_with_the_mailboxs_key(
    mailbox, mail_ticket, ann, smtp_sink, tmp_path, django_capture_on_commit_callbacks
):
    if not shutil.which("openssl"):
        pytest.skip("openssl is needed to make a key")
    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", key, "2048"],
                   check=True, capture_output=True)
    public = subprocess.run(["openssl", "rsa", "-in", key, "-pubout", "-outform", "DER"],
                            check=True, capture_output=True).stdout
    mailbox.dkim_selector = "s2026"
    mailbox.dkim_private_key = key.read_text()
    mailbox.save()

    def dns(name, timeout=5):
        assert name == b"s2026._domainkey.acme.test."
        return b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann, uploads=[SimpleUploadedFile("plan.pdf", PDF)])

    signed = smtp_sink.received[0].data
    assert signed.startswith(b"DKIM-Signature:")
    assert dkim.verify(signed, dnsfunc=dns)
    assert not dkim.verify(signed.replace(b"try water", b"try petrol"), dnsfunc=dns)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["note", "chat"])
def test_internal_notes_and_chat_messages_send_no_mail(
    mailbox, mail_ticket, ann, smtp_sink, kind, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        if kind == "note":
            reply(mail_ticket, ann, note=True)
        else:
            actions.add_agent_reply(mail_ticket, ann, "<p>Hi!</p>", group_type=GroupType.CHAT)
    assert not OutgoingMail.objects.exists()
    assert smtp_sink.received == []


@pytest.mark.django_db
@pytest.mark.parametrize(("bounces", "days_ago", "mailed"), [
    (sending.BOUNCES_TO_STOP, 1, False),
    (sending.BOUNCES_TO_STOP - 1, 1, True),
    (sending.BOUNCES_TO_STOP, sending.BOUNCE_MEMORY.days + 1, True),
])
def test_an_address_that_keeps_bouncing_is_not_mailed_and_the_reason_is_kept(
    mailbox, mail_ticket, ann, smtp_sink, bounces, days_ago, mailed,
    django_capture_on_commit_callbacks,
):
    BouncingAddress.objects.create(
        account=mail_ticket.account, email="cleo@example.com", bounces=bounces,
        reason="550 5.1.1 user unknown",
        last_bounce_at=timezone.now() - timedelta(days=days_ago),
    )
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann)

    stored = OutgoingMail.objects.get()
    assert len(smtp_sink.received) == (1 if mailed else 0)
    if not mailed:
        assert stored.status == OutgoingMail.Status.DEAD
        assert stored.last_error.startswith(
            f"Not sent: mail to cleo@example.com bounced {bounces} times in the last 30 days"
            " (550 5.1.1 user unknown)."
        )


@pytest.mark.django_db
def test_without_a_mailbox_the_reply_goes_out_through_the_installation_as_the_account(
    settings, mail_ticket, ann, django_capture_on_commit_callbacks
):
    settings.DEFAULT_FROM_EMAIL = "Saruna <no-reply@saruna.test>"
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann)
    [sent] = django_mail.outbox
    assert sent.recipients() == ["cleo@example.com"]
    message = email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default)
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Ann Agent (Acme)", "no-reply@saruna.test")
    assert message["Reply-To"].endswith("@acme.saruna.test")


@pytest.mark.django_db
def test_a_ticket_an_agent_opens_mails_its_first_message(
    scoped, customer, ann, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.open_ticket(scoped, "Your order", "<p>It shipped today.</p>", customer,
                                     actor=ann, format="H")
    [sent] = django_mail.outbox
    assert sent.recipients() == ["cleo@example.com"]
    message = email.message_from_bytes(sent.message().as_bytes(), policy=email.policy.default)
    assert message["Subject"] == f"Your order [#{ticket.code}]"
    assert "It shipped today." in message.get_body(("plain",)).get_content()
    assert ticket.groups.get().mail_msg_id == OutgoingMail.objects.get().message_id


@pytest.mark.django_db
def test_the_departments_mailbox_sends_its_replies(
    scoped, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    common = {"account": scoped, "smtp_host": smtp_sink.host, "smtp_port": smtp_sink.port,
              "smtp_security": Security.NONE}
    Mailbox.objects.create(name="Sales", email="sales@acme.test", **common)
    Mailbox.objects.create(name="Help", email="help@acme.test",
                           department=mail_ticket.department, **common)
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann)
    assert smtp_sink.received[0].mail_from == "help@acme.test"


@pytest.mark.django_db
def test_a_new_mail_ticket_is_acknowledged_as_an_automatic_answer(
    mailbox, mail_ticket, smtp_sink, django_capture_on_commit_callbacks
):
    parsed = ParsedMail(from_email="cleo@example.com", message_id=FIRST_MAIL_ID,
                        subject="Printer on fire")
    with django_capture_on_commit_callbacks(execute=True):
        sending.send_acknowledgement(mail_ticket, parsed)

    [received] = smtp_sink.received
    message = received.message
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["In-Reply-To"] == FIRST_MAIL_ID
    assert message["Reply-To"] == tokens.reply_address(mail_ticket.account, mail_ticket.public_id)
    assert message["Subject"] == (
        f"We received your message: Printer on fire [#{mail_ticket.code}]"
    )
    text, html = parts(message)
    assert text.startswith(REPLY_MARKER)
    assert f"Your ticket number is {mail_ticket.code}." in text
    assert ticket_url(mail_ticket) in text and ticket_url(mail_ticket) in html
    assert OutgoingMail.objects.get().is_automatic


@pytest.mark.django_db
def test_an_automatic_mail_gets_no_acknowledgement(
    mailbox, mail_ticket, smtp_sink, django_capture_on_commit_callbacks
):
    parsed = ParsedMail(from_email="cleo@example.com", message_id=FIRST_MAIL_ID,
                        is_auto_reply=True)
    with django_capture_on_commit_callbacks(execute=True):
        assert sending.send_acknowledgement(mail_ticket, parsed) is None
    assert smtp_sink.received == []


@pytest.mark.django_db
def test_smtp_test_connection_reports_success_and_problems_in_plain_words(smtp_sink_with_login):
    sink = smtp_sink_with_login
    user, password = LOGIN
    assert sending.test_smtp(sink.host, sink.port, Security.NONE, user, password) is None

    refused = sending.test_smtp(sink.host, sink.port, Security.NONE, user, "wrong")
    assert refused.startswith("The server refused the user name or password (535")

    no_tls = sending.test_smtp(sink.host, sink.port, Security.STARTTLS, user, password)
    assert no_tls.startswith("The server does not offer STARTTLS on this port")

    nothing_there = sending.test_smtp("127.0.0.1", free_port(), Security.NONE, "", "")
    assert nothing_there.startswith("Nothing answers at 127.0.0.1:")


@pytest.mark.django_db
def test_copies_go_to_cc_openly_and_to_bcc_unnamed(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        reply(mail_ticket, ann, cc="boss@customer.example.com, Boss@Customer.example.com",
              bcc="audit@acme.test")
    [received] = smtp_sink.received
    assert sorted(received.rcpt_tos) == [
        "audit@acme.test", "boss@customer.example.com", "cleo@example.com"]
    assert received.message["Cc"] == "boss@customer.example.com"
    assert received.message["Bcc"] is None
    assert b"audit@acme.test" not in received.message.as_bytes()


@pytest.mark.django_db
def test_a_bad_copy_address_refuses_the_reply_and_stores_nothing(mail_ticket, ann):
    groups = mail_ticket.groups.count()
    with pytest.raises(actions.ActionError, match="not an e-mail address"):
        reply(mail_ticket, ann, cc="boss@customer.example.com, not-an-address")
    assert mail_ticket.groups.count() == groups
    assert not OutgoingMail.objects.exists()


@pytest.mark.django_db
def test_without_the_template_the_mail_is_the_reply_alone(
    mailbox, mail_ticket, ann, smtp_sink, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_agent_reply(mail_ticket, ann, "<p>Just this.</p>",
                                mail=actions.mail_options(use_template=False))
    [received] = smtp_sink.received
    text, html = parts(received.message)
    assert text.strip() == "Just this."
    assert REPLY_MARKER not in text and REPLY_MARKER not in html
    assert ticket_url(mail_ticket) not in text
    assert "<p>Just this.</p>" in html
