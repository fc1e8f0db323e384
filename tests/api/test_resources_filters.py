"""Custom saved ticket filters (API §19, ``rtype`` C): made over the API, seen by whom they
are shared with, applied in the inbox exactly like ``GET /tickets`` applies the same
conditions."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.tickets import actions as tickets
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_chats import FILTER
from tests.api.test_resources_contract import assert_error, assert_ok, check
from tests.factories import make_user
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db

VIP_OPEN = [
    {"code": "status", "operator": "IN", "value": "N,C"},
    {"code": "tags", "operator": "CY", "value": "TAG"},
]


@pytest.fixture
def vip(account, owner):
    with scope(account=account):
        tag = tickets.save_tag(account, name="VIP")
        contact = contacts.create_contact(account, firstname="Ann", emails=["ann@x.test"])
        made = {subject: tickets.open_ticket(account, subject, "Body", contact,
                                             tags=[tag] if tagged else [], status=status)
                for subject, tagged, status in (("VIP new", True, "N"), ("Plain new", False, "N"),
                                                ("VIP later", True, "P"))}
    return tag, made


def conditions_for(tag):
    return [{**c, "value": tag.public_id} if c["code"] == "tags" else c for c in VIP_OPEN]


def test_a_custom_filter_is_created_read_changed_and_deleted(api, owner, vip):
    tag, _made = vip
    made = assert_ok(api.post("/filters", {"name": "VIP waiting", "description": "Ours",
                                           "conditions": conditions_for(tag)}))
    check(made, FILTER)
    assert made["rtype"] == "C" and made["user_id"] == owner.pk and made["is_public"] is False
    assert made["conditions"][1] == {"field_id": None, "section_code": "ticket",
                                     "code": "tags", "operator": "CY", "value": tag.public_id}
    assert assert_ok(api.get(f"/filters/{made['filter_id']}")) == made
    listed = assert_ok(api.get("/filters", {"_filters": json.dumps([["rtype", "E", "C"]])}))
    assert [r["filter_id"] for r in listed] == [made["filter_id"]]

    changed = assert_ok(api.put(f"/filters/{made['filter_id']}",
                                {"name": "VIP", "is_public": True}))
    assert changed["name"] == "VIP" and changed["is_public"] is True
    assert changed["conditions"] == made["conditions"]  # not sent: kept
    assert assert_ok(api.delete(f"/filters/{made['filter_id']}")) == {}
    assert_error(api.get(f"/filters/{made['filter_id']}"), 404)


@pytest.mark.parametrize("body, named", [
    ({"name": ""}, "name"),
    ({"name": "x", "conditions": [{"code": "colour", "operator": "E", "value": "red"}]},
     "colour"),
    ({"name": "x", "conditions": [{"code": "status", "operator": "CY", "value": "N"}]}, "CY"),
    ({"name": "x", "conditions": [{"code": "custom_field", "operator": "E", "value": "1"}]},
     "custom"),
    ({"name": "x", "user_ids": ["nobody"]}, "nobody"),
])
def test_bad_filters_are_refused_and_nothing_is_saved(api, body, named):
    assert_error(api.post("/filters", body), 400, named)
    assert not [r for r in assert_ok(api.get("/filters")) if r["rtype"] == "C"]


def test_sharing_decides_who_sees_and_only_the_creator_or_a_manager_changes(
        account, owner, agent, vip):
    other = make_user(account, "other@acme.test", role="agent")
    as_owner = ApiClient(account, make_key(account, user=owner))
    as_agent = ApiClient(account, make_key(account, user=agent))
    as_other = ApiClient(account, make_key(account, user=other))
    private = assert_ok(as_agent.post("/filters", {"name": "Mine only"}))
    shared = assert_ok(as_agent.post("/filters", {"name": "For other",
                                                  "user_ids": [other.pk]}))
    assert shared["user_ids"] == [other.pk]

    def custom(client):
        return {r["name"] for r in assert_ok(client.get("/filters")) if r["rtype"] == "C"}

    assert custom(as_agent) == {"Mine only", "For other"}
    assert custom(as_other) == {"For other"}
    assert custom(as_owner) == set()  # neither theirs, public nor shared with them
    assert_error(as_other.get(f"/filters/{private['filter_id']}"), 404)
    assert_error(as_other.put(f"/filters/{shared['filter_id']}", {"name": "Taken"}), 403)
    assert assert_ok(as_agent.get(f"/filters/{shared['filter_id']}"))["name"] == "For other"
    assert_error(as_agent.delete("/filters/mine"), 409)


def test_another_tenant_cannot_see_or_touch_a_custom_filter(api_pair):
    a, b = api_pair
    made = assert_ok(a.post("/filters", {"name": "Alpha", "is_public": True}))
    assert_error(b.get(f"/filters/{made['filter_id']}"), 404)
    assert_error(b.delete(f"/filters/{made['filter_id']}"), 404)
    assert "Alpha" not in {r["name"] for r in assert_ok(b.get("/filters"))}


def test_the_inbox_shows_a_filter_made_over_the_api_with_the_tickets_the_api_lists(
        api, owner, vip):
    tag, _tickets = vip
    conditions = conditions_for(tag)
    made = assert_ok(api.post("/filters", {"name": "VIP waiting", "conditions": conditions}))
    through_api = assert_ok(api.get("/tickets", {"_filters": json.dumps(
        [[c["code"], c["operator"], c["value"]] for c in conditions])}))
    assert [t["subject"] for t in through_api] == ["VIP new"]

    page = host_client(owner.account, owner).get(
        f"/inbox/?view=filter:{made['filter_id']}").content.decode()
    assert "VIP waiting" in page  # in the left column
    assert "VIP new" in page
    assert "Plain new" not in page and "VIP later" not in page

