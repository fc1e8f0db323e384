"""WebSockets served straight from ASGI, for the sockets a process holds by the thousand
(the chat's: one per open widget, one per agent tab).

A Channels consumer costs some 17 KiB per open socket on top of the server's own: a
channel-layer channel and inbox per socket, two tasks waiting on it and on the client, a copy
of the scope per middleware, and each middleware's frame. Here a socket is one object and
the coroutine that reads its client; events reach it through its process's :class:`Hub`.

- The hub holds one channel of the layer for the whole process (per event loop). It joins a
  group on the layer when the first socket of the process follows the group and leaves it
  with the last; an event arrives once per process and goes to the sockets that follow its
  group (events carry their ``group``: ``saruna.realtime.bus`` adds it).
- An event committed on this process's loop (a socket's write, ``saruna.realtime.bus``)
  reaches its sockets straight from the hub (:meth:`Hub.deliver`), not through the layer:
  the copy the layer brings back carries the hub's channel as its ``origin`` and is skipped.
- A socket handles one thing at a time, as a consumer does: a client frame and the events
  for it take turns (:attr:`Socket.lock`), so a catch-up read and live broadcasts do not
  interleave. An event that arrives while the socket is busy waits in its mailbox.
- Handlers are named like Channels': an event of type ``chat.message`` calls
  ``chat_message``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from http.cookies import SimpleCookie
from importlib import import_module
from typing import Any
from urllib.parse import urlparse

from channels.layers import get_channel_layer
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user
from django_scopes import scope as tenant_scope

from saruna.core.models import Account
from saruna.realtime import db, groups
from saruna.realtime.layers import HUB_CHANNEL_PREFIX, ORIGIN
from saruna.realtime.middleware import accounts

logger = logging.getLogger(__name__)

Receive = Callable[[], Awaitable[dict]]
Send = Callable[[dict], Awaitable[None]]


class Hub:
    """The process's (the event loop's) one channel of the channel layer, shared by its
    sockets."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.layer = get_channel_layer()
        self.channel = ""
        self.members: dict[str, set[Socket]] = {}
        self.joining: dict[str, asyncio.Task] = {}  # groups whose group_add is on its way
        self.names = itertools.count(1)
        self.opening: asyncio.Task | None = None
        self.reader: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()  # sockets' turns with their mailboxes
        self.renew_at = 0.0

    async def start(self) -> None:
        """Opens the hub's channel once, however many sockets ask for it at the same time;
        after a failure (the layer's server down) the next socket tries again."""
        if self.opening is None or (self.opening.done() and not self.opening.cancelled()
                                    and self.opening.exception() is not None):
            self.opening = self.loop.create_task(self._open())
        await self.opening

    async def _open(self) -> None:
        self.channel = await self.layer.new_channel(prefix=HUB_CHANNEL_PREFIX)
        self.reader = self.loop.create_task(self._read())

    def keep(self, work: Coroutine[Any, Any, None]) -> None:
        """Runs ``work`` as a task the hub holds until it ends (the loop holds tasks only
        weakly)."""
        task = self.loop.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def deliver(self, event: dict) -> dict:
        """Hands ``event`` to this process's sockets that follow its group now, and answers
        the copy for the layer to take to everyone else, marked as this hub's own."""
        self._hand(event)
        return {**event, ORIGIN: self.channel}

    async def publish(self, group: str, event: dict) -> None:
        await self.layer.group_send(group, self.deliver({**event, "group": group}))

    def _hand(self, event: dict) -> None:
        for socket in list(self.members.get(event.get("group", ""), ())):
            socket.post(event)

    def name(self) -> str:
        """A name for a socket, unique among all processes (events name their sender so
        that the sender can skip its own typing notice)."""
        return f"{self.channel}#{next(self.names)}"

    async def join(self, group: str, socket: Socket) -> None:
        """Returns once the hub is in ``group`` on the layer: a socket that joins while
        another's join is on its way (a Redis SUBSCRIBE) waits for it too, or it could read
        its catch-up before events reach the process."""
        members = self.members.get(group)
        if members is None:
            members = self.members[group] = set()
            self.joining[group] = self.loop.create_task(self.layer.group_add(group, self.channel))
        members.add(socket)
        pending = self.joining.get(group)
        if pending is not None:
            try:
                await asyncio.shield(pending)
            finally:
                if pending.done() and self.joining.get(group) is pending:
                    del self.joining[group]

    async def leave(self, group: str, socket: Socket) -> None:
        members = self.members.get(group)
        if members is None or socket not in members:
            return
        members.discard(socket)
        if not members:
            del self.members[group]
            pending = self.joining.get(group)
            if pending is not None:  # discarding first would leave the hub subscribed
                with contextlib.suppress(Exception):
                    await asyncio.shield(pending)
                if group in self.members:  # another socket joined meanwhile
                    return
            await self.layer.group_discard(group, self.channel)

    async def renew(self) -> None:
        """Joins every group again once an hour (see ``saruna.realtime.groups``), on a
        socket's heartbeat rather than a timer of its own."""
        if time.monotonic() < self.renew_at:
            return
        self.renew_at = time.monotonic() + groups.RENEW_EVERY
        for group in list(self.members):
            await self.layer.group_add(group, self.channel)

    async def _read(self) -> None:
        while True:
            try:
                event = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # one bad read must not deafen every socket of the process
                logger.exception("Could not read the hub's channel")
                await asyncio.sleep(0.1)
                continue
            if event.get(ORIGIN) != self.channel:  # its own came straight from deliver()
                self._hand(event)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def local_hub(loop: asyncio.AbstractEventLoop) -> Hub | None:
    """The started hub of ``loop``, if its process serves sockets on it."""
    found = _hubs.get(loop)
    return found if found is not None and found.channel else None


async def hub() -> Hub:
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        # Loops come and go in tests (a server per test): forget closed ones.
        for closed in [known for known in _hubs if known.is_closed()]:
            del _hubs[closed]
        found = _hubs[loop] = Hub(loop)
    await found.start()
    return found


class Socket:
    """One client's WebSocket. Subclasses define ``connect``, ``receive_json`` and event
    handlers; ``join``/``leave`` follow groups, ``send_json`` answers the client."""

    __slots__ = ("_send", "account", "channel_name", "groups_joined", "hub", "lock", "mailbox")

    def __init__(self, hub: Hub, account: Account, send: Send) -> None:
        self.hub = hub
        self.account = account
        self._send = send
        self.channel_name = hub.name()
        self.groups_joined: set[str] = set()
        self.lock = asyncio.Lock()
        self.mailbox: deque[dict] | None = None  # events waiting while the socket is busy

    # --- what subclasses use ----------------------------------------------------------------

    async def connect(self) -> None:
        await self.accept()

    async def disconnect(self, code: int) -> None:
        """The client has gone; the socket has left its groups already."""

    async def receive_json(self, content: Any) -> None:
        raise NotImplementedError

    async def accept(self) -> None:
        await self._send({"type": "websocket.accept"})

    async def close(self, code: int = 1000) -> None:
        await self._send({"type": "websocket.close", "code": code})

    async def send_json(self, content: Any) -> None:
        await self._send({"type": "websocket.send", "text": json.dumps(content)})

    async def join(self, group: str) -> None:
        if group not in self.groups_joined:
            self.groups_joined.add(group)
            await self.hub.join(group, self)

    async def leave(self, group: str) -> None:
        if group in self.groups_joined:
            self.groups_joined.discard(group)
            await self.hub.leave(group, self)

    async def group_send(self, group: str, event: dict) -> None:
        await self.hub.publish(group, event)

    async def heartbeat(self) -> None:
        await self.hub.renew()
        await self.send_json({"type": "pong"})

    # --- the connection ---------------------------------------------------------------------

    async def run(self, receive: Receive) -> None:
        """Handles the client's messages until it goes. However it ends (a handler's error
        too, which then closes the socket as a consumer's would), the socket leaves its
        groups: the hub would otherwise keep handing it events."""
        db.socket_opened()
        code = 1011
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.connect":
                    async with self.lock:
                        await self.connect()
                elif kind == "websocket.receive":
                    content = _json(message)
                    if content is not None:
                        async with self.lock:
                            await self.receive_json(content)
                elif kind == "websocket.disconnect":
                    code = message.get("code", 1000)
                    return
        finally:
            try:
                for group in list(self.groups_joined):
                    await self.leave(group)
                async with self.lock:
                    await self.disconnect(code)
            finally:
                await db.socket_closed()

    def post(self, event: dict) -> None:
        """An event of a group the socket follows: handled in turn with the client's frames."""
        if self.mailbox is None:
            self.mailbox = deque()
            self.hub.keep(self._drain(self.mailbox))
        self.mailbox.append(event)

    async def _drain(self, mailbox: deque[dict]) -> None:
        async with self.lock:
            while mailbox:
                event = mailbox.popleft()
                handler = getattr(self, event["type"].replace(".", "_"), None)
                if handler is None:
                    logger.error("%s has no handler for %s", type(self).__name__,
                                 event["type"])
                    continue
                try:
                    await handler(event)
                except Exception:  # the next event still gets its turn
                    logger.exception("%s failed on %s", type(self).__name__, event["type"])
            self.mailbox = None


def _json(message: dict) -> Any:
    text = message.get("text")
    if text is None and message.get("bytes") is not None:
        text = message["bytes"].decode("utf-8", "replace")
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


# --- the ASGI application -------------------------------------------------------------------

CLOSE_UNKNOWN_ACCOUNT = 4404
CLOSE_UNAUTHORISED = 4401
Route = tuple[re.Pattern[str], Callable[..., Awaitable[Socket | None]]]


class SocketRouter:
    """Serves the paths of ``routes`` (``(pattern, open)``: ``open(hub, account, scope,
    send, **groups of the pattern)`` answers the socket, or None to refuse it) and hands any
    other WebSocket to ``fallback``. Origins are checked as Channels'
    ``AllowedHostsOriginValidator`` does and the account is the Host's, as for HTTP."""

    def __init__(self, routes: list[Route], fallback: Any) -> None:
        self.routes = routes
        self.fallback = fallback
        self.origins = OriginValidator(None, _allowed_origins())

    async def __call__(self, scope: dict, receive: Receive, send: Send) -> None:
        for pattern, open_socket in self.routes:
            match = pattern.match(scope["path"])
            if match is not None:
                await self._serve(scope, receive, send, open_socket, match.groupdict())
                return
        await self.fallback(scope, receive, send)

    async def _serve(self, scope: dict, receive: Receive, send: Send,
                     open_socket: Callable[..., Awaitable[Socket | None]],
                     kwargs: dict[str, str]) -> None:
        if not self.origins.valid_origin(_origin(scope)):
            await send({"type": "websocket.close", "code": 403})
            return
        account = await accounts.resolve(scope)
        if account is None:
            await send({"type": "websocket.close", "code": CLOSE_UNKNOWN_ACCOUNT})
            return
        with tenant_scope(account=account):
            socket = await open_socket(await hub(), account, scope, send, **kwargs)
            if socket is None:
                await send({"type": "websocket.close", "code": CLOSE_UNAUTHORISED})
                return
            # Read: the server keeps the scope while the socket is open (a kilobyte each).
            scope["headers"] = []
            await socket.run(receive)


def _allowed_origins() -> list[str]:
    """Channels' ``AllowedHostsOriginValidator``: ALLOWED_HOSTS, or any while DEBUG has
    none."""
    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return allowed


def _origin(scope: dict) -> Any:
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            with contextlib.suppress(UnicodeDecodeError):
                return urlparse(value.decode("latin1"))
    return None


class _SessionRequest:
    """What ``django.contrib.auth.get_user`` reads of a request: its session."""

    def __init__(self, session: Any) -> None:
        self.session = session


def session_user(scope: dict) -> Any:
    """The user of the session cookie, as Django's ``AuthenticationMiddleware`` would see it
    (the session's hash checked), or None. Runs on the database thread."""
    cookies = SimpleCookie()
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            with contextlib.suppress(Exception):
                cookies.load(value.decode("latin1"))
    morsel = cookies.get(settings.SESSION_COOKIE_NAME)
    if morsel is None:
        return None
    store = import_module(settings.SESSION_ENGINE).SessionStore(morsel.value)
    user = get_user(_SessionRequest(store))  # type: ignore[arg-type]
    return user if user.is_authenticated else None
