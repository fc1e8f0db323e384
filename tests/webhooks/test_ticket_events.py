"""A ticket moved to the trash reaches a receiver as ``ticket.deleted``; a webhook may
subscribe to ``ping`` alone (E.2 lists it) and then gets only tests."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.tickets import actions as tickets
from saruna.webhooks import actions

pytestmark = pytest.mark.django_db


def test_a_ticket_moved_to_the_trash_is_announced_as_deleted(
    account, owner, receiver, on_premise, django_capture_on_commit_callbacks
):
    with scope(account=account):
        actions.create_webhook(account, url=receiver.url(), events=["ticket.deleted"])
        cleo = contacts.create_contact(account, firstname="Cleo", emails=["cleo@example.com"])
        ticket = tickets.open_ticket(account, "Printer on fire", "Help", cleo)
        with django_capture_on_commit_callbacks(execute=True):
            tickets.change_status(ticket, "R", actor=owner)  # not a deletion: nothing
        with django_capture_on_commit_callbacks(execute=True):
            tickets.change_status(ticket, "X", actor=owner)
    (posted,) = [json.loads(r.body) for r in receiver.requests]
    assert posted["event"] == "ticket.deleted"
    assert (posted["data"]["ticket"]["id"], posted["data"]["ticket"]["status"]) == (
        ticket.public_id, "X")


def test_a_webhook_may_subscribe_to_ping_alone(account, receiver, on_premise):
    with scope(account=account):
        webhook = actions.create_webhook(account, url=receiver.url(), events=["ping"])
        assert webhook.events == ["ping"]
        with pytest.raises(actions.ActionError, match="Unknown event"):
            actions.create_webhook(account, url=receiver.url(), events=["pong"])
