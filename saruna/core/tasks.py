from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core import outbox


@db_task(retries=0)
def deliver_email(mail_id: int) -> None:
    outbox.deliver(mail_id)


@db_periodic_task(crontab(minute="*"))
def retry_due_email() -> None:
    """Picks up mail whose earlier attempt failed, or that was stored while no worker ran."""
    for mail_id in outbox.due_mail_ids():
        outbox.deliver(mail_id)
