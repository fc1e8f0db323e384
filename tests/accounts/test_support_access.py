"""Provider support access (terms §2): staff reach an account's data only through an explicit,
time-limited grant with a reason that the customer sees in their audit log."""

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import time_machine
from django.contrib.auth import authenticate
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.accounts.models import SupportGrant, User
from saruna.core.models import AuditEvent
from tests.factories import PASSWORD, make_user
from tests.tenancy import host_client

BANNER = b"Provider support access is active"
REASON = "Customer asked us to check their mail settings (request #42)"


@pytest.fixture
def staff(db):
    return make_user(None, "staff@provider.test")


@pytest.fixture
def staff_client(staff):
    return host_client(None, staff)


def open_grant(staff_client, account, reason=REASON, minutes=60):
    """Submit the provider form; returns the entry path on the account's host."""
    response = staff_client.post(
        "/provider/support/", {"account": account.slug, "reason": reason, "minutes": minutes}
    )
    assert response.status_code == 302, response.content
    url = urlsplit(response["Location"])
    assert url.netloc == account.host
    assert url.path.startswith("/support/enter/")
    return url.path


def enter(account, entry_path):
    """The staff browser on the account's host (its own cookies, as a real browser has)."""
    client = host_client(account)
    response = client.get(entry_path)
    assert response.status_code == 302
    assert response["Location"] == "/"
    return client


def audit_verbs(account):
    with scope(account=account):
        return list(AuditEvent.objects.order_by("at", "id").values_list("verb", flat=True))


def test_staff_without_a_grant_gets_nothing_from_an_account(account, owner, staff):
    with scope(account=account):
        assert authenticate(None, username=staff.email, password=PASSWORD) is None
    client = host_client(account, staff)  # a session cookie for staff on the account's host
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_grant_opens_the_dashboard_with_a_banner_and_lands_in_the_audit_log(
    account, owner, staff, staff_client
):
    client = enter(account, open_grant(staff_client, account))
    response = client.get("/")
    assert response.status_code == 200
    assert BANNER in response.content
    assert b"staff@provider.test" in response.content
    with scope(account=account):
        event = AuditEvent.objects.get(verb="support_access.granted")
        grant = SupportGrant.objects.get()
    assert event.actor_type == AuditEvent.ActorType.STAFF
    assert event.actor_user == staff
    assert event.details["reason"] == REASON
    assert event.details["expires"] == grant.expires_at.isoformat()
    assert grant.expires_at - grant.created_at == timedelta(minutes=60)


def test_the_owner_sees_no_banner_without_a_grant(account, owner):
    response = host_client(account, owner).get("/")
    assert response.status_code == 200
    assert BANNER not in response.content


@pytest.mark.parametrize(
    ("reason", "minutes"),
    [("", 60), ("too short", 60), (REASON, 5), (REASON, 600), (REASON, "x")],
)
def test_grant_needs_a_reason_and_a_duration_from_15_minutes_to_8_hours(
    account, staff_client, reason, minutes
):
    response = staff_client.post(
        "/provider/support/", {"account": account.slug, "reason": reason, "minutes": minutes}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content
    with scopes_disabled():
        assert not SupportGrant.objects.exists()
    assert audit_verbs(account) == []


def test_grant_for_an_unknown_account_is_refused(db, staff_client):
    response = staff_client.post(
        "/provider/support/", {"account": "nosuch", "reason": REASON, "minutes": 60}
    )
    assert response.status_code == 200
    assert b"errorlist" in response.content


def test_the_form_can_be_preselected_from_the_admin(account, staff_client):
    response = staff_client.get("/provider/support/?account=acme")
    assert b'value="acme" selected' in response.content


def test_non_staff_cannot_open_the_provider_support_page(account, owner):
    anonymous = host_client(None)
    response = anonymous.get("/provider/support/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")

    not_staff = make_user(None, "intern@provider.test")
    with scopes_disabled():
        User.objects.filter(pk=not_staff.pk).update(is_staff=False, is_superuser=False)
    for user in (not_staff, owner):
        client = host_client(None, user)
        assert client.get("/provider/support/").status_code == 302
        response = client.post(
            "/provider/support/", {"account": "acme", "reason": REASON, "minutes": 60}
        )
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
    with scopes_disabled():
        assert not SupportGrant.objects.exists()


def test_access_stops_after_expiry_and_the_expiry_is_audited_once(
    account, staff, staff_client
):
    client = enter(account, open_grant(staff_client, account, minutes=15))
    assert client.get("/").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        response = client.get("/", follow=True)
        assert response.redirect_chain[0][0] == "/login/"
        assert b"Provider support access has ended." in response.content
        assert BANNER not in response.content
        response = client.get("/")
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")
    assert audit_verbs(account) == ["support_access.granted", "support_access.expired"]
    with scope(account=account):
        grant = SupportGrant.objects.get()
        expired = AuditEvent.objects.get(verb="support_access.expired")
    assert grant.ended_at == grant.expires_at
    assert expired.actor_type == AuditEvent.ActorType.SYSTEM
    assert expired.details["staff"] == staff.email


def test_a_grant_for_one_account_opens_nothing_on_another(two_tenants, staff_client):
    a, b = two_tenants.a, two_tenants.b
    entry_path = open_grant(staff_client, a)
    client = enter(a, entry_path)
    assert client.get("/").status_code == 200
    # The same session cookie presented on B's host is not a login there.
    response = client.get("/", HTTP_HOST=b.host)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert b"Alpha" not in response.content and b"Beta" not in response.content
    # Nor is A's entry link, whether fresh or used.
    response = host_client(b).get(open_grant(staff_client, a))
    assert response.status_code == 403
    response = host_client(b).get(entry_path)
    assert response.status_code == 403
    assert audit_verbs(b) == []


def test_the_entry_link_expires_and_cannot_be_replayed(account, staff_client):
    late_path = open_grant(staff_client, account)
    with time_machine.travel(timezone.now() + timedelta(seconds=121)):
        response = host_client(account).get(late_path)
    assert response.status_code == 403
    assert b"expired" in response.content

    entry_path = open_grant(staff_client, account)
    enter(account, entry_path)
    replay = host_client(account)
    response = replay.get(entry_path)
    assert response.status_code == 403
    assert replay.get("/").status_code == 302


def test_a_forged_token_is_refused(account):
    response = host_client(account).get("/support/enter/eyJncmFudCI6MX0:forged:sig/")
    assert response.status_code == 403


def test_leaving_ends_the_grant_and_returns_to_the_provider(account, staff, staff_client):
    client = enter(account, open_grant(staff_client, account))
    page = client.get("/support/leave/")
    assert page.status_code == 200
    assert b"<form method=\"post\"" in page.content
    assert REASON.encode() in page.content
    response = client.post("/support/leave/")
    assert response.status_code == 302
    assert response["Location"] == "http://saruna.test/provider/support/"
    assert client.get("/").status_code == 302
    assert audit_verbs(account) == ["support_access.granted", "support_access.ended"]
    with scope(account=account):
        ended = AuditEvent.objects.get(verb="support_access.ended")
        assert SupportGrant.objects.get().ended_at is not None
    assert ended.actor_type == AuditEvent.ActorType.STAFF
    assert ended.actor_user == staff


def test_an_ended_grant_stops_its_other_sessions(account, staff_client):
    entry_path = open_grant(staff_client, account)
    first = enter(account, entry_path)
    second = host_client(account)
    second.cookies = first.cookies.__class__(first.cookies)  # the same session, another tab
    first.post("/support/leave/")
    response = second.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_leave_without_a_grant_is_not_found(account, owner):
    assert host_client(account, owner).get("/support/leave/").status_code == 404


def test_a_deactivated_staff_member_loses_access_at_once(account, staff, staff_client):
    client = enter(account, open_grant(staff_client, account))
    with scopes_disabled():
        User.objects.filter(pk=staff.pk).update(is_active=False)
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_provider_lists_recent_grants_across_accounts(two_tenants, staff, staff_client):
    open_grant(staff_client, two_tenants.a, reason="Alpha cannot see its tickets")
    open_grant(staff_client, two_tenants.b, reason="Beta asked about invoices", minutes=15)
    response = staff_client.get("/provider/support/")
    assert response.status_code == 200
    assert b"Alpha cannot see its tickets" in response.content
    assert b"Beta asked about invoices" in response.content
    assert b"alpha" in response.content and b"beta" in response.content


def test_staff_can_reenter_their_own_running_grant_only(account, staff, staff_client):
    open_grant(staff_client, account)
    with scopes_disabled():
        grant = SupportGrant.objects.get()
    response = staff_client.post(f"/provider/support/{grant.pk}/enter/")
    assert response.status_code == 302
    enter(account, urlsplit(response["Location"]).path)

    colleague = host_client(None, make_user(None, "colleague@provider.test"))
    assert colleague.post(f"/provider/support/{grant.pk}/enter/").status_code == 404
    with time_machine.travel(grant.expires_at + timedelta(seconds=1)):
        assert staff_client.post(f"/provider/support/{grant.pk}/enter/").status_code == 404


def test_logging_out_of_a_support_session_ends_the_grant(account, staff_client):
    client = enter(account, open_grant(staff_client, account))
    assert client.post("/logout/").status_code == 302
    assert audit_verbs(account) == [
        "support_access.granted", "support_access.ended", "auth.logout"
    ]
    with scope(account=account):
        assert SupportGrant.objects.get().ended_at is not None


def test_the_hourly_sweep_records_an_unused_grant_as_expired_once(account, staff_client):
    from saruna.accounts.tasks import sweep_sessions

    open_grant(staff_client, account, minutes=15)  # granted, never entered
    sweep_sessions.call_local()
    assert audit_verbs(account) == ["support_access.granted"]
    with time_machine.travel(timezone.now() + timedelta(minutes=16), tick=False):
        sweep_sessions.call_local()
        sweep_sessions.call_local()
    assert audit_verbs(account) == ["support_access.granted", "support_access.expired"]
    with scope(account=account):
        grant = SupportGrant.objects.get()
    assert grant.ended_at == grant.expires_at
