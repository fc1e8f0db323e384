"""Who sees which tickets, tenant isolation, canned messages, live events."""

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django_scopes import scope

from saruna.contacts.actions import create_contact
from saruna.tickets import actions, queries
from saruna.tickets.models import CannedMessage, Department, Message, Ticket, TicketHistory
from tests.factories import make_user


@pytest.fixture
def desk(scoped, customer, owner, agent):
    """Default and Sales departments; ``agent`` belongs to Sales only."""
    sales = actions.save_department(scoped, name="Sales", agents=[agent], actor=owner)
    default = actions.default_department(scoped)
    in_sales = actions.open_ticket(scoped, "Quote", "Price?", customer, department=sales)
    in_default = actions.open_ticket(scoped, "Broken", "It broke", customer)
    assigned = actions.open_ticket(scoped, "Refund", "Money back", customer)
    actions.assign_ticket(assigned, agent, actor=owner)
    return sales, default, in_sales, in_default, assigned


def test_agent_sees_own_departments_and_assigned_tickets(desk, agent, owner):
    _sales, _default, in_sales, in_default, assigned = desk
    assert set(queries.visible_tickets(agent)) == {in_sales, assigned}
    assert queries.visible_tickets(agent).count() == 2
    assert set(queries.visible_tickets(owner)) == {in_sales, in_default, assigned}
    assert queries.can_see_ticket(agent, in_sales)
    assert queries.can_see_ticket(agent, assigned)
    assert not queries.can_see_ticket(agent, in_default)


def test_admin_sees_everything_and_other_agent_nothing(desk, scoped):
    admin = make_user(scoped, "admin@acme.test", role="admin")
    loner = make_user(scoped, "loner@acme.test")
    assert queries.visible_tickets(admin).count() == 3
    assert queries.visible_tickets(loner).count() == 0


def test_transfer_out_of_the_agents_department_hides_the_ticket(desk, agent, owner):
    _sales, default, in_sales, _in_default, _assigned = desk
    actions.change_department(in_sales, default, actor=owner)
    assert not queries.can_see_ticket(agent, in_sales)
    assert in_sales not in queries.visible_tickets(agent)


def test_contact_tickets_respects_visibility(desk, customer, agent, owner):
    _sales, _default, in_sales, in_default, assigned = desk
    others = queries.contact_tickets(agent, customer, exclude=in_sales)
    assert list(others) == [assigned]
    assert set(queries.contact_tickets(owner, customer)) == {in_sales, in_default, assigned}


def test_find_ticket_by_id_or_code(ticket):
    assert queries.find_ticket(ticket.public_id) == ticket
    assert queries.find_ticket(ticket.code.lower()) == ticket
    assert queries.find_ticket("nothere") is None


def test_public_conversation_hides_internal_parts(ticket, agent, owner):
    actions.add_internal_note(ticket, agent, "secret")
    actions.add_agent_reply(ticket, agent, "public answer")
    actions.assign_ticket(ticket, agent, actor=owner)
    public = queries.conversation(ticket, public_only=True)
    texts = [m.text for g in public for m in g.messages.all()]
    assert texts == ["It is <b>really</b> on fire.", "public answer"]
    assert len(queries.conversation(ticket)) == 4


def test_tenant_b_scope_never_returns_a_rows(two_tenants):
    with scope(account=two_tenants.a):
        contact = create_contact(two_tenants.a, emails=["same@x.test"])
        ticket = actions.open_ticket(two_tenants.a, "A's secret", "secret body", contact)
        actions.save_canned_message(two_tenants.a, messagetext="A's canned")
        code = ticket.code
    with scope(account=two_tenants.b):
        for model in (Ticket, Message, TicketHistory, CannedMessage):
            assert not model.objects.exists(), model
        assert not Department.objects.exists()
        assert queries.find_ticket(code) is None
        assert queries.find_ticket(ticket.public_id) is None
        assert queries.visible_tickets(two_tenants.owner_b).count() == 0
        # A's ticket is not B's to act on either.
        assert not queries.can_see_ticket(two_tenants.owner_b, ticket)


def test_canned_messages_for_user_and_department(scoped, agent, owner):
    sales = actions.save_department(scoped, name="Sales")
    shared = actions.save_canned_message(scoped, messagetext="Hello!", keywords="hi")
    mine = actions.save_canned_message(scoped, messagetext="Mine", user=agent)
    theirs = actions.save_canned_message(scoped, messagetext="Theirs", user=owner)
    for_sales = actions.save_canned_message(scoped, messagetext="Sales", department=sales)
    assert set(queries.canned_messages_for(agent)) == {shared, mine}
    assert set(queries.canned_messages_for(agent, sales)) == {shared, mine, for_sales}
    assert theirs not in queries.canned_messages_for(agent, sales)
    with pytest.raises(actions.ActionError):
        actions.save_canned_message(scoped, messagetext="  ")


def test_expand_variables(ticket, agent, scoped):
    text = (
        "Hi {$contact_name} <{$contact_email}>, {$agent_name} ({$agent_email}) here about "
        "{$ticket_code} \u201c{$ticket_subject}\u201d in {$department_name} at {$account_name}. "
        "{$unknown} {$ stays}"
    )
    expanded = queries.expand_variables(text, ticket=ticket, agent=agent)
    assert expanded == (
        f"Hi Cleo Customer <cleo@example.com>, Agent (agent@acme.test) here about "
        f"{ticket.code} \u201cPrinter on fire\u201d in Default at Acme. {{$unknown}} {{$ stays}}"
    )
    actions.update_ticket(ticket, subject="<b>x</b>")
    assert queries.expand_variables("{$ticket_subject}", ticket=ticket, html=True) == (
        "&lt;b&gt;x&lt;/b&gt;"
    )


def test_changes_are_published_after_commit(scoped, customer, agent, owner, settings,
                                            django_capture_on_commit_callbacks):
    # What is published and when; the Redis fan-out itself is tested in tests/realtime.
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(actions.inbox_group(scoped.pk), channel)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.open_ticket(scoped, "Live", "hello", customer)
    created = async_to_sync(layer.receive)(channel)
    assert created["type"] == "ticket.changed" and created["changed"] == ["created"]
    assert created["ticket"]["id"] == ticket.public_id
    assert "message_group" not in created  # the inbox gets the row, not the content

    ticket_channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(actions.ticket_group(ticket), ticket_channel)
    sales = actions.save_department(scoped, name="Sales", agents=[agent])
    with django_capture_on_commit_callbacks(execute=True):
        actions.change_department(ticket, sales, actor=owner)
    moved = async_to_sync(layer.receive)(channel)
    assert moved["changed"] == ["department"]
    assert moved["ticket"]["departmentid"] == sales.public_id
    assert moved["previous"]["departmentid"] == "default"
    assert async_to_sync(layer.receive)(ticket_channel)["changed"] == ["department"]
    assert actions.inbox_group(scoped.pk).startswith(f"account.{scoped.pk}.")

    with django_capture_on_commit_callbacks(execute=True):
        actions.add_agent_reply(ticket, agent, "on it")
    on_ticket = async_to_sync(layer.receive)(ticket_channel)
    assert on_ticket["message_group"]["messages"][0]["message"] == "on it"


def test_event_visibility(desk, agent, scoped):
    sales, default, *_ = desk
    loner = make_user(scoped, "loner@acme.test")
    event = {"ticket": {"departmentid": sales.public_id, "agentid": None}, "previous": {}}
    assert queries.event_visible_to(agent, {sales.public_id}, event)
    assert not queries.event_visible_to(loner, set(), event)
    moved_away = {
        "ticket": {"departmentid": default.public_id, "agentid": None},
        "previous": {"departmentid": sales.public_id, "agentid": None},
    }
    assert queries.event_visible_to(agent, {sales.public_id}, moved_away)
