"""What keeps a thousand chats in one process fast and small: a message is a handful of
statements on the connection the socket thread keeps, and the in-memory channel layer
delivers without an asyncio.Queue per socket."""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import ChannelFull
from django.db import DatabaseError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from saruna.chat import actions
from saruna.chat.consumers import AgentChatSocket, VisitorChatSocket, visitor_socket_chats
from saruna.chat.models import Chat
from saruna.realtime import db
from saruna.realtime.layers import SingleProcessChannelLayer
from saruna.visitors.identity import issue_visitor_token
from tests.chat.helpers import configure, make_button, new_visitor, put_online, reload, start
from tests.factories import make_user


@pytest.mark.django_db
def test_a_visitor_message_is_a_few_writes_and_reads_nothing(account, agent):
    put_online(agent)
    started = start(make_button(account))
    with scope(account=account):
        actions.post_visitor_message(Chat.objects.get(pk=started.pk), "v-1", "Hello")
        # The chat as a visitor's socket keeps it, from its first message on.
        chat = visitor_socket_chats().get(pk=started.pk)
        with CaptureQueriesContext(connection) as statements:
            message, created = actions.post_visitor_message(chat, "v-2", "Anyone there?")
    assert created and message.seq == started.last_seq + 2
    sql = [s["sql"].split()[0].upper() for s in statements]
    # The seq claim, the ticket's line and time, the chat message; no SELECT at all.
    assert "SELECT" not in sql, sql
    # The message's own transaction (a savepoint inside the test's), none for the line.
    assert sql.count("SAVEPOINT") == 1, sql
    assert sql.count("UPDATE") == 2 and sql.count("INSERT") == 2, sql


@pytest.mark.django_db
def test_a_visitor_socket_opens_its_chat_and_catches_up_reading_little(account, agent):
    """Every open widget's socket does this when it connects, all of them at once after a
    restart: the chat is one read with its visitor (the token names the visitor), then the
    sign of life; the catch-up reads only the messages."""
    put_online(agent)
    token, visitor = new_visitor(account)
    with scope(account=account):
        started, _new = actions.start_chat(make_button(account), visitor, message="Hello",
                                           client_id="first")
    socket = VisitorChatSocket.__new__(VisitorChatSocket)
    socket.account, socket.chat_id = account, started.public_id
    with scope(account=account), CaptureQueriesContext(connection) as statements:
        assert socket._visitor_chat(token).pk == started.pk
        assert socket._visitor_chat(issue_visitor_token(account)) is None
    assert [s["sql"].split()[0] for s in statements] == ["SELECT", "UPDATE", "SELECT"]
    with scope(account=account):
        socket.chat = visitor_socket_chats().get(pk=started.pk)
        actions.post_visitor_message(socket.chat, "v-2", "Anyone there?")
        with CaptureQueriesContext(connection) as statements:
            payloads = socket._payloads_after(started.public_id, 0)
    assert [p["body"] for p in payloads][-2:] == ["Hello", "Anyone there?"]
    assert len(statements) == 1, [s["sql"] for s in statements]


@pytest.mark.django_db
def test_an_agent_tab_is_welcomed_in_a_few_queries_however_many_chats_it_holds(account):
    """Every agent tab reads its welcome when it connects, all of them at once after a
    restart: the reads must not grow with the agent's chats (their participants), nor be
    made twice (availability and settings), nor build the rings' joins when none rings."""
    anna = make_user(account, "anna@alpha.test", full_name="Anna")
    bruno = make_user(account, "bruno@alpha.test", full_name="Bruno")
    put_online(anna, bruno)
    configure(account, default_max_chats=5)
    button = make_button(account)

    def welcome() -> tuple[dict, int]:
        tab = AgentChatSocket.__new__(AgentChatSocket)
        tab.user = anna
        with scope(account=account), CaptureQueriesContext(connection) as statements:
            found = tab._welcome()
        return found, len(statements)

    def accepted(user, chat=None) -> Chat:
        chat = chat or start(button)
        with scope(account=account):
            actions.accept_ring(reload(chat), user)
        return chat

    first = accepted(anna)
    _found, with_one_chat = welcome()
    accepted(anna)
    accepted(anna)
    with scope(account=account):
        actions.invite_agent(reload(first), anna, bruno)
    accepted(bruno, first)
    found, with_three_chats = welcome()
    assert with_three_chats == with_one_chat <= 7
    assert found["agent"]["active_chats"] == 3
    summaries = {chat["id"]: chat for chat in found["chats"]}
    assert [p["name"] for p in summaries[first.public_id]["participants"]] == ["Bruno"]

    ringing = start(button)
    found, _count = welcome()
    assert [ring["chat"]["id"] for ring in found["rings"]] == [ringing.public_id]
    assert found["rings"][0]["chat"]["visitor"]["name"]


@pytest.mark.django_db(transaction=True)
def test_the_socket_thread_keeps_its_connection_while_sockets_are_open(monkeypatch):
    # Sockets of other tests in this worker may still count as open: this test's are alone.
    monkeypatch.setattr(db, "_open_sockets", 0)

    def current() -> tuple[object, object]:
        connection.ensure_connection()
        return connection.connection, connection.settings_dict["CONN_MAX_AGE"]

    def kept_for() -> object:
        return connection.settings_dict["CONN_MAX_AGE"]

    async def scenario() -> list[object]:
        db.socket_opened()
        seen = [await db.run(current)(), await db.run(current)()]
        await db.socket_closed()
        # Not through db.run, which would keep it again.
        seen.append(await asyncio.get_running_loop().run_in_executor(db.socket_thread, kept_for))
        return seen

    (first, age), (second, _age), age_after = asyncio.run(scenario())
    assert first is second and age == db.SOCKET_CONN_MAX_AGE
    assert age_after == connections.settings["default"]["CONN_MAX_AGE"]


@pytest.mark.django_db(transaction=True)
def test_the_socket_thread_checks_its_connection_once_a_second_and_after_an_error(monkeypatch):
    checked: list[int] = []
    check = BaseDatabaseWrapper.close_if_unusable_or_obsolete

    def counted(self: BaseDatabaseWrapper) -> None:
        checked.append(1)
        check(self)

    monkeypatch.setattr(BaseDatabaseWrapper, "close_if_unusable_or_obsolete", counted)
    monkeypatch.setattr(db, "CHECK_EVERY", 3600.0)

    def query() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")

    def fail() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")

    async def scenario() -> list[int]:
        await db.run(query)()  # opens the connection
        counts = []
        for _ in range(5):
            await db.run(query)()
            counts.append(len(checked))
        with pytest.raises(DatabaseError):
            await db.run(fail)()
        before = len(checked)
        await db.run(query)()
        counts.append(len(checked) - before)
        return counts

    counts = asyncio.run(scenario())
    assert counts[:5] == [counts[0]] * 5  # no check within the interval
    assert counts[5] == 1  # the failed call's connection is checked before the next


def test_the_in_memory_layer_buffers_in_order_and_refuses_a_full_channel():
    async def scenario() -> None:
        layer = SingleProcessChannelLayer(capacity=2)
        channel = await layer.new_channel()
        await layer.group_add("account.a.chat.x", channel)
        await layer.group_send("account.a.chat.x", {"type": "one"})
        await layer.send(channel, {"type": "two"})
        with pytest.raises(ChannelFull):
            await layer.send(channel, {"type": "three"})
        assert [(await layer.receive(channel))["type"] for _ in range(2)] == ["one", "two"]
        waiting = asyncio.ensure_future(layer.receive(channel))
        await asyncio.sleep(0)
        await layer.group_send("account.a.chat.x", {"type": "four"})
        assert (await waiting)["type"] == "four"
        assert layer.channels == {}  # nothing kept for a channel with nothing waiting

    asyncio.run(scenario())
