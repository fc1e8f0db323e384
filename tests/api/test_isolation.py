"""Two tenants, each with its own key: nothing of A is readable, changeable or deletable with
B's key on B's host; every such attempt is a 404 exactly like a missing object."""

from __future__ import annotations

import pytest
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.tickets import actions as tickets

pytestmark = pytest.mark.django_db


def test_b_reaches_nothing_of_a(api_pair):
    a, b = api_pair
    with scope(account=a.account):
        company = contacts.create_company(a.account, name="Alpha Ltd")
        contact = contacts.create_contact(a.account, firstname="Alpha", emails=["x@alpha.test"])
        group = contacts.save_contact_group(a.account, name="Alpha group")
        ticket = tickets.open_ticket(a.account, "Alpha ticket", "Alpha body", contact)
        message = ticket.groups.get().messages.get()
    paths = [
        ("GET", f"/tickets/{ticket.public_id}"), ("GET", f"/tickets/{ticket.code}"),
        ("PUT", f"/tickets/{ticket.public_id}"), ("DELETE", f"/tickets/{ticket.public_id}"),
        ("GET", f"/tickets/{ticket.public_id}/messages"),
        ("POST", f"/tickets/{ticket.public_id}/messages"),
        ("GET", f"/tickets/{ticket.public_id}/history"),
        ("GET", f"/tickets/{ticket.public_id}/attributes/note"),
        ("PUT", f"/tickets/{ticket.public_id}/postpone"),
        ("GET", f"/messages/{message.pk}"), ("DELETE", f"/messages/{message.pk}"),
        ("GET", f"/contacts/{contact.public_id}"), ("PATCH", f"/contacts/{contact.public_id}"),
        ("DELETE", f"/contacts/{contact.public_id}"),
        ("GET", f"/companies/{company.public_id}"), ("PUT", f"/companies/{company.public_id}"),
        ("GET", f"/groups/{group.public_id}"), ("DELETE", f"/groups/{group.public_id}"),
    ]
    bodies = {"PUT": {"subject": "Hacked", "date_time": "2999-01-01 00:00:00"},
              "PATCH": {"firstname": "Hacked"}, "POST": {"message": "Hacked"}}
    for method, path in paths:
        other = b.call(method, path, json_body=bodies.get(method))
        assert other.status_code == 404, f"B: {method} {path}: {other.status_code}"
        assert b"Alpha" not in other.content
    for path in ("/tickets", "/contacts", "/companies", "/groups", "/tickets/history"):
        assert b.get(path).json() == [], path
    # The same paths are real for A, and nothing of A changed.
    for method, path in paths:
        if method == "GET":
            assert a.get(path).status_code == 200, path
    with scope(account=a.account):
        ticket.refresh_from_db()
        assert ticket.subject == "Alpha ticket" and ticket.status == "N"
        assert ticket.groups.count() == 1 and ticket.groups.get().messages.exists()
        contact.refresh_from_db()
        assert contact.firstname == "Alpha"
        assert company.__class__.objects.filter(pk=company.pk).exists()
        assert group.__class__.objects.filter(pk=group.pk).exists()
