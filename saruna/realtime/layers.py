"""The channel layer of a single process (no ``REDIS_URL``)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer

# The name every hub's channel starts with.
HUB_CHANNEL_PREFIX = "hub."
# The key naming the hub that sent an event: it has handed it to its own sockets already.
ORIGIN = "origin"


class _Inbox:
    """One channel's messages waiting to be received, or the receiver waiting for one."""

    __slots__ = ("messages", "waiter")

    def __init__(self) -> None:
        self.messages: list[tuple[float, dict]] = []  # (expires at, message)
        self.waiter: asyncio.Future | None = None


class SingleProcessChannelLayer(InMemoryChannelLayer):
    """Channels' in-memory layer, made for a socket per visitor and per agent tab.

    - Its clean-up (messages past their expiry, group memberships past theirs) walks every
      channel and every group of the process, and Channels runs it on every ``receive`` and
      ``group_send``: a thousand chats kept a core busy with it. Expiry is a minute (a day
      for groups), so here a walk a second does.
    - A channel keeps a list and, while its consumer waits, one future, instead of an
      ``asyncio.Queue`` (four deques and an event, some 3 KiB per idle socket).
    - ``group_send`` hands the message to each channel directly instead of a task each, and
      not back to the hub that sent it (its ``origin``).
    - A hub's channel (``saruna.realtime.sockets``) carries the events of every socket of
      the process, so it has room for many more than a consumer's 100: a burst sent before
      the hub reads again must not be refused.
    """

    CLEAN_EVERY = 1.0
    HUB_CAPACITY = 100_000

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.channels: dict[str, _Inbox] = {}
        self._cleaned_at = 0.0

    async def send(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        inbox = self.channels.get(channel)
        if inbox is None:
            inbox = self.channels[channel] = _Inbox()
        waiter = inbox.waiter
        if waiter is not None and not waiter.done():
            inbox.waiter = None
            waiter.set_result(deepcopy(message))
            return
        if len(inbox.messages) >= self.get_capacity(channel):
            raise ChannelFull(channel)
        inbox.messages.append((time.time() + self.expiry, deepcopy(message)))

    def get_capacity(self, channel: str) -> int:
        if channel.startswith(HUB_CHANNEL_PREFIX):
            return self.HUB_CAPACITY
        return int(super().get_capacity(channel))

    async def receive(self, channel: str) -> dict:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        inbox = self.channels.get(channel)
        if inbox is None:
            inbox = self.channels[channel] = _Inbox()
        if inbox.messages:
            return inbox.messages.pop(0)[1]
        waiter = inbox.waiter = asyncio.get_running_loop().create_future()
        try:
            return await waiter
        finally:
            if inbox.waiter is waiter:
                inbox.waiter = None
            if not inbox.messages and inbox.waiter is None:
                self.channels.pop(channel, None)

    async def group_send(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        origin = message.get(ORIGIN)
        for channel in list(self.groups.get(group, ())):
            if channel == origin:
                continue
            with contextlib.suppress(ChannelFull):  # as Channels does: a full channel misses it
                await self.send(channel, message)

    def _clean_expired(self) -> None:
        if time.monotonic() - self._cleaned_at < self.CLEAN_EVERY:
            return
        self._cleaned_at = time.monotonic()
        now = time.time()
        for channel, inbox in list(self.channels.items()):
            expired = False
            while inbox.messages and inbox.messages[0][0] < now:
                inbox.messages.pop(0)
                expired = True
            if expired:  # as Channels does: a channel that lets messages expire is gone
                self._remove_from_groups(channel)
            if not inbox.messages and inbox.waiter is None:
                del self.channels[channel]
        timeout = int(now) - self.group_expiry
        for members in self.groups.values():
            for name, joined in list(members.items()):
                if joined and joined < timeout:
                    members.pop(name, None)
