"""Live chat under load: N visitor and agent WebSocket pairs against `saruna serve`, beside
a bare `websockets` relay measured in the same run.

Seeds N running chats (one agent, department and button each, so that routing plays no part
in the measurement), starts `saruna serve` (no worker) and the bare relay as processes of
their own on loopback ports, then for each server:

- opens N agent and N visitor sockets and reads the server's memory before and after:
  memory per idle connection (and again once every socket has carried messages);
- has every visitor send one message every INTERVAL seconds (random phase) for DURATION
  seconds; the agent's socket notes when each arrives: messages/s delivered and p50/p99
  visitor→agent latency.

The relay does the least a chat server must: it forwards a visitor's frame to its agent
and echoes it to the visitor. Saruna stores each message (seq, client id, the ticket's
transcript) in its own transaction and broadcasts it after commit.

Uses its own throw-away database: an SQLite file in a temporary folder by default, a
PostgreSQL database ``saruna_bench_chat`` (dropped first) when DATABASE_URL is set; with
REDIS_URL the server uses channels-redis.

    python bench/chat.py [--pairs 1000] [--interval 10] [--duration 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server on port {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"nothing listens on port {port}")


# --- the bare relay ---------------------------------------------------------------------


def run_relay(port: int) -> None:
    """``/agent/<n>`` and ``/visitor/<n>``: a visitor's frame goes to agent n and back."""
    from websockets.asyncio.server import serve

    agents: dict[str, object] = {}

    async def handler(ws) -> None:
        role, pair = ws.request.path.strip("/").split("/")
        if role == "agent":
            agents[pair] = ws
            await ws.wait_closed()
            agents.pop(pair, None)
            return
        async for frame in ws:
            agent = agents.get(pair)
            if agent is not None:
                await agent.send(frame)
            await ws.send(frame)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None):
            await asyncio.Future()

    asyncio.run(main())


# --- seeding --------------------------------------------------------------------------------


def seed(pairs: int) -> list[dict]:
    """N running chats, each with its own agent (a session cookie) and visitor token.

    Written with bulk inserts, row for row what ``start_chat`` and ``accept_ring`` leave
    behind for a chat that an agent took: the visitor and its contact, the ticket (status
    T, the agent's) with the chat's message group and its first line ("… joined the
    chat."), the chat (chatting, seq 1) and that line as its message 1. Only the seeding is
    short-cut: the measured messages take the real path (socket → action → broadcast)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import transaction
    from django.utils import timezone
    from django_scopes import scope, scopes_disabled

    from saruna.accounts.models import User
    from saruna.chat import actions, queries
    from saruna.chat.models import (
        AgentAvailability,
        Chat,
        ChatButton,
        ChatMessage,
        ChatStatus,
        MessageKind,
    )
    from saruna.contacts.models import Contact
    from saruna.core.ids import new_code
    from saruna.core.models import Account, Plan
    from saruna.tickets.models import (
        ChannelType,
        Department,
        GroupType,
        Message,
        MessageGroup,
        MessageType,
        Status,
        Ticket,
    )
    from saruna.visitors.identity import issue_visitor_token, visitor_id_from_token
    from saruna.visitors.models import Visitor

    with scopes_disabled():
        plan, _ = Plan.objects.get_or_create(code="bench", defaults={"name": "Bench",
                                                                       "max_agents": 100000})
        account = Account.objects.create(slug="bench", name="Bench", plan=plan,
                                         status=Account.Status.ACTIVE)
    now = timezone.now()
    numbers = range(pairs)

    def ids(rows: list) -> list:
        """Public ids, which ``save`` would have drawn (bulk inserts skip it)."""
        for row in rows:
            if hasattr(row, "make_public_id") and not row.public_id:
                row.public_id = row.make_public_id()
        return rows

    with scope(account=account):
        actions.save_chat_settings(account, away_grace_seconds=86400, max_queue=pairs + 1)
        users = User.objects.bulk_create(ids([
            User(account=account, email=f"agent{n}@bench.test", full_name=f"Agent {n}",
                 password="!") for n in numbers]))
        departments = Department.objects.bulk_create(ids([
            Department(account=account, public_id=f"d{n}", name=f"Desk {n}") for n in numbers]))
        Department.agents.through.objects.bulk_create(ids([
            Department.agents.through(department_id=d.pk, user_id=u.pk)
            for d, u in zip(departments, users, strict=True)]))
        AgentAvailability.objects.bulk_create(ids([
            AgentAvailability(account=account, user=u, status="online", last_seen=now)
            for u in users]))
        buttons = ChatButton.objects.bulk_create(ids([
            ChatButton(account=account, public_id=f"b{n}", name=f"Button {n}", department=d)
            for n, d in enumerate(departments)]))
        contacts = Contact.objects.bulk_create(ids([
            Contact(account=account, firstname="Visitor", lastname=str(n),
                    system_name=f"Visitor {n}") for n in numbers]))
        tokens = [issue_visitor_token(account) for _n in numbers]
        visitors = Visitor.objects.bulk_create(ids([
            Visitor(account=account, public_id=visitor_id_from_token(account, token),
                    contact=contact) for token, contact in zip(tokens, contacts, strict=True)]))
        tickets = Ticket.objects.bulk_create(ids([
            Ticket(account=account, code=new_code(), subject=f"Chat with Visitor {n}",
                   owner=contacts[n], department=departments[n], agent=users[n],
                   channel_type=ChannelType.CHAT_BUTTON, status=Status.CHATTING,
                   date_created=now, date_changed=now, last_activity=now,
                   last_activity_public=now) for n in numbers]))
        groups = MessageGroup.objects.bulk_create(ids([
            MessageGroup(account=account, ticket=ticket, type=GroupType.CHAT, datecreated=now,
                         sort_order=1, author_user=user)
            for ticket, user in zip(tickets, users, strict=True)]))
        lines = Message.objects.bulk_create(ids([
            Message(account=account, group=group, type=MessageType.SYSTEM_PUBLIC,
                    body=f"Agent {n} joined the chat.", text=f"Agent {n} joined the chat.",
                    datecreated=now, author_user=users[n])
            for n, group in enumerate(groups)]))
        chats = Chat.objects.bulk_create(ids([
            Chat(account=account, ticket=tickets[n], visitor=visitors[n], button=buttons[n],
                 department=departments[n], agent=users[n], status=ChatStatus.CHATTING,
                 fields={"name": f"Visitor {n}"}, date_queued=now, date_accepted=now,
                 visitor_last_seen=now, last_seq=1, group=groups[n]) for n in numbers]))
        ChatMessage.objects.bulk_create(ids([
            ChatMessage(account=account, chat=chat, seq=1, client_id="system-1",
                        kind=MessageKind.SYSTEM, body=line.body, ticket_message=line, date=now)
            for chat, line in zip(chats, lines, strict=True)]))
        seeded = []
        with transaction.atomic():
            for user, chat, token in zip(users, chats, tokens, strict=True):
                session = SessionStore()
                session[SESSION_KEY] = user.pk
                session[BACKEND_SESSION_KEY] = "saruna.accounts.backends.AccountEmailBackend"
                session[HASH_SESSION_KEY] = user.get_session_auth_hash()
                session.create()
                seeded.append({"chat": chat.public_id, "token": token,
                               "cookie": session.session_key, "agent": user.pk})
        assert queries.chat_settings(account).away_grace_seconds == 86400
    return seeded


# --- the load -------------------------------------------------------------------------------


class Target:
    """How to open the two sockets of pair ``n`` on one server and read its frames."""

    def __init__(self, name: str, port: int, pid: int, pairs: list[dict] | None) -> None:
        self.name, self.port, self.pid, self.pairs = name, port, pid, pairs

    async def open(self, n: int) -> tuple[object, object]:
        from websockets.asyncio.client import connect

        if self.pairs is None:
            base = f"ws://127.0.0.1:{self.port}"
            agent = await connect(f"{base}/agent/{n}", compression=None, open_timeout=60)
            visitor = await connect(f"{base}/visitor/{n}", compression=None, open_timeout=60)
            return agent, visitor
        pair = self.pairs[n]
        origin = {"Origin": f"http://bench.localhost:{self.port}"}
        uri = f"ws://bench.localhost:{self.port}"
        loopback = {"host": "127.0.0.1", "port": self.port, "compression": None,
                    "open_timeout": 60}
        agent = await connect(f"{uri}/ws/chat/agent/", additional_headers={
            **origin, "Cookie": f"sessionid={pair['cookie']}"}, **loopback)
        json.loads(await agent.recv())  # welcome
        visitor = await connect(f"{uri}/ws/chat/visitor/{pair['chat']}/",
                                additional_headers=origin, **loopback)
        await visitor.send(json.dumps({"type": "hello", "token": pair["token"],
                                       "after_seq": 0}))
        while json.loads(await visitor.recv())["type"] != "state":
            pass  # the catch-up before it
        return agent, visitor

    def frame(self, n: int, sent_at: float) -> str:
        body = f"{n} {sent_at:.6f}"
        if self.pairs is None:
            return body
        return json.dumps({"type": "message", "client_id": uuid.uuid4().hex, "body": body})

    def sent_at(self, raw: str | bytes) -> float | None:
        if self.pairs is None:
            return float(str(raw).split()[1])
        frame = json.loads(raw)
        if frame.get("type") != "message" or frame["message"]["kind"] != "visitor":
            return None
        return float(frame["message"]["body"].split()[1])


async def drain(ws) -> None:
    try:
        async for _frame in ws:
            pass
    except Exception:
        return


async def measure(target: Target, pairs: int, interval: float, duration: float) -> dict:
    before = rss_kib(target.pid)
    limit = asyncio.Semaphore(50)

    async def open_pair(n: int) -> tuple[object, object]:
        async with limit:
            return await target.open(n)

    started = time.perf_counter()
    sockets = await asyncio.gather(*(open_pair(n) for n in range(pairs)))
    opened_in = time.perf_counter() - started
    await asyncio.sleep(3)
    idle = (rss_kib(target.pid) - before) / (2 * pairs)

    latencies: list[float] = []
    sent = 0

    async def agent_reader(ws) -> None:
        try:
            async for raw in ws:
                at = target.sent_at(raw)
                if at is not None:
                    latencies.append(time.perf_counter() - at)
        except Exception:
            return

    async def visitor_writer(n: int, ws) -> None:
        nonlocal sent
        await asyncio.sleep(random.uniform(0, interval))
        end = started_load + duration
        while time.perf_counter() < end:
            await ws.send(target.frame(n, time.perf_counter()))
            sent += 1
            await asyncio.sleep(interval)

    readers = [asyncio.create_task(agent_reader(a)) for a, _v in sockets]
    drains = [asyncio.create_task(drain(v)) for _a, v in sockets]
    started_load = time.perf_counter()
    await asyncio.gather(*(visitor_writer(n, v) for n, (_a, v) in enumerate(sockets)))
    # Let what is on its way arrive (bounded).
    deadline = time.perf_counter() + 30
    while len(latencies) < sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.2)
    elapsed = time.perf_counter() - started_load
    # Every socket has carried messages now (compression contexts and buffers in use).
    after_load = (rss_kib(target.pid) - before) / (2 * pairs)
    for agent, visitor in sockets:
        await agent.close()
        await visitor.close()
    for task in readers + drains:
        task.cancel()
    ordered = sorted(latencies) or [float("nan")]
    return {
        "name": target.name, "sent": sent, "delivered": len(latencies),
        "rate": len(latencies) / elapsed,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
        "idle_kib": idle, "loaded_kib": after_load, "open_s": opened_in,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=10.0,
                        help="seconds between one visitor's messages")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--relay", type=int, help=argparse.SUPPRESS)  # run the relay only
    args = parser.parse_args()
    if args.relay:
        run_relay(args.relay)
        return

    var = tempfile.mkdtemp(prefix="saruna-bench-chat-")
    env = {**os.environ, "SARUNA_VAR_DIR": var, "SECRET_KEY": secrets.token_urlsafe(40),
           "SARUNA_BASE_DOMAIN": "localhost", "DJANGO_SETTINGS_MODULE": "saruna.settings"}
    env.pop("SARUNA_TESTING", None)
    if env.get("DATABASE_URL", "").startswith("postgres"):
        env["DATABASE_URL"] = env["DATABASE_URL"].rsplit("/", 1)[0] + "/saruna_bench_chat"
        _recreate_postgres(env["DATABASE_URL"])
    os.environ.update(env)

    import django

    django.setup()
    from django.core.management import call_command

    print(f"migrating a fresh database in {var} ...", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    print(f"seeding {args.pairs} running chats ...", flush=True)
    pairs = seed(args.pairs)
    from django.db import connections

    connections.close_all()

    saruna_port, relay_port = free_port(), free_port()
    processes = [
        subprocess.Popen([sys.executable, "-m", "saruna", "serve", "--no-worker", "--no-migrate",
                          "--port", str(saruna_port)], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, __file__, "--relay", str(relay_port)], env=env),
    ]
    try:
        wait_for_port(saruna_port, processes[0])
        wait_for_port(relay_port, processes[1])
        results = []
        for target in (Target("bare websockets relay", relay_port, processes[1].pid, None),
                       Target("saruna serve", saruna_port, processes[0].pid, pairs)):
            print(f"measuring {target.name} ...", flush=True)
            results.append(asyncio.run(measure(target, args.pairs, args.interval,
                                               args.duration)))
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)
    engine = "PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else "SQLite"
    layer = "channels-redis" if env.get("REDIS_URL") else "in-memory channel layer"
    print(f"\n{args.pairs} pairs, one message per visitor every {args.interval:g} s for "
          f"{args.duration:g} s ({engine}, {layer})")
    print(f"{'server':<24}{'sent':>7}{'delivered':>10}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}"
          f"{'KiB/idle conn':>15}{'after load':>12}{'open s':>8}")
    for r in results:
        print(f"{r['name']:<24}{r['sent']:>7}{r['delivered']:>10}{r['rate']:>8.1f}"
              f"{r['p50']:>9.1f}{r['p99']:>9.1f}{r['idle_kib']:>15.1f}{r['loaded_kib']:>12.1f}{r['open_s']:>8.1f}")
    relay, saruna = results
    print(f"\np99 saruna / relay: {saruna['p99'] / relay['p99']:.1f}x (target <= 2x); "
          f"memory per idle connection: {saruna['idle_kib']:.1f} KiB (target <= 25 KiB)")


def _recreate_postgres(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


if __name__ == "__main__":
    main()
