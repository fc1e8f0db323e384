"""A real HTTP receiver on 127.0.0.1 (the installation allows private addresses and plain
http to it, as an on-premise one would) and a webhook of the test account pointed at it."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django_scopes import scope

from saruna.webhooks import actions
from saruna.webhooks.models import Event


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of ``answers`` (status, body, headers), then 200."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answers: list[tuple[int, str, dict[str, str]]] = field(default_factory=list)

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def answer(self, status: int, body: str = "", **headers: str) -> None:
        self.answers.append((status, body, headers))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status, text, headers = state.answers.pop(0) if state.answers else (200, "ok", {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(text.encode())))
            self.end_headers()
            self.wfile.write(text.encode())

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def on_premise(settings):
    settings.SARUNA_WEBHOOKS_ALLOW_PRIVATE = True
    settings.SARUNA_WEBHOOKS_HTTP_HOSTS = ["127.0.0.1", "localhost"]


@pytest.fixture
def webhook(account, owner, receiver, on_premise):
    with scope(account=account):
        return actions.create_webhook(
            account, actor=owner, url=receiver.url(), events=list(Event.values))
