from typing import Any

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from saruna.realtime.bus import user_group


class AgentConsumer(AsyncJsonWebsocketConsumer):
    """The agent UI's live connection: joins the user's own group (session notices) and
    answers heartbeats. Later issues add their groups (inbox, chats, visitors) here."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        account = self.scope["account"]
        if user is None or not user.is_authenticated or user.account_id != account.pk:
            await self.close(code=4401)
            return
        self.groups_joined = [user_group(account.pk, user.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    async def session_ended(self, event: dict) -> None:
        """Another session ended this one: tell the page so it can go to the login screen."""
        if event.get("session_key") == self.scope["session"].session_key:
            await self.send_json({"type": "session.ended", "reason": event.get("reason", "")})
            await self.close(code=4001)
