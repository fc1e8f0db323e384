"""Webhooks (an account's destination URLs with the events they want) and their deliveries
(one signed POST of one event, retried with backoff; the rows are the delivery log)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel


class Event(models.TextChoices):
    """The events a webhook can subscribe to (names as in the API's extension E.2)."""

    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket updated")
    TICKET_DELETED = "ticket.deleted", _("Ticket moved to the trash")
    MESSAGE_GROUP_CREATED = "message_group.created", _("Message added to a ticket")
    CONTACT_CREATED = "contact.created", _("Contact created")
    CONTACT_UPDATED = "contact.updated", _("Contact changed")
    CONTACT_DELETED = "contact.deleted", _("Contact deleted")
    CHAT_STARTED = "chat.started", _("Chat started")
    CHAT_ENDED = "chat.ended", _("Chat ended")
    CONVERSION_CREATED = "conversion.created", _("Conversion recorded")
    SLA_BREACHED = "sla.breached", _("SLA deadline missed")
    AGENT_STATUS_CHANGED = "agent.status_changed", _("Agent's chat status changed")


# Sent only by "Send test", to the webhook tested, whatever it subscribed to; subscribing to
# it alone (E.2 lists it) makes a webhook that only ever gets tests.
PING = "ping"


def new_secret() -> str:
    return secrets.token_urlsafe(32)


class Webhook(PublicIdModel):
    url = models.CharField(_("URL"), max_length=2000)
    events = models.JSONField(default=list)
    secret = models.CharField(max_length=200, default=new_secret)
    is_active = models.BooleanField(_("active"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    date_created = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    # Failed attempts in a row; at FAILURE_LIMIT the webhook is switched off.
    failure_count = models.PositiveIntegerField(default=0)

    class Meta(PublicIdModel.Meta):
        ordering = ["date_created", "pk"]

    def __str__(self) -> str:
        return self.url


class Delivery(PublicIdModel):
    """One event for one webhook. The outbox fields (``status``, ``attempts``, ``last_error``,
    ``next_attempt_at``, ``sent_at``) drive :func:`saruna.core.outbox.deliver_with_retries`;
    the last attempt's answer is kept for the log. ``body`` is the exact JSON sent, so every
    attempt sends the same bytes."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Delivered")
        DEAD = "dead", _("Failed for good")

    id_length = 12
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40)
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempted_at = models.DateTimeField(null=True, blank=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)

    class Meta(PublicIdModel.Meta):
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["webhook", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.event} {self.public_id}"
