"""Detecting one login used by several people (terms §2), over days rather than per login.

The rules, thresholds and their reasons are written up in docs/sharing-detection.md; keep
the two in step. A finding is evidence for the account owner and the provider, never an
automatic penalty.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from saruna.accounts.models import SharingFinding, User, UserSession
from saruna.accounts.sessions import describe
from saruna.core import audit
from saruna.core.outbox import queue_email
from saruna.core.urls import public_url

# --- Thresholds (docs/sharing-detection.md explains each)
# How far back the rules look; also how long a session's network and place matter.
LOOKBACK = timedelta(days=7)
# Overlap rule: this many distinct devices from at least this many networks in use at one
# moment. Two is what one person with a laptop and a phone on mobile data produces.
OVERLAP_MIN_DEVICES = 3
OVERLAP_MIN_NETWORKS = 2
# Travel rule: consecutive logins further apart than an airliner flies in the time between
# them. The minimum distance absorbs the city-level error of IP geolocation.
TRAVEL_MIN_DISTANCE_KM = 500
TRAVEL_MAX_SPEED_KMH = 900
# At most one new open finding per user and rule in this window; later incidents found
# within LOOKBACK are reported once it has passed.
DEDUP_WINDOW = timedelta(hours=24)

EARTH_RADIUS_KM = 6371.0


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def overlapping_devices(sessions: list[UserSession]) -> Iterator[dict[str, Any]]:
    """Evidence for every moment (a login time) at which enough devices from enough networks
    were in use at once. Two sessions count against each other only when both their device
    and their network differ: the same person's phone and laptop at home never do."""
    with_network = [s for s in sessions if s.network]
    for pivot in with_network:
        moment = pivot.created_at
        in_use = [s for s in with_network if s.created_at <= moment <= s.last_seen_at]
        involved = {
            s.pk: s
            for a in in_use
            for b in in_use
            if a.device != b.device and a.network != b.network
            for s in (a, b)
        }
        devices = {s.device for s in involved.values()}
        networks = {s.network for s in involved.values()}
        if len(devices) >= OVERLAP_MIN_DEVICES and len(networks) >= OVERLAP_MIN_NETWORKS:
            chosen = sorted(involved.values(), key=lambda s: (s.created_at, s.pk))
            yield {
                "rule": "devices",
                "at": moment.isoformat(),
                "sessions": [s.pk for s in chosen],
                "devices": len(devices),
                "networks": len(networks),
                "entries": [describe(s) for s in chosen],
            }


def impossible_travel(sessions: list[UserSession]) -> Iterator[dict[str, Any]]:
    """Evidence for each pair of consecutive located logins too far apart for the time
    between them. Logins from one network are never compared (the place is the same)."""
    located = sorted(
        (s for s in sessions if s.latitude is not None and s.longitude is not None),
        key=lambda s: (s.created_at, s.pk),
    )
    for before, after in itertools.pairwise(located):
        if before.network and before.network == after.network:
            continue
        km = distance_km(before.latitude, before.longitude,  # type: ignore[arg-type]
                         after.latitude, after.longitude)  # type: ignore[arg-type]
        hours = (after.created_at - before.created_at).total_seconds() / 3600
        speed = km / hours if hours > 0 else math.inf
        if km > TRAVEL_MIN_DISTANCE_KM and speed > TRAVEL_MAX_SPEED_KMH:
            yield {
                "rule": "travel",
                "at": after.created_at.isoformat(),
                "sessions": [before.pk, after.pk],
                "distance_km": round(km),
                "hours": round(hours, 2),
                "speed_kmh": None if math.isinf(speed) else round(speed),
                "entries": [describe(before), describe(after)],
            }


RULES = {
    SharingFinding.Kind.CONCURRENT_DEVICES: overlapping_devices,
    SharingFinding.Kind.IMPOSSIBLE_TRAVEL: impossible_travel,
}


def evaluate(user: User, *, now: datetime | None = None) -> list[SharingFinding]:
    """Run every rule over the user's recent sessions; raise the new findings (idempotent:
    evidence already reported is never reported again)."""
    now = now or timezone.now()
    sessions = list(
        UserSession.objects.filter(user=user, last_seen_at__gte=now - LOOKBACK)
        .order_by("created_at", "pk")
    )
    raised = []
    for kind, rule in RULES.items():
        previous = list(
            SharingFinding.objects.filter(
                user=user, kind=kind, detected_at__gte=now - LOOKBACK - DEDUP_WINDOW
            )
        )
        if any(
            f.status == SharingFinding.Status.OPEN and f.detected_at >= now - DEDUP_WINDOW
            for f in previous
        ):
            continue
        reported = [set(f.evidence.get("sessions", [])) for f in previous]
        fresh = [
            evidence for evidence in rule(sessions)
            if not any(set(evidence["sessions"]) <= seen for seen in reported)
        ]
        if fresh:
            # The fullest picture of the incident (most sessions involved).
            raised.append(_raise(user, kind, max(fresh, key=lambda e: len(e["sessions"])), now))
    return raised


def _raise(user: User, kind: str, evidence: dict[str, Any], now: datetime) -> SharingFinding:
    account = user.account
    assert account is not None
    with transaction.atomic():
        finding = SharingFinding.objects.create(
            account=account, user=user, kind=kind, detected_at=now, evidence=evidence
        )
        audit.record(account, "sharing.detected", target=finding, kind=kind, user=user.email,
                     sessions=evidence["sessions"])
        owner = User.objects.filter(role=User.Role.OWNER, is_active=True).first()
        if owner is not None:
            path = reverse("sharing_findings", urlconf=settings.SARUNA_TENANT_URLCONF)
            queue_email(
                owner.email,
                "accounts/email/sharing_finding",
                {
                    "account": account,
                    "subject_user": user,
                    "finding": finding,
                    "entries": entries(finding),
                    "url": public_url(account.host, path),
                },
                account=account,
                language=owner.language or account.language,
            )
    return finding


def entries(finding: SharingFinding) -> list[dict[str, Any]]:
    """The evidence's sessions with their times as datetimes, for display."""
    return [
        {**entry, "started": parse_datetime(entry.get("started", "")),
         "last_seen": parse_datetime(entry.get("last_seen", ""))}
        for entry in finding.evidence.get("entries", [])
    ]


def dismiss(request: HttpRequest, finding: SharingFinding) -> None:
    """The owner marks a finding as not sharing (the provider still sees it, and why)."""
    with transaction.atomic():
        finding.status = SharingFinding.Status.DISMISSED
        finding.save(update_fields=["status"])
        audit.record(finding.account, "sharing.dismissed", actor=request.user,  # type: ignore[arg-type]
                     target=finding, request=request, user=finding.user.email)
