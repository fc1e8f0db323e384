"""A contact's changes, merge and deletion reach a receiver as ``contact.updated`` and
``contact.deleted``, with the contact as the API shows it."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.contacts.models import Contact
from saruna.webhooks import actions
from tests.api.conftest import ApiClient, make_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def contact_hook(account, receiver, on_premise):
    with scope(account=account):
        return actions.create_webhook(account, url=receiver.url(), events=[
            "contact.updated", "contact.deleted"])


@pytest.fixture
def cleo(account):
    with scope(account=account):
        return contacts.create_contact(account, firstname="Cleo", emails=["cleo@example.com"])


def bodies(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.requests]


def test_a_change_is_posted_with_the_contact_as_it_is_now(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        # As the API passes it: with its addresses prefetched before they are replaced.
        prefetched = Contact.objects.prefetch_related("emails").get(pk=cleo.pk)
        prefetched.email_list()
        contacts.update_contact(prefetched, actor=owner, lastname="Customer",
                                emails=["cleo@shop.example", "cleo@example.com"])
    (posted,) = bodies(receiver)
    assert posted["event"] == "contact.updated"
    assert posted["data"]["changed"] == ["emails", "lastname"]
    contact = posted["data"]["contact"]
    assert (contact["id"], contact["firstname"], contact["lastname"]) == (
        cleo.public_id, "Cleo", "Customer")
    assert contact["emails"] == ["cleo@shop.example", "cleo@example.com"]


def test_a_change_that_fails_sends_nothing(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    with scope(account=account):
        contacts.create_contact(account, firstname="Dan", emails=["dan@example.com"])
    with (django_capture_on_commit_callbacks(execute=True), scope(account=account),
          pytest.raises(contacts.ActionError)):
        contacts.update_contact(cleo, actor=owner, emails=["dan@example.com"])
    assert receiver.requests == []


def test_registering_for_the_portal_is_a_change(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        contacts.register(cleo, "cleo@example.com", actor=owner)
    (posted,) = bodies(receiver)
    assert posted["data"]["changed"] == ["registration_email", "type"]
    assert posted["data"]["contact"]["type"] == "R"
    assert posted["data"]["contact"]["registration_email"] == "cleo@example.com"


def test_a_deletion_is_posted_with_the_contact_as_it_was(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        contacts.delete_contact(cleo, actor=owner)
        assert not Contact.objects.filter(pk=cleo.pk).exists()
    (posted,) = bodies(receiver)
    assert posted["event"] == "contact.deleted"
    assert posted["data"]["merged_into"] is None
    assert posted["data"]["contact"]["id"] == cleo.public_id
    assert posted["data"]["contact"]["emails"] == ["cleo@example.com"]


def test_a_merge_updates_the_survivor_and_deletes_the_other(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    with scope(account=account):
        twin = contacts.create_contact(account, firstname="Cleo", lastname="Customer",
                                       emails=["c.customer@example.com"])
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        contacts.merge_contacts(cleo, twin, actor=owner)
    updated, deleted = bodies(receiver)
    assert (updated["event"], updated["data"]["changed"]) == ("contact.updated", ["merged"])
    assert updated["data"]["contact"]["lastname"] == "Customer"
    assert updated["data"]["contact"]["emails"] == ["cleo@example.com", "c.customer@example.com"]
    assert deleted["event"] == "contact.deleted"
    assert deleted["data"]["contact"]["id"] == twin.public_id
    assert deleted["data"]["merged_into"] == cleo.public_id


def test_api_writes_send_the_events(
    account, owner, cleo, contact_hook, receiver, django_capture_on_commit_callbacks
):
    api = ApiClient(account, make_key(account, user=owner))
    with django_capture_on_commit_callbacks(execute=True):
        assert api.put(f"/contacts/{cleo.public_id}", {"job_position": "Buyer"}).status_code == 200
        assert api.delete(f"/contacts/{cleo.public_id}").status_code == 200
    assert [b["event"] for b in bodies(receiver)] == ["contact.updated", "contact.deleted"]
    assert bodies(receiver)[0]["data"]["contact"]["job_position"] == "Buyer"
