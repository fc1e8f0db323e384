"""Tenant A's online visitor and an invitation to them, for the isolation walk
(tests/test_isolation_walk.py): made once per walk and kept on its ``AlphaObjects``."""

from django.test import Client
from django_scopes import scope

from saruna.visitors import actions
from tests.chat.helpers import put_online
from tests.visitors.helpers import beat, new_token


def _alpha(objects):
    if not hasattr(objects, "visitors"):
        a = objects.pair.a
        token = new_token(a)
        beat(Client(HTTP_HOST=a.host), token, url="https://alpha.test/", title="Alpha page")
        visitor_id = token.split(".")[0]
        put_online(objects.pair.agent_a)  # an agent invites while they could take the chat
        with scope(account=a):
            invitation = actions.invite_visitor(a, visitor_id, text="Alpha invitation",
                                                agent=objects.pair.agent_a)
            rule = actions.save_invitation_rule(a, None, {"name": "Alpha rule",
                                                          "text": "Alpha rule text"})
        objects.visitors = {"visitor": visitor_id, "invitation": invitation.public_id,
                            "rule": rule.public_id}
    return objects.visitors


def visitor_id(objects) -> dict:
    return {"visitor_id": _alpha(objects)["visitor"]}


def invitation_id(objects) -> dict:
    return {"invitation_id": _alpha(objects)["invitation"]}


def rule_id(objects) -> dict:
    return {"rule_id": _alpha(objects)["rule"]}
