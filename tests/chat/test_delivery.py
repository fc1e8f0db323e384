"""Delivery guarantees over a real server: a visitor and an agent on WebSockets (and the
long-poll fallback). Duplicated sends, a connection dropped between send and ack, and a
reconnect after missing 50 messages: nothing lost, nothing doubled, order kept."""

import asyncio

import pytest
import websockets
from django_scopes import scope

from saruna.chat.models import ChatMessage
from saruna.visitors.identity import issue_visitor_token
from tests.chat.helpers import make_button, put_online
from tests.chat.live import agent_socket, http, session_cookie, visitor_socket
from tests.factories import make_account, make_user
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def desk(asgi_server):
    """Account alpha with a chat button and an online agent, a visitor token, the agent's
    session cookie."""
    account = make_account("alpha")
    agent = make_user(account, "agent@alpha.test", full_name="Anna Agent")
    put_online(agent)
    button = make_button(account)
    return {"server": asgi_server, "account": account, "agent": agent, "button": button,
            "token": issue_visitor_token(account), "cookie": session_cookie(account, agent)}


async def chat_started(desk) -> tuple:
    """The visitor starts a chat over HTTP, the agent accepts it on their socket; answers
    the chat id, the agent's socket (synced) and the seq of the last message so far."""
    port = desk["server"].port
    agent = await agent_socket(port, "alpha", desk["cookie"])
    welcome = await agent.until("welcome")
    assert welcome["agent"]["status"] == "online"
    async with http(port, "alpha", desk["token"]) as client:
        answer = await client.post(f"/widget/{desk['button'].public_id}/chats/", json={
            "fields": {"name": "Vera Visitor"}, "message": "Hello?", "client_id": "v-0"})
    assert answer.status_code == 201, answer.text
    chat = answer.json()["chat"]
    ring = await agent.until("ring")
    assert ring["ring"]["chat"]["id"] == chat
    assert ring["ring"]["chat"]["visitor"]["name"] == "Vera Visitor"
    await agent.send(type="accept", chat=chat)
    assigned = await agent.until("assigned")
    assert assigned["chat"]["agent"]["name"] == "Anna Agent"
    await agent.send(type="sync", chat=chat, after_seq=0)
    first, joined = await agent.messages(2)
    assert (first["seq"], first["body"], first["kind"]) == (1, "Hello?", "visitor")
    assert joined["kind"] == "system"
    return chat, agent, joined["seq"]


def stored(desk, chat):
    with scope(account=desk["account"]):
        return list(ChatMessage.objects.filter(chat__public_id=chat).order_by("seq")
                    .values_list("seq", "client_id", "body"))


def test_visitor_and_agent_talk_and_duplicated_sends_are_stored_once(desk):
    port = desk["server"].port

    async def scenario():
        chat, agent, last = await chat_started(desk)
        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=0)
        history = await visitor.messages(last)
        assert [m["seq"] for m in history] == list(range(1, last + 1))
        state = await visitor.until("state")
        assert state["state"]["status"] == "chatting"
        assert state["state"]["agent"]["name"] == "Anna Agent"

        # The same message three times (a client retrying): one message, one seq.
        for _attempt in range(3):
            await visitor.send(type="message", client_id="v-1", body="Is anyone there?")
        copies = await visitor.messages(3)
        assert {m["seq"] for m in copies} == {last + 1}
        got = await agent.messages(1)
        assert got[0]["body"] == "Is anyone there?" and got[0]["author"] == "Vera Visitor"
        assert [f for f in await agent.quiet() if f["type"] == "message"] == []

        await agent.send(type="message", chat=chat, client_id="a-1", body="Yes, I am here.")
        await agent.send(type="message", chat=chat, client_id="a-1", body="Yes, I am here.")
        answer = await visitor.messages(1)
        assert answer[0]["kind"] == "agent" and answer[0]["seq"] == last + 2
        assert [f for f in await visitor.quiet() if f["type"] == "message"] == []

        await agent.send(type="typing", chat=chat, typing=True)
        typing = await visitor.until("typing")
        assert typing["typing"] is True and typing["name"] == "Anna Agent"
        await visitor.send(type="read", seq=last + 2)
        read = await agent.until("read")
        assert (read["side"], read["seq"]) == ("visitor", last + 2)
        await visitor.close()
        await agent.close()
        return chat, last

    chat, last = _run(scenario())
    assert [row[2] for row in stored(desk, chat)][-2:] == ["Is anyone there?", "Yes, I am here."]
    assert len(stored(desk, chat)) == last + 2


def _run(coroutine):
    results = []

    async def keep():
        results.append(await coroutine)

    run_async(keep())
    return results[0]


def test_a_send_whose_connection_drops_before_the_ack_is_resent_and_stored_once(desk):
    port = desk["server"].port

    async def scenario():
        chat, agent, last = await chat_started(desk)
        # 1. The server stored the message, but the connection died before the visitor
        #    saw it come back.
        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=last)
        await visitor.until("state")
        await visitor.send(type="message", client_id="v-stored", body="Did this arrive?")
        assert (await agent.messages(1))[0]["client_id"] == "v-stored"
        visitor.ws.transport.abort()
        # 2. The connection died while the message was still on its way.
        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=last)
        await visitor.until("state")
        await visitor.send(type="message", client_id="v-maybe", body="And this?")
        visitor.ws.transport.abort()
        # The client reconnects from the last seq it had and re-sends what is pending.
        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=last)
        await visitor.send(type="message", client_id="v-stored", body="Did this arrive?")
        await visitor.send(type="message", client_id="v-maybe", body="And this?")
        frames = await visitor.messages(2)
        frames += [f["message"] for f in await visitor.quiet(1) if f["type"] == "message"]
        seen = sorted({(m["seq"], m["client_id"]) for m in frames})
        assert seen == [(last + 1, "v-stored"), (last + 2, "v-maybe")]
        rest = [m["client_id"] for m in await agent.messages(1)]
        rest += [f["message"]["client_id"] for f in await agent.quiet() if f["type"] == "message"]
        assert rest == ["v-maybe"]
        await visitor.close()
        await agent.close()
        return chat, last

    chat, last = _run(scenario())
    client_ids = [row[1] for row in stored(desk, chat)]
    assert client_ids[last:] == ["v-stored", "v-maybe"]


def test_a_visitor_who_missed_50_messages_gets_exactly_those_in_order(desk):
    port = desk["server"].port

    async def scenario():
        chat, agent, last = await chat_started(desk)
        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=last)
        await visitor.until("state")
        await visitor.close()  # the visitor's train goes into a tunnel
        for number in range(50):
            await agent.send(type="message", chat=chat, client_id=f"a-{number}",
                             body=f"Message {number}")
        sent = await agent.messages(50)
        assert [m["seq"] for m in sent] == list(range(last + 1, last + 51))

        visitor = await visitor_socket(port, "alpha", chat, desk["token"], after_seq=last)
        missed = await visitor.messages(50)
        assert [m["body"] for m in missed] == [f"Message {n}" for n in range(50)]
        assert [m["seq"] for m in missed] == list(range(last + 1, last + 51))
        # And the conversation goes on live, with the next seq.
        await agent.send(type="message", chat=chat, client_id="a-after", body="Back?")
        after = await visitor.messages(1)
        assert after[0]["seq"] == last + 51
        assert [f for f in await visitor.quiet() if f["type"] == "message"] == []

        # The REST catch-up says the same.
        async with http(port, "alpha", desk["token"]) as client:
            caught = (await client.get(f"/widget/chats/{chat}/messages/",
                                       params={"after_seq": last + 49})).json()
        assert [m["seq"] for m in caught["messages"]] == [last + 50, last + 51]
        await visitor.close()
        await agent.close()

    run_async(scenario())


def test_long_poll_answers_when_the_agent_writes(desk):
    port = desk["server"].port

    async def scenario():
        chat, agent, last = await chat_started(desk)
        async with http(port, "alpha", desk["token"]) as client:
            # Something after the seq: at once.
            quick = await client.get(f"/widget/chats/{chat}/poll/", params={"after_seq": 0})
            assert [m["seq"] for m in quick.json()["messages"]] == list(range(1, last + 1))

            waiting = asyncio.create_task(
                client.get(f"/widget/chats/{chat}/poll/", params={"after_seq": last}))
            await asyncio.sleep(0.5)
            assert not waiting.done()
            await agent.send(type="message", chat=chat, client_id="a-poll", body="Polled")
            answer = await asyncio.wait_for(waiting, 10)
            assert [m["body"] for m in answer.json()["messages"]] == ["Polled"]
            assert answer.json()["state"]["status"] == "chatting"

            # Sending over HTTP with a repeated client id stores one message.
            for expected in (201, 200):
                sent = await client.post(f"/widget/chats/{chat}/messages/",
                                         json={"client_id": "v-http", "body": "Over HTTP"})
                assert sent.status_code == expected
                assert sent.json()["seq"] == last + 2
        assert (await agent.messages(2))[1]["body"] == "Over HTTP"
        await agent.close()

    run_async(scenario())


def test_another_visitors_token_gets_nothing(desk):
    port = desk["server"].port

    async def scenario():
        chat, agent, _last = await chat_started(desk)
        stranger = issue_visitor_token(desk["account"])
        socket = await visitor_socket(port, "alpha", chat, stranger)
        with pytest.raises(websockets.ConnectionClosed):  # 4404, and not a frame
            await socket.next(timeout=5)
        assert socket.ws.close_code == 4404
        async with http(port, "alpha", stranger) as client:
            answer = await client.get(f"/widget/chats/{chat}/messages/")
            assert answer.status_code == 404
        await agent.close()

    run_async(scenario())
