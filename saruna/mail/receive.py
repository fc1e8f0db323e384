"""Store first: every inbound mail is written raw, with its SHA-256 and envelope, in one
transaction, before whoever delivered it hears that it was received. Processing (parse,
thread, create the ticket message) is queued for after the commit and is idempotent, so a
crash anywhere after :func:`store_inbound` returns loses nothing: the periodic sweep picks up
rows still ``received``.
"""

from __future__ import annotations

import hashlib
import re

from django.conf import settings
from django.db import transaction

from saruna.core.models import Account
from saruna.core.tenancy import enqueue_on_commit
from saruna.mail.models import InboundMail, Mailbox

# The Message-ID header, read from the raw header block without parsing the mail.
_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


class MailTooLarge(ValueError):
    pass


def raw_message_id(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    match = _MESSAGE_ID.search(head)
    if match is None:
        return ""
    return " ".join(match.group(1).decode("ascii", "replace").split())[:998]


def store_inbound(
    account: Account,
    raw: bytes,
    *,
    source: str,
    mailbox: Mailbox | None = None,
    envelope_from: str = "",
    envelope_to: list[str] | None = None,
) -> InboundMail:
    """Writes the mail and commits before returning; processing starts after the commit.
    Raises :class:`MailTooLarge` (nothing stored) above ``SARUNA_MAIL_MAX_BYTES``."""
    if len(raw) > settings.SARUNA_MAIL_MAX_BYTES:
        raise MailTooLarge(len(raw))
    with transaction.atomic():
        mail = InboundMail.objects.create(
            account=account, mailbox=mailbox, source=source, raw=raw,
            sha256=hashlib.sha256(raw).hexdigest(), size=len(raw),
            envelope_from=envelope_from[:998], envelope_to=list(envelope_to or []),
            message_id=raw_message_id(raw),
        )
        from saruna.mail.tasks import process_inbound_mail

        enqueue_on_commit(process_inbound_mail, account.pk, mail.pk)
    return mail
