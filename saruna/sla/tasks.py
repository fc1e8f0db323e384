"""Periodic SLA work: missed deadlines are noticed within a minute of passing."""

from __future__ import annotations

from django.utils import timezone
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from saruna.sla import actions
from saruna.sla.models import SlaRecord
from saruna.tickets.tasks import _in_each_account


@db_periodic_task(crontab(minute="*"))
def notice_sla_breaches() -> None:
    """Running SLA records whose deadline has passed are marked and announced
    (``sla.breached``), once per record. Idempotent."""
    now = timezone.now()
    _in_each_account(SlaRecord, actions.overdue(now), lambda: actions.notice_breaches(now))
