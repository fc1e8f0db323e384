"""Routing: which agents a waiting chat rings, in which order, and what happens when time
passes (rings run out, the wait limit passes).

Every function here runs inside the caller's transaction with the chat's row locked (the
actions in ``actions.py`` and the sweep hold it), so two events about one chat never route it
twice. Time moves routing forward in two ways: a delayed Huey task per ring, and the sweep
(``sweep``, every minute and on the visitor's polls) that catches anything a lost task
missed; tests call the sweep with a frozen clock.

The methods (``ChatSettings.routing_method``):

- ring to all: every available agent of the department rings at once; when the ring runs
  out, everyone available rings again;
- random, least busy, most busy, priority: one agent at a time, in the method's order; a
  ring that runs out or is declined moves on to the next, and after the last one the round
  starts again. Agents who declined are not rung again for that chat.

An agent is available for a chat when online in its department, their browser is there
(or went away less than the grace period ago) and they have fewer running chats, counting
the chats they are being rung for, than their maximum.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from saruna.accounts.models import User
from saruna.chat import queries
from saruna.chat.models import (
    AgentAvailability,
    Chat,
    ChatSettings,
    ChatStatus,
    Ring,
    RingOutcome,
    RingPurpose,
    RoutingMethod,
)
from saruna.core.tenancy import enqueue_on_commit
from saruna.realtime.bus import publish
from saruna.tickets.models import Department


@dataclass
class Candidate:
    availability: AgentAvailability
    load: int  # running chats plus chats ringing for them
    limit: int

    @property
    def user(self) -> User:
        return self.availability.user

    @property
    def utilisation(self) -> float:
        return self.load / self.limit


def candidates(department: Department, now: datetime, exclude: set[str]) -> list[Candidate]:
    """Agents who could take one more chat of ``department`` now, but not those in
    ``exclude`` (user ids)."""
    settings_ = queries.chat_settings(department.account)
    present = [a for a in queries.present_agents(department, now) if a.user_id not in exclude]
    ids = [a.user_id for a in present]
    loads = queries.active_chat_counts(ids)
    for user_id in Ring.objects.filter(
        user_id__in=ids, outcome=RingOutcome.RINGING, purpose=RingPurpose.ROUTE
    ).values_list("user_id", flat=True):
        loads[user_id] = loads.get(user_id, 0) + 1
    found = [
        Candidate(a, loads.get(a.user_id, 0), queries.max_chats(a, settings_)) for a in present
    ]
    return [c for c in found if c.load < c.limit]


def order(found: list[Candidate], settings_: ChatSettings) -> list[Candidate]:
    """The candidates in the order the routing method rings them."""
    never = timezone.now() - timedelta(days=36500)

    def waited(c: Candidate) -> datetime:
        return c.availability.last_assigned or never

    method = settings_.routing_method
    if method == RoutingMethod.RANDOM:
        return random.sample(found, len(found))
    if method == RoutingMethod.LEAST_BUSY:
        # Lowest share of their capacity first; equal shares: who waited longest.
        return sorted(found, key=lambda c: (c.utilisation, waited(c)))
    if method == RoutingMethod.MOST_BUSY:
        # Fill up the busiest agent who still has room; equal shares: who waited longest.
        return sorted(found, key=lambda c: (-c.utilisation, waited(c)))
    if method == RoutingMethod.PRIORITY:
        ranks = {user_id: i for i, user_id in enumerate(settings_.priority_order or [])}
        return sorted(found, key=lambda c: (ranks.get(c.user.pk, len(ranks)),
                                            c.user.full_name, c.user.pk))
    return sorted(found, key=lambda c: (c.user.full_name, c.user.pk))


def route(chat: Chat, now: datetime | None = None) -> list[Ring]:
    """Rings the next agent(s) for a waiting chat that rings nobody now; nobody available
    leaves it queued. Answers the new rings."""
    now = now or timezone.now()
    if chat.status not in queries.WAITING:
        return []
    if Ring.objects.filter(chat=chat, purpose=RingPurpose.ROUTE,
                           outcome=RingOutcome.RINGING).exists():
        return []
    settings_ = queries.chat_settings(chat.account)
    past = Ring.objects.filter(chat=chat, purpose=RingPurpose.ROUTE)
    declined = set(past.filter(outcome=RingOutcome.DECLINED).values_list("user_id", flat=True))
    available = candidates(chat.department, now, declined)
    if settings_.routing_method == RoutingMethod.RING_ALL:
        chosen = available
    else:
        # Who was rung least often for this chat comes first: the method's order within a
        # round, and a new round once everyone has had their turn.
        turns = Counter(past.values_list("user_id", flat=True))
        chosen = sorted(order(available, settings_), key=lambda c: turns[c.user.pk])[:1]
    rings = [
        Ring.objects.create(
            account_id=chat.account_id, chat=chat, user=c.user, started=now,
            expires=now + timedelta(seconds=settings_.ring_seconds),
        )
        for c in chosen
    ]
    status = ChatStatus.RINGING if rings else ChatStatus.QUEUED
    if chat.status != status:
        chat.status = status
        chat.save(update_fields=["status"])
    for ring in rings:
        announce_ring(ring)
    return rings


def ring_first(chat: Chat, user: User, now: datetime) -> Ring:
    """Rings ``user`` alone for a new chat (the agent whose invitation the visitor accepted,
    in the chat's department or not); when the ring runs out or is declined, ``route``
    moves the chat on to its department."""
    settings_ = queries.chat_settings(chat.account)
    ring = Ring.objects.create(
        account_id=chat.account_id, chat=chat, user=user, started=now,
        expires=now + timedelta(seconds=settings_.ring_seconds),
    )
    chat.status = ChatStatus.RINGING
    chat.save(update_fields=["status"])
    announce_ring(ring)
    return ring


def route_department(department: Department, now: datetime | None = None) -> None:
    """Offers freed capacity to the department's waiting chats, oldest first."""
    now = now or timezone.now()
    waiting = (
        Chat.objects.select_for_update()
        .filter(department=department, status__in=queries.WAITING)
        .select_related("department", "account").order_by("date_queued", "pk")
    )
    for chat in waiting:
        if not candidates(department, now, set()):
            return
        route(chat, now)


def announce_ring(ring: Ring) -> None:
    """After commit: the ring to every tab of the agent, and the task that ends it."""
    from saruna.chat import tasks

    publish(
        queries.agent_group(str(ring.account_id), ring.user_id), "chat.ring",
        ring=ring_payload(ring),
    )
    delay = max(0.0, (ring.expires - timezone.now()).total_seconds())
    enqueue_on_commit(
        lambda: tasks.expire_ring.schedule(args=(str(ring.account_id), ring.pk), delay=delay)
    )


def ring_payload(ring: Ring) -> dict:
    requested_by = ring.requested_by
    return {
        "chat": queries.chat_summary(ring.chat),
        "purpose": ring.purpose,
        "expires": ring.expires.isoformat(),
        "from": {"id": requested_by.pk, "name": requested_by.full_name}
        if requested_by is not None else None,
    }


def cancel_rings(rings: list[Ring], outcome: str, reason: str) -> None:
    """Ends rings (``outcome``) and tells their agents why."""
    for ring in rings:
        ring.outcome = outcome
        ring.save(update_fields=["outcome"])
        publish(
            queries.agent_group(str(ring.account_id), ring.user_id), "chat.ring_cancelled",
            chat=ring.chat.public_id, reason=reason,
        )
