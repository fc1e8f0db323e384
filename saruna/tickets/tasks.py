"""Periodic ticket work. Each run activates one account's scope at a time."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django_scopes import scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.tickets import actions
from saruna.tickets.models import Status, Ticket


@db_periodic_task(crontab(minute="*"))
def reopen_postponed_tickets() -> None:
    """Postponed tickets whose time has passed come back as open (C). Idempotent."""
    now = timezone.now()
    with scopes_disabled():
        account_ids = list(
            Ticket.objects.filter(status=Status.POSTPONED, postponed_until__lte=now)
            .values_list("account_id", flat=True)
            .distinct()
        )
    for account_id in account_ids:
        _reopen_in(account_id, now)


@in_account
def _reopen_in(account: Account, now: datetime) -> int:
    return actions.reopen_due_postponed(now)
