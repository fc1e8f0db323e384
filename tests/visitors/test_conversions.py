"""Conversions: credited to the visitor's chat in the window, its agent and department;
duplicates ignored; the GA4 Measurement Protocol gets the event when configured, and the
chat and invitation events with the same client id."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from saruna.chat import actions as chat_actions
from saruna.chat.models import Chat
from saruna.contacts.common import ActionError
from saruna.visitors import actions
from saruna.visitors.models import Conversion
from tests.chat.helpers import make_button, put_online, start
from tests.factories import make_user
from tests.tenancy import host_client
from tests.visitors.helpers import beat, new_token, tracker


@pytest.fixture
def button(account, agent):
    put_online(agent)
    return make_button(account)


def _chat(button, agent, days_ago: float) -> Chat:
    chat = start(button)
    with scope(account=button.account):
        Chat.objects.filter(pk=chat.pk).update(
            agent=agent, date_queued=timezone.now() - timedelta(days=days_ago))
        chat.refresh_from_db()
    return chat


def _second_chat_of(visitor, button, agent, days_ago: float) -> Chat:
    chat = _chat(button, agent, days_ago)
    with scope(account=button.account):
        Chat.objects.filter(pk=chat.pk).update(visitor=visitor, status="ended")
    return chat


def test_the_last_chat_in_the_window_wins(account, agent, button):
    colleague = make_user(account, "colleague@acme.test")
    old = _chat(button, colleague, days_ago=40)
    with scope(account=account):
        Chat.objects.filter(pk=old.pk).update(status="ended")
    visitor = old.visitor
    first = _second_chat_of(visitor, button, colleague, days_ago=10)
    last = _second_chat_of(visitor, button, agent, days_ago=2)
    with scope(account=account):
        conversion, created = actions.record_conversion(
            account, visitor=visitor, order_id="order-1", value="49.90", currency="eur")
    assert created and conversion.value_minor == 4990 and conversion.currency == "EUR"
    assert conversion.chat_public_id == last.public_id and conversion.agent == agent
    assert conversion.department_public_id == last.department.public_id
    with scope(account=account):
        actions.save_tracking_settings(account, {"attribution_model": "first"})
        first_touch, _ = actions.record_conversion(account, visitor=visitor, order_id="order-2")
    assert first_touch.chat_public_id == first.public_id and first_touch.agent == colleague


def test_outside_the_window_nothing_is_credited(account, agent, button):
    chat = _chat(button, agent, days_ago=31)
    with scope(account=account):
        conversion, _ = actions.record_conversion(account, visitor=chat.visitor, order_id="o")
    assert conversion.chat_public_id == "" and conversion.agent is None


def test_a_contact_converting_on_the_back_end_is_credited(account, agent, button):
    chat = _chat(button, agent, days_ago=1)
    with scope(account=account):
        contact = Chat.objects.get(pk=chat.pk).visitor.contact
        conversion, _ = actions.record_conversion(account, contact=contact, order_id="b-1",
                                                  value=10)
    assert contact is not None and conversion.chat_public_id == chat.public_id


def test_duplicates_by_id_are_ignored(account, agent, button):
    chat = _chat(button, agent, days_ago=1)
    with scope(account=account):
        first, created = actions.record_conversion(account, visitor=chat.visitor,
                                                   order_id="dup", value=5)
        again, created_again = actions.record_conversion(account, visitor=chat.visitor,
                                                         order_id="dup", value=500)
        assert (created, created_again, again.pk) == (True, False, first.pk)
        assert Conversion.objects.count() == 1


@pytest.mark.parametrize("fields", [
    {"order_id": ""}, {"order_id": "x" * 101}, {"order_id": "a", "value": "lots"},
    {"order_id": "a", "value": -1}, {"order_id": "a", "currency": "euro"},
])
def test_bad_conversions_are_refused(account, agent, button, fields):
    chat = _chat(button, agent, days_ago=1)
    with scope(account=account), pytest.raises(ActionError):
        actions.record_conversion(account, visitor=chat.visitor, **fields)
    with scopes_disabled():
        assert not Conversion.objects.exists()


def test_the_widget_endpoint_answers_with_the_attribution(account, agent, button):
    from saruna.visitors.identity import issue_visitor_token, visitor_for_token

    token = issue_visitor_token(account)
    with scope(account=account):
        visitor = visitor_for_token(account, token)
    _second_chat_of(visitor, button, agent, days_ago=0.1)
    client = host_client(account)
    body = json.dumps({"token": token, "id": "web-7", "value": 12.5, "currency": "EUR"})
    response = client.post("/widget/conversion/", body, content_type="text/plain")
    assert response.status_code == 200
    assert response.json()["agent"] == agent.full_name and response.json()["value"] == 12.5
    assert response["Access-Control-Allow-Origin"] == "*"


class _FakeGA(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        _FakeGA.received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_ga(account, settings):
    """A local stand-in for GA4's Measurement Protocol endpoint, and the account set up
    for it."""
    server = HTTPServer(("127.0.0.1", 0), _FakeGA)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.SARUNA_GA_ENDPOINT = f"http://127.0.0.1:{server.server_port}/mp/collect"
    _FakeGA.received.clear()
    with scope(account=account):
        actions.save_tracking_settings(account, {"ga_measurement_id": "G-TEST1",
                                                 "ga_api_secret": "s3cret"})
    yield _FakeGA.received
    server.shutdown()


def test_the_measurement_protocol_gets_the_conversion(account, agent, button, fake_ga):
    chat = _chat(button, agent, days_ago=1)
    with scope(account=account):
        from saruna.visitors.tasks import send_conversion_to_ga

        conversion, _ = actions.record_conversion(account, visitor=chat.visitor,
                                                  order_id="ga-1", value="20")
    send_conversion_to_ga.call_local(account.pk, conversion.pk)
    path, body = fake_ga[-1]
    assert "measurement_id=G-TEST1" in path and "api_secret=s3cret" in path
    event = body["events"][0]
    assert event["name"] == "saruna_conversion"
    assert event["params"]["transaction_id"] == "ga-1" and event["params"]["value"] == 20
    assert event["params"]["saruna_agent"] == agent.full_name


def test_the_measurement_protocol_gets_chats_starting_and_ending(
        account, agent, button, fake_ga, django_capture_on_commit_callbacks):
    chat = _chat(button, agent, days_ago=0)
    with scope(account=account), django_capture_on_commit_callbacks(execute=True):
        actions.chat_started(chat)
        actions.chat_ended(chat)
    assert [(body["client_id"], body["events"][0]["name"]) for _path, body in fake_ga] == [
        (chat.visitor.public_id, "saruna_chat_started"),
        (chat.visitor.public_id, "saruna_chat_ended")]
    params = fake_ga[-1][1]["events"][0]["params"]
    assert (params["saruna_chat"], params["saruna_agent"]) == (chat.public_id, agent.full_name)


def test_without_measurement_protocol_settings_no_chat_event_is_sent(
        account, agent, button, django_capture_on_commit_callbacks):
    chat = _chat(button, agent, days_ago=0)
    with scope(account=account), django_capture_on_commit_callbacks() as sent:
        actions.chat_started(chat)
    assert sent == []


def test_the_measurement_protocol_gets_an_invitation_shown_and_accepted_once(
        account, agent, button, fake_ga, django_capture_on_commit_callbacks):
    token, client = new_token(account), tracker(account)
    visitor_id = token.split(".")[0]
    beat(client, token)
    with scope(account=account), django_capture_on_commit_callbacks(execute=True):
        invitation = actions.invite_visitor(account, visitor_id, text="Hi", agent=agent)
    with django_capture_on_commit_callbacks(execute=True):
        assert beat(client, token, event="ping").json()["invitation"]["id"] == (
            invitation.public_id)
    with scope(account=account), django_capture_on_commit_callbacks(execute=True):
        chat, _created = chat_actions.start_chat(button, invitation.visitor, message="Hello",
                                                 client_id="first",
                                                 invitation=invitation.public_id)
        actions.accept_invitation(account, invitation.visitor, invitation.public_id)  # again
    assert [(body["client_id"], body["events"][0]["name"]) for _path, body in fake_ga] == [
        (visitor_id, "saruna_invitation_shown"), (visitor_id, "saruna_invitation_accepted"),
        (visitor_id, "saruna_chat_started")]
    shown, accepted, started = (body["events"][0]["params"] for _path, body in fake_ga)
    assert shown == accepted == {"saruna_invitation": invitation.public_id,
                                 "saruna_agent": agent.full_name, "saruna_rule": ""}
    assert started["saruna_invitation"] == invitation.public_id == chat.invitation_id
