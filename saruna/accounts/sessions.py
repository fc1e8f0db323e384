"""Login sessions: recorded at login, kept alive by a heartbeat, ended on logout.

Contract used by the login and logout views:
- :func:`start_session` right after ``django.contrib.auth.login``;
- :func:`end_session` right before ``django.contrib.auth.logout``;
- :func:`end_all_sessions` when a user is deactivated or staff ends their sessions;
- :func:`touch` from the middleware on each authenticated request (throttled).

A :class:`UserSession` lives as long as its Django session: once that is deleted or expired
the login is over even if nobody logged out (:func:`expire_dead_sessions` writes that down).
Provider staff under support access are never recorded: they are not the account's users.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from saruna.accounts.devices import device_of
from saruna.accounts.models import User, UserSession
from saruna.core import audit, geo
from saruna.core.net import client_ip, network_of
from saruna.core.tenancy import enqueue_on_commit
from saruna.realtime.bus import publish, user_group

# A session seen within this window counts as "in use" for the concurrent-login screen.
# Pages heartbeat at least every few minutes while open, so ten minutes of silence means the
# browser is closed or asleep.
ACTIVE_WINDOW = timedelta(minutes=10)
# last_seen_at is written at most this often per session.
HEARTBEAT_EVERY = timedelta(seconds=60)
# In the Django session: this login waits for a decision on the concurrent-login screen.
PENDING_KEY = "saruna_concurrent_pending"


def is_tracked(request: HttpRequest) -> bool:
    """An account's own user on the account's host (not staff under support access)."""
    account = getattr(request, "account", None)
    user = request.user
    return (
        account is not None
        and user.is_authenticated
        and getattr(user, "account_id", None) == account.pk
        and getattr(request, "support_grant", None) is None
    )


def _live_keys() -> QuerySet[Session, str]:
    return Session.objects.filter(expire_date__gt=timezone.now()).values_list(
        "session_key", flat=True
    )


def open_sessions(user: User) -> QuerySet[UserSession]:
    """Logins that still work: not ended, and their browser cookie is still valid."""
    return UserSession.objects.filter(
        user=user, ended_at__isnull=True, session_key__in=_live_keys()
    )


def active_sessions(user: User) -> QuerySet[UserSession]:
    """Open logins that were in use within :data:`ACTIVE_WINDOW`."""
    return open_sessions(user).filter(last_seen_at__gte=timezone.now() - ACTIVE_WINDOW)


def current_session(request: HttpRequest) -> UserSession | None:
    key = request.session.session_key
    if not key or not request.user.is_authenticated:
        return None
    return UserSession.objects.filter(session_key=key, ended_at__isnull=True).first()


def conflicts(session: UserSession) -> list[UserSession]:
    """Other sessions of the same user in use right now from a different device *and* a
    different network: a second person, unless it is the same one on their phone's mobile
    data. One device moving between networks, or several devices on one network, is fine."""
    return [
        other
        for other in active_sessions(session.user).exclude(pk=session.pk)
        if other.device != session.device and other.network != session.network
    ]


def start_session(request: HttpRequest, user: User) -> UserSession | None:
    """Record the login that ``auth.login`` just made; returns ``None`` for provider staff.

    When another session of the user is in use from another device on another network, the
    new session waits on the concurrent-login screen (the middleware sends it there).
    """
    if user.account_id is None or getattr(request, "support_grant", None) is not None:
        return None
    if not request.session.session_key:
        request.session.save()
    ip = client_ip(request)
    device = device_of(request)
    place = geo.locate(ip)
    with transaction.atomic():
        session = UserSession.objects.create(
            account_id=user.account_id,
            user=user,
            session_key=request.session.session_key,
            device=device.fingerprint,
            device_label=device.label,
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
            ip=ip,
            network=network_of(ip),
            country=place.country if place else "",
            city=place.city if place else "",
            latitude=place.latitude if place else None,
            longitude=place.longitude if place else None,
        )
        others = conflicts(session)
        if others:
            session.pending_concurrent = True
            session.save(update_fields=["pending_concurrent"])
            audit.record(
                session.account, "session.concurrent_login", actor=user, target=session,
                request=request, device=session.device_label, place=place_of(session),
                other_sessions=[describe(other) for other in others],
            )
    if others:
        request.session[PENDING_KEY] = True
    else:
        request.session.pop(PENDING_KEY, None)
    cache.set(_seen_key(session), session.last_seen_at, 2 * HEARTBEAT_EVERY.total_seconds())

    from saruna.accounts.tasks import evaluate_sharing

    enqueue_on_commit(evaluate_sharing, user.account_id, user.pk)
    return session


def _seen_key(session: UserSession | None = None, *, account_id: str = "", key: str = "") -> str:
    if session is not None:
        account_id, key = session.account_id, session.session_key
    return f"{account_id}:session-seen:{key}"


def touch(request: HttpRequest) -> None:
    """Heartbeat: the cache remembers the last write so that a busy page costs no database
    write more than once a minute. (The time is the cached value, not the key's expiry, so
    the rule holds on every cache backend and under a frozen test clock.)"""
    key = request.session.session_key
    account = getattr(request, "account", None)
    if not key or account is None:
        return
    now = timezone.now()
    seen_key = _seen_key(account_id=account.pk, key=key)
    last_write = cache.get(seen_key)
    if last_write is not None and now - last_write < HEARTBEAT_EVERY:
        return
    cache.set(seen_key, now, 2 * HEARTBEAT_EVERY.total_seconds())
    UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(last_seen_at=now)


def is_pending(request: HttpRequest) -> bool:
    return bool(request.session.get(PENDING_KEY))


def _end(sessions: Iterable[UserSession], reason: str) -> int:
    """End ``sessions``, delete their Django sessions (the cookies stop working) and tell
    their open pages, which then go to the login screen."""
    ended = [s for s in sessions if s.ended_at is None]
    if not ended:
        return 0
    keys = [s.session_key for s in ended]
    Session.objects.filter(session_key__in=keys).delete()
    count = UserSession.objects.filter(pk__in=[s.pk for s in ended]).update(
        ended_at=timezone.now(), end_reason=reason, pending_concurrent=False
    )
    for s in ended:
        publish(user_group(s.account_id, s.user_id), "session.ended",
                session_key=s.session_key, reason=reason)
    return count


def end_session(request: HttpRequest, reason: str = UserSession.EndReason.LOGOUT) -> None:
    """This browser's login ends (``auth.logout`` deletes its Django session next)."""
    UserSession.objects.filter(
        session_key=request.session.session_key, ended_at__isnull=True
    ).update(ended_at=timezone.now(), end_reason=reason, pending_concurrent=False)


def end_all_sessions(user: User, reason: str, *, except_key: str | None = None) -> int:
    """End the user's sessions (and delete their Django sessions so the cookies stop working)."""
    sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if except_key:
        sessions = sessions.exclude(session_key=except_key)
    with transaction.atomic():
        return _end(list(sessions), reason)


# --- What the user decides on the concurrent-login screen and the session list


def continue_here(request: HttpRequest, session: UserSession) -> list[UserSession]:
    """"Continue here": the sessions in the way are ended and this one goes on."""
    with transaction.atomic():
        others = conflicts(session)
        _end(others, UserSession.EndReason.REPLACED)
        session.pending_concurrent = False
        session.save(update_fields=["pending_concurrent"])
        audit.record(
            session.account, "session.replaced_others", actor=session.user, target=session,
            request=request, ended_sessions=[describe(other) for other in others],
        )
    request.session.pop(PENDING_KEY, None)
    return others


def settle_if_alone(request: HttpRequest, session: UserSession) -> bool:
    """The other sessions ended on their own (logout, expiry) while the screen was shown:
    nothing to decide any more."""
    if conflicts(session):
        return False
    UserSession.objects.filter(pk=session.pk).update(pending_concurrent=False)
    request.session.pop(PENDING_KEY, None)
    return True


def cancel_here(request: HttpRequest, session: UserSession) -> None:
    """"Cancel": this login ends; the caller logs the browser out."""
    with transaction.atomic():
        end_session(request, UserSession.EndReason.CANCELLED)
        audit.record(
            session.account, "session.login_cancelled", actor=session.user, target=session,
            request=request, device=session.device_label, place=place_of(session),
        )


def revoke(request: HttpRequest, session: UserSession) -> None:
    """"Log out this session" on the session list."""
    with transaction.atomic():
        _end([session], UserSession.EndReason.REVOKED)
        audit.record(
            session.account, "session.revoked", actor=session.user, target=session,
            request=request, session=describe(session),
        )


def revoke_others(request: HttpRequest) -> int:
    """"Log out all other sessions" on the session list."""
    user = request.user
    account = request.account  # type: ignore[attr-defined]
    with transaction.atomic():
        count = end_all_sessions(
            user, UserSession.EndReason.REVOKED,  # type: ignore[arg-type]
            except_key=request.session.session_key,
        )
        audit.record(account, "session.revoked_others", actor=user,  # type: ignore[arg-type]
                     request=request, count=count)
    return count


# --- Housekeeping (periodic tasks)


def expire_dead_sessions() -> int:
    """Write down as ended the sessions whose Django session is gone (expired cookie,
    deleted elsewhere): they ended when they were last seen."""
    return (
        UserSession.objects.filter(ended_at__isnull=True)
        .exclude(session_key__in=_live_keys())
        .update(
            ended_at=F("last_seen_at"), end_reason=UserSession.EndReason.EXPIRED,
            pending_concurrent=False,
        )
    )


def forget_raw_ips() -> int:
    """Blank the raw IP of logins older than ``SARUNA_RAW_IP_RETENTION_DAYS``; the network
    prefix and the coarse place stay for sharing detection."""
    cutoff = timezone.now() - timedelta(days=settings.SARUNA_RAW_IP_RETENTION_DAYS)
    return UserSession.objects.filter(created_at__lt=cutoff, ip__isnull=False).update(ip=None)


# --- Shown to people (screens, audit details, finding evidence)


def place_of(session: UserSession) -> str:
    return ", ".join(part for part in (session.city, session.country) if part)


def describe(session: UserSession) -> dict[str, Any]:
    return {
        "session": session.pk,
        "device": session.device_label,
        "network": session.network,
        "place": place_of(session),
        "started": session.created_at.isoformat(),
        "last_seen": session.last_seen_at.isoformat(),
    }
