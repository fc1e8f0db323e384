"""Sending one delivery: sign, POST through the URL guard, record the answer for the log.

The outbox's loop (:func:`saruna.core.outbox.deliver_with_retries`) leases the row, counts
the attempt and schedules the next one; this module adds the webhook's backoff, signature,
answer and failure count.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from saruna.accounts.models import User
from saruna.core import outbox
from saruna.core.outbox import DeliveryError
from saruna.core.urls import public_url
from saruna.webhooks import urlguard
from saruna.webhooks.models import PING, Delivery, Webhook

logger = logging.getLogger(__name__)

# After the first attempt: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h, 24 h (outbox.MAX_ATTEMPTS = 8).
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30),
           timedelta(hours=2), timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
# Failed attempts in a row after which a webhook is switched off and the owner told.
FAILURE_LIMIT = 50
USER_AGENT = "Saruna-Webhooks/1"


def retry_delay(attempts: int) -> timedelta:
    return BACKOFF[min(attempts, len(BACKOFF)) - 1]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the secret."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def headers(delivery: Delivery, secret: str, timestamp: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Id": delivery.public_id,
        "X-Webhook-Event": delivery.event,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": signature(secret, timestamp, body),
    }


def deliver(delivery_id: int) -> None:
    """One attempt, if the delivery is due (safe to call again: the lease makes it once)."""
    outbox.deliver_with_retries(Delivery, delivery_id, _send, delay=retry_delay)


def _send(delivery: Delivery) -> None:
    webhook = delivery.webhook
    if not webhook.is_active:
        raise DeliveryError(_("The webhook is switched off."), permanent=True)
    body = delivery.body.encode()
    timestamp = str(int(time.time()))
    started = time.monotonic()
    status: int | None = None
    excerpt = ""
    try:
        response = urlguard.post(
            webhook.url, body, headers(delivery, webhook.secret, timestamp, body))
    except urlguard.UnsafeDestination as error:
        failure = error.message
    except (OSError, http.client.HTTPException) as error:
        failure = _("No answer: %(error)s") % {"error": str(error) or type(error).__name__}
    else:
        status, excerpt = response.status, response.excerpt
        failure = "" if 200 <= status < 300 else _("The answer was HTTP %(status)s.") % {
            "status": status}
    _record(delivery, status, excerpt, int((time.monotonic() - started) * 1000), failure)
    if failure:
        # A test ping is tried once: whoever pressed the button reads the answer now.
        raise DeliveryError(failure, permanent=delivery.event == PING)


def _record(
    delivery: Delivery, status: int | None, excerpt: str, duration_ms: int, failure: str
) -> None:
    """The attempt's answer on the delivery, and the webhook's run of failures."""
    Delivery.objects.filter(pk=delivery.pk).update(
        attempted_at=timezone.now(), status_code=status, duration_ms=duration_ms,
        response_excerpt=excerpt,
    )
    hooks = Webhook.objects.filter(pk=delivery.webhook_id)
    if not failure:
        hooks.update(last_status_code=status, failure_count=0)
        return
    with transaction.atomic():
        hooks.update(last_status_code=status, failure_count=F("failure_count") + 1)
        switched_off = hooks.filter(
            is_active=True, failure_count__gte=FAILURE_LIMIT).update(is_active=False)
        if switched_off:
            _tell_owner(Webhook.objects.get(pk=delivery.webhook_id), failure)


def _tell_owner(webhook: Webhook, failure: str) -> None:
    logger.warning("Webhook %s switched off after %s failures", webhook.pk, FAILURE_LIMIT)
    owner = User.objects.filter(account=webhook.account, role=User.Role.OWNER).first()
    if owner is None:
        return
    account = webhook.account
    outbox.queue_email(owner.email, "webhooks/email/switched_off", {
        "webhook": webhook, "failures": FAILURE_LIMIT, "failure": failure,
        "link": public_url(account.host, reverse(
            "webhook_edit", kwargs={"webhook_id": webhook.public_id},
            urlconf=settings.SARUNA_TENANT_URLCONF)),
    }, account=account, language=owner.language or account.language)


def due_deliveries() -> models.QuerySet[Delivery]:
    """Deliveries waiting for an attempt in all accounts (the caller disables the scope)."""
    return outbox.due(Delivery)
