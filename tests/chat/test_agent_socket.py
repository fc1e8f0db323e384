"""The agent's chat socket over a real server: status, rings in every tab, decline,
transfer between two agents, ending, and refusal of anyone who is not an agent here."""

import pytest
import websockets
from django_scopes import scope

from saruna.chat import actions
from saruna.chat.models import ChatStatus
from saruna.visitors.identity import issue_visitor_token, visitor_for_token
from tests.chat.helpers import make_button, put_online, reload
from tests.chat.live import agent_socket, session_cookie, visitor_socket
from tests.factories import make_account, make_user
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)


def test_rings_ring_every_tab_decline_moves_on_transfer_and_end(asgi_server):
    account = make_account("alpha")
    anna = make_user(account, "anna@alpha.test", full_name="Anna")
    bruno = make_user(account, "bruno@alpha.test", full_name="Bruno")
    put_online(anna, bruno)
    actions_settings = {"routing_method": "priority", "priority_order": [anna.pk, bruno.pk]}
    with scope(account=account):
        actions.save_chat_settings(account, **actions_settings)
    button = make_button(account)
    token = issue_visitor_token(account)
    port = asgi_server.port
    cookies = {anna.pk: session_cookie(account, anna), bruno.pk: session_cookie(account, bruno)}

    def start_chat():
        with scope(account=account):
            chat, _new = actions.start_chat(button, visitor_for_token(account, token),
                                            message="Hi", client_id="v-0")
        return chat.public_id

    async def scenario():
        from asgiref.sync import sync_to_async

        anna_tab1 = await agent_socket(port, "alpha", cookies[anna.pk])
        anna_tab2 = await agent_socket(port, "alpha", cookies[anna.pk])
        bruno_tab = await agent_socket(port, "alpha", cookies[bruno.pk])
        for tab in (anna_tab1, anna_tab2, bruno_tab):
            await tab.until("welcome")
        await bruno_tab.send(type="status", status="online", max_chats=3)
        assert (await bruno_tab.until("status"))["max_chats"] == 3
        await bruno_tab.send(type="status", status="sleeping")
        assert "status" in (await bruno_tab.until("error"))["message"].lower()

        chat = await sync_to_async(start_chat)()
        # Anna first (priority): both of her tabs ring.
        for tab in (anna_tab1, anna_tab2):
            assert (await tab.until("ring"))["ring"]["chat"]["id"] == chat
        await anna_tab1.send(type="decline", chat=chat)
        for tab in (anna_tab1, anna_tab2):
            assert (await tab.until("ring_cancelled"))["reason"] == "declined"
        assert (await bruno_tab.until("ring"))["ring"]["purpose"] == "route"
        await bruno_tab.send(type="accept", chat=chat)
        assert (await bruno_tab.until("assigned"))["chat"]["agent"]["name"] == "Bruno"

        # Bruno hands the chat to Anna; it is hers once she accepts.
        await bruno_tab.send(type="transfer", chat=chat, agent=anna.pk)
        ring = await anna_tab2.until("ring")
        assert ring["ring"]["purpose"] == "transfer" and ring["ring"]["from"]["name"] == "Bruno"
        await anna_tab2.send(type="accept", chat=chat)
        assert (await anna_tab1.until("assigned"))["chat"]["agent"]["name"] == "Anna"
        assert (await bruno_tab.until("unassigned"))["reason"] == "transferred"
        await bruno_tab.send(type="message", chat=chat, client_id="b-late", body="Still me")
        assert (await bruno_tab.until("error"))["client_id"] == "b-late"

        visitor = await visitor_socket(port, "alpha", chat, token)
        await visitor.until("state")
        await anna_tab1.send(type="end", chat=chat)
        ended = await visitor.until("ended")
        assert ended["reason"] == "agent" and ended["offline"] is False
        assert (await anna_tab2.until("ended"))["chat"] == chat
        for socket in (anna_tab1, anna_tab2, bruno_tab, visitor):
            await socket.close()
        return chat

    results = []

    async def keep():
        results.append(await scenario())

    run_async(keep())
    with scope(account=account):
        from saruna.chat.models import Chat

        chat = reload(Chat.objects.get(public_id=results[0]))
    assert chat.status == ChatStatus.ENDED and chat.agent == anna


def test_the_agent_socket_refuses_visitors_and_other_accounts(asgi_server):
    alpha, beta = make_account("alpha"), make_account("beta")
    cookie = session_cookie(alpha, make_user(alpha, "anna@alpha.test"))
    make_user(beta, "bea@beta.test")

    async def refused(slug, session):
        with pytest.raises(websockets.InvalidStatus) as refusal:
            socket = await agent_socket(asgi_server.port, slug, session)
            await socket.next()
        return refusal.value.response.status_code

    async def scenario():
        assert await refused("alpha", "") == 403
        assert await refused("beta", cookie) == 403

    run_async(scenario())


def test_a_tab_open_longer_than_the_layers_group_expiry_still_gets_events(
        asgi_server, monkeypatch):
    """The layer forgets memberships after ``group_expiry`` (a day); the tab's heartbeat
    joins its groups again, so its status still reaches it."""
    from channels.layers import get_channel_layer

    from saruna.realtime import groups

    account = make_account("alpha")
    anna = make_user(account, "anna@alpha.test", full_name="Anna")
    cookie = session_cookie(account, anna)
    layer = get_channel_layer()
    if "group_expiry" in vars(layer):  # the layers that forget (Redis pub/sub keeps)
        monkeypatch.setattr(layer, "group_expiry", 1)
    monkeypatch.setattr(groups, "RENEW_EVERY", 0.5)

    async def scenario():
        import asyncio

        tab = await agent_socket(asgi_server.port, "alpha", cookie)
        await tab.until("welcome")
        for _ in range(3):  # 3 s: past the expiry three times over
            await asyncio.sleep(1)
            await tab.send(type="ping")
            await tab.until("pong")
        await tab.send(type="status", status="online", max_chats=2)
        assert (await tab.until("status", timeout=5))["max_chats"] == 2
        await tab.close()

    run_async(scenario())


def test_an_idle_tab_outlives_the_layers_blocking_reads(asgi_server):
    """With Redis, the channel layer waits for messages with 5 s blocking reads; a client
    read timeout of the same 5 s (redis-py's default) broke the socket that was reading
    after five quiet seconds."""
    account = make_account("alpha")
    anna = make_user(account, "anna@alpha.test", full_name="Anna")
    cookie = session_cookie(account, anna)

    async def scenario():
        import asyncio

        tab = await agent_socket(asgi_server.port, "alpha", cookie)
        await tab.until("welcome")
        await asyncio.sleep(7)
        await tab.send(type="status", status="online", max_chats=2)
        assert (await tab.until("status", timeout=5))["max_chats"] == 2
        await tab.close()

    run_async(scenario())
