"""Closing an account and erasing its content (terms §8): the owner's "Cancel account" and the
provider's inactivity sweep both come here.

:func:`close_and_erase` closes at once, in the caller's transaction: billing ends
(``billing.actions.cancel``), the status becomes closed (the host shows "no such account", the
slug stays taken), every login ends, and an :class:`AccountClosure` records who and when. The
erasure itself runs in a task after the commit (:func:`erase`): every row that names the
account goes, in batches, then its files. Billing's records stay, as the law asks a seller
to keep them (:data:`KEPT`).

Inactivity (:func:`sweep_inactive`): no login and no page seen for
``SARUNA_INACTIVITY_WARNING_DAYS`` warns the owners once; ``SARUNA_INACTIVITY_DELETE_DAYS``
closes and erases, never sooner than the warning's notice. Accounts that pay are left alone.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from graphlib import TopologicalSorter
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import models, transaction
from django.db.models import Max
from django.db.models.deletion import Collector
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import User, UserSession
from saruna.billing import actions as billing
from saruna.billing import catalogue
from saruna.billing.models import Subscription
from saruna.billing.periods import local_date
from saruna.core import audit
from saruna.core.models import Account, AccountClosure
from saruna.core.outbox import queue_email
from saruna.core.tenancy import enqueue_on_commit

# Rows kept after the erasure: what was sold, billed, paid and refunded, and to whom.
KEPT = frozenset({
    "billing.billingprofile", "billing.subscription", "billing.paymentmethod",
    "billing.billingdocument", "billing.documentline", "billing.payment", "billing.refund",
    "billing.prepaidcredit", "billing.coderedemption",
})
BATCH = 500


def close_and_erase(account: Account, *, reason: str, actor: User | None = None) -> AccountClosure:
    """Close ``account`` now and erase its content after the commit. Calling it again only
    asks for the erasure again."""
    with transaction.atomic(), scope(account=account):
        locked = Account.objects.select_for_update().get(pk=account.pk)
        closure = AccountClosure.objects.filter(account=locked).first()
        if closure is None:
            audit.record(locked, "account.closed", actor=actor, reason=reason)
            subscription = Subscription.objects.filter(account=locked).first()
            if subscription is not None and subscription.status != Subscription.Status.CANCELLED:
                billing.cancel(locked, actor=actor)
            Account.objects.filter(pk=locked.pk).update(status=Account.Status.CLOSED)
            closure = AccountClosure.objects.create(
                account=locked, slug=locked.slug, reason=reason,
                actor_label=actor.email if actor is not None else "",
            )
            _mail_owners(locked, "core/email/account_closed", {"reason": reason})
            _end_logins(locked)
        account.status = Account.Status.CLOSED
        from saruna.core.tasks import erase_account

        enqueue_on_commit(erase_account, locked.pk)
    return closure


def _end_logins(account: Account) -> None:
    keys = UserSession.objects.filter(account=account).values("session_key")
    Session.objects.filter(session_key__in=keys).delete()


def _content_models() -> list[type[models.Model]]:
    """Every model with rows that name an account, except :data:`KEPT`; a row that points at
    another comes before it, so no batch trips over a protected reference."""
    content = [
        model for model in apps.get_models()
        if model._meta.label_lower not in KEPT and any(
            field.name == "account" and field.related_model is Account
            for field in model._meta.concrete_fields
        ) and model is not AccountClosure
    ]
    order: TopologicalSorter[type[models.Model]] = TopologicalSorter()
    for model in content:
        order.add(model)
        for field in model._meta.concrete_fields:
            target = field.related_model
            if field.is_relation and target in content and target is not model:
                order.add(target, model)
    return list(order.static_order())


def erase(account: Account) -> None:
    """Delete the closed account's content for good: rows first, then its files. Idempotent;
    a crash half-way is finished by the next run."""
    with scopes_disabled():
        if Account.objects.get(pk=account.pk).status != Account.Status.CLOSED:
            raise ValueError(f"Account {account.pk} is not closed.")
        _end_logins(account)
        for model in _content_models():
            rows = model._base_manager.filter(account_id=account.pk)
            while batch := list(rows.values_list("pk", flat=True)[:BATCH]):
                with transaction.atomic():
                    collector = Collector(using=rows.db)
                    collector.collect(model._base_manager.filter(pk__in=batch))
                    collector.delete()
        shutil.rmtree(Path(settings.MEDIA_ROOT) / account.pk, ignore_errors=True)
        AccountClosure.objects.filter(account_id=account.pk, erased_at__isnull=True).update(
            erased_at=timezone.now())


# --- Inactivity --------------------------------------------------------------------------------


def last_activity(account: Account) -> datetime:
    """The last login or page seen by one of the account's users, or its creation."""
    login = User.objects.filter(account=account).aggregate(at=Max("last_login"))["at"]
    seen = UserSession.objects.filter(account=account).aggregate(at=Max("last_seen_at"))["at"]
    return max(at for at in (account.created_at, login, seen) if at is not None)


def pays(account: Account) -> bool:
    """A subscription in force on a priced plan, or a lifetime code: never erased for
    inactivity."""
    subscription = Subscription.objects.select_related("plan").filter(account=account).first()
    if subscription is None or subscription.status not in billing.BILLED:
        return False
    return subscription.is_lifetime or catalogue.price_on(
        subscription.plan, subscription.currency, local_date(account)) is not None


def sweep_inactive() -> None:
    """Warn the owners of accounts idle for the warning period, once per idle spell; close and
    erase those idle for the deletion period whose warning is at least the difference old."""
    warn_after = timedelta(days=settings.SARUNA_INACTIVITY_WARNING_DAYS)
    erase_after = timedelta(days=settings.SARUNA_INACTIVITY_DELETE_DAYS)
    now = timezone.now()
    with scopes_disabled():
        candidates = list(Account.objects.filter(
            status__in=[Account.Status.ACTIVE, Account.Status.SUSPENDED], is_provider=False,
        ).exclude(slug=settings.SARUNA_PROVIDER_ACCOUNT_SLUG))
    for account in candidates:
        with scope(account=account):
            if pays(account):
                continue
            idle_since = last_activity(account)
            warned = account.inactivity_warned_at
            if warned is not None and warned < idle_since:
                warned = None  # used since the warning: a new spell
            if warned is None and now - idle_since >= warn_after:
                _warn(account, idle_since, now, erase_after - warn_after)
            elif (warned is not None and now - idle_since >= erase_after
                  and now - warned >= erase_after - warn_after):
                close_and_erase(account, reason=AccountClosure.Reason.INACTIVE)


def _warn(account: Account, idle_since: datetime, now: datetime, notice: timedelta) -> None:
    with transaction.atomic():
        # The update is the claim: a second sweep at the same time sends nothing.
        claimed = Account.objects.filter(
            pk=account.pk, inactivity_warned_at=account.inactivity_warned_at
        ).update(inactivity_warned_at=now)
        if not claimed:
            return
        erase_on = max(idle_since + timedelta(days=settings.SARUNA_INACTIVITY_DELETE_DAYS),
                       now + notice)
        _mail_owners(account, "core/email/inactivity_warning", {
            "idle_since": local_date(account, idle_since),
            "erase_on": local_date(account, erase_on),
        })


def _mail_owners(account: Account, template: str, context: dict) -> None:
    # Sent without the account: its mail is erased with its content, these must still go.
    for owner in User.objects.filter(account=account, role=User.Role.OWNER, is_active=True):
        queue_email(owner.email, template,
                    {**context, "account": account, "owner": owner, "account_url": account.url},
                    language=owner.language or account.language)
