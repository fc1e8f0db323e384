"""SQLite FTS5: ``search_ticket_fts(head, body)`` and ``search_contact_fts(head)``, rowid =
the ticket's or contact's pk, tokenized with ``unicode61 remove_diacritics 2``.

The FTS tables keep their own copy of the text (a regular, not contentless, FTS5 table):
SQLite before 3.43 cannot delete a row from a contentless table without the old text.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from saruna.search.documents import ContactText, TicketText
from saruna.search.models import ContactDocument, TicketDocument
from saruna.search.terms import Terms


def write_tickets(texts: Sequence[TicketText]) -> None:
    TicketDocument.objects.bulk_create(
        [TicketDocument(ticket_id=t.pk, account_id=t.account_id) for t in texts],
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "DELETE FROM search_ticket_fts WHERE rowid = %s", [(t.pk,) for t in texts]
        )
        cursor.executemany(
            "INSERT INTO search_ticket_fts (rowid, head, body) VALUES (%s, %s, %s)",
            [(t.pk, t.head, t.body) for t in texts],
        )


def write_contacts(texts: Sequence[ContactText]) -> None:
    ContactDocument.objects.bulk_create(
        [ContactDocument(contact_id=t.pk, account_id=t.account_id) for t in texts],
        ignore_conflicts=True,
    )
    with connection.cursor() as cursor:
        cursor.executemany(
            "DELETE FROM search_contact_fts WHERE rowid = %s", [(t.pk,) for t in texts]
        )
        cursor.executemany(
            "INSERT INTO search_contact_fts (rowid, head) VALUES (%s, %s)",
            [(t.pk, t.head) for t in texts],
        )


def match_tickets(account_id: str, terms: Terms, within: QuerySet, limit: int) -> list[int]:
    words = fts_query(terms)
    # Hits in the head first, then the rest, each newest first: no scoring of every match
    # (BM25 over half of a large account's tickets takes seconds).
    first = _match("search_ticket_fts", f"{{head}} : ({words})", within, limit)
    rest = _match("search_ticket_fts", words, within, limit + len(first))
    return list(dict.fromkeys([*first, *rest]))[:limit]


def match_contacts(account_id: str, terms: Terms, within: QuerySet, limit: int) -> list[int]:
    return _match("search_contact_fts", fts_query(terms), within, limit)


def _match(fts: str, expression: str, within: QuerySet, limit: int) -> list[int]:
    """The FTS hits become a set SQLite builds once; it then walks ``within`` (which carries
    the account) newest first and stops at ``limit``."""
    hits = RawSQL(f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s", [expression])
    return list(within.filter(pk__in=hits).order_by("-pk").values_list("pk", flat=True)[:limit])


def fts_query(terms: Terms) -> str:
    """Every word quoted (so ``NEAR``, ``AND``, ``*`` and ``-`` are plain text) and, from two
    characters on, a prefix; FTS5 ANDs them."""
    return " ".join(f'"{w}"*' if len(w) > 1 else f'"{w}"' for w in terms.words)
