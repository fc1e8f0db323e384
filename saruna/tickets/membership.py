"""Department membership that follows from joining an account.

An agent sees only the tickets of their departments (``queries.visible_tickets``), so a new
agent in no department would start with an empty inbox. Every new user therefore joins the
account's ``default`` department; administrators can move them afterwards.
"""

from __future__ import annotations

from django.db import transaction

from saruna.accounts.models import User
from saruna.tickets.actions import default_department
from saruna.tickets.models import Department


def join_default_department(user: User) -> Department:
    """Adds ``user`` to the account's default department (created if missing) and answers
    it; joining twice changes nothing. Call it inside the transaction that creates the user
    (accepting an invitation, creating an account), with the account's scope active."""
    if user.account is None:
        raise ValueError("provider staff belong to no department")
    with transaction.atomic():
        department = default_department(user.account)
        department.agents.add(user)  # adding an existing member is a no-op
    return department
