"""Starting and closing SLA records. The ticket actions call these inside their own
transaction at the points where a ticket opens, a customer writes, an agent answers, and a
ticket's agent or status changes; nothing here commits or publishes on its own. A missed
deadline is noticed here when the record closes late, and by the periodic check
(:func:`saruna.sla.actions.notice_breaches`) while it still runs.

The ticket's ``date_due`` follows the earliest deadline of its running records (the API's
"due moment of the next pending SLA metric"); a ticket no level ever applied to keeps the
``date_due`` agents set by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Min

from saruna.sla.models import ANSWER_METRICS, Metric, SlaLevel, SlaRecord
from saruna.tickets.models import ChannelType, Status, Ticket
from saruna.webhooks import actions as webhooks

# Statuses in which nobody waits any more: every running record stops there.
_FINISHED = frozenset({Status.RESOLVED, Status.CLOSED, Status.DELETED, Status.SPAM})
_CHAT_CHANNELS = frozenset({ChannelType.CHAT_BUTTON, ChannelType.INVITATION})
_CALL_CHANNELS = frozenset({ChannelType.CALL, ChannelType.CALL_BUTTON})
# Met when an agent takes the ticket.
_PICKED_UP = frozenset({Metric.FIRST_ASSIGN, Metric.CHAT_ANSWER, Metric.CALL_ANSWER})


def level_for(ticket: Ticket) -> SlaLevel | None:
    """The level naming the ticket's department, else the account's default level."""
    named = SlaLevel.objects.filter(departments=ticket.department_id).order_by("name", "pk")
    return named.first() or SlaLevel.objects.filter(is_default=True).first()


def ticket_opened(ticket: Ticket, *, by_agent: bool, now: datetime) -> None:
    """A new ticket: the customer waits for an answer (unless an agent wrote first), for an
    agent to take it (unless assigned) and for its resolution."""
    level = level_for(ticket)
    if level is None:
        return
    if not by_agent:
        _start(ticket, level, _answer_metric(ticket), now)
    if ticket.agent_id is None:
        _start(ticket, level, Metric.FIRST_ASSIGN, now)
    if ticket.status not in _FINISHED:
        _start(ticket, level, Metric.FIRST_RESOLVE, now)
    _refresh_due(ticket)


def customer_wrote(ticket: Ticket, now: datetime) -> None:
    """A customer's message on an existing ticket waits for the next answer, unless an
    answer is awaited already. The ticket keeps the level it started with."""
    if SlaRecord.objects.filter(
        ticket=ticket, metric__in=ANSWER_METRICS, date_closed__isnull=True
    ).exists():
        return
    latest = SlaRecord.objects.filter(ticket=ticket).select_related("level").last()
    level = latest.level if latest is not None else level_for(ticket)
    if level is None:
        return
    _start(ticket, level, Metric.NEXT_ANSWER, now)
    _refresh_due(ticket)


def agent_answered(ticket: Ticket, now: datetime) -> None:
    """An agent's answer to the customer meets every awaited answer."""
    if _close(ticket, ANSWER_METRICS, now):
        _refresh_due(ticket)


def ticket_changed(ticket: Ticket, changed: Iterable[str], now: datetime) -> None:
    """An assignment meets the first-assignment metric, and picks up a chat or call (an
    agent accepting a chat is assigned its ticket); resolving, closing, deleting or marking
    as spam stops every running record."""
    changed = set(changed)
    closed = 0
    if "agent" in changed and ticket.agent_id is not None:
        closed += _close(ticket, _PICKED_UP, now)
    if "status" in changed and ticket.status in _FINISHED:
        closed += _close(ticket, set(Metric), now)
    if closed:
        _refresh_due(ticket)


def _answer_metric(ticket: Ticket) -> str:
    if ticket.channel_type in _CHAT_CHANNELS:
        return Metric.CHAT_ANSWER
    if ticket.channel_type in _CALL_CHANNELS:
        return Metric.CALL_ANSWER
    return Metric.FIRST_ANSWER


def _start(ticket: Ticket, level: SlaLevel, metric: str, now: datetime) -> None:
    target = level.target(metric)
    if target is None:
        return
    SlaRecord.objects.create(
        account_id=ticket.account_id, ticket=ticket, level=level, metric=metric,
        date_created=now, date_due=level.schedule.add(now, target), total_time=target,
    )


def _close(ticket: Ticket, metrics: Iterable[str], now: datetime) -> int:
    running = SlaRecord.objects.filter(
        ticket=ticket, metric__in=list(metrics), date_closed__isnull=True
    ).select_related("level")
    count = 0
    for record in running:
        record.date_closed = now
        record.elapsed_time = record.level.schedule.elapsed(record.date_created, now)
        record.save(update_fields=["date_closed", "elapsed_time"])
        if record.date_due is not None and record.date_due < now:
            notice_breach(record, now)  # met late, before the periodic check saw it
        count += 1
    return count


def notice_breach(record: SlaRecord, now: datetime) -> bool:
    """Marks ``record``'s missed deadline as noticed and announces it (``sla.breached``),
    once per record however often and by whom it is called; True if this call did."""
    marked = SlaRecord.objects.filter(pk=record.pk, breach_noticed_at__isnull=True).update(
        breach_noticed_at=now)
    if not marked:
        return False
    record.breach_noticed_at = now
    webhooks.sla_breached(record)
    return True


def _refresh_due(ticket: Ticket) -> None:
    due = SlaRecord.objects.filter(ticket=ticket, date_closed__isnull=True).aggregate(
        due=Min("date_due")
    )["due"]
    ticket.date_due = due
    Ticket.objects.filter(pk=ticket.pk).update(date_due=due)
