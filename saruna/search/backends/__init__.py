"""One module per database engine, each with the same four functions:

``write_tickets(texts)`` / ``write_contacts(texts)`` store documents (insert or replace);
``match_tickets(account_id, terms, within, limit)`` / ``match_contacts(...)`` answer pks,
best first, among the rows of the ``within`` queryset of that account.
"""

from __future__ import annotations

from types import ModuleType

from django.db import connection


def current() -> ModuleType:
    if connection.vendor == "postgresql":
        from saruna.search.backends import postgres

        return postgres
    if connection.vendor == "sqlite":
        from saruna.search.backends import sqlite

        return sqlite
    raise NotImplementedError(f"search does not support {connection.vendor}")
