"""Who is on the web site now: live visitor state in the cache, shared by every process.

Per visitor, a small dict (current page, the visit's path, source, place, device); per
account, an index of online visitors with the moment each one stops counting as online, and
a version stamp that changes whenever the index or a state changes, so watchers poll one
small key. The database keeps the history; this is only the present.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache

from saruna.visitors.models import Visitor, VisitSession

# The tracking module beats every 20 s while the page is visible.
ONLINE_SECONDS = 60
# After a page's unload, the next page usually follows within a second or two.
LEFT_SECONDS = 15
PATH_LENGTH = 30
KEEP_SECONDS = 3600


def state_key(account_id: str, visitor_id: str) -> str:
    return f"{account_id}:visitors:live:{visitor_id}"


def _index_key(account_id: str) -> str:
    return f"{account_id}:visitors:online"


def version_key(account_id: str) -> str:
    return f"{account_id}:visitors:version"


def _invitation_key(account_id: str, visitor_id: str) -> str:
    return f"{account_id}:visitors:invitation:{visitor_id}"


def _invited_at_key(account_id: str) -> str:
    return f"{account_id}:visitors:invited_at"


# How often a process looks whether the account has posted an invitation lately: a beat is
# answered from memory, not with a cache read per beat, in an account that invites nobody.
INVITED_CHECK_SECONDS = 0.5
_invited_at: dict[str, tuple[float, float | None]] = {}


def _may_have_invitation(account_id: str) -> bool:
    now = time.monotonic()
    checked = _invited_at.get(account_id)
    if checked is None or now - checked[0] >= INVITED_CHECK_SECONDS:
        checked = (now, cache.get(_invited_at_key(account_id)))
        _invited_at[account_id] = checked
    posted = checked[1]
    return posted is not None and time.time() - posted < KEEP_SECONDS


def new_state(visitor: Visitor, session: VisitSession) -> dict[str, Any]:
    started = session.started_at.timestamp()
    return {
        "visitor": visitor.public_id, "session": session.public_id, "started": started,
        "last_seen": started, "page_started": started, "url": "", "title": "", "pages": [],
        "page_count": 0, "source_type": session.source_type, "source_name": session.source_name,
        "country": session.country, "region": session.region, "city": session.city,
        "latitude": session.latitude, "longitude": session.longitude,
        "browser": session.browser, "os": session.os, "device": session.device,
        "returning": session.returning, "name": visitor.name or visitor.email,
        "left": False, "pending": None, "declined": False,
    }


def add_page(state: dict[str, Any], url: str, title: str, at: float) -> None:
    state.update(url=url, title=title, page_started=at)
    state["pages"] = [*state["pages"], [url, title, at]][-PATH_LENGTH:]


def states(account_id: str, visitor_ids: list[str]) -> dict[str, dict[str, Any]]:
    found = cache.get_many([state_key(account_id, v) for v in visitor_ids])
    return {state["visitor"]: state for state in found.values()}


def state(account_id: str, visitor_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = cache.get(state_key(account_id, visitor_id))
    return found


def save_states(account_id: str, changed: dict[str, dict[str, Any]]) -> None:
    if not changed:
        return
    cache.set_many({state_key(account_id, v): s for v, s in changed.items()}, KEEP_SECONDS)
    now = time.time()
    index = {v: until for v, until in (cache.get(_index_key(account_id)) or {}).items()
             if until > now}
    for visitor_id, item in changed.items():
        index[visitor_id] = item["last_seen"] + (LEFT_SECONDS if item["left"] else ONLINE_SECONDS)
    cache.set(_index_key(account_id), index, KEEP_SECONDS)
    touch(account_id)


def touch(account_id: str) -> None:
    cache.set(version_key(account_id), time.time(), KEEP_SECONDS)


def version(account_id: str) -> float:
    return float(cache.get(version_key(account_id)) or 0)


def online_ids(account_id: str) -> dict[str, float]:
    """Visitor id → when they stop counting as online, for visitors online now."""
    now = time.time()
    return {v: until for v, until in (cache.get(_index_key(account_id)) or {}).items()
            if until > now}


def online(account_id: str) -> list[dict[str, Any]]:
    """The states of everyone online, longest on the site first."""
    found = states(account_id, list(online_ids(account_id)))
    return sorted(found.values(), key=lambda s: s["started"])


def post_invitation(account_id: str, visitor_id: str, invitation: dict[str, Any]) -> None:
    """Leaves an invitation for the visitor's next beat to pick up (within
    ``INVITED_CHECK_SECONDS`` of it, every process notices that there is one)."""
    cache.set(_invitation_key(account_id, visitor_id), invitation, KEEP_SECONDS)
    posted = time.time()
    cache.set(_invited_at_key(account_id), posted, KEEP_SECONDS)
    _invited_at[account_id] = (time.monotonic(), posted)


def take_invitation(account_id: str, visitor_id: str) -> dict[str, Any] | None:
    if not _may_have_invitation(account_id):
        return None
    key = _invitation_key(account_id, visitor_id)
    invitation: dict[str, Any] | None = cache.get(key)
    if invitation is not None:
        cache.delete(key)
    return invitation


def withdraw_invitation(account_id: str, visitor_id: str) -> None:
    cache.delete(_invitation_key(account_id, visitor_id))


def update_state(account_id: str, visitor_id: str, **changes: Any) -> None:
    """Changes a few fields of a live state (an invitation sent, declined, a name learnt)."""
    found = state(account_id, visitor_id)
    if found is None:
        return
    found.update(changes)
    cache.set(state_key(account_id, visitor_id), found, KEEP_SECONDS)
    touch(account_id)
