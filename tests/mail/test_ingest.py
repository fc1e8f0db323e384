"""Inbound mail becomes tickets: stored first, processed once, nothing lost on a crash,
failures kept for replay, our own mail and bounces recognised."""

import datetime as dt
import hashlib

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.contacts.models import Contact
from saruna.mail import ingest, tasks, tokens
from saruna.mail.models import BouncingAddress, InboundMail, Mailbox, OutgoingMail
from saruna.tickets.actions import add_agent_reply, save_department
from saruna.tickets.models import (
    GroupType,
    MessageFormat,
    MessageGroup,
    MessageType,
    StoredFile,
    Ticket,
)

State = InboundMail.State
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def messages_of(ticket):
    return list(
        MessageGroup.objects.filter(ticket=ticket, type=GroupType.INCOMING_EMAIL)
        .values_list("messages__body", flat=True)
    )


def test_a_new_mail_opens_a_ticket_owned_by_its_sender(account, mail_bytes, deliver):
    raw = mail_bytes(sender="Jānis Bērziņš <Janis@Example.com>", subject="Rēķins nav pienācis",
                     text="Labdien, rēķins vēl nav pienācis.", message_id="<m1@example.com>")
    mail = deliver(raw)
    assert mail.state == State.PROCESSED
    with scope(account=account):
        ticket = Ticket.objects.get()
        assert mail.ticket == ticket
        assert ticket.subject == "Rēķins nav pienācis"
        assert ticket.channel_type == "E" and ticket.status == "N"
        assert ticket.owner.system_name == "Jānis Bērziņš"
        assert ticket.owner.emails.get().normalized == "janis@example.com"
        group = ticket.groups.get()
        assert group.type == GroupType.INCOMING_EMAIL and group.author_contact == ticket.owner
        assert group.mail_msg_id == "<m1@example.com>"
        message = group.messages.get()
        assert message.format == MessageFormat.TEXT
        assert message.body.strip() == "Labdien, rēķins vēl nav pienācis."


def test_a_new_ticket_is_acknowledged_and_a_follow_up_or_a_robot_is_not(
    account, mail_bytes, deliver
):
    first = deliver(mail_bytes(subject="Printer on fire", message_id="<m1@example.com>"))
    with scope(account=account):
        [ack] = OutgoingMail.objects.all()
        assert (ack.is_automatic, ack.to, ack.ticket_id) == (
            True, ["customer@example.com"], first.ticket_id)
    deliver(mail_bytes(subject="Re: Printer on fire", in_reply_to="<m1@example.com>"))
    deliver(mail_bytes(sender="robot@example.com", subject="Out of office",
                       headers={"Auto-Submitted": "auto-replied"}))
    with scope(account=account):
        assert Ticket.objects.count() == 2 and OutgoingMail.objects.count() == 1


def test_a_sender_name_longer_than_a_contact_name_is_cut(account, mail_bytes, deliver):
    mail = deliver(mail_bytes(sender=f"{'Very ' * 60}Long <long@example.com>"))
    assert mail.state == State.PROCESSED
    with scope(account=account):
        assert Contact.objects.get().system_name.startswith("Very Very")


def test_a_known_sender_keeps_their_contact(account, mail_bytes, deliver):
    deliver(mail_bytes(sender="Ann <ann@example.com>", subject="First"))
    deliver(mail_bytes(sender="ann@EXAMPLE.com", subject="Second"))
    with scope(account=account):
        assert Contact.objects.count() == 1
        assert Ticket.objects.filter(owner__system_name="Ann").count() == 2


def test_the_mailbox_department_gets_the_ticket(account, mail_bytes, deliver):
    with scope(account=account):
        sales = save_department(account, name="Sales")
        mailbox = Mailbox.objects.create(account=account, name="Sales", department=sales,
                                         email="sales@acme.test", forward_local_part="sales")
    deliver(mail_bytes(), mailbox=mailbox)
    with scope(account=account):
        assert Ticket.objects.get().department == sales


def test_html_mail_keeps_its_html_inline_image_and_attachment(account, mail_bytes, deliver):
    raw = mail_bytes(
        html='<p onclick="x()">See <b>this</b>:</p><img src="cid:shot@example.com">'
             "<script>alert(1)</script>",
        attachments=[("invoice.pdf", b"%PDF-1.4 test", "application/pdf")],
    )
    # The screenshot as a multipart/related part of the HTML, as mail clients send it.
    import email
    import email.policy

    message = email.message_from_bytes(raw, policy=email.policy.default)
    html_part = message.get_body(preferencelist=("html",))
    html_part.add_related(PNG, maintype="image", subtype="png", cid="<shot@example.com>",
                          filename="shot.png")
    deliver(message.as_bytes())
    with scope(account=account):
        ticket = Ticket.objects.get()
        group = ticket.groups.get()
        body = group.messages.get(type=MessageType.MESSAGE)
        assert body.format == MessageFormat.HTML
        assert "<b>this</b>" in body.body
        assert "onclick" not in body.body and "alert" not in body.body
        files = {f.name: f for f in StoredFile.objects.filter(message__group=group)}
        assert set(files) == {"invoice.pdf", "shot.png"}
        assert files["shot.png"].file.read() == PNG
        assert f'src="/files/{files["shot.png"].public_id}/view"' in body.body
        assert files["invoice.pdf"].file.name.startswith(f"{account.pk}/files/")


def test_a_mail_without_text_shows_its_subject(account, mail_bytes, deliver):
    deliver(mail_bytes(subject="Call me back please", text=""))
    with scope(account=account):
        assert messages_of(Ticket.objects.get()) == ["Call me back please"]


def test_attachments_over_the_limit_are_named_in_a_note(account, settings, mail_bytes, deliver):
    settings.SARUNA_MAX_ATTACHMENT_BYTES = 1000
    mail = deliver(mail_bytes(attachments=[("small.txt", b"ok", "text/plain"),
                                           ("huge.bin", b"x" * 5000, "application/octet-stream")]))
    with scope(account=account):
        ticket = Ticket.objects.get()
        assert StoredFile.objects.get().name == "small.txt"
        note = ticket.groups.get(type=GroupType.INTERNAL).messages.get()
        assert "huge.bin" in note.body and f"mail {mail.pk}" in note.body


# --- store first, process once ---------------------------------------------------------------


def test_the_raw_mail_is_stored_before_processing_starts(
    account, mail_bytes, django_capture_on_commit_callbacks
):
    raw = mail_bytes()
    from saruna.mail.receive import store_inbound

    with django_capture_on_commit_callbacks() as queued, scope(account=account):
        mail = store_inbound(account, raw, source=InboundMail.Source.SMTP,
                             envelope_from="customer@example.com",
                             envelope_to=["support@acme.saruna.test"])
    with scope(account=account):
        stored = InboundMail.objects.get()
        assert bytes(stored.raw) == raw and stored.sha256 == hashlib.sha256(raw).hexdigest()
        assert stored.state == State.RECEIVED and not Ticket.objects.exists()
    assert len(queued) == 1
    queued[0]()  # the task the commit queued
    mail.refresh_from_db()
    with scope(account=account):
        assert mail.state == State.PROCESSED and Ticket.objects.count() == 1


def test_processing_twice_adds_the_message_once(account, mail_bytes, deliver):
    mail = deliver(mail_bytes())
    with scope(account=account):
        assert ingest.process(mail.pk) is None
        assert MessageGroup.objects.count() == 1


def test_the_same_mail_delivered_twice_makes_one_message(account, mail_bytes, deliver):
    raw = mail_bytes(message_id="<twice@example.com>")
    first = deliver(raw)
    second = deliver(raw)
    assert second.state == State.DUPLICATE
    assert second.ticket_id == first.ticket_id and second.group_id == first.group_id
    with scope(account=account):
        assert Ticket.objects.count() == 1 and MessageGroup.objects.count() == 1


def test_the_same_message_id_with_other_bytes_is_a_noted_duplicate(account, mail_bytes, deliver):
    first = deliver(mail_bytes(message_id="<same@example.com>"))
    # The copy that came through another mailbox carries another Received header.
    second = deliver(b"Received: from mx2.example.com\r\n" + mail_bytes(
        message_id="<same@example.com>"))
    assert second.state == State.DUPLICATE and second.ticket_id == first.ticket_id
    assert f"mail {first.pk}" in second.error and "different bytes" in second.error


def test_a_stranger_reusing_a_message_id_does_not_suppress_the_mail(
    account, mail_bytes, deliver
):
    deliver(mail_bytes(sender="ann@example.com", message_id="<taken@example.com>"))
    other = deliver(mail_bytes(sender="bob@example.com", message_id="<taken@example.com>",
                               subject="Bob's own question"))
    assert other.state == State.PROCESSED
    with scope(account=account):
        assert other.ticket.subject == "Bob's own question"


def test_a_crash_between_receipt_and_processing_loses_nothing(
    account, mail_bytes, django_capture_on_commit_callbacks
):
    from saruna.mail.receive import store_inbound

    received = timezone.now()
    with time_machine.travel(received, tick=False):
        # The worker dies before it runs the task: the queued callback never runs.
        with django_capture_on_commit_callbacks(), scope(account=account):
            store_inbound(account, mail_bytes(subject="Lost?"), source=InboundMail.Source.SMTP)
        tasks.process_stranded_mail()  # too young: its task may still be in the queue
    with scope(account=account):
        assert InboundMail.objects.get().state == State.RECEIVED
    with time_machine.travel(received + dt.timedelta(minutes=2), tick=False):
        tasks.process_stranded_mail()
    with scope(account=account):
        mail = InboundMail.objects.get()
        assert mail.state == State.PROCESSED and mail.ticket.subject == "Lost?"


def test_the_sweep_works_each_mail_in_its_own_account(
    account, mail_bytes, django_capture_on_commit_callbacks
):
    from saruna.mail.receive import store_inbound
    from tests.factories import make_account

    other = make_account("other")
    for owner in (account, other):
        with django_capture_on_commit_callbacks(), scope(account=owner):
            store_inbound(owner, mail_bytes(subject=f"For {owner.slug}"),
                          source=InboundMail.Source.SMTP)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        tasks.process_stranded_mail()
    for owner in (account, other):
        with scope(account=owner):
            assert [t.subject for t in Ticket.objects.all()] == [f"For {owner.slug}"]
            assert Contact.objects.count() == 1


def test_a_mail_that_keeps_killing_its_worker_is_given_up(
    account, mail_bytes, django_capture_on_commit_callbacks, monkeypatch
):
    from saruna.mail.receive import store_inbound

    with django_capture_on_commit_callbacks(), scope(account=account):
        mail = store_inbound(account, mail_bytes(), source=InboundMail.Source.SMTP)

    def killed(raw):
        raise SystemExit("out of memory")  # not an error the worker survives to record

    monkeypatch.setattr(ingest, "parse", killed)
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2), tick=False):
        for _sweep in range(ingest.MAX_ATTEMPTS - 1):
            with pytest.raises(SystemExit):
                tasks.process_stranded_mail()
        with scope(account=account):
            mail.refresh_from_db()
            assert mail.state == State.RECEIVED  # nothing lost so far
        tasks.process_stranded_mail()
    with scope(account=account):
        mail.refresh_from_db()
        assert mail.state == State.FAILED and "interrupted 5 times" in mail.error
        assert not Ticket.objects.exists()


# --- dead letters and replay -------------------------------------------------------------------


def test_a_mail_the_parser_cannot_read_is_kept_as_failed_and_replays_after_the_fix(
    account, mail_bytes, deliver, monkeypatch
):
    real_parse = ingest.parse

    def broken_parse(raw):
        raise UnicodeDecodeError("koi8-r", raw[:2], 0, 1, "illegal multibyte sequence")

    monkeypatch.setattr(ingest, "parse", broken_parse)
    mail = deliver(mail_bytes(subject="Stuck"))
    assert mail.state == State.FAILED
    assert mail.error.startswith("UnicodeDecodeError: 'koi8-r' codec can't decode")
    assert "in broken_parse" in mail.error
    with scope(account=account):
        assert not Ticket.objects.exists()

    assert "failed again: UnicodeDecodeError" in ingest.replay(mail.pk)
    monkeypatch.setattr(ingest, "parse", real_parse)  # the parser is fixed
    with scope(account=account):
        line = ingest.replay(mail.pk)
        ticket = Ticket.objects.get()
    assert line == f"Mail {mail.pk}: Processed. Ticket {ticket.code}."
    mail.refresh_from_db()
    assert mail.state == State.PROCESSED and mail.error == "" and ticket.subject == "Stuck"
    assert "nothing to replay" in ingest.replay(mail.pk)
    assert ingest.replay(mail.pk + 1000) == f"There is no inbound mail {mail.pk + 1000}."


def test_a_sender_without_an_address_fails_visibly(account, deliver):
    mail = deliver(b"Subject: no sender\r\n\r\nHello\r\n")
    assert mail.state == State.FAILED and "names no sender" in mail.error


# --- our own mail, bounces --------------------------------------------------------------------


def sent_mail(ticket, to="customer@example.com", **fields) -> OutgoingMail:
    """What the sending side records for a mail it sends on ``ticket``."""
    return OutgoingMail.objects.create(
        account=ticket.account, ticket=ticket, to=[to], from_email="support@acme.saruna.test",
        subject=f"Re: {ticket.subject}",
        message_id=fields.pop("message_id", None)
        or tokens.new_message_id(ticket.account, ticket.public_id),
        **fields,
    )


def test_our_own_mail_coming_back_is_ignored(account, agent, mail_bytes, deliver):
    deliver(mail_bytes())
    with scope(account=account):
        ticket = Ticket.objects.get()
        ours = sent_mail(ticket)
        plain = sent_mail(ticket, message_id="<20240101.abc@mailer.acme.test>")
    for message_id in (ours.message_id, plain.message_id):
        echo = deliver(mail_bytes(sender="support@acme.saruna.test", message_id=message_id,
                                  subject=f"Re: {ticket.subject}"))
        assert echo.state == State.IGNORED and echo.ticket is None
    with scope(account=account):
        assert Ticket.objects.count() == 1 and ticket.groups.count() == 1


def delivery_report(mail_bytes, bounced_message_id: str, recipient: str) -> bytes:
    """A delivery status notification (RFC 3464) as Postfix writes it, with the returned
    mail attached."""
    returned = mail_bytes(sender="support@acme.saruna.test", to=recipient,
                          message_id=bounced_message_id).decode()
    return f"""\
From: Mail Delivery System <MAILER-DAEMON@mx.example.org>
To: support@acme.saruna.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <dsn.{hashlib.md5(returned.encode()).hexdigest()}@mx.example.org>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"

--B0UND
Content-Type: text/plain; charset=us-ascii

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--B0UND
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected:
    User unknown

--B0UND
Content-Type: message/rfc822

{returned}
--B0UND--
""".replace("\n", "\r\n").encode()


def test_a_bounce_is_noted_on_its_ticket_and_marks_the_address(
    account, agent, mail_bytes, deliver
):
    deliver(mail_bytes(sender="gone@example.org"))
    with scope(account=account):
        ticket = Ticket.objects.get()
        add_agent_reply(ticket, agent, "We are on it.")
        ours = sent_mail(ticket, to="gone@example.org")
    bounce = deliver(delivery_report(mail_bytes, ours.message_id, "gone@example.org"))
    assert bounce.state == State.PROCESSED and bounce.ticket_id == ticket.pk
    with scope(account=account):
        assert Ticket.objects.count() == 1
        ticket.refresh_from_db()
        assert ticket.status == "A"  # a bounce is not the customer writing
        note = ticket.groups.get(type=GroupType.INTERNAL)
        assert note.author_user is None and note.author_contact is None
        text = note.messages.get().body
        assert "gone@example.org" in text and "User unknown" in text
        bouncing = BouncingAddress.objects.get()
        assert (bouncing.email, bouncing.bounces) == ("gone@example.org", 1)
        assert "550 5.1.1" in bouncing.reason

    deliver(delivery_report(mail_bytes, ours.message_id, "gone@example.org").replace(
        b"Message-ID: <dsn.", b"Message-ID: <dsn.again."))
    with scope(account=account):
        assert BouncingAddress.objects.get().bounces == 2


def test_a_bounce_about_mail_we_never_sent_changes_nothing(account, mail_bytes, deliver):
    report = deliver(delivery_report(mail_bytes, "<someone.else@example.net>",
                                     "victim@example.com"))
    assert report.state == State.PROCESSED and report.ticket is None
    with scope(account=account):
        assert not Ticket.objects.exists() and not BouncingAddress.objects.exists()


@pytest.mark.parametrize("status", ["X", "B"])
def test_a_bounce_on_a_trashed_ticket_still_marks_the_address(
    account, agent, mail_bytes, deliver, status
):
    from saruna.tickets.actions import change_status

    deliver(mail_bytes(sender="gone@example.org"))
    with scope(account=account):
        ticket = Ticket.objects.get()
        ours = sent_mail(ticket, to="gone@example.org")
        change_status(ticket, status, actor=agent)
    bounce = deliver(delivery_report(mail_bytes, ours.message_id, "gone@example.org"))
    assert bounce.state == State.PROCESSED
    with scope(account=account):
        assert BouncingAddress.objects.filter(email="gone@example.org").exists()
        assert not ticket.groups.filter(type=GroupType.INTERNAL).exists()


# --- two workers at once ------------------------------------------------------------------------


def waiting_mail(account, raw: bytes) -> InboundMail:
    """A stored mail whose task has not run yet."""
    from saruna.mail.receive import raw_message_id

    with scope(account=account):
        return InboundMail.objects.create(
            account=account, source=InboundMail.Source.SMTP, raw=raw, size=len(raw),
            sha256=hashlib.sha256(raw).hexdigest(), message_id=raw_message_id(raw),
        )


def in_workers(account, *jobs):
    """Runs each job in its own thread and database connection, as two Huey workers would;
    answers their results in order."""
    import threading

    from django.db import connection

    results: list = [None] * len(jobs)

    def work(index, job):
        try:
            with scope(account=account):
                results[index] = job()
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i, job)) for i, job in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def concurrent_writers():
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: SQLite runs one writer at a time anyway")


@pytest.mark.django_db(transaction=True)
def test_two_workers_on_the_same_mail_process_it_once(
    concurrent_writers, account, mail_bytes, monkeypatch
):
    import threading
    import time

    mail = waiting_mail(account, mail_bytes())
    first_is_parsing = threading.Event()
    real_parse = ingest.parse

    def slow_parse(raw):
        first_is_parsing.set()
        time.sleep(0.3)  # the second worker arrives while the first holds the mail
        return real_parse(raw)

    monkeypatch.setattr(ingest, "parse", slow_parse)

    def second():
        first_is_parsing.wait(5)
        return ingest.process(mail.pk)

    results = in_workers(account, lambda: ingest.process(mail.pk), second)
    assert sorted(results, key=str) == [None, State.PROCESSED]
    with scope(account=account):
        assert Ticket.objects.count() == 1 and MessageGroup.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_copies_processed_at_once_make_one_ticket(
    concurrent_writers, account, mail_bytes, monkeypatch
):
    import threading

    raw = mail_bytes(message_id="<copy@example.com>")
    copies = [waiting_mail(account, raw), waiting_mail(account, b"Received: by mx2\r\n" + raw)]
    both_parsed = threading.Barrier(2, timeout=5)
    real_parse = ingest.parse

    def parse_together(raw):
        parsed = real_parse(raw)
        both_parsed.wait()  # neither has written anything when both look for the other
        return parsed

    monkeypatch.setattr(ingest, "parse", parse_together)
    results = in_workers(account, *(lambda pk=m.pk: ingest.process(pk) for m in copies))
    assert sorted(results) == [State.DUPLICATE, State.PROCESSED]
    with scope(account=account):
        assert Ticket.objects.count() == 1 and MessageGroup.objects.count() == 1
