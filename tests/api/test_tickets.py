"""Tickets over the API (§6 and extension E.1), each answer checked against the field tables."""

from __future__ import annotations

import json

import pytest
import time_machine
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.core.models import AuditEvent
from saruna.tickets import actions
from saruna.tickets.models import Message, Ticket
from tests.api import contract
from tests.api.test_framework import assert_error

pytestmark = pytest.mark.django_db

NEW_TICKET = {
    "useridentifier": "owner@acme.test", "subject": "Broken invoice", "departmentid": "default",
    "recipient": "customer@example.org", "recipient_name": "Ann Customer",
    "message": "We are looking into it.", "status": "N", "do_not_send_mail": "Y",
    "use_template": "Y", "is_html_message": "N",
}


def create(api, **changes):
    response = api.post("/tickets", {**NEW_TICKET, **changes})
    assert response.status_code == 200, response.content
    return response.json()


def seed(account, count, **kwargs):
    with scope(account=account):
        customer = contacts.create_contact(account, firstname="Bo", emails=["bo@example.org"])
        return [
            actions.open_ticket(account, f"Question {i}", f"Body {i}", customer, **kwargs)
            for i in range(count)
        ]


def test_create_answers_ticket_information_and_get_answers_the_ticket(api):
    info = create(api, tags=[], custom_fields=[])
    contract.check(info, contract.TICKET_INFORMATION, "TicketInformation")
    assert info["subject"] == "Broken invoice" and info["tags"] == ""
    assert info["ownerid"] == info["owner_contactid"]
    ticket = api.get(f"/tickets/{info['id']}").json()
    contract.check(ticket, contract.TICKET, "Ticket")
    assert ticket["owner_email"] == "customer@example.org"
    assert ticket["owner_name"] == "Ann Customer"
    assert ticket["departmentid"] == "default"
    by_code = api.get(f"/tickets/{info['code']}").json()
    assert by_code["id"] == info["id"]


def test_create_refuses_missing_fields_and_unknown_references(api):
    body = dict(NEW_TICKET)
    del body["subject"]
    assert_error(api.post("/tickets", body), 400, "subject")
    assert_error(api.post("/tickets", {**NEW_TICKET, "departmentid": "nope"}), 400, "nope")
    assert_error(api.post("/tickets", {**NEW_TICKET, "tags": ["zzzz"]}), 400, "zzzz")
    assert_error(api.post("/tickets", {**NEW_TICKET, "attachments": "nofile12"}), 400)
    assert_error(api.post("/tickets", {**NEW_TICKET, "recipient": "not mail"}), 400)
    assert_error(api.post("/tickets", {**NEW_TICKET, "useridentifier": "nobody"}), 400)
    with scope(account=api.account):
        assert not Ticket.objects.exists()


def test_a_contact_author_must_write_to_one_of_the_accounts_mailboxes(api):
    response = api.post("/tickets", {**NEW_TICKET, "useridentifier": "someone@example.org"})
    assert_error(response, 400, "mailbox")


def test_same_mail_message_id_twice_is_a_conflict(api):
    create(api, mail_message_id="<one@example.org>")
    assert_error(api.post("/tickets", {**NEW_TICKET, "mail_message_id": "<one@example.org>"}),
                 409)


def test_list_is_a_bare_array_paged_sorted_and_clamped(api, account):
    seed(account, 25)
    first = api.get("/tickets").json()
    contract.check_list(first, contract.TICKET, "tickets")
    assert len(first) == 10
    assert [t["subject"] for t in first][:2] == ["Question 0", "Question 1"]
    third = api.get("/tickets", {"_page": 3}).json()
    assert [t["subject"] for t in third] == [f"Question {i}" for i in range(20, 25)]
    assert api.get("/tickets", {"_page": 4}).json() == []
    # Past what a database can count to (SQLite's and PostgreSQL's OFFSET are 64-bit).
    for huge in ({"_page": 2**70, "_perPage": 300}, {"_from": 2**70, "_to": 2**71}):
        assert api.get("/tickets", huge).json() == []
    window = api.get("/tickets", {"_from": 5, "_to": 8}).json()
    assert [t["subject"] for t in window] == ["Question 5", "Question 6", "Question 7"]
    newest = api.get("/tickets", {"_sortField": "date_created", "_sortDir": "desc"}).json()
    assert newest[0]["subject"] == "Question 24"
    assert len(api.get("/tickets", {"_perPage": 5000}).json()) == 25
    assert_error(api.get("/tickets", {"_sortField": "nope"}), 400, "nope")
    assert_error(api.get("/tickets", {"_page": "abc"}), 400, "_page")
    assert_error(api.get("/tickets", {"_perPage": -1}), 400, "_perPage")


def test_filters_in_both_forms_with_every_spelling(api, account):
    tickets = seed(account, 3)
    with scope(account=account):
        tag = actions.save_tag(account, name="Billing")
        actions.set_tags(tickets[0], [tag])
        actions.change_status(tickets[1], "R")
        actions.update_ticket(tickets[2], subject="Invoice missing")

    def subjects(filters):
        response = api.get("/tickets", {"_filters": filters})
        assert response.status_code == 200, response.content
        return sorted(t["subject"] for t in response.json())

    assert subjects(json.dumps({"status": "R"})) == ["Question 1"]
    assert subjects(json.dumps([["status", "NI", "R,X,B"]])) == ["Invoice missing",
                                                                 "Question 0"]
    assert subjects('[["status","=","R"]]') == ["Question 1"]
    assert subjects(json.dumps([["tags", "CY", f"{tag.public_id},zzzz"]])) == ["Question 0"]
    assert subjects(json.dumps([["tags", "IE", ""]])) == ["Invoice missing", "Question 1"]
    assert subjects(json.dumps({"subject": "invoice"})) == ["Invoice missing"]
    assert subjects(json.dumps([["subject", "LIKE", "%miss%"]])) == ["Invoice missing"]
    assert subjects(json.dumps([["subject", "LIKE", "Quest_on _"]])) == ["Question 0",
                                                                         "Question 1"]
    assert subjects(json.dumps({"search": "invoice"})) == ["Invoice missing"]
    assert subjects(json.dumps({"code": tickets[0].code})) == ["Question 0"]
    assert subjects('{"departmentid":"default"}') == ["Invoice missing", "Question 0",
                                                      "Question 1"]
    assert subjects(json.dumps([["date_created", ">=", "2000-01-01 00:00:00"],
                                ["date_created", "D<=", "2999-01-01"]])) != []
    assert subjects(json.dumps([["date_created", "DP", "T"]])) != []
    assert subjects(json.dumps([["date_created", "D<", "2000-01-01T00:00:00Z"]])) == []
    # PHP's json_encode escapes "/", and some clients send the JSON unencoded.
    assert subjects('{"subject":"invoice\\/"}') == []


@pytest.mark.parametrize(("filters", "named"), [
    ('[["owner_email","E","x"]]', "owner_email"),
    ('[["status","XX","N"]]', "XX"),
    ('[["status","L","N"]]', "L"),
    ('{"nope": 1}', "nope"),
    ('[["date_created","D>","yesterday"]]', "yesterday"),
    ('not json', "JSON"),
    ('"text"', "_filters"),
])
def test_bad_filters_are_400_naming_the_problem(api, filters, named):
    assert_error(api.get("/tickets", {"_filters": filters}), 400, named)


def test_dates_are_in_the_accounts_time_zone(api, account):
    account.time_zone = "Europe/Riga"
    account.save()
    with time_machine.travel("2024-03-07 12:05:09+00:00", tick=False):
        info = create(api)
    assert info["date_created"] == "2024-03-07 14:05:09"
    shifted = api.get(f"/tickets/{info['id']}", headers={"Timezone-Offset": "0"}).json()
    assert shifted["date_created"] == "2024-03-07 12:05:09"


def test_the_list_shows_each_ticket_as_get_does(api, account):
    """The list reads its page as plain rows; every field still matches the ticket's own
    answer: the owner's primary address, a deleted owner's remembered name and address,
    sorted tags and custom fields, every date in the account's zone or the header's."""
    account.time_zone = "Europe/Riga"
    account.save()
    with scope(account=account), time_machine.travel("2024-07-01 09:00:00+00:00", tick=False):
        bo = contacts.create_contact(account, firstname="Bo", lastname="Berg",
                                     emails=["bo@example.org", "bo.second@example.org"])
        cy = contacts.create_contact(account, firstname="Cy", emails=["cy@example.org"])
        kept = actions.open_ticket(account, "Kept owner", "Body", bo)
        orphan = actions.open_ticket(account, "Deleted owner", "Body", cy)
        tags = [actions.save_tag(account, name=name) for name in ("Zeta", "Alpha")]
        actions.set_tags(kept, tags)
        for code in ("size", "colour"):
            contacts.save_custom_field(account, target="ticket", code=code, name=code)
        actions.update_ticket(kept, custom_fields={"size": "L", "colour": "Zaļš"})
        actions.change_status(kept, "R")
        contacts.delete_contact(cy)
    for headers in ({}, {"Timezone-Offset": "-12600"}):
        listed = api.get("/tickets", headers=headers).json()
        assert listed == [api.get(f"/tickets/{t.public_id}", headers=headers).json()
                          for t in (kept, orphan)]
    first, second = api.get("/tickets").json()
    assert (first["owner_contactid"], first["owner_name"], first["owner_email"]) == (
        bo.public_id, "Bo Berg", "bo@example.org")
    assert (second["owner_contactid"], second["owner_name"], second["owner_email"]) == (
        None, "Cy", "cy@example.org")
    assert first["tags"] == sorted(t.public_id for t in tags)
    assert first["custom_fields"] == [{"code": "colour", "value": "Zaļš"},
                                      {"code": "size", "value": "L"}]
    assert first["date_created"] == first["date_resolved"] == "2024-07-01 12:00:00"
    assert second["date_resolved"] is None
    shifted = api.get("/tickets", headers={"Timezone-Offset": "-12600"}).json()[0]
    assert shifted["date_created"] == "2024-07-01 05:30:00"


def test_a_date_before_the_year_1000_keeps_four_year_digits(api):
    """The documented pattern YYYY-MM-DD HH:MM:SS; strftime wrote "999-05-06 ..." before."""
    utc = {"Timezone-Offset": "0"}
    info = api.post("/tickets", {**NEW_TICKET, "date_created": "0999-05-06 07:08:09"},
                    headers=utc).json()
    assert info["date_created"] == "0999-05-06 07:08:09"
    assert api.get("/tickets", headers=utc).json()[0]["date_created"] == "0999-05-06 07:08:09"


def test_update_writes_only_what_was_sent_and_ignores_a_whole_fetched_ticket(api, account):
    info = create(api)
    with scope(account=account):
        tag = actions.save_tag(account, name="Urgent")
    fetched = api.get(f"/tickets/{info['id']}").json()
    response = api.put(f"/tickets/{info['id']}",
                       {**fetched, "status": "R", "tags": [tag.public_id], "code": "XXX-XXX-XXX"})
    assert response.status_code == 200, response.content
    ticket = response.json()
    contract.check(ticket, contract.TICKET, "Ticket")
    assert ticket["status"] == "R" and ticket["tags"] == [tag.public_id]
    assert ticket["code"] == info["code"] and ticket["date_resolved"] is not None
    assert ticket["subject"] == "Broken invoice"
    assert api.put(f"/tickets/{info['id']}", {"agentid": ""}).json()["agentid"] is None
    assert_error(api.put(f"/tickets/{info['id']}", {"status": "T"}), 400)
    assert_error(api.put(f"/tickets/{info['id']}", {"departmentid": "nope"}), 400)


def test_delete_moves_to_the_trash_and_repeating_is_a_no_op(api):
    info = create(api)
    assert api.delete(f"/tickets/{info['id']}").json() == {}
    assert api.delete(f"/tickets/{info['id']}").json() == {}
    ticket = api.get(f"/tickets/{info['id']}").json()
    assert ticket["status"] == "X" and ticket["date_deleted"] is not None
    assert_error(api.get("/tickets/nothere1"), 404)


def test_message_groups_with_messages(api):
    info = create(api)
    groups = api.get(f"/tickets/{info['id']}/messages").json()
    contract.check_list(groups, contract.MESSAGE_GROUP, "groups")
    assert groups[0]["type"] == "4"
    assert groups[0]["messages"][0]["message"] == "We are looking into it."
    assert groups[0]["messages"][0]["format"] == "T"
    assert_error(api.get("/tickets/nothere1/messages"), 404)
    message_id = groups[0]["messages"][0]["id"]
    message = api.get(f"/messages/{message_id}", {"subString_Start": 3,
                                                  "subString_Length": 7}).json()
    contract.check(message, contract.MESSAGE, "Message")
    assert message["message"] == "are loo"
    assert api.delete(f"/messages/{message_id}").json() == {}
    assert_error(api.get(f"/messages/{message_id}"), 404)


def test_history_of_one_ticket_and_of_all_with_a_cursor(api, account):
    tickets = seed(account, 5)
    with scope(account=account):
        actions.change_status(tickets[0], "R")
    rows = api.get(f"/tickets/{tickets[0].public_id}/history").json()
    contract.check_list(rows, contract.TICKET_HISTORY, "history")
    assert [r["status"] for r in rows] == ["N", "R"] and rows[1]["date_to"] is None
    seen, cursor, pages = [], None, 0
    while True:
        params = {"_perPage": 2, **({"_cursor": cursor} if cursor else {})}
        response = api.get("/tickets/history", params)
        assert response.status_code == 200
        contract.check_list(response.json(), contract.TICKET_HISTORY, "history")
        seen += [r["id"] for r in response.json()]
        pages += 1
        cursor = response.get("next_page_cursor")
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 6 and pages == 3
    count = api.get("/tickets/history/count", {"_filters": '{"status":"R"}'}).json()
    contract.check(count, contract.COUNT)
    assert count == {"count": 1}
    first = api.get("/tickets/history", {"_perPage": 2})
    assert_error(api.get("/tickets/history", {"_perPage": 2, "_sortDir": "DESC",
                                              "_cursor": first["next_page_cursor"]}), 400)
    assert_error(api.get("/tickets/history", {"_cursor": "garbage"}), 400)


def test_attributes(api):
    info = create(api)
    path = f"/api/v3/tickets/{info['id']}/attributes/note"
    note = api.get(path).json()
    contract.check(note, contract.TICKET_ATTRIBUTE)
    assert note == {"id": info["id"], "name": "note", "value": None}
    form = api.client.put(path, data="value=Call+back", content_type=(
        "application/x-www-form-urlencoded"), HTTP_APIKEY=api.key)
    assert form.status_code == 200 and form.json() == {}
    assert api.get(path).json()["value"] == "Call back"
    assert api.put(path, {"value": "Via JSON"}).json() == {}
    assert api.get(path).json()["value"] == "Via JSON"
    assert_error(api.put(path, {}), 400, "value")
    state = f"/tickets/{info['id']}/attributes/inNewOrOpenState"
    assert api.get(state).json()["value"] == "Y"
    assert_error(api.get(f"/tickets/{info['id']}/attributes/nope"), 404)


def test_postpone(api):
    info = create(api)
    response = api.put(f"/tickets/{info['id']}/postpone", {"date_time": "2999-01-01 10:00:00"})
    assert response.status_code == 200 and response.json() == {}
    assert api.get(f"/tickets/{info['id']}").json()["status"] == "W"
    assert_error(api.put(f"/tickets/{info['id']}/postpone",
                         {"date_time": "2000-01-01 10:00:00"}), 400)
    assert_error(api.put(f"/tickets/{info['id']}/postpone", {}), 400, "date_time")


def test_reply_note_and_customer_message_extension(api, account):
    info = create(api)
    reply = api.post(f"/tickets/{info['id']}/messages",
                     {"message": "<p>Fixed</p>", "format": "H", "do_not_send_mail": "Y"})
    assert reply.status_code == 200, reply.content
    contract.check(reply.json(), contract.MESSAGE_GROUP, "MessageGroup")
    assert reply.json()["type"] == "4" and reply.json()["messages"][0]["format"] == "H"
    note = api.post(f"/tickets/{info['id']}/messages", {"message": "Internal", "type": "note"})
    assert note.json()["type"] == "I" and note.json()["messages"][0]["type"] == "N"
    customer = api.post(f"/tickets/{info['id']}/messages",
                        {"message": "Thanks", "useridentifier": "customer@example.org"})
    assert customer.json()["type"] == "3"
    assert api.get(f"/tickets/{info['id']}").json()["status"] == "C"
    assert_error(api.post(f"/tickets/{info['id']}/messages", {"message": " "}), 400)
    assert_error(api.post(f"/tickets/{info['id']}/messages", {"message": "x", "type": "x"}), 400)
    api.delete(f"/tickets/{info['id']}")
    assert_error(api.post(f"/tickets/{info['id']}/messages", {"message": "late"}), 409)


def test_an_idempotency_key_makes_a_retry_safe(api, account):
    info = create(api)
    path = f"/tickets/{info['id']}/messages"
    first = api.post(path, {"message": "Once"}, headers={"Idempotency-Key": "k1"}).json()
    again = api.post(path, {"message": "Once"}, headers={"Idempotency-Key": "k1"}).json()
    assert first == again
    with scope(account=account):
        assert Message.objects.filter(body="Once").count() == 1


def test_every_write_is_audited_with_the_key_as_actor(api, account):
    info = create(api)
    api.put(f"/tickets/{info['id']}", {"subject": "Renamed"})
    with scope(account=account):
        events = AuditEvent.objects.filter(actor_type=AuditEvent.ActorType.API_KEY)
        verbs = sorted(events.values_list("verb", flat=True))
        assert verbs == ["api.ticket.changed", "api.ticket.created"]
        assert all(e.details["api_key_name"] == "Test key" for e in events)


def test_a_read_only_key_cannot_write(account, owner):
    from tests.api.conftest import ApiClient, make_key

    client = ApiClient(account, make_key(account, read_only=True, user=owner))
    assert client.get("/tickets").status_code == 200
    assert_error(client.post("/tickets", NEW_TICKET), 403, "ticket.create")


def test_a_key_with_ticket_read_sees_only_its_agents_tickets(account, agent):
    from tests.api.conftest import ApiClient, make_key

    seed(account, 2)
    client = ApiClient(account, make_key(account, scopes=["ticket.read"], user=agent))
    assert client.get("/tickets").json() == []


def test_copies_and_the_template_choice_reach_the_mail(api, account):
    from saruna.mail.models import OutgoingMail

    info = create(api, do_not_send_mail="N", carbon_copy="boss@example.org",
                  blind_carbon_copies="audit@acme.test", use_template="N")
    api.post(f"/tickets/{info['id']}/messages",
             {"message": "Fixed", "carbon_copies": "a@example.org, b@example.org"})
    with scope(account=account):
        first, reply = OutgoingMail.objects.order_by("pk")
    assert (first.cc, first.bcc, first.use_template) == (
        ["boss@example.org"], ["audit@acme.test"], False)
    assert (reply.cc, reply.bcc, reply.use_template) == (
        ["a@example.org", "b@example.org"], [], True)


def test_a_bad_copy_address_is_a_400_and_nothing_is_made(api, account):
    assert_error(api.post("/tickets", {**NEW_TICKET, "do_not_send_mail": "N",
                                       "carbon_copies": "boss@example.org, nobody"}),
                 400, "nobody")
    assert_error(api.post("/tickets", {**NEW_TICKET, "use_template": "maybe"}), 400,
                 "use_template")
    with scope(account=account):
        assert not Ticket.objects.exists()
