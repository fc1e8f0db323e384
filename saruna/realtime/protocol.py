"""uvicorn's WebSocket protocol (``websockets-sansio``), lighter per open connection.

A server holds one per open socket, and the chat has one per open widget and agent tab. The
protocol kept an ``asyncio.Queue`` for the frames the application has not read yet (four
deques and an event, some 3 KiB, for a queue that is nearly always empty), an
``asyncio.Event`` for write flow control, and the parsed handshake request and response
after the handshake. Here the queue and the event are a list and a future each, and the
handshake is let go once it is answered.

``saruna serve`` uses it; a uvicorn of its own takes ``--ws`` :data:`WS_PROTOCOL`.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

WS_PROTOCOL = "saruna.realtime.protocol:LeanWebSocketProtocol"


class _Inbox:
    """What uvicorn asks of its queue: ``put_nowait``, ``get`` and ``empty``."""

    __slots__ = ("items", "waiter")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.waiter: asyncio.Future | None = None

    def put_nowait(self, item: Any) -> None:
        self.items.append(item)
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(None)

    async def get(self) -> Any:
        while not self.items:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        return self.items.pop(0)

    def empty(self) -> bool:
        return not self.items


class _Flag:
    """What uvicorn asks of ``asyncio.Event``: ``set``, ``clear`` and ``wait``."""

    __slots__ = ("is_on", "waiters")

    def __init__(self) -> None:
        self.is_on = True
        self.waiters: list[asyncio.Future] | None = None

    def set(self) -> None:
        self.is_on = True
        for waiter in self.waiters or ():
            if not waiter.done():
                waiter.set_result(None)
        self.waiters = None

    def clear(self) -> None:
        self.is_on = False

    def is_set(self) -> bool:
        return self.is_on

    async def wait(self) -> None:
        if self.is_on:
            return
        waiter = asyncio.get_running_loop().create_future()
        if self.waiters is None:
            self.waiters = []
        self.waiters.append(waiter)
        await waiter


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete:  # the request and response are not read again
            self.request = self.response = None  # type: ignore[assignment]
