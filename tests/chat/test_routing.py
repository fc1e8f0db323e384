"""Routing: the five methods, ring time, moving on, the wait limit, concurrent chats, the
grace period after an agent's browser goes away, transfer, invite, queue position."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.chat import actions, queries
from saruna.chat.models import (
    AgentAvailability,
    ChatParticipant,
    ChatStatus,
    Ring,
    RingOutcome,
    RingPurpose,
)
from saruna.contacts.common import ActionError
from saruna.tickets.models import Department, Status
from tests.chat.helpers import configure, make_button, put_online, reload, start
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(account):
    """Three agents, online in the default department (with a grace period long enough
    that the tests' travels in time do not make them away)."""
    configure(account, away_grace_seconds=3600)
    agents = [make_user(account, f"{name}@acme.test", full_name=name.title())
              for name in ("anna", "bruno", "clara")]
    put_online(*agents)
    return agents


def ringing(chat):
    with scope(account=chat.account):
        return sorted(Ring.objects.filter(chat=chat, outcome=RingOutcome.RINGING)
                      .values_list("user__full_name", flat=True))


def accept(chat, user):
    with scope(account=chat.account):
        return actions.accept_ring(chat, user)


def sweep(account, after_seconds, since=None):
    """Runs the sweep ``after_seconds`` after ``since`` (default: now)."""
    later = (since or timezone.now()) + timedelta(seconds=after_seconds)
    with time_machine.travel(later, tick=False), scope(account=account):
        actions.sweep(account)


def test_ring_all_rings_everyone_and_the_first_accept_wins(account, team):
    button = make_button(account)
    chat = start(button)
    assert ringing(chat) == ["Anna", "Bruno", "Clara"]
    assert reload(chat).status == ChatStatus.RINGING

    accept(chat, team[1])
    chat = reload(chat)
    assert chat.status == ChatStatus.CHATTING and chat.agent == team[1]
    assert chat.ticket.agent == team[1] and chat.ticket.status == Status.CHATTING
    assert ringing(chat) == []
    with pytest.raises(ActionError, match="no longer ringing"):
        accept(chat, team[0])


def test_priority_rings_one_at_a_time_in_order_and_moves_on_when_a_ring_runs_out(
    account, team
):
    anna, _bruno, clara = team
    configure(account, routing_method="priority", ring_seconds=30,
              priority_order=[clara.pk, anna.pk])
    chat = start(make_button(account))
    assert ringing(chat) == ["Clara"]

    sweep(account, 29, chat.date_queued)
    assert ringing(chat) == ["Clara"]  # not yet
    sweep(account, 31, chat.date_queued)
    assert ringing(chat) == ["Anna"]
    sweep(account, 62, chat.date_queued)
    assert ringing(chat) == ["Bruno"]  # not in the list: after those who are
    sweep(account, 93, chat.date_queued)
    assert ringing(chat) == ["Clara"]  # everyone had a turn: a new round
    with scope(account=account):
        outcomes = list(Ring.objects.filter(chat=chat).values_list("outcome", flat=True))
    assert outcomes == ["missed", "missed", "missed", "ringing"]


def test_a_declined_ring_moves_on_and_does_not_come_back(account, team):
    anna, bruno, clara = team
    configure(account, routing_method="priority",
              priority_order=[anna.pk, bruno.pk, clara.pk])
    chat = start(make_button(account))
    with scope(account=account):
        actions.decline_ring(chat, anna)
    assert ringing(chat) == ["Bruno"]
    sweep(account, 31)
    assert ringing(chat) == ["Clara"]
    sweep(account, 62)
    assert ringing(chat) == ["Bruno"]  # the next round leaves Anna out


def test_random_rings_one_available_agent(account, team):
    configure(account, routing_method="random")
    chat = start(make_button(account))
    assert len(ringing(chat)) == 1


def running_chats(account, agent, count):
    """Gives ``agent`` ``count`` running chats (the others are offline meanwhile)."""
    button = make_button(account, name=f"b-{agent.pk}-{count}")
    for _ in range(count):
        chat = start(button)
        with scope(account=account):
            for ring in Ring.objects.filter(chat=chat, outcome=RingOutcome.RINGING):
                if ring.user_id != agent.pk:
                    actions.decline_ring(chat, ring.user)
        accept(chat, agent)


def test_least_busy_and_most_busy_compare_utilisation(account, team):
    anna, bruno, clara = team
    with scope(account=account):
        actions.set_agent_status(anna, max_chats=4)
        actions.set_agent_status(bruno, max_chats=2)
        actions.set_agent_status(clara, max_chats=10)
    configure(account, routing_method="least_busy")
    running_chats(account, anna, 1)   # 1/4 = 25 %
    running_chats(account, bruno, 1)  # 1/2 = 50 %
    running_chats(account, clara, 4)  # 4/10 = 40 %
    button = make_button(account)
    chat = start(button)
    assert ringing(chat) == ["Anna"]
    with scope(account=account):
        actions.end_chat(chat, by="visitor")

    configure(account, routing_method="most_busy")
    assert ringing(start(button)) == ["Bruno"]


def test_an_agent_at_their_maximum_is_not_rung(account, team):
    anna, _bruno, _clara = team
    configure(account, default_max_chats=1)
    running_chats(account, anna, 1)
    chat = start(make_button(account))
    assert ringing(chat) == ["Bruno", "Clara"]


def test_nobody_available_queues_and_the_wait_limit_ends_in_the_offline_form(account, team):
    configure(account, default_max_chats=1, wait_limit=120)
    for agent in team:
        running_chats(account, agent, 1)
    chat = start(make_button(account))
    assert reload(chat).status == ChatStatus.QUEUED and ringing(chat) == []

    sweep(account, 119, reload(chat).date_queued)
    assert reload(chat).status == ChatStatus.QUEUED
    sweep(account, 121, reload(chat).date_queued)
    chat = reload(chat)
    assert chat.status == ChatStatus.ENDED and chat.went_offline
    # The chat became a ticket for someone to answer by e-mail, transcript kept.
    assert chat.ticket.status == Status.NEW
    with scope(account=account):
        lines = [m.body for g in chat.ticket.groups.all() for m in g.messages.all()]
    assert "Hello" in lines


def test_a_freed_agent_gets_the_oldest_waiting_chat(account, team):
    anna = team[0]
    for agent in team[1:]:
        with scope(account=account):
            actions.set_agent_status(agent, "offline")
    configure(account, default_max_chats=1)
    button = make_button(account)
    first = start(button)
    accept(first, anna)
    older, newer = start(button), start(button)
    assert reload(older).status == reload(newer).status == ChatStatus.QUEUED
    with scope(account=account):
        assert queries.queue_position(reload(older)) == 1
        assert queries.queue_position(reload(newer)) == 2
        assert queries.estimated_wait(reload(newer)) > queries.estimated_wait(reload(older))
        actions.end_chat(reload(first), by="visitor")
    assert ringing(older) == ["Anna"] and ringing(newer) == []


def test_offline_and_away_agents_and_other_departments_are_not_rung(account, team):
    anna, bruno, clara = team
    with scope(account=account):
        actions.set_agent_status(anna, "away")
        actions.set_agent_status(bruno, "offline")
        sales = Department.objects.create(account=account, name="Sales")
        sales.agents.add(clara)
        # Online in general, away in the default department only.
        actions.set_agent_status(clara, "online", departments={"default": "away"})
    with pytest.raises(ActionError):  # nobody online in the default department
        start(make_button(account))
    sales_chat = start(make_button(account, name="Sales", department=sales))
    assert ringing(sales_chat) == ["Clara"]


def test_an_agent_whose_browser_went_away_stops_ringing_after_the_grace_period(
    account, team
):
    anna = team[0]
    configure(account, away_grace_seconds=60)
    for agent in team[1:]:
        with scope(account=account):
            actions.set_agent_status(agent, "offline")
    with scope(account=account):
        actions.agent_seen(anna)  # her last socket closed just now
    button = make_button(account)
    later = timezone.now() + timedelta(seconds=30)
    with time_machine.travel(later, tick=False):
        assert ringing(start(button)) == ["Anna"]
    with time_machine.travel(later + timedelta(seconds=40), tick=False):
        with scope(account=account):
            assert not queries.button_online(button)
        with pytest.raises(ActionError):
            start(button)
        with scope(account=account):
            actions.agent_seen(anna)  # a tab came back
            assert queries.button_online(button)


def test_offline_button_refuses_to_start(account, team):
    for agent in team:
        with scope(account=account):
            actions.set_agent_status(agent, "offline")
    with pytest.raises(ActionError) as refusal:
        start(make_button(account))
    assert refusal.value.code == "offline"


def test_transfer_to_an_agent_moves_the_chat_when_accepted(account, team):
    anna, bruno, _clara = team
    chat = start(make_button(account))
    accept(chat, anna)
    with scope(account=account):
        actions.transfer_chat(reload(chat), anna, agent=bruno)
    assert reload(chat).agent == anna  # until Bruno accepts
    accept(reload(chat), bruno)
    chat = reload(chat)
    assert chat.agent == bruno and chat.ticket.agent == bruno
    with scope(account=account):
        bodies = [m.body for m in chat.messages.all()]
        with pytest.raises(ActionError):
            actions.post_agent_message(chat, anna, "late", "Still here?")
    assert "The chat was transferred to Bruno." in bodies


def test_transfer_to_a_department_rings_its_agents_and_moves_the_ticket(account, team):
    anna, _bruno, clara = team
    with scope(account=account):
        sales = Department.objects.create(account=account, name="Sales")
    put_online(clara, department=sales)
    chat = start(make_button(account))
    accept(chat, anna)
    with scope(account=account):
        rings = actions.transfer_chat(reload(chat), anna, department=sales)
    assert [r.user for r in rings] == [clara] and rings[0].purpose == RingPurpose.TRANSFER
    accept(reload(chat), clara)
    chat = reload(chat)
    assert chat.agent == clara and chat.department == sales and chat.ticket.department == sales


def test_a_transfer_nobody_accepts_leaves_the_chat_where_it_was(account, team):
    anna, bruno, _clara = team
    chat = start(make_button(account))
    accept(chat, anna)
    with scope(account=account):
        actions.transfer_chat(reload(chat), anna, agent=bruno)
    sweep(account, 31)
    chat = reload(chat)
    assert chat.agent == anna and chat.status == ChatStatus.CHATTING
    with scope(account=account):
        assert Ring.objects.get(chat=chat, purpose="transfer").outcome == RingOutcome.MISSED


def test_an_invited_agent_joins_writes_and_leaves(account, team):
    anna, bruno, _clara = team
    chat = start(make_button(account))
    accept(chat, anna)
    with scope(account=account):
        actions.invite_agent(reload(chat), anna, bruno)
    accept(reload(chat), bruno)
    with scope(account=account):
        message, created = actions.post_agent_message(reload(chat), bruno, "b1", "I can help")
        assert created and message.seq == reload(chat).last_seq
        actions.leave_chat(reload(chat), bruno)
        assert ChatParticipant.objects.get(chat=chat, user=bruno).left is not None
        with pytest.raises(ActionError):
            actions.post_agent_message(reload(chat), bruno, "b2", "One more")
    assert reload(chat).agent == anna


def test_setting_status_validates_and_going_online_offers_waiting_chats(account, agent):
    with scope(account=account):
        with pytest.raises(ActionError):
            actions.set_agent_status(agent, "busy")
        with pytest.raises(ActionError):
            actions.set_agent_status(agent, max_chats=0)
        with pytest.raises(ActionError):
            actions.set_agent_status(agent, departments={"nosuch": "online"})
    put_online(agent, status="offline")
    other = make_user(account, "other@acme.test")
    put_online(other)
    chat = start(make_button(account))
    with scope(account=account):
        actions.set_agent_status(other, "offline")
    with scope(account=account):
        actions.decline_ring(chat, other)
    assert reload(chat).status == ChatStatus.QUEUED
    with scope(account=account):
        actions.set_agent_status(agent, "online", max_chats=2)
        assert AgentAvailability.objects.get(user=agent).max_chats == 2
    assert ringing(chat) == ["Agent"]
