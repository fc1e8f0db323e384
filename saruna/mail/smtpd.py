"""Saruna's own SMTP server, for forwarding addresses ``<anything>@<slug>.<base-domain>``.

A recipient is accepted only when its domain is an account's host. The mail is stored once
per account it is addressed to, and the sender hears 250 only after every copy is committed;
anything that goes wrong while storing answers 451, so the sending server keeps the mail and
tries again (a copy stored before the failure comes again then; processing recognises it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections
from django.template.defaultfilters import filesizeformat
from django_scopes import scope

from saruna.core.tenancy import account_for_slug, account_slug_for_host
from saruna.mail.models import InboundMail, Mailbox
from saruna.mail.receive import MailTooLarge, store_inbound

log = logging.getLogger(__name__)
T = TypeVar("T")

TRY_LATER = "451 4.3.0 We could not store your mail just now. Please try again later."


def too_large_reply() -> str:
    limit = filesizeformat(settings.SARUNA_MAIL_MAX_BYTES).replace("\xa0", " ")
    return (f"552 5.3.4 Sorry, we accept mail of up to {limit} and this one is larger. "
            f"Please send big files as a link.")


def _forwarding_name(address: str) -> str:
    """``Sales+x@acme.example.com`` → ``sales``."""
    return address.rpartition("@")[0].split("+", 1)[0].lower()


def _account_slug(address: str) -> str:
    """The account an address belongs to; ``""`` for the base domain or a foreign one."""
    return account_slug_for_host(address.rpartition("@")[2]) or ""


async def _in_thread(func: Callable[..., T], *args: Any) -> T:
    """Runs a database call in a worker thread, the connection handled as for a request."""

    def call() -> T:
        close_old_connections()
        try:
            return func(*args)
        finally:
            close_old_connections()

    return await sync_to_async(call, thread_sensitive=False)()


def store_for_recipients(raw: bytes, envelope_from: str, recipients: list[str]) -> None:
    """Stores the mail once for each account among ``recipients``, in the mailbox whose
    forwarding name is the first matching recipient's local part (before any ``+``)."""
    by_slug: dict[str, list[str]] = {}
    for address in recipients:
        by_slug.setdefault(_account_slug(address), []).append(address)
    for slug, addresses in by_slug.items():
        account = account_for_slug(slug)
        if account is None:  # gone since RCPT
            continue
        with scope(account=account):
            names = [_forwarding_name(address) for address in addresses]
            forwarding = {mailbox.forward_local_part.lower(): mailbox for mailbox in
                          Mailbox.objects.filter(is_active=True).exclude(forward_local_part="")}
            mailbox = next((forwarding[name] for name in names if name in forwarding), None)
            store_inbound(account, raw, source=InboundMail.Source.SMTP, mailbox=mailbox,
                          envelope_from=envelope_from, envelope_to=addresses)


class ForwardingHandler:
    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        slug = _account_slug(address)
        if not slug:
            return "550 5.7.1 This server only accepts mail for its accounts' addresses."
        try:
            account = await _in_thread(account_for_slug, slug)
        except Exception:
            log.exception("Looking up the account for %s failed", address)
            return TRY_LATER
        if account is None:
            return f"550 5.1.1 There is no account “{slug}” here."
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.original_content, bytes)
        try:
            await _in_thread(store_for_recipients, envelope.original_content,
                             envelope.mail_from or "", list(envelope.rcpt_tos))
        except MailTooLarge:
            return too_large_reply()
        except Exception:
            # Whatever it was, the mail is not safely stored: a 5xx would make the sender
            # give up on it, a 4xx makes them try again.
            log.exception("Storing a mail from %s failed", envelope.mail_from)
            return TRY_LATER
        return "250 2.0.0 Received, thank you."


class _Server(SMTP):
    async def push(self, status: Any) -> None:
        # aiosmtpd refuses mail over the SIZE limit itself, tersely; say it our way.
        if isinstance(status, str) and status.startswith("552 "):
            status = too_large_reply()
        await super().push(status)


class ForwardingServer(Controller):
    """The server in a thread of its own: ``start()``, ``stop()``."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(ForwardingHandler(), hostname=host, port=port,
                         server_hostname=settings.SARUNA_BASE_DOMAIN,
                         data_size_limit=settings.SARUNA_MAIL_MAX_BYTES)

    def factory(self) -> SMTP:
        return _Server(self.handler, **self.SMTP_kwargs)
