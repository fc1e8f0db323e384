"""Events from the help desk reach a real receiver, signed; failures are retried on the
backoff schedule, logged, and in the end switch the webhook off."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from saruna.contacts import actions as contacts
from saruna.tickets import actions as tickets
from saruna.webhooks import actions, delivery
from saruna.webhooks.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, as docs/webhooks.md shows it."""
    signed = headers["X-Webhook-Timestamp"].encode() + b"." + body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Webhook-Signature"])


@pytest.fixture
def committing(django_capture_on_commit_callbacks):
    """Runs the on-commit callbacks (the delivery tasks) when each block ends."""
    def block():
        return django_capture_on_commit_callbacks(execute=True)
    return block


def open_ticket(account, committing):
    with committing(), scope(account=account):
        customer = contacts.create_contact(account, firstname="Cleo", emails=["cleo@example.com"])
        return tickets.open_ticket(account, "Printer on fire", "It is on fire.", customer)


def events(receiver) -> list[str]:
    return [json.loads(r.body)["event"] for r in receiver.requests]


def test_a_new_ticket_is_posted_signed_after_the_commit(account, webhook, receiver, committing):
    account.time_zone = "Europe/Riga"
    account.save()
    with committing(), scope(account=account), transaction.atomic():
        customer = contacts.create_contact(account, firstname="Cleo", emails=["cleo@example.com"])
        ticket = tickets.open_ticket(account, "Printer on fire", "It is on fire.", customer)
        assert receiver.requests == []  # nothing leaves before the commit
    assert events(receiver) == ["contact.created", "ticket.created"]
    request = receiver.requests[1]
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Webhook-Event"] == "ticket.created"
    assert verify(webhook.secret, request.headers, request.body)
    assert not verify("another secret", request.headers, request.body)
    body = json.loads(request.body)
    assert body["id"] == request.headers["X-Webhook-Id"]
    assert body["account"] == account.pk
    data = body["data"]
    assert data["ticket"]["id"] == ticket.public_id and data["ticket"]["code"] == ticket.code
    assert data["ticket"]["owner_email"] == "cleo@example.com"
    assert data["ticket"]["status"] == "N"
    local = timezone.localtime(ticket.date_created, timezone=__import__("zoneinfo").ZoneInfo(
        "Europe/Riga"))
    assert data["ticket"]["date_created"] == local.strftime("%Y-%m-%d %H:%M:%S")
    assert data["message_group"]["messages"][0]["message"] == "It is on fire."
    with scope(account=account):
        logged = Delivery.objects.get(public_id=body["id"])
    assert (logged.status, logged.attempts, logged.status_code) == ("sent", 1, 200)
    assert logged.response_excerpt == "ok" and logged.duration_ms is not None


def test_notes_and_changes_are_message_and_update_events(
    account, owner, webhook, receiver, committing
):
    ticket = open_ticket(account, committing)
    receiver.requests.clear()
    with committing(), scope(account=account):
        tickets.add_internal_note(ticket, owner, "Fire brigade called.")
    assert events(receiver) == ["message_group.created"]
    group = json.loads(receiver.requests[0].body)["data"]["message_group"]
    assert (group["type"], group["messages"][0]["type"]) == ("I", "N")
    receiver.requests.clear()
    with committing(), scope(account=account):
        tickets.change_status(ticket, "R", actor=owner)
    update = json.loads(receiver.requests[0].body)["data"]
    assert "status" in update["changed"] and update["ticket"]["status"] == "R"
    assert update["ticket"]["date_resolved"] is not None
    receiver.requests.clear()
    with committing(), scope(account=account):
        tickets.assign_ticket(ticket, owner, actor=owner)
    assert events(receiver) == ["ticket.updated"]
    assert json.loads(receiver.requests[0].body)["data"]["ticket"]["agentid"] == str(owner.pk)


def test_only_subscribed_events_of_active_webhooks_are_sent(
    account, owner, webhook, receiver, committing
):
    with scope(account=account):
        actions.update_webhook(webhook, events=[Event.TICKET_UPDATED])
        actions.create_webhook(account, url=receiver.url("/off"), events=list(Event.values),
                               is_active=False)
    ticket = open_ticket(account, committing)
    assert receiver.requests == []
    with committing(), scope(account=account):
        tickets.change_status(ticket, "R", actor=owner)
    assert events(receiver) == ["ticket.updated"]
    assert receiver.requests[0].path == "/hook"


def test_a_rolled_back_write_sends_nothing(account, webhook, receiver, committing):
    with committing(), scope(account=account):
        with pytest.raises(RuntimeError), transaction.atomic():
            contacts.create_contact(account, firstname="Ghost")
            raise RuntimeError
        assert not Delivery.objects.exists()
    assert receiver.requests == []


def test_failures_are_retried_on_the_backoff_schedule_until_delivered(
    account, webhook, receiver, committing
):
    receiver.answer(500, "database down")
    receiver.answer(503, "still down")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        open_ticket(account, committing)
        with scope(account=account):
            ticket_delivery = Delivery.objects.get(event="ticket.created")
            contact_delivery = Delivery.objects.get(event="contact.created")
            assert (contact_delivery.status, contact_delivery.status_code) == ("pending", 500)
            assert contact_delivery.response_excerpt == "database down"
            assert contact_delivery.last_error == "The answer was HTTP 500."
            assert contact_delivery.next_attempt_at == start + timedelta(minutes=1)
            assert ticket_delivery.status_code == 503
            # Not due yet: the sweep sends nothing; a minute later it retries both.
            delivery.deliver(contact_delivery.pk)
            assert len(receiver.requests) == 2
            clock.shift(timedelta(minutes=1))
            from saruna.webhooks.tasks import retry_due_webhook_deliveries

            retry_due_webhook_deliveries.call_local()
            contact_delivery.refresh_from_db()
        assert len(receiver.requests) == 4
        assert (contact_delivery.status, contact_delivery.attempts) == ("sent", 2)
        # The same id and the same bytes on every attempt, so receivers can deduplicate.
        first, again = (r for r in receiver.requests if b"contact.created" in r.body)
        assert first.body == again.body
        assert first.headers["X-Webhook-Id"] == again.headers["X-Webhook-Id"]
        with scope(account=account):
            assert Webhook.objects.get().failure_count == 0


def test_a_delivery_is_dead_after_eight_attempts(account, webhook, receiver):
    with scope(account=account):
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {"contact": {"id": "x"}})
    expected = [timedelta(minutes=m) for m in (1, 5, 30, 120, 360, 720, 1440)]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock, scope(account=account):
        for attempt in range(8):
            receiver.answer(502)
            delivery.deliver(queued.pk)
            queued.refresh_from_db()
            if attempt < 7:
                assert queued.next_attempt_at - timezone.now() == expected[attempt]
                clock.shift(expected[attempt])
        delivery.deliver(queued.pk)  # dead letters stay dead
    assert (queued.status, queued.attempts, len(receiver.requests)) == ("dead", 8, 8)


def test_fifty_failures_in_a_row_switch_the_webhook_off_and_tell_the_owner(
    account, owner, webhook, receiver, committing
):
    with scope(account=account):
        Webhook.objects.filter(pk=webhook.pk).update(failure_count=delivery.FAILURE_LIMIT - 1)
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {"contact": {"id": "x"}})
        receiver.answer(404, "no such hook")
        with committing():
            delivery.deliver(queued.pk)
        webhook.refresh_from_db()
        assert not webhook.is_active and webhook.last_status_code == 404
        assert actions.emit(account, Event.CONTACT_CREATED, {}) == []
        # Switching it on again starts a fresh count.
        actions.update_webhook(webhook, is_active=True)
        webhook.refresh_from_db()
        assert webhook.is_active and webhook.failure_count == 0
    (notice,) = [m for m in mail.outbox if owner.email in m.to]
    assert "switched off" in notice.subject
    assert webhook.url in notice.body and "HTTP 404" in notice.body
    assert f"/settings/webhooks/{webhook.public_id}/" in notice.body


def test_an_unreachable_receiver_is_logged_in_words(account, webhook, receiver):
    with scope(account=account):
        actions.update_webhook(webhook, url=receiver.url().replace(
            str(receiver.port), str(_closed_port())))
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {})
        delivery.deliver(queued.pk)
        queued.refresh_from_db()
    assert queued.status == "pending" and queued.status_code is None
    assert queued.last_error.startswith("No answer:")


def _closed_port() -> int:
    from tests.servers import free_port

    return free_port()


def test_an_address_the_guard_refuses_is_never_connected_to(account, webhook, receiver, settings):
    settings.SARUNA_WEBHOOKS_ALLOW_PRIVATE = False
    with scope(account=account):
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {})
        delivery.deliver(queued.pk)
        queued.refresh_from_db()
    assert receiver.requests == []
    assert queued.last_error == "127.0.0.1 is a loopback address (127.0.0.1)."


def test_delivering_twice_sends_once(account, webhook, receiver):
    with scope(account=account):
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {})
        delivery.deliver(queued.pk)
        delivery.deliver(queued.pk)
    assert len(receiver.requests) == 1


def test_send_again_posts_the_same_data_under_a_new_id(account, owner, webhook, receiver):
    with scope(account=account):
        (queued,) = actions.emit(account, Event.CONTACT_CREATED, {"contact": {"id": "c1"}})
        delivery.deliver(queued.pk)
        again = actions.redeliver(queued, actor=owner)
        delivery.deliver(again.pk)
    first, second = (json.loads(r.body) for r in receiver.requests)
    assert first["data"] == second["data"] == {"contact": {"id": "c1"}}
    assert first["id"] != second["id"]


def test_a_test_ping_is_sent_once_at_once(account, webhook, receiver):
    receiver.answer(500, "nope")
    with scope(account=account):
        sent = actions.send_test(webhook)
    assert (sent.event, sent.status, sent.status_code, sent.attempts) == ("ping", "dead", 500, 1)
    assert json.loads(receiver.requests[0].body)["data"] == {"webhook": {"id": webhook.public_id}}


def test_webhooks_of_one_account_never_hear_anothers_events(two_tenants, receiver, on_premise,
                                                            committing):
    with scope(account=two_tenants.b):
        actions.create_webhook(two_tenants.b, url=receiver.url(), events=list(Event.values))
    open_ticket(two_tenants.a, committing)
    assert receiver.requests == []


def test_the_log_keeps_thirty_days(account, webhook, receiver):
    with scope(account=account):
        (old,) = actions.emit(account, Event.CONTACT_CREATED, {})
        delivery.deliver(old.pk)
        Delivery.objects.filter(pk=old.pk).update(
            created_at=timezone.now() - timedelta(days=31))
        (recent,) = actions.emit(account, Event.CONTACT_CREATED, {})
        delivery.deliver(recent.pk)
        actions.purge_old_deliveries()
        assert list(Delivery.objects.values_list("pk", flat=True)) == [recent.pk]
