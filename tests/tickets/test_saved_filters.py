"""The inbox's "Save this view": what an agent looks at now, kept under a name in the left
column, private or shared, and removable by whoever may change it."""

import pytest
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.tickets import actions
from saruna.tickets.models import SavedFilter
from tests.factories import make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(account, owner, agent):
    with scope(account=account):
        contact = contacts.create_contact(account, firstname="Ann", emails=["ann@x.test"])
        tag = actions.save_tag(account, name="Refund")
        actions.open_ticket(account, "Refund for order 12", "Body", contact, tags=[tag])
        actions.open_ticket(account, "Refund question", "Body", contact)
        actions.open_ticket(account, "Where is my parcel", "Body", contact, tags=[tag])
    return tag


def test_a_saved_view_keeps_the_view_and_the_search(account, owner, desk):
    browser = host_client(account, owner)
    response = browser.post("/inbox/views/", {"name": "Refunds about orders",
                                              "view": f"tag:{desk.public_id}", "q": "order"})
    with scope(account=account):
        saved = SavedFilter.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/inbox/?view=filter:{saved.public_id}"
    page = browser.get(response["Location"]).content.decode()
    assert "Refunds about orders" in page
    assert "Refund for order 12" in page
    assert "Refund question" not in page  # no tag
    assert "Where is my parcel" not in page  # tagged, but not found by the search


def test_a_private_view_is_its_makers_and_a_shared_one_everyones(account, agent, owner, desk):
    other = make_user(account, "other@acme.test", role="agent")
    maker = host_client(account, agent)
    maker.post("/inbox/views/", {"name": "Just mine", "view": "all"})
    maker.post("/inbox/views/", {"name": "For the team", "view": "all", "is_public": "on"})
    others_page = host_client(account, other).get("/inbox/").content.decode()
    assert "For the team" in others_page and "Just mine" not in others_page
    with scope(account=account):
        team = SavedFilter.objects.get(name="For the team")
    # Another agent may not delete it; its maker may.
    assert host_client(account, other).post(
        f"/inbox/views/{team.public_id}/delete/").status_code == 404
    assert maker.post(f"/inbox/views/{team.public_id}/delete/").status_code == 302
    with scope(account=account):
        assert list(SavedFilter.objects.values_list("name", flat=True)) == ["Just mine"]


def test_a_view_without_a_name_or_the_overdue_view_is_not_saved(account, agent, desk):
    browser = host_client(account, agent)
    for form in ({"name": "", "view": "all"}, {"name": "Late", "view": "overdue"}):
        response = browser.post("/inbox/views/", form, follow=True)
        assert "cannot be saved" in response.content.decode()
    with scope(account=account):
        assert not SavedFilter.objects.exists()


def test_another_tenants_view_is_not_reachable(two_tenants):
    two_tenants.client_a().post("/inbox/views/", {"name": "Alpha view", "view": "all",
                                                  "is_public": "on"})
    with scope(account=two_tenants.a):
        saved = SavedFilter.objects.get()
    b = two_tenants.client_b()
    assert "Alpha view" not in b.get("/inbox/").content.decode()
    assert b.get(f"/inbox/?view=filter:{saved.public_id}").status_code == 200
    assert b.post(f"/inbox/views/{saved.public_id}/delete/").status_code == 404
