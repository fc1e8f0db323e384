"""Periodic ticket work. Each run activates one account's scope at a time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.db import models
from django.utils import timezone
from django_scopes import scope, scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from saruna.core.models import Account
from saruna.tickets import actions
from saruna.tickets.models import Status, StoredFile, Ticket

UNATTACHED_FILE_LIFETIME = timedelta(hours=24)


def _in_each_account(
    model: type[models.Model], filters: dict[str, Any], work: Callable[[], object]
) -> None:
    """Runs ``work`` in the scope of every account that has ``model`` rows matching
    ``filters``; ``work`` finds its rows again inside that scope."""
    with scopes_disabled():
        rows = model.objects.filter(**filters).values("account_id")  # type: ignore[attr-defined]
        accounts = list(Account.objects.filter(pk__in=rows))
    for account in accounts:
        with scope(account=account):
            work()


@db_periodic_task(crontab(minute="*"))
def reopen_postponed_tickets() -> None:
    """Postponed tickets whose time has passed come back as open (C). Idempotent."""
    now = timezone.now()
    _in_each_account(
        Ticket, {"status": Status.POSTPONED, "postponed_until__lte": now},
        lambda: actions.reopen_due_postponed(now),
    )


@db_periodic_task(crontab(minute="17"))
def purge_unattached_files() -> None:
    """Uploads never attached to a message are deleted after a day (API §18)."""
    cutoff = timezone.now() - UNATTACHED_FILE_LIFETIME
    _in_each_account(
        StoredFile, {"message__isnull": True, "date_created__lt": cutoff},
        lambda: actions.purge_unattached_files(cutoff),
    )
