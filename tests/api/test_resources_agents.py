"""Agents (API §11), departments (§12), users (§25), time zones (§23) and page visits (§20)
against their field tables, with their documented errors and two-tenant isolation."""

from __future__ import annotations

import pytest
from django.test import Client
from django_scopes import scope

from saruna.accounts.models import User, UserSession
from saruna.chat import actions as chat_actions
from saruna.chat.models import AgentAvailability
from saruna.contacts import actions as contacts
from saruna.core.models import AuditEvent
from saruna.tickets import actions as tickets
from saruna.visitors.models import PageVisit, Visitor, VisitSession
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check
from tests.factories import make_user

pytestmark = pytest.mark.django_db

AGENT = {
    "id": F("string"), "name": F("string", required=True, nonempty=True),
    "email": F("string", required=True, nonempty=True),
    "role": F("string", enum=("owner", "admin", "agent")), "roleId": F("string"),
    "avatar_url": F("string"), "online_status": F("string", enum=tuple("FNPC")),
    "status": F("string", enum=("A", "X")), "gender": F("string", enum=("M", "F", "X")),
    "last_pswd_change": F("date-time"), "twofactor_auth": F("string", enum=("Y", "N")),
    "voice_status": F("string", enum=("F", "N")), "sip_phone_id": F("string"),
    "api_phone_id": F("string"),
}
AGENT_STATUS = {"departmentid": F("string"), "online_status": F("string"),
                "preset_status": F("string"), "work_allocation_allowed": F("boolean")}
ACTIVITY = {"id": F("string"), "agent_status": F("string", enum=("A", "B")),
            "active_tickets": F("array", items={
                "ticket_id": F("string"), "ticket_code": F("string"),
                "date_joined": F("date-time"), "department_id": F("string"),
                "status": F("string", enum=tuple("VJRC")),
                "ticket_status": F("string", enum=tuple("CRAXTP"))})}
DEPARTMENT = {"department_id": F("string"), "agent_count": F("number"), "name": F("string"),
              "online_status": F("string"), "agent_ids": F("array", items=F("string")),
              "mailaccount_id": F("string")}
USER = {"id": F("string"), "name": F("string"), "email": F("string"),
        "role": F("string", enum=("owner", "admin", "agent", "visitor", "ext_admin",
                                  "reg_visitor", "system", "unknown_role")),
        "avatar_url": F("string")}
PAGE_VISIT = {"browser": F("string"), "date_visit": F("date-time"), "title": F("string"),
              "url": F("string"), "referrerurl": F("string")}


@pytest.fixture
def sales(account, owner, agent):
    with scope(account=account):
        department = tickets.save_department(account, name="Sales", agents=[owner, agent])
        chat_actions.set_agent_status(agent, "online")
    return department


def test_list_and_get_agents(api, owner, agent, sales):
    rows = assert_ok(api.get("/agents"))
    for row in rows:
        check(row, AGENT)
    by_id = {r["id"]: r for r in rows}
    assert by_id[owner.pk]["role"] == "owner" and by_id[owner.pk]["online_status"] == "F"
    assert by_id[agent.pk]["online_status"] == "N"
    assert assert_ok(api.get(f"/agents/{agent.pk}")) == by_id[agent.pk]
    assert assert_ok(api.get("/agents/me"))["id"] == owner.pk
    online = assert_ok(api.get("/agents", {"_filters": '[["online_status", "E", "N"]]'}))
    assert [r["id"] for r in online] == [agent.pk]
    named = assert_ok(api.get("/agents", {"_filters": '[["name", "LIKE", "%gen%"]]'}))
    assert [r["id"] for r in named] == [agent.pk]


def test_deleted_agents_are_listed_only_when_asked(api, account, owner, agent):
    assert assert_ok(api.delete(f"/agents/{agent.pk}")) == {}
    assert [r["id"] for r in assert_ok(api.get("/agents"))] == [owner.pk]
    deleted = assert_ok(api.get("/agents", {"_filters": '{"status": "X"}'}))
    assert [(r["id"], r["status"]) for r in deleted] == [(agent.pk, "X")]
    assert assert_ok(api.delete(f"/agents/{agent.pk}")) == {}  # again: a no-op


def test_delete_unassigns_open_tickets_and_refuses_the_owner(api, account, owner, agent):
    with scope(account=account):
        customer = contacts.create_contact(account, firstname="C", emails=["c@example.com"])
        ticket = tickets.open_ticket(account, "Help", "Hi", customer, agent=agent)
    assert_error(api.delete(f"/agents/{owner.pk}"), 409)
    assert_ok(api.delete(f"/agents/{agent.pk}"))
    with scope(account=account):
        ticket.refresh_from_db()
        assert ticket.agent is None
        assert not User.objects.get(pk=agent.pk).is_active
        assert AuditEvent.objects.filter(verb="agent.deleted", actor_type="api_key").exists()


def test_put_as_the_client_sends_it_changes_the_name_and_never_the_role(api, owner, agent):
    body = {"name": "Ada Agent", "email": agent.email, "role": "agent", "gender": "X",
            "twofactor_auth": "N"}
    changed = assert_ok(api.put(f"/agents/{agent.pk}", body))
    check(changed, AGENT)
    assert changed["name"] == "Ada Agent"
    same_owner = assert_ok(api.put(f"/agents/{owner.pk}", {**body, "name": "Olga",
                                                           "email": owner.email}))
    assert same_owner["role"] == "owner"
    assert_error(api.put(f"/agents/{agent.pk}", {"name": "", "email": agent.email}), 400)


def test_put_writes_the_login_address_avatar_and_gender_and_tells_the_old_address(
        api, account, owner, agent, mailoutbox, django_capture_on_commit_callbacks):
    body = {"name": "Ada", "email": "Ada@New.test", "avatar_url": "https://cdn.test/ada.png",
            "gender": "F", "role": "admin", "roleId": "r1", "voice_status": "N"}
    with django_capture_on_commit_callbacks(execute=True):
        changed = assert_ok(api.put(f"/agents/{agent.pk}", body))
    assert (changed["email"], changed["avatar_url"], changed["gender"], changed["role"]) == (
        "ada@new.test", "https://cdn.test/ada.png", "F", "agent")
    # Clients send gender X by default: it keeps what was set.
    assert assert_ok(api.put(f"/agents/{agent.pk}", {"gender": "X"}))["gender"] == "F"
    told = [m for m in mailoutbox if m.to == ["agent@acme.test"]]
    assert len(told) == 1 and "ada@new.test" in told[0].body
    with scope(account=account):
        assert AuditEvent.objects.filter(verb="user.email_changed").count() == 1


@pytest.mark.parametrize("body, status, named", [
    ({"email": "not an address"}, 400, "email"),
    ({"email": "owner@acme.test"}, 409, "email"),
    ({"avatar_url": "javascript:alert(1)"}, 400, "avatar_url"),
    ({"gender": "Q"}, 400, "gender"),
])
def test_a_bad_agent_change_is_refused_and_changes_nothing(api, account, agent, body, status,
                                                           named):
    assert_error(api.put(f"/agents/{agent.pk}", {"name": "Renamed", **body}), status, named)
    with scope(account=account):
        assert User.objects.get(pk=agent.pk).full_name == agent.full_name


def test_only_the_owner_moves_the_owners_login(account, owner, agent):
    admin = make_user(account, "admin@acme.test", role="admin")
    as_admin = ApiClient(account, make_key(account, user=admin))
    assert_error(as_admin.put(f"/agents/{owner.pk}", {"email": "mine@evil.test"}), 403, "owner")
    as_owner = ApiClient(account, make_key(account, user=owner))
    assert assert_ok(as_owner.put(f"/agents/{owner.pk}", {"email": "boss@acme.test"}))[
        "email"] == "boss@acme.test"


def test_status_activity_pause_and_logout(api, account, agent, sales):
    statuses = assert_ok(api.get(f"/agents/{agent.pk}/status"))
    assert len(statuses) == 1
    check(statuses[0], AGENT_STATUS)
    assert statuses[0] == {"departmentid": sales.public_id, "online_status": "RMT",
                           "preset_status": "RMT", "work_allocation_allowed": True}
    activity = assert_ok(api.get("/agents/activity"))
    assert [a["id"] for a in activity] == [agent.pk]
    check(activity[0], ACTIVITY)
    assert activity[0]["agent_status"] == "A" and activity[0]["active_tickets"] == []

    assert assert_ok(api.post(f"/agents/{agent.pk}/_pause")) == {}
    assert assert_ok(api.get(f"/agents/{agent.pk}"))["online_status"] == "P"
    assert assert_ok(api.get("/agents/activity")) == []
    with scope(account=account):
        UserSession.objects.create(account=account, user=agent, session_key="s1", device="d")
    assert assert_ok(api.post(f"/agents/{agent.pk}/_logout")) == {}
    assert assert_ok(api.post(f"/agents/{agent.pk}/_logout")) == {}  # idempotent
    assert assert_ok(api.get(f"/agents/{agent.pk}"))["online_status"] == "F"
    with scope(account=account):
        assert UserSession.objects.get().ended_at is not None
        assert AgentAvailability.objects.get(user=agent).status == "offline"


def test_agent_errors_and_privileges(api, account, agent):
    assert_error(api.get("/agents/nobody00"), 404)
    assert_error(api.put(f"/agents/{agent.pk}/status", {}), 501, "Not implemented")
    assert_error(api.get("/agents", {"_filters": '[["gender", "E", "X"]]'}), 400, "gender")
    assert_error(api.get("/agents", {"_sortField": "online"}), 400)
    reader = ApiClient(account, make_key(account, read_only=True, user=agent))
    assert_ok(reader.get("/agents"))
    assert_error(reader.post(f"/agents/{agent.pk}/_pause"), 403)
    assert_error(reader.delete(f"/agents/{agent.pk}"), 403)
    own = ApiClient(account, make_key(account, scopes=["agent.own"], user=agent))
    assert assert_ok(own.get("/agents/me"))["id"] == agent.pk
    assert_error(own.get("/agents"), 403)


def test_departments(api, account, owner, agent, sales):
    rows = assert_ok(api.get("/departments"))
    for row in rows:
        check(row, DEPARTMENT)
    by_id = {r["department_id"]: r for r in rows}
    assert "default" in by_id
    assert by_id[sales.public_id]["agent_count"] == 2
    assert sorted(by_id[sales.public_id]["agent_ids"]) == sorted([owner.pk, agent.pk])
    assert by_id[sales.public_id]["online_status"] == "RMT"
    assert by_id["default"]["online_status"] == ""
    assert assert_ok(api.get(f"/departments/{sales.public_id}")) == by_id[sales.public_id]
    assert assert_ok(api.get(f"/departments/{sales.public_id}/{agent.pk}")) == {}
    assert_error(api.get(f"/departments/default/{agent.pk}"), 404)
    assert_error(api.get("/departments/nothere1"), 404)
    assert_ok(api.get("/departments", {"_page": 1, "_perPage": 500}))
    named = assert_ok(api.get("/departments", {"_filters": '[["name", "L", "sal"]]'}))
    assert [r["department_id"] for r in named] == [sales.public_id]


def test_users(api, account, owner):
    with scope(account=account):
        customer = contacts.create_contact(account, firstname="Cleo", emails=["c@example.com"])
    system = assert_ok(api.get("/users/system00"))
    assert system == [{"id": "system00", "name": "System", "email": None, "role": "system",
                       "avatar_url": None}]
    (me,) = assert_ok(api.get("/users/me"))
    check(me, USER)
    assert (me["id"], me["role"]) == (owner.pk, "owner")
    (visitor,) = assert_ok(api.get(f"/users/{customer.public_id}"))
    check(visitor, USER)
    assert (visitor["role"], visitor["email"]) == ("visitor", "c@example.com")
    assert_error(api.get("/users/nobody00"), 404)


def test_time_zones_need_no_key(account):
    response = Client(HTTP_HOST=account.host).get("/api/v3/time_zones")
    rows = assert_ok(response)
    for row in rows:
        check(row, {"code": F("string"), "name": F("string")})
    codes = [r["code"] for r in rows]
    assert "Europe/Bratislava" in codes and "UTC" in codes
    utc = next(r for r in rows if r["code"] == "UTC")
    assert utc["name"] == "(UTC+00:00) UTC"
    offsets = [r["name"][4:10] for r in rows]
    assert offsets[0].startswith("-") and offsets[-1].startswith("+")


def _visits(account, contact):
    with scope(account=account):
        visitor = Visitor.objects.create(account=account, contact=contact)
        session = VisitSession.objects.create(account=account, visitor=visitor)
        for n in range(3):
            PageVisit.objects.create(account=account, session=session, visitor=visitor,
                                     url=f"https://shop.example.com/{n}", title=f"Page {n}",
                                     referrer="https://search.example.com/" if n == 0 else "")
    return session


def test_page_visits(api, account):
    with scope(account=account):
        contact = contacts.create_contact(account, firstname="Cleo", emails=["c@example.com"])
        lonely = contacts.create_contact(account, firstname="Nobody")
    session = _visits(account, contact)
    rows = assert_ok(api.get(f"/page_visits/{contact.public_id}/contact"))
    assert [r["title"] for r in rows] == ["Page 0", "Page 1", "Page 2"]
    for row in rows:
        check(row, PAGE_VISIT)
    assert rows[0]["browser"] == session.public_id
    assert rows[0]["referrerurl"] == "https://search.example.com/"
    assert [r["title"] for r in assert_ok(api.get(
        f"/page_visits/{contact.public_id}/contact",
        {"_sortField": "title", "_sortDir": "DESC", "_perPage": 2}))] == ["Page 2", "Page 1"]
    assert assert_ok(api.get(f"/page_visits/{lonely.public_id}/contact")) == []
    assert_error(api.get("/page_visits/nothere1/contact"), 404)
    assert_error(api.get(f"/page_visits/{contact.public_id}/contact", {"_perPage": -1}), 400)


def test_another_tenants_agents_departments_users_and_visits_are_404(api_pair, two_tenants):
    a, b = api_pair
    with scope(account=two_tenants.a):
        department = tickets.save_department(two_tenants.a, name="Alpha",
                                             agents=[two_tenants.agent_a])
        contact = contacts.create_contact(two_tenants.a, firstname="Alpha")
    _visits(two_tenants.a, contact)
    agent_id = two_tenants.agent_a.pk
    for path in (f"/agents/{agent_id}", f"/agents/{agent_id}/status",
                 f"/departments/{department.public_id}", f"/users/{agent_id}",
                 f"/users/{contact.public_id}", f"/page_visits/{contact.public_id}/contact"):
        assert_ok(a.get(path))
        assert_error(b.get(path), 404)
    for path in (f"/agents/{agent_id}/_pause", f"/agents/{agent_id}/_logout"):
        assert_error(b.post(path), 404)
    assert_error(b.delete(f"/agents/{agent_id}"), 404)
    assert agent_id not in {r["id"] for r in assert_ok(b.get("/agents"))}
    with scope(account=two_tenants.a):
        assert User.objects.get(pk=agent_id).is_active
