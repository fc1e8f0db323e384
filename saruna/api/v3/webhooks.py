"""Outgoing webhooks (our extension E.2, absent from LiveAgent v3): list, create, get, change,
delete, send a test ``ping``, and renew the signing secret. The secret is write-only: it is
answered once, when it is made (on create and on renewal), and ``null`` everywhere else.
Every write goes through :mod:`saruna.webhooks.actions`, as in Settings → Webhooks."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from saruna.api.auth import require
from saruna.api.v3.common import (
    EQUALITY_OPERATORS,
    OK,
    Column,
    DateField,
    ListSpec,
    OkOut,
    PageQuery,
    audited,
    clock,
    get_or_404,
    page,
    parse_yn,
    responses,
    yn,
)
from saruna.webhooks import actions
from saruna.webhooks.models import PING, Event, Webhook

router = Router(tags=["webhooks"])

READ = ("webhook.read", "webhook.write")
WRITE = "webhook.write"
TEST_URL_NAME = "webhook_test"
EVENTS_TEXT = ", ".join([*Event.values, PING])


class WebhookIn(Schema):
    """``Webhook`` as a request: only the keys sent are written; read-only keys (``id``,
    ``date_created``, ``last_status_code``, ``failure_count``) and unknown ones are ignored,
    so a fetched webhook can be sent back whole."""

    model_config = ConfigDict(extra="ignore")

    url: str | None = Field(None, max_length=2000,
                            description="https:// (plain http only for allow-listed hosts)")
    events: list[str] | None = Field(None, description=f"one or more of: {EVENTS_TEXT}")
    secret: str | None = Field(
        None, max_length=200,
        description="signing secret; generated when absent, empty or null keeps the current one",
    )
    is_active: str | None = Field(None, description="Y (default) or N")
    description: str | None = Field(None, max_length=200)


class WebhookOut(Schema):
    id: str
    url: str
    events: list[str]
    secret: str | None = Field(
        None, description="only in the answer that made it (create, _renew_secret); else null")
    is_active: str = Field(..., pattern="^[YN]$")
    description: str | None = None
    date_created: str | None = DateField()
    last_status_code: int | None = None
    failure_count: int


class WebhookTestOut(Schema):
    status_code: int | None = Field(None, description="the receiver's HTTP status; null when "
                                                      "no answer came")
    message: str


def webhook_out(request: HttpRequest, webhook: Webhook, *,
                with_secret: bool = False) -> dict[str, Any]:
    return {
        "id": webhook.public_id,
        "url": webhook.url,
        "events": list(webhook.events),
        "secret": webhook.secret if with_secret else None,
        "is_active": yn(webhook.is_active),
        "description": webhook.description or None,
        "date_created": clock(request).format(webhook.date_created),
        "last_status_code": webhook.last_status_code,
        "failure_count": webhook.failure_count,
    }


WEBHOOKS = ListSpec(
    columns={
        "id": Column("public_id", "exact", EQUALITY_OPERATORS),
        "url": Column("url"),
        "description": Column("description"),
        "is_active": Column("is_active", "flag"),
        "date_created": Column("date_created", "date"),
        "last_status_code": Column("last_status_code", "number"),
        "failure_count": Column("failure_count", "number"),
    },
    sorts={"date_created": "date_created", "id": "public_id", "url": "url",
           "failure_count": "failure_count"},
    default_sort="date_created",
    serialize=webhook_out,
)


def _fields(body: WebhookIn) -> dict[str, Any]:
    """The keys sent, as the actions take them; a ``null`` is ignored (nothing to clear)
    except for ``description``."""
    fields = {name: value for name, value in body.model_dump(exclude_unset=True).items()
              if value is not None or name == "description"}
    if "is_active" in fields:
        fields["is_active"] = parse_yn(fields["is_active"], "is_active")
    if "description" in fields:
        fields["description"] = (fields["description"] or "").strip()
    return fields


def _webhook(webhook_id: str) -> Webhook:
    return get_or_404(Webhook.objects.all(), gettext("Unknown webhook."), public_id=webhook_id)


@router.get("/webhooks", response=responses(list[WebhookOut]), summary="List webhooks (ours)")
def list_webhooks(request: HttpRequest, params: Query[PageQuery]) -> list[dict[str, Any]]:
    require(request, *READ)
    return page(request, Webhook.objects.all(), WEBHOOKS, params)


@router.post("/webhooks", response=responses(WebhookOut),
             summary="Create a webhook (ours); the answer holds its secret, once")
def create_webhook(request: HttpRequest, body: WebhookIn) -> dict[str, Any]:
    key = require(request, WRITE)
    webhook = actions.create_webhook(
        request.account, actor=key.user, **_fields(body))  # type: ignore[attr-defined]
    audited(request, "api.webhook.created", webhook, events=webhook.events)
    return webhook_out(request, webhook, with_secret=True)


@router.get("/webhooks/{webhookId}", response=responses(WebhookOut),
            summary="Get a webhook (ours)")
def get_webhook(request: HttpRequest, webhookId: str) -> dict[str, Any]:
    require(request, *READ)
    return webhook_out(request, _webhook(webhookId))


@router.put("/webhooks/{webhookId}", response=responses(WebhookOut),
            summary="Change a webhook (ours; only the keys sent)")
def update_webhook(request: HttpRequest, webhookId: str, body: WebhookIn) -> dict[str, Any]:
    key = require(request, WRITE)
    fields = _fields(body)
    webhook = actions.update_webhook(_webhook(webhookId), actor=key.user, **fields)
    audited(request, "api.webhook.changed", webhook, fields=sorted(fields))
    return webhook_out(request, webhook)


@router.delete("/webhooks/{webhookId}", response=responses(OkOut),
               summary="Delete a webhook and its delivery log (ours)")
def delete_webhook(request: HttpRequest, webhookId: str) -> dict[str, Any]:
    key = require(request, WRITE)
    webhook = _webhook(webhookId)
    audited(request, "api.webhook.deleted", webhook)
    actions.delete_webhook(webhook, actor=key.user)
    return OK


# The name tells saruna.api.urls to run it outside a transaction: it waits up to 10 s for the
# receiver, which must not hold the database's write lock (SQLite) all that time.
@router.post("/webhooks/{webhookId}/_test", response=responses(WebhookTestOut),
             url_name=TEST_URL_NAME,
             summary="Send a ping event now, once, and answer how the receiver took it (ours)")
def test_webhook(request: HttpRequest, webhookId: str) -> dict[str, Any]:
    require(request, WRITE)
    webhook = _webhook(webhookId)
    delivery = actions.send_test(webhook)
    audited(request, "api.webhook.tested", webhook, delivery=delivery.public_id)
    return {"status_code": delivery.status_code, "message": actions.test_outcome(delivery)}


@router.post("/webhooks/{webhookId}/_renew_secret", response=responses(WebhookOut),
             summary="Replace the signing secret (ours); the answer holds the new one, once")
def renew_webhook_secret(request: HttpRequest, webhookId: str) -> dict[str, Any]:
    key = require(request, WRITE)
    webhook = actions.new_webhook_secret(_webhook(webhookId), actor=key.user)
    audited(request, "api.webhook.secret_renewed", webhook)
    return webhook_out(request, webhook, with_secret=True)
