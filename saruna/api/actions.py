"""Every write to API keys: make one (the secret is returned once), change, revoke. Each is
audited."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from saruna.api import privileges
from saruna.api.models import ApiKey, hash_secret
from saruna.contacts.common import ActionError
from saruna.core import audit
from saruna.core.models import Account

if TYPE_CHECKING:
    from saruna.accounts.models import User

SECRET_ALPHABET = string.ascii_lowercase + string.digits
SECRET_LENGTH = 32


def create_api_key(
    account: Account,
    *,
    name: str = "",
    read_only: bool = False,
    scopes: Iterable[str] | None = None,
    user: User | None = None,
    created_by: User | None = None,
    whitelist: str = "*",
    valid_to: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key and its secret — the only time the secret exists in clear. Privileges:
    ``scopes`` when given, else every read privilege (``read_only``) or all of them. The key
    acts as ``user`` (default: whoever creates it, else the account's owner)."""
    chosen = set(scopes) if scopes is not None else set(
        privileges.READ_ONLY if read_only else privileges.ALL
    )
    bad = privileges.unknown(sorted(chosen))
    if bad:
        raise ActionError(gettext("Unknown privilege: %(p)s") % {"p": ", ".join(bad)})
    if user is None:
        user = created_by or _owner(account)
    if user is not None and user.account_id != account.pk:
        raise ActionError(gettext("Unknown user."))
    secret = "".join(secrets.choice(SECRET_ALPHABET) for _ in range(SECRET_LENGTH))
    with transaction.atomic():
        key = ApiKey.objects.create(
            account=account, name=name.strip()[:100], key_hash=hash_secret(secret),
            key_last4=secret[-4:], privileges=sorted(chosen), user=user, created_by=created_by,
            whitelist=whitelist.strip() or "*", valid_to=valid_to,
        )
        if not key.name:
            key.name = gettext("API key %(id)s") % {"id": key.pk}
            key.save(update_fields=["name"])
        audit.record(account, "api_key.created", actor=created_by, target=key,
                     read_only=key.is_read_only)
    return key, secret


def update_api_key(
    key: ApiKey, *, actor: User | None = None, name: str | None = None,
    scopes: Iterable[str] | None = None, whitelist: str | None = None,
    valid_to: datetime | None = None, clear_valid_to: bool = False,
) -> ApiKey:
    """Changes what is given; ``scopes`` replaces the whole set."""
    if scopes is not None:
        chosen = set(scopes)
        bad = privileges.unknown(sorted(chosen))
        if bad:
            raise ActionError(gettext("Unknown privilege: %(p)s") % {"p": ", ".join(bad)})
        key.privileges = sorted(chosen)
    if name is not None:
        if not name.strip():
            raise ActionError(gettext("The name cannot be empty."))
        key.name = name.strip()[:100]
    if whitelist is not None:
        key.whitelist = whitelist.strip() or "*"
    if valid_to is not None or clear_valid_to:
        key.valid_to = valid_to
    with transaction.atomic():
        key.save()
        audit.record(key.account, "api_key.changed", actor=actor, target=key)
    return key


def revoke_api_key(key: ApiKey, *, actor: User | None = None) -> ApiKey:
    """Stops the key at once; revoking twice is a no-op."""
    if key.revoked_at is not None:
        return key
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit.record(key.account, "api_key.revoked", actor=actor, target=key)
    return key


def _owner(account: Account) -> User | None:
    from saruna.accounts.models import User

    return User.objects.filter(account=account, role=User.Role.OWNER).first()
