"""The database as the WebSocket consumers use it.

Channels runs every ``database_sync_to_async`` call of a process on one thread and calls
``close_old_connections`` before and after it, which closes that thread's connection
whenever ``CONN_MAX_AGE`` says it is too old: with the default 0, every socket event paid
for a new connection (SQLite: open the file and set it up; PostgreSQL: a login). Here the
socket thread keeps its connection for ``SOCKET_CONN_MAX_AGE`` instead — it is one thread,
so one connection per process — and checks it before each use like any persistent one
(``CONN_HEALTH_CHECKS``). HTTP requests in the same process run on threads of their own
and keep ``CONN_MAX_AGE``.

A process without chat sockets keeps no connection: when the last one closes, the thread's
connection closes and goes back to ``CONN_MAX_AGE`` (so a test database can be dropped).

:func:`run` also notes the event loop that waits for the call, so that a broadcast made
after the commit goes back to that loop instead of holding the database thread while it
is sent (``saruna.realtime.bus``).
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import connections

SOCKET_CONN_MAX_AGE = 600

_calling = threading.local()
_open_sockets = 0
_count_lock = threading.Lock()


class _SocketDatabaseSyncToAsync(DatabaseSyncToAsync):
    def thread_handler(self, loop: asyncio.AbstractEventLoop, *args: Any, **kwargs: Any) -> Any:
        _keep_connections()
        _calling.loop = loop
        try:
            return super().thread_handler(loop, *args, **kwargs)
        finally:
            _calling.loop = None


def run(function: Callable[..., Any]) -> Callable[..., Any]:
    """``database_sync_to_async`` for the sockets: ``await run(f)(*args)``."""
    return _SocketDatabaseSyncToAsync(function)


def calling_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop waiting for the database call running on this thread, if any."""
    return getattr(_calling, "loop", None)


def _keep_connections() -> None:
    """Gives this thread's connections a settings copy that keeps them open (once each)."""
    for alias in connections:
        connection = connections[alias]
        if connection.settings_dict.get("CONN_MAX_AGE") == SOCKET_CONN_MAX_AGE:
            continue
        connection.settings_dict = {**connection.settings_dict,
                                    "CONN_MAX_AGE": SOCKET_CONN_MAX_AGE}
        if connection.connection is not None:
            connection.close_at = time.monotonic() + SOCKET_CONN_MAX_AGE


def socket_opened() -> None:
    global _open_sockets
    with _count_lock:
        _open_sockets += 1


async def socket_closed() -> None:
    global _open_sockets
    with _count_lock:
        _open_sockets -= 1
        last = _open_sockets == 0
    if last:
        await run(_release_connections)()


def _release_connections() -> None:
    for alias in connections:
        connection = connections[alias]
        connection.close()
        connection.settings_dict = connections.settings[alias]
