"""A real ASGI server (uvicorn) in a thread, serving the test database: for WebSocket and
browser tests. Accounts live at ``<slug>.localhost:<port>`` (browsers resolve ``*.localhost``
to loopback; other clients connect to 127.0.0.1 with that Host header)."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

import pytest
import uvicorn
from django.db import OperationalError

from saruna.realtime.protocol import WS_PROTOCOL

T = TypeVar("T")


def settled(read: Callable[[], T], attempts: int = 60) -> T:
    """``read()``, again while SQLite's shared in-memory test database says a table is
    locked: it refuses a read while the server's thread writes (a read receipt, a tracking
    beat), where a database file or PostgreSQL would wait."""
    for attempt in range(attempts):
        try:
            return read()
        except OperationalError as error:
            if "locked" not in str(error) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise AssertionError("unreachable")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    port: int

    def url(self, slug: str | None = None, path: str = "/") -> str:
        host = f"{slug}.localhost" if slug else "localhost"
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def asgi_server(transactional_db, settings) -> Iterator[LiveServer]:
    port = free_port()
    settings.SARUNA_BASE_DOMAIN = "localhost"
    settings.ALLOWED_HOSTS = ["localhost", ".localhost"]
    settings.SARUNA_PUBLIC_PORT = str(port)
    from saruna.asgi import application

    server = uvicorn.Server(
        uvicorn.Config(application, host="127.0.0.1", port=port, log_level="warning",
                       lifespan="off", ws=WS_PROTOCOL)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    yield LiveServer(port)
    server.should_exit = True
    thread.join(timeout=5)


def run_async(coroutine, timeout: float = 60) -> None:
    """Runs a client coroutine to its end in a thread of its own: the browser tests' sync
    Playwright keeps an event loop running in the main thread for the whole session."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as error:  # re-raised in the test's thread
            errors.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=timeout)
    if errors:
        raise errors[0]
    assert not thread.is_alive(), f"the client was still running after {timeout:.0f} s"
