"""Periodic IMAP checks. Imported by the app's ``ready()``: Huey only discovers modules
named ``tasks``."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.mail import imap
from saruna.mail.models import Mailbox

# The poll runs on whole minutes, and a check starts a moment after its tick: without this
# slack a mailbox checked every 60 s would only be due every other minute.
TICK_SLACK = timedelta(seconds=10)


@db_periodic_task(crontab(minute="*"))
def poll_imap_mailboxes() -> None:
    """Queues a check of every active IMAP mailbox whose interval has passed. Intervals under
    a minute act as a minute here; ``saruna imapidle`` fetches the moment mail arrives."""
    now = timezone.now()
    with scopes_disabled():
        mailboxes = list(Mailbox.objects.filter(kind=Mailbox.Kind.IMAP, is_active=True)
                         .only("account_id", "poll_seconds", "last_checked_at"))
    for mailbox in mailboxes:
        checked = mailbox.last_checked_at
        if checked is None or checked + timedelta(seconds=mailbox.poll_seconds) <= now + TICK_SLACK:
            fetch_imap_mailbox(mailbox.account_id, mailbox.pk)


@db_task()
@in_account
def fetch_imap_mailbox(account: Account, mailbox_id: int) -> None:
    mailbox = Mailbox.objects.filter(pk=mailbox_id, kind=Mailbox.Kind.IMAP,
                                     is_active=True).first()
    if mailbox is not None:
        imap.fetch_mailbox(mailbox)
