"""Rule-based invitations: after each batch of beats, invite the visitors whose visit meets
an enabled rule, within the account's frequency caps."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.utils import timezone

from saruna.core.models import Account
from saruna.visitors.models import Invitation, InvitationRule, TrackingSettings


def may_invite(state: dict[str, Any]) -> bool:
    """Not after a decline in this visit, not while an invitation waits, not after the
    visitor left."""
    return not (state.get("declined") or state.get("pending") or state["left"])


def within_caps(tracking: TrackingSettings, visitor_id: str) -> bool:
    """The frequency caps, from the visitor's invitations of the last day (whoever sent
    them): a pause after the last one, and a daily number."""
    now = timezone.now()
    recent = list(Invitation.objects.filter(
        visitor__public_id=visitor_id, created_at__gt=now - timedelta(days=1),
    ).order_by("-created_at").values_list("created_at", flat=True)[:tracking.invitations_per_day])
    if len(recent) >= tracking.invitations_per_day:
        return False
    return not recent or recent[0] <= now - timedelta(minutes=tracking.invitation_pause_minutes)


def matches(rule: InvitationRule, state: dict[str, Any], now: float) -> bool:
    """Whether a visit meets every condition the rule sets."""
    if rule.url_contains and rule.url_contains.lower() not in state["url"].lower():
        return False
    if now - state["page_started"] < rule.min_seconds_on_page:
        return False
    if state["page_count"] < rule.min_pages:
        return False
    if rule.source_type and rule.source_type != state["source_type"]:
        return False
    if rule.returning is not None and rule.returning != state["returning"]:
        return False
    countries = {c.strip().upper() for c in rule.countries.split(",") if c.strip()}
    return not countries or state["country"] in countries


def offer_invitations(
    account: Account, tracking: TrackingSettings, states: dict[str, dict[str, Any]]
) -> None:
    from saruna.visitors import actions, queries

    now = time.time()
    candidates = [s for s in states.values() if may_invite(s)]
    if not candidates:
        return
    enabled = list(InvitationRule.objects.filter(enabled=True))
    if not enabled:
        return
    chatting = queries.chatting_visitors([s["visitor"] for s in candidates])
    available: bool | None = None
    for state in candidates:
        if state["visitor"] in chatting:
            continue
        for rule in enabled:
            if not matches(rule, state, now):
                continue
            if not within_caps(tracking, state["visitor"]):
                break
            if rule.require_agents_available:
                if available is None:
                    available = queries.agents_available(account)
                if not available:
                    continue
            actions.invite_visitor(account, state["visitor"], text=rule.text, rule=rule)
            break
