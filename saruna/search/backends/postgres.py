"""PostgreSQL full text: tsvector columns on the anchor tables, built with the
``saruna_search`` configuration (``simple`` plus ``unaccent`` when the extension could be
created), a GIN index on ``document``, and a trigram index on ``keys`` (codes, addresses)
when ``pg_trgm`` is available, so part of an address or code finds it.

Ranking, as on SQLite: hits in a ticket's ``head`` (code, subject, people) first, then the
rest, each newest first. ``head`` is its own small column so that test reads little per
match; ``ts_rank`` over whole conversations would detoast every one of them.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection
from django.db.models import QuerySet

from saruna.search.documents import ContactText, TicketText
from saruna.search.terms import Terms, words_only

CONFIG = "saruna_search"


def write_tickets(texts: Sequence[TicketText]) -> None:
    sql = f"""
        WITH v AS (
            SELECT %s::bigint AS id, %s::text AS account_id, %s::text AS keys,
                   setweight(to_tsvector('{CONFIG}', %s::text), 'A') AS head,
                   to_tsvector('{CONFIG}', %s::text) AS body
        )
        INSERT INTO search_ticketdocument (ticket_id, account_id, keys, head, document)
        SELECT id, account_id, keys, head, head || body FROM v
        ON CONFLICT (ticket_id) DO UPDATE
        SET keys = EXCLUDED.keys, head = EXCLUDED.head, document = EXCLUDED.document
    """
    with connection.cursor() as cursor:
        cursor.executemany(sql, [
            (t.pk, t.account_id, t.keys, words_only(t.head), words_only(t.body)) for t in texts
        ])


def write_contacts(texts: Sequence[ContactText]) -> None:
    sql = f"""
        INSERT INTO search_contactdocument (contact_id, account_id, keys, document)
        VALUES (%s, %s, %s, to_tsvector('{CONFIG}', %s::text))
        ON CONFLICT (contact_id) DO UPDATE
        SET keys = EXCLUDED.keys, document = EXCLUDED.document
    """
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(t.pk, t.account_id, t.keys, words_only(t.head)) for t in texts])


def match_tickets(account_id: str, terms: Terms, within: QuerySet, limit: int) -> list[int]:
    return _match("search_ticketdocument", "ticket_id", "(d.head @@ q.q) DESC, d.ticket_id DESC",
                  account_id, terms, within, limit)


def match_contacts(account_id: str, terms: Terms, within: QuerySet, limit: int) -> list[int]:
    return _match(
        "search_contactdocument", "contact_id", "d.contact_id DESC", account_id, terms, within,
        limit,
    )


def _match(
    table: str, key: str, order: str, account_id: str, terms: Terms, within: QuerySet,
    limit: int,
) -> list[int]:
    within_sql, within_params = within.order_by().values("pk").query.sql_with_params()
    condition, like = "d.document @@ q.q", []
    if terms.identifier:
        condition += " OR d.keys LIKE %s"
        like.append("%" + _like_escape(terms.identifier) + "%")
    sql = f"""
        SELECT d.{key} FROM {table} d, to_tsquery('{CONFIG}', %s) AS q(q)
        WHERE d.account_id = %s AND ({condition}) AND d.{key} IN ({within_sql})
        ORDER BY {order}
        LIMIT %s
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [tsquery(terms), account_id, *like, *within_params, limit])
        return [row[0] for row in cursor.fetchall()]


def tsquery(terms: Terms) -> str:
    """Words joined with ``&``, each (from two characters on) a prefix. Words are letters and
    digits only, so nothing in them is tsquery syntax."""
    return " & ".join(f"{w}:*" if len(w) > 1 else w for w in terms.words)


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
