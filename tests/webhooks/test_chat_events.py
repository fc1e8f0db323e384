"""Chats starting and ending and conversions reported by the web site reach webhooks."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.chat import actions as chat_actions
from saruna.visitors import actions as visitor_actions
from saruna.webhooks import actions
from tests.chat.helpers import make_button, put_online, start

pytestmark = pytest.mark.django_db


@pytest.fixture
def chat_hook(account, owner, receiver, on_premise):
    with scope(account=account):
        return actions.create_webhook(account, url=receiver.url(), events=[
            "chat.started", "chat.ended", "conversion.created"])


def bodies(receiver) -> list[dict]:
    return [json.loads(r.body) for r in receiver.requests]


def test_a_chat_start_and_end_are_posted(
    account, agent, chat_hook, receiver, django_capture_on_commit_callbacks
):
    put_online(agent)
    button = make_button(account)
    with django_capture_on_commit_callbacks(execute=True):
        chat = start(button, "Is the shop open on Sunday?")
    (started,) = bodies(receiver)
    assert started["event"] == "chat.started"
    assert started["data"]["chat"]["id"] == chat.ticket.public_id
    assert started["data"]["chat"]["preview"] == "Is the shop open on Sunday?"
    assert started["data"]["ticket"]["status"] == "T"
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        chat_actions.end_chat(chat, by="visitor")
    ended = bodies(receiver)[1]
    assert (ended["event"], ended["data"]["reason"]) == ("chat.ended", "visitor")
    assert ended["data"]["chat"]["rstatus"] == "R"


def test_a_conversion_is_posted_with_its_credited_chat(
    account, agent, chat_hook, receiver, django_capture_on_commit_callbacks
):
    put_online(agent)
    chat = start(make_button(account))
    receiver.requests.clear()
    with django_capture_on_commit_callbacks(execute=True), scope(account=account):
        visitor_actions.record_conversion(
            account, order_id="A-1001", value="49.90", currency="eur", visitor=chat.visitor)
        # The same order again is not a new conversion.
        visitor_actions.record_conversion(account, order_id="A-1001", visitor=chat.visitor)
    (posted,) = bodies(receiver)
    conversion = posted["data"]["conversion"]
    assert posted["event"] == "conversion.created"
    assert (conversion["order_id"], conversion["value"], conversion["currency"]) == (
        "A-1001", "49.90", "EUR")
    assert conversion["chatid"] == chat.public_id
    assert posted["data"]["contact"]["id"] == chat.ticket.owner.public_id
