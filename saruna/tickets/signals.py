"""Signals other channels listen to, so the help desk core needs no knowledge of them."""

from django.dispatch import Signal

# Sent inside the transaction that stores an agent's reply (kwargs: ``group``), so that a
# channel (e-mail) can store what it must deliver atomically with the reply itself.
agent_replied = Signal()
