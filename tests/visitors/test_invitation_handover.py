"""Beats in an account that invites nobody read no invitation from the cache (the busiest
request stays cheap); an invitation another process posts is noticed within
``live.INVITED_CHECK_SECONDS``."""

import pytest
from django.core.cache import cache

from saruna.visitors import live

pytestmark = pytest.mark.django_db


def test_no_invitation_posted_means_no_cache_read_per_beat(account, monkeypatch):
    live._invited_at.clear()
    reads = []
    original = cache.get
    monkeypatch.setattr(cache, "get", lambda key, *a, **kw: reads.append(key) or original(
        key, *a, **kw))
    for number in range(50):
        assert live.take_invitation(account.pk, f"v{number}") is None
    assert len(reads) == 1  # the account's stamp, once


def test_an_invitation_from_another_process_is_noticed_after_the_check_interval(
        account, monkeypatch):
    live._invited_at.clear()
    assert live.take_invitation(account.pk, "v1") is None  # this process: none posted
    live.post_invitation(account.pk, "v1", {"id": "i1"})
    live._invited_at.clear()  # as if another process had posted it
    live._invited_at[account.pk] = (live.time.monotonic(), None)
    assert live.take_invitation(account.pk, "v1") is None  # not looked again yet
    clock = live.time.monotonic() + live.INVITED_CHECK_SECONDS
    monkeypatch.setattr(live.time, "monotonic", lambda: clock)
    assert live.take_invitation(account.pk, "v1") == {"id": "i1"}
    assert live.take_invitation(account.pk, "v1") is None  # handed over once
