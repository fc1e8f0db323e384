"""Login sessions: recorded at login, kept alive by a heartbeat, ended on logout.

Contract used by the login and logout views:
- :func:`start_session` right after ``django.contrib.auth.login``;
- :func:`end_session` right before ``django.contrib.auth.logout``;
- :func:`end_all_sessions` when a user is deactivated or staff ends their sessions;
- :func:`touch` from the middleware on each authenticated request (throttled).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.utils import timezone

from saruna.accounts.models import User, UserSession
from saruna.core.net import client_ip, network_of

HEARTBEAT_EVERY = timedelta(seconds=60)


def current_session(request: HttpRequest) -> UserSession | None:
    key = request.session.session_key
    if not key or not request.user.is_authenticated:
        return None
    return UserSession.objects.filter(session_key=key, ended_at__isnull=True).first()


def start_session(request: HttpRequest, user: User) -> UserSession:
    ip = client_ip(request)
    return UserSession.objects.create(
        account=user.account,
        user=user,
        session_key=request.session.session_key or "",
        device="",
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:500],
        ip=ip,
        network=network_of(ip),
    )


def touch(request: HttpRequest) -> None:
    now = timezone.now()
    UserSession.objects.filter(
        session_key=request.session.session_key,
        ended_at__isnull=True,
        last_seen_at__lt=now - HEARTBEAT_EVERY,
    ).update(last_seen_at=now)


def end_session(request: HttpRequest, reason: str = UserSession.EndReason.LOGOUT) -> None:
    UserSession.objects.filter(
        session_key=request.session.session_key, ended_at__isnull=True
    ).update(ended_at=timezone.now(), end_reason=reason)


def end_all_sessions(user: User, reason: str, *, except_key: str | None = None) -> int:
    """End the user's sessions (and delete their Django sessions so the cookies stop working)."""
    sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if except_key:
        sessions = sessions.exclude(session_key=except_key)
    keys = list(sessions.values_list("session_key", flat=True))
    Session.objects.filter(session_key__in=keys).delete()
    return sessions.update(ended_at=timezone.now(), end_reason=reason)
