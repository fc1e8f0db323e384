"""Background work on login sessions: sharing detection and raw-IP retention.

Each task works in one account's scope at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from django_scopes import scope, scopes_disabled
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from saruna.accounts import sessions, sharing, support
from saruna.accounts.models import User, UserSession
from saruna.core.models import Account
from saruna.core.tenancy import in_account

# The hourly sweep re-evaluates users seen since its previous run (with a margin).
SWEEP_RECENT = timedelta(hours=2)


def _each_account() -> Iterator[Account]:
    with scopes_disabled():
        accounts = list(Account.objects.all())
    for account in accounts:
        with scope(account=account):
            yield account


@db_task()
@in_account
def evaluate_sharing(account: Account, user_id: str) -> None:
    """Right after a login (enqueued on commit by ``start_session``)."""
    user = User.objects.filter(pk=user_id).first()
    if user is not None:
        sharing.evaluate(user)


@db_periodic_task(crontab(minute="17"))
def sweep_sessions() -> None:
    """Hourly: sessions whose cookie expired are written down as ended, and support grants
    whose time ran out as expired; then everybody active lately is checked for sharing
    (overlaps grow after the login that started them)."""
    for _account in _each_account():
        sessions.expire_dead_sessions()
        support.expire_finished_grants()
        since = timezone.now() - SWEEP_RECENT
        user_ids = set(
            UserSession.objects.filter(last_seen_at__gte=since).values_list("user_id", flat=True)
        )
        for user in User.objects.filter(pk__in=user_ids):
            sharing.evaluate(user)


@db_periodic_task(crontab(hour="3", minute="41"))
def forget_raw_ips() -> None:
    """Daily: raw IPs older than SARUNA_RAW_IP_RETENTION_DAYS are blanked."""
    for _account in _each_account():
        sessions.forget_raw_ips()
