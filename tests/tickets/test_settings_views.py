"""The help desk's settings pages: departments, tags, canned messages, predefined answers and
custom fields — who may use them, what they save, and that bad input changes nothing."""

import pytest
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.contacts.models import CustomField
from saruna.tickets import actions
from saruna.tickets.models import CannedMessage, Department, PredefinedAnswer, Tag
from tests.factories import make_user
from tests.tenancy import host_client

ADMIN_ONLY = ["/settings/departments/", "/settings/departments/new/", "/settings/tags/",
              "/settings/tags/new/", "/settings/answers/", "/settings/answers/new/",
              "/settings/custom-fields/", "/settings/custom-fields/new/"]


@pytest.fixture
def owner_web(account, owner):
    return host_client(account, owner)


@pytest.fixture
def agent_web(account, agent):
    return host_client(account, agent)


def test_agents_get_403_on_admin_pages(scoped, agent_web):
    for path in ADMIN_ONLY:
        assert agent_web.get(path).status_code == 403, path
    tag = actions.save_tag(scoped, name="Keep")
    assert agent_web.post(f"/settings/tags/{tag.public_id}/delete/").status_code == 403
    assert agent_web.post("/settings/tags/new/", {"name": "Sneaky"}).status_code == 403
    assert list(Tag.objects.values_list("name", flat=True)) == ["Keep"]
    index = agent_web.get("/settings/").content.decode()
    assert "Canned messages" in index and "Departments" not in index


def test_admin_reaches_every_page(scoped, account, owner_web):
    admin = host_client(account, make_user(account, "admin@acme.test", role="admin"))
    for path in [*ADMIN_ONLY, "/settings/", "/settings/canned/"]:
        assert admin.get(path).status_code == 200, path
    assert "Settings" in owner_web.get("/settings/").content.decode()


def test_nav_shows_contacts_to_all_and_settings_to_managers(owner_web, agent_web):
    owner_nav = owner_web.get("/contacts/").content.decode()
    agent_nav = agent_web.get("/contacts/").content.decode()
    assert 'href="/contacts/"' in agent_nav and 'href="/settings/"' not in agent_nav
    assert 'href="/settings/"' in owner_nav


def test_department_crud_and_members(scoped, owner_web, owner, agent):
    response = owner_web.post("/settings/departments/new/",
                              {"name": "Sales", "agents": [agent.pk]})
    assert response.status_code == 302
    sales = Department.objects.get(name="Sales")
    assert list(sales.agents.all()) == [agent]
    listing = owner_web.get("/settings/departments/").content.decode()
    assert "Sales" in listing and "Default" in listing  # the default one is always there

    owner_web.post(f"/settings/departments/{sales.public_id}/", {"name": "Sales EU"})
    sales.refresh_from_db()
    assert sales.name == "Sales EU" and not sales.agents.exists()

    nameless = owner_web.post(f"/settings/departments/{sales.public_id}/", {"name": " "})
    assert nameless.status_code == 200 and "This field is required." in nameless.content.decode()
    assert Department.objects.get(pk=sales.pk).name == "Sales EU"

    assert owner_web.post(f"/settings/departments/{sales.public_id}/delete/").status_code == 302
    assert not Department.objects.filter(pk=sales.pk).exists()


def test_department_names_are_unique_ignoring_case(scoped, owner_web):
    actions.save_department(scoped, name="Sales")
    response = owner_web.post("/settings/departments/new/", {"name": "sales"})
    assert response.status_code == 200
    assert "This department exists already." in response.content.decode()
    assert list(Department.objects.filter(name__iexact="sales").values_list("name", flat=True)) == [
        "Sales"
    ]


def test_default_department_is_made_even_when_its_name_is_taken(scoped):
    taken = actions.save_department(scoped, name="Default")
    default = actions.default_department(scoped)
    assert default.public_id == "default" and default.pk != taken.pk
    assert default.name == "Default (default)"


def test_default_department_can_be_renamed_but_not_deleted(scoped, owner_web):
    default = actions.default_department(scoped)
    owner_web.post("/settings/departments/default/", {"name": "Support"})
    default.refresh_from_db()
    assert default.name == "Support"
    page = owner_web.get("/settings/departments/default/").content.decode()
    assert "/settings/departments/default/delete/" not in page
    response = owner_web.post("/settings/departments/default/delete/", follow=True)
    assert "The default department cannot be deleted." in response.content.decode()
    assert Department.objects.filter(public_id="default").exists()


def test_tags_colours_public_and_archived(scoped, owner_web, customer, ticket):
    owner_web.post("/settings/tags/new/", {"name": "VIP", "color": "#ffffff",
                                           "background_color": "#aa0000", "is_public": "on"})
    tag = Tag.objects.get()
    assert (tag.color, tag.background_color, tag.is_public, tag.is_archived) == (
        "#ffffff", "#aa0000", True, False)
    bad = owner_web.post(f"/settings/tags/{tag.public_id}/", {"name": "VIP", "color": "red;"})
    assert "#RRGGBB" in bad.content.decode()
    assert Tag.objects.get().color == "#ffffff"

    actions.add_tag(ticket, tag)
    owner_web.post(f"/settings/tags/{tag.public_id}/", {"name": "VIP", "is_archived": "on"})
    tag.refresh_from_db()
    assert tag.is_archived and not tag.is_public
    assert list(ticket.tags.all()) == [tag]  # stays where it was
    other = actions.open_ticket(scoped, "Another", "Hi", customer)
    with pytest.raises(actions.ActionError):
        actions.add_tag(other, tag)
    # ...and is not offered on a contact any more.
    form = owner_web.get(f"/contacts/{customer.public_id}/edit/").context["form"]
    assert tag not in form.fields["tags"].queryset

    owner_web.post(f"/settings/tags/{tag.public_id}/delete/")
    assert not Tag.objects.exists()


def test_agent_manages_own_canned_messages_only(scoped, account, agent, agent_web, owner):
    shared = actions.save_canned_message(scoped, messagetext="Shared hello")
    theirs = actions.save_canned_message(scoped, messagetext="Owner's own", user=owner)

    form = agent_web.get("/settings/canned/new/").context["form"]
    assert "owner" not in form.fields  # agents write messages of their own only
    agent_web.post("/settings/canned/new/", {"messagetext": "Hi {$contact_name}",
                                             "keywords": "hi", "owner": "shared"})
    mine = CannedMessage.objects.get(messagetext="Hi {$contact_name}")
    assert mine.user == agent

    listing = agent_web.get("/settings/canned/").content.decode()
    assert "Hi {$contact_name}" in listing
    assert "Shared hello" not in listing and "Owner&#x27;s own" not in listing
    for other in (shared, theirs):
        assert agent_web.get(f"/settings/canned/{other.public_id}/").status_code == 404
        assert agent_web.post(f"/settings/canned/{other.public_id}/delete/").status_code == 404
    assert CannedMessage.objects.count() == 3

    empty = agent_web.post(f"/settings/canned/{mine.public_id}/", {"messagetext": "   "})
    assert empty.status_code == 200
    mine.refresh_from_db()
    assert mine.messagetext == "Hi {$contact_name}"
    agent_web.post(f"/settings/canned/{mine.public_id}/delete/")
    assert not CannedMessage.objects.filter(pk=mine.pk).exists()


def test_admin_writes_shared_canned_messages(scoped, owner_web, owner):
    sales = actions.save_department(scoped, name="Sales")
    owner_web.post("/settings/canned/new/", {"messagetext": "For all", "owner": "shared",
                                             "department": sales.public_id})
    owner_web.post("/settings/canned/new/", {"messagetext": "For me", "owner": "me"})
    shared = CannedMessage.objects.get(messagetext="For all")
    assert (shared.user, shared.department) == (None, sales)
    assert CannedMessage.objects.get(messagetext="For me").user == owner


def test_predefined_answers(scoped, owner_web):
    owner_web.post("/settings/answers/new/", {
        "name": "Refund", "subject": "Your refund", "format": "H",
        "body": '<p>Done</p><script>alert(1)</script><img src=x onerror="alert(2)">',
    })
    answer = PredefinedAnswer.objects.get()
    assert "<script" not in answer.body and "onerror" not in answer.body
    assert "<p>Done</p>" in answer.body
    owner_web.post(f"/settings/answers/{answer.public_id}/",
                   {"name": "Refund", "body": "Plain", "format": "T"})
    answer.refresh_from_db()
    assert (answer.body, answer.format, answer.subject) == ("Plain", "T", "")
    owner_web.post(f"/settings/answers/{answer.public_id}/delete/")
    assert not PredefinedAnswer.objects.exists()


def test_custom_fields(scoped, owner_web, customer):
    response = owner_web.post("/settings/custom-fields/new/", {
        "target": "contact", "code": "plan", "name": "Plan", "type": "choice",
        "choices": "Gold\nSilver\n\nGold",
    })
    assert response.status_code == 302
    field = CustomField.objects.get()
    assert field.choices == ["Gold", "Silver"]
    no_choices = owner_web.post("/settings/custom-fields/new/", {
        "target": "ticket", "code": "x", "name": "X", "type": "choice"})
    assert "Enter at least one choice." in no_choices.content.decode()
    clash = owner_web.post("/settings/custom-fields/new/", {
        "target": "contact", "code": "plan", "name": "Again", "type": "text"})
    assert "exists already" in clash.content.decode()
    assert CustomField.objects.count() == 1

    # Code and target are fixed once values exist under them.
    owner_web.post(f"/settings/custom-fields/{field.public_id}/", {
        "target": "ticket", "code": "tier", "name": "Tier", "type": "text"})
    field.refresh_from_db()
    assert (field.target, field.code, field.name, field.type) == ("contact", "plan", "Tier",
                                                                 "text")
    contact_actions.update_contact(customer, custom_fields={"plan": "Gold"})
    owner_web.post(f"/settings/custom-fields/{field.public_id}/delete/")
    customer.refresh_from_db()
    assert not CustomField.objects.exists() and customer.custom_fields == {}


@pytest.mark.parametrize("payload", ['<script>alert("x")</script>',
                                     '"><img src=x onerror=alert(1)>'])
def test_stored_xss_renders_inert(scoped, owner_web, owner, payload):
    actions.save_department(scoped, name=payload)
    actions.save_tag(scoped, name=payload)
    actions.save_canned_message(scoped, messagetext=payload, keywords=payload)
    actions.save_predefined_answer(scoped, name=payload, subject=payload, body="x")
    contact_actions.save_custom_field(scoped, target="ticket", code="c", name=payload)
    for path in ("/settings/departments/", "/settings/tags/", "/settings/canned/",
                 "/settings/answers/", "/settings/custom-fields/"):
        assert payload not in owner_web.get(path).content.decode(), path


def test_settings_pages_are_isolated(two_tenants):
    a = two_tenants.a
    with scope(account=a):
        ids = {
            "departments": actions.save_department(a, name="Alpha sales").public_id,
            "tags": actions.save_tag(a, name="Alpha tag").public_id,
            "canned": actions.save_canned_message(a, messagetext="Alpha hi").public_id,
            "answers": actions.save_predefined_answer(a, name="Alpha", body="x").public_id,
            "custom-fields": contact_actions.save_custom_field(
                a, target="contact", code="alpha", name="Alpha").public_id,
        }
    for section, object_id in ids.items():
        two_tenants.assert_isolated(f"/settings/{section}/{object_id}/")
        two_tenants.assert_isolated(f"/settings/{section}/{object_id}/delete/")
        response = two_tenants.client_b().post(f"/settings/{section}/{object_id}/delete/")
        assert response.status_code == 404
    # B's default department is its own: renaming it leaves A's alone.
    two_tenants.client_b().post("/settings/departments/default/", {"name": "Beta desk"})
    with scope(account=a):
        assert Department.objects.get(public_id="default").name == "Default"
        assert Tag.objects.get().name == "Alpha tag"
    b_page = two_tenants.client_b().get("/settings/tags/").content.decode()
    assert "Alpha" not in b_page


MANAGERS_PAGES = ["/settings/forms/", "/settings/sla/", "/settings/chat/buttons/",
                  "/settings/chat/", "/settings/visitors/"]


def test_settings_index_links_the_managers_pages_for_managers_only(owner_client, agent):
    from tests.tenancy import host_client

    page = owner_client.get("/settings/").content.decode()
    for url in MANAGERS_PAGES:
        assert f'href="{url}"' in page
        assert owner_client.get(url).status_code == 200
    page = host_client(agent.account, agent).get("/settings/").content.decode()
    for url in MANAGERS_PAGES:
        assert f'href="{url}"' not in page
