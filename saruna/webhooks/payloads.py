"""The ``data`` of a delivery: objects exactly as the REST API v3 shows them (its own
serializers, dates in the account's time zone), so a receiver parses a webhook with the same
code as an API answer."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from typing import Any

from django.http import HttpRequest

from saruna.contacts.models import Contact
from saruna.core.models import Account
from saruna.tickets.models import MessageGroup, Ticket


def _clock(account: Account) -> Any:
    from saruna.api.v3.common import Clock  # the API imports the actions that emit events

    try:
        return Clock(zoneinfo.ZoneInfo(account.time_zone or "UTC"))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return Clock(zoneinfo.ZoneInfo("UTC"))


def _request(account: Account) -> HttpRequest:
    """What the API's serializers read from a request: the account and its clock."""
    request = HttpRequest()
    request.account = account  # type: ignore[attr-defined]
    request._api_clock = _clock(account)  # type: ignore[attr-defined]
    return request


def date(value: datetime, account: Account) -> str:
    return str(_clock(account).format(value))


def ticket(ticket: Ticket) -> dict[str, Any]:
    from saruna.api.v3.tickets import ticket_out

    return ticket_out(_request(ticket.account), ticket)


def message_group(group: MessageGroup) -> dict[str, Any]:
    from saruna.api.v3.tickets import group_out

    return group_out(_request(group.ticket.account), group)


def contact(contact: Contact) -> dict[str, Any]:
    """Read again: an action that just replaced the contact's e-mails, phones or groups
    leaves the caller's prefetched lists behind."""
    from saruna.api.v3.contacts import contact_out

    fresh = Contact.objects.select_related("company", "account").prefetch_related(
        "emails", "phones", "groups").get(pk=contact.pk)
    return contact_out(_request(fresh.account), fresh)


def sla_record(record: Any) -> dict[str, Any]:
    """One SLA measurement as ``GET /slas/{ticketId}/history`` shows it (``SlaHistory``)."""
    from saruna.api.v3.slas import history_out

    return history_out(_request(record.ticket.account), record)


def chat(chat: Any) -> dict[str, Any]:
    """A chat as ``GET /chats`` lists it (``ChatInformation``)."""
    from saruna.api.v3.chats import chat_out
    from saruna.chat.models import ChatMessage, MessageKind

    # The list annotates the last words; one chat looks them up.
    chat.last_text = ChatMessage.objects.filter(chat=chat).exclude(
        kind=MessageKind.SYSTEM).order_by("-seq").values_list("body", flat=True).first()
    return chat_out(_request(chat.account), chat)


def conversion(conversion: Any) -> dict[str, Any]:
    """Ours (no v3 model): a reported sale or goal and the chat it was credited to."""
    from saruna.api.v3.conversions import conversion_out

    return conversion_out(_request(conversion.account), conversion)
