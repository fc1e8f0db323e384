"""Publishing events to WebSocket clients, after the writing transaction commits.

Group names start with the account id so that no event can cross tenants.

A write made for a socket (``saruna.realtime.db.run``) hands its events to the event loop
that waits for it: the database thread, which every socket of the process shares, goes on
with the next write while the loop sends. There the loop's hub (``saruna.realtime.sockets``)
hands each event to the process's own sockets at once, and one sender per loop sends it to
the channel layer for everyone else (other processes, Channels consumers), one after
another in the order of their commits. Other writers (HTTP views, tasks) send before they
return.
"""

import asyncio
import logging
from collections import deque
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from saruna.realtime.db import calling_loop
from saruna.realtime.sockets import local_hub

logger = logging.getLogger(__name__)


def group_name(account_id: str, *parts: str) -> str:
    return ".".join(["account", account_id, *parts])


def user_group(account_id: str, user_id: str) -> str:
    return group_name(account_id, "user", user_id)


def publish(group: str, event_type: str, **payload: Any) -> None:
    """Send ``{"type": event_type, "group": group, ...payload}`` to every socket in ``group``
    on commit (the group tells ``saruna.realtime.sockets`` which of its sockets want it)."""
    event = {"type": event_type, "group": group, **payload}

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        loop = _waiting_loop()
        if loop is None:  # a plain thread (a WSGI request, the worker): a loop of its own
            async_to_sync(layer.group_send)(group, event)
            return
        try:
            loop.call_soon_threadsafe(_sender(loop).put, layer, group, event)
        except RuntimeError:  # the loop closed meanwhile: its server is gone
            logger.warning("Dropped %s to %s: the event loop has closed", event_type, group)

    transaction.on_commit(send)


def _waiting_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop waiting for this thread's sync call (a socket's database call, an
    ASGI request's view), if any. The event is handed to it rather than sent from here with
    ``async_to_sync``, which would block this thread — the process's one database thread,
    for sockets — until that loop ran it, forever if the loop had stopped."""
    loop = calling_loop() or getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    return loop if loop is not None and not loop.is_closed() else None


class _Sender:
    """Sends the events handed to one event loop, in the order they came."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.waiting: deque[tuple[Any, str, dict]] = deque()
        self.task: asyncio.Task | None = None

    def put(self, layer: Any, group: str, event: dict) -> None:
        hub = local_hub(self.loop)
        if hub is not None:
            event = hub.deliver(event)
        self.waiting.append((layer, group, event))
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._send_all())

    async def _send_all(self) -> None:
        while self.waiting:
            layer, group, event = self.waiting.popleft()
            try:
                await layer.group_send(group, event)
            except Exception:  # one lost event must not stop the ones after it
                logger.exception("Could not send %s to %s", event["type"], group)


_senders: dict[asyncio.AbstractEventLoop, _Sender] = {}


def _sender(loop: asyncio.AbstractEventLoop) -> _Sender:
    sender = _senders.get(loop)
    if sender is None:
        # Loops come and go in tests (a server per test): forget closed ones.
        for closed in [known for known in _senders if known.is_closed()]:
            del _senders[closed]
        sender = _senders[loop] = _Sender(loop)
    return sender
