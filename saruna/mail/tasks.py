"""Background work of the e-mail channel."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django_scopes import scope, scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account
from saruna.mail import ingest
from saruna.mail.models import InboundMail

# A mail still waiting this long after receipt lost its task (a worker died, the queue was
# lost); younger ones are most likely in the queue right now.
STRANDED_AFTER = timedelta(minutes=1)
# Mails per sweep: a backlog is worked off over several minutes, not in one long run.
SWEEP_BATCH = 500


@db_task(retries=3, retry_delay=30)
@in_account
def process_inbound_mail(account: Account, inbound_id: int) -> None:
    ingest.process(inbound_id)


@db_periodic_task(crontab(minute="*"))
def process_stranded_mail() -> None:
    """Mails received but never processed (the worker crashed between receipt and parse)
    are processed now, oldest first. Idempotent: processing claims each mail."""
    cutoff = timezone.now() - STRANDED_AFTER
    with scopes_disabled():
        waiting = list(
            InboundMail.objects.filter(state=InboundMail.State.RECEIVED, received_at__lt=cutoff)
            .order_by("received_at", "pk").values_list("account_id", "pk")[:SWEEP_BATCH]
        )
        accounts = Account.objects.in_bulk({account_id for account_id, _pk in waiting})
    for account_id, inbound_id in waiting:
        with scope(account=accounts[account_id]):
            ingest.process_stranded(inbound_id)
