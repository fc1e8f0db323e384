"""Loop and abuse protection for the e-mail channel.

Two machines that answer each other automatically can exchange mail forever; a script or a
spammer can send thousands of mails an hour. So:

- automatic mail (auto-replies, bounces, mailing lists, robots) never gets an automatic
  answer, and neither does our own mail coming back;
- automatic answers are capped per ticket and per recipient in a time window, so even a
  robot that looks human cannot keep a loop going;
- one sender opens at most ``NEW_TICKETS_PER_SENDER`` tickets; more mails from them join
  their latest open ticket, so a flood is kept but does not bury the inbox.

Counting uses :mod:`saruna.core.ratelimit` (the cache, shared by all processes).
"""

from __future__ import annotations

import re

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
NEW_TICKETS_PER_SENDER = "20/h"

# Mailboxes of machines: they do not read answers, and answering some of them loops.
_ROBOT_SENDER = re.compile(
    r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply|bounces?)([+.-].*)?@", re.IGNORECASE
)


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


def is_automatic(parsed: ParsedMail) -> bool:
    """Written by a machine: an auto-reply or list mail (the parser reads the headers), a
    bounce, or a robot's address."""
    return parsed.is_auto_reply or parsed.is_bounce or bool(_ROBOT_SENDER.match(parsed.from_email))


def may_auto_reply(account: Account, parsed: ParsedMail, ticket: Ticket) -> bool:
    """Whether an automatic answer (a confirmation, say) to ``parsed`` may be sent on
    ``ticket``. A yes counts against the per-ticket and per-recipient caps, so ask only when
    about to send."""
    sender = parsed.from_email
    if not sender or is_automatic(parsed) or is_own_mail(account, parsed):
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


def may_open_ticket(account: Account, sender: str) -> bool:
    """Counts one new ticket for ``sender``; False once they are over the hourly cap."""
    return ratelimit.hit(f"{account.pk}:mail-new-ticket:{sender.lower()}", NEW_TICKETS_PER_SENDER)


def flood_ticket(contact: Contact) -> Ticket | None:
    """The ticket a sender's mails over the cap join: their latest one still taking mail."""
    return (
        Ticket.objects.filter(owner=contact)
        .exclude(status__in=CLOSED_TO_MAIL)
        .order_by("-last_activity", "-pk")
        .first()
    )
