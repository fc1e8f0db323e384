import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail, signing
from django.utils import timezone
from django_scopes import scope

from saruna.accounts.models import Invitation, User, UserSession
from saruna.core.models import Account, AuditEvent
from tests.factories import make_account, make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "lighthouse keeper 1907"


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return lambda: django_capture_on_commit_callbacks(execute=True)


def invite(client, capture, email="new@acme.test", role="agent"):
    with capture():
        return client.post("/users/invite/", {"email": email, "role": role})


def invitation_path(message) -> str:
    match = re.search(r"http://acme\.saruna\.test(/invitation/\S+/)", message.body)
    assert match, message.body
    return match.group(1)


def accept(account, path, **overrides):
    data = {"full_name": "New Person", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD,
            "adult": "on", **overrides}
    return host_client(account).post(path, data)


def state(account):
    """What refused input must leave untouched."""
    with scope(account=account):
        return (
            User.objects.count(),
            sorted(Invitation.objects.values_list("email", "revoked_at", "accepted_at",
                                                  "expires_at")),
            len(mail.outbox),
        )


def test_owner_invites_agent_who_accepts_and_is_logged_in(account, owner, owner_client, capture):
    response = invite(owner_client, capture, email="New@Acme.test")
    assert response["Location"] == "/users/"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@acme.test"]
    assert "Acme" in mail.outbox[0].subject
    path = invitation_path(mail.outbox[0])
    with scope(account=account):
        invitation = Invitation.objects.get()
        assert invitation.is_open and invitation.invited_by == owner
        assert invitation.expires_at - timezone.now() > timedelta(days=6, hours=23)

    client = host_client(account)
    page = client.get(path)
    assert page.status_code == 200 and "new@acme.test" in page.content.decode()
    response = client.post(path, {"full_name": "New Person", "password1": GOOD_PASSWORD,
                                  "password2": GOOD_PASSWORD, "adult": "on"})
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    with scope(account=account):
        user = User.objects.get(email="new@acme.test")
        assert user.role == "agent" and user.full_name == "New Person"
        assert user.adult_confirmed_at is not None and user.check_password(GOOD_PASSWORD)
        assert Invitation.objects.get().accepted_at is not None
        assert UserSession.objects.filter(user=user, ended_at__isnull=True).exists()
        verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"invitation.sent", "invitation.accepted", "auth.login"} <= verbs
    # The link is used up.
    again = host_client(account).get(path)
    assert again.status_code == 410
    assert "already been used" in again.content.decode()


def test_invited_admin_becomes_admin(account, owner, owner_client, capture):
    invite(owner_client, capture, email="boss@acme.test", role="admin")
    accept(account, invitation_path(mail.outbox[0]))
    with scope(account=account):
        assert User.objects.get(email="boss@acme.test").role == "admin"


def test_invite_as_owner_is_not_offered(account, owner, owner_client, capture):
    before = state(account)
    response = invite(owner_client, capture, role="owner")
    assert "Select a valid choice" in response.content.decode()
    assert state(account) == before


def test_agents_cannot_invite(account, owner, agent, capture):
    client = host_client(account, agent)
    before = state(account)
    assert invite(client, capture).status_code == 403
    assert client.get("/users/").status_code == 403
    assert state(account) == before


def test_unverified_account_cannot_invite(db, capture):
    account = make_account("fresh", status=Account.Status.UNVERIFIED)
    owner = make_user(account, "owner@fresh.test", role="owner")
    client = host_client(account, owner)
    before = state(account)
    response = invite(client, capture, email="a@fresh.test")
    assert response.status_code == 200
    assert "Confirm your account&#x27;s e-mail address first" in response.content.decode()
    assert state(account) == before


def test_seat_limit_counts_users_and_open_invitations(account, owner, owner_client, capture):
    # The test plan has 5 seats: owner + 2 agents + 2 open invitations fill it.
    make_user(account, "a1@acme.test")
    make_user(account, "a2@acme.test")
    invite(owner_client, capture, email="i1@acme.test")
    invite(owner_client, capture, email="i2@acme.test")
    before = state(account)
    response = invite(owner_client, capture, email="i3@acme.test")
    content = response.content.decode()
    assert "Your plan has 5 seats and all of them are in use." in content
    assert state(account) == before

    # Revoking an invitation frees its seat.
    with scope(account=account):
        first = Invitation.objects.get(email="i1@acme.test")
    owner_client.post(f"/users/invitations/{first.pk}/revoke/")
    assert invite(owner_client, capture, email="i3@acme.test")["Location"] == "/users/"


def test_expired_invitations_free_their_seat(account, owner, owner_client, capture):
    for n in range(4):
        invite(owner_client, capture, email=f"i{n}@acme.test")
    assert "all of them are in use" in invite(owner_client, capture).content.decode()
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        assert invite(owner_client, capture)["Location"] == "/users/"


def test_email_of_an_active_user_is_refused(account, owner, agent, owner_client, capture):
    before = state(account)
    response = invite(owner_client, capture, email="AGENT@acme.test")
    assert "agent@acme.test is already a user of this account." in response.content.decode()
    assert state(account) == before


def test_email_of_a_deactivated_user_is_refused(account, owner, owner_client, capture):
    old = make_user(account, "old@acme.test", is_active=False)
    before = state(account)
    response = invite(owner_client, capture, email="old@acme.test")
    assert "reactivate them instead" in response.content.decode()
    assert f'href="/users/{old.pk}/"' in response.content.decode()
    assert state(account) == before


def test_second_invitation_to_same_email_offers_resend(account, owner, owner_client, capture):
    invite(owner_client, capture)
    before = state(account)
    response = invite(owner_client, capture)
    content = response.content.decode()
    assert "already has an open invitation" in content
    with scope(account=account):
        invitation = Invitation.objects.get()
    assert f"/users/invitations/{invitation.pk}/resend/" in content
    assert state(account) == before


def test_resend_mails_a_fresh_link_and_extends_the_expiry(account, owner, owner_client, capture):
    invite(owner_client, capture)
    with scope(account=account):
        invitation = Invitation.objects.get()
    later = timezone.now() + timedelta(days=5)
    with time_machine.travel(later):
        with capture():
            response = owner_client.post(f"/users/invitations/{invitation.pk}/resend/")
        assert response["Location"] == "/users/"
    assert len(mail.outbox) == 2
    with scope(account=account):
        invitation.refresh_from_db()
    assert invitation.expires_at > later + timedelta(days=6)
    # The new link still works after the first one's week is over.
    with time_machine.travel(timezone.now() + timedelta(days=10)):
        response = accept(account, invitation_path(mail.outbox[1]))
        assert response["Location"] == "/"


def test_revoked_invitation_link_is_refused(account, owner, owner_client, capture):
    invite(owner_client, capture)
    with scope(account=account):
        invitation = Invitation.objects.get()
    response = owner_client.post(f"/users/invitations/{invitation.pk}/revoke/")
    assert response["Location"] == "/users/"
    before = state(account)
    response = accept(account, invitation_path(mail.outbox[0]))
    assert response.status_code == 410
    assert "withdrawn" in response.content.decode()
    assert state(account) == before
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="invitation.revoked").exists()


def test_expired_invitation_link_is_refused(account, owner, owner_client, capture):
    invite(owner_client, capture)
    path = invitation_path(mail.outbox[0])
    with time_machine.travel(timezone.now() + timedelta(days=7, minutes=1)):
        before = state(account)
        response = accept(account, path)
        assert response.status_code == 410
        assert "expired" in response.content.decode()
        assert state(account) == before


def test_tampered_or_foreign_invitation_links_are_refused(two_tenants, capture):
    with capture():
        two_tenants.client_a().post("/users/invite/", {"email": "x@alpha.test", "role": "admin"})
    path = re.search(r"(/invitation/\S+/)", mail.outbox[0].body).group(1)
    token = path.split("/")[2]
    data = {"full_name": "X", "password1": GOOD_PASSWORD, "password2": GOOD_PASSWORD,
            "adult": "on"}
    with scope(account=two_tenants.a):
        invitation = Invitation.objects.get()
    forged = signing.dumps({"a": two_tenants.a.pk, "i": invitation.pk}, salt="another purpose")
    for bad_path, host in [
        (f"/invitation/{token[:-2]}xx/", two_tenants.a),  # signature broken
        (f"/invitation/{forged}/", two_tenants.a),  # signed for something else
        (path, two_tenants.b),  # A's invitation on B's host
    ]:
        response = host_client(host).post(bad_path, data)
        assert response.status_code == 400, bad_path
        assert "not valid" in response.content.decode()
    for account in (two_tenants.a, two_tenants.b):
        with scope(account=account):
            assert not User.objects.filter(email="x@alpha.test").exists()


@pytest.mark.parametrize(("overrides", "message"), [
    ({"adult": ""}, "You must be 18 or older to use Saruna."),
    ({"password1": "short", "password2": "short"}, "This password is too short"),
    ({"password2": "something else entirely"}, "The two passwords are different."),
    ({"full_name": "  "}, "This field is required."),
])
def test_accept_form_refuses_bad_input(account, owner, owner_client, capture, overrides, message):
    invite(owner_client, capture)
    path = invitation_path(mail.outbox[0])
    before = state(account)
    response = accept(account, path, **overrides)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert state(account) == before
    with scope(account=account):
        assert Invitation.objects.get().is_open


def test_revoke_and_resend_are_isolated_between_tenants(two_tenants, capture):
    with capture():
        two_tenants.client_a().post("/users/invite/", {"email": "x@alpha.test", "role": "agent"})
    with scope(account=two_tenants.a):
        invitation = Invitation.objects.get()
    with capture():
        two_tenants.assert_isolated(f"/users/invitations/{invitation.pk}/resend/", method="post")
        two_tenants.assert_isolated(f"/users/invitations/{invitation.pk}/revoke/", method="post")
    with scope(account=two_tenants.a):
        invitation.refresh_from_db()
    assert invitation.revoked_at is not None  # by A's owner, not by B's


def test_revoking_twice_says_it_is_no_longer_open(account, owner, owner_client, capture):
    invite(owner_client, capture)
    with scope(account=account):
        invitation = Invitation.objects.get()
    owner_client.post(f"/users/invitations/{invitation.pk}/revoke/")
    before = state(account)
    response = owner_client.post(f"/users/invitations/{invitation.pk}/revoke/", follow=True)
    assert "This invitation is no longer open." in response.content.decode()
    assert state(account) == before
    response = owner_client.post(f"/users/invitations/{invitation.pk}/resend/", follow=True)
    assert "no longer open: invite the person again" in response.content.decode()
    assert state(account) == before


def test_an_accepted_agent_sees_the_default_departments_tickets(
    account, owner, owner_client, capture
):
    from saruna.contacts.actions import find_or_create_contact_by_email
    from saruna.tickets import queries
    from saruna.tickets.actions import open_ticket

    invite(owner_client, capture)
    assert accept(account, invitation_path(mail.outbox[0])).status_code == 302
    with scope(account=account):
        customer, _ = find_or_create_contact_by_email(account, "customer@example.com")
        ticket = open_ticket(account, "Where is my parcel?", "Hello", customer)
        agent = User.objects.get(email="new@acme.test")
        assert list(queries.visible_tickets(agent)) == [ticket]
