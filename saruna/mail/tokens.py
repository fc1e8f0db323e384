"""What lets a reply find its ticket again: a signed token per ticket, carried in the
Reply-To address (``<slug>+<token>@<slug>.<base-domain>``) and in the Message-ID of every
mail we send (``<saruna.<token>.<random>@<slug>.<base-domain>>``).

The token is the ticket's public id and an HMAC of it with the account, so it cannot be
guessed or moved to another ticket or account.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

from saruna.core.models import Account

_SIGNATURE_CHARS = 10
_TOKEN = re.compile(rf"t([a-z0-9]{{4,16}})-([0-9a-f]{{{_SIGNATURE_CHARS}}})")


def _signature(account_id: str, ticket_public_id: str) -> str:
    message = f"mail-reply:{account_id}:{ticket_public_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[
        :_SIGNATURE_CHARS
    ]


def ticket_token(account: Account, ticket_public_id: str) -> str:
    return f"t{ticket_public_id}-{_signature(account.pk, ticket_public_id)}"


def mail_domain(account: Account) -> str:
    return f"{account.slug}.{settings.SARUNA_BASE_DOMAIN}"


def reply_address(account: Account, ticket_public_id: str) -> str:
    return f"{account.slug}+{ticket_token(account, ticket_public_id)}@{mail_domain(account)}"


def new_message_id(account: Account, ticket_public_id: str | None) -> str:
    """A Message-ID for a mail we send, with the ticket's token when there is a ticket."""
    token = f"{ticket_token(account, ticket_public_id)}." if ticket_public_id else ""
    return f"<saruna.{token}{secrets.token_hex(8)}@{mail_domain(account)}>"


def tickets_in(account: Account, texts: list[str]) -> list[str]:
    """Public ids of the tickets whose valid token appears in any of ``texts`` (addresses or
    Message-IDs), in order of appearance; forged or foreign tokens are ignored."""
    found: list[str] = []
    for text in texts:
        for public_id, signature in _TOKEN.findall(text.lower()):
            expected = _signature(account.pk, public_id)
            if hmac.compare_digest(signature, expected) and public_id not in found:
                found.append(public_id)
    return found
