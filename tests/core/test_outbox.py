"""The outbox: mail is stored first, delivered after commit, retried with backoff, and kept
as a dead letter when it cannot be delivered."""

import socket
from datetime import timedelta
from email import message_from_bytes
from email import policy as email_policy

import pytest
import time_machine
from django.core import mail as django_mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import transaction
from django.template import TemplateSyntaxError
from django.utils import timezone

from saruna.core import outbox
from saruna.core.models import OutboundEmail
from saruna.core.tasks import retry_due_email
from tests.factories import make_user
from tests.tenancy import host_client

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def mail_templates(settings, tmp_path):
    """A template directory of our own, so these tests do not depend on any app's mail."""
    (tmp_path / "t_subject.txt").write_text("Hello {{ name }}\n")
    (tmp_path / "t_body.txt").write_text("Dear {{ name }}, this is the text part.")
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [tmp_path]},
    ]
    return tmp_path


@pytest.fixture
def smtp_down(settings):
    """SMTP to a port on 127.0.0.1 where nothing listens: a real connection failure."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 2
    return settings


def stored(**fields):
    return OutboundEmail.objects.create(
        to=["customer@example.test"], subject="Your ticket", body_text="Hello", **fields
    )


@pytest.mark.django_db
def test_queued_mail_is_delivered_once_the_transaction_commits(
    mail_templates, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        mail = outbox.queue_email("ann@example.test", "t", {"name": "Ann"})
        assert django_mail.outbox == []  # nothing leaves before the commit
    assert len(django_mail.outbox) == 1
    sent = django_mail.outbox[0]
    assert sent.subject == "Hello Ann"
    assert sent.to == ["ann@example.test"]
    assert "Dear Ann" in sent.body
    mail.refresh_from_db()
    assert mail.status == OutboundEmail.Status.SENT and mail.sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_mail_of_a_rolled_back_transaction_is_never_sent(mail_templates):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.queue_email("ann@example.test", "t", {"name": "Ann"})
        raise RuntimeError
    assert django_mail.outbox == []
    assert not OutboundEmail.objects.exists()


@pytest.mark.django_db
def test_an_attachment_arrives_byte_for_byte_even_after_a_failed_attempt(
    mail_templates, smtp_down
):
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40  # binary, as a real PDF is
    mail = outbox.queue_email("ann@example.test", "t", {"name": "Ann"}, attachments=[
        outbox.Attachment("INV-2026-000001.pdf", pdf, "application/pdf")])
    outbox.deliver(mail.pk)
    assert OutboundEmail.objects.get(pk=mail.pk).attempts == 1  # the SMTP server was down

    smtp_down.EMAIL_BACKEND = LOCMEM
    OutboundEmail.objects.filter(pk=mail.pk).update(next_attempt_at=timezone.now())
    outbox.deliver(mail.pk)
    [sent] = django_mail.outbox
    received = message_from_bytes(sent.message().as_bytes(), policy=email_policy.default)
    assert received.get_body(("plain",)).get_content().startswith("Dear Ann")
    [part] = list(received.iter_attachments())
    assert part.get_filename() == "INV-2026-000001.pdf"
    assert part.get_content_type() == "application/pdf"
    assert part.get_content() == pdf


@pytest.mark.django_db
def test_html_part_is_optional_but_a_broken_one_is_an_error(mail_templates):
    mail = outbox.queue_email("ann@example.test", "t", {"name": "Ann"})
    assert mail.body_html == ""
    for name in ("good", "broken"):
        (mail_templates / f"{name}_subject.txt").write_text("Hello")
        (mail_templates / f"{name}_body.txt").write_text("Hello")
    (mail_templates / "good_body.html").write_text("<p>Dear {{ name }}</p>")
    (mail_templates / "broken_body.html").write_text("<p>{% if %}</p>")
    mail = outbox.queue_email("ann@example.test", "good", {"name": "Ann"})
    assert mail.body_html == "<p>Dear Ann</p>"
    with pytest.raises(TemplateSyntaxError):
        outbox.queue_email("ann@example.test", "broken", {"name": "Ann"})


@pytest.mark.django_db
def test_smtp_failure_keeps_mail_pending_and_the_periodic_task_resends_it_when_due(smtp_down):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        mail = stored()
        outbox.deliver(mail.pk)
        mail.refresh_from_db()
        assert mail.status == OutboundEmail.Status.PENDING
        assert mail.attempts == 1
        assert "ConnectionRefused" in mail.last_error
        assert mail.next_attempt_at == timezone.now() + timedelta(minutes=1)

        smtp_down.EMAIL_BACKEND = LOCMEM  # the server is back
        clock.shift(timedelta(seconds=30))
        retry_due_email()
        assert django_mail.outbox == []  # not due yet
        clock.shift(timedelta(seconds=31))
        retry_due_email()
    assert len(django_mail.outbox) == 1
    mail.refresh_from_db()
    assert mail.status == OutboundEmail.Status.SENT
    assert mail.attempts == 2
    assert mail.last_error == ""


@pytest.mark.django_db
def test_mail_that_keeps_failing_is_dead_with_its_error_kept(smtp_down):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        mail = stored()
        for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
            if attempt > 1:
                clock.shift(outbox.retry_delay(attempt - 1))
            retry_due_email()
            mail.refresh_from_db()
            assert mail.attempts == attempt
        assert mail.status == OutboundEmail.Status.DEAD
        assert "ConnectionRefused" in mail.last_error
        # The whole schedule takes a little over two hours.
        assert timedelta(hours=2) < timezone.now() - start < timedelta(hours=3)

        clock.shift(timedelta(days=1))
        smtp_down.EMAIL_BACKEND = LOCMEM
        retry_due_email()
    mail.refresh_from_db()
    assert mail.attempts == outbox.MAX_ATTEMPTS
    assert django_mail.outbox == []


class SecondWorkerBackend(LocmemBackend):
    """While one delivery is sending, a second worker tries the same mail."""

    def send_messages(self, messages):
        for mail_id in OutboundEmail.objects.values_list("pk", flat=True):
            outbox.deliver(mail_id)
        return super().send_messages(messages)


@pytest.mark.django_db
def test_delivering_twice_never_sends_twice(settings):
    mail = stored()
    outbox.deliver(mail.pk)
    outbox.deliver(mail.pk)
    retry_due_email()
    assert len(django_mail.outbox) == 1

    settings.EMAIL_BACKEND = f"{__name__}.SecondWorkerBackend"
    other = stored()
    outbox.deliver(other.pk)
    assert len(django_mail.outbox) == 2
    other.refresh_from_db()
    assert other.attempts == 1 and other.status == OutboundEmail.Status.SENT


@pytest.mark.django_db
def test_a_backlog_is_worked_oldest_first():
    now = timezone.now()
    oldest = stored(created_at=now - timedelta(days=1), next_attempt_at=now - timedelta(days=1))
    OutboundEmail.objects.bulk_create(
        OutboundEmail(to=["x@example.test"], subject="Newer", body_text=".", next_attempt_at=now)
        for _ in range(500)
    )
    assert outbox.due_mail_ids()[0] == oldest.pk


@pytest.mark.django_db
def test_admin_retry_now_resends_a_dead_letter(django_capture_on_commit_callbacks):
    dead = stored(
        status=OutboundEmail.Status.DEAD, attempts=outbox.MAX_ATTEMPTS,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused",
        next_attempt_at=timezone.now() - timedelta(days=1),
    )
    sent = stored(status=OutboundEmail.Status.SENT, sent_at=timezone.now())
    staff = host_client(None, make_user(None, "staff@provider.test"))

    dead_letters = staff.get("/admin/core/outboundemail/", {"status__exact": "dead"})
    assert b"Connection refused" in dead_letters.content
    assert f'value="{dead.pk}"'.encode() in dead_letters.content
    assert f'value="{sent.pk}"'.encode() not in dead_letters.content

    with django_capture_on_commit_callbacks(execute=True):
        response = staff.post(
            "/admin/core/outboundemail/",
            {"action": "retry_now", "_selected_action": [dead.pk, sent.pk]},
        )
    assert response.status_code == 302
    assert len(django_mail.outbox) == 1  # the dead one; the sent one is not sent again
    dead.refresh_from_db()
    assert dead.status == OutboundEmail.Status.SENT


@pytest.mark.django_db
def test_account_mail_shows_no_content_in_the_admin(account):
    mail = stored(account=account)
    staff = host_client(None, make_user(None, "staff@provider.test"))
    response = staff.get("/admin/core/outboundemail/")
    assert b"@example.test" in response.content
    assert b"customer@example.test" not in response.content
    assert b"Your ticket" not in response.content
    assert staff.get(f"/admin/core/outboundemail/{mail.pk}/change/").status_code == 403
