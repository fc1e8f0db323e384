"""A change committed on a thread whose event loop has stopped (a server shutting down while
a socket's database call runs) does not block that thread: it is the process's one database
thread for sockets, and every socket would wait behind it."""

import asyncio
import os
import threading

import pytest
from asgiref.sync import SyncToAsync

from saruna.realtime import bus

pytestmark = pytest.mark.django_db


def test_publishing_for_a_stopped_loop_returns():
    stopped = asyncio.new_event_loop()  # never run again, as after a server's shutdown
    finished = threading.Event()

    def database_call() -> None:
        SyncToAsync.threadlocal.main_event_loop = stopped
        SyncToAsync.threadlocal.main_event_loop_pid = os.getpid()
        try:
            # Outside a transaction (this thread's connection autocommits): sent at once.
            bus.publish("account.a.inbox", "ticket.changed", ticket="t1")
            finished.set()
        finally:
            SyncToAsync.threadlocal.main_event_loop = None

    thread = threading.Thread(target=database_call, daemon=True)
    thread.start()
    thread.join(timeout=5)
    stopped.close()
    assert finished.is_set(), "publishing blocked the thread"
