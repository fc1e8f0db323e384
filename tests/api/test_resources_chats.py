"""Chats (API §16) and saved ticket filters (§19) against their field tables, with their
documented errors and two-tenant isolation."""

from __future__ import annotations

import pytest
from django_scopes import scope

from saruna.chat import actions as chat_actions
from saruna.tickets import actions as tickets
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check
from tests.chat.helpers import make_button, put_online, start

pytestmark = pytest.mark.django_db

CHAT = {
    "id": F("string"), "subject": F("string"), "preview": F("string"),
    "chat_order": F("date-time"), "date_created": F("date-time"),
    "status_date_started": F("date-time"), "tags": F("array", items=F("string")),
    "rstatus": F("string", enum=("I", "T", "R")), "firstname": F("string"),
    "lastname": F("string"), "system_name": F("string"), "avatar_url": F("string"),
    "countrycode": F("string"), "city": F("string"), "departmentId": F("string"),
    "agentId": F("string"), "status": F("string", enum=("C", "T", "R", "Q")),
    "emails": F("array", items=F("string")),
}
CONDITION = {k: F("string") for k in ("field_id", "section_code", "code", "operator", "value")}
FILTER = {"filter_id": F("string"), "name": F("string"), "description": F("string"),
          "filter_type": F("string"), "user_id": F("string"), "rtype": F("string"),
          "is_public": F("boolean"), "user_ids": F("array", items=F("string")),
          "department_ids": F("array", items=F("string")),
          "conditions": F("array", items=CONDITION)}


@pytest.fixture
def chats(account, agent):
    put_online(agent)
    button = make_button(account)
    first = start(button, "Where is my parcel?")
    second = start(button, "Hello there", client_id="second")
    with scope(account=account):
        chat_actions.accept_ring(first, agent)
        first.refresh_from_db()
        chat_actions.post_agent_message(first, agent, "a1", "Let me check")
    return first, second


def test_list_chats(api, agent, chats):
    first, second = chats
    rows = assert_ok(api.get("/chats"))
    for row in rows:
        check(row, CHAT)
    by_id = {r["id"]: r for r in rows}
    one = by_id[first.ticket.public_id]
    assert (one["status"], one["rstatus"], one["agentId"]) == ("C", "T", agent.pk)
    assert one["preview"] == "Let me check"
    assert one["departmentId"] == "default"
    two = by_id[second.ticket.public_id]
    assert two["status"] in ("Q", "R") and two["rstatus"] == "I" and two["agentId"] is None
    chatting = assert_ok(api.get("/chats", {"_filters": '[["status", "E", "C"]]'}))
    assert [r["id"] for r in chatting] == [first.ticket.public_id]
    mine = assert_ok(api.get("/chats", {"_filters": f'{{"agentId": "{agent.pk}"}}'}))
    assert [r["id"] for r in mine] == [first.ticket.public_id]
    recent = assert_ok(api.get("/chats", {
        "_filters": '[["date_created", ">=", "2000-01-01 00:00:00"]]', "_sortDir": "DESC",
        "_perPage": 1}))
    assert [r["id"] for r in recent] == [second.ticket.public_id]


def test_chat_errors(api, account):
    assert_error(api.get("/chats", {"_filters": '[["subject", "E", "x"]]'}), 400, "subject")
    assert_error(api.get("/chats", {"_filters": '[["date_created", ">=", "soon"]]'}), 400)
    assert_error(api.get("/chats", {"_sortField": "preview"}), 400, "preview")
    tickets_only = ApiClient(account, make_key(account, scopes=["ticket.read"]))
    assert_error(tickets_only.get("/chats"), 403, "chats.read")


def test_filters_are_the_inbox_presets(api, account, owner):
    with scope(account=account):
        tag = tickets.save_tag(account, name="VIP")
        tickets.save_tag(account, name="Old", is_archived=True)
    rows = assert_ok(api.get("/filters"))
    for row in rows:
        check(row, FILTER)
    ids = [r["filter_id"] for r in rows]
    assert {"mine", "unassigned", "all", "overdue", "status:N", f"tag:{tag.public_id}"} <= set(
        ids)
    assert not any(i.startswith("tag:") and i != f"tag:{tag.public_id}" for i in ids)
    mine = assert_ok(api.get("/filters/mine"))
    assert mine["rtype"] == "P" and mine["is_public"] is True
    assert {"section_code": "ticket", "code": "agentid", "operator": "E", "value": owner.pk,
            "field_id": None} in mine["conditions"]
    assert [r["name"] for r in assert_ok(api.get("/filters", {"_perPage": 2}))] == sorted(
        [r["name"] for r in rows], key=str.lower)[:2]
    assert_error(api.put("/filters/mine", {"name": "Mine!"}), 409)
    assert_error(api.delete("/filters/mine"), 409)
    assert_error(api.get("/filters/nothere"), 404)
    assert_error(api.get("/filters", {"_sortField": "rtype"}), 400)


def test_another_tenants_chats_and_filters_are_invisible(api_pair, two_tenants):
    a, b = api_pair
    put_online(two_tenants.agent_a)
    chat = start(make_button(two_tenants.a), "Alpha hello")
    with scope(account=two_tenants.a):
        department = tickets.save_department(two_tenants.a, name="Alpha")
    assert [r["id"] for r in assert_ok(a.get("/chats"))] == [chat.ticket.public_id]
    assert assert_ok(b.get("/chats")) == []
    assert_ok(a.get(f"/filters/department:{department.public_id}"))
    assert_error(b.get(f"/filters/department:{department.public_id}"), 404)
