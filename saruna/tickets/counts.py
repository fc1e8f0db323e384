"""The inbox's saved-view counts, cached until the account's tickets change.

Counting every visible ticket four ways costs hundreds of milliseconds on a large account,
and every inbox page and live update shows the counts. The cache key carries the account's
inbox version (bumped after each committed ticket change), the agent's departments and the
minute (overdue moves with the clock, and changes made outside the actions age out).
"""

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from saruna.accounts.models import User

CACHE_SECONDS = 120


def _version_key(account_id: str) -> str:
    return f"{account_id}:inbox-version"


def bump_inbox_version(account_id: str) -> None:
    """Called for every ticket change; takes effect when the transaction commits."""

    def bump() -> None:
        key = _version_key(account_id)
        if not cache.add(key, 1, timeout=None):
            try:
                cache.incr(key)
            except ValueError:  # evicted between add() and incr()
                cache.set(key, 1, timeout=None)

    transaction.on_commit(bump)


def cached_counts(user: User, compute: Callable[[], Any]) -> Any:
    account_id = str(user.account_id)
    departments = ",".join(str(pk) for pk in sorted(user.departments.values_list("pk", flat=True)))
    key = ":".join([
        account_id, "inbox-counts", str(user.pk), str(cache.get(_version_key(account_id), 0)),
        departments, timezone.now().strftime("%Y%m%d%H%M"),
    ])
    counts = cache.get(key)
    if counts is None:
        counts = compute()
        cache.set(key, counts, CACHE_SECONDS)
    return counts
