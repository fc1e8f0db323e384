"""Contacts, companies, contact groups and files over the API (§8 to §10, §18)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_scopes import scope

from saruna.contacts.models import Contact
from saruna.tickets.models import Ticket
from tests.api import contract
from tests.api.test_framework import assert_error

pytestmark = pytest.mark.django_db


def test_contact_create_get_patch_put_and_list(api):
    created = api.post("/contacts", {"firstname": "Ann", "lastname": "Lee",
                                     "emails": ["ann@example.org"], "phones": ["+371 2000"],
                                     "id": "ignored1", "gender": "F"})
    assert created.status_code == 200, created.content
    contact = created.json()
    contract.check(contact, contract.CONTACT, "Contact")
    assert contact["system_name"] == "Ann Lee" and contact["id"] != "ignored1"
    assert contact["emails"] == ["ann@example.org"] and contact["type"] == "V"
    group = api.post("/groups", {"name": "VIP", "color": "#000000"}).json()
    contract.check(group, contract.GROUP, "Group")
    patched = api.patch(f"/contacts/{contact['id']}", {"groups": [group["id"]],
                                                      "emails": ["ann@example.org"]}).json()
    assert patched["groups"] == [group["id"]] and patched["firstname"] == "Ann"
    put = api.put(f"/contacts/{contact['id']}", {"city": "Riga"}).json()
    assert put["city"] == "Riga" and put["groups"] == [group["id"]] and put["gender"] == "F"
    listed = api.get("/contacts", {"_sortField": "date_created", "_sortDir": "DESC"}).json()
    contract.check_list(listed, contract.CONTACT, "contacts")
    assert [c["id"] for c in listed] == [contact["id"]]


def test_contact_filters(api):
    for first, mail in (("Ann", "ann@example.org"), ("Bob", "bob@example.org")):
        api.post("/contacts", {"firstname": first, "emails": [mail]})

    def names(filters):
        response = api.get("/contacts", {"_filters": json.dumps(filters)})
        assert response.status_code == 200, response.content
        return sorted(c["firstname"] for c in response.json())

    assert names([["emails", "=", "BOB@example.org"]]) == ["Bob"]
    assert names([["firstname", "LIKE", "%nn%"]]) == ["Ann"]
    assert names({"gender": "X"}) == ["Ann", "Bob"]
    assert names([["datechanged", ">=", "2000-01-01 00:00:00"]]) == ["Ann", "Bob"]
    assert names([["groups", "IE", ""]]) == ["Ann", "Bob"]
    assert_error(api.get("/contacts", {"_filters": '{"owner":"x"}'}), 400, "owner")


def test_contact_errors(api):
    api.post("/contacts", {"emails": ["taken@example.org"]})
    assert_error(api.post("/contacts", {"emails": ["taken@example.org"]}), 409)
    assert_error(api.post("/contacts", {"emails": ["not mail"]}), 400)
    assert_error(api.post("/contacts", {"company_id": "nope1234"}), 400, "nope1234")
    assert_error(api.post("/contacts", {"groups": ["nope1234"]}), 400)
    assert_error(api.get("/contacts/nope1234"), 404)
    assert_error(api.post("/contacts", {"custom_fields": [{"code": "nope", "value": "1"}]}), 400)


def test_register_unregister_and_delete_with_tickets(api, account):
    contact = api.post("/contacts", {"firstname": "Cy", "emails": ["cy@example.org"]}).json()
    registered = api.put(f"/contacts/{contact['id']}/_register",
                         params={"registration_email": "cy@example.org",
                                 "sendRegistrationMail": "False"})
    assert registered.status_code == 200, registered.content
    assert registered.json()["type"] == "R"
    assert registered.json()["registration_email"] == "cy@example.org"
    other = api.post("/contacts", {"firstname": "Di"}).json()
    assert_error(api.put(f"/contacts/{other['id']}/_register",
                         params={"registration_email": "cy@example.org"}), 409)
    unregistered = api.delete(f"/contacts/{contact['id']}/_unregister").json()
    assert unregistered["type"] == "V" and unregistered["registration_email"] is None
    api.post("/tickets", {"useridentifier": "owner@acme.test", "subject": "S",
                          "departmentid": "default", "recipient": "cy@example.org",
                          "message": "M", "do_not_send_mail": "Y"})
    assert api.delete(f"/contacts/{contact['id']}", params={"deleteTickets": "True"}).json() == {}
    assert_error(api.get(f"/contacts/{contact['id']}"), 404)
    with scope(account=account):
        assert Ticket.objects.get().status == "X"
        assert not Contact.objects.filter(public_id=contact["id"]).exists()


def test_companies(api):
    created = api.post("/companies", {"name": "Acme Ltd", "emails": ["info@acme.example"]})
    assert created.status_code == 200, created.content
    company = created.json()
    contract.check(company, contract.COMPANY, "Company")
    assert company["system_name"] == "Acme Ltd"
    contact = api.post("/contacts", {"firstname": "Em", "company_id": company["id"]}).json()
    assert contact["company_id"] == company["id"]
    changed = api.patch(f"/companies/{company['id']}", {"city": "Riga"}).json()
    assert changed["city"] == "Riga" and changed["name"] == "Acme Ltd"
    listed = api.get("/companies", {"_filters": '[["name","L","acme"]]'}).json()
    contract.check_list(listed, contract.COMPANY, "companies")
    assert [c["id"] for c in listed] == [company["id"]]
    assert api.delete(f"/companies/{company['id']}", params={"deleteTickets": "false"}).json() \
        == {}
    assert api.get(f"/contacts/{contact['id']}").json()["company_id"] is None
    assert_error(api.get(f"/companies/{company['id']}"), 404)


def test_groups_answer_arrays_of_one_and_names_are_unique(api):
    group = api.post("/groups", {"name": "Partners"}).json()
    got = api.get(f"/groups/{group['id']}").json()
    assert isinstance(got, list) and got[0]["name"] == "Partners"
    put = api.put(f"/groups/{group['id']}", {"name": "Resellers"}).json()
    assert isinstance(put, list) and put[0]["name"] == "Resellers"
    contract.check_list(api.get("/groups").json(), contract.GROUP, "groups")
    assert_error(api.post("/groups", {"name": "Resellers"}), 409)
    assert_error(api.post("/groups", {}), 400, "name")
    assert api.delete(f"/groups/{group['id']}").json() == {}
    assert_error(api.get(f"/groups/{group['id']}"), 404)


def test_file_upload_and_attach_to_a_new_ticket(api):
    upload = SimpleUploadedFile("notes.txt", b"hello world", content_type="text/plain")
    response = api.client.post("/api/v3/files", {"file": upload}, HTTP_APIKEY=api.key)
    assert response.status_code == 200, response.content
    stored = response.json()
    contract.check(stored, contract.STORED_FILE, "StoredFile")
    assert stored["name"] == "notes.txt" and stored["size"] == 11
    info = api.post("/tickets", {"useridentifier": "owner@acme.test", "subject": "With file",
                                 "departmentid": "default", "recipient": "f@example.org",
                                 "message": "See attached", "attachments": stored["id"],
                                 "do_not_send_mail": "Y"}).json()
    groups = api.get(f"/tickets/{info['id']}/messages").json()
    file_message = next(m for m in groups[0]["messages"] if m["type"] == "F")
    table = dict(json.loads(file_message["message"])[1:])
    assert table["id"] == stored["id"] and table["view_url"] == f"/files/{stored['id']}/view"
    assert_error(api.client.post("/api/v3/files", {}, HTTP_APIKEY=api.key), 400, "file")


def test_file_too_large_is_413(api, settings):
    settings.SARUNA_MAX_ATTACHMENT_BYTES = 10
    upload = SimpleUploadedFile("big.bin", b"x" * 20)
    assert_error(api.client.post("/api/v3/files", {"file": upload}, HTTP_APIKEY=api.key), 413)
