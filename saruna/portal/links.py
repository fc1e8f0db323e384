"""Absolute customer-portal links for e-mails (they leave the request, so they carry the host)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from saruna.core.models import Account
from saruna.core.urls import public_url
from saruna.tickets.models import Ticket


def _url(account: Account, name: str, **kwargs: str) -> str:
    path = reverse(name, urlconf=settings.SARUNA_TENANT_URLCONF, kwargs=kwargs or None)
    return public_url(account.host, path)


def ticket_url(ticket: Ticket) -> str:
    """The customer's own link to the ticket: no login needed, the token is the key."""
    return _url(ticket.account, "portal_ticket", urlcode=ticket.public_access_urlcode)


def home_url(account: Account) -> str:
    return _url(account, "portal_home")


def login_url(account: Account, token: str) -> str:
    return _url(account, "portal_login_link", token=token)
