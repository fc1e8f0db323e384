"""Fixtures for the help desk core, imported by the conftest of tests/tickets and
tests/contacts. ``scoped`` activates the ``account`` scope for the whole test."""

import pytest
from django_scopes import scope

from saruna.contacts import actions as contact_actions
from saruna.tickets import actions


@pytest.fixture
def scoped(account):
    with scope(account=account):
        yield account


@pytest.fixture
def customer(scoped):
    return contact_actions.create_contact(
        scoped, firstname="Cleo", lastname="Customer", emails=["cleo@example.com"]
    )


@pytest.fixture
def ticket(scoped, customer):
    return actions.open_ticket(scoped, "Printer on fire", "It is <b>really</b> on fire.", customer)
