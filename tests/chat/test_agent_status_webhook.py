"""An agent's chat status changing (online, away, offline; per department) is announced to
webhooks as ``agent.status_changed``."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.chat import actions
from saruna.tickets import actions as ticket_actions
from saruna.tickets.models import Department
from saruna.webhooks.models import Delivery, Webhook
from tests.chat.helpers import put_online
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def announced(account) -> list[dict]:
    with scope(account=account):
        return [json.loads(d.body)["data"] for d in Delivery.objects.filter(
            event="agent.status_changed").order_by("pk")]


def test_status_changes_reach_webhooks_and_repeats_do_not(account, agent):
    with scope(account=account):
        Webhook.objects.create(account=account, url="http://127.0.0.1:9/hook",
                               events=["agent.status_changed"])
        sales = Department.objects.create(account=account, public_id="sales", name="Sales")
        sales.agents.add(agent)
    put_online(agent)
    with scope(account=account):
        default = ticket_actions.default_department(account).public_id
    assert announced(account) == [{"id": agent.pk, "name": agent.full_name, "status": "online",
                                   "departments": {default: "online", "sales": "online"}}]

    with scope(account=account):
        actions.set_agent_status(agent, "online")  # no change: nothing to announce
        actions.set_agent_status(agent, departments={"sales": "away"})
        actions.set_agent_status(agent, "offline")
    assert [(a["status"], a["departments"]) for a in announced(account)[1:]] == [
        ("online", {default: "online", "sales": "away"}),
        ("offline", {default: "offline", "sales": "away"}),
    ]


def test_no_webhook_listening_stores_nothing(account, agent):
    other = make_user(account, "other@acme.test")
    put_online(agent, other)
    assert announced(account) == []
