from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope

from saruna.accounts.models import Invitation, User, UserSession
from saruna.core.models import AuditEvent
from tests.factories import PASSWORD, make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(account):
    return make_user(account, "admin@acme.test", role="admin", full_name="Ada Admin")


def reload(user: User) -> User:
    with scope(account=user.account):
        return User.objects.get(pk=user.pk)


def roles(account):
    with scope(account=account):
        return dict(User.objects.values_list("email", "role"))


def log_in(account, user):
    client = host_client(account)
    assert client.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
    return client


# --- The users page ----------------------------------------------------------------------


def test_users_page_lists_people_invitations_and_seats(account, owner, agent, owner_client):
    make_user(account, "gone@acme.test", full_name="Gone Person", is_active=False)
    with scope(account=account):
        Invitation.objects.create(account=account, email="invited@acme.test",
                                  expires_at=timezone.now() + timedelta(days=3))
    seen = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    with time_machine.travel(seen, tick=False):
        log_in(account, agent)
    agent.totp_enabled = True
    agent.save()

    response = owner_client.get("/users/")
    assert response.status_code == 200
    page = response.content.decode()
    for text in ("owner@acme.test", "agent@acme.test", "Gone Person", "Deactivated",
                 "invited@acme.test", seen.strftime("%Y-%m-%d %H:%M"), "<td>On</td>"):
        assert text in page, text
    # Owner + agent active + one open invitation = 3 of the plan's 5 seats.
    assert "Seats used: 3 of 5" in page


def test_agent_gets_403_on_every_management_page(account, owner, agent):
    client = host_client(account, agent)
    for path in ("/users/", "/users/invite/", f"/users/{owner.pk}/", "/audit/",
                 f"/users/{owner.pk}/transfer/"):
        assert client.get(path).status_code == 403, path
    for path in (f"/users/{owner.pk}/deactivate/", f"/users/{owner.pk}/role/"):
        assert client.post(path, {"role": "agent"}).status_code == 403, path
    assert reload(owner).is_active and reload(owner).role == "owner"


def test_user_detail_and_its_actions_are_isolated_between_tenants(two_tenants):
    agent = two_tenants.agent_a
    two_tenants.assert_isolated(f"/users/{agent.pk}/")
    two_tenants.assert_isolated(f"/users/{agent.pk}/transfer/")
    # B's owner cannot touch A's agent through any action either.
    client_b = two_tenants.client_b()
    for path, data in [
        (f"/users/{agent.pk}/role/", {"role": "admin"}),
        (f"/users/{agent.pk}/deactivate/", {}),
        (f"/users/{agent.pk}/reactivate/", {}),
        (f"/users/{agent.pk}/transfer/", {"password": PASSWORD}),
    ]:
        assert client_b.post(path, data).status_code == 404, path
    agent = reload(agent)
    assert agent.role == "agent" and agent.is_active


# --- Roles -------------------------------------------------------------------------------


def test_admin_promotes_and_demotes_an_agent(account, owner, agent, admin):
    client = host_client(account, admin)
    response = client.post(f"/users/{agent.pk}/role/", {"role": "admin"})
    assert response["Location"] == f"/users/{agent.pk}/"
    assert reload(agent).role == "admin"
    client.post(f"/users/{agent.pk}/role/", {"role": "agent"})
    assert reload(agent).role == "agent"
    with scope(account=account):
        event = AuditEvent.objects.filter(verb="user.role_changed").first()
    assert event.details == {"previous": "admin", "role": "agent"}
    assert event.actor_user == admin


@pytest.mark.parametrize(("target", "role", "message"), [
    ("owner", "agent", "The owner&#x27;s role changes only when ownership is transferred."),
    ("agent", "owner", "Select a valid choice."),
    ("admin", "agent", "You cannot change your own role."),
])
def test_refused_role_changes_change_nothing(account, owner, agent, admin, target, role,
                                             message):
    person = {"owner": owner, "agent": agent, "admin": admin}[target]
    before = roles(account)
    response = host_client(account, admin).post(f"/users/{person.pk}/role/", {"role": role})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert roles(account) == before


# --- Ownership ---------------------------------------------------------------------------


def test_owner_transfers_ownership_with_password(account, owner, agent, owner_client):
    page = owner_client.get(f"/users/{agent.pk}/transfer/")
    assert page.status_code == 200
    response = owner_client.post(f"/users/{agent.pk}/transfer/", {"password": PASSWORD})
    assert response["Location"] == "/users/"
    assert roles(account) == {"owner@acme.test": "admin", "agent@acme.test": "owner"}
    with scope(account=account):
        assert User.objects.filter(role="owner").count() == 1
        assert AuditEvent.objects.filter(verb="account.ownership_transferred",
                                         target_id=agent.pk).exists()
    # The former owner, now an admin, can no longer transfer it back.
    assert owner_client.get(f"/users/{agent.pk}/transfer/").status_code == 403


def test_transfer_with_wrong_password_changes_nothing(account, owner, agent, owner_client):
    before = roles(account)
    response = owner_client.post(f"/users/{agent.pk}/transfer/", {"password": "wrong"})
    assert response.status_code == 200
    assert "Your password is not correct." in response.content.decode()
    assert roles(account) == before


def test_admin_cannot_transfer_ownership(account, owner, agent, admin):
    before = roles(account)
    client = host_client(account, admin)
    assert client.post(f"/users/{agent.pk}/transfer/", {"password": PASSWORD}).status_code == 403
    assert roles(account) == before


def test_ownership_cannot_go_to_a_deactivated_user(account, owner, owner_client):
    gone = make_user(account, "gone@acme.test", is_active=False)
    before = roles(account)
    response = owner_client.post(f"/users/{gone.pk}/transfer/", {"password": PASSWORD})
    assert "Ownership can only go to an active user." in response.content.decode()
    assert roles(account) == before


# --- Deactivation ------------------------------------------------------------------------


def test_deactivating_logs_the_user_out_and_frees_the_seat(account, owner, agent, owner_client):
    agent_browser = log_in(account, agent)
    assert agent_browser.get("/").status_code == 200
    assert "Seats used: 2 of 5" in owner_client.get("/users/").content.decode()

    response = owner_client.post(f"/users/{agent.pk}/deactivate/")
    assert response["Location"] == f"/users/{agent.pk}/"
    agent = reload(agent)
    assert not agent.is_active and agent.deactivated_at is not None
    assert agent_browser.get("/").status_code == 302
    response = host_client(account).post("/login/", {"email": agent.email, "password": PASSWORD})
    assert "The e-mail or password is not correct." in response.content.decode()
    with scope(account=account):
        session = UserSession.objects.get(user=agent)
        assert AuditEvent.objects.filter(verb="user.deactivated", target_id=agent.pk).exists()
    assert session.end_reason == UserSession.EndReason.DEACTIVATED
    assert "Seats used: 1 of 5" in owner_client.get("/users/").content.decode()


@pytest.mark.parametrize(("who", "target", "message"), [
    ("admin", "owner", "The owner cannot be deactivated."),
    ("admin", "admin", "You cannot deactivate yourself."),
])
def test_refused_deactivations_change_nothing(account, owner, admin, who, target, message):
    people = {"owner": owner, "admin": admin}
    client = host_client(account, people[who])
    response = client.post(f"/users/{people[target].pk}/deactivate/")
    assert response.status_code == 200
    assert message in response.content.decode()
    assert reload(people[target]).is_active


def test_reactivation_respects_the_seat_limit(account, owner, agent, owner_client):
    owner_client.post(f"/users/{agent.pk}/deactivate/")
    for n in range(4):  # owner + 4 = the plan's 5 seats
        make_user(account, f"a{n}@acme.test")
    response = owner_client.post(f"/users/{agent.pk}/reactivate/")
    assert response.status_code == 200
    assert "Your plan has 5 seats and all of them are in use." in response.content.decode()
    assert not reload(agent).is_active

    owner_client.post(f"/users/{reload(agent).pk}/deactivate/")  # already off: refused, no-op
    with scope(account=account):
        freed = User.objects.get(email="a0@acme.test")
    owner_client.post(f"/users/{freed.pk}/deactivate/")
    response = owner_client.post(f"/users/{agent.pk}/reactivate/")
    assert response["Location"] == f"/users/{agent.pk}/"
    agent = reload(agent)
    assert agent.is_active and agent.deactivated_at is None
    assert log_in(account, agent).get("/").status_code == 200
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="user.reactivated").exists()
