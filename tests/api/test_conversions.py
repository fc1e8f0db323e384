"""``/api/v3/conversions`` (our extension): a back end reports an order of a customer it
knows, and it is credited by the widget's rules — the last chat of the customer within the
account's window (the first with first-touch attribution), that chat's agent and
department; the same order id is recorded once; bad input and other accounts' customers are
refused with nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.chat import actions as chat_actions
from saruna.chat.models import Chat, ChatStatus
from saruna.contacts.actions import create_contact
from saruna.visitors import actions as visitor_actions
from saruna.visitors.models import Conversion
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check
from tests.chat.helpers import make_button, new_visitor, put_online
from tests.factories import make_user

pytestmark = pytest.mark.django_db

CONVERSION = {
    "id": F("string", required=True, nonempty=True),
    "order_id": F("string", required=True, nonempty=True),
    "value": F("string", required=True), "currency": F("string"),
    "date_created": F("date-time", required=True), "contactid": F("string"),
    "chatid": F("string"), "agentid": F("string"), "departmentid": F("string"),
    "attribution_model": F("string", enum=("last", "first")),
}
ANN = "ann@example.org"


@pytest.fixture
def button(account, agent):
    put_online(agent)
    return make_button(account)


def chatted(button, agent, *, days_ago: float, email: str = ANN):
    """A finished chat, ``days_ago``, of the customer with ``email`` from a browser of their
    own, answered by ``agent``; returns the chat and the browser's visitor token."""
    token, visitor = new_visitor(button.account)
    with scope(account=button.account):
        chat, _new = chat_actions.start_chat(button, visitor, message="Which size?",
                                             client_id="first", fields={"email": email})
        Chat.objects.filter(pk=chat.pk).update(
            agent=agent, status=ChatStatus.ENDED,
            date_queued=timezone.now() - timedelta(days=days_ago))
        chat.refresh_from_db()
    return chat, token


def contact_of(chat):
    with scope(account=chat.account):
        return Chat.objects.select_related("visitor__contact").get(pk=chat.pk).visitor.contact


def stored(account) -> list[Conversion]:
    with scope(account=account):
        return list(Conversion.objects.order_by("pk"))


def test_an_order_is_credited_to_the_agent_of_the_customers_last_chat(api, account, agent,
                                                                      button):
    colleague = make_user(account, "colleague@acme.test")
    chatted(button, colleague, days_ago=40)  # outside the 30-day window
    first, _token = chatted(button, colleague, days_ago=10)
    last, _token = chatted(button, agent, days_ago=2)  # another browser, same customer
    contact = contact_of(last)
    assert contact == contact_of(first)

    answer = assert_ok(api.post("/conversions", {
        "order_id": "order-1001", "value": 49.90, "currency": "eur",
        "contactid": contact.public_id}))
    check(answer, CONVERSION)
    assert answer["order_id"] == "order-1001" and answer["value"] == "49.90"
    assert answer["currency"] == "EUR" and answer["contactid"] == contact.public_id
    assert (answer["chatid"], answer["agentid"], answer["departmentid"]) == (
        last.public_id, agent.pk, last.department.public_id)
    assert answer["attribution_model"] == "last"

    # The customer's e-mail names them as well (any capitalisation).
    by_email = assert_ok(api.post("/conversions", {"order_id": "order-1002",
                                                   "email": "Ann@Example.org"}))
    assert (by_email["contactid"], by_email["agentid"], by_email["value"]) == (
        contact.public_id, agent.pk, "0.00")

    # First-touch attribution, chosen for the account, credits the first chat in the window.
    with scope(account=account):
        visitor_actions.save_tracking_settings(account, {"attribution_model": "first"})
    first_touch = assert_ok(api.post("/conversions", {"order_id": "order-1003",
                                                      "contactid": contact.public_id}))
    assert (first_touch["chatid"], first_touch["agentid"], first_touch["attribution_model"]) == (
        first.public_id, colleague.pk, "first")

    listed = assert_ok(api.get("/conversions", {"_sortField": "order_id"}))
    assert listed == [answer, by_email, first_touch]


def test_a_chat_outside_the_window_gets_no_credit(api, account, agent, button):
    chat, _token = chatted(button, agent, days_ago=31)
    contact = contact_of(chat)
    answer = assert_ok(api.post("/conversions", {"order_id": "late", "value": 10,
                                                 "contactid": contact.public_id}))
    assert (answer["chatid"], answer["agentid"], answer["departmentid"],
            answer["attribution_model"]) == (None, None, None, None)
    assert [c.order_id for c in stored(account)] == ["late"]  # recorded all the same

    # The account's own window counts, not a fixed one.
    with scope(account=account):
        visitor_actions.save_tracking_settings(account, {"attribution_window_days": 45})
    wider = assert_ok(api.post("/conversions", {"order_id": "late-2",
                                                "contactid": contact.public_id}))
    assert (wider["chatid"], wider["agentid"]) == (chat.public_id, agent.pk)


def test_a_visitor_token_names_a_guest_who_chatted(api, agent, button):
    chat, token = chatted(button, agent, days_ago=1)
    answer = assert_ok(api.post("/conversions", {"order_id": "guest-1", "value": "12.5",
                                                 "visitor_token": token}))
    assert (answer["chatid"], answer["agentid"], answer["value"]) == (
        chat.public_id, agent.pk, "12.50")
    assert answer["contactid"] == contact_of(chat).public_id


def test_the_same_order_id_is_recorded_once(api, account, agent, button):
    chat, _token = chatted(button, agent, days_ago=1)
    contact = contact_of(chat)
    first = assert_ok(api.post("/conversions", {"order_id": "dup-1", "value": 5,
                                                "currency": "EUR",
                                                "contactid": contact.public_id}))
    again = assert_ok(api.post("/conversions", {"order_id": "dup-1", "value": 500,
                                                "currency": "USD", "email": ANN}))
    assert again == first  # the first record, unchanged
    assert [(c.order_id, c.value_minor, c.currency) for c in stored(account)] == [
        ("dup-1", 500, "EUR")]


CONTACT = object()  # stands for the id of the customer who chatted


@pytest.mark.parametrize(("body", "message"), [
    ({"value": 10, "contactid": CONTACT}, "order_id: Field required"),
    ({"order_id": "   ", "contactid": CONTACT}, "order_id"),
    ({"order_id": "x" * 101, "contactid": CONTACT}, "order_id"),
    ({"order_id": "o-1", "value": -1, "contactid": CONTACT}, "greater than or equal to 0"),
    ({"order_id": "o-1", "value": "lots", "contactid": CONTACT}, "value"),
    ({"order_id": "o-1", "value": True, "contactid": CONTACT}, "value"),
    ({"order_id": "o-1", "currency": "euro", "contactid": CONTACT}, "currency"),
    ({"order_id": "o-1", "contactid": "nosuchid"}, "Unknown contact: nosuchid"),
    ({"order_id": "o-1", "email": "nobody@example.org"}, "Unknown contact: nobody@"),
    ({"order_id": "o-1", "contactid": CONTACT, "email": ANN}, "not both"),
    ({"order_id": "o-1", "visitor_token": "forged.token"}, "Unknown visitor token"),
    ({"order_id": "o-1"}, "Name the visitor or the contact"),
])
def test_bad_input_is_refused_and_nothing_is_stored(api, account, agent, button, body, message):
    chat, _token = chatted(button, agent, days_ago=1)
    if body.get("contactid") is CONTACT:
        body = {**body, "contactid": contact_of(chat).public_id}
    assert_error(api.post("/conversions", body), 400, message)
    assert stored(account) == []


def test_another_accounts_customers_and_conversions_stay_out_of_reach(api_pair, two_tenants):
    a, b = api_pair
    put_online(two_tenants.agent_a)
    chat, token = chatted(make_button(a.account), two_tenants.agent_a, days_ago=1,
                          email="alpha@alpha.test")
    alpha = contact_of(chat)
    reported = assert_ok(a.post("/conversions", {"order_id": "shared-1", "value": 7,
                                                 "contactid": alpha.public_id}))

    # B's key cannot name A's customer in any way, and sees none of A's conversions.
    for who, message in (({"contactid": alpha.public_id}, "Unknown contact"),
                         ({"email": "alpha@alpha.test"}, "Unknown contact"),
                         ({"visitor_token": token}, "Unknown visitor token")):
        assert_error(b.post("/conversions", {"order_id": "b-1", **who}), 400, message)
    assert assert_ok(b.get("/conversions")) == []
    assert assert_ok(b.get("/conversions", {"_filters": f'{{"id": "{reported["id"]}"}}'})) == []

    # Order ids are per account: B's own order with A's number is B's, A's stays as it was.
    with scope(account=b.account):
        beta = create_contact(b.account, firstname="Beta", emails=["beta@beta.test"])
    own = assert_ok(b.post("/conversions", {"order_id": "shared-1", "value": 1,
                                            "contactid": beta.public_id}))
    assert own["id"] != reported["id"] and own["contactid"] == beta.public_id
    assert own["agentid"] is None  # A's chats credit nothing of B
    assert [(c.order_id, c.value_minor) for c in stored(a.account)] == [("shared-1", 700)]
    assert [(c.order_id, c.value_minor) for c in stored(b.account)] == [("shared-1", 100)]
    assert assert_ok(a.get("/conversions")) == [reported]


def test_privileges(api, account, agent, button):
    chat, _token = chatted(button, agent, days_ago=1)
    body = {"order_id": "p-1", "contactid": contact_of(chat).public_id}
    reader = ApiClient(account, make_key(account, read_only=True))
    assert_error(reader.post("/conversions", body), 403, "conversion.write")
    assert assert_ok(reader.get("/conversions")) == []
    tickets_only = ApiClient(account, make_key(account, scopes={"ticket.read"}))
    assert_error(tickets_only.get("/conversions"), 403, "conversion.read")
    writer = ApiClient(account, make_key(account, scopes={"conversion.write"}))
    assert_error(ApiClient(account, None).post("/conversions", body), 401)
    assert stored(account) == []
    created = assert_ok(writer.post("/conversions", body))
    assert assert_ok(writer.get("/conversions")) == [created]


def test_the_list_pages_and_filters_by_contact(api, account, agent, button):
    ann_chat, _token = chatted(button, agent, days_ago=1)
    ben_chat, _token = chatted(button, agent, days_ago=1, email="ben@example.org")
    ann, ben = contact_of(ann_chat), contact_of(ben_chat)
    for n, contact in enumerate([ann, ben, ann]):
        assert_ok(api.post("/conversions", {"order_id": f"o-{n}", "contactid": contact.public_id}))
    pages = [[c["order_id"] for c in assert_ok(api.get("/conversions", {
        "_sortField": "order_id", "_perPage": 2, "_page": n}))] for n in (1, 2, 3)]
    assert pages == [["o-0", "o-1"], ["o-2"], []]
    anns = assert_ok(api.get("/conversions", {"_filters": f'{{"contactid": "{ann.public_id}"}}'}))
    assert sorted(c["order_id"] for c in anns) == ["o-0", "o-2"]
    assert_error(api.get("/conversions", {"_filters": '{"value": "1"}'}), 400, "value")
    with scopes_disabled():
        assert Conversion.objects.count() == 3
