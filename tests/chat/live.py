"""Clients for chat tests over a real server: the visitor's HTTP endpoints and both sides'
WebSockets (the ``websockets`` library, Host header of the account, its own Origin)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import websockets
from django.conf import settings
from django.test import Client


def session_cookie(account, user) -> str:
    client = Client(HTTP_HOST=account.host)
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Frames:
    """One WebSocket with helpers to wait for frames of a type (others are kept)."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.kept: list[dict] = []

    async def send(self, **frame: Any) -> None:
        await self.ws.send(json.dumps(frame))

    async def next(self, timeout: float = 10) -> dict:
        if self.kept:
            return self.kept.pop(0)
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))

    async def until(self, kind: str, timeout: float = 10) -> dict:
        """The next frame of ``kind``; frames of other types before it stay for later."""
        for index, frame in enumerate(self.kept):
            if frame["type"] == kind:
                return self.kept.pop(index)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            frame = json.loads(await asyncio.wait_for(self.ws.recv(), deadline - loop.time()))
            if frame["type"] == kind:
                return frame
            self.kept.append(frame)

    async def messages(self, count: int, timeout: float = 20) -> list[dict]:
        return [(await self.until("message", timeout))["message"] for _ in range(count)]

    async def quiet(self, seconds: float = 0.5) -> list[dict]:
        """Whatever arrives within ``seconds`` (to prove nothing more does)."""
        frames = list(self.kept)
        self.kept.clear()
        try:
            while True:
                frames.append(json.loads(await asyncio.wait_for(self.ws.recv(), seconds)))
        except TimeoutError:
            return frames

    async def close(self) -> None:
        await self.ws.close()


async def open_socket(port: int, slug: str, path: str, cookie: str = "") -> Frames:
    headers = {"Origin": f"http://{slug}.localhost:{port}"}
    if cookie:
        headers["Cookie"] = f"sessionid={cookie}"
    ws = await websockets.connect(
        f"ws://{slug}.localhost:{port}{path}", host="127.0.0.1", port=port,
        additional_headers=headers, open_timeout=10,
    )
    return Frames(ws)


async def visitor_socket(port: int, slug: str, chat: str, token: str,
                         after_seq: int = 0) -> Frames:
    socket = await open_socket(port, slug, f"/ws/chat/visitor/{chat}/")
    await socket.send(type="hello", token=token, after_seq=after_seq)
    return socket


async def agent_socket(port: int, slug: str, cookie: str) -> Frames:
    return await open_socket(port, slug, "/ws/chat/agent/", cookie)


def http(port: int, slug: str, token: str = "") -> httpx.AsyncClient:
    headers = {"Host": f"{slug}.localhost:{port}"}
    if token:
        headers["X-Saruna-Visitor"] = token
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=40)
