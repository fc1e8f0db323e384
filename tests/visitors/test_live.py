"""The "Online visitors" screen's socket: everyone arrives, and a busy site does not flood
the agent's browser."""

import asyncio
import contextlib
import json
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope

from saruna.visitors import consumers, live, queries
from saruna.visitors.models import Visitor, VisitSession
from tests.chat.live import open_socket, session_cookie
from tests.factories import make_account, make_user
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)

VISITORS = 10_000
# Each visitor's page beats every 20 s; the beats reach the live state in batches, as several
# web processes' flushers hand them over: ten batches a second move the live version five
# times as often as the cap lets frames go. No more than that: the server shares this
# process, and a harder writer starved it on busy CI boxes.
BEAT_SECONDS = 20
BATCHES_PER_SECOND = 10
# The agent watches until the whole crowd has arrived (some 7 s here) and at least this long;
# a slow box gets until the deadline.
WATCH_SECONDS = 4
DEADLINE_SECONDS = 60


def _crowd(account, size: int = VISITORS) -> list[dict]:
    """Everyone on the site, in the middle of a visit of as many pages as the screen shows of
    a path: the rows in bulk, and their live states (made with the helpers the tracking uses)
    straight into the cache the screen reads."""
    now = timezone.now()
    with scope(account=account):
        visitors = Visitor.objects.bulk_create(
            Visitor(account=account, public_id=f"v{n:015d}", first_seen=now, last_seen=now)
            for n in range(size))
        sessions = VisitSession.objects.bulk_create(
            VisitSession(account=account, visitor=visitor, public_id=f"s{n:011d}",
                         started_at=now - timedelta(seconds=n % 600), last_seen=now,
                         country="LV", region="Riga", city="Riga", latitude=56.95,
                         longitude=24.1 + (n % 100) / 100, browser="Firefox", os="Linux",
                         device="desktop", source_type="organic", source_name="Google",
                         page_count=queries.PATH_SHOWN, returning=bool(n % 2))
            for n, visitor in enumerate(visitors))
    states = []
    for n, (visitor, session) in enumerate(zip(visitors, sessions, strict=True)):
        state = live.new_state(visitor, session)
        for page in range(queries.PATH_SHOWN):
            live.add_page(state, f"https://shop.test/products/{n}/{page}",
                          f"Product {n}, page {page}", session.started_at.timestamp() + page)
        state.update(page_count=session.page_count, last_seen=now.timestamp())
        states.append(state)
    live.save_states(account.pk, {state["visitor"]: state for state in states})
    return states


def _busy_site(account_id: str, crowd: list[dict], stop: threading.Event,
               batches: list[int]) -> None:
    """Heartbeats of the whole crowd, each visitor every BEAT_SECONDS, until stopped."""
    size = len(crowd) // BEAT_SECONDS // BATCHES_PER_SECOND
    start = 0
    while not stop.wait(1 / BATCHES_PER_SECOND):
        now = time.time()
        beating = [crowd[n % len(crowd)] for n in range(start, start + size)]
        for state in beating:
            state["last_seen"] = now
        live.save_states(account_id, {state["visitor"]: state for state in beating})
        start += size
        batches.append(size)


def test_a_10000_visitor_site_does_not_flood_the_agent(asgi_server):
    """The whole crowd reaches the screen, MAX_PER_FRAME visitors a frame at most, and the
    agent gets at most 1 / PUSH_SECONDS frames a second, at the production settings."""
    account = make_account("alpha")
    cookie = session_cookie(account, make_user(account, "agent@alpha.test"))
    crowd = _crowd(account)
    frames: list[tuple[int, dict]] = []  # (bytes, frame)
    arrived: set[str] = set()
    batches: list[int] = []
    watched: list[float] = []

    async def watch():
        socket = await open_socket(asgi_server.port, "alpha", "/ws/visitors/", cookie)
        opened = time.monotonic()
        stop = threading.Event()
        writer = threading.Thread(target=_busy_site, args=(account.pk, crowd, stop, batches))
        writer.start()
        deadline = opened + DEADLINE_SECONDS
        try:
            # Until everyone has arrived and at least WATCH_SECONDS; a silent server or a crowd
            # that never arrives ends the watch at the deadline (the assertions say which).
            with contextlib.suppress(TimeoutError):
                while len(arrived) < VISITORS or time.monotonic() - opened < WATCH_SECONDS:
                    text = await asyncio.wait_for(socket.ws.recv(), deadline - time.monotonic())
                    frame = json.loads(text)
                    frames.append((len(text.encode()), frame))
                    arrived.update(visitor["id"] for visitor in frame["changed"])
            watched.append(time.monotonic() - opened)
        finally:
            stop.set()
            writer.join()
            await socket.ws.close()

    run_async(watch(), timeout=DEADLINE_SECONDS + 30)
    cap = 1 / consumers.PUSH_SECONDS
    # n frames need n - 1 pauses of PUSH_SECONDS between them, all within the time watched.
    per_second = (len(frames) - 1) / watched[0]
    largest = max((size for size, _frame in frames), default=0)
    print(f"\n{len(frames)} frames in {watched[0]:.1f} s ({per_second:.2f}/s; cap {cap:.0f}/s), "
          f"{sum(batches)} beats in {len(batches)} batches, largest frame {largest / 1e3:.0f} kB, "
          f"{len(arrived)} of {VISITORS} visitors arrived")
    assert len(arrived) == VISITORS, "the crowd did not reach the agent within the deadline"
    assert len(batches) > len(frames), "the site was not busier than the frames"
    assert per_second <= cap
    assert frames[0][1]["online"] == VISITORS
    # Bounded frames (the test's client would also refuse one over 1 MiB, websockets' limit).
    assert len(frames[0][1]["changed"]) == consumers.MAX_PER_FRAME  # the rest follow
    assert all(len(frame["changed"]) <= consumers.MAX_PER_FRAME for _size, frame in frames)
    assert all(frame["online"] == VISITORS for _size, frame in frames)
    # Paths stay home (only the visitor the agent opens comes with one): a frame of a
    # thousand visitors with fifteen pages each would be some 2.6 MB.
    assert largest <= consumers.MAX_PER_FRAME * 500
    assert not any("path" in visitor for _size, frame in frames for visitor in frame["changed"])


def test_the_visitor_the_agent_opens_comes_with_their_path(asgi_server):
    account = make_account("alpha")
    cookie = session_cookie(account, make_user(account, "agent@alpha.test"))
    crowd = _crowd(account, size=3)
    opened = crowd[1]

    async def scenario():
        socket = await open_socket(asgi_server.port, "alpha", "/ws/visitors/", cookie)
        first = await socket.until("visitors")
        assert len(first["changed"]) == 3 and not any("path" in v for v in first["changed"])
        await socket.send(type="watch", visitor=opened["visitor"])
        path = await socket.until("path")
        assert path["visitor"] == opened["visitor"]
        assert [page["title"] for page in path["path"]] == [
            f"Product 1, page {n}" for n in range(queries.PATH_SHOWN)]
        # A new page of theirs comes with the path; the others' changes without.
        live.add_page(opened, "https://shop.test/cart", "Cart", time.time())
        for state in crowd:
            state["last_seen"] = time.time()
        live.save_states(account.pk, {state["visitor"]: state for state in crowd})
        changed = {v["id"]: v for v in (await socket.until("visitors"))["changed"]}
        assert changed[opened["visitor"]]["path"][-1]["title"] == "Cart"
        assert [vid for vid, v in changed.items() if "path" in v] == [opened["visitor"]]
        await socket.close()

    run_async(scenario())


def test_a_stranger_gets_no_socket(asgi_server):
    account = make_account("alpha")
    other = make_account("beta")
    stranger = make_user(other, "agent@beta.test")
    cookie = session_cookie(other, stranger)

    async def knock():
        with pytest.raises(Exception):  # noqa: B017 (closed during the handshake, 4401)
            socket = await open_socket(asgi_server.port, "alpha", "/ws/visitors/", cookie)
            await socket.next(timeout=3)

    assert account.pk != other.pk
    run_async(knock())


def test_a_busy_site_does_not_keep_newcomers_off_the_screen(monkeypatch):
    monkeypatch.setattr(consumers, "MAX_PER_FRAME", 10)
    account = make_account("busy")
    now = timezone.now()
    crowd = []
    for n in range(30):
        state = live.new_state(Visitor(public_id=f"v{n:02d}"),
                               VisitSession(public_id=f"s{n:02d}", started_at=now))
        crowd.append(state)
    live.save_states(account.pk, {state["visitor"]: state for state in crowd})
    known: dict[str, float] = {}
    for frame in range(3):
        with scope(account=account):
            assert consumers.snapshot(account.pk, known) is not None
        # Everyone the screen shows beats before the next frame.
        beating = [state for state in crowd if state["visitor"] in known]
        for state in beating:
            state["last_seen"] = time.time() + frame + 1
        live.save_states(account.pk, {state["visitor"]: state for state in beating})
    assert sorted(known) == [f"v{n:02d}" for n in range(30)]
