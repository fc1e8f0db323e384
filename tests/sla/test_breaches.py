"""A deadline that passes unmet is announced once (``sla.breached``): by the periodic check
while the record runs, or when the record closes late before the check saw it."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine

from saruna.sla.models import SlaRecord
from saruna.sla.tasks import notice_sla_breaches
from saruna.tickets import actions
from saruna.webhooks import actions as webhooks
from tests.sla.test_tracking import MONDAY_10, level  # noqa: F401  (a fixture)
from tests.webhooks.conftest import on_premise, receiver  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db


@pytest.fixture
def breach_hook(scoped, receiver, on_premise):  # noqa: F811
    scoped.time_zone = "Europe/Riga"
    scoped.save()
    return webhooks.create_webhook(scoped, url=receiver.url(), events=["sla.breached"])


@pytest.fixture
def delivered(django_capture_on_commit_callbacks):
    """Runs what waits for the commit (the delivery task) when each block ends."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def breaches(receiver) -> list[dict]:  # noqa: F811
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert {b["event"] for b in bodies} <= {"sla.breached"}
    return [b["data"] for b in bodies]


def at(minutes: int):
    return time_machine.travel(MONDAY_10 + dt.timedelta(minutes=minutes), tick=False)


def test_a_running_deadline_is_announced_once_when_it_passes(
    level, customer, agent, breach_hook, receiver, delivered  # noqa: F811
):
    with at(0):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
    with at(59), delivered():  # first assignment is due at 60 minutes
        notice_sla_breaches.call_local()
    assert breaches(receiver) == []
    with at(61), delivered():
        notice_sla_breaches.call_local()
    (data,) = breaches(receiver)
    assert data["ticket"]["id"] == ticket.public_id
    sla = data["sla"]
    assert (sla["sla_type"], sla["sla_level_id"], sla["total_time"]) == (
        "first_assign", level.public_id, 3600)
    # In the account's time zone (Europe/Riga, UTC+2 in March).
    assert (sla["date_created"], sla["date_due"], sla["date_closed"]) == (
        "2026-03-02 10:00:00", "2026-03-02 11:00:00", None)
    record = SlaRecord.objects.get(ticket=ticket, metric="first_assign")
    assert record.breach_noticed_at == MONDAY_10 + dt.timedelta(minutes=61)
    # Later runs, and the record closing late after all, announce nothing more.
    with at(90), delivered():
        notice_sla_breaches.call_local()
        actions.assign_ticket(ticket, agent, actor=agent)
    assert len(breaches(receiver)) == 1


def test_a_deadline_met_late_before_the_check_ran_is_announced_at_once(
    level, customer, agent, breach_hook, receiver, delivered  # noqa: F811
):
    with at(0):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
    with at(30):
        actions.assign_ticket(ticket, agent, actor=agent)
    with at(5 * 60), delivered():  # the first answer was due at 4 hours
        actions.add_agent_reply(ticket, agent, "Sorry for the wait")
    (data,) = breaches(receiver)
    assert data["sla"]["sla_type"] == "first_answer"
    assert data["sla"]["date_closed"] == "2026-03-02 15:00:00"
    with at(5 * 60 + 1), delivered():
        notice_sla_breaches.call_local()
    assert len(breaches(receiver)) == 1


def test_deadlines_met_in_time_are_not_announced(
    level, customer, agent, breach_hook, receiver, delivered  # noqa: F811
):
    with at(0):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
    with at(10), delivered():
        actions.assign_ticket(ticket, agent, actor=agent)
        actions.add_agent_reply(ticket, agent, "On it")
    with at(24 * 60), delivered():  # first resolution is due on Wednesday
        notice_sla_breaches.call_local()
    assert breaches(receiver) == []
    assert not SlaRecord.objects.filter(breach_noticed_at__isnull=False).exists()
