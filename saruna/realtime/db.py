"""The database as the chat's WebSockets use it: one thread of the process runs every
socket's database call, one after another, on one connection that it keeps.

- The thread is this module's own, not asgiref's (``database_sync_to_async``): a call is a
  hand-over to the thread and a future back, without asgiref's per-call machinery, and the
  GIL is not fought over by more threads than needed.
- Channels closes the thread's connections before and after each call whenever
  ``CONN_MAX_AGE`` says they are too old: with the default 0, every socket event paid for a
  new connection (SQLite: open the file and set it up; PostgreSQL: a login). The socket
  thread keeps its connection for ``SOCKET_CONN_MAX_AGE`` instead, and checks it (Django's
  ``close_if_unusable_or_obsolete``, which with ``CONN_HEALTH_CHECKS`` makes the next query
  ping the server first) at most once every ``CHECK_EVERY`` seconds and after a call that
  failed on it: checking before every call cost PostgreSQL a ``SELECT 1`` per chat message.
  HTTP requests in the same process run on threads of their own and keep ``CONN_MAX_AGE``.

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
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)

SOCKET_CONN_MAX_AGE = 600
CHECK_EVERY = 1.0

# The thread every socket database call runs on.
socket_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="saruna-socket-db")
_calling = threading.local()
_open_sockets = 0
_count_lock = threading.Lock()


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


def run(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``await run(f)(*args)``: ``f`` runs on the socket thread.

    The call runs in a copy of the socket's context (its tenant scope) and what it changes
    stays there (asgiref copied the context variables the thread had set back into the
    socket's context: about a kilobyte kept per open socket)."""
    async def call(*args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(socket_thread, contextvars.copy_context().run, _on_thread,
                                          loop, function, args, kwargs)

    return call


def _on_thread(loop: asyncio.AbstractEventLoop, function: Callable[..., Any],
               args: tuple, kwargs: dict) -> Any:
    _keep_connections()
    _check_connections()
    _calling.loop = loop
    try:
        return function(*args, **kwargs)
    finally:
        _calling.loop = None


def _check_connections() -> None:
    """Closes a connection that failed or is too old, as Channels does before each call, but
    only once every ``CHECK_EVERY`` seconds for a connection that has not failed."""
    now = time.monotonic()
    due = now >= getattr(_calling, "next_check", 0.0)
    if due:
        _calling.next_check = now + CHECK_EVERY
    for connection in connections.all(initialized_only=True):
        if due or connection.errors_occurred:
            connection.close_if_unusable_or_obsolete()


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
