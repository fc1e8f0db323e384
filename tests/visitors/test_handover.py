"""The web process answers and queues beats; the background worker writes them, one batch of
an account at a time."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django.core.cache import cache
from django.db import connections
from django_scopes import scope, scopes_disabled
from huey.contrib.djhuey import HUEY
from huey.signals import SIGNAL_COMPLETE

from saruna.visitors import live, tasks, tracking
from saruna.visitors.models import PageVisit, VisitSession
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture(autouse=True)
def _buffering(settings, monkeypatch):
    """Beats are queued, as in production; the test hands them over itself."""
    settings.SARUNA_TRACKING_FLUSH_SECONDS = 1
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True
    monkeypatch.setattr(tracking, "queue", tracking.BeatQueue(start_writer=False))


def _queue(account, count):
    client = tracker(account)
    for _ in range(count):
        assert beat(client, new_token(account)).status_code == 204


def _queued(account, count=3):
    _queue(account, count)
    return tracking.queue.take()


def _page_visits() -> int:
    with scopes_disabled():
        return PageVisit.objects.count()


def test_the_flusher_hands_each_batch_to_the_worker_as_one_task(account, settings, monkeypatch):
    written, completed = [], []
    monkeypatch.setattr(tracking, "write_beats", written.append)
    HUEY.signal(SIGNAL_COMPLETE)(on_complete := lambda signal, task: completed.append(task.name))
    try:
        settings.SARUNA_TRACKING_FLUSH_SECONDS = 0.05
        monkeypatch.setattr(tracking, "queue", tracking.BeatQueue())
        _queue(account, 3)
        deadline = time.monotonic() + 5
        while not written and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        HUEY.disconnect_signal(on_complete)
    assert completed == ["write_tracked_beats"]
    assert [len(batch) for batch in written] == [3]


def test_the_workers_task_writes_page_visits_sessions_and_the_live_state(account):
    beats = _queued(account)
    assert _page_visits() == 0  # the web process wrote nothing
    # What the worker gets: the task as Huey stores it in its queue.
    stored = HUEY.serialize_task(tasks.write_tracked_beats.s(beats))
    HUEY.execute(HUEY.deserialize_task(stored))
    with scopes_disabled():
        assert PageVisit.objects.count() == 3 and VisitSession.objects.count() == 3
    online = live.online(account.pk)
    assert len(online) == 3 and {s["url"] for s in online} == {"https://shop.test/"}
    assert {s["country"] for s in online} == {"LV"}


def test_a_clean_stop_hands_over_what_is_queued(account):
    _queue(account, 2)
    tracking.queue.hand_over_rest()
    assert _page_visits() == 2 and not tracking.queue.take()


def _slow_writer(monkeypatch):
    """Writes that take a while and count how many run at once."""
    running, most, done = [0], [0], []

    def write(account, beats):
        running[0] += 1
        most[0] = max(most[0], running[0])
        time.sleep(0.1)
        running[0] -= 1
        done.append(len(beats))

    monkeypatch.setattr(tracking, "_write_retrying", write)
    return most, done


def _writer_thread(batch) -> threading.Thread:
    """A worker thread writing ``batch`` (it sees only what the test committed)."""

    def write():
        try:
            tracking.write_beats(batch)
        finally:
            connections.close_all()

    return threading.Thread(target=write)


@pytest.mark.django_db(transaction=True)
def test_batches_of_an_account_are_written_one_at_a_time(account, monkeypatch):
    most, done = _slow_writer(monkeypatch)
    batches = [_queued(account, 1), _queued(account, 2)]
    threads = [_writer_thread(batch) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most[0] == 1 and sorted(done) == [1, 2]


@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_while_another_process_writes_the_account(account, monkeypatch):
    _, done = _slow_writer(monkeypatch)
    batch = _queued(account, 1)
    key = f"{account.pk}:visitors:writing"
    assert cache.add(key, "another process", 60)
    writer = _writer_thread(batch)
    writer.start()
    time.sleep(0.3)
    assert done == []
    cache.delete(key)
    writer.join(timeout=5)
    assert done == [1] and cache.get(key) is None


def test_a_batch_written_late_does_not_move_the_visit_back(account):
    client = tracker(account)
    token = new_token(account)
    beat(client, token, url="https://shop.test/a")
    beat(client, token, url="https://shop.test/b")
    first, second = tracking.queue.take()
    tracking.write_beats([second])  # a later batch written first (a backlog, two threads)
    tracking.write_beats([first])
    state = live.state(account.pk, first.visitor_id)
    assert state["last_seen"] == pytest.approx(second.at, abs=1e-3)
    with scope(account=account):
        session = VisitSession.objects.get()
        assert session.page_count == 2
        assert session.last_seen.timestamp() == pytest.approx(second.at, abs=1e-3)
        assert PageVisit.objects.count() == 2


STOPPED_BY_UVICORN = """
import signal
import django
import uvicorn

django.setup()
from saruna.visitors import tracking

tracking.hand_over = lambda beats: print("handed over", len(beats), flush=True)
tracking.queue.beats.append(tracking.Beat("acme", "visitor1", "view", 0.0, "https://shop.test/"))
server = uvicorn.Server(uvicorn.Config(app=None))
with server.capture_signals():  # serving; the service manager asks it to stop
    signal.raise_signal(signal.SIGTERM)
print("not reached: uvicorn raises the signal again once it has stopped")
"""


def test_a_server_stopped_with_sigterm_hands_over_what_is_queued():
    """uvicorn (``saruna serve``, the ASGI server) ends on a SIGTERM it raises again after a
    clean stop: the process dies without running atexit."""
    stopped = subprocess.run([sys.executable, "-c", STOPPED_BY_UVICORN], capture_output=True,
                             text=True, timeout=60, env={**os.environ, "SARUNA_TESTING": "1"})
    assert stopped.stdout == "handed over 1\n", stopped.stderr
    assert stopped.returncode == -signal.SIGTERM
