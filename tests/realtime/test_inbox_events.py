"""Inbox events over a real socket: a change reaches the agents who may see the ticket and no
one else; watching a ticket shares presence (viewing, typing) with the others on it."""

import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions
from tests.factories import make_account, make_user
from tests.realtime.test_agent_socket import connect, session_cookie
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)


async def next_of(ws, kind, timeout=5):
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), timeout))
        if message["type"] == kind:
            return message


async def nothing_of(ws, kind, wait=0.7):
    try:
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), wait))
            assert message["type"] != kind, message
    except TimeoutError:
        return


def test_reply_reaches_the_other_agent_and_not_the_outsider(asgi_server):
    account = make_account("alpha")
    ben = make_user(account, "ben@alpha.test", full_name="Ben Ozols")
    anna = make_user(account, "anna@alpha.test", full_name="Anna Bērziņa")
    outsider = make_user(account, "out@alpha.test")
    with scope(account=account):
        support = actions.save_department(account, name="Support", agents=[ben, anna])
        actions.save_department(account, name="Other", agents=[outsider])
        contact = contact_actions.create_contact(account, firstname="Cleo")
        ticket = actions.open_ticket(account, "Live one", "Hi", contact, department=support)
    cookies = {u: session_cookie(account, u) for u in (ben, anna, outsider)}

    def reply():
        with scope(account=account):
            actions.add_agent_reply(ticket, anna, "<p>On it</p>")

    async def scenario():
        ben_ws = await connect(asgi_server, "alpha", cookies[ben])
        out_ws = await connect(asgi_server, "alpha", cookies[outsider])
        await sync_to_async(reply)()
        event = await next_of(ben_ws, "ticket.changed")
        assert event["ticket"]["id"] == ticket.public_id
        assert event["ticket"]["status"] == "A" and "status" in event["changed"]
        await nothing_of(out_ws, "ticket.changed")
        # Watching the ticket does not deliver the same change twice.
        await ben_ws.send(json.dumps({"type": "watch", "ticket": ticket.public_id}))
        await asyncio.sleep(0.2)
        await sync_to_async(reply)()
        await next_of(ben_ws, "ticket.changed")
        await nothing_of(ben_ws, "ticket.changed", wait=0.5)
        # The outsider may not watch it: nothing of its presence reaches them.
        await out_ws.send(json.dumps({"type": "watch", "ticket": ticket.public_id}))
        await ben_ws.send(json.dumps({"type": "typing"}))
        await nothing_of(out_ws, "presence")
        for ws in (ben_ws, out_ws):
            await ws.close()

    run_async(scenario())


def test_transfer_away_tells_the_old_agent_then_nothing_more(asgi_server):
    account = make_account("alpha")
    ben = make_user(account, "ben@alpha.test")
    with scope(account=account):
        support = actions.save_department(account, name="Support", agents=[ben])
        billing = actions.save_department(account, name="Billing")
        contact = contact_actions.create_contact(account, firstname="Cleo")
        ticket = actions.open_ticket(account, "Moving", "Hi", contact, department=support)
    cookie = session_cookie(account, ben)

    def move():
        with scope(account=account):
            actions.change_department(ticket, billing)

    def resolve():
        with scope(account=account):
            actions.change_status(ticket, "R")

    async def scenario():
        ws = await connect(asgi_server, "alpha", cookie)
        await sync_to_async(move)()
        event = await next_of(ws, "ticket.changed")
        assert event["previous"]["departmentid"] == support.public_id
        await sync_to_async(resolve)()
        await nothing_of(ws, "ticket.changed")
        await ws.close()

    run_async(scenario())


def test_presence_viewing_typing_and_leaving(asgi_server):
    account = make_account("alpha")
    ben = make_user(account, "ben@alpha.test", full_name="Ben Ozols")
    anna = make_user(account, "anna@alpha.test", full_name="Anna Berzina", role="owner")
    with scope(account=account):
        support = actions.save_department(account, name="Support", agents=[ben])
        contact = contact_actions.create_contact(account, firstname="Cleo")
        ticket = actions.open_ticket(account, "Together", "Hi", contact, department=support)
    ben_cookie, anna_cookie = session_cookie(account, ben), session_cookie(account, anna)

    async def scenario():
        anna_ws = await connect(asgi_server, "alpha", anna_cookie)
        ben_ws = await connect(asgi_server, "alpha", ben_cookie)
        await anna_ws.send(json.dumps({"type": "watch", "ticket": ticket.public_id}))
        await asyncio.sleep(0.2)
        await ben_ws.send(json.dumps({"type": "watch", "ticket": ticket.public_id}))
        joined = await next_of(anna_ws, "presence")
        assert (joined["name"], joined["state"]) == ("Ben Ozols", "joined")
        already = await next_of(ben_ws, "presence")
        assert (already["name"], already["state"]) == ("Anna Berzina", "viewing")
        await ben_ws.send(json.dumps({"type": "typing"}))
        typing = await next_of(anna_ws, "presence")
        assert (typing["user"], typing["state"]) == (ben.pk, "typing")
        await ben_ws.close()
        left = await next_of(anna_ws, "presence")
        assert (left["user"], left["state"]) == (ben.pk, "left")
        await anna_ws.close()

    run_async(scenario())
