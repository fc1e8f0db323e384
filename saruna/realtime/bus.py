"""Publishing events to WebSocket clients, after the writing transaction commits.

Group names start with the account id so that no event can cross tenants.
"""

from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction


def group_name(account_id: str, *parts: str) -> str:
    return ".".join(["account", account_id, *parts])


def user_group(account_id: str, user_id: str) -> str:
    return group_name(account_id, "user", user_id)


def publish(group: str, event_type: str, **payload: Any) -> None:
    """Send ``{"type": event_type, ...payload}`` to every consumer in ``group`` on commit."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, {"type": event_type, **payload})

    transaction.on_commit(send)
