"""A small rate limiter on the Django cache, shared by every feature that must throttle.

Limits are written ``"<count>/<period>"``: ``"5/h"``, ``"20/m"``, ``"3/15m"``, ``"100/d"``.
The window slides: the previous window's count, weighted by how much of it still lies inside
the last ``period`` seconds, is added to the current window's. That costs one cache increment
and one read per hit, is shared by all processes through the cache, and a burst straddling a
window's edge is counted whole instead of starting again from zero.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time

from django.core.cache import cache
from django.http import HttpRequest

from saruna.core.net import client_ip

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])\s*$")


def parse(spec: str) -> tuple[int, int]:
    """``"5/h"`` → ``(5, 3600)``: the allowed count and the window in seconds."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"Bad rate limit {spec!r}: expected e.g. '5/h' or '3/15m'.")
    count, multiplier, unit = match.groups()
    return int(count), int(multiplier or 1) * _UNITS[unit]


def _cache_key(key: str, period: int, window: int) -> str:
    # Hashed so any caller-supplied text (addresses, e-mails) makes a valid cache key.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return f"ratelimit:{digest}:{period}:{window}"


def _previous_share(key: str, period: int, now: float) -> int:
    """The part of the previous window's count that still lies inside the last ``period``
    seconds, rounded to whole attempts."""
    previous = cache.get(_cache_key(key, period, int(now // period) - 1), 0)
    return round(previous * (1 - (now % period) / period))


def increment(key: str, limit_spec: str) -> int:
    """Count one attempt for ``key``; returns the attempts in the last period so far."""
    _count, period = parse(limit_spec)
    now = time.time()
    cache_key = _cache_key(key, period, int(now // period))
    # Kept through the next window, where it is the previous one.
    cache.add(cache_key, 0, timeout=2 * period + 1)
    try:
        current = cache.incr(cache_key)
    except ValueError:  # the window expired between add() and incr()
        cache.set(cache_key, 1, timeout=2 * period + 1)
        current = 1
    return int(current) + _previous_share(key, period, now)


def hit(key: str, limit_spec: str) -> bool:
    """Count one attempt for ``key``; True while the attempts in the last period stay
    within the limit, False once they exceed it."""
    return increment(key, limit_spec) <= parse(limit_spec)[0]


def exhausted(key: str, limit_spec: str) -> bool:
    """True when the last period has used up the limit, without counting an attempt."""
    count, period = parse(limit_spec)
    now = time.time()
    current = cache.get(_cache_key(key, period, int(now // period)), 0)
    return bool(current + _previous_share(key, period, now) >= count)


def reset(key: str, limit_spec: str) -> None:
    period = parse(limit_spec)[1]
    window = int(time.time() // period)
    cache.delete_many([_cache_key(key, period, window), _cache_key(key, period, window - 1)])


def client_key(request: HttpRequest) -> str:
    """Who is asking, for per-client limits: the IPv4 address, or the IPv6 /64 (one
    subscriber usually holds a whole /64 and could rotate addresses inside it)."""
    ip = client_ip(request) or "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return ip
