"""Tenant A's chat button and a chat with a file, for the isolation walk
(tests/test_isolation_walk.py): made once per walk and kept on its ``AlphaObjects``."""

from django_scopes import scope

from saruna.chat import actions, queries
from saruna.chat.models import MessageKind
from saruna.tickets import actions as ticket_actions
from saruna.visitors.identity import issue_visitor_token, visitor_for_token


def _alpha(objects):
    if not hasattr(objects, "chat_server"):
        a = objects.pair.a
        with scope(account=a):
            ticket_actions.default_department(a).agents.add(objects.pair.agent_a)
            actions.set_agent_status(objects.pair.agent_a, "online")
            button = actions.save_chat_button(a, name="Alpha button")
            chat, _new = actions.start_chat(
                button, visitor_for_token(a, issue_visitor_token(a)), message="Alpha hello",
                client_id="alpha-1",
            )
            message, _new = actions.upload_file(chat, "alpha.txt", b"Alpha file",
                                                kind=MessageKind.VISITOR, client_id="alpha-2")
            assert message.file is not None
            objects.chat_server = {
                "button": button.public_id, "chat": chat.public_id,
                "file": message.file.public_id,
                "signature": queries.file_signature(chat, message.file.public_id),
            }
    return objects.chat_server


def button_id(objects) -> dict:
    return {"button_id": _alpha(objects)["button"]}


def chat_id(objects) -> dict:
    return {"chat_id": _alpha(objects)["chat"]}


def file_link(objects) -> dict:
    alpha = _alpha(objects)
    return {"chat_id": alpha["chat"], "file_id": alpha["file"], "signature": alpha["signature"]}
