"""API keys (API §21), billing status (§22) and the My account link (§24) against their
field tables, with their documented errors and two-tenant isolation."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest
import time_machine
from django.test import Client
from django_scopes import scope

from saruna.api.models import ApiKey
from saruna.billing.models import Subscription
from saruna.core.models import AuditEvent
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check

pytestmark = pytest.mark.django_db

API_KEY = {"id": F("number"), "key": F("string"), "valid_to_date": F("date-time"),
           "role": F("string"), "name": F("string"), "type": F("string", enum=tuple("ACPTW")),
           "installid": F("string"), "userid": F("string"), "whitelist": F("string")}
WITH_PRIVILEGES = {**API_KEY, "privileges": F("array", items={
    "object": F("string"), "privileges": F("array", items=F("string"))})}
BILLING = {"valid_to": F("integer"), "has_errors": F("boolean", required=True)}


def test_create_read_update_revoke(api, owner):
    created = assert_ok(api.post("/apikeys", {"privileges": [
        {"object": "ticket", "privileges": ["read", "create"]}]}))
    check(created, WITH_PRIVILEGES)
    secret = created["key"]
    assert len(secret) == 32 and created["type"] == "A" and created["whitelist"] == "*"
    assert created["name"] == f"API key {created['id']}"
    assert created["userid"] == owner.pk and created["role"] == "owner"
    assert created["privileges"] == [{"object": "ticket", "privileges": ["read", "create"]}]
    # The secret works, and is shown masked from now on.
    assert_ok(ApiClient(api.account, secret).get("/ping"))
    fetched = assert_ok(api.get(f"/apikeys/{created['id']}"))
    assert fetched == {**created, "key": "****" + secret[-4:]}
    assert assert_ok(api.get(f"/apikeys/{created['id']}.0")) == fetched

    changed = assert_ok(api.put(f"/apikeys/{created['id']}", {
        **fetched, "name": "ETL", "valid_to_date": "2099-01-01 00:00:00", "whitelist":
        "10.0.0.0/8", "privileges": [{"object": "contact", "privileges": ["read"]}],
        "type": "W", "userid": "someone"}))
    check(changed, WITH_PRIVILEGES)
    assert (changed["name"], changed["valid_to_date"], changed["whitelist"], changed["type"]) == (
        "ETL", "2099-01-01 00:00:00", "10.0.0.0/8", "A")
    assert changed["privileges"] == [{"object": "contact", "privileges": ["read"]}]
    assert assert_ok(api.delete(f"/apikeys/{created['id']}")) == {}
    assert_error(ApiClient(api.account, secret).get("/ping"), 401)
    assert_error(api.get(f"/apikeys/{created['id']}"), 404)
    with scope(account=api.account):
        verbs = set(AuditEvent.objects.filter(actor_type="api_key").values_list("verb",
                                                                                 flat=True))
    assert {"api_key.created", "api_key.changed", "api_key.revoked"} <= verbs


def test_list_is_cursor_paged_and_masked(api):
    for n in range(4):
        assert_ok(api.post("/apikeys", {"name": f"k{n}", "privileges": []}))
    response = api.get("/apikeys", {"_perPage": 3})
    first = assert_ok(response)
    assert len(first) == 3 and all(k["key"].startswith("****") for k in first)
    for row in first:
        check(row, API_KEY)
    cursor = response["next_page_cursor"]
    last = api.get("/apikeys", {"_perPage": 3, "_cursor": cursor})
    assert [k["name"] for k in assert_ok(last)] == ["k2", "k3"]
    assert "next_page_cursor" not in last
    named = assert_ok(api.get("/apikeys", {"_filters": '{"name": "k1"}'}))
    assert [k["name"] for k in named] == ["k1"]
    assert_error(api.get("/apikeys", {"_cursor": "garbage"}), 400)


def test_key_errors(api, account, agent):
    assert_error(api.get("/apikeys/abc"), 404)
    assert_error(api.get("/apikeys/999"), 404)
    assert_error(api.get("/apikeys/99999999999999999999999"), 404)
    assert_error(api.get("/apikeys/nan"), 404)
    assert_error(api.post("/apikeys", {"privileges": [{"object": "ticket",
                                                       "privileges": ["fly"]}]}), 400, "fly")
    assert_error(api.post("/apikeys", {"valid_to_date": "soon"}), 400, "valid_to_date")
    narrow = ApiClient(account, make_key(account, scopes=["api.write_own", "ticket.read"],
                                         user=agent))
    assert_error(narrow.post("/apikeys", {"privileges": [
        {"object": "ticket", "privileges": ["create"]}]}), 403, "ticket.create")
    own = assert_ok(narrow.post("/apikeys", {"privileges": [
        {"object": "ticket", "privileges": ["read"]}]}))
    assert own["userid"] == agent.pk
    # _own privileges reach only the keys of the caller's user.
    owners = assert_ok(api.get("/apikeys"))
    owner_key = next(k for k in owners if k["userid"] != agent.pk)
    assert_error(narrow.put(f"/apikeys/{owner_key['id']}", {"name": "x"}), 404)
    reader = ApiClient(account, make_key(account, read_only=True))
    assert_error(reader.post("/apikeys", {"privileges": []}), 403)
    assert_error(reader.delete(f"/apikeys/{owner_key['id']}"), 403)


def test_billing_status(api, account):
    assert assert_ok(api.get("/subscriptions/me/billingStatus")) == {
        "valid_to": None, "has_errors": False}
    trial_end = dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC)
    with scope(account=account):
        subscription = Subscription.objects.create(
            account=account, plan=account.plan, seats=1, status="trialing",
            trial_ends_at=trial_end)
    body = assert_ok(api.get(f"/subscriptions/{account.pk}/billingStatus"))
    check(body, BILLING)
    assert body == {"valid_to": int(trial_end.timestamp()), "has_errors": False}
    with scope(account=account):
        Subscription.objects.filter(pk=subscription.pk).update(
            status="past_due", period_end=dt.date(2030, 2, 1))
    body = assert_ok(api.get("/subscriptions/me/billingStatus"))
    assert body == {"valid_to": int(dt.datetime(2030, 2, 1, tzinfo=dt.UTC).timestamp()),
                    "has_errors": True}
    assert_error(api.get("/subscriptions/someone/billingStatus"), 404)
    no_privilege = ApiClient(account, make_key(account, scopes=["ticket.read"]))
    assert_error(no_privilege.get("/subscriptions/me/billingStatus"), 403)


def test_my_account_link_signs_the_owner_in_once(api, account, agent):
    link = assert_ok(api.get("/my_account/_link"))["link"]
    check({"link": link}, {"link": F("string", required=True)})
    assert link.startswith(f"http://{account.host}/")
    path = link.split(account.host, 1)[1]
    browser = Client(HTTP_HOST=account.host)
    entered = browser.get(path)
    assert entered.status_code == 302 and entered["Location"] == "/account/"
    assert browser.get("/account/").status_code == 200
    assert Client(HTTP_HOST=account.host).get(path).status_code == 403  # spent
    late = assert_ok(api.get("/my_account/_link"))["link"].split(account.host, 1)[1]
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=11)):
        assert Client(HTTP_HOST=account.host).get(late).status_code == 403  # expired
    tampered = path[:-3] + ("aaa" if not path.endswith("aaa") else "bbb")
    assert Client(HTTP_HOST=account.host).get(tampered).status_code == 403
    agents_key = ApiClient(account, make_key(account, user=agent))
    assert_error(agents_key.get("/my_account/_link"), 403, "owner")


def test_my_account_link_still_asks_an_owner_with_two_factor_for_the_code(api, account, owner):
    owner.totp_secret, owner.totp_enabled = pyotp.random_base32(), True
    owner.save()
    path = assert_ok(api.get("/my_account/_link"))["link"].split(account.host, 1)[1]
    browser = Client(HTTP_HOST=account.host)
    assert browser.get(path)["Location"] == "/login/code/"
    assert browser.get("/account/").status_code == 302  # not in yet
    entered = browser.post("/login/code/", {"code": pyotp.TOTP(owner.totp_secret).now()})
    assert entered["Location"] == "/account/"
    assert browser.get("/account/").status_code == 200


def test_another_tenants_keys_and_links_are_refused(api_pair, two_tenants):
    a, b = api_pair
    with scope(account=two_tenants.a):
        alpha_key = ApiKey.objects.first()
    assert_ok(a.get(f"/apikeys/{alpha_key.pk}"))
    assert_error(b.get(f"/apikeys/{alpha_key.pk}"), 404)
    assert_error(b.put(f"/apikeys/{alpha_key.pk}", {"name": "stolen"}), 404)
    assert_error(b.delete(f"/apikeys/{alpha_key.pk}"), 404)
    assert alpha_key.pk not in {k["id"] for k in assert_ok(b.get("/apikeys"))}
    assert_error(b.get(f"/subscriptions/{two_tenants.a.pk}/billingStatus"), 404)
    link = assert_ok(a.get("/my_account/_link"))["link"]
    path = link.split(two_tenants.a.host, 1)[1]
    assert Client(HTTP_HOST=two_tenants.b.host).get(path).status_code == 403
    assert_ok(a.get("/ping"))  # A's key still works
