"""Fetching mail from a real IMAP server (Dovecot): stored first, marked on the server after."""

import socket
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from imapclient import DELETED, SEEN, IMAPClient

from saruna.mail import imap
from saruna.mail.imap_tasks import poll_imap_mailboxes
from saruna.mail.models import InboundMail, Mailbox, Security
from tests.mail.dovecot import Dovecot, dovecot_fixture, require_dovecot  # noqa: F401

require_dovecot()


def crlf(raw: bytes) -> bytes:
    """As it travels over IMAP, so the stored bytes can be compared with it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@pytest.fixture
def new_mail(mail_bytes):
    def build(subject: str = "Printer is broken", **fields) -> bytes:
        return crlf(mail_bytes(subject=subject, **fields))

    return build


@pytest.fixture
def mailbox(account, dovecot: Dovecot) -> Mailbox:
    with scope(account=account):
        return Mailbox.objects.create(
            account=account, name="Support", email="support@acme.test",
            kind=Mailbox.Kind.IMAP, imap_host=dovecot.host, imap_port=dovecot.port,
            imap_security=Security.NONE, imap_username=dovecot.username,
            imap_password=dovecot.password,
        )


def configure(mailbox: Mailbox, **fields) -> None:
    for name, value in fields.items():
        setattr(mailbox, name, value)
    mailbox.save()


def fetch(mailbox: Mailbox) -> int:
    with scope(account=mailbox.account):
        return imap.fetch_mailbox(mailbox)


def stored(account) -> list[InboundMail]:
    with scopes_disabled():
        return list(InboundMail.objects.filter(account=account).order_by("pk"))


def test_fetch_stores_each_new_mail_and_then_marks_it_read(account, dovecot, mailbox,
                                                           new_mail):
    first, second = new_mail("First"), new_mail("Second")
    dovecot.deliver(first)
    dovecot.deliver(second)

    assert fetch(mailbox) == 2

    rows = stored(account)
    assert [row.raw for row in rows] == [first, second]
    assert {row.source for row in rows} == {InboundMail.Source.IMAP}
    assert {row.mailbox_id for row in rows} == {mailbox.pk}
    assert all(SEEN in flags for flags in dovecot.messages().values())
    mailbox.refresh_from_db()
    assert mailbox.last_checked_at is not None
    assert mailbox.last_error == ""


def test_a_second_check_fetches_only_what_arrived_since(account, dovecot, mailbox, new_mail):
    dovecot.deliver(new_mail("First"))
    fetch(mailbox)

    assert fetch(mailbox) == 0
    dovecot.deliver(new_mail("Second"))
    # Read in someone's mail client before we got to it: still new to us.
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.add_flags(client.search(["ALL"]), [SEEN])
    assert fetch(mailbox) == 1

    assert [b"Subject: Second" in row.raw for row in stored(account)] == [False, True]


def test_the_first_check_takes_the_unread_mail_not_the_history(account, dovecot, mailbox,
                                                               new_mail):
    with dovecot.client() as client:
        client.append("INBOX", new_mail("Old, read long ago"), flags=[SEEN])
    dovecot.deliver(new_mail("Unread"))

    assert fetch(mailbox) == 1

    assert b"Subject: Unread" in stored(account)[0].raw
    assert fetch(mailbox) == 0


def test_mail_stays_unread_when_storing_fails(account, dovecot, mailbox, new_mail,
                                              monkeypatch):
    dovecot.deliver(new_mail())

    def database_down(*args, **kwargs):
        raise RuntimeError("database is gone")

    monkeypatch.setattr(imap, "store_inbound", database_down)
    with pytest.raises(RuntimeError):
        fetch(mailbox)

    assert [SEEN in flags for flags in dovecot.messages().values()] == [False]
    monkeypatch.undo()
    assert fetch(mailbox) == 1


@pytest.mark.django_db(transaction=True)
def test_a_crash_between_storing_and_marking_fetches_again_and_processing_drops_the_copy(
    account, dovecot, mailbox, new_mail, monkeypatch
):
    raw = new_mail()
    dovecot.deliver(raw)

    def crash(*args, **kwargs):
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(IMAPClient, "add_flags", crash)
        with pytest.raises(RuntimeError):
            fetch(mailbox)
    assert [row.raw for row in stored(account)] == [raw]

    assert fetch(mailbox) == 1

    rows = stored(account)
    assert [row.raw for row in rows] == [raw, raw]
    assert [row.state for row in rows] == [InboundMail.State.PROCESSED,
                                           InboundMail.State.DUPLICATE]
    assert rows[1].ticket_id == rows[0].ticket_id is not None
    assert [SEEN in flags for flags in dovecot.messages().values()] == [True]


def test_a_renumbered_folder_is_read_again_from_its_unread_mail(account, dovecot, mailbox,
                                                                new_mail):
    dovecot.deliver(new_mail())
    # What we remember belongs to an earlier numbering of the folder.
    configure(mailbox, imap_uidvalidity=1, imap_last_uid=999)

    assert fetch(mailbox) == 1
    mailbox.refresh_from_db()
    assert mailbox.imap_uidvalidity != 1
    assert fetch(mailbox) == 0


def test_processed_mail_moves_to_the_chosen_folder(account, dovecot, mailbox, new_mail):
    configure(mailbox, processed_action=Mailbox.Processed.MOVE, processed_folder="Processed")
    dovecot.deliver(new_mail())

    assert fetch(mailbox) == 1

    assert dovecot.messages("INBOX") == {}
    assert [SEEN in flags for flags in dovecot.messages("Processed").values()] == [True]
    assert len(stored(account)) == 1


def test_without_move_the_copy_is_made_first_and_only_that_mail_expunged(
    account, dovecot, mailbox, new_mail, monkeypatch
):
    configure(mailbox, processed_action=Mailbox.Processed.MOVE, processed_folder="Processed")
    # Someone deleted this one in their client; expunging it is their client's business.
    with dovecot.client() as client:
        client.append("INBOX", new_mail("Deleted by its owner"), flags=[SEEN, DELETED])
    dovecot.deliver(new_mail("New"))
    real = IMAPClient.has_capability
    monkeypatch.setattr(IMAPClient, "has_capability",
                        lambda client, name: name != "MOVE" and real(client, name))

    assert fetch(mailbox) == 1

    assert [DELETED in flags for flags in dovecot.messages("INBOX").values()] == [True]
    assert len(dovecot.messages("Processed")) == 1
    assert b"Subject: New" in stored(account)[0].raw


def test_a_mail_over_the_size_limit_is_left_unread_and_the_mailbox_says_so(
    account, dovecot, mailbox, new_mail, settings
):
    settings.SARUNA_MAIL_MAX_BYTES = 4096
    big = dovecot.deliver(new_mail("Scans", attachments=[("scan.pdf", b"%" * 8000,
                                                          "application/pdf")]))
    dovecot.deliver(new_mail("Small"))

    assert fetch(mailbox) == 1

    assert b"Subject: Small" in stored(account)[0].raw
    assert SEEN not in dovecot.messages()[big]
    mailbox.refresh_from_db()
    assert "1 unread mail in “INBOX” is larger than" in mailbox.last_error
    # Still said on the next check, until someone has dealt with the mail.
    assert fetch(mailbox) == 0
    mailbox.refresh_from_db()
    assert "larger than" in mailbox.last_error
    with dovecot.client() as client:
        client.select_folder("INBOX")
        client.add_flags([big], [SEEN])
    fetch(mailbox)
    mailbox.refresh_from_db()
    assert mailbox.last_error == ""


def test_a_failed_check_is_noted_on_the_mailbox_in_plain_words(account, dovecot, mailbox):
    configure(mailbox, imap_password="wrong")

    assert fetch(mailbox) == 0

    mailbox.refresh_from_db()
    assert mailbox.last_error == ("The server refused the user name or password: "
                                  "Authentication failed.")
    assert mailbox.last_checked_at is not None


def check(dovecot: Dovecot, **changes) -> str | None:
    settings = {"host": dovecot.host, "port": dovecot.port, "security": Security.NONE,
                "username": dovecot.username, "password": dovecot.password,
                "folder": "INBOX", **changes}
    return imap.test_connection(**settings)


def test_connection_check_succeeds_with_the_right_settings(dovecot, monkeypatch):
    assert check(dovecot) is None
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.certificate))  # trust our own test CA
    assert check(dovecot, security=Security.STARTTLS) is None
    assert check(dovecot, port=dovecot.ssl_port, security=Security.SSL) is None


def test_connection_check_explains_what_is_wrong(dovecot):
    assert check(dovecot, folder="Archive") == (
        "The folder “Archive” does not exist on the server.")
    with socket.socket() as not_listening:
        not_listening.bind(("127.0.0.1", 0))
        port = not_listening.getsockname()[1]
        assert check(dovecot, port=port) == (
            f"127.0.0.1 refused the connection on port {port}: no IMAP server listens there.")
    assert check(dovecot, host="no-such-host.invalid") == (
        "The server name “no-such-host.invalid” could not be found.")
    assert check(dovecot, port=dovecot.ssl_port, security=Security.SSL).startswith(
        "The server's certificate is not trusted: self-signed certificate")
    # Last: after a failed login Dovecot makes further logins from the same address wait.
    assert check(dovecot, password="wrong") == (
        "The server refused the user name or password: Authentication failed.")


@pytest.mark.django_db(transaction=True)
def test_idle_fetches_new_mail_as_soon_as_it_arrives(account, dovecot, mailbox, new_mail):
    # An hour between checks: only IDLE can explain mail arriving within seconds.
    configure(mailbox, poll_seconds=3600)
    stop = threading.Event()
    watcher = threading.Thread(target=imap.watch_mailbox,
                               args=(account.pk, mailbox.pk, stop), daemon=True)
    watcher.start()
    try:
        _wait_for(lambda: _idling(dovecot))
        dovecot.deliver(new_mail("Urgent"))
        _wait_for(lambda: len(stored(account)) == 1)
    finally:
        stop.set()
        watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert b"Subject: Urgent" in stored(account)[0].raw


def _idling(dovecot: Dovecot) -> bool:
    # The watcher's first check has set the folder's UIDVALIDITY; its IDLE follows.
    with scopes_disabled():
        return Mailbox.objects.filter(imap_uidvalidity__isnull=False).exists()


def _wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if condition():
                return
        except OperationalError as error:  # SQLite's shared in-memory test database
            if "locked" not in str(error):  # locks a table while another thread writes it
                raise
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_periodic_check_fetches_mailboxes_whose_interval_has_passed(
    account, dovecot, mailbox, new_mail
):
    with scope(account=account):
        recently_checked = Mailbox.objects.create(
            account=account, name="Sales", email="sales@acme.test", kind=Mailbox.Kind.IMAP,
            imap_host=dovecot.host, imap_port=dovecot.port, imap_security=Security.NONE,
            imap_username=dovecot.username, imap_password=dovecot.password,
            poll_seconds=300, last_checked_at=timezone.now() - timedelta(seconds=100),
        )
    dovecot.deliver(new_mail())

    poll_imap_mailboxes.call_local()

    assert [row.mailbox_id for row in stored(account)] == [mailbox.pk]
    recently_checked.refresh_from_db()
    assert recently_checked.last_checked_at < timezone.now() - timedelta(seconds=90)

