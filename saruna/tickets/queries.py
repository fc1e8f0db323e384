"""Reads shared by the agent UI, the API and the channels. All run in the active scope.

Visibility: owners and administrators (and provider staff inside a support grant) see every
ticket of the account; an agent sees the tickets of the departments they belong to plus those
assigned to them, and nothing else anywhere: lists, counts, search and live events all start
from :func:`visible_tickets` or :func:`event_visible_to`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils.html import escape

from saruna.accounts.models import User
from saruna.contacts.models import Contact
from saruna.tickets.models import (
    INTERNAL_GROUP_TYPES,
    CannedMessage,
    Department,
    Message,
    MessageGroup,
    MessageType,
    PredefinedAnswer,
    Ticket,
    Visibility,
)


def sees_all_tickets(user: User) -> bool:
    return user.can_manage_account


def department_ids_of(user: User) -> set[int]:
    return set(Department.objects.filter(agents=user).values_list("pk", flat=True))


def visible_tickets(user: User) -> QuerySet[Ticket]:
    tickets = Ticket.objects.filter(account_id=user.account_id)
    if sees_all_tickets(user):
        return tickets
    # The agent's department ids are read first (a handful), so both engines can walk the
    # ticket indexes instead of building the set of every visible ticket on each call.
    department_ids = list(user.departments.values_list("pk", flat=True))
    return tickets.filter(Q(department_id__in=department_ids) | Q(agent=user))


def can_see_ticket(user: User, ticket: Ticket) -> bool:
    if ticket.account_id != user.account_id:
        return False
    if sees_all_tickets(user) or ticket.agent_id == user.pk:
        return True
    return ticket.department.agents.filter(pk=user.pk).exists()


def event_visible_to(
    user: User, department_public_ids: Collection[str], event: Mapping[str, Any]
) -> bool:
    """Whether a ``ticket.changed`` event may reach this user's socket. The consumer keeps the
    public ids of the user's departments; an event about a ticket leaving the user's sight
    (transferred or unassigned away) still reaches them so the row can be removed."""
    if sees_all_tickets(user):
        return True
    ticket, previous = event["ticket"], event.get("previous") or {}
    return (
        ticket.get("agentid") == user.pk
        or ticket.get("departmentid") in department_public_ids
        or previous.get("agentid") == user.pk
        or previous.get("departmentid") in department_public_ids
    )


def find_ticket(ident: str) -> Ticket | None:
    """By id or by code (API §6.1: ``{ticketId}`` also accepts ``ABC-DEF-GHI``)."""
    return (
        Ticket.objects.select_related("department", "agent", "owner")
        .filter(Q(public_id=ident) | Q(code=ident.upper()))
        .first()
    )


def contact_tickets(
    user: User, contact: Contact, *, exclude: Ticket | None = None
) -> QuerySet[Ticket]:
    """The contact's tickets this user may see, newest activity first (the contact panel
    lists "other tickets" with ``exclude`` = the open one)."""
    tickets = visible_tickets(user).filter(owner=contact)
    if exclude is not None:
        tickets = tickets.exclude(pk=exclude.pk)
    return tickets.order_by("-last_activity", "-pk")


def conversation(ticket: Ticket, *, public_only: bool = False) -> QuerySet[MessageGroup]:
    """The ticket's message groups in display order with their messages, authors and files.
    ``public_only`` (customer portal) drops internal groups and internal messages. A reply's
    e-mail subject (a TITLE message) is a header of its mail, not something it says."""
    messages = Message.objects.exclude(type=MessageType.TITLE).select_related(
        "author_user", "author_contact"
    ).prefetch_related("files")
    groups = MessageGroup.objects.filter(ticket=ticket)
    if public_only:
        messages = messages.filter(visibility=Visibility.PUBLIC)
        groups = groups.exclude(type__in=INTERNAL_GROUP_TYPES)
    return (
        groups.select_related("author_user", "author_contact")
        .prefetch_related(Prefetch("messages", queryset=messages))
        .order_by("datecreated", "sort_order", "pk")
    )


def default_reply_subject(ticket: Ticket) -> str:
    """A reply's e-mail subject unless the agent gives another. "Re:" is the mail convention
    (RFC 5322), not a word to translate, and is not added twice."""
    if ticket.subject.lower().startswith("re:"):
        return ticket.subject
    return f"Re: {ticket.subject}"


def reply_subject(group: MessageGroup) -> str:
    """The subject to mail an agent reply with: the one the agent gave (its TITLE message),
    the ticket's own subject when the agent opened the ticket with it, or the default."""
    given = group.messages.filter(type=MessageType.TITLE).values_list("body", flat=True).first()
    if given:
        return given
    first = group.ticket.groups.order_by("datecreated", "sort_order", "pk").first()
    return group.ticket.subject if first == group else default_reply_subject(group.ticket)


def canned_messages_for(
    user: User, department: Department | None = None
) -> QuerySet[CannedMessage]:
    """The user's own and shared canned messages, for the ticket's department or all."""
    return CannedMessage.objects.filter(
        Q(user__isnull=True) | Q(user=user),
        Q(department__isnull=True) | Q(department=department),
    )


def predefined_answers_for(
    user: User, department: Department | None = None
) -> QuerySet[PredefinedAnswer]:
    return PredefinedAnswer.objects.filter(
        Q(user__isnull=True) | Q(user=user),
        Q(department__isnull=True) | Q(department=department),
    )


_VARIABLE = re.compile(r"\{\$([a-z_]+)\}")


def expand_variables(
    text: str, *, ticket: Ticket | None = None, agent: User | None = None,
    contact: Contact | None = None, html: bool = False,
) -> str:
    """Fills ``{$contact_name}``, ``{$contact_email}``, ``{$agent_name}``, ``{$agent_email}``,
    ``{$ticket_code}``, ``{$ticket_subject}``, ``{$department_name}``, ``{$account_name}``.
    The contact defaults to the ticket's owner; a variable without a value becomes empty, an
    unknown one stays as typed. ``html`` escapes the values for an HTML body."""
    if contact is None and ticket is not None:
        contact = ticket.owner
    account = ticket.account if ticket is not None else agent.account if agent else None
    values = {
        "contact_name": contact.system_name if contact else "",
        "contact_email": contact.primary_email if contact else "",
        "agent_name": agent.full_name if agent else "",
        "agent_email": agent.email if agent else "",
        "ticket_code": ticket.code if ticket else "",
        "ticket_subject": ticket.subject if ticket else "",
        "department_name": ticket.department.name if ticket else "",
        "account_name": account.name if account else "",
    }

    def fill(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            return match.group(0)
        value = values[match.group(1)]
        return str(escape(value)) if html else value

    return _VARIABLE.sub(fill, text)
