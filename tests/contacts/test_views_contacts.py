"""The agent's contact pages: list and search, create, edit, merge, delete; companies and
contact groups; what an agent may see of a contact's tickets; tenant isolation; stored XSS."""

import pytest
from django_scopes import scope

from saruna.contacts import actions
from saruna.contacts.models import Company, Contact, ContactEvent, ContactGroup, CustomField
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import Status, Ticket
from tests.factories import make_user
from tests.tenancy import host_client

XSS = [
    '<script>alert("x")</script>',
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
]


@pytest.fixture
def owner_web(account, owner):
    return host_client(account, owner)


@pytest.fixture
def agent_web(account, agent):
    return host_client(account, agent)


def test_create_contact_with_emails_phones_and_custom_field(scoped, owner_web, owner):
    actions.save_custom_field(scoped, target="contact", code="plan", name="Plan",
                              type="choice", choices=["Gold", "Silver"])
    group = actions.save_contact_group(scoped, name="VIP")
    response = owner_web.post("/contacts/new/", {
        "firstname": "Ada", "lastname": "Lovelace",
        "emails": "ada@example.com\nada@work.test", "phones": "+37120000000",
        "language": "lv", "time_offset": "7200", "groups": [group.public_id],
        "note": "Met at the fair", "cf_plan": "Gold",
    })
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/contacts/{contact.public_id}/"
    assert contact.email_list() == ["ada@example.com", "ada@work.test"]
    assert contact.phone_list() == ["+37120000000"]
    assert (contact.language, contact.time_offset) == ("lv", 7200)
    assert contact.custom_fields == {"plan": "Gold"}
    assert list(contact.groups.all()) == [group]
    assert contact.history.get().actor == owner

    page = owner_web.get(response["Location"]).content.decode()
    for shown in ("Ada Lovelace", "ada@work.test", "+37120000000", "UTC+02:00", "Plan",
                  "Gold", "VIP", "Met at the fair"):
        assert shown in page


def test_named_time_zone_follows_daylight_saving(scoped, owner_web, time_machine):
    time_machine.move_to("2026-07-01 12:00Z")
    response = owner_web.post("/contacts/new/", {"firstname": "Ilze", "time_zone": "Europe/Riga"})
    contact = Contact.objects.get()
    assert response.status_code == 302
    assert (contact.time_zone, contact.time_offset) == ("Europe/Riga", 3 * 3600)
    assert "Europe/Riga (UTC+03:00)" in owner_web.get(response["Location"]).content.decode()
    time_machine.move_to("2026-12-01 12:00Z")
    assert "Europe/Riga (UTC+02:00)" in owner_web.get(response["Location"]).content.decode()


def test_unknown_time_zone_changes_nothing(scoped, owner_web):
    response = owner_web.post("/contacts/new/", {"firstname": "X", "time_zone": "Mars/Olympus"})
    assert response.status_code == 200 and not Contact.objects.exists()
    with pytest.raises(actions.ActionError, match="Unknown time zone: Mars/Olympus"):
        actions.create_contact(scoped, firstname="X", time_zone="Mars/Olympus")
    assert not Contact.objects.exists()


def test_edit_contact_keeps_a_derived_name_following(scoped, owner_web):
    contact = actions.create_contact(scoped, firstname="Ada", lastname="Byron",
                                     emails=["ada@example.com"])
    form = owner_web.get(f"/contacts/{contact.public_id}/edit/").context["form"]
    data = {**{k: v for k, v in form.initial.items() if isinstance(v, str | int)},
            "lastname": "Lovelace"}
    response = owner_web.post(f"/contacts/{contact.public_id}/edit/", data)
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.system_name == "Ada Lovelace"
    assert contact.email_list() == ["ada@example.com"]
    assert contact.history.last().kind == ContactEvent.Kind.UPDATED


def test_duplicate_email_names_its_contact_and_changes_nothing(scoped, owner_web, customer):
    other = actions.create_contact(scoped, firstname="Bob", emails=["bob@example.com"])
    response = owner_web.post(f"/contacts/{other.public_id}/edit/", {
        "firstname": "Robert", "emails": "bob@example.com\nCLEO@example.com",
    })
    assert response.status_code == 200
    page = response.content.decode()
    assert "cleo@example.com already belongs to" in page
    assert f'href="/contacts/{customer.public_id}/"' in page
    assert "Cleo Customer" in page
    other.refresh_from_db()
    assert (other.firstname, other.email_list()) == ("Bob", ["bob@example.com"])

    owner_web.post("/contacts/new/", {"firstname": "Copy", "emails": "cleo@example.com"})
    assert Contact.objects.count() == 2


def test_bad_input_is_a_form_error(scoped, owner_web):
    response = owner_web.post("/contacts/new/", {"firstname": "X", "emails": "not-an-address"})
    assert response.status_code == 200
    assert "Not an e-mail address: not-an-address" in response.content.decode()
    response = owner_web.post("/contacts/new/", {"firstname": "X", "time_offset": "soon"})
    assert response.status_code == 200 and not Contact.objects.exists()


def test_list_searches_filters_and_pages(scoped, owner_web):
    group = actions.save_contact_group(scoped, name="Press")
    acme = actions.create_company(scoped, name="Acme")
    for number in range(55):
        actions.create_contact(scoped, firstname=f"Person{number:02d}",
                               emails=[f"p{number}@example.com"])
    actions.create_contact(scoped, firstname="Zed", emails=["zed@news.test"], groups=[group])
    actions.create_contact(scoped, firstname="Yan", company=acme)

    first = owner_web.get("/contacts/")
    assert len(first.context["page"]) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert len(owner_web.get("/contacts/?page=2").context["page"]) == 7

    def names(query):
        return [c.firstname for c in owner_web.get(f"/contacts/?{query}").context["page"]]

    assert names("q=NEWS.test") == ["Zed"]
    assert names("q=person07") == ["Person07"]
    assert names(f"group={group.public_id}") == ["Zed"]
    assert names(f"company={acme.public_id}") == ["Yan"]

    partial = owner_web.get("/contacts/?q=zed", HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode() and "Zed" in partial.content.decode()


def test_agent_sees_only_the_tickets_they_may_see(scoped, owner, agent, customer, agent_web):
    sales = ticket_actions.save_department(scoped, name="Sales", agents=[agent])
    ticket_actions.open_ticket(scoped, "Quote for sales", "Price?", customer, department=sales)
    ticket_actions.open_ticket(scoped, "Secret board matter", "Hush", customer)

    agent_page = agent_web.get(f"/contacts/{customer.public_id}/")
    assert "Quote for sales" in agent_page.content.decode()
    assert "Secret board matter" not in agent_page.content.decode()
    assert agent_page.context["ticket_count"] == 1
    owner_page = host_client(scoped, owner).get(f"/contacts/{customer.public_id}/")
    assert owner_page.context["ticket_count"] == 2


def test_merge_moves_tickets_and_shows_in_both_histories(scoped, owner_web, customer, ticket):
    duplicate = actions.create_contact(scoped, firstname="Cleo", emails=["cleo@home.test"])
    moved = ticket_actions.open_ticket(scoped, "Second", "Again", duplicate)

    picker = owner_web.get(f"/contacts/{customer.public_id}/merge/?q=home.test")
    assert list(picker.context["candidates"]) == [duplicate]
    confirm = owner_web.get(f"/contacts/{customer.public_id}/merge/?other={duplicate.public_id}")
    assert "Merge contacts?" in confirm.content.decode()
    assert Ticket.objects.get(pk=moved.pk).owner == duplicate  # nothing happens before POST

    response = owner_web.post(f"/contacts/{customer.public_id}/merge/",
                              {"other": duplicate.public_id})
    assert response.status_code == 302
    assert set(Ticket.objects.filter(owner=customer)) == {ticket, moved}
    customer.refresh_from_db()
    assert "cleo@home.test" in customer.email_list()

    kept = owner_web.get(f"/contacts/{customer.public_id}/").content.decode()
    assert "Another contact was merged into this one" in kept
    assert f"/contacts/{duplicate.public_id}/" in kept
    gone = owner_web.get(f"/contacts/{duplicate.public_id}/").content.decode()
    assert "Merged into another contact" in gone
    assert "This contact was merged into" in gone
    assert f"/contacts/{customer.public_id}/" in gone
    # The tombstone is no longer listed or offered.
    assert duplicate not in owner_web.get("/contacts/").context["page"].object_list
    again = owner_web.post(f"/contacts/{duplicate.public_id}/merge/",
                           {"other": customer.public_id})
    assert again.status_code == 302
    assert Contact.objects.get(pk=customer.pk).merged_into is None


def test_merge_refuses_itself(scoped, owner_web, customer):
    owner_web.post(f"/contacts/{customer.public_id}/merge/", {"other": customer.public_id})
    assert not customer.history.filter(kind=ContactEvent.Kind.MERGED_IN).exists()


def test_delete_keeps_or_trashes_tickets(scoped, owner_web, customer, ticket):
    keeper = actions.create_contact(scoped, firstname="Keeper", emails=["k@example.com"])
    kept = ticket_actions.open_ticket(scoped, "Stays", "Hi", keeper)
    assert owner_web.post(f"/contacts/{keeper.public_id}/delete/").status_code == 302
    kept.refresh_from_db()
    assert kept.status == Status.NEW and kept.owner_name == "Keeper"

    owner_web.post(f"/contacts/{customer.public_id}/delete/", {"delete_tickets": "on"})
    ticket.refresh_from_db()
    assert ticket.status == Status.DELETED
    assert not Contact.objects.exists()


def test_agent_cannot_trash_tickets_out_of_sight(scoped, agent_web, customer, ticket):
    response = agent_web.post(f"/contacts/{customer.public_id}/delete/",
                              {"delete_tickets": "on"})
    assert response.status_code == 200
    assert "departments you do not belong to" in response.content.decode()
    assert Contact.objects.filter(pk=customer.pk).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_archived_tag_cannot_be_added_to_a_contact(scoped, owner_web, customer):
    archived = ticket_actions.save_tag(scoped, name="Old", is_archived=True)
    response = owner_web.post(f"/contacts/{customer.public_id}/edit/", {
        "firstname": "Cleo", "emails": "cleo@example.com", "tags": [archived.public_id],
    })
    assert response.status_code == 200
    assert not customer.tags.exists()


def test_companies_and_groups(scoped, owner_web, customer):
    response = owner_web.post("/companies/new/", {"name": "Acme", "emails": "info@acme.test"})
    company = Company.objects.get()
    assert response["Location"] == f"/companies/{company.public_id}/"
    actions.update_contact(customer, company=company)
    page = owner_web.get(f"/companies/{company.public_id}/").content.decode()
    assert "Cleo Customer" in page
    assert "Acme" in owner_web.get("/companies/?q=acm").content.decode()
    owner_web.post(f"/companies/{company.public_id}/", {"name": "Acme Group"})
    company.refresh_from_db()
    assert company.system_name == "Acme Group"
    owner_web.post(f"/companies/{company.public_id}/delete/")
    assert not Company.objects.exists()
    customer.refresh_from_db()
    assert customer.company is None

    owner_web.post("/contacts/groups/new/", {"name": "VIP", "color": "#ffffff"})
    group = ContactGroup.objects.get()
    assert "VIP" in owner_web.get("/contacts/groups/").content.decode()
    bad = owner_web.post(f"/contacts/groups/{group.public_id}/", {"name": "VIP", "color": "red"})
    assert bad.status_code == 200 and "#RRGGBB" in bad.content.decode()
    owner_web.post("/contacts/groups/new/", {"name": "Press"})
    clash = owner_web.post(f"/contacts/groups/{group.public_id}/", {"name": "Press"})
    assert "exists already" in clash.content.decode()
    assert ContactGroup.objects.get(pk=group.pk).name == "VIP"
    owner_web.post(f"/contacts/groups/{group.public_id}/delete/")
    assert list(ContactGroup.objects.values_list("name", flat=True)) == ["Press"]


@pytest.mark.parametrize("payload", XSS)
def test_stored_xss_renders_inert(scoped, owner_web, payload):
    actions.save_custom_field(scoped, target="contact", code="xss", name=payload)
    group = actions.save_contact_group(scoped, name=payload)
    company = actions.create_company(scoped, name=payload)
    contact = actions.create_contact(
        scoped, firstname=payload, note=payload, company=company, groups=[group],
        custom_fields={"xss": payload},
    )
    for path in (f"/contacts/{contact.public_id}/", f"/contacts/{contact.public_id}/edit/",
                 "/contacts/", "/companies/", f"/companies/{company.public_id}/",
                 "/contacts/groups/", f"/contacts/{contact.public_id}/delete/",
                 f"/contacts/{contact.public_id}/merge/?q=a"):
        body = owner_web.get(path).content.decode()
        assert payload not in body, path


def test_pages_need_a_login(account, customer):
    response = host_client(account).get(f"/contacts/{customer.public_id}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_contact_pages_are_isolated(two_tenants):
    with scope(account=two_tenants.a):
        company = actions.create_company(two_tenants.a, name="Alpha Ltd")
        contact = actions.create_contact(two_tenants.a, firstname="Alpha", company=company)
        group = actions.save_contact_group(two_tenants.a, name="Alpha group")
        ticket_actions.open_ticket(two_tenants.a, "Alpha ticket", "Hi", contact)
        other = actions.create_contact(two_tenants.a, firstname="Other")
    for path in (f"/contacts/{contact.public_id}/", f"/contacts/{contact.public_id}/edit/",
                 f"/contacts/{contact.public_id}/merge/", f"/contacts/{contact.public_id}/delete/",
                 f"/companies/{company.public_id}/", f"/companies/{company.public_id}/delete/",
                 f"/contacts/groups/{group.public_id}/",
                 f"/contacts/groups/{group.public_id}/delete/"):
        two_tenants.assert_isolated(path)
    # Writes from B with A's ids change nothing.
    client_b = two_tenants.client_b()
    assert client_b.post(f"/contacts/{contact.public_id}/merge/",
                         {"other": other.public_id}).status_code == 404
    assert client_b.post(f"/contacts/{contact.public_id}/delete/",
                         {"delete_tickets": "on"}).status_code == 404
    # B's own contact cannot pick A's contact to merge.
    with scope(account=two_tenants.b):
        beta = actions.create_contact(two_tenants.b, firstname="Beta")
    client_b.post(f"/contacts/{beta.public_id}/merge/", {"other": contact.public_id})
    with scope(account=two_tenants.a):
        assert Contact.objects.get(pk=contact.pk).merged_into is None
        assert Ticket.objects.get().status == Status.NEW
    with scope(account=two_tenants.b):
        assert not ContactEvent.objects.filter(kind=ContactEvent.Kind.MERGED_IN).exists()
    assert list(client_b.get("/contacts/?q=Alpha").context["page"]) == []


def test_custom_field_types_round_trip(scoped, owner_web, customer):
    for code, kind in (("n", "number"), ("d", "date"), ("c", "checkbox")):
        actions.save_custom_field(scoped, target="contact", code=code, name=code.upper(),
                                  type=kind)
    owner_web.post(f"/contacts/{customer.public_id}/edit/", {
        "firstname": "Cleo", "lastname": "Customer", "emails": "cleo@example.com",
        "cf_n": "12.50", "cf_d": "2026-01-31", "cf_c": "on",
    })
    customer.refresh_from_db()
    assert customer.custom_fields == {"n": "12.5", "d": "2026-01-31", "c": "1"}
    form = owner_web.get(f"/contacts/{customer.public_id}/edit/").context["form"]
    assert form.initial["cf_c"] is True and form.initial["cf_d"] == "2026-01-31"
    owner_web.post(f"/contacts/{customer.public_id}/edit/", {
        "firstname": "Cleo", "lastname": "Customer", "emails": "cleo@example.com",
    })
    customer.refresh_from_db()
    assert customer.custom_fields == {}
    assert CustomField.objects.count() == 3
    agent_only = make_user(scoped, "new@acme.test")
    assert host_client(scoped, agent_only).get("/contacts/").status_code == 200
