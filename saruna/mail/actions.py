"""Changing the e-mail channel's settings."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from saruna.contacts.common import save_record
from saruna.core.models import Account
from saruna.mail.forms import MailboxForm
from saruna.mail.models import Mailbox

# Fields that name another IMAP folder: progress counted in the old one means nothing there.
IMAP_LOCATION = ("imap_host", "imap_port", "imap_username", "imap_folder")


def save_mailbox(account: Account, mailbox: Mailbox | None = None, **fields: Any) -> Mailbox:
    moved = mailbox is not None and any(
        name in fields and fields[name] != getattr(mailbox, name) for name in IMAP_LOCATION
    )
    if moved:
        # Start over from the unread mail of the new folder (store first makes a mail that
        # was fetched before a duplicate, never a second ticket).
        fields = {**fields, "imap_uidvalidity": None, "imap_last_uid": 0, "last_error": ""}
    return save_record(
        Mailbox, account, mailbox, fields,
        (*MailboxForm.base_fields, "imap_uidvalidity", "imap_last_uid", "last_error"),
        conflict=gettext("Another mailbox already uses this forwarding address."),
    )
