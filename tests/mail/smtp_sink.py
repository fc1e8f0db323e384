"""A real SMTP server (aiosmtpd) on a free port that keeps what it receives, for the tests of
sending. It can refuse recipients for a while (``refuse``) and require a login."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers import free_port

LOGIN = ("mailer", "s3cret password")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class SmtpSink:
    host: str = "127.0.0.1"
    port: int = 0
    received: list[Received] = field(default_factory=list)
    _refusals: list[str] = field(default_factory=list)

    def refuse(self, reply: str, times: int = 1) -> None:
        """Answer the next ``times`` recipients with ``reply`` (say ``451 4.3.0 Busy``)."""
        self._refusals.extend([reply] * times)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self._refusals:
            return self._refusals.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted for delivery"


def _check_login(server, session, envelope, mechanism, auth_data) -> AuthResult:
    given = (auth_data.login.decode(), auth_data.password.decode()) if isinstance(
        auth_data, LoginPassword
    ) else None
    # Not handled: the server answers a failure with 535 itself.
    return AuthResult(success=given == LOGIN, handled=False)


def _running(sink: SmtpSink, **options) -> Iterator[SmtpSink]:
    sink.port = free_port()
    controller = Controller(sink, hostname=sink.host, port=sink.port, **options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


@pytest.fixture(name="smtp_sink")
def smtp_sink_fixture() -> Iterator[SmtpSink]:
    yield from _running(SmtpSink())


@pytest.fixture(name="smtp_sink_with_login")
def smtp_sink_with_login_fixture() -> Iterator[SmtpSink]:
    """Accepts AUTH PLAIN/LOGIN without TLS (it listens on 127.0.0.1 only) for ``LOGIN``."""
    yield from _running(SmtpSink(), authenticator=_check_login, auth_require_tls=False)
