"""Outbound e-mail through the outbox: store first, deliver with retries, dead-letter at last."""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.db.models import QuerySet
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from saruna.core.models import Account, OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failure: eight attempts span a little over two hours."""
    return timedelta(minutes=2 ** (attempts - 1))


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"

    def stored(self) -> dict[str, str]:
        return {"filename": self.filename, "content_type": self.content_type,
                "content": base64.b64encode(self.content).decode("ascii")}


def queue_email(
    to: list[str] | str,
    template: str,
    context: dict,
    *,
    account: Account | None = None,
    language: str | None = None,
    attachments: Sequence[Attachment] = (),
) -> OutboundEmail:
    """Render ``<template>_subject.txt``, ``_body.txt`` and (if present) ``_body.html`` and
    store the mail with its attachments; delivery starts once the caller's transaction
    commits."""
    recipients = [to] if isinstance(to, str) else list(to)
    with translation.override(language or translation.get_language() or settings.LANGUAGE_CODE):
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        body_text = render_to_string(f"{template}_body.txt", context)
        # Only a missing HTML part is optional; an HTML template that fails must be noticed.
        try:
            html_template = get_template(f"{template}_body.html")
        except TemplateDoesNotExist:
            body_html = ""
        else:
            body_html = html_template.render(context)
    mail = OutboundEmail.objects.create(
        account=account,
        to=recipients,
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=subject,
        body_text=body_text,
        body_html=body_html,
        attachments=[attachment.stored() for attachment in attachments],
    )
    from saruna.core.tasks import deliver_email

    transaction.on_commit(lambda: deliver_email(mail.pk))
    return mail


SEND_LEASE = timedelta(minutes=10)
# Every outbox-like model (OutboundEmail here, the mail channel's OutgoingMail) keeps
# ``status``, ``attempts``, ``last_error``, ``next_attempt_at`` and ``sent_at`` with these
# status values, so one delivery loop serves them all.
PENDING = OutboundEmail.Status.PENDING
SENT = OutboundEmail.Status.SENT
DEAD = OutboundEmail.Status.DEAD

M = TypeVar("M", bound=models.Model)


class DeliveryError(Exception):
    """A failed attempt explained in words for whoever reads ``last_error``; a ``permanent``
    one (say, the server refused the recipient for good) ends the retries at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def deliver_with_retries(
    model: type[M], mail_id: int, send: Callable[[M], None],
    *, delay: Callable[[int], timedelta] = retry_delay,
) -> None:
    """One delivery attempt of a mail of any outbox-like ``model``; ``send`` raises on failure
    and ``delay(attempts)`` says when the next attempt is due.

    The mail is claimed (leased) in a short transaction and sent outside it, so a slow SMTP
    server never holds a database lock; a worker that dies mid-send leaves the lease to
    expire and the mail is tried again."""
    manager = model._default_manager
    now = timezone.now()
    with transaction.atomic():
        claimed = manager.filter(
            pk=mail_id, status=PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + SEND_LEASE, attempts=models.F("attempts") + 1)
    if not claimed:
        return
    mail = manager.get(pk=mail_id)
    record: Any = mail  # the outbox fields are not on models.Model's type
    try:
        send(mail)
    except Exception as error:
        logger.warning("Sending %s %s failed (attempt %s): %s",
                       model.__name__, mail.pk, record.attempts, error)
        permanent = isinstance(error, DeliveryError) and error.permanent
        record.last_error = (
            str(error) if isinstance(error, DeliveryError) else f"{type(error).__name__}: {error}"
        )
        if record.attempts >= MAX_ATTEMPTS or permanent:
            record.status = DEAD
        else:
            record.next_attempt_at = timezone.now() + delay(record.attempts)
    else:
        record.status = SENT
        record.sent_at = timezone.now()
        record.last_error = ""
    mail.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])


def due(model: type[M]) -> QuerySet[M]:
    """Mail of ``model`` waiting for an attempt, longest-waiting first, so a backlog never
    starves the oldest mail."""
    return model._default_manager.filter(
        status=PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at", "pk")


def _send_outbound(mail: OutboundEmail) -> None:
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email or settings.DEFAULT_FROM_EMAIL,
        to=mail.to,
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    for attachment in mail.attachments:
        message.attach(attachment["filename"], base64.b64decode(attachment["content"]),
                       attachment["content_type"])
    message.send()


def deliver(mail_id: int) -> None:
    deliver_with_retries(OutboundEmail, mail_id, _send_outbound)


def due_mail_ids() -> list[int]:
    return list(due(OutboundEmail).values_list("pk", flat=True)[:500])
