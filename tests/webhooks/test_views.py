"""Settings → Webhooks as an owner uses it: add a destination, test it, read the delivery
log, send again, delete; agents and other accounts are kept out."""

from __future__ import annotations

import json

import pytest
from django_scopes import scope

from saruna.core.models import AuditEvent
from saruna.webhooks import actions
from saruna.webhooks.models import Delivery, Event, Webhook
from tests.tenancy import host_client

pytestmark = pytest.mark.django_db


def test_an_owner_adds_a_webhook_and_sends_a_test_event(
    account, owner, owner_client, receiver, on_premise
):
    response = owner_client.post("/settings/webhooks/new/", {
        "url": receiver.url(), "events": ["ticket.created", "contact.created"],
        "description": "CRM sync", "is_active": "on",
    })
    with scope(account=account):
        webhook = Webhook.objects.get()
        assert AuditEvent.objects.filter(verb="webhook.created").exists()
    assert response.status_code == 302
    assert response["Location"] == f"/settings/webhooks/{webhook.public_id}/"
    assert webhook.events == ["ticket.created", "contact.created"]
    page = owner_client.get(response["Location"]).content.decode()
    assert webhook.secret in page and "CRM sync" in page

    receiver.answer(200, '{"received": true}')
    response = owner_client.post(f"/settings/webhooks/{webhook.public_id}/test/", follow=True)
    page = response.content.decode()
    assert "The test event was delivered (HTTP 200)." in page
    assert "HTTP 200" in page and "{&quot;received&quot;: true}" in page
    assert json.loads(receiver.requests[0].body)["event"] == "ping"


@pytest.mark.parametrize(("url", "error"), [
    ("http://example.com/hook", "Use https://"),
    ("https://10.0.0.8/hook", "is a private network address"),
    ("https://169.254.169.254/latest", "is a cloud metadata address"),
    ("gopher://example.com/", "starting with https://"),
])
def test_unsafe_urls_are_form_errors_and_change_nothing(account, owner_client, url, error):
    response = owner_client.post("/settings/webhooks/new/", {
        "url": url, "events": ["ticket.created"], "is_active": "on",
    })
    assert response.status_code == 200
    assert error in response.content.decode()
    with scope(account=account):
        assert not Webhook.objects.exists()


def test_at_least_one_event_is_required(account, owner_client):
    response = owner_client.post("/settings/webhooks/new/", {"url": "https://1.1.1.1/h"})
    assert response.status_code == 200 and "This field is required." in response.content.decode()


def test_the_log_shows_each_delivery_and_sends_one_again(
    account, owner, owner_client, webhook, receiver, django_capture_on_commit_callbacks
):
    receiver.answer(500, "Internal trouble")
    with scope(account=account), django_capture_on_commit_callbacks(execute=True):
        actions.emit(account, Event.CONTACT_CREATED, {"contact": {"id": "c1"}})
    with scope(account=account):
        failed = Delivery.objects.get()
    page = owner_client.get(f"/settings/webhooks/{webhook.public_id}/log/").content.decode()
    assert failed.public_id in page and "HTTP 500" in page and "Internal trouble" in page
    assert "next try" in page and "ms" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            f"/settings/webhooks/{webhook.public_id}/log/{failed.public_id}/resend/")
    assert response.status_code == 302
    with scope(account=account):
        assert Delivery.objects.count() == 2
        again = Delivery.objects.exclude(pk=failed.pk).get()
    assert (again.status, again.status_code) == ("sent", 200)
    assert json.loads(receiver.requests[1].body)["data"] == {"contact": {"id": "c1"}}


def test_editing_switches_off_and_a_new_secret_replaces_the_old(
    account, owner_client, webhook
):
    old_secret = webhook.secret
    response = owner_client.post(f"/settings/webhooks/{webhook.public_id}/", {
        "url": webhook.url, "events": ["chat.started"], "description": "",
    })
    assert response.status_code == 302
    owner_client.post(f"/settings/webhooks/{webhook.public_id}/secret/")
    webhook.refresh_from_db()
    assert webhook.events == ["chat.started"] and not webhook.is_active
    assert webhook.secret != old_secret and len(webhook.secret) >= 32


def test_deleting_removes_the_webhook_and_its_log(account, owner_client, webhook):
    with scope(account=account):
        actions.emit(account, Event.CONTACT_CREATED, {})
    assert owner_client.get(f"/settings/webhooks/{webhook.public_id}/delete/").status_code == 200
    response = owner_client.post(f"/settings/webhooks/{webhook.public_id}/delete/")
    assert response.status_code == 302
    with scope(account=account):
        assert not Webhook.objects.exists() and not Delivery.objects.exists()
        assert AuditEvent.objects.filter(verb="webhook.deleted").exists()


def test_agents_cannot_manage_webhooks(account, agent, webhook):
    client = host_client(account, agent)
    for path in ("/settings/webhooks/", "/settings/webhooks/new/",
                 f"/settings/webhooks/{webhook.public_id}/",
                 f"/settings/webhooks/{webhook.public_id}/log/"):
        assert client.get(path).status_code == 403
    assert client.post(f"/settings/webhooks/{webhook.public_id}/delete/").status_code == 403


def test_another_accounts_webhook_is_a_404(two_tenants, receiver, on_premise):
    with scope(account=two_tenants.a):
        webhook = actions.create_webhook(two_tenants.a, url=receiver.url(),
                                         events=["ticket.created"])
    for path in ("", "log/", "delete/"):
        two_tenants.assert_isolated(f"/settings/webhooks/{webhook.public_id}/{path}")
    for path in ("test/", "secret/", "delete/"):
        response = two_tenants.client_b().post(f"/settings/webhooks/{webhook.public_id}/{path}")
        assert response.status_code == 404
    assert two_tenants.client_b().get("/settings/webhooks/").content.count(b"127.0.0.1") == 0
    assert receiver.requests == []


def test_settings_lead_owners_to_webhooks_and_api_keys(owner_client, account, agent):
    page = owner_client.get("/settings/").content.decode()
    assert 'href="/settings/webhooks/"' in page and 'href="/settings/api-keys/"' in page
    agent_page = host_client(account, agent).get("/settings/").content.decode()
    assert "/settings/webhooks/" not in agent_page and "/settings/api-keys/" not in agent_page
