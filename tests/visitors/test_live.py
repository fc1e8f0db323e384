"""The "Online visitors" screen's socket: everyone arrives, and a busy site does not flood
the agent's browser."""

import contextlib
import threading
import time

import pytest

from saruna.visitors import consumers, live
from tests.chat.live import open_socket, session_cookie
from tests.factories import make_account, make_user
from tests.servers import run_async

pytestmark = pytest.mark.django_db(transaction=True)

# Frames of at most FRAME visitors (the server runs in this process, so the test sets it):
# three frames' worth of visitors need the cap and stay light for a busy CI box.
FRAME = 100
VISITORS = 3 * FRAME


def _state(number: int, at: float) -> dict:
    return {
        "visitor": f"v{number:015d}", "session": f"s{number:011d}", "started": at - 60,
        "last_seen": at, "page_started": at, "url": f"https://shop.test/p/{number % 50}",
        "title": "Product", "pages": [[f"https://shop.test/p/{number % 50}", "Product", at]],
        "page_count": 1 + number % 7, "source_type": "organic", "source_name": "Google",
        "country": "LV", "region": "Riga", "city": "Riga", "latitude": 56.95,
        "longitude": 24.1 + (number % 100) / 10, "browser": "Firefox", "os": "Linux",
        "device": "desktop", "returning": bool(number % 2), "name": "", "left": False,
        "pending": None, "declined": False,
    }


def _beats(account_id: str, start: int, count: int) -> None:
    """A batch of beats as the tracking flush writes them."""
    now = time.time()
    live.save_states(account_id, {
        s["visitor"]: s for s in (_state(n % VISITORS, now) for n in range(start, start + count))})


def _busy_site(account_id: str, stop: threading.Event) -> None:
    """Beats of all the visitors, 20 every 50 ms (400 a second, each batch moving the live
    version 20 times a second, ten times the cap), until stopped. Gentle enough not to starve
    the server, which shares this process."""
    start = 0
    while not stop.is_set():
        _beats(account_id, start, 20)
        start += 20
        time.sleep(0.05)


def test_a_busy_site_stays_under_the_frame_cap(asgi_server, monkeypatch):
    monkeypatch.setattr(consumers, "MAX_PER_FRAME", FRAME)
    account = make_account("alpha")
    agent = make_user(account, "agent@alpha.test")
    cookie = session_cookie(account, agent)
    window = 4.0
    frames: list[tuple[float, dict]] = []
    watched: list[float] = []

    _beats(account.pk, 0, VISITORS)  # everyone is on the site

    async def watch():
        socket = await open_socket(asgi_server.port, "alpha", "/ws/visitors/", cookie)
        first = await socket.next(timeout=60)
        assert first["online"] == VISITORS
        assert len(first["changed"]) == FRAME  # the rest in the next frames
        stop = threading.Event()
        writer = threading.Thread(target=_busy_site, args=(account.pk, stop))
        writer.start()
        try:
            # At least the window, longer while no frame came yet (a busy CI box writes the
            # beats slowly); the rate is measured over the whole time watched.
            started = time.monotonic()
            while (time.monotonic() - started < window
                   or (not frames and time.monotonic() - started < 60)):
                with contextlib.suppress(TimeoutError):
                    frames.append((time.monotonic(), await socket.next(timeout=0.2)))
            watched.append(time.monotonic() - started)
        finally:
            stop.set()
            writer.join()
            await socket.ws.close()

    run_async(watch(), timeout=150)
    cap = 1 / consumers.PUSH_SECONDS
    per_second = len(frames) / watched[0]
    print(f"\n{len(frames)} frames in {watched[0]:.0f} s ({per_second:.1f}/s; cap {cap:.0f}/s) "
          f"for {VISITORS} visitors")
    assert frames, "the agent got no updates while the site was busy"
    assert per_second <= cap + 0.5
    assert all(f["online"] == VISITORS for _t, f in frames)


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
