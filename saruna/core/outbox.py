"""Outbound e-mail through the outbox: store first, deliver with retries, dead-letter at last."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import models, transaction
from django.template import TemplateDoesNotExist
from django.template.loader import get_template, render_to_string
from django.utils import timezone, translation

from saruna.core.models import Account, OutboundEmail

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes after each failure: eight attempts span a little over two hours."""
    return timedelta(minutes=2 ** (attempts - 1))


def queue_email(
    to: list[str] | str,
    template: str,
    context: dict,
    *,
    account: Account | None = None,
    language: str | None = None,
) -> OutboundEmail:
    """Render ``<template>_subject.txt``, ``_body.txt`` and (if present) ``_body.html`` and
    store the mail; delivery starts once the caller's transaction commits."""
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
    )
    from saruna.core.tasks import deliver_email

    transaction.on_commit(lambda: deliver_email(mail.pk))
    return mail


SEND_LEASE = timedelta(minutes=10)


def deliver(mail_id: int) -> None:
    """One delivery attempt. The mail is claimed (leased) in a short transaction and sent
    outside it, so a slow SMTP server never holds a database lock; a worker that dies
    mid-send leaves the lease to expire and the mail is tried again."""
    now = timezone.now()
    with transaction.atomic():
        claimed = OutboundEmail.objects.filter(
            pk=mail_id, status=OutboundEmail.Status.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=now + SEND_LEASE, attempts=models.F("attempts") + 1)
    if not claimed:
        return
    mail = OutboundEmail.objects.get(pk=mail_id)
    message = EmailMultiAlternatives(
        subject=mail.subject,
        body=mail.body_text,
        from_email=mail.from_email or settings.DEFAULT_FROM_EMAIL,
        to=mail.to,
    )
    if mail.body_html:
        message.attach_alternative(mail.body_html, "text/html")
    try:
        message.send()
    except Exception as error:
        logger.warning("Sending mail %s failed (attempt %s): %s", mail.pk, mail.attempts, error)
        mail.last_error = f"{type(error).__name__}: {error}"
        if mail.attempts >= MAX_ATTEMPTS:
            mail.status = OutboundEmail.Status.DEAD
        else:
            mail.next_attempt_at = timezone.now() + retry_delay(mail.attempts)
    else:
        mail.status = OutboundEmail.Status.SENT
        mail.sent_at = timezone.now()
        mail.last_error = ""
    mail.save(update_fields=["status", "sent_at", "last_error", "next_attempt_at"])


def due_mail_ids() -> list[int]:
    return list(
        OutboundEmail.objects.filter(
            status=OutboundEmail.Status.PENDING, next_attempt_at__lte=timezone.now()
        )
        # Longest-waiting first, so a backlog never starves the oldest mail.
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:500]
    )
