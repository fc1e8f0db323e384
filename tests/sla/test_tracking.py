"""SLA records follow the ticket actions: opened, customer writes, agent answers, assigned,
resolved. Deadlines are in the level's business hours."""

import datetime as dt

import pytest
import time_machine

from saruna.sla import actions as sla_actions
from saruna.sla.models import SlaRecord
from saruna.tickets import actions
from saruna.tickets.models import ChannelType, Status

HOUR = 3600
# Monday 2026-03-02 10:00 in Riga (UTC+2).
MONDAY_10 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
OFFICE = {
    **{d: {"start": "09:00", "end": "17:00"} for d in
       ("monday", "tuesday", "wednesday", "thursday", "friday")},
    "saturday": None, "sunday": None,
}


@pytest.fixture
def level(scoped):
    return sla_actions.save_sla_level(
        scoped, None, name="Standard", is_default=True, time_zone="Europe/Riga",
        business_hours=OFFICE, first_answer=4 * HOUR, first_assign=HOUR,
        first_resolve=16 * HOUR, next_answer=2 * HOUR,
    )


def running(ticket):
    return {r.metric: r for r in SlaRecord.objects.filter(ticket=ticket, date_closed=None)}


@time_machine.travel(MONDAY_10, tick=False)
def test_new_ticket_starts_its_metrics_with_business_deadlines(level, customer):
    ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
    records = running(ticket)
    assert set(records) == {"first_answer", "first_assign", "first_resolve"}
    assert records["first_answer"].date_due == MONDAY_10 + dt.timedelta(hours=4)
    # 16 business hours from Monday 10:00 → Wednesday 10:00.
    assert records["first_resolve"].date_due == MONDAY_10 + dt.timedelta(days=2)
    ticket.refresh_from_db()
    assert ticket.date_due == MONDAY_10 + dt.timedelta(hours=1)  # the earliest: assignment


def test_no_level_no_records_and_date_due_untouched(scoped, customer):
    ticket = actions.open_ticket(scoped, "Help", "Broken", customer)
    assert not SlaRecord.objects.filter(ticket=ticket).exists()
    assert ticket.date_due is None


def test_answer_assignment_and_resolution_close_their_records(level, customer, agent):
    with time_machine.travel(MONDAY_10, tick=False):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
    with time_machine.travel(MONDAY_10 + dt.timedelta(minutes=30), tick=False):
        actions.assign_ticket(ticket, agent, actor=agent)
    assert set(running(ticket)) == {"first_answer", "first_resolve"}
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=8), tick=False):  # 18:00 local
        actions.add_agent_reply(ticket, agent, "On it")
    answer = SlaRecord.objects.get(ticket=ticket, metric="first_answer")
    # Opened 10:00, answered 18:00 local: 7 business hours (the office closed at 17:00).
    assert answer.elapsed_time == 7 * HOUR
    assert answer.date_closed == MONDAY_10 + dt.timedelta(hours=8)
    assert answer.date_closed > answer.date_due  # missed: due at 14:00
    assigned = SlaRecord.objects.get(ticket=ticket, metric="first_assign")
    assert assigned.elapsed_time == 30 * 60
    ticket.refresh_from_db()
    assert ticket.date_due == running(ticket)["first_resolve"].date_due
    with time_machine.travel(MONDAY_10 + dt.timedelta(days=1), tick=False):
        actions.change_status(ticket, Status.RESOLVED, actor=agent)
    assert running(ticket) == {}
    ticket.refresh_from_db()
    assert ticket.date_due is None


def test_customer_reply_after_an_answer_starts_next_answer(level, customer, agent):
    with time_machine.travel(MONDAY_10, tick=False):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer, agent=agent)
        actions.add_agent_reply(ticket, agent, "Try this")
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=6), tick=False):  # 16:00 local
        actions.add_customer_message(ticket, customer, "Still broken")
        # A second message while waiting does not restart the clock.
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=6, minutes=5), tick=False):
        actions.add_customer_message(ticket, customer, "Hello?")
    (next_answer,) = SlaRecord.objects.filter(ticket=ticket, metric="next_answer")
    # 16:00 + 2 business hours → Tuesday 10:00 local.
    assert next_answer.date_due == MONDAY_10 + dt.timedelta(days=1)
    assert "first_assign" not in running(ticket)  # it had an agent from the start


def test_resolved_ticket_reopened_by_customer_waits_again(level, customer, agent):
    with time_machine.travel(MONDAY_10, tick=False):
        ticket = actions.open_ticket(level.account, "Help", "Broken", customer)
        actions.add_agent_reply(ticket, agent, "Fixed", status=Status.RESOLVED)
    assert running(ticket) == {}
    with time_machine.travel(MONDAY_10 + dt.timedelta(hours=1), tick=False):
        actions.add_customer_message(ticket, customer, "No it is not")
    assert set(running(ticket)) == {"next_answer"}


def test_outgoing_ticket_waits_for_no_answer(level, customer, agent):
    ticket = actions.open_ticket(level.account, "Offer", "Hello", customer, actor=agent)
    assert "first_answer" not in running(ticket)


def test_chat_ticket_measures_chat_answer_until_an_agent_takes_it(scoped, customer, agent):
    sla_actions.save_sla_level(scoped, None, name="Chat", is_default=True, chat_answer=60,
                               first_answer=HOUR, time_zone="Europe/Riga",
                               business_hours=OFFICE)
    with time_machine.travel(MONDAY_10, tick=False):
        ticket = actions.open_ticket(scoped, "Chat", "Hi", customer,
                                     channel_type=ChannelType.CHAT_BUTTON)
    assert set(running(ticket)) == {"chat_answer"}
    with time_machine.travel(MONDAY_10 + dt.timedelta(seconds=45), tick=False):
        actions.assign_ticket(ticket, agent, actor=agent)  # the agent accepts the chat
    assert running(ticket) == {}
    assert SlaRecord.objects.get(ticket=ticket).elapsed_time == 45


def test_department_level_wins_over_default(level, customer):
    sales = actions.save_department(level.account, name="Sales")
    vip = sla_actions.save_sla_level(level.account, None, name="VIP", first_answer=60,
                                     departments=[sales])
    ticket = actions.open_ticket(level.account, "Help", "Broken", customer, department=sales)
    assert {r.level for r in SlaRecord.objects.filter(ticket=ticket)} == {vip}
    assert set(running(ticket)) == {"first_answer"}  # VIP measures nothing else


def test_deleting_or_spam_stops_the_clock(level, customer, agent):
    ticket = actions.open_ticket(level.account, "Buy pills", "Cheap", customer)
    actions.change_status(ticket, Status.SPAM, actor=agent)
    assert running(ticket) == {}
