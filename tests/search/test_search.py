"""Search as an agent uses it: matching, ranking, the index following every write, tenant
isolation and hostile input. The same tests run on SQLite (FTS5) and PostgreSQL."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.contacts.models import Contact
from saruna.search.models import ContactDocument, TicketDocument
from saruna.search.queries import in_order, search_contacts, search_tickets
from saruna.tickets import actions
from saruna.tickets.models import Status, Ticket
from saruna.tickets.queries import visible_tickets

pytestmark = pytest.mark.django_db


def codes(account, query, **kwargs):
    tickets = Ticket.objects.filter(account=account)
    return [t.code for t in in_order(tickets, search_tickets(account, query, **kwargs))]


def names(account, query):
    return [c.system_name for c in in_order(Contact.objects.all(), search_contacts(account, query))]


def open_for(account, subject, body, email="cleo@example.com", **contact):
    owner, _ = contact_actions.find_or_create_contact_by_email(account, email)
    if contact:
        contact_actions.update_contact(owner, **contact)
    return actions.open_ticket(account, subject, body, owner)


# --- matching and ranking -------------------------------------------------------------------


def test_prefix_finds_the_whole_word(scoped, ticket):
    invoice = open_for(scoped, "Question about my invoice", "Hello")
    assert codes(scoped, "invo") == [invoice.code]
    assert codes(scoped, "INVOICE question") == [invoice.code]
    assert codes(scoped, "invoice printer") == []  # every word must match


def test_diacritics_are_folded_both_ways(scoped):
    ticket = open_for(scoped, "Rēķins", "Sveiki", "anna@example.lv",
                      firstname="Anna", lastname="Bērziņa")
    assert codes(scoped, "berzina") == [ticket.code]
    assert codes(scoped, "rekins") == [ticket.code]
    assert codes(scoped, "Bērziņa") == [ticket.code]
    assert names(scoped, "berz") == ["Anna Bērziņa"]


def test_message_text_is_searched(scoped, ticket, customer):
    actions.add_customer_message(ticket, customer, "The toner cartridge leaks magenta")
    assert codes(scoped, "magenta cartridge") == [ticket.code]


def test_subject_hits_rank_above_message_hits(scoped, customer):
    in_body = actions.open_ticket(scoped, "Hello there", "My laptop will not boot", customer)
    in_subject = actions.open_ticket(scoped, "Laptop will not boot", "Help", customer)
    older_body = actions.open_ticket(scoped, "Another", "The laptop again", customer)
    found = codes(scoped, "laptop")
    assert found[0] == in_subject.code
    assert set(found) == {in_body.code, in_subject.code, older_body.code}


def test_ticket_code_finds_that_ticket_first(scoped, customer):
    tickets = [actions.open_ticket(scoped, f"Ticket {i}", "text", customer) for i in range(3)]
    target = tickets[1]
    assert codes(scoped, target.code)[0] == target.code
    assert codes(scoped, f"  {target.code.lower()} ")[0] == target.code


def test_email_finds_the_owners_tickets_and_the_contact(scoped, customer, ticket):
    other = open_for(scoped, "Printer on fire too", "same", "dora@example.org")
    assert codes(scoped, "cleo@example.com") == [ticket.code]
    assert codes(scoped, "CLEO@EXAMPLE.COM") == [ticket.code]
    assert codes(scoped, "dora") == [other.code]
    assert names(scoped, "cleo@example.com") == ["Cleo Customer"]
    assert names(scoped, "customer") == ["Cleo Customer"]


def test_company_name_finds_its_people(scoped):
    company = contact_actions.create_company(scoped, name="Latvijas Gāze")
    contact_actions.create_contact(scoped, firstname="Ivo", company=company,
                                   emails=["ivo@gaze.lv"])
    assert names(scoped, "gaze") == ["Ivo"]
    contact_actions.update_company(company, name="Daugava Energo")
    assert names(scoped, "gaze latvijas") == []
    assert names(scoped, "daugava") == ["Ivo"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm is PostgreSQL's")
def test_part_of_an_address_or_code_matches_on_postgresql(scoped, ticket):
    assert codes(scoped, "leo@examp") == [ticket.code]
    assert codes(scoped, ticket.code[2:9]) == [ticket.code]


def test_results_are_capped(scoped, customer):
    for i in range(5):
        actions.open_ticket(scoped, f"Refund {i}", "text", customer)
    assert len(search_tickets(scoped, "refund", limit=3)) == 3


# --- the index follows every write ----------------------------------------------------------


def test_subject_change_replaces_the_old_words(scoped, ticket, owner):
    actions.update_ticket(ticket, subject="Scanner jammed", actor=owner)
    assert codes(scoped, "printer") == []
    assert codes(scoped, "scanner") == [ticket.code]


def test_agent_reply_and_note_are_found(scoped, ticket, owner):
    actions.add_agent_reply(ticket, owner, "<p>Try the <b>reset</b> button</p>")
    actions.add_internal_note(ticket, owner, "Customer is a VIP reseller")
    assert codes(scoped, "reset button") == [ticket.code]
    assert codes(scoped, "reseller") == [ticket.code]


def test_deleted_message_is_gone(scoped, ticket, customer):
    group = actions.add_customer_message(ticket, customer, "Password hunter2 inside")
    actions.delete_message(group.messages.get())
    assert codes(scoped, "hunter2") == []


def test_trash_and_spam_leave_results_unless_asked(scoped, ticket, owner):
    actions.change_status(ticket, Status.DELETED, actor=owner)
    assert codes(scoped, "printer") == []
    assert codes(scoped, "printer", within=Ticket.objects.all()) == [ticket.code]
    actions.undelete_ticket(ticket, actor=owner)
    assert codes(scoped, "printer") == [ticket.code]


def test_merge_moves_the_words_to_the_target(scoped, customer, owner):
    target = actions.open_ticket(scoped, "Router", "The router blinks", customer)
    source = actions.open_ticket(scoped, "Modem", "The modem smells of ozone", customer)
    actions.merge_tickets(target, [source], actor=owner)
    assert codes(scoped, "ozone") == [target.code]
    # The merged ticket is in the trash and holds no conversation any more.
    assert codes(scoped, "ozone", within=Ticket.objects.all()) == [target.code]


def test_split_moves_the_words_to_the_new_ticket(scoped, ticket, customer, owner):
    extra = actions.add_customer_message(ticket, customer, "Separately: invoice wrong")
    new = actions.split_message(extra, actor=owner)
    assert codes(scoped, "invoice") == [new.code]
    assert set(codes(scoped, "printer")) == {ticket.code, new.code}  # same subject


def test_contact_changes_reach_their_tickets(scoped, customer, ticket, owner):
    contact_actions.update_contact(customer, lastname="Kalniņa")
    assert codes(scoped, "kalnina") == [ticket.code]
    assert names(scoped, "kalnina") == ["Cleo Kalniņa"]
    contact_actions.delete_contact(customer, actor=owner)
    assert names(scoped, "kalnina") == []
    # The ticket keeps showing (and finding) the name its owner had.
    assert codes(scoped, "kalnina") == [ticket.code]
    assert not ContactDocument.objects.exists()


def test_merged_contact_leaves_and_its_tickets_follow(scoped, customer, ticket, owner):
    dora, _ = contact_actions.find_or_create_contact_by_email(scoped, "dora@example.org")
    dora_ticket = actions.open_ticket(scoped, "Dora's fax", "beep", dora)
    contact_actions.merge_contacts(customer, dora, actor=owner)
    assert names(scoped, "dora") == ["Cleo Customer"]
    assert set(codes(scoped, "cleo")) == {ticket.code, dora_ticket.code}


# --- isolation ------------------------------------------------------------------------------


def test_a_tenant_never_finds_another_tenants_rows(two_tenants):
    with scope(account=two_tenants.a):
        mine = open_for(two_tenants.a, "Secret merger plans", "zanzibar", "ceo@alpha.test")
    with scope(account=two_tenants.b):
        theirs = open_for(two_tenants.b, "Merger rumours", "zanzibar", "ceo@alpha.test")
        assert codes(two_tenants.b, "zanzibar") == [theirs.code]
        assert codes(two_tenants.b, mine.code) == []
        assert search_tickets(two_tenants.b, "zanzibar") == [theirs.pk]
        assert search_contacts(two_tenants.b, "ceo@alpha.test") == [theirs.owner_id]
    with scope(account=two_tenants.a):
        # Even a queryset of A's tickets cannot widen a search made for B.
        assert search_tickets(two_tenants.b, "zanzibar", within=Ticket.objects.all()) == []
        assert search_tickets(two_tenants.a, "zanzibar") == [mine.pk]


def test_an_agent_finds_only_the_tickets_they_may_see(scoped, customer, agent):
    sales = actions.save_department(scoped, name="Sales", agents=[agent])
    visible = actions.open_ticket(scoped, "Quote request", "quote", customer, department=sales)
    hidden = actions.open_ticket(scoped, "Quote dispute", "quote", customer)
    assert set(search_tickets(scoped, "quote")) == {visible.pk, hidden.pk}
    assert search_tickets(scoped, "quote", within=visible_tickets(agent)) == [visible.pk]


# --- hostile input --------------------------------------------------------------------------

HOSTILE = [
    "", "   ", '"', '""', "'", "*", "**", "-", "--", "-printer", "(", ")", "((printer",
    "printer)", "NEAR", "NEAR(printer fire)", "printer AND", "AND OR NOT", "printer NOT fire",
    "^printer", "head:printer", "body : fire", "{head body}:printer", "printer:*", "!fire",
    "fire & | !", "fire <-> printer", "'; DROP TABLE tickets_ticket; --", "%", "_", "\\",
    "\x00", "a" * 5000, "é" * 300, " ".join(["w"] * 400), "🔥🖨️", "ﬁre ²", "e\u0301",
    "_printer_", "printer_fire", "ǅ", "@", "@@@", "a@", "---", "a-b-c", "...", "%_%",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_never_raise(scoped, ticket, query):
    found = search_tickets(scoped, query)
    assert isinstance(found, list) and set(found) <= {ticket.pk}
    assert isinstance(search_contacts(scoped, query), list)


def test_operators_are_plain_words(scoped, ticket, customer):
    near = actions.open_ticket(scoped, "Near the door", "and not or", customer)
    assert codes(scoped, "NEAR") == [near.code]
    assert codes(scoped, "and not or") == [near.code]
    assert codes(scoped, "-printer") == [ticket.code]
    assert codes(scoped, '"printer fire"') == [ticket.code]


# --- rebuilding -----------------------------------------------------------------------------


def test_reindex_command_rebuilds_an_account(scoped, ticket):
    TicketDocument.objects.all().delete()
    ContactDocument.objects.all().delete()
    assert codes(scoped, "printer") == []
    out = StringIO()
    with scope(account=None):
        call_command("reindex", "--account", scoped.slug, stdout=out)
    assert out.getvalue() == "acme: 1 tickets, 1 contacts\n"
    assert codes(scoped, "printer") == [ticket.code]
    assert names(scoped, "cleo") == ["Cleo Customer"]


def test_reindex_command_refuses_an_unknown_account(db):
    with pytest.raises(CommandError), scope(account=None):
        call_command("reindex", "--account", "nosuch")

