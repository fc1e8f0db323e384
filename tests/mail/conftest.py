"""Fixtures of the mail tests: mails built with the standard library, and delivery the way
the receivers deliver (stored first, processed by the task once the store commits)."""

from collections.abc import Callable, Iterable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.mail.models import InboundMail
from saruna.mail.receive import store_inbound


@pytest.fixture
def mail_bytes() -> Callable[..., bytes]:
    """``mail_bytes(subject=..., text=..., html=..., attachments=[(name, bytes, type)])``:
    a mail as a client sends it. ``message_id=""`` leaves the header out."""

    def build(
        *,
        sender: str = "Customer <customer@example.com>",
        to: str = "support@acme.saruna.test",
        cc: str = "",
        subject: str = "Printer is broken",
        text: str = "Hello, my printer does not print.",
        html: str = "",
        message_id: str | None = None,
        in_reply_to: str = "",
        references: str = "",
        headers: dict[str, str] | None = None,
        attachments: Iterable[tuple[str, bytes, str]] = (),
    ) -> bytes:
        message = EmailMessage()
        message["From"] = sender
        message["To"] = to
        if cc:
            message["Cc"] = cc
        message["Subject"] = subject
        message["Date"] = format_datetime(timezone.now())
        if message_id is None:
            message_id = make_msgid(domain="example.com")
        if message_id:
            message["Message-ID"] = message_id
        if in_reply_to:
            message["In-Reply-To"] = in_reply_to
        if references:
            message["References"] = references
        for name, value in (headers or {}).items():
            message[name] = value
        message.set_content(text)
        if html:
            message.add_alternative(html, subtype="html")
        for filename, content, content_type in attachments:
            maintype, subtype = content_type.split("/")
            message.add_attachment(content, maintype=maintype, subtype=subtype,
                                   filename=filename)
        return message.as_bytes()

    return build


@pytest.fixture
def deliver(account, django_capture_on_commit_callbacks) -> Callable[..., InboundMail]:
    """``deliver(raw, envelope_to=[...])``: stores the mail for ``account`` and runs the
    processing task its commit queues (Huey is immediate in tests); answers the row."""

    def run(raw: bytes, *, envelope_to: Iterable[str] = (), **fields) -> InboundMail:
        with django_capture_on_commit_callbacks(execute=True), scope(account=account):
            mail = store_inbound(account, raw, source=InboundMail.Source.SMTP,
                                 envelope_to=list(envelope_to), **fields)
        with scopes_disabled():
            mail.refresh_from_db()
        return mail

    return run
