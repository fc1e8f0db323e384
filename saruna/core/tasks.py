from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core import closing, outbox
from saruna.core.models import Account


@db_task(retries=0)
def deliver_email(mail_id: int) -> None:
    outbox.deliver(mail_id)


@db_periodic_task(crontab(minute="*"))
def retry_due_email() -> None:
    """Picks up mail whose earlier attempt failed, or that was stored while no worker ran."""
    for mail_id in outbox.due_mail_ids():
        outbox.deliver(mail_id)


@db_task(retries=3, retry_delay=60)
def erase_account(account_id: str) -> None:
    """A closed account's content, after the closing commits; safe to run again."""
    closing.erase(Account.objects.get(pk=account_id))


@db_periodic_task(crontab(hour="4", minute="41"))
def sweep_inactive_accounts() -> None:
    """Inactivity warnings and closures (terms §8); a second run the same day does nothing."""
    closing.sweep_inactive()
