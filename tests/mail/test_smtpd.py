"""Saruna's SMTP server for forwarding addresses, spoken to with smtplib over a real socket."""

import smtplib
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from django.db import OperationalError
from django_scopes import scope, scopes_disabled

from saruna.mail import smtpd
from saruna.mail.models import InboundMail, Mailbox
from saruna.mail.smtpd import ForwardingServer
from tests.factories import make_account
from tests.servers import free_port

pytestmark = pytest.mark.django_db(transaction=True)  # the server stores from its own threads

SENDER = "customer@example.com"


@pytest.fixture
def start_smtpd() -> Iterator[Callable[[], int]]:
    """Starts the server with the settings as they are now; answers its port."""
    servers: list[ForwardingServer] = []

    def start() -> int:
        server = ForwardingServer("127.0.0.1", free_port())
        server.start()
        servers.append(server)
        return server.port

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def port(start_smtpd) -> int:
    return start_smtpd()


@pytest.fixture
def new_mail(mail_bytes) -> Callable[..., bytes]:
    def build(**fields) -> bytes:
        # As it travels over SMTP, so the stored bytes can be compared with it.
        return mail_bytes(**fields).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

    return build


def stored() -> list[InboundMail]:
    with scopes_disabled():
        return list(InboundMail.objects.select_related("account").order_by("pk"))


def test_the_sender_hears_250_only_once_the_mail_is_stored(account, port, new_mail,
                                                           monkeypatch):
    raw = new_mail()
    stored_rows: list[int] = []
    may_answer = threading.Event()
    real_store = smtpd.store_inbound

    def store_then_hold(*args, **kwargs):
        mail = real_store(*args, **kwargs)
        stored_rows.append(len(stored()))
        may_answer.wait(10)
        return mail

    monkeypatch.setattr(smtpd, "store_inbound", store_then_hold)
    answers: list[object] = []
    client = threading.Thread(target=lambda: answers.append(_send(port, raw, [
        "support@acme.saruna.test"])))
    client.start()
    _wait_until(lambda: stored_rows)
    assert stored_rows == [1]
    assert client.is_alive() and answers == []  # stored, and the sender still waits
    may_answer.set()
    client.join(timeout=10)

    assert answers == [{}]  # no recipient refused, the mail accepted
    [row] = stored()
    assert row.account == account
    assert (row.source, row.raw, row.envelope_from, row.envelope_to) == (
        InboundMail.Source.SMTP, raw, SENDER, ["support@acme.saruna.test"])


def test_only_addresses_of_existing_accounts_are_accepted(account, port):
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        client.mail(SENDER)
        assert client.rcpt("help@nobody.saruna.test") == (
            550, "5.1.1 There is no account “nobody” here.".encode())
        for address in ("help@example.com", "help@saruna.test", "help@acme.saruna.test.evil"):
            assert client.rcpt(address) == (
                550, b"5.7.1 This server only accepts mail for its accounts' addresses.")
        assert client.rcpt("help@ACME.saruna.test")[0] == 250


def test_one_mail_to_two_accounts_is_stored_once_for_each(account, port, new_mail):
    make_account("globex")
    recipients = ["a@acme.saruna.test", "b@globex.saruna.test", "c@acme.saruna.test"]

    assert _send(port, new_mail(), recipients) == {}

    assert {(row.account.slug, tuple(row.envelope_to)) for row in stored()} == {
        ("acme", ("a@acme.saruna.test", "c@acme.saruna.test")),
        ("globex", ("b@globex.saruna.test",)),
    }


def test_the_forwarding_name_picks_the_mailbox(account, port, new_mail):
    with scope(account=account):
        sales = Mailbox.objects.create(account=account, name="Sales", email="sales@acme.test",
                                       forward_local_part="sales")

    _send(port, new_mail(), ["Sales+order-17@acme.saruna.test"])
    _send(port, new_mail(), ["someone@acme.saruna.test"])

    assert [row.mailbox_id for row in stored()] == [sales.pk, None]


def test_mail_over_the_size_limit_is_refused_politely(account, start_smtpd, new_mail,
                                                      settings):
    settings.SARUNA_MAIL_MAX_BYTES = 2000
    port = start_smtpd()
    big = new_mail(text="x" * 3000)
    polite = b"5.3.4 Sorry, we accept mail of up to 2.0 KB and this one is larger."

    # A client that announces the size hears it at once...
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == "2000"
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail(SENDER, ["help@acme.saruna.test"], big)
    assert refused.value.smtp_code == 552
    # ...one that does not, after sending it.
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.helo()
        client.mail(SENDER)
        client.rcpt("help@acme.saruna.test")
        code, message = client.data(big)
    assert code == 552
    assert message.startswith(polite)
    assert refused.value.smtp_error.startswith(polite)
    assert stored() == []


def test_a_database_failure_asks_the_sender_to_try_again(account, port, new_mail,
                                                         monkeypatch):
    def database_down(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(smtpd, "store_inbound", database_down)

    with pytest.raises(smtplib.SMTPDataError) as failed:
        _send(port, new_mail(), ["help@acme.saruna.test"])

    assert failed.value.smtp_code == 451
    assert failed.value.smtp_error == (
        b"4.3.0 We could not store your mail just now. Please try again later.")
    assert stored() == []


def _send(port: int, raw: bytes, recipients: list[str]) -> dict:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.sendmail(SENDER, recipients, raw)


def _wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
