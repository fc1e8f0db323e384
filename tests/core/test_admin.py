"""The provider's Django admin: base domain only, provider-owned models only."""

import pytest
from django.contrib import admin
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import SharingFinding, User
from saruna.core.models import Account, AuditEvent
from saruna.core.registry import GLOBAL_MODELS
from tests.factories import make_account, make_user
from tests.tenancy import host_client

# Tenant-owned models the provider may see in its admin, each with the reason.
ADMIN_EXCEPTIONS = {
    "accounts.user": "provider staff only (the queryset keeps account users out)",
    "accounts.sharingfinding": "findings are raised for the provider too (terms §2)",
    "auth.group": "Django's permission groups for staff",
}


@pytest.fixture
def staff(db):
    return make_user(None, "staff@provider.test")


@pytest.fixture
def admin_client(staff):
    return host_client(None, staff)


def test_admin_registers_only_provider_models():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - set(GLOBAL_MODELS) - set(ADMIN_EXCEPTIONS) == set()
    assert {"core.account", "core.plan", "core.outboundemail"} <= registered


def test_admin_is_not_served_on_an_account_host(account, owner, staff):
    for user in (None, owner, staff):
        response = host_client(account, user).get("/admin/")
        assert response.status_code == 404
    assert host_client(account).get("/admin/login/").status_code == 404


def test_admin_is_for_provider_staff_only(account, owner):
    response = host_client(None).get("/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    # An account's owner is nobody on the provider's site.
    response = host_client(None, owner).get("/admin/core/account/")
    assert response.status_code == 302


def test_admin_says_whose_it_is(db):
    response = host_client(None).get("/admin/login/")
    assert b"Saruna provider admin" in response.content


def test_account_list_search_and_support_link(admin_client):
    make_account("acme", name="Acme Ltd")
    make_account("globex", name="Globex", status=Account.Status.UNVERIFIED)
    response = admin_client.get("/admin/core/account/")
    assert response.status_code == 200
    assert b"Acme Ltd" in response.content and b"Globex" in response.content
    assert b"/provider/support/?account=acme" in response.content

    response = admin_client.get("/admin/core/account/", {"q": "glob"})
    assert b"Globex" in response.content and b"Acme Ltd" not in response.content
    response = admin_client.get("/admin/core/account/", {"status__exact": "unverified"})
    assert b"Globex" in response.content and b"Acme Ltd" not in response.content


def test_account_page_links_to_support_access_and_keeps_ids_read_only(admin_client):
    acme = make_account("acme")
    response = admin_client.get(f"/admin/core/account/{acme.pk}/change/")
    assert response.status_code == 200
    assert b"Open support access" in response.content
    assert b'name="id"' not in response.content
    assert b'name="slug"' not in response.content
    assert b'name="max_agents_override"' in response.content


def test_accounts_cannot_be_deleted_from_the_admin(admin_client):
    acme = make_account("acme")
    assert admin_client.get(f"/admin/core/account/{acme.pk}/delete/").status_code == 403


def test_suspend_and_reactivate_are_recorded_in_the_customers_audit_log(admin_client, staff):
    acme, globex = make_account("acme"), make_account("globex")
    admin_client.post(
        "/admin/core/account/", {"action": "suspend", "_selected_action": [acme.pk]}
    )
    acme.refresh_from_db()
    globex.refresh_from_db()
    assert acme.status == Account.Status.SUSPENDED
    assert globex.status == Account.Status.ACTIVE
    admin_client.post(
        "/admin/core/account/",
        {"action": "reactivate", "_selected_action": [acme.pk, globex.pk]},
    )
    acme.refresh_from_db()
    assert acme.status == Account.Status.ACTIVE
    with scope(account=acme):
        events = list(AuditEvent.objects.order_by("at", "id"))
    assert [e.verb for e in events] == ["account.suspended", "account.reactivated"]
    assert all(e.actor_type == AuditEvent.ActorType.STAFF for e in events)
    with scope(account=globex):
        assert not AuditEvent.objects.exists()


def test_seat_override_changes_the_seat_limit(admin_client):
    acme = make_account("acme")
    assert acme.max_agents == 5
    response = admin_client.post(
        f"/admin/core/account/{acme.pk}/change/",
        {
            "name": acme.name, "status": acme.status, "plan": acme.plan_id,
            "max_agents_override": 12, "time_zone": "UTC", "language": "en",
        },
    )
    assert response.status_code == 302, response.content
    acme.refresh_from_db()
    assert acme.max_agents == 12
    with scope(account=acme):
        event = AuditEvent.objects.get()
    assert event.verb == "account.seats_changed"
    assert event.details == {"max_agents_override": 12}


def test_staff_admin_lists_and_opens_provider_staff_only(admin_client, staff):
    acme = make_account("acme")
    owner = make_user(acme, "owner@acme.test", role="owner")
    response = admin_client.get("/admin/accounts/user/")
    assert b"staff@provider.test" in response.content
    assert b"owner@acme.test" not in response.content
    response = admin_client.get(f"/admin/accounts/user/{owner.pk}/change/")
    assert response.status_code == 302  # "does not exist", back to the admin index
    response = admin_client.get(f"/admin/accounts/user/{owner.pk}/password/")
    assert response.status_code == 404


def test_staff_admin_creates_provider_staff(admin_client):
    response = admin_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "New@Provider.test", "full_name": "New Colleague",
            "usable_password": "true",
            "password1": "a long enough passphrase", "password2": "a long enough passphrase",
        },
    )
    assert response.status_code == 302, response.content
    with scopes_disabled():
        user = User.objects.get(email="new@provider.test")
    assert user.account_id is None and user.is_staff and user.role == User.Role.STAFF


def test_sharing_findings_across_accounts_can_be_confirmed_or_dismissed(admin_client, staff):
    acme, globex = make_account("acme"), make_account("globex")
    agent = make_user(acme, "shared@acme.test")
    other = make_user(globex, "other@globex.test")
    with scopes_disabled():
        shared = SharingFinding.objects.create(
            account=acme, user=agent, kind=SharingFinding.Kind.CONCURRENT_DEVICES,
            evidence={"devices": 3},
        )
        harmless = SharingFinding.objects.create(
            account=globex, user=other, kind=SharingFinding.Kind.IMPOSSIBLE_TRAVEL,
        )
    response = admin_client.get("/admin/accounts/sharingfinding/")
    assert b"shared@acme.test" in response.content
    assert b"other@globex.test" in response.content
    response = admin_client.get(f"/admin/accounts/sharingfinding/{shared.pk}/change/")
    assert response.status_code == 200
    assert b"devices" in response.content

    admin_client.post(
        "/admin/accounts/sharingfinding/",
        {"action": "mark_confirmed", "_selected_action": [shared.pk]},
    )
    admin_client.post(
        "/admin/accounts/sharingfinding/",
        {"action": "mark_dismissed", "_selected_action": [harmless.pk]},
    )
    with scopes_disabled():
        shared.refresh_from_db()
        harmless.refresh_from_db()
    assert shared.status == SharingFinding.Status.CONFIRMED
    assert harmless.status == SharingFinding.Status.DISMISSED
    with scope(account=acme):
        event = AuditEvent.objects.get()
    assert event.verb == "sharing_finding.confirmed"
    assert event.actor_type == AuditEvent.ActorType.STAFF
