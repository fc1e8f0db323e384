"""Background work of the e-mail channel."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from saruna.core.models import Account
from saruna.core.tenancy import in_account


@db_task(retries=3, retry_delay=30)
@in_account
def process_inbound_mail(account: Account, inbound_id: int) -> None:
    from saruna.mail import ingest

    ingest.process(inbound_id)
