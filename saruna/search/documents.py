"""The text of a ticket's and a contact's search document, read from their tables.

A ticket's ``head`` is what identifies it (code, subject, the owner's names, addresses and
company), its ``body`` the text of its messages, notes and file names (status notices the
system writes are left out). ``keys`` are the exact identifiers (code, addresses) for
substring matching. Documents are built in batches so a rebuild of a large account streams.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import QuerySet

from saruna.contacts.models import Contact, ContactEmail
from saruna.tickets.models import Message, MessageType, Ticket

BATCH = 2000
# PostgreSQL refuses a tsvector over 1 MB; a ticket's first 200k characters are plenty.
MAX_BODY_CHARS = 200_000
# Notices the system writes into conversations ("Resolved", "Assigned to ...").
SYSTEM_MESSAGE_TYPES = (
    MessageType.STATUS, MessageType.TRANSFER, MessageType.MERGED, MessageType.SPLITTED
)


@dataclass(frozen=True)
class TicketText:
    pk: int
    account_id: str
    head: str
    body: str
    keys: str


@dataclass(frozen=True)
class ContactText:
    pk: int
    account_id: str
    head: str
    keys: str


@dataclass(frozen=True)
class _Person:
    names: str
    emails: tuple[str, ...]


def ticket_batches(tickets: QuerySet[Ticket]) -> Iterator[list[TicketText]]:
    for chunk in _chunks(tickets.order_by().values_list("pk", flat=True)):
        rows = list(
            Ticket.objects.filter(pk__in=chunk).values_list(
                "pk", "account_id", "code", "subject", "owner_id", "deleted_owner_name",
                "deleted_owner_email",
            )
        )
        people = _people({row[4] for row in rows if row[4] is not None})
        bodies: dict[int, list[str]] = defaultdict(list)
        messages = (
            Message.objects.filter(group__ticket_id__in=chunk)
            .exclude(type__in=SYSTEM_MESSAGE_TYPES)
            .order_by()
            .values_list("group__ticket_id", "text")
        )
        for ticket_id, text in messages.iterator(chunk_size=5000):
            bodies[ticket_id].append(text)
        batch = []
        for pk, account_id, code, subject, owner_id, gone_name, gone_email in rows:
            person = people.get(owner_id) or _Person(gone_name, (gone_email,))
            batch.append(TicketText(
                pk=pk, account_id=account_id,
                head=" ".join([code, subject, person.names, *person.emails]),
                body="\n".join(bodies.get(pk, ()))[:MAX_BODY_CHARS],
                keys=" ".join([code, *person.emails]).lower(),
            ))
        yield batch


def contact_batches(contacts: QuerySet[Contact]) -> Iterator[list[ContactText]]:
    for chunk in _chunks(contacts.order_by().values_list("pk", flat=True)):
        accounts = dict(Contact.objects.filter(pk__in=chunk).values_list("pk", "account_id"))
        people = _people(chunk)
        yield [
            ContactText(
                pk=pk, account_id=accounts[pk],
                head=" ".join([person.names, *person.emails]),
                keys=" ".join(person.emails).lower(),
            )
            for pk, person in people.items()
        ]


def _people(contact_ids: Iterable[int]) -> dict[int, _Person]:
    ids = list(contact_ids)
    emails: dict[int, list[str]] = defaultdict(list)
    for contact_id, email in (
        ContactEmail.objects.filter(contact_id__in=ids)
        .order_by("position", "pk")
        .values_list("contact_id", "email")
    ):
        emails[contact_id].append(email)
    rows = Contact.objects.filter(pk__in=ids).values_list(
        "pk", "system_name", "firstname", "lastname", "company__name", "company__system_name"
    )
    return {
        pk: _Person(
            " ".join(dict.fromkeys(n for n in names if n)), tuple(emails.get(pk, ()))
        )
        for pk, *names in rows
    }


def _chunks(pks: Iterable[int]) -> Iterator[list[int]]:
    pks = list(pks)
    for start in range(0, len(pks), BATCH):
        yield pks[start:start + BATCH]
