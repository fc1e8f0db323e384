"""Which ticket an inbound mail continues, if any.

Tried in order of trust:

1. our reply token, in a recipient address (To, Cc, the envelope) or in one of our
   Message-IDs the mail answers (In-Reply-To, References). Tokens are signed
   (:mod:`saruna.mail.tokens`): whoever holds one got it in a mail from us.
2. In-Reply-To and References against the Message-IDs we stored, the customers'
   (``MessageGroup.mail_msg_id``) and ours (``OutgoingMail.message_id``);
3. the ticket code in the subject, ``[#ABC-DEF-123]``.

Message-IDs and codes are not secret (every forwarded mail shows them), so rules 2 and 3 hold
only for a participant of that ticket; a stranger's mail naming someone else's ticket opens a
new ticket instead of reading or writing into theirs.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable

from saruna.accounts.models import User
from saruna.contacts.models import ContactEmail
from saruna.core.models import Account
from saruna.mail import tokens
from saruna.mail.models import InboundMail, OutgoingMail
from saruna.mail.parser import ParsedMail
from saruna.tickets.models import MessageGroup, Status, Ticket

# A ticket in one of these takes no more mail: a reply to it opens a new ticket.
CLOSED_TO_MAIL = frozenset({Status.CLOSED, Status.DELETED, Status.SPAM})
# More would only make the query longer: the ticket is among the latest few.
MAX_REFERENCES = 50

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_SUBJECT_CODE = re.compile(r"\[#([A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3})\]", re.IGNORECASE)


def find_ticket(account: Account, parsed: ParsedMail, envelope_to: Iterable[str]) -> Ticket | None:
    """The ticket ``parsed`` continues (after merges, the ticket it was merged into), or
    None for a new conversation. The caller decides what a closed ticket means."""
    answered = referenced_ids(parsed)
    by_token = tokens.tickets_in(account, [*parsed.to, *parsed.cc, *envelope_to]) or (
        tokens.tickets_in(account, answered)
    )
    if by_token:
        tickets = {t.public_id: t for t in Ticket.objects.filter(public_id__in=by_token)}
        for public_id in by_token:
            if public_id in tickets:
                return _surviving(tickets[public_id])
    sender = parsed.from_email
    for ticket in _tickets_by_message_id(answered):
        if is_participant(ticket, sender):
            return _surviving(ticket)
    match = _SUBJECT_CODE.search(parsed.subject)
    if match is not None:
        ticket = Ticket.objects.filter(code=match.group(1).upper()).first()
        if ticket is not None and is_participant(ticket, sender):
            return _surviving(ticket)
    return None


def ticket_for_bounce(account: Account, bounced_ids: list[str]) -> Ticket | None:
    """The ticket of the mail a delivery report is about, by that mail's Message-ID: ours
    only (our token, or one we recorded), as a report is only ever about a mail we sent."""
    by_token = tokens.tickets_in(account, bounced_ids)
    ticket = Ticket.objects.filter(public_id__in=by_token).first() if by_token else None
    if ticket is None:
        ticket = Ticket.objects.filter(
            pk__in=OutgoingMail.objects.filter(message_id__in=bounced_ids).values("ticket_id")
        ).first()
    return _surviving(ticket) if ticket is not None else None


def referenced_ids(parsed: ParsedMail) -> list[str]:
    """The Message-IDs ``parsed`` answers, the one it replies to first, then the rest of the
    thread newest first."""
    found = message_ids_in(parsed.in_reply_to)
    for text in reversed(parsed.references):
        found.extend(message_ids_in(text))
    return list(dict.fromkeys(found))[:MAX_REFERENCES]


def message_ids_in(text: str) -> list[str]:
    """The ``<...>`` Message-IDs in a header value, comments and junk left out."""
    return _MESSAGE_ID.findall(text)


def is_participant(ticket: Ticket, address: str) -> bool:
    """Whether ``address`` takes part in ``ticket``: its owner, an agent of the account, or
    an address seen on its mails (senders and recipients of its inbound mail, recipients of
    the mail we sent)."""
    address = address.strip().lower()
    if not address:
        return False
    if ticket.owner_id is not None and ContactEmail.objects.filter(
        contact_id=ticket.owner_id, normalized=address
    ).exists():
        return True
    if User.objects.filter(account_id=ticket.account_id, email=address, is_active=True).exists():
        return True
    for sender, recipients in InboundMail.objects.filter(ticket=ticket).values_list(
        "from_email", "recipients"
    ):
        if address == sender or address in recipients:
            return True
    for to, cc in OutgoingMail.objects.filter(ticket=ticket).values_list("to", "cc"):
        if address in _addresses([*to, *cc]):
            return True
    return False


def _tickets_by_message_id(message_ids: list[str]) -> list[Ticket]:
    """Tickets holding any of ``message_ids``, in the order of the ids."""
    if not message_ids:
        return []
    ticket_of: dict[str, int] = {}
    for model, field in ((MessageGroup, "mail_msg_id"), (OutgoingMail, "message_id")):
        rows = model.objects.filter(**{f"{field}__in": message_ids, "ticket__isnull": False})
        ticket_of.update(rows.values_list(field, "ticket_id"))
    wanted = list(dict.fromkeys(ticket_of[m] for m in message_ids if m in ticket_of))
    tickets = Ticket.objects.in_bulk(wanted)
    return [tickets[pk] for pk in wanted if pk in tickets]


def _surviving(ticket: Ticket) -> Ticket:
    """A merged ticket's mail goes to the ticket it was merged into."""
    seen = {ticket.pk}
    while ticket.merged_into_id is not None and ticket.merged_into_id not in seen:
        assert ticket.merged_into is not None
        ticket = ticket.merged_into
        seen.add(ticket.pk)
    return ticket


def _addresses(values: Iterable[str]) -> set[str]:
    return {addr.lower() for _name, addr in email.utils.getaddresses(list(values)) if addr}
