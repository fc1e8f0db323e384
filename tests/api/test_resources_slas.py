"""SLA levels (API §17) and a ticket's SLA (§6.9) against their field tables."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.sla import actions as sla
from saruna.tickets import actions as tickets
from tests.api.conftest import ApiClient, make_key
from tests.api.test_resources_contract import F, assert_error, assert_ok, check

pytestmark = pytest.mark.django_db

DAY = {"start": F("hhmm"), "end": F("hhmm")}
SLA = {
    "id": F("string"), "name": F("string"),
    "values": F("object", items={m: F("integer") for m in (
        "first_answer", "first_assign", "first_resolve", "next_answer", "chat_answer",
        "call_answer")}),
    "business_hours": F("object", items={
        "timezone": F("string"),
        **{d: F("object", items=DAY) for d in (
            "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
        "exclude_holidays": F("array", items=F("date")),
    }),
}
SLA_HISTORY = {
    "id": F("string"), "sla_level_id": F("string"), "sla_type": F("string"),
    "date_created": F("date-time"), "date_due": F("date-time"), "date_closed": F("date-time"),
    "total_time": F("integer"), "elapsed_time": F("integer"),
}
TICKET_SLA = {
    "conversationid": F("string"), "sla_level_id": F("string"), "sla_level_name": F("string"),
    "first_answer": F("date-time"), "first_assign": F("date-time"),
    "first_resolve": F("date-time"), "next_answer": F("date-time"),
}
MONDAY_10_RIGA = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def level(account):
    with scope(account=account):
        return sla.save_sla_level(
            account, name="Gold", is_default=True, time_zone="Europe/Riga",
            first_answer=3600, first_resolve=8 * 3600, holidays=["2026-12-24"],
            business_hours={d: {"start": "09:00", "end": "17:00"} if i < 5 else None
                            for i, d in enumerate(("monday", "tuesday", "wednesday",
                                                   "thursday", "friday", "saturday",
                                                   "sunday"))},
        )


@pytest.fixture
def ticket(account, level):
    with scope(account=account), time_machine.travel(MONDAY_10_RIGA, tick=False):
        customer = contacts.create_contact(account, firstname="Cleo", emails=["c@example.com"])
        return tickets.open_ticket(account, "Help", "Broken", customer)


def test_list_and_get_levels(api, level):
    with scope(account=api.account):
        sla.save_sla_level(api.account, name="Bronze", first_answer=60)
    rows = assert_ok(api.get("/slas"))
    assert [r["name"] for r in rows] == ["Bronze", "Gold"]
    for row in rows:
        check(row, SLA)
    gold = assert_ok(api.get(f"/slas/{level.public_id}"))
    check(gold, SLA)
    assert gold["values"]["first_answer"] == 3600 and gold["values"]["next_answer"] is None
    hours = gold["business_hours"]
    assert hours["timezone"] == "Europe/Riga" and hours["saturday"] is None
    assert hours["monday"] == {"start": "09:00", "end": "17:00"}
    assert hours["exclude_holidays"] == ["2026-12-24"]
    assert assert_ok(api.get("/slas", {"_filters": '{"name": "Gold"}'})) == [gold]
    assert [r["name"] for r in assert_ok(api.get("/slas", {"_sortDir": "DESC"}))] == [
        "Gold", "Bronze"]


def test_errors(api, level):
    assert_error(api.get("/slas/nothere1"), 404)
    assert_error(api.get("/slas", {"_filters": '[["values", "E", "1"]]'}), 400, "values")
    assert_error(api.get("/slas", {"_sortField": "first_answer"}), 400, "first_answer")
    assert_error(api.get("/slas/nothere1/history"), 404)
    assert_error(api.get("/tickets/nothere1/sla"), 404)
    reader = ApiClient(api.account, make_key(api.account, scopes=["ticket.read"]))
    assert_error(reader.get("/slas"), 403, "sla.read")


def test_ticket_sla_and_history(api, ticket, level):
    body = assert_ok(api.get(f"/tickets/{ticket.public_id}/sla"))
    check(body, TICKET_SLA)
    # Account time zone is UTC: 10:00 Riga + 1 business hour = 09:00 UTC.
    assert body == {
        "conversationid": ticket.public_id, "sla_level_id": level.public_id,
        "sla_level_name": "Gold", "first_answer": "2026-03-02 09:00:00",
        "first_assign": None, "first_resolve": "2026-03-03 08:00:00", "next_answer": None,
    }
    assert assert_ok(api.get(f"/tickets/{ticket.code}/sla")) == body
    history = assert_ok(api.get(f"/slas/{ticket.public_id}/history"))
    check(history, SLA_HISTORY)
    assert history["sla_level_id"] == level.public_id and history["date_closed"] is None
    assert history["total_time"] in (3600, 8 * 3600)


def test_history_of_a_closed_record_and_of_a_ticket_without_one(api, ticket, level, owner):
    with scope(account=api.account), time_machine.travel(
        MONDAY_10_RIGA + dt.timedelta(minutes=30), tick=False
    ):
        tickets.change_status(ticket, "R", actor=owner)
    history = assert_ok(api.get(f"/slas/{ticket.public_id}/history"))
    check(history, SLA_HISTORY)
    assert history["date_closed"] == "2026-03-02 08:30:00"
    assert history["elapsed_time"] == 1800
    with scope(account=api.account):
        sla.save_sla_level(api.account, level, is_default=False)
        bare = tickets.open_ticket(api.account, "Bare", "Hi", ticket.owner)
    empty = assert_ok(api.get(f"/slas/{bare.public_id}/history"))
    assert empty == {name: None for name in SLA_HISTORY}
    assert assert_ok(api.get(f"/tickets/{bare.public_id}/sla"))["sla_level_id"] is None


def test_another_tenants_levels_and_tickets_are_404(api_pair, two_tenants):
    a, b = api_pair
    with scope(account=a.account):
        level = sla.save_sla_level(a.account, name="Alpha", is_default=True, first_answer=60)
        customer = contacts.create_contact(a.account, firstname="A", emails=["a@example.com"])
        ticket = tickets.open_ticket(a.account, "Alpha", "Hi", customer)
    assert_ok(a.get(f"/slas/{level.public_id}"))
    assert_error(b.get(f"/slas/{level.public_id}"), 404)
    assert_error(b.get(f"/slas/{ticket.public_id}/history"), 404)
    assert_error(b.get(f"/tickets/{ticket.public_id}/sla"), 404)
    assert assert_ok(b.get("/slas")) == []
