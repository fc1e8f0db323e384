"""A visitor who accepts an agent's invitation chats with that agent, whatever the agent's
departments; when the agent does not answer, the chat moves on to the button's department."""

from datetime import timedelta

from django_scopes import scope

from saruna.chat import actions
from saruna.chat.models import Ring
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import ChannelType
from saruna.visitors import actions as visitor_actions
from tests.chat.helpers import make_button, new_visitor, put_online
from tests.factories import make_user
from tests.visitors.helpers import beat, tracker


def _invited(account, agent, django_capture_on_commit_callbacks):
    token, visitor = new_visitor(account)
    beat(tracker(account), token)
    with scope(account=account), django_capture_on_commit_callbacks(execute=True):
        invitation = visitor_actions.invite_visitor(account, visitor.public_id, text="Hi!",
                                                    agent=agent)
    return visitor, invitation


def _ringing(chat):
    return sorted(Ring.objects.filter(chat=chat, outcome="ringing").values_list(
        "user__email", flat=True))


def test_the_inviting_agent_is_rung_first_and_alone(account, agent, settings,
                                                      django_capture_on_commit_callbacks):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True
    settings.SARUNA_TRACKING_FLUSH_SECONDS = 0
    ben = make_user(account, "ben@acme.test")
    with scope(account=account):
        sales = ticket_actions.save_department(account, None, name="Sales")
    put_online(agent, department=sales)  # Anna works for Sales only
    put_online(ben)  # Ben answers the button's department
    button = make_button(account)
    visitor, invitation = _invited(account, agent, django_capture_on_commit_callbacks)
    with scope(account=account):
        chat, _ = actions.start_chat(button, visitor, message="Yes please",
                                     client_id="c1", invitation=invitation.public_id)
        assert chat.ticket.channel_type == ChannelType.INVITATION
        assert _ringing(chat) == [agent.email]
        ring = Ring.objects.get(chat=chat)
        actions.expire_ring(ring.pk, now=ring.expires + timedelta(seconds=1))
        assert _ringing(chat) == [ben.email]


def test_nobody_in_the_department_but_the_inviter_is_there(
        account, agent, settings, django_capture_on_commit_callbacks):
    settings.SARUNA_TRUST_X_FORWARDED_FOR = True
    settings.SARUNA_TRACKING_FLUSH_SECONDS = 0
    with scope(account=account):
        sales = ticket_actions.save_department(account, None, name="Sales")
    put_online(agent, department=sales)
    button = make_button(account)
    visitor, invitation = _invited(account, agent, django_capture_on_commit_callbacks)
    with scope(account=account):
        chat, _ = actions.start_chat(button, visitor, message="Yes please",
                                     client_id="c1", invitation=invitation.public_id)
        actions.accept_ring(chat, agent)
        chat.refresh_from_db()
        assert chat.agent == agent
