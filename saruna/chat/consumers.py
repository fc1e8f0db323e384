"""The chat's WebSockets: the visitor's (``/ws/chat/visitor/<chat>/``, widget.md) and the
agent's (``/ws/chat/agent/``, chat.md), served by ``saruna.realtime.sockets`` (one per open
widget and agent tab: a Channels consumer would cost twice the memory).

Both deliver each chat's messages to the socket in ``seq`` order, without gaps and without
repeats: the socket remembers the last seq it sent per chat; a broadcast it has sent already
is dropped, and one that skips ahead (broadcasts of two commits may overtake each other) is
preceded by the missing messages read from the database. A socket handles one event at a
time, so the catch-up after ``hello``/``sync`` and the live broadcasts cannot interleave.
"""

from __future__ import annotations

import time
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext

from saruna.accounts.models import User
from saruna.chat import actions, dispatch, queries
from saruna.chat.models import Chat, ChatStatus, MessageKind
from saruna.contacts.common import ActionError
from saruna.core.models import Account
from saruna.realtime import db
from saruna.realtime.sockets import CLOSE_UNAUTHORISED, Hub, Send, Socket, session_user
from saruna.tickets.models import Department
from saruna.visitors.identity import visitor_id_from_token

# A visitor's or agent's sign of life is written at most this often (seconds).
SEEN_EVERY = 15
CLOSE_NOT_FOUND = 4404
# What a visitor's socket keeps of its chat: what storing and sending a message reads
# (``actions.post_message``, ``queries.message_payload``). One socket per open widget:
# whole rows of the chat, its ticket, the ticket's contact and the visitor cost some
# 6 KiB a socket. Anything else is read fresh where it is needed.
VISITOR_SOCKET_KEEPS = (
    "account", "public_id", "language", "fields", "last_seq",
    "group__account", "group__ticket", "group__type",
    "ticket__account", "ticket__status", "ticket__owner__account",
    "visitor__account", "visitor__name",
)


def visitor_socket_chats() -> QuerySet[Chat]:
    """Chats as a visitor's socket keeps them (:data:`VISITOR_SOCKET_KEEPS`), so that storing
    a message reads nothing more (the transcript's group too)."""
    return Chat.objects.select_related("ticket__owner", "visitor", "group").only(
        *VISITOR_SOCKET_KEEPS)


class ChatDelivery(Socket):
    """What both sockets share: ordered delivery of the chats the socket follows."""

    __slots__ = ("seen_at", "sent")

    def __init__(self, hub: Hub, account: Account, send: Send) -> None:
        super().__init__(hub, account, send)
        self.sent: dict[str, int] = {}  # chat public id → the last seq this socket sent
        self.seen_at = time.monotonic()

    async def follow(self, chat: Chat, after_seq: int) -> None:
        """Joins the chat's group, then sends everything after ``after_seq``."""
        await self.join(queries.chat_group(chat))
        self.sent[chat.public_id] = max(0, after_seq)
        await self.catch_up(chat.public_id)

    async def unfollow(self, chat_id: str) -> None:
        await self.leave(queries.chat_group_for(str(self.account.pk), chat_id))
        self.sent.pop(chat_id, None)

    async def catch_up(self, chat_id: str) -> None:
        payloads = await db.run(self._payloads_after)(chat_id, self.sent[chat_id])
        for payload in payloads:
            await self.send_message(chat_id, payload)

    def _payloads_after(self, chat_id: str, after_seq: int) -> list[dict]:
        chat = Chat.objects.select_related("visitor").filter(public_id=chat_id).first()
        return queries.payloads_after(chat, after_seq) if chat is not None else []

    async def send_message(self, chat_id: str, payload: dict) -> None:
        if payload["seq"] <= self.sent.get(chat_id, payload["seq"]):
            return
        self.sent[chat_id] = payload["seq"]
        await self.send_json(self.frame(chat_id, "message", message=payload))

    def frame(self, chat_id: str, kind: str, **fields: Any) -> dict:
        raise NotImplementedError

    # --- chat group events ----------------------------------------------------------------

    async def chat_message(self, event: dict) -> None:
        chat_id, payload = event["chat"], event["message"]
        last = self.sent.get(chat_id)
        if last is None or payload["seq"] <= last:
            return
        if payload["seq"] == last + 1:
            await self.send_message(chat_id, payload)
        else:  # an earlier commit's broadcast is still on its way: read it instead
            await self.catch_up(chat_id)

    async def chat_typing(self, event: dict) -> None:
        if event["channel"] != self.channel_name and self.wants_typing(event):
            await self.send_json(self.frame(event["chat"], "typing", **{
                k: event[k] for k in ("side", "name", "typing")}))

    def wants_typing(self, event: dict) -> bool:
        raise NotImplementedError

    def wants_read(self, event: dict) -> bool:
        raise NotImplementedError

    async def chat_read(self, event: dict) -> None:
        if self.wants_read(event):
            await self.send_json(self.frame(event["chat"], "read", side=event["side"],
                                            seq=event["seq"]))

    async def chat_state(self, event: dict) -> None:
        raise NotImplementedError

    async def chat_ended(self, event: dict) -> None:
        await self.send_json(self.frame(event["chat"], "ended", reason=event["reason"],
                                        offline=event["offline"]))

    async def typing(self, chat: Chat, side: str, name: str, typing: bool) -> None:
        await self.group_send(queries.chat_group(chat), {
            "type": "chat.typing", "chat": chat.public_id, "side": side, "name": name,
            "typing": typing, "channel": self.channel_name,
        })


def _int(value: object, default: int = 0) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


class VisitorChatSocket(ChatDelivery):
    """One visitor's socket on one chat. Nothing happens before ``hello`` proves the visitor
    token; a token of another account or visitor is treated like a chat that does not
    exist."""

    __slots__ = ("chat", "chat_id")

    def __init__(self, hub: Hub, account: Account, send: Send, chat_id: str) -> None:
        super().__init__(hub, account, send)
        self.chat_id = chat_id
        self.chat: Chat | None = None
        self.seen_at = 0.0

    @classmethod
    async def open(cls, hub: Hub, account: Account, scope: dict, send: Send,
                   chat_id: str) -> VisitorChatSocket:
        return cls(hub, account, send, chat_id)

    def frame(self, chat_id: str, kind: str, **fields: Any) -> dict:
        return {"type": kind, **fields}

    def wants_typing(self, event: dict) -> bool:
        return event["side"] != MessageKind.VISITOR

    def wants_read(self, event: dict) -> bool:
        return event["side"] != MessageKind.VISITOR

    async def receive_json(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.heartbeat()
            await self._seen()
        elif self.chat is None:
            if kind == "hello":
                await self._hello(content)
            else:
                await self.close(CLOSE_UNAUTHORISED)
        elif kind == "message":
            await self._message(content)
        elif kind == "typing":
            await self.typing(self.chat, MessageKind.VISITOR, "",
                              content.get("typing") is not False)
        elif kind == "read":
            await self._call(actions.mark_read, self.chat, MessageKind.VISITOR,
                             content.get("seq"))
        # ``ack`` needs nothing here: the client resumes from it after a reconnect.

    async def _hello(self, content: dict) -> None:
        chat = await db.run(self._visitor_chat)(content.get("token"))
        if chat is None:
            await self.close(CLOSE_NOT_FOUND)
            return
        self.chat = chat
        await self.follow(chat, _int(content.get("after_seq")))
        now, state = await db.run(self._state)()
        await self.send_json({"type": "state", "state": state})
        if now.status == ChatStatus.ENDED:
            await self.send_json({"type": "ended", "reason": now.end_reason,
                                  "offline": now.went_offline})

    def _visitor_chat(self, token: object) -> Chat | None:
        """The chat with what its messages need (:data:`VISITOR_SOCKET_KEEPS`), which the
        socket keeps while it is open."""
        visitor_id = visitor_id_from_token(self.account, token)
        if visitor_id is None:
            return None
        chat = visitor_socket_chats().filter(public_id=self.chat_id,
                                             visitor__public_id=visitor_id).first()
        if chat is not None:
            actions.visitor_seen(chat)
        return chat

    def _payloads_after(self, chat_id: str, after_seq: int) -> list[dict]:
        """The catch-up reads only the messages: the kept chat has what their payloads
        need."""
        assert self.chat is not None
        return queries.payloads_after(self.chat, after_seq)

    def _state(self) -> tuple[Chat, dict]:
        """The chat as it is now and its ``state`` (read apart from the chat the socket
        keeps, which need not hold the agent and department for it)."""
        assert self.chat is not None
        now = Chat.objects.select_related("agent", "department").get(pk=self.chat.pk)
        return now, queries.visitor_state(now)

    async def _message(self, content: dict) -> None:
        assert self.chat is not None
        result = await self._call(actions.post_visitor_message, self.chat,
                                  content.get("client_id"), content.get("body"),
                                  client_id=content.get("client_id"))
        if result is not None:
            await self._deliver_retry(*result)

    async def _deliver_retry(self, message: Any, created: bool) -> None:
        """A retried client id: the broadcast went out long ago, so answer with the stored
        message (the client drops it if it has it)."""
        if not created:
            assert self.chat is not None
            payload = await db.run(queries.message_payload)(message, self.chat)
            await self.send_json({"type": "message", "message": payload})

    async def _call(self, function: Any, *args: Any, client_id: object = None) -> Any:
        def run() -> Any:
            with translation.override(self.chat.language if self.chat else None):
                try:
                    return function(*args)
                except ActionError as error:
                    return error

        result = await db.run(run)()
        if isinstance(result, ActionError):
            frame: dict[str, Any] = {"type": "error", "message": result.message}
            if isinstance(client_id, str):
                frame["client_id"] = client_id
            await self.send_json(frame)
            return None
        return result

    async def _seen(self) -> None:
        if self.chat is not None and time.monotonic() - self.seen_at > SEEN_EVERY:
            self.seen_at = time.monotonic()
            await db.run(actions.visitor_seen)(self.chat)

    async def chat_state(self, event: dict) -> None:
        await self.send_json({"type": "state", "state": event["state"]})


class AgentChatSocket(ChatDelivery):
    """All chat traffic of one agent's tab: status, rings, the chats they are in."""

    __slots__ = ("user",)

    def __init__(self, hub: Hub, account: Account, send: Send, user: User) -> None:
        super().__init__(hub, account, send)
        self.user = user

    @classmethod
    async def open(cls, hub: Hub, account: Account, scope: dict,
                   send: Send) -> AgentChatSocket | None:
        """The tab of the session's user; None (refused) without one of this account."""
        user = await db.run(session_user)(scope)
        if user is None or user.account_id != account.pk:
            return None
        return cls(hub, account, send, user)

    async def connect(self) -> None:
        await self.join(queries.agent_group(self.account.pk, self.user.pk))
        await self.accept()
        welcome = await db.run(self._welcome)()
        for chat, last_seq in welcome.pop("following"):
            await self.join(queries.chat_group(chat))
            self.sent[chat.public_id] = last_seq
        await self.send_json({"type": "welcome", **welcome})

    def _welcome(self) -> dict:
        availability, settings_ = actions.agent_seen(self.user)
        chats = queries.running_chats(self.user)
        owned = sum(1 for chat in chats if chat.agent_id == self.user.pk)
        return {
            "agent": queries.state_of(availability, settings_, owned),
            "chats": [queries.chat_summary(c) for c in chats],
            "rings": [dispatch.ring_payload(r) for r in queries.open_rings(self.user)],
            "following": [(c, c.last_seq) for c in chats],
        }

    async def disconnect(self, code: int) -> None:
        await db.run(actions.agent_seen)(self.user)

    def frame(self, chat_id: str, kind: str, **fields: Any) -> dict:
        return {"type": kind, "chat": chat_id, **fields}

    def wants_typing(self, event: dict) -> bool:
        return True

    def wants_read(self, event: dict) -> bool:
        return True

    async def receive_json(self, content: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if time.monotonic() - self.seen_at > SEEN_EVERY:
            self.seen_at = time.monotonic()
            await db.run(actions.agent_seen)(self.user)
        if kind == "ping":
            await self.heartbeat()
        elif kind == "status":
            await self._status(content)
        elif kind in self.CHAT_COMMANDS:
            chat = await db.run(queries.visible_chat)(self.user, content.get("chat"))
            if chat is None:
                await self._error(content, gettext("No such chat."))
                return
            await getattr(self, f"on_{kind}")(chat, content)

    CHAT_COMMANDS = frozenset({"accept", "decline", "sync", "message", "typing", "read",
                               "transfer", "invite", "leave", "end"})

    async def _error(self, content: dict, message: str) -> None:
        frame: dict[str, Any] = {"type": "error", "message": message}
        for key in ("chat", "client_id"):
            if isinstance(content.get(key), str):
                frame[key] = content[key]
        await self.send_json(frame)

    async def _run(self, content: dict, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Runs an action for the agent; a refusal becomes an ``error`` frame."""
        def run() -> Any:
            with translation.override(self.user.language or self.account.language):
                try:
                    return function(*args, **kwargs)
                except ActionError as error:
                    return error

        result = await db.run(run)()
        if isinstance(result, ActionError):
            await self._error(content, result.message)
            return None
        return result

    async def _status(self, content: dict) -> None:
        kwargs: dict[str, Any] = {}
        if "departments" in content:
            if not isinstance(content["departments"], dict):
                await self._error(content, gettext("Departments map an id to a status."))
                return
            kwargs["departments"] = content["departments"]
        if "max_chats" in content:
            kwargs["max_chats"] = content["max_chats"]
        await self._run(content, actions.set_agent_status, self.user, content.get("status"),
                        **kwargs)

    async def on_accept(self, chat: Chat, content: dict) -> None:
        await self._run(content, actions.accept_ring, chat, self.user)

    async def on_decline(self, chat: Chat, content: dict) -> None:
        await self._run(content, actions.decline_ring, chat, self.user)

    async def on_sync(self, chat: Chat, content: dict) -> None:
        await self.follow(chat, _int(content.get("after_seq")))
        summary = await db.run(queries.chat_summary)(chat)
        await self.send_json({"type": "chat", "chat": summary})

    async def on_message(self, chat: Chat, content: dict) -> None:
        result = await self._run(content, actions.post_agent_message, chat, self.user,
                                 content.get("client_id"), content.get("body"))
        if result is not None and not result[1]:
            payload = await db.run(queries.message_payload)(result[0], chat)
            await self.send_json({"type": "message", "chat": chat.public_id,
                                  "message": payload})

    async def on_typing(self, chat: Chat, content: dict) -> None:
        await self.typing(chat, MessageKind.AGENT, self.user.full_name,
                          content.get("typing") is not False)

    async def on_read(self, chat: Chat, content: dict) -> None:
        await self._run(content, actions.mark_read, chat, MessageKind.AGENT, content.get("seq"))

    async def on_transfer(self, chat: Chat, content: dict) -> None:
        target = await db.run(self._transfer_target)(content)
        if target is None:
            await self._error(content, gettext("Unknown agent or department."))
            return
        await self._run(content, actions.transfer_chat, chat, self.user, **target)

    def _transfer_target(self, content: dict) -> dict[str, Any] | None:
        if isinstance(content.get("agent"), str):
            agent = User.objects.filter(pk=content["agent"], is_active=True).first()
            return {"agent": agent} if agent is not None else None
        if isinstance(content.get("department"), str):
            department = Department.objects.filter(public_id=content["department"]).first()
            return {"department": department} if department is not None else None
        return None

    async def on_invite(self, chat: Chat, content: dict) -> None:
        target = await db.run(self._transfer_target)({"agent": content.get("agent")})
        if target is None:
            await self._error(content, gettext("Unknown agent or department."))
            return
        await self._run(content, actions.invite_agent, chat, self.user, target["agent"])

    async def on_leave(self, chat: Chat, content: dict) -> None:
        await self._run(content, actions.leave_chat, chat, self.user)

    async def on_end(self, chat: Chat, content: dict) -> None:
        await self._run(content, actions.end_chat, chat, by="agent", user=self.user)

    # --- events for this agent -------------------------------------------------------------

    async def chat_state(self, event: dict) -> None:
        await self.send_json({"type": "chat", "chat": event["summary"]})

    async def chat_status(self, event: dict) -> None:
        await self.send_json({"type": "status", **event["status"]})

    async def chat_ring(self, event: dict) -> None:
        await self.send_json({"type": "ring", "ring": event["ring"]})

    async def chat_ring_cancelled(self, event: dict) -> None:
        await self.send_json({"type": "ring_cancelled", "chat": event["chat"],
                              "reason": event["reason"]})

    async def chat_assigned(self, event: dict) -> None:
        summary = event["chat"]
        if summary["id"] not in self.sent:
            await self.join(queries.chat_group_for(str(self.account.pk), summary["id"]))
            self.sent[summary["id"]] = summary["last_seq"]
        await self.send_json({"type": "assigned", "chat": summary})

    async def chat_unassigned(self, event: dict) -> None:
        await self.unfollow(event["chat"])
        await self.send_json({"type": "unassigned", "chat": event["chat"],
                              "reason": event["reason"]})

    async def chat_transfer_failed(self, event: dict) -> None:
        await self.send_json({"type": "transfer_failed", "chat": event["chat"],
                              "purpose": event["purpose"], "reason": event["reason"]})


