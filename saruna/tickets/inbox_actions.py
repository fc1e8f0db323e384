"""Writes the agent inbox needs that combine the actions of ``actions.py``: a reply with
uploads, one status control for all status buttons, and bulk changes. Each runs in one
transaction, so bad input anywhere changes nothing (events are published only on commit)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.html import escape, linebreaks
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.contacts.common import ActionError
from saruna.tickets import actions
from saruna.tickets.html import sanitize_html
from saruna.tickets.models import MessageFormat, MessageGroup, Status, Tag, Ticket

UNDELETE = "undelete"


def text_to_html(text: str) -> str:
    """The plain composer (no JavaScript): escaped, paragraphs and line breaks kept."""
    return linebreaks(escape(text.strip())) if text.strip() else ""


def reply(
    ticket: Ticket, agent: User, text: str, *, html: str = "", note: bool = False,
    status: str = Status.ANSWERED, uploads: Sequence[UploadedFile] = (), subject: str = "",
    cc: str = "", bcc: str = "",
) -> MessageGroup:
    """An agent reply (or internal note) with its attachments stored and attached. ``html``
    (the rich-text editor's, untrusted) is sanitised and wins over the plain ``text``; a
    note is not mailed, so it has no ``subject`` and no copies (``cc``, ``bcc``: addresses
    separated by commas)."""
    mail = actions.mail_options(cc, bcc)
    with transaction.atomic():
        files = [
            actions.store_file(ticket.account, upload.name or "file", upload, actor=agent)
            for upload in uploads
        ]
        body = sanitize_html(html) if html.strip() else text_to_html(text)
        if note:
            return actions.add_internal_note(
                ticket, agent, body, format=MessageFormat.HTML, files=files
            )
        return actions.add_agent_reply(
            ticket, agent, body, format=MessageFormat.HTML, status=status, files=files,
            subject=subject, mail=mail,
        )


def apply_status(
    ticket: Ticket, status: str, *, actor: User, until: datetime | None = None
) -> Ticket:
    """A status button: a status letter, ``W`` with ``until``, or ``undelete``."""
    if status == UNDELETE:
        return actions.undelete_ticket(ticket, actor=actor)
    if status == Status.POSTPONED:
        if until is None:
            raise ActionError(gettext("Choose when the ticket comes back."))
        return actions.postpone_ticket(ticket, until, actor=actor)
    return actions.change_status(ticket, status, actor=actor)


def bulk_assign(tickets: Sequence[Ticket], agent: User | None, *, actor: User) -> None:
    with transaction.atomic():
        for ticket in tickets:
            actions.assign_ticket(ticket, agent, actor=actor)


def bulk_tag(tickets: Sequence[Ticket], tag: Tag, *, actor: User) -> None:
    with transaction.atomic():
        for ticket in tickets:
            actions.add_tag(ticket, tag, actor=actor)


def bulk_status(
    tickets: Sequence[Ticket], status: str, *, actor: User, until: datetime | None = None
) -> None:
    with transaction.atomic():
        for ticket in tickets:
            apply_status(ticket, status, actor=actor, until=until)
