"""Opening tickets, messages, and the status transitions of saruna.tickets.actions."""

import datetime as dt
import itertools
import re

import pytest
import time_machine
from django.utils import timezone

from saruna.core.models import AuditEvent
from saruna.tickets import actions
from saruna.tickets.actions import ActionError
from saruna.tickets.models import (
    Department,
    GroupType,
    Message,
    MessageType,
    Status,
    Ticket,
    TicketEvent,
    TicketHistory,
    Visibility,
)
from saruna.tickets.tasks import reopen_postponed_tickets

T0 = dt.datetime(2025, 3, 3, 9, 0, tzinfo=dt.UTC)


def statuses(ticket):
    return [h.status for h in TicketHistory.objects.filter(ticket=ticket)]


def test_open_ticket_by_customer(scoped, customer):
    ticket = actions.open_ticket(scoped, "Printer on fire", "<p>Help!</p>", customer, format="H")
    assert ticket.status == Status.NEW
    assert re.fullmatch(r"[A-Z0-9]{3}-[A-Z0-9]{3}-[A-Z0-9]{3}", ticket.code)
    assert re.fullmatch(r"[a-z0-9]{8}", ticket.public_id)
    assert ticket.department.public_id == "default"
    assert len(ticket.public_access_urlcode) >= 32
    (group,) = ticket.groups.all()
    assert group.type == GroupType.INCOMING_EMAIL and group.author_contact == customer
    (message,) = group.messages.all()
    assert (message.type, message.format, message.text) == ("M", "H", "Help!")
    history = TicketHistory.objects.get(ticket=ticket)
    assert (history.status, history.date_to, history.department) == ("N", None, ticket.department)
    assert TicketEvent.objects.get(ticket=ticket).field == "created"


def test_open_ticket_by_agent_is_outgoing_and_answered(scoped, customer, agent):
    ticket = actions.open_ticket(scoped, "Your order", "Shipped.", customer, actor=agent)
    assert ticket.status == Status.ANSWERED
    group = ticket.groups.get()
    assert group.type == GroupType.OUTGOING_EMAIL and group.author_user == agent


def test_contact_form_ticket_without_subject_takes_the_first_line(scoped, customer):
    ticket = actions.open_ticket(scoped, "", "Hello there\nmore", customer, channel_type="M")
    assert ticket.subject == "Hello there"
    assert ticket.groups.get().type == GroupType.OFFLINE


def test_empty_message_is_refused_and_nothing_is_created(scoped, customer):
    with pytest.raises(ActionError):
        actions.open_ticket(scoped, "Empty", "   ", customer)
    assert not Ticket.objects.exists()


def test_reply_cycle_statuses_and_history(scoped, customer, agent):
    with time_machine.travel(T0, tick=False):
        ticket = actions.open_ticket(scoped, "Question", "How?", customer)
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        actions.add_agent_reply(ticket, agent, "<p>Like this.</p>")
    assert ticket.status == Status.ANSWERED
    with time_machine.travel(T0 + dt.timedelta(hours=2), tick=False):
        actions.add_customer_message(ticket, customer, "Thanks, one more thing")
    assert ticket.status == Status.OPEN
    with time_machine.travel(T0 + dt.timedelta(hours=3), tick=False):
        actions.change_status(ticket, Status.RESOLVED, actor=agent)
    assert ticket.status == Status.RESOLVED and ticket.date_resolved is not None
    with time_machine.travel(T0 + dt.timedelta(hours=4), tick=False):
        actions.add_customer_message(ticket, customer, "It broke again")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.date_resolved is None

    assert statuses(ticket) == ["N", "A", "C", "R", "C"]
    periods = list(TicketHistory.objects.filter(ticket=ticket))
    # Contiguous periods: each ends when the next begins; only the last is open.
    for earlier, later in itertools.pairwise(periods):
        assert earlier.date_to == later.date_from
    assert periods[-1].date_to is None
    assert periods[0].elapsed_seconds == 3600
    status_events = TicketEvent.objects.filter(ticket=ticket, field="status")
    assert [(e.old_value, e.new_value) for e in status_events] == [
        ("N", "A"), ("A", "C"), ("C", "R"), ("R", "C"),
    ]
    assert status_events[0].actor_user == agent
    assert status_events[1].actor_contact == customer
    assert ticket.groups.filter(type=GroupType.RESOLVE).count() == 1


def test_customer_reply_to_unanswered_resolved_ticket_is_new_again(ticket, customer, owner):
    actions.change_status(ticket, Status.RESOLVED, actor=owner)
    actions.add_customer_message(ticket, customer, "Not solved")
    assert ticket.status == Status.NEW


def test_customer_message_on_new_ticket_keeps_it_new(ticket, customer):
    actions.add_customer_message(ticket, customer, "Also this")
    assert ticket.status == Status.NEW
    assert statuses(ticket) == ["N"]


def test_internal_note_is_internal_and_keeps_status(ticket, agent):
    before = ticket.last_activity_public
    group = actions.add_internal_note(ticket, agent, "<p>Customer is a VIP</p>")
    assert ticket.status == Status.NEW
    assert group.type == GroupType.INTERNAL and group.is_internal
    message = group.messages.get()
    assert (message.type, message.visibility) == (MessageType.NOTE, Visibility.INTERNAL)
    assert ticket.last_activity_public == before


def test_reply_can_set_another_status(ticket, agent):
    actions.add_agent_reply(ticket, agent, "Done.", status=Status.RESOLVED)
    assert ticket.status == Status.RESOLVED


def test_reply_during_chat_keeps_chatting(scoped, customer, agent):
    ticket = actions.open_ticket(scoped, "Chat", "hi", customer, channel_type="B", status="T")
    assert ticket.groups.get().type == GroupType.CHAT
    actions.add_agent_reply(ticket, agent, "hello", group_type=GroupType.CHAT)
    assert ticket.status == Status.CHATTING


def test_postpone_then_the_task_reopens(scoped, customer, agent):
    with time_machine.travel(T0, tick=False):
        ticket = actions.open_ticket(scoped, "Later", "Call me next week", customer)
        actions.postpone_ticket(ticket, T0 + dt.timedelta(hours=2), actor=agent)
        assert ticket.status == Status.POSTPONED
        assert ticket.postponed_until == T0 + dt.timedelta(hours=2)
        assert ticket.groups.filter(type=GroupType.POSTPONE).exists()
    with time_machine.travel(T0 + dt.timedelta(hours=1), tick=False):
        reopen_postponed_tickets.call_local()
        ticket.refresh_from_db()
        assert ticket.status == Status.POSTPONED
    with time_machine.travel(T0 + dt.timedelta(hours=2, minutes=1), tick=False):
        reopen_postponed_tickets.call_local()
        reopen_postponed_tickets.call_local()  # idempotent
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.postponed_until is None
    assert statuses(ticket) == ["N", "W", "C"]
    reopened = TicketEvent.objects.filter(ticket=ticket, field="status").last()
    assert reopened.actor_user is None and reopened.new_value == "C"


def test_postponed_ticket_reopens_when_the_customer_writes(ticket, customer, agent):
    actions.postpone_ticket(ticket, timezone.now() + dt.timedelta(days=1), actor=agent)
    actions.add_customer_message(ticket, customer, "Any news?")
    assert ticket.status == Status.NEW and ticket.postponed_until is None


def test_postpone_into_the_past_is_refused(ticket, agent):
    with pytest.raises(ActionError):
        actions.postpone_ticket(ticket, timezone.now() - dt.timedelta(minutes=1), actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    assert statuses(ticket) == ["N"]


def test_change_status_w_without_time_postpones_a_day(ticket, agent):
    with time_machine.travel(T0, tick=False):
        actions.change_status(ticket, Status.POSTPONED, actor=agent)
    assert ticket.postponed_until == T0 + dt.timedelta(hours=24)


def test_delete_and_undelete_restore_the_previous_status(ticket, agent, owner):
    actions.add_agent_reply(ticket, agent, "Answer")
    actions.change_status(ticket, Status.DELETED, actor=owner)
    assert ticket.status == Status.DELETED and ticket.date_deleted is not None
    assert ticket.groups.filter(type=GroupType.DELETE).exists()
    actions.change_status(ticket, Status.DELETED, actor=owner)  # repeat: no-op
    assert TicketEvent.objects.filter(ticket=ticket, new_value="X").count() == 1
    actions.undelete_ticket(ticket, actor=owner)
    assert ticket.status == Status.ANSWERED and ticket.date_deleted is None
    assert statuses(ticket) == ["N", "A", "X", "A"]
    verbs = list(AuditEvent.objects.order_by("pk").values_list("verb", flat=True))
    assert verbs == ["ticket.deleted", "ticket.restored"]


def test_spam_refuses_messages_and_undelete_restores(ticket, customer, agent):
    actions.change_status(ticket, Status.SPAM, actor=agent)
    with pytest.raises(ActionError) as err:
        actions.add_customer_message(ticket, customer, "buy pills")
    assert err.value.code == "conflict"
    with pytest.raises(ActionError):
        actions.add_agent_reply(ticket, agent, "no")
    with pytest.raises(ActionError):
        actions.postpone_ticket(ticket, timezone.now() + dt.timedelta(days=1), actor=agent)
    assert ticket.groups.count() == 2  # the first message and the spam notice
    actions.undelete_ticket(ticket, actor=agent)
    assert ticket.status == Status.NEW


@pytest.mark.parametrize("status", ["I", "T", "P", "Z"])
def test_statuses_only_channels_set_are_refused(ticket, agent, status):
    with pytest.raises(ActionError):
        actions.change_status(ticket, status, actor=agent)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_undelete_of_a_live_ticket_is_refused(ticket, agent):
    with pytest.raises(ActionError):
        actions.undelete_ticket(ticket, actor=agent)


def test_assign_and_transfer_write_history_and_events(scoped, ticket, agent, owner):
    sales = actions.save_department(scoped, name="Sales")
    actions.assign_ticket(ticket, agent, actor=owner)
    actions.change_department(ticket, sales, actor=owner)
    actions.assign_ticket(ticket, None, actor=owner)
    periods = list(TicketHistory.objects.filter(ticket=ticket))
    assert [(p.department.name, p.agent_id) for p in periods] == [
        ("Default", None), ("Default", agent.pk), ("Sales", agent.pk), ("Sales", None),
    ]
    events = TicketEvent.objects.filter(ticket=ticket).exclude(field="created")
    assert [(e.field, e.old_value, e.new_value) for e in events] == [
        ("agent", "", agent.pk),
        ("department", "default", sales.public_id),
        ("agent", agent.pk, ""),
    ]
    assert ticket.groups.filter(type=GroupType.TRANSFER).count() == 3


def test_assigning_a_user_of_another_account_is_refused(ticket, two_tenants):
    with pytest.raises(ActionError):
        actions.assign_ticket(ticket, two_tenants.agent_b)
    ticket.refresh_from_db()
    assert ticket.agent is None


def test_update_ticket_is_partial_and_merges_custom_fields(scoped, ticket, owner):
    from saruna.contacts.actions import save_custom_field

    save_custom_field(scoped, target="ticket", code="order", name="Order")
    save_custom_field(scoped, target="ticket", code="sku", name="SKU")
    actions.update_ticket(ticket, actor=owner, custom_fields={"order": "42", "sku": "A1"})
    actions.update_ticket(ticket, actor=owner, subject="New subject", custom_fields={"sku": ""})
    ticket.refresh_from_db()
    assert ticket.subject == "New subject"
    assert ticket.custom_fields == {"order": "42"}
    fields = list(TicketEvent.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert fields == ["created", "custom_fields.order", "custom_fields.sku", "subject",
                      "custom_fields.sku"]
    with pytest.raises(ActionError):
        actions.update_ticket(ticket, actor=owner, custom_fields={"nope": "1"})
    with pytest.raises(ActionError):
        actions.update_ticket(ticket, actor=owner, subject="  ")


def test_tags_set_add_remove_and_archived(scoped, ticket, agent):
    red = actions.save_tag(scoped, name="red")
    blue = actions.save_tag(scoped, name="blue")
    old = actions.save_tag(scoped, name="old", is_archived=True)
    assert re.fullmatch(r"[a-z0-9]{4}", red.public_id)
    actions.set_tags(ticket, [red, blue], actor=agent)
    actions.remove_tag(ticket, red, actor=agent)
    actions.add_tag(ticket, red, actor=agent)
    with pytest.raises(ActionError):
        actions.add_tag(ticket, old, actor=agent)
    assert set(ticket.tags.all()) == {red, blue}
    # A tag archived while on the ticket may stay there.
    actions.save_tag(scoped, red, is_archived=True)
    red.refresh_from_db()
    actions.remove_tag(ticket, blue, actor=agent)
    assert list(ticket.tags.all()) == [red]
    assert TicketEvent.objects.filter(ticket=ticket, field="tags").count() == 4


def test_tag_names_are_unique_per_account(scoped):
    actions.save_tag(scoped, name="vip")
    with pytest.raises(ActionError) as err:
        actions.save_tag(scoped, name="vip")
    assert err.value.code == "conflict"


def test_default_department_is_created_once(scoped, monkeypatch):
    first = actions.default_department(scoped)
    assert actions.default_department(scoped) == first
    assert first.public_id == "default"
    # Another request created it between our look-up and our insert: we get that one.
    real_filter = Department.objects.filter
    monkeypatch.setattr(
        Department.objects, "filter", lambda *a, **k: real_filter(pk=-1), raising=False
    )
    assert actions.default_department(scoped) == first
    monkeypatch.undo()
    assert Department.objects.filter(public_id="default").count() == 1


def test_deleting_a_department_moves_its_tickets_to_default(scoped, ticket, owner):
    sales = actions.save_department(scoped, name="Sales")
    actions.change_department(ticket, sales, actor=owner)
    actions.delete_department(sales, actor=owner)
    ticket.refresh_from_db()
    assert ticket.department.public_id == "default"
    with pytest.raises(ActionError):
        actions.delete_department(ticket.department, actor=owner)


def test_messages_are_decimal_ids_and_author_ids_follow_the_wire(ticket, customer, agent):
    reply = actions.add_agent_reply(ticket, agent, "ok")
    message = Message.objects.filter(group=reply).get()
    assert str(message.pk).isdigit()
    assert reply.author_id == agent.pk
    assert ticket.groups.first().author_id == customer.public_id
    actions.change_status(ticket, Status.RESOLVED)
    assert ticket.groups.filter(type=GroupType.RESOLVE).get().author_id == "system00"


def test_ticket_codes_are_unique_per_account_and_retried(two_tenants, monkeypatch):
    from django_scopes import scope

    from saruna.contacts.actions import create_contact

    codes = iter(["AAA-AAA-AAA", "AAA-AAA-AAA", "AAA-AAA-AAA", "BBB-BBB-BBB", "AAA-AAA-AAA"])
    monkeypatch.setattr(actions, "new_code", lambda: next(codes))
    with scope(account=two_tenants.a):
        first = actions.open_ticket(
            two_tenants.a, "One", "x", create_contact(two_tenants.a, emails=["a@x.test"])
        )
        second = actions.open_ticket(
            two_tenants.a, "Two", "x", create_contact(two_tenants.a, emails=["b@x.test"])
        )
    with scope(account=two_tenants.b):
        other = actions.open_ticket(
            two_tenants.b, "Three", "x", create_contact(two_tenants.b, emails=["a@x.test"])
        )
    assert first.code == "AAA-AAA-AAA"
    assert second.code == "BBB-BBB-BBB"  # the two collisions were retried
    assert other.code == "AAA-AAA-AAA"  # another account may use the same code



def test_delete_message_marks_an_emptied_group_deleted(ticket, agent, owner):
    from saruna.tickets.models import GroupStatus

    reply = actions.add_agent_reply(ticket, agent, "oops, wrong customer")
    actions.delete_message(reply.messages.get(), actor=owner)
    reply.refresh_from_db()
    assert reply.status == GroupStatus.DELETED and not reply.messages.exists()
    event = TicketEvent.objects.get(ticket=ticket, field="message_deleted")
    assert event.actor_user == owner and event.old_value.isdigit()
    assert ticket.groups.first().status == GroupStatus.VISIBLE
