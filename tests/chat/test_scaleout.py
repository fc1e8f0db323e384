"""Scale-out: two `saruna serve` processes on different ports share PostgreSQL and Redis; a
visitor connected to one and an agent connected to the other talk to each other."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.db import connection

from saruna.visitors.identity import issue_visitor_token
from tests.chat.helpers import make_button, put_online
from tests.chat.live import agent_socket, http, session_cookie, visitor_socket
from tests.factories import make_account, make_user
from tests.servers import free_port, run_async

pytestmark = pytest.mark.django_db(transaction=True)


def require_shared_servers() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("two processes need a shared database: runs in the PostgreSQL pass")
    if not settings.REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CI needs REDIS_URL for the two-process chat test", pytrace=False)
        pytest.skip("no REDIS_URL: the two-process chat test needs Redis")


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"saruna serve on port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"saruna serve did not listen on port {port}")


@pytest.fixture
def two_servers() -> Iterator[tuple[int, int]]:
    require_shared_servers()
    db = connection.settings_dict
    database_url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST']}:"
                    f"{db['PORT'] or 5432}/{db['NAME']}")
    env = {
        **os.environ, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
        "SECRET_KEY": settings.SECRET_KEY, "SARUNA_BASE_DOMAIN": "localhost",
    }
    ports = (free_port(), free_port())
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "saruna", "serve", "--no-worker", "--no-migrate",
             "--port", str(port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        for port in ports
    ]
    try:
        for port, process in zip(ports, processes, strict=True):
            wait_for_port(port, process)
        yield ports
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_visitor_on_one_process_and_agent_on_the_other_talk(two_servers, settings):
    visitor_port, agent_port = two_servers
    settings.SARUNA_BASE_DOMAIN = "localhost"
    account = make_account("alpha")
    agent = make_user(account, "agent@alpha.test", full_name="Anna Agent")
    put_online(agent)
    button = make_button(account)
    token = issue_visitor_token(account)
    cookie = session_cookie(account, agent)

    async def scenario():
        desk = await agent_socket(agent_port, "alpha", cookie)
        await desk.until("welcome")
        async with http(visitor_port, "alpha", token) as client:
            started = await client.post(f"/widget/{button.public_id}/chats/", json={
                "message": "Hello from port one", "client_id": "v-0"})
        assert started.status_code == 201, started.text
        chat = started.json()["chat"]
        # Rung across processes, through Redis.
        assert (await desk.until("ring"))["ring"]["chat"]["id"] == chat
        visitor = await visitor_socket(visitor_port, "alpha", chat, token)
        assert (await visitor.messages(1))[0]["body"] == "Hello from port one"

        await desk.send(type="accept", chat=chat)
        await desk.until("assigned")
        joined = await visitor.messages(1)  # the system line, made on the agent's process
        assert joined[0]["kind"] == "system"
        await desk.send(type="message", chat=chat, client_id="a-1", body="Hello from two")
        assert (await visitor.messages(1))[0]["body"] == "Hello from two"
        await visitor.send(type="message", client_id="v-1", body="Both ways")
        assert [m["body"] for m in await desk.messages(2)] == ["Hello from two", "Both ways"]
        await visitor.send(type="typing")
        assert (await desk.until("typing"))["side"] == "visitor"
        await visitor.close()
        await desk.close()

    run_async(scenario())
