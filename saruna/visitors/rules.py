"""Rule-based invitations: after each batch of beats, invite the visitors whose visit meets
an enabled rule, within the account's frequency caps."""

from __future__ import annotations

import time
from typing import Any

from saruna.core.models import Account
from saruna.visitors.models import InvitationRule, TrackingSettings

DAY = 86400


def may_invite(tracking: TrackingSettings, state: dict[str, Any], now: float) -> bool:
    """The frequency caps: not after a decline in this visit, not while one is pending, not
    within the pause after the last one, not beyond the daily number."""
    if state.get("declined") or state.get("pending") or state["left"]:
        return False
    recent = [at for at in state.get("invited", []) if at > now - DAY]
    if recent and recent[-1] > now - tracking.invitation_pause_minutes * 60:
        return False
    return len(recent) < tracking.invitations_per_day


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
    candidates = [s for s in states.values() if may_invite(tracking, s, now)]
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
            if rule.require_agents_available:
                if available is None:
                    available = queries.agents_available(account)
                if not available:
                    continue
            actions.invite_visitor(account, state["visitor"], text=rule.text, rule=rule)
            break
