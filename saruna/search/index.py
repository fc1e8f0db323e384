"""Keeping the search index right. The write path calls these inside its own transaction
(``saruna.tickets.actions`` and ``saruna.contacts.actions``); ``saruna reindex`` rebuilds an
account with :func:`rebuild`. A document is always rebuilt whole from the tables, so calling
one of these twice or too often is harmless.

A ticket's document holds its owner's names and addresses, so a change to a contact (or to
its company) rebuilds the documents of the tickets it owns as well.
"""

from __future__ import annotations

from django.db.models import QuerySet

from saruna.contacts.models import Company, Contact
from saruna.core.models import Account
from saruna.search import backends
from saruna.search.documents import contact_batches, ticket_batches
from saruna.search.models import ContactDocument
from saruna.tickets.models import Ticket


def reindex_ticket(ticket: Ticket) -> None:
    reindex_tickets(Ticket.objects.filter(pk=ticket.pk))


def reindex_tickets(tickets: QuerySet[Ticket]) -> int:
    backend, count = backends.current(), 0
    for batch in ticket_batches(tickets):
        backend.write_tickets(batch)
        count += len(batch)
    return count


def reindex_contact(contact: Contact) -> None:
    reindex_contacts(Contact.objects.filter(pk=contact.pk))


def reindex_contacts(contacts: QuerySet[Contact], *, with_tickets: bool = True) -> int:
    backend, count = backends.current(), 0
    for batch in contact_batches(contacts):
        backend.write_contacts(batch)
        count += len(batch)
    if with_tickets:
        reindex_tickets(Ticket.objects.filter(owner__in=contacts.values("pk")))
    return count


def forget_contact(contact: Contact) -> None:
    """Drops the contact's document (a merge repoints every other link to the contact)."""
    ContactDocument.objects.filter(contact=contact).delete()


def reindex_company(company: Company) -> None:
    reindex_contacts(Contact.objects.filter(company=company))


def rebuild(account: Account) -> tuple[int, int]:
    """Every ticket and contact document of ``account`` (inside its scope); answers the
    numbers of tickets and contacts indexed."""
    tickets = reindex_tickets(Ticket.objects.filter(account=account))
    contacts = reindex_contacts(Contact.objects.filter(account=account), with_tickets=False)
    return tickets, contacts
