"""The "Online visitors" screen's live connection.

The screen does not get one frame per beat: a busy site has thousands of beats a second.
The consumer looks at the account's live version stamp every ``PUSH_SECONDS`` and, when it
moved, sends one frame with the visitors who changed and those who left. So an agent gets at
most ``1 / PUSH_SECONDS`` frames a second however busy the site is.

Frames list visitors without their paths (up to ``PATH_SHOWN`` pages each, most of a frame's
bytes): only the visitor the agent has open (``{"type": "watch", "visitor": id}``) comes
with the path, at once and whenever they change.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from saruna.visitors import live, queries

PUSH_SECONDS = 0.5
EXPIRY_CHECK_SECONDS = 5
# Frames stay small; the rest of a crowd follows in the next frames.
MAX_PER_FRAME = 1000


def snapshot(account_id: str, known: dict[str, float],
             watched: str | None = None) -> dict[str, Any] | None:
    """The frame that brings a screen that knew ``known`` (visitor → online-until) closer to
    date (at most ``MAX_PER_FRAME`` visitors, those it has not shown yet first: a busy site's
    beats must not keep newcomers off the screen), or None when nothing changed; ``known``
    is updated in place. The ``watched`` visitor comes with their path."""
    now = time.time()
    current = live.online_ids(account_id)
    unseen = [v for v in current if v not in known]
    moved = [v for v, until in current.items() if v in known and known[v] != until]
    changed = (unseen + moved)[:MAX_PER_FRAME]
    removed = [v for v in known if v not in current]
    if not changed and not removed:
        return None
    states = live.states(account_id, changed)
    chatting = queries.chatting_visitors(list(states))
    visitors = []
    for visitor_id, state in states.items():
        item = queries.summary(state, now)
        item["chatting"] = visitor_id in chatting
        if visitor_id == watched:
            item["path"] = queries.path(state)
        visitors.append(item)
    for visitor_id in removed:
        del known[visitor_id]
    known.update({v: current[v] for v in states})
    return {"type": "visitors", "changed": visitors, "removed": removed,
            "online": len(current), "now": now}


class OnlineVisitorsConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        account = self.scope["account"]
        if user is None or not user.is_authenticated or user.account_id != account.pk:
            await self.close(code=4401)
            return
        self.account_id = account.pk
        self.known: dict[str, float] = {}
        self.watched: str | None = None
        await self.accept()
        self.pusher = asyncio.ensure_future(self._push())

    async def disconnect(self, code: int) -> None:
        pusher = getattr(self, "pusher", None)
        if pusher is not None:
            pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pusher

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if text_data == '{"type":"ping"}':
            await self.send(text_data='{"type":"pong"}')
            return
        try:
            content = json.loads(text_data or "")
        except ValueError:
            return
        if isinstance(content, dict) and content.get("type") == "watch":
            await self._watch(content.get("visitor"))

    async def _watch(self, visitor_id: object) -> None:
        """The agent opened a visitor (or closed them: None): their path, now and with every
        change of theirs."""
        self.watched = visitor_id if isinstance(visitor_id, str) and visitor_id else None
        if self.watched is None:
            return
        state = await database_sync_to_async(live.state)(self.account_id, self.watched)
        await self.send(text_data=json.dumps({
            "type": "path", "visitor": self.watched,
            "path": queries.path(state) if state is not None else []}))

    async def _push(self) -> None:
        seen_version, checked = -1.0, 0.0
        while True:
            version = await database_sync_to_async(live.version)(self.account_id)
            # Visitors also drop off with time alone, without a new version: look now and then.
            if version != seen_version or time.time() - checked >= EXPIRY_CHECK_SECONDS:
                seen_version, checked = version, time.time()
                frame = await database_sync_to_async(snapshot)(self.account_id, self.known,
                                                               self.watched)
                if frame is not None:
                    await self.send(text_data=json.dumps(frame))
            await asyncio.sleep(PUSH_SECONDS)
