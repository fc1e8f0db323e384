"""The chat's timers: one delayed task per ring, and the sweep every minute that catches
whatever a lost task missed (both idempotent)."""

from django_scopes import scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.chat import actions
from saruna.chat.models import Chat, ChatStatus, Ring, RingOutcome
from saruna.core.models import Account
from saruna.core.tenancy import in_account


@db_task(retries=2, retry_delay=5)
@in_account
def expire_ring(account: Account, ring_id: int) -> None:
    actions.expire_ring(ring_id)


@db_periodic_task(crontab(minute="*"))
def sweep_chats() -> None:
    """Every account with a live chat or an open ring gets swept."""
    with scopes_disabled():
        ids = set(Chat.objects.exclude(status=ChatStatus.ENDED)
                  .values_list("account_id", flat=True))
        ids |= set(Ring.objects.filter(outcome=RingOutcome.RINGING)
                   .values_list("account_id", flat=True))
    for account_id in sorted(ids):
        sweep_account(account_id)


@in_account
def sweep_account(account: Account) -> None:
    actions.sweep(account)
