"""Provider support access (terms §2): staff open a customer's account only through an
explicit, time-limited grant with a reason, recorded in the customer's audit log.

The grant is created on the base domain; the staff browser then crosses to the account's
host with a short-lived, single-use signed token (cookies do not travel between hosts).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.core import signing
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import scope

from saruna.accounts.models import SupportGrant, User
from saruna.core import audit
from saruna.core.models import Account
from saruna.core.urls import public_url

MIN_DURATION = timedelta(minutes=15)
MAX_DURATION = timedelta(hours=8)
MIN_REASON_LENGTH = 10
TOKEN_SALT = "saruna.support.enter"
TOKEN_MAX_AGE = 120  # seconds: only long enough for the redirect between the two hosts
SESSION_KEY = "support_grant_id"


class SupportAccessError(Exception):
    """The grant or its token cannot be used; the message is shown to the staff member."""


def grant_support_access(
    staff: User,
    account: Account,
    *,
    reason: str,
    duration: timedelta,
    request: HttpRequest | None = None,
) -> SupportGrant:
    if staff.account_id is not None or not staff.is_staff or not staff.is_active:
        raise SupportAccessError(_("Only provider staff can open support access."))
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise SupportAccessError(_("Give the reason for the support access."))
    if not MIN_DURATION <= duration <= MAX_DURATION:
        raise SupportAccessError(_("Support access lasts from 15 minutes to 8 hours."))
    now = timezone.now()
    with scope(account=account), transaction.atomic():
        grant = SupportGrant.objects.create(
            account=account, staff=staff, reason=reason, created_at=now, expires_at=now + duration
        )
        audit.record(
            account, "support_access.granted", actor=staff, target=grant, request=request,
            reason=reason, expires=grant.expires_at.isoformat(),
        )
    return grant


def entry_url(grant: SupportGrant) -> str:
    """Where the staff browser goes to enter the account: a token valid for one use, briefly."""
    token = signing.dumps(
        {"grant": grant.pk, "account": grant.account_id, "nonce": secrets.token_urlsafe(12)},
        salt=TOKEN_SALT,
    )
    return public_url(grant.account.host, f"/support/enter/{token}/")


def enter_support_access(request: HttpRequest, token: str) -> SupportGrant:
    """On the account's host: check the token and the grant, then start a fresh session that
    carries only the grant (the middleware turns it into the staff member's request user)."""
    account: Account = request.account  # type: ignore[attr-defined]
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.SignatureExpired as error:
        raise SupportAccessError(_("This support access link has expired.")) from error
    except signing.BadSignature as error:
        raise SupportAccessError(_("This support access link is not valid.")) from error
    if payload.get("account") != account.pk:
        raise SupportAccessError(_("This support access link is not valid."))
    # The scoped manager only finds grants of this account.
    grant = SupportGrant.objects.filter(pk=payload.get("grant")).first()
    if grant is None:
        raise SupportAccessError(_("This support access link is not valid."))
    if not grant.is_active:
        raise SupportAccessError(_("This support access has ended."))
    # Single use: a link copied from history or a log must not open a second session.
    if not cache.add(f"{account.pk}:support-token:{payload['nonce']}", 1, TOKEN_MAX_AGE + 60):
        raise SupportAccessError(_("This support access link has already been used."))
    request.session.flush()
    request.session[SESSION_KEY] = grant.pk
    return grant


def end_support_access(
    grant: SupportGrant, *, request: HttpRequest | None = None, expired: bool = False
) -> bool:
    """End the grant once; the caller's scope must be the grant's account.

    ``expired`` records that the time ran out (noticed on the first request after it) rather
    than that the staff member left. Returns False when the grant had already ended.
    """
    ended_at = grant.expires_at if expired else timezone.now()
    with transaction.atomic():
        changed = SupportGrant.objects.filter(pk=grant.pk, ended_at__isnull=True).update(
            ended_at=ended_at
        )
        if not changed:
            return False
        grant.ended_at = ended_at
        audit.record(
            grant.account,
            "support_access.expired" if expired else "support_access.ended",
            actor=None if expired else grant.staff,
            target=grant,
            request=request,
            reason=grant.reason,
            staff=grant.staff.email,
        )
    return True


def expire_finished_grants() -> int:
    """Grants whose time ran out with nobody using them afterwards are recorded as expired
    (the hourly sweep; a request after expiry records it sooner). In the account's scope."""
    finished = SupportGrant.objects.filter(
        ended_at__isnull=True, expires_at__lte=timezone.now()
    ).select_related("account", "staff")
    return sum(end_support_access(grant, expired=True) for grant in finished)
