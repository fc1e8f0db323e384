"""Which account a request, task or command works in.

Every entry point activates exactly one scope: ``account=<Account>`` on an account's host,
``account=None`` on the provider's base domain (where tenant-owned rows are invisible).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db import transaction
from django_scopes import scope, scopes_disabled

from saruna.core.models import Account

F = TypeVar("F", bound=Callable[..., Any])


def account_slug_for_host(host: str) -> str | None:
    """``acme.example.com`` → ``acme``; the base domain → ``None``; anything else → ``""``."""
    host = host.split(":")[0].lower().rstrip(".")
    base = settings.SARUNA_BASE_DOMAIN
    if host == base:
        return None
    suffix = "." + base
    if host.endswith(suffix):
        label = host[: -len(suffix)]
        if label and "." not in label:
            return label
    return ""


def account_for_slug(slug: str) -> Account | None:
    with scopes_disabled():
        return Account.objects.select_related("plan").filter(slug=slug).first()


def in_account(func: F) -> F:
    """Run ``func(account_id, ...)`` inside that account's scope (tasks, commands).

    The function receives the :class:`Account` in place of its id.
    """

    @functools.wraps(func)
    def wrapper(account_id: str, *args: Any, **kwargs: Any) -> Any:
        with scopes_disabled():
            account = Account.objects.get(pk=account_id)
        with scope(account=account):
            return func(account, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def enqueue_on_commit(task: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Enqueue a Huey task only once the surrounding transaction has committed."""
    transaction.on_commit(lambda: task(*args, **kwargs))
