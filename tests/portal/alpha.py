"""Tenant A's contact form, ticket link (with a file) and magic link for the isolation walk
(tests/test_isolation_walk.py), made once per walk and kept on its ``AlphaObjects``."""

from django.core import signing
from django_scopes import scope

from saruna.contactforms import actions as form_actions
from saruna.contacts.actions import create_contact
from saruna.portal import login
from saruna.tickets.actions import attach_file, open_ticket, store_file


def _alpha(objects):
    if not hasattr(objects, "portal"):
        a = objects.pair.a
        with scope(account=a):
            contact = create_contact(a, firstname="Alpha", emails=["customer@alpha.test"])
            ticket = open_ticket(a, "Alpha ticket", "Alpha message", contact)
            stored = store_file(a, "alpha.txt", b"Alpha file")
            attach_file(ticket.groups.get(), stored)
            objects.portal = {
                "form": form_actions.save_contact_form(a, name="Alpha form"),
                "ticket": ticket,
                "file": stored,
                "token": signing.dumps({"a": a.pk, "c": contact.pk, "n": "walk"}, salt=login.SALT),
            }
    return objects.portal


def form_id(objects) -> dict:
    return {"form_id": _alpha(objects)["form"].public_id}


def ticket_link(objects) -> dict:
    return {"urlcode": _alpha(objects)["ticket"].public_access_urlcode}


def ticket_file(objects) -> dict:
    return {**ticket_link(objects), "file_id": _alpha(objects)["file"].public_id}


def login_link(objects) -> dict:
    return {"token": _alpha(objects)["token"]}
