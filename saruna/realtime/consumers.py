from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from saruna.realtime.bus import user_group
from saruna.realtime.groups import renew_memberships
from saruna.realtime.layers import ORIGIN
from saruna.tickets import actions, queries
from saruna.tickets.models import Department, Ticket

# How many recent events a socket remembers to drop the copy that reaches it twice (an event
# goes to the inbox group and to the ticket's group, and a watching socket is in both).
RECENT_EVENTS = 20


class AgentConsumer(AsyncJsonWebsocketConsumer):
    """The agent UI's live connection: the user's own group (session notices), heartbeats,
    the account's inbox events filtered by what the user may see, and the ticket the page
    shows (``watch``), with presence: who else views it or types a reply."""

    async def connect(self) -> None:
        user = self.scope.get("user")
        account = self.scope["account"]
        if user is None or not user.is_authenticated or user.account_id != account.pk:
            await self.close(code=4401)
            return
        self.user = user
        self.watching: tuple[str, str] | None = None  # (ticket public id, group name)
        self.recent: list[tuple[Any, ...]] = []
        self.departments = await database_sync_to_async(self._departments)()
        self.groups_joined = [user_group(account.pk, user.pk), actions.inbox_group(account.pk)]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self._unwatch()
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            watched = [self.watching[1]] if self.watching is not None else []
            await renew_memberships(self, [*self.groups_joined, *watched])
            await self.send_json({"type": "pong"})
        elif kind == "watch":
            await self._watch(content.get("ticket"))
        elif kind == "typing" and self.watching is not None:
            await self._announce("typing")

    async def session_ended(self, event: dict) -> None:
        """Another session ended this one: tell the page so it can go to the login screen."""
        if event.get("session_key") == self.scope["session"].session_key:
            await self.send_json({"type": "session.ended", "reason": event.get("reason", "")})
            await self.close(code=4001)

    # --- tickets ---------------------------------------------------------------------------

    def _departments(self) -> set[str]:
        return set(
            Department.objects.filter(agents=self.user).values_list("public_id", flat=True)
        )

    async def ticket_changed(self, event: dict) -> None:
        """Forwards a ticket change only if the user may see the ticket before or after it."""
        key = (event["ticket"]["id"], event["ticket"]["date_changed"], tuple(event["changed"]))
        if key in self.recent:
            return
        self.recent = [*self.recent[-RECENT_EVENTS + 1:], key]
        if not queries.event_visible_to(self.user, self.departments, event):
            return
        routing = ("type", "group", ORIGIN)
        await self.send_json({k: v for k, v in event.items() if k not in routing}
                             | {"type": "ticket.changed"})

    async def _watch(self, ticket_id: Any) -> None:
        if self.watching is not None and self.watching[0] == ticket_id:
            return
        await self._unwatch()
        if not isinstance(ticket_id, str):
            return
        ticket = await database_sync_to_async(self._visible_ticket)(ticket_id)
        if ticket is None:
            return
        self.watching = (ticket.public_id, actions.ticket_group(ticket))
        await self.channel_layer.group_add(self.watching[1], self.channel_name)
        await self._announce("joined")

    def _visible_ticket(self, ticket_id: str) -> Ticket | None:
        self.departments = self._departments()  # membership may have changed meanwhile
        ticket = Ticket.objects.select_related("department").filter(public_id=ticket_id).first()
        return ticket if ticket is not None and queries.can_see_ticket(self.user, ticket) else None

    async def _unwatch(self) -> None:
        if getattr(self, "watching", None) is None:
            return
        await self._announce("left")
        assert self.watching is not None
        await self.channel_layer.group_discard(self.watching[1], self.channel_name)
        self.watching = None

    async def _announce(self, state: str) -> None:
        assert self.watching is not None
        await self.channel_layer.group_send(self.watching[1], {
            "type": "presence.update", "ticket": self.watching[0], "state": state,
            "user": self.user.pk, "name": self.user.full_name, "channel": self.channel_name,
        })

    async def presence_update(self, event: dict) -> None:
        """Someone else's presence on the watched ticket; a newcomer also learns who is
        there already (answered with ``viewing``, which is not answered again)."""
        if event["channel"] == self.channel_name or event["user"] == self.user.pk:
            return
        if self.watching is None or event["ticket"] != self.watching[0]:
            return
        if event["state"] == "joined":
            await self._announce("viewing")
        await self.send_json({
            "type": "presence", "ticket": event["ticket"], "state": event["state"],
            "user": event["user"], "name": event["name"],
        })
