"""Group memberships that last as long as the socket.

The in-memory layer (like Channels' list-based Redis layer) forgets a channel's membership
of a group after ``group_expiry`` (a day), so that a process that died leaves no members
behind. A socket open longer than that (an agent's tab over a weekend) would stop getting
its groups' events without a sign. A socket joins its groups again on its client's
heartbeat, at most once per ``RENEW_EVERY`` seconds (with Redis pub/sub, which forgets
nothing, that costs nothing).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

RENEW_EVERY = 3600.0


async def renew_memberships(consumer: Any, groups: Iterable[str]) -> None:
    """On a heartbeat: joins ``groups`` again when the last renewal is an hour old."""
    now = time.monotonic()
    if now < getattr(consumer, "renew_memberships_at", 0.0):
        return
    consumer.renew_memberships_at = now + RENEW_EVERY
    for group in list(groups):
        await consumer.channel_layer.group_add(group, consumer.channel_name)
