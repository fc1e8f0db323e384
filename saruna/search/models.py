"""One search document per ticket and per contact.

The rows here are anchors: they carry the tenant (``account``) and follow their ticket or
contact through Django's cascade. The searchable text lives beside them in what each
database does best, created by this app's migration for the connection's vendor:

- SQLite: FTS5 tables ``search_ticket_fts`` / ``search_contact_fts`` whose ``rowid`` is the
  ticket or contact pk; a trigger deletes their row when the anchor goes.
- PostgreSQL: extra columns on these tables (``head`` and ``document`` tsvectors with a GIN
  index, ``keys`` with a trigram index when ``pg_trgm`` is available).

Neither is part of the model state: Django never reads them, :mod:`saruna.search.backends`
does.
"""

from __future__ import annotations

from django.db import models

from saruna.contacts.models import Contact
from saruna.core.models import TenantModel
from saruna.tickets.models import Ticket


class TicketDocument(TenantModel):
    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )


class ContactDocument(TenantModel):
    contact = models.OneToOneField(
        Contact, primary_key=True, on_delete=models.CASCADE, related_name="+"
    )
