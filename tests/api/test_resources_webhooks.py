"""Webhooks through the API (our extension E.2) against their field table: the documented
errors, two-tenant isolation, the address guard, and a test event that really reaches a
receiver on 127.0.0.1 (allowed as an on-premise installation would allow it)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django_scopes import scope

from saruna.core.models import AuditEvent
from saruna.webhooks.models import Webhook
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check
from tests.webhooks.conftest import on_premise, receiver  # noqa: F401  (fixtures)

pytestmark = pytest.mark.django_db

EVENTS = ("ticket.created", "ticket.updated", "message_group.created", "contact.created",
          "contact.updated", "contact.deleted", "chat.started", "chat.ended",
          "conversion.created", "sla.breached")
WEBHOOK = {
    "id": F("string"), "url": F("string", required=True, nonempty=True),
    "events": F("array", required=True, items=F("string", enum=EVENTS)),
    "secret": F("string"), "is_active": F("string", required=True, enum=("Y", "N")),
    "description": F("string"), "date_created": F("date-time"),
    "last_status_code": F("integer"), "failure_count": F("integer", required=True),
}
TEST_RESULT = {"status_code": F("integer"), "message": F("string", required=True,
                                                          nonempty=True)}
PUBLIC_URL = "https://1.1.1.1/saruna-events"  # a public address: saved without network


def stored(api: ApiClient) -> list[Webhook]:
    with scope(account=api.account):
        return list(Webhook.objects.all())


def test_webhook_round_trip(api):
    created = assert_ok(api.post("/webhooks", {
        "url": PUBLIC_URL, "events": ["ticket.created", "contact.updated"],
        "description": "CRM sync"}))
    check(created, WEBHOOK)
    secret = created["secret"]
    assert secret and len(created["id"]) == 8
    assert (created["is_active"], created["failure_count"], created["last_status_code"]) == (
        "Y", 0, None)
    assert created["events"] == ["ticket.created", "contact.updated"]
    (webhook,) = stored(api)
    assert webhook.secret == secret

    # The secret is shown once: never again when read.
    fetched = assert_ok(api.get(f"/webhooks/{created['id']}"))
    assert fetched == {**created, "secret": None}
    assert assert_ok(api.get("/webhooks")) == [fetched]

    # A whole fetched webhook sent back with one change: only that changes.
    changed = assert_ok(api.put(f"/webhooks/{created['id']}", {**fetched, "is_active": "N"}))
    check(changed, WEBHOOK)
    assert changed == {**fetched, "is_active": "N"}
    assert stored(api)[0].secret == secret  # a null secret keeps the current one
    assert_ok(api.put(f"/webhooks/{created['id']}", {"events": ["sla.breached"],
                                                      "secret": "chosen-by-us"}))
    assert (stored(api)[0].events, stored(api)[0].secret) == (["sla.breached"], "chosen-by-us")

    renewed = assert_ok(api.post(f"/webhooks/{created['id']}/_renew_secret"))
    check(renewed, WEBHOOK)
    assert renewed["secret"] not in (None, secret, "chosen-by-us")
    assert stored(api)[0].secret == renewed["secret"]

    assert assert_ok(api.delete(f"/webhooks/{created['id']}")) == {}
    assert stored(api) == []
    with scope(account=api.account):
        verbs = set(AuditEvent.objects.filter(actor_type="api_key").values_list("verb",
                                                                                 flat=True))
    assert {"api.webhook.created", "api.webhook.changed", "api.webhook.secret_renewed",
            "api.webhook.deleted"} <= verbs


def test_list_pages_filters_and_sorts(api):
    for n in range(3):
        assert_ok(api.post("/webhooks", {"url": f"{PUBLIC_URL}/{n}", "events": ["ticket.created"],
                                         "is_active": "YN"[n % 2]}))
    assert len(assert_ok(api.get("/webhooks"))) == 3
    second_page = assert_ok(api.get("/webhooks", {"_page": 2, "_perPage": 2}))
    assert [w["url"] for w in second_page] == [f"{PUBLIC_URL}/2"]
    off = assert_ok(api.get("/webhooks", {"_filters": '[["is_active", "E", "N"]]'}))
    assert [w["url"] for w in off] == [f"{PUBLIC_URL}/1"]
    by_url_down = assert_ok(api.get("/webhooks", {"_sortField": "url", "_sortDir": "DESC"}))
    assert by_url_down[0]["url"] == f"{PUBLIC_URL}/2"
    assert_error(api.get("/webhooks", {"_filters": '[["secret", "E", "x"]]'}), 400, "secret")
    assert_error(api.get("/webhooks", {"_sortField": "secret"}), 400, "secret")


@pytest.mark.parametrize(("body", "names"), [
    ({"events": ["ticket.created"]}, "url"),
    ({"url": PUBLIC_URL}, "events"),
    ({"url": PUBLIC_URL, "events": []}, "event"),
    ({"url": PUBLIC_URL, "events": ["ticket.exploded"]}, "ticket.exploded"),
    ({"url": PUBLIC_URL, "events": "ticket.created"}, "events"),
    ({"url": PUBLIC_URL, "events": ["ticket.created"], "is_active": "maybe"}, "is_active"),
    ({"url": PUBLIC_URL, "events": ["ticket.created"], "description": "x" * 201}, "description"),
    ({"url": "http://example.com/hook", "events": ["ticket.created"]}, "https://"),
    ({"url": "ftp://example.com/", "events": ["ticket.created"]}, "https://"),
    ({"url": "https://user:pw@example.com/", "events": ["ticket.created"]}, "Credentials"),
])
def test_bad_input_is_a_400_and_changes_nothing(api, body, names):
    assert_error(api.post("/webhooks", body), 400, names)
    assert stored(api) == []


def test_a_bad_change_is_a_400_and_changes_nothing(api):
    created = assert_ok(api.post("/webhooks", {"url": PUBLIC_URL, "events": ["ticket.created"]}))
    path = f"/webhooks/{created['id']}"
    assert_error(api.put(path, {"events": [], "description": "changed"}), 400, "event")
    assert_error(api.put(path, {"url": "https://10.1.2.3/", "description": "changed"}), 400,
                 "private network address")
    assert assert_ok(api.get(path)) == {**created, "secret": None}


@pytest.mark.parametrize(("url", "refusal"), [
    ("https://127.0.0.1/hook", "loopback address"),
    ("https://192.168.1.20/hook", "private network address"),
    ("https://169.254.169.254/latest/meta-data", "cloud metadata address"),
    ("https://[::1]/hook", "loopback address"),
    ("https://[::ffff:10.0.0.1]/hook", "private network address"),
    ("https://localhost/hook", "loopback address"),
])
def test_the_address_guard_refuses_private_destinations(api, url, refusal):
    assert_error(api.post("/webhooks", {"url": url, "events": ["ticket.created"]}), 400, refusal)
    assert stored(api) == []


def test_unknown_ids_are_404s(api):
    assert_error(api.get("/webhooks/zzzzzzzz"), 404, "webhook")
    assert_error(api.put("/webhooks/zzzzzzzz", {"description": "x"}), 404)
    assert_error(api.delete("/webhooks/zzzzzzzz"), 404)
    assert_error(api.post("/webhooks/zzzzzzzz/_test"), 404)
    assert_error(api.post("/webhooks/zzzzzzzz/_renew_secret"), 404)


def test_privileges(api):
    created = assert_ok(api.post("/webhooks", {"url": PUBLIC_URL, "events": ["ticket.created"]}))
    path = f"/webhooks/{created['id']}"
    reader = ApiClient(api.account, make_key(api.account, read_only=True))
    assert assert_ok(reader.get("/webhooks")) == [{**created, "secret": None}]
    assert_ok(reader.get(path))
    for response in (reader.post("/webhooks", {"url": PUBLIC_URL, "events": ["ticket.created"]}),
                     reader.put(path, {"is_active": "N"}), reader.delete(path),
                     reader.post(f"{path}/_test"), reader.post(f"{path}/_renew_secret")):
        assert_error(response, 403, "webhook.write")
    tickets_only = ApiClient(api.account, make_key(api.account, scopes={"ticket.read"}))
    assert_error(tickets_only.get("/webhooks"), 403, "webhook.read")
    (webhook,) = stored(api)
    assert (webhook.is_active, webhook.secret) == (True, created["secret"])


def test_b_reaches_no_webhook_of_a(api_pair):
    a, b = api_pair
    created = assert_ok(a.post("/webhooks", {"url": PUBLIC_URL, "events": ["ticket.created"],
                                             "description": "Alpha"}))
    path = f"/webhooks/{created['id']}"
    for response in (b.get(path), b.put(path, {"description": "Hacked", "is_active": "N"}),
                     b.delete(path), b.post(f"{path}/_test"), b.post(f"{path}/_renew_secret")):
        assert_error(response, 404)
        assert b"Alpha" not in response.content
    assert assert_ok(b.get("/webhooks")) == []
    assert assert_ok(a.get(path)) == {**created, "secret": None}
    assert stored(a)[0].secret == created["secret"]


def test_a_test_event_reaches_the_receiver_signed(api, receiver, on_premise):  # noqa: F811
    created = assert_ok(api.post("/webhooks", {"url": receiver.url(),
                                               "events": ["ticket.created"]}))
    receiver.answer(202, "thanks")
    result = assert_ok(api.post(f"/webhooks/{created['id']}/_test"))
    check(result, TEST_RESULT)
    assert result == {"status_code": 202,
                      "message": "The test event was delivered (HTTP 202)."}
    (request,) = receiver.requests
    body = json.loads(request.body)
    assert (body["event"], request.headers["X-Webhook-Event"]) == ("ping", "ping")
    assert body["data"] == {"webhook": {"id": created["id"]}}
    signed = request.headers["X-Webhook-Timestamp"].encode() + b"." + request.body
    expected = hmac.new(created["secret"].encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert assert_ok(api.get(f"/webhooks/{created['id']}"))["last_status_code"] == 202


def test_a_failed_test_event_says_why(api, receiver, on_premise):  # noqa: F811
    created = assert_ok(api.post("/webhooks", {"url": receiver.url(),
                                               "events": ["ticket.created"]}))
    receiver.answer(500, "boom")
    result = assert_ok(api.post(f"/webhooks/{created['id']}/_test"))
    assert result == {"status_code": 500,
                      "message": "The test event failed: The answer was HTTP 500."}
    fetched = assert_ok(api.get(f"/webhooks/{created['id']}"))
    assert (fetched["last_status_code"], fetched["failure_count"]) == (500, 1)
    assert len(receiver.requests) == 1  # a test is tried once, never retried


def test_the_guard_refuses_loopback_when_private_addresses_are_closed(
    api, receiver, on_premise, settings  # noqa: F811
):
    created = assert_ok(api.post("/webhooks", {"url": receiver.url(),
                                               "events": ["ticket.created"]}))
    settings.SARUNA_WEBHOOKS_ALLOW_PRIVATE = False
    assert_error(api.put(f"/webhooks/{created['id']}", {"url": receiver.url("/other")}), 400,
                 "loopback address")
    # A hook saved while allowed is checked again when it sends: nothing is connected to.
    result = assert_ok(api.post(f"/webhooks/{created['id']}/_test"))
    assert result == {"status_code": None, "message": (
        "The test event failed: 127.0.0.1 is a loopback address (127.0.0.1).")}
    assert receiver.requests == []


@pytest.mark.django_db(transaction=True)
def test_a_test_event_waits_for_the_receiver_outside_any_transaction(
        api, receiver, on_premise, monkeypatch):  # noqa: F811
    """Waiting up to 10 s on the network inside the API's write transaction would hold
    SQLite's write lock (every other writer of the installation) that long."""
    from django.db import connection

    from saruna.webhooks import actions

    created = assert_ok(api.post("/webhooks", {"url": receiver.url(), "events": ["ping"]}))
    sent = actions.sending.deliver
    in_transaction: list[bool] = []

    def deliver(delivery_id: int) -> None:
        in_transaction.append(connection.in_atomic_block)
        sent(delivery_id)

    monkeypatch.setattr(actions.sending, "deliver", deliver)
    assert assert_ok(api.post(f"/webhooks/{created['id']}/_test"))["status_code"] == 200
    assert in_transaction == [False]
