"""Plain-SQL row writes (``saruna.core.rows``) store what ``save()`` would, for the models
that use them."""

import datetime as dt

import pytest
from django.db.models import Model
from django.db.models.signals import post_save, pre_save
from django.utils import timezone
from django_scopes import scope

from saruna.chat.models import ChatMessage
from saruna.core import rows
from saruna.tickets.models import Message, Ticket
from tests.chat.helpers import make_button, put_online, start


@pytest.mark.parametrize("model", [Message, ChatMessage, Ticket])
def test_the_models_written_this_way_have_nothing_that_save_would_run(model):
    assert not pre_save.has_listeners(model) and not post_save.has_listeners(model)
    own_saves = {cls for cls in model.__mro__ if "save" in vars(cls)} - {Model}
    # A ticket's public id is made in save() when missing; rows.update never needs it.
    assert own_saves <= ({model.__mro__[1]} if model is Ticket else set())


@pytest.mark.django_db
def test_an_inserted_row_reads_back_as_saved_and_an_update_writes_only_its_columns(
        account, agent):
    put_online(agent)
    chat = start(make_button(account))
    with scope(account=account):
        ticket = Ticket.objects.get(pk=chat.ticket_id)
        group = ticket.groups.first()
        line = rows.insert(Message(account_id=account.pk, group=group, body="Hi", text="Hi",
                                   author_user=agent))
        stored = Message.objects.get(pk=line.pk)
        assert (stored.body, stored.author_user, stored.group, stored.type, stored.format) == (
            "Hi", agent, group, Message.type.field.default, Message.format.field.default)
        assert abs(stored.datecreated - timezone.now()) < dt.timedelta(seconds=5)
        assert not line._state.adding

        subject = ticket.subject
        ticket.subject = "not written"
        ticket.last_activity = timezone.now() + dt.timedelta(hours=1)
        rows.update(ticket, ("last_activity",))
        ticket.refresh_from_db()
        assert ticket.subject == subject
        assert ticket.last_activity > timezone.now() + dt.timedelta(minutes=59)
