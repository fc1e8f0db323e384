"""Builders for chat tests: a button in an account's default department, agents online in
it, visitors with tokens, chats started through the actions."""

from __future__ import annotations

from django_scopes import scope

from saruna.chat import actions, queries
from saruna.chat.models import Chat, ChatButton
from saruna.tickets import actions as ticket_actions
from saruna.visitors.identity import issue_visitor_token, visitor_for_token


def make_button(account, **fields) -> ChatButton:
    with scope(account=account):
        return actions.save_chat_button(account, name=fields.pop("name", "Website"), **fields)


def put_online(*agents, status: str = "online", department=None):
    """Agents join the department (the account's default) and go online."""
    for agent in agents:
        with scope(account=agent.account):
            target = department or ticket_actions.default_department(agent.account)
            target.agents.add(agent)
            actions.set_agent_status(agent, status)


def configure(account, **fields):
    with scope(account=account):
        return actions.save_chat_settings(account, **fields)


def new_visitor(account):
    token = issue_visitor_token(account)
    with scope(account=account):
        return token, visitor_for_token(account, token)


def start(button: ChatButton, message: str = "Hello", *, client_id: str = "first",
          **kwargs) -> Chat:
    _token, visitor = new_visitor(button.account)
    with scope(account=button.account):
        chat, _created = actions.start_chat(button, visitor, message=message,
                                            client_id=client_id, **kwargs)
        chat.refresh_from_db()
        return chat


def reload(chat: Chat) -> Chat:
    with scope(account=chat.account):
        return Chat.objects.select_related(*queries.SUMMARY_RELATED).get(pk=chat.pk)
