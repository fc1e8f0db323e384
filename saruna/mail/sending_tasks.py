"""Delivery of the mail to customers (:mod:`saruna.mail.sending`)."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.mail import sending


@db_task(retries=0)  # the outbox loop keeps its own schedule of retries
@in_account
def deliver_outgoing_mail(account: Account, mail_id: int) -> None:
    sending.deliver(mail_id)


@db_periodic_task(crontab(minute="*"))
def retry_due_outgoing_mail() -> None:
    """Picks up mail whose earlier attempt failed, or that was stored while no worker ran."""
    for account_id, mail_id in sending.due_mail():
        deliver_outgoing_mail.call_local(account_id, mail_id)
