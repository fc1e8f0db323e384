"""Contacts and companies: create, partial update, e-mail uniqueness, merge, delete,
registration, groups and custom fields."""

import re

import pytest
from django_scopes import scope

from saruna.contacts import actions
from saruna.contacts.common import ActionError, delete_record, resolve_ids
from saruna.contacts.models import (
    Company,
    Contact,
    ContactEmail,
    ContactEvent,
    ContactGroup,
)
from saruna.core.models import AuditEvent
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import MessageGroup, Status, Ticket, TicketEvent


def test_create_contact_with_defaults(scoped, owner):
    contact = actions.create_contact(
        scoped, actor=owner, firstname="Ada", lastname="Lovelace",
        emails=["Ada@Example.com", "ada@work.test"], phones=["+37120000000"],
        countrycode="lv", gender="F", id="ignored",
    )
    assert re.fullmatch(r"[a-z0-9]{8}", contact.public_id)
    assert contact.system_name == "Ada Lovelace"
    assert contact.email_list() == ["Ada@Example.com", "ada@work.test"]
    assert contact.primary_email == "Ada@Example.com"
    assert contact.phone_list() == ["+37120000000"]
    assert (contact.countrycode, contact.type, contact.gender) == ("LV", "V", "F")
    assert contact.history.get().kind == ContactEvent.Kind.CREATED


def test_system_name_falls_back_to_first_email(scoped):
    contact = actions.create_contact(scoped, emails=["anon@example.com"])
    assert contact.system_name == "anon@example.com"


def test_bad_input_changes_nothing(scoped):
    with pytest.raises(ActionError):
        actions.create_contact(scoped, firstname="X", emails=["not an address"])
    with pytest.raises(ActionError):
        actions.create_contact(scoped, firstname="X", gender="Q")
    with pytest.raises(ActionError):
        actions.create_contact(scoped, firstname="X", ip="999.1.1.1")
    assert not Contact.objects.exists()


def test_email_belongs_to_one_contact_per_account(scoped):
    first = actions.create_contact(scoped, emails=["one@example.com"])
    with pytest.raises(ActionError) as err:
        actions.create_contact(scoped, emails=["ONE@example.com "])
    assert err.value.code == "conflict" and first.public_id in err.value.message
    assert Contact.objects.count() == 1


def test_same_email_in_two_accounts(two_tenants):
    with scope(account=two_tenants.a):
        a = actions.create_contact(two_tenants.a, emails=["shared@example.com"])
    with scope(account=two_tenants.b):
        b = actions.create_contact(two_tenants.b, emails=["shared@example.com"])
        assert list(Contact.objects.all()) == [b]
        found, created = actions.find_or_create_contact_by_email(
            two_tenants.b, "SHARED@example.com"
        )
        assert (found, created) == (b, False)
    assert a.pk != b.pk


def test_company_and_contact_may_share_an_address(scoped):
    actions.create_company(scoped, name="Acme Ltd", emails=["info@acme.test"])
    contact, created = actions.find_or_create_contact_by_email(scoped, "info@acme.test")
    assert created and contact.primary_email == "info@acme.test"


def test_update_is_partial_arrays_replace_custom_fields_merge(scoped, owner):
    actions.save_custom_field(scoped, target="contact", code="plan", name="Plan")
    actions.save_custom_field(scoped, target="contact", code="seats", name="Seats")
    vip = actions.save_contact_group(scoped, name="VIP", color="#ffffff")
    contact = actions.create_contact(
        scoped, firstname="Ada", city="Riga", emails=["a@x.test", "b@x.test"],
        phones=["1", "2"], groups=[vip], custom_fields={"plan": "gold", "seats": 3},
    )
    actions.update_contact(
        contact, actor=owner, emails=["c@x.test"], custom_fields={"seats": "5"}, note=None,
    )
    contact.refresh_from_db()
    assert contact.firstname == "Ada" and contact.city == "Riga"
    assert contact.email_list() == ["c@x.test"]
    assert contact.phone_list() == ["1", "2"]
    assert list(contact.groups.all()) == [vip]
    assert contact.custom_fields == {"plan": "gold", "seats": "5"}
    actions.update_contact(contact, groups=[], city=None, custom_fields={"plan": None})
    contact.refresh_from_db()
    assert list(contact.groups.all()) == [] and contact.city == ""
    assert contact.custom_fields == {"seats": "5"}
    with pytest.raises(ActionError):
        actions.update_contact(contact, custom_fields={"unknown": "x"})
    updated = contact.history.filter(kind=ContactEvent.Kind.UPDATED).first()
    assert updated.details["fields"] == ["note", "emails", "custom_fields"]
    # The freed address can be used by someone else now.
    actions.create_contact(scoped, emails=["a@x.test"])


def test_find_or_create_by_email(scoped):
    contact, created = actions.find_or_create_contact_by_email(
        scoped, "New.Person@Example.com", name="New Person"
    )
    assert created and (contact.firstname, contact.lastname) == ("New", "Person")
    again, created_again = actions.find_or_create_contact_by_email(
        scoped, "new.person@example.com"
    )
    assert again == contact and not created_again


def test_merge_contacts(scoped, owner, agent):
    vip = actions.save_contact_group(scoped, name="VIP")
    tag = ticket_actions.save_tag(scoped, name="loyal")
    keep = actions.create_contact(scoped, firstname="Ada", emails=["ada@x.test"], phones=["1"])
    away = actions.create_contact(
        scoped, lastname="Lovelace", city="London", emails=["ada@old.test"], phones=["2"],
        groups=[vip], tags=[tag],
    )
    actions.register(away, "ada@old.test", actor=owner)
    ticket = ticket_actions.open_ticket(scoped, "Hi", "from old address", away)
    ticket_actions.add_customer_message(ticket, away, "again")

    actions.merge_contacts(keep, away, actor=owner)

    keep.refresh_from_db()
    away.refresh_from_db()
    ticket.refresh_from_db()
    assert ticket.owner == keep
    assert set(MessageGroup.objects.values_list("author_contact", flat=True)) == {keep.pk}
    assert TicketEvent.objects.filter(actor_contact=away).count() == 0
    assert keep.email_list() == ["ada@x.test", "ada@old.test"]
    assert keep.phone_list() == ["1", "2"]
    assert list(keep.groups.all()) == [vip] and list(keep.tags.all()) == [tag]
    assert (keep.firstname, keep.lastname, keep.city) == ("Ada", "Lovelace", "London")
    assert (keep.type, keep.registration_email) == ("R", "ada@old.test")
    assert away.merged_into == keep and away.email_list() == []
    assert away.registration_email == "" and list(away.groups.all()) == []
    assert keep.history.filter(kind=ContactEvent.Kind.MERGED_IN, other=away).exists()
    assert away.history.filter(kind=ContactEvent.Kind.MERGED_AWAY, other=keep).exists()
    audit = AuditEvent.objects.get(verb="contact.merged")
    assert audit.actor_user == owner and audit.details["merged_away"] == away.public_id
    with pytest.raises(ActionError):
        actions.merge_contacts(keep, away, actor=owner)
    with pytest.raises(ActionError):
        actions.merge_contacts(keep, keep, actor=owner)


def test_delete_contact_keeps_or_trashes_tickets(scoped, owner):
    kept = actions.create_contact(scoped, firstname="Kept", emails=["kept@x.test"])
    ticket = ticket_actions.open_ticket(scoped, "Stays", "x", kept)
    actions.delete_contact(kept, delete_tickets=False, actor=owner)
    ticket.refresh_from_db()
    assert ticket.owner is None and ticket.status == Status.NEW
    assert (ticket.owner_name, ticket.owner_email) == ("Kept", "kept@x.test")

    gone = actions.create_contact(scoped, firstname="Gone", emails=["gone@x.test"])
    trashed = ticket_actions.open_ticket(scoped, "Goes", "x", gone)
    actions.delete_contact(gone, delete_tickets=True, actor=owner)
    trashed.refresh_from_db()
    assert trashed.status == Status.DELETED and trashed.owner_email == "gone@x.test"
    assert AuditEvent.objects.filter(verb="contact.deleted").count() == 2
    # The address is free again.
    actions.create_contact(scoped, emails=["gone@x.test"])


def test_delete_company(scoped, owner):
    company = actions.create_company(scoped, name="Acme Ltd")
    assert company.system_name == "Acme Ltd"
    worker = actions.create_contact(scoped, firstname="W", company=company)
    ticket = ticket_actions.open_ticket(scoped, "T", "x", worker)
    actions.delete_company(company, delete_tickets=True, actor=owner)
    worker.refresh_from_db()
    ticket.refresh_from_db()
    assert worker.company is None
    assert ticket.status == Status.DELETED and ticket.owner == worker
    assert not Company.objects.exists()


def test_register_and_unregister(scoped, owner):
    one = actions.create_contact(scoped, firstname="One")
    two = actions.create_contact(scoped, firstname="Two")
    actions.register(one, "Portal@Example.com", actor=owner)
    assert (one.type, one.registration_email) == ("R", "portal@example.com")
    with pytest.raises(ActionError) as err:
        actions.register(two, "portal@example.com")
    assert err.value.code == "conflict"
    two.refresh_from_db()
    assert two.type == "V"
    actions.register(one, "new@example.com")
    actions.unregister(one, actor=owner)
    assert (one.type, one.registration_email) == ("V", "")
    actions.register(two, "portal@example.com")
    kinds = list(one.history.values_list("kind", flat=True))
    assert kinds == ["created", "registered", "registered", "unregistered"]


def test_contact_groups_unique_and_deleted_from_members(scoped, owner):
    group = actions.save_contact_group(scoped, name="Press", background_color="#000000")
    with pytest.raises(ActionError) as err:
        actions.save_contact_group(scoped, name="Press")
    assert err.value.code == "conflict"
    contact = actions.create_contact(scoped, firstname="Reporter", groups=[group])
    company = actions.create_company(scoped, name="Daily", groups=[group])
    delete_record(group, actor=owner)
    assert list(contact.groups.all()) == [] and list(company.groups.all()) == []
    assert AuditEvent.objects.filter(verb="contactgroup.deleted").exists()


def test_archived_tags_cannot_be_added_to_contacts(scoped):
    archived = ticket_actions.save_tag(scoped, name="old", is_archived=True)
    with pytest.raises(ActionError):
        actions.create_contact(scoped, firstname="X", tags=[archived])
    assert not Contact.objects.exists()


def test_resolve_ids_stays_in_scope(two_tenants):
    with scope(account=two_tenants.a):
        group = actions.save_contact_group(two_tenants.a, name="A-only")
        assert resolve_ids(ContactGroup, [group.public_id]) == [group]
    with scope(account=two_tenants.b):
        with pytest.raises(ActionError):
            resolve_ids(ContactGroup, [group.public_id])
        assert not ContactEmail.objects.exists()


def test_deleting_a_custom_field_removes_its_values(scoped):
    field = actions.save_custom_field(scoped, target="ticket", code="order", name="Order")
    contact = actions.create_contact(scoped, emails=["c@x.test"])
    ticket = ticket_actions.open_ticket(
        scoped, "T", "x", contact, custom_fields={"order": "7"}
    )
    assert ticket.custom_fields == {"order": "7"}
    actions.delete_custom_field(field)
    ticket.refresh_from_db()
    assert ticket.custom_fields == {}
    assert Ticket.objects.filter(custom_fields__has_key="order").count() == 0


def test_default_display_name_follows_names_until_set_explicitly(scoped):
    contact, _created = actions.find_or_create_contact_by_email(scoped, "who@x.test")
    assert contact.system_name == "who@x.test"
    actions.update_contact(contact, firstname="Wanda", lastname="Who")
    assert contact.system_name == "Wanda Who"
    actions.update_contact(contact, system_name="W. Who")
    actions.update_contact(contact, firstname="Wendy")
    assert contact.system_name == "W. Who"
