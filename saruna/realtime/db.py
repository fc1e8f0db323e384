"""The database as the chat's WebSockets use it.

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

On an SQLite file (WAL), the commit that fills the write-ahead log past 1,000 pages copies
it into the database and waits for the disk: one chat message in some seventy took several
milliseconds longer. The socket thread's connection leaves that to a thread of its own that
checkpoints once a second (without blocking writers) while sockets are open.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from typing import Any

from channels.db import DatabaseSyncToAsync
from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

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


def _on_connection_created(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    if getattr(_calling, "loop", None) is not None:  # opened by a socket's database call
        checkpoint_in_background(connection)


connection_created.connect(_on_connection_created)


def checkpoint_in_background(connection: BaseDatabaseWrapper) -> None:
    """An SQLite file connection stops checkpointing on commit; the checkpointer does it."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    checkpointer.start(str(connection.settings_dict["NAME"]))


class WalCheckpointer:
    """Copies the write-ahead log into the SQLite database every ``interval`` seconds on a
    connection of its own, ``PASSIVE``: writers go on appending meanwhile."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.path: str | None = None
        self.thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()

    def start(self, path: str) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive() and self.path == path:
                return
            self.stop()
            self.path, self.stopping = path, threading.Event()
            self.thread = threading.Thread(target=self._run, args=(path, self.stopping),
                                           name="saruna-wal-checkpoint", daemon=True)
            self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _run(self, path: str, stopping: threading.Event) -> None:
        database = sqlite3.connect(path, timeout=5, check_same_thread=False)
        try:
            while not stopping.wait(self.interval):
                try:
                    database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # busy now: the next round copies it
                    logger.debug("WAL checkpoint of %s skipped", path, exc_info=True)
            database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            database.close()


checkpointer = WalCheckpointer()


def run(function: Callable[..., Any]) -> Callable[..., Any]:
    """``database_sync_to_async`` for the sockets: ``await run(f)(*args)``.

    The call runs in a copy of the socket's context (its tenant scope) and what it changes
    stays there: by default every call copied the context variables the thread had set
    back into the socket's context, about a kilobyte kept per open socket."""
    return _SocketDatabaseSyncToAsync(function, context=contextvars.copy_context())


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
    checkpointer.stop()
    for alias in connections:
        connection = connections[alias]
        connection.close()
        connection.settings_dict = connections.settings[alias]
