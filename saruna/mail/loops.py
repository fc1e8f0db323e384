"""Loop and abuse protection for the e-mail channel.

Two machines that answer each other automatically can exchange mail forever; a script or a
spammer can send thousands of mails an hour. So:

- automatic mail (auto-replies, bounces, mailing lists, machine senders: the parser tells)
  never gets an automatic answer, and neither does our own mail coming back;
- automatic answers are capped per ticket and per recipient in a time window, so even a
  robot that looks human cannot keep a loop going;
- one sender opens at most ``NEW_TICKETS_PER_HOUR`` tickets an hour; more mails from them
  join their latest open ticket, so a flood is kept but does not bury the inbox.

Automatic answers are counted with :mod:`saruna.core.ratelimit` (the cache, shared by all
processes); new tickets are counted in the database, where they are anyway.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from saruna.contacts.models import Contact
from saruna.core import ratelimit
from saruna.core.models import Account
from saruna.mail import tokens
from saruna.mail.models import BouncingAddress, OutgoingMail
from saruna.mail.parser import ParsedMail
from saruna.mail.threading import CLOSED_TO_MAIL
from saruna.tickets.models import Ticket

AUTO_REPLIES_PER_TICKET = "3/h"
AUTO_REPLIES_PER_SENDER = "10/h"
NEW_TICKETS_PER_HOUR = 20


def is_own_mail(account: Account, parsed: ParsedMail) -> bool:
    """A mail we sent, come back (a mailbox that forwards to itself, a list that echoes, a
    customer's server that returns it whole). Our Message-IDs carry the ticket's signed token
    (:mod:`saruna.mail.tokens`), which nobody else can make; the rest are in the records."""
    message_id = parsed.message_id
    if not message_id:
        return False
    if tokens.tickets_in(account, [message_id]) and message_id.lower().endswith(
        f"@{tokens.mail_domain(account)}>"
    ):
        return True
    return OutgoingMail.objects.filter(message_id=message_id).exists()


def may_auto_reply(account: Account, parsed: ParsedMail, ticket: Ticket) -> bool:
    """Whether an automatic answer (a confirmation, say) to ``parsed`` may be sent on
    ``ticket``. A yes counts against the per-ticket and per-recipient caps, so ask only when
    about to send."""
    sender = parsed.from_email
    # is_auto_reply: the header rules of saruna.mail.autoreply, bounces, machine senders.
    if not sender or parsed.is_auto_reply or is_own_mail(account, parsed):
        return False
    if BouncingAddress.objects.filter(email=sender).exists():
        return False
    per_ticket = f"{account.pk}:mail-auto-reply:ticket:{ticket.pk}"
    per_sender = f"{account.pk}:mail-auto-reply:sender:{sender}"
    if ratelimit.exhausted(per_ticket, AUTO_REPLIES_PER_TICKET) or ratelimit.exhausted(
        per_sender, AUTO_REPLIES_PER_SENDER
    ):
        return False
    ratelimit.hit(per_ticket, AUTO_REPLIES_PER_TICKET)
    ratelimit.hit(per_sender, AUTO_REPLIES_PER_SENDER)
    return True


def may_open_ticket(contact: Contact) -> bool:
    """False once ``contact`` opened ``NEW_TICKETS_PER_HOUR`` tickets in the last hour."""
    since = timezone.now() - timedelta(hours=1)
    recent = Ticket.objects.filter(owner=contact, date_created__gte=since)
    return recent[:NEW_TICKETS_PER_HOUR].count() < NEW_TICKETS_PER_HOUR


def flood_ticket(contact: Contact) -> Ticket | None:
    """The ticket a sender's mails over the cap join: their latest one still taking mail."""
    return (
        Ticket.objects.filter(owner=contact)
        .exclude(status__in=CLOSED_TO_MAIL)
        .order_by("-last_activity", "-pk")
        .first()
    )
