"""Visitor tokens and signed customer identities.

A visitor token is ``<visitor id>.<signature>``: the id is random, the signature an HMAC
over the account id and the visitor id with the installation's secret key, so a token can
neither be guessed nor carried to another account. Issuing one writes nothing.

A host site identifies its logged-in customer by signing ``user_id``, ``email`` and
``name`` with the account's identity secret on its server (HMAC-SHA256, hex), so a visitor
cannot claim to be someone else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from saruna.core.ids import new_id
from saruna.core.models import Account
from saruna.visitors.models import Visitor, WidgetSecret

VISITOR_ID_LENGTH = Visitor.id_length


# Every beat of a visitor checks the same signature: remembered for the busiest visitors.
@lru_cache(maxsize=20_000)
def _token_signature(account_id: str, visitor_id: str) -> str:
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"visitor:{account_id}:{visitor_id}".encode(),
        hashlib.sha256,
    ).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def issue_visitor_token(account: Account) -> str:
    """A fresh token for a new browser."""
    visitor_id = new_id(VISITOR_ID_LENGTH)
    return f"{visitor_id}.{_token_signature(account.pk, visitor_id)}"


def visitor_id_from_token(account: Account, token: object) -> str | None:
    """The visitor id a token names, or None when it is malformed or not this account's."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 64:
        return None
    visitor_id, signature = token.split(".")
    if len(visitor_id) != VISITOR_ID_LENGTH:
        return None
    if not hmac.compare_digest(signature, _token_signature(account.pk, visitor_id)):
        return None
    return visitor_id


def visitor_for_token(account: Account, token: object, *, create: bool = True) -> Visitor | None:
    """The visitor row a valid token names (made when missing if ``create``); None for a bad
    token. Call inside the account's scope."""
    visitor_id = visitor_id_from_token(account, token)
    if visitor_id is None:
        return None
    visitor = Visitor.objects.filter(public_id=visitor_id).first()
    if visitor is not None or not create:
        return visitor
    try:
        with transaction.atomic():
            return Visitor.objects.create(account=account, public_id=visitor_id)
    except IntegrityError:  # another request made it first
        return Visitor.objects.get(public_id=visitor_id)


def widget_secret(account: Account) -> WidgetSecret:
    secret = WidgetSecret.objects.filter(account=account).first()
    if secret is not None:
        return secret
    try:
        with transaction.atomic():
            return WidgetSecret.objects.create(account=account)
    except IntegrityError:
        return WidgetSecret.objects.get(account=account)


@dataclass(frozen=True)
class CustomerIdentity:
    user_id: str
    email: str
    name: str


def identity_signature(secret: str, user_id: str, email: str, name: str) -> str:
    """What the host site's server computes: HMAC-SHA256 over the three values joined by
    newlines, in hex."""
    message = "\n".join([user_id, email, name]).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify_identity(account: Account, data: object) -> CustomerIdentity | None:
    """The customer identity in ``data`` (``user_id``, ``email``, ``name``, ``signature``)
    when its signature is right for this account, else None."""
    if not isinstance(data, dict):
        return None
    values = [data.get(key, "") for key in ("user_id", "email", "name", "signature")]
    if not all(isinstance(value, str) for value in values) or not values[0] or not values[3]:
        return None
    user_id, email, name, signature = values
    expected = identity_signature(widget_secret(account).identity_secret, user_id, email, name)
    if not hmac.compare_digest(signature.lower(), expected):
        return None
    return CustomerIdentity(user_id=user_id[:255], email=email[:254], name=name[:255])


def apply_identity(visitor: Visitor, identity: CustomerIdentity) -> None:
    """Records a verified identity on the visitor (the chat and tracking code join it to a
    contact)."""
    visitor.external_user_id = identity.user_id
    visitor.email = identity.email
    visitor.name = identity.name
    visitor.last_seen = timezone.now()
    visitor.save(update_fields=["external_user_id", "email", "name", "last_seen"])
