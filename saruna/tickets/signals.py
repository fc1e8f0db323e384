"""Signals other channels listen to, so the help desk core needs no knowledge of them."""

from dataclasses import dataclass

from django.dispatch import Signal

# Sent inside the transaction that stores an agent's reply (kwargs: ``group``, ``mail``: a
# ``MailOptions``), so that a channel (e-mail) can store what it must deliver atomically with
# the reply itself.
agent_replied = Signal()


@dataclass(frozen=True)
class MailOptions:
    """How an agent's reply is mailed: copies to ``cc`` (seen by all) and ``bcc`` (hidden),
    and ``use_template`` False for the bare text without the help desk's header and footer."""

    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    use_template: bool = True


DEFAULT_MAIL = MailOptions()
