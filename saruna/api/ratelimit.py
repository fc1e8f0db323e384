"""Requests per minute per API key (API §3.8): LiveAgent's 180 by default, the plan's
``api_requests_per_minute`` when the billing catalogue sets one.

The window slides: the count of the previous minute is weighted by how much of it still lies
inside the last 60 seconds and added to the count of the current minute. That costs one
cache increment and one read per request, is shared by every process through the cache
(Redis in production), and cannot be doubled by a burst across a minute boundary the way a
fixed window can.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from saruna.api.models import ApiKey
from saruna.core.models import Account

WINDOW = 60
# How long an account's plan limit is kept before the catalogue is asked again.
LIMIT_CACHE_SECONDS = 60


@dataclass(frozen=True)
class Usage:
    limit: int
    remaining: int
    # Seconds until one more request would be allowed; 0 while under the limit.
    retry_after: int

    @property
    def exceeded(self) -> bool:
        return self.retry_after > 0


def limit_for(account: Account) -> int:
    """The account's requests per minute: the plan's (with the provider's overrides), else
    ``SARUNA_API_RATE_LIMIT``."""
    cache_key = f"{account.pk}:api:rate-limit"
    cached = cache.get(cache_key)
    if cached is not None:
        return int(cached)
    from saruna.billing.catalogue import limits_of

    limit = limits_of(account).api_requests_per_minute or settings.SARUNA_API_RATE_LIMIT
    cache.set(cache_key, limit, LIMIT_CACHE_SECONDS)
    return int(limit)


def hit(key: ApiKey, now: float | None = None) -> Usage:
    """Counts one request of ``key`` and answers where it stands. A refused request is
    counted too, so hammering a key past its limit keeps it refused."""
    now = time.time() if now is None else now
    limit = limit_for(key.account)
    minute = int(now // WINDOW)
    current_key = _bucket(key, minute)
    cache.add(current_key, 0, timeout=2 * WINDOW + 1)
    try:
        current = cache.incr(current_key)
    except ValueError:  # expired between add() and incr()
        cache.set(current_key, 1, timeout=2 * WINDOW + 1)
        current = 1
    previous = int(cache.get(_bucket(key, minute - 1)) or 0)
    weight = 1 - (now % WINDOW) / WINDOW
    used = current + previous * weight
    if used <= limit:
        return Usage(limit, max(0, math.floor(limit - used)), 0)
    return Usage(limit, 0, _seconds_until_room(limit, current, previous, now))


def _seconds_until_room(limit: int, current: int, previous: int, now: float) -> int:
    """When the weighted count drops to ``limit - 1``: the previous minute's share fades
    as time passes; once it is gone, the current minute's count has to age out instead."""
    into = now % WINDOW
    if previous:
        # current + previous * (1 - t / WINDOW) <= limit - 1  →  t >= ...
        needed = WINDOW * (1 - (limit - 1 - current) / previous)
        if 0 <= needed < WINDOW:
            return max(1, math.ceil(needed - into))
    return max(1, math.ceil(WINDOW - into))


def _bucket(key: ApiKey, minute: int) -> str:
    return f"{key.account_id}:api:rate:{key.pk}:{minute}"
