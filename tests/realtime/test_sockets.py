"""The sockets served without Channels consumers (``saruna.realtime.sockets``): one layer
channel per process, events to the sockets that follow their group, one thing at a time per
socket, and the same gate as the consumers (origin, account)."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest
import websockets

from saruna.core.models import Account
from saruna.realtime.layers import SingleProcessChannelLayer
from saruna.realtime.sockets import Hub, Socket
from tests.chat.live import open_socket
from tests.factories import make_account
from tests.servers import run_async


class Recorder(Socket):
    __slots__ = ("seen",)

    def __init__(self, hub: Hub) -> None:
        super().__init__(hub, Account(slug="acme"), self._sent)
        self.seen: list[object] = []

    async def _sent(self, message: dict) -> None:
        self.seen.append(message)

    async def note(self, event: dict) -> None:
        self.seen.append(event["n"])


def with_hub(scenario, layer: SingleProcessChannelLayer | None = None) -> None:
    """Runs ``scenario(hub)`` with a started hub on the in-memory layer (whichever the
    settings name: its groups can be looked at)."""
    async def main():
        hub = Hub(asyncio.get_running_loop())
        hub.layer = layer or SingleProcessChannelLayer()
        await hub.start()
        try:
            await scenario(hub)
        finally:
            hub.reader.cancel()

    asyncio.run(main())


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0.005)


def test_a_process_listens_on_one_channel_and_hands_each_group_to_its_followers():
    async def scenario(hub):
        layer = hub.layer
        ann, bob, eve = Recorder(hub), Recorder(hub), Recorder(hub)
        await ann.join("account.a.chat.1")
        await bob.join("account.a.chat.1")
        await eve.join("account.a.chat.2")
        # Three sockets, two groups, one channel of the layer in each.
        assert set(layer.groups["account.a.chat.1"]) == {hub.channel}
        assert set(layer.groups["account.a.chat.2"]) == {hub.channel}
        await ann.group_send("account.a.chat.1", {"type": "note", "n": 1})
        await settle()
        assert (ann.seen, bob.seen, eve.seen) == ([1], [1], [])
        await ann.leave("account.a.chat.1")
        await eve.leave("account.a.chat.2")
        assert "account.a.chat.2" not in layer.groups or not layer.groups["account.a.chat.2"]
        await eve.group_send("account.a.chat.1", {"type": "note", "n": 2})
        await settle()
        assert (ann.seen, bob.seen) == ([1], [1, 2])

    with_hub(scenario)


def test_events_for_a_busy_socket_wait_their_turn_in_order():
    async def scenario(hub):
        ann = Recorder(hub)
        await ann.join("account.a.chat.1")
        async with ann.lock:  # a client frame being handled (a catch-up read, say)
            for n in range(3):
                await ann.group_send("account.a.chat.1", {"type": "note", "n": n})
            await settle()
            assert ann.seen == []
            ann.seen.append("frame done")
        await settle()
        assert ann.seen == ["frame done", 0, 1, 2]

    with_hub(scenario)


@pytest.mark.django_db(transaction=True)
def test_chat_sockets_refuse_other_origins_and_unknown_accounts(asgi_server):
    make_account("alpha")

    async def status(slug: str, origin: str) -> int:
        with pytest.raises(websockets.InvalidStatus) as refusal:
            await websockets.connect(
                f"ws://{slug}.localhost:{asgi_server.port}/ws/chat/visitor/abc/",
                host="127.0.0.1", port=asgi_server.port,
                additional_headers={"Origin": origin}, open_timeout=5)
        return refusal.value.response.status_code

    async def scenario():
        assert await status("alpha", "http://evil.example") == 403
        assert await status("nosuch", f"http://nosuch.localhost:{asgi_server.port}") == 403
        # The same socket from the account's own page opens.
        socket = await open_socket(asgi_server.port, "alpha", "/ws/chat/visitor/abc/")
        await socket.close()

    run_async(scenario())


def test_sockets_opening_at_once_share_one_hub_channel():
    async def scenario():
        hub = Hub(asyncio.get_running_loop())
        hub.layer = SingleProcessChannelLayer()
        await asyncio.gather(*(hub.start() for _ in range(5)))
        first = hub.channel
        await hub.start()
        assert hub.channel == first and first.startswith("hub.")
        hub.reader.cancel()

    asyncio.run(scenario())


def test_an_event_of_this_process_reaches_its_sockets_at_once_and_others_by_the_layer():
    async def scenario(here):
        there = Hub(asyncio.get_running_loop())  # another process's hub on the same layer
        there.layer = here.layer
        await there.start()
        ann, bob = Recorder(here), Recorder(there)
        await ann.join("account.a.chat.1")
        await bob.join("account.a.chat.1")
        for_the_layer = here.deliver({"type": "note", "n": 1, "group": "account.a.chat.1"})
        assert ann.mailbox == deque([{"type": "note", "n": 1, "group": "account.a.chat.1"}])
        await here.layer.group_send("account.a.chat.1", for_the_layer)
        # The in-process layer gave nothing to the sender's hub, whose reader still waits.
        inbox = here.layer.channels[here.channel]
        assert inbox.waiter is not None and not inbox.waiter.done() and not inbox.messages
        await here.layer.send(here.channel, for_the_layer)  # as Redis brings it back
        await settle()
        # Once each: the copy that comes back is skipped by the hub that delivered it.
        assert (ann.seen, bob.seen) == ([1], [1])
        there.reader.cancel()

    with_hub(scenario)


def test_a_burst_larger_than_a_consumers_channel_reaches_every_socket():
    async def scenario(hub):
        ann = Recorder(hub)
        await ann.join("account.a.chat.1")
        for n in range(500):  # sent before the hub reads once (a consumer's channel holds 100)
            await hub.layer.group_send("account.a.chat.1", {
                "type": "note", "n": n, "group": "account.a.chat.1"})
        await settle()
        assert ann.seen == list(range(500))

    with_hub(scenario)


def test_a_socket_whose_handler_fails_leaves_its_groups():
    class Failing(Recorder):
        __slots__ = ()

        async def receive_json(self, content):
            raise RuntimeError("a bug in a handler")

    async def scenario(hub):
        ann = Failing(hub)
        await ann.join("account.a.chat.1")
        frames = iter([{"type": "websocket.connect"},
                       {"type": "websocket.receive", "text": '{"type": "ping"}'}])

        async def receive():
            return next(frames)

        with pytest.raises(RuntimeError):
            await ann.run(receive)
        assert "account.a.chat.1" not in hub.members
        assert not hub.layer.groups.get("account.a.chat.1")

    with_hub(scenario)


class SlowLayer(SingleProcessChannelLayer):
    async def group_add(self, group, channel):
        await asyncio.sleep(0.05)  # a Redis SUBSCRIBE's round trip
        await super().group_add(group, channel)


def test_a_socket_joining_while_the_hubs_subscription_is_on_its_way_waits_for_it():
    async def scenario(hub):
        ann, bob = Recorder(hub), Recorder(hub)
        first = asyncio.create_task(ann.join("account.a.chat.1"))
        await asyncio.sleep(0)
        await bob.join("account.a.chat.1")
        # Bob's join returned: an event sent now reaches him.
        assert hub.channel in hub.layer.groups["account.a.chat.1"]
        await first
        assert not hub.joining

    with_hub(scenario, SlowLayer())


def test_leaving_before_the_subscription_arrives_leaves_no_subscription_behind():
    async def scenario(hub):
        ann = Recorder(hub)
        joining = asyncio.create_task(ann.join("account.a.chat.1"))
        await asyncio.sleep(0)
        await ann.leave("account.a.chat.1")
        await joining
        assert not hub.layer.groups.get("account.a.chat.1") and not hub.members

    with_hub(scenario, SlowLayer())


def test_the_hub_holds_a_busy_sockets_turn_until_it_ends():
    async def scenario(hub):
        ann = Recorder(hub)
        await ann.join("account.a.chat.1")
        async with ann.lock:
            await ann.group_send("account.a.chat.1", {"type": "note", "n": 1})
            await settle()
            assert len(hub.tasks) == 1  # waiting for its turn: only the hub refers to it
        await settle()
        assert not hub.tasks and ann.seen == [1]

    with_hub(scenario)
