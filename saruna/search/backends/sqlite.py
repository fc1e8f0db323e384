"""SQLite FTS5: ``search_ticket_fts(head, body)`` and ``search_contact_fts(head)``, rowid =
the ticket's or contact's pk, tokenized with ``unicode61 remove_diacritics 2``.

The FTS tables keep their own copy of the text (a regular, not contentless, FTS5 table):
SQLite before 3.43 cannot delete a row from a contentless table without the old text.
Ranking is BM25 with a match in ``head`` (code, subject, people) worth ten in ``body``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet

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
    return _match("search_ticket_fts", "search_ticketdocument", "ticket_id", "10.0, 1.0",
                  account_id, terms, within, limit)


def match_contacts(account_id: str, terms: Terms, within: QuerySet, limit: int) -> list[int]:
    return _match("search_contact_fts", "search_contactdocument", "contact_id", "1.0",
                  account_id, terms, within, limit)


def _match(
    fts: str, anchor: str, key: str, weights: str, account_id: str, terms: Terms,
    within: QuerySet, limit: int,
) -> list[int]:
    within_sql, within_params = within.order_by().values("pk").query.sql_with_params()
    sql = (
        f"SELECT {fts}.rowid FROM {fts} JOIN {anchor} ON {anchor}.{key} = {fts}.rowid "
        f"WHERE {fts} MATCH %s AND {anchor}.account_id = %s AND {fts}.rowid IN ({within_sql}) "
        f"ORDER BY bm25({fts}, {weights}), {fts}.rowid DESC LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [fts_query(terms), account_id, *within_params, limit])
        return [row[0] for row in cursor.fetchall()]


def fts_query(terms: Terms) -> str:
    """Every word quoted (so ``NEAR``, ``AND``, ``*`` and ``-`` are plain text) and, from two
    characters on, a prefix; FTS5 ANDs them."""
    return " ".join(f'"{w}"*' if len(w) > 1 else f'"{w}"' for w in terms.words)
