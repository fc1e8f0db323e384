"""Webhook deliveries in the background: one attempt per task, retries picked up each minute."""

from __future__ import annotations

from django_scopes import scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.webhooks import actions, delivery


@db_task(retries=0)  # the outbox loop keeps the webhook's own schedule of retries
@in_account
def deliver_webhook(account: Account, delivery_id: int) -> None:
    delivery.deliver(delivery_id)


@db_periodic_task(crontab(minute="*"))
def retry_due_webhook_deliveries() -> None:
    """Deliveries whose earlier attempt failed, or that were stored while no worker ran. Each
    becomes its own task, so one slow receiver does not hold up the others."""
    with scopes_disabled():
        due = list(delivery.due_deliveries().values_list("account_id", "pk")[:500])
    for account_id, delivery_id in due:
        deliver_webhook(account_id, delivery_id)


@db_periodic_task(crontab(hour="3", minute="17"))
def purge_webhook_log() -> None:
    with scopes_disabled():
        actions.purge_old_deliveries()
