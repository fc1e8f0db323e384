"""The agent's WebSocket over a real ASGI server: tenant bound, login required."""

import asyncio
import json

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from django_scopes import scope

from saruna.realtime.bus import publish, user_group
from tests.factories import make_account, make_user
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)


def session_cookie(account, user) -> str:
    client = Client(HTTP_HOST=account.host)
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def connect(server, slug, cookie=""):
    origin = f"http://{slug}.localhost:{server.port}"
    return await websockets.connect(
        f"ws://{slug}.localhost:{server.port}/ws/agent/",
        host="127.0.0.1", port=server.port,
        additional_headers={"Origin": origin, "Cookie": f"sessionid={cookie}"},
        open_timeout=5,
    )


def test_agent_socket_answers_heartbeat_and_receives_events(asgi_server):
    account = make_account("alpha")
    user = make_user(account, "agent@alpha.test")
    cookie = session_cookie(account, user)

    async def scenario():
        ws = await connect(asgi_server, "alpha", cookie)
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}

        def end_session():
            with scope(account=account):
                publish(user_group(account.pk, user.pk), "session.ended",
                        session_key=cookie, reason="replaced")

        await sync_to_async(end_session)()
        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        assert message == {"type": "session.ended", "reason": "replaced"}
        await ws.close()

    run_async(scenario())


def test_socket_refuses_anonymous_and_other_tenants_session(asgi_server):
    alpha = make_account("alpha")
    make_account("beta")
    cookie_alpha = session_cookie(alpha, make_user(alpha, "agent@alpha.test"))

    async def refused(slug, cookie):
        with pytest.raises(websockets.InvalidStatus) as refusal:
            await connect(asgi_server, slug, cookie)
        return refusal.value.response.status_code

    async def scenario():
        assert await refused("alpha", "") == 403
        # Alpha's session cookie presented to beta's host is nobody there.
        assert await refused("beta", cookie_alpha) == 403
        assert await refused("nosuch", cookie_alpha) == 403

    run_async(scenario())
