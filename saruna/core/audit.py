"""Writing the audit log. Every action that changes something an owner cares about calls
:func:`record` inside its own transaction."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest

from saruna.core.models import Account, AuditEvent
from saruna.core.net import client_ip

if TYPE_CHECKING:
    from saruna.accounts.models import User


def record(
    account: Account,
    verb: str,
    *,
    actor: User | None = None,
    actor_type: str | None = None,
    target: Any = None,
    request: HttpRequest | None = None,
    **details: Any,
) -> AuditEvent:
    """Append one event. ``actor`` None means the system; staff actors are marked as such."""
    if actor_type is None:
        if actor is None:
            actor_type = AuditEvent.ActorType.SYSTEM
        elif actor.account_id is None:
            actor_type = AuditEvent.ActorType.STAFF
        else:
            actor_type = AuditEvent.ActorType.USER
    return AuditEvent.objects.create(
        account=account,
        actor_type=actor_type,
        actor_user=actor,
        actor_label=(actor.email if actor is not None else "") if actor_type != "system" else "",
        verb=verb,
        target_type=target._meta.model_name if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_label=str(target)[:200] if target is not None else "",
        ip=client_ip(request) if request is not None else None,
        details=details,
    )
