"""Full-text search over tickets and contacts; see :mod:`saruna.search.queries`.

``from saruna.search import search_tickets`` works: the names are loaded on first use, since
this package is imported before Django's models are ready.
"""

from typing import Any

_PUBLIC = {"search_tickets", "search_contacts", "in_order"}


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        from saruna.search import queries

        return getattr(queries, name)
    raise AttributeError(name)
