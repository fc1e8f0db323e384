"""Merging tickets and splitting a message off into a new ticket."""

import datetime as dt

import pytest
import time_machine

from saruna.contacts.actions import create_contact
from saruna.core.models import AuditEvent
from saruna.tickets import actions
from saruna.tickets.actions import ActionError
from saruna.tickets.models import GroupType, Status, TicketEvent, TicketHistory

T0 = dt.datetime(2025, 5, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def pair(scoped, customer, agent):
    """Two tickets of one customer, written an hour apart, the second tagged."""
    with time_machine.travel(T0, tick=False):
        first = actions.open_ticket(scoped, "Login fails", "Cannot log in", customer)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        second = actions.open_ticket(scoped, "Still no login", "Please help", customer)
        actions.add_agent_reply(second, agent, "Looking into it")
        actions.set_tags(second, [actions.save_tag(scoped, name="login")], actor=agent)
    return first, second


def test_merge_moves_messages_and_trashes_the_source(pair, owner):
    first, second = pair
    moved = set(second.groups.values_list("pk", flat=True))
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        actions.merge_tickets(first, [second], actor=owner)
    second.refresh_from_db()
    assert second.status == Status.DELETED and second.merged_into == first
    assert second.date_deleted is not None
    # The source keeps only its "merged into" notice.
    assert list(second.groups.values_list("type", flat=True)) == [GroupType.MERGED]
    groups = list(first.groups.order_by("sort_order"))
    assert moved <= {g.pk for g in groups}
    assert all(g.merged_from == second for g in groups if g.pk in moved)
    # Chronological order after renumbering: first's mail, second's mail, reply, merge notice.
    assert [g.type for g in groups] == ["3", "3", "4", "2"]
    assert [g.sort_order for g in groups] == [0, 1, 2, 3]
    assert [t.name for t in first.tags.all()] == ["login"]
    assert TicketEvent.objects.filter(ticket=first, field="merged").get().new_value == (
        second.public_id
    )
    assert TicketHistory.objects.filter(ticket=second).last().status == Status.DELETED
    audit = AuditEvent.objects.get(verb="ticket.merged")
    assert audit.details["sources"] == [second.code] and audit.actor_user == owner


def test_a_merged_ticket_cannot_be_merged_or_undeleted(pair, owner):
    first, second = pair
    actions.merge_tickets(first, [second], actor=owner)
    with pytest.raises(ActionError):
        actions.merge_tickets(first, [second], actor=owner)
    with pytest.raises(ActionError):
        actions.undelete_ticket(second, actor=owner)
    with pytest.raises(ActionError):
        actions.merge_tickets(second, [first], actor=owner)


def test_merging_into_itself_changes_nothing(pair, owner):
    first, _second = pair
    with pytest.raises(ActionError):
        actions.merge_tickets(first, [first], actor=owner)
    first.refresh_from_db()
    assert first.status == Status.NEW


def test_split_message_into_new_ticket(pair, customer, owner):
    first, _second = pair
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        extra = actions.add_customer_message(first, customer, "Also, my invoice is wrong")
        new = actions.split_message(extra, actor=owner)
    extra.refresh_from_db()
    assert extra.ticket == new
    assert new.owner == customer and new.department == first.department
    assert new.status == Status.NEW and new.code != first.code
    assert [g.type for g in new.groups.all()] == ["3", GroupType.SPLITTED]
    assert first.groups.filter(type=GroupType.SPLITTED).exists()
    assert not first.groups.filter(pk=extra.pk).exists()
    assert TicketEvent.objects.get(ticket=first, field="split").new_value == new.public_id
    assert TicketHistory.objects.get(ticket=new).status == Status.NEW


def test_the_only_message_cannot_be_split(ticket, owner):
    with pytest.raises(ActionError):
        actions.split_message(ticket.groups.get(), actor=owner)


def test_system_groups_cannot_be_split(ticket, owner, scoped):
    actions.change_status(ticket, Status.RESOLVED, actor=owner)
    with pytest.raises(ActionError):
        actions.split_message(ticket.groups.get(type=GroupType.RESOLVE), actor=owner)


def test_merge_across_accounts_is_refused(two_tenants):
    from django_scopes import scope

    with scope(account=two_tenants.b):
        foreign = actions.open_ticket(
            two_tenants.b, "B", "b", create_contact(two_tenants.b, emails=["b@x.test"])
        )
    with scope(account=two_tenants.a):
        mine = actions.open_ticket(
            two_tenants.a, "A", "a", create_contact(two_tenants.a, emails=["a@x.test"])
        )
        with pytest.raises(ActionError):
            actions.merge_tickets(mine, [foreign])
        assert mine.groups.count() == 1
