"""Searching tickets and contacts: one interface over SQLite FTS5 and PostgreSQL full text.

Both functions answer a **list of primary keys, best first, at most ``limit``** (not a
queryset: the rank comes from the search engine). Turn them into objects in that order with
:func:`in_order`.

- Every word typed is a prefix ("invo" finds "invoice"), all words must match, diacritics
  are folded ("berzina" finds "Bērziņa"); a one-letter word must match whole.
- A ticket code (``ABC-DEF-123``) or an e-mail address typed alone finds that ticket (the
  tickets that address owns) or that contact first, exactly.
- Hits in a ticket's code, subject or owner come before hits in its messages only, each
  group newest first (cheap at any size, unlike scoring every match); contacts newest first.
- Anything may be typed: quotes, ``*``, ``-``, parentheses and operators such as ``NEAR`` or
  ``AND`` are plain text, never a syntax error.
- Only rows of ``account`` are ever returned, and only those in ``within`` when given. Pass
  ``within=visible_tickets(user)`` (narrowed by any filter) so an agent finds only the tickets
  they may see; by default it is the account's tickets outside the trash and spam (contacts:
  all but the ones merged into another).

Runs inside the account's scope like every other query.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from django.db import models
from django.db.models import QuerySet

from saruna.contacts.models import Contact
from saruna.core.models import Account
from saruna.search import backends
from saruna.search.terms import parse
from saruna.tickets.models import Status, Ticket

LIMIT = 100

M = TypeVar("M", bound=models.Model)


def search_tickets(
    account: Account, query: str, *, within: QuerySet[Ticket] | None = None,
    limit: int = LIMIT,
) -> list[int]:
    terms = parse(query)
    if not terms:
        return []
    if within is None:
        within = Ticket.objects.exclude(status__in=[Status.DELETED, Status.SPAM])
    within = within.filter(account=account)
    exact: list[int] = []
    if terms.code:
        exact += within.filter(code=terms.code).values_list("pk", flat=True)
    if terms.email:
        exact += within.filter(owner__emails__normalized=terms.email).order_by(
            "-last_activity", "-pk"
        ).values_list("pk", flat=True)[:limit]
    found = backends.current().match_tickets(account.pk, terms, within, limit)
    return _first(exact, found, limit)


def search_contacts(
    account: Account, query: str, *, within: QuerySet[Contact] | None = None,
    limit: int = LIMIT,
) -> list[int]:
    terms = parse(query)
    if not terms:
        return []
    if within is None:
        within = Contact.objects.filter(merged_into__isnull=True)
    within = within.filter(account=account)
    exact: list[int] = []
    if terms.email:
        exact += within.filter(emails__normalized=terms.email).values_list("pk", flat=True)
    found = backends.current().match_contacts(account.pk, terms, within, limit)
    return _first(exact, found, limit)


def in_order(queryset: QuerySet[M], pks: Sequence[int]) -> list[M]:
    """The objects of ``queryset`` with these pks, in the order of ``pks``."""
    found = queryset.in_bulk(pks)
    return [found[pk] for pk in pks if pk in found]


def _first(exact: list[int], found: list[int], limit: int) -> list[int]:
    return list(dict.fromkeys([*exact, *found]))[:limit]

