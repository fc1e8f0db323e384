"""The e-mail channel's records: mailboxes, every inbound mail as received (raw, before any
parsing), every outgoing customer mail, and addresses that bounce.

Inbound mail is stored first and parsed second: an ``InboundMail`` row holds the exact bytes,
their SHA-256 and the envelope, written in one transaction before the sender is told the mail
was received (SMTP 250, IMAP flag/move). Parsing is a separate, idempotent step.
"""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.core.models import TenantModel


class Security(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", "STARTTLS"
    NONE = "none", _("None (unencrypted)")


def new_upload_token() -> str:
    return secrets.token_urlsafe(32)


class Mailbox(PublicIdModel):
    """One address an account receives mail at, tied to the department its tickets go to."""

    class Kind(models.TextChoices):
        IMAP = "imap", _("IMAP mailbox")
        FORWARD = "forward", _("Forwarding address")

    class Processed(models.TextChoices):
        FLAG = "flag", _("Mark as read")
        MOVE = "move", _("Move to a folder")

    name = models.CharField(_("name"), max_length=100)
    # The address customers write to; outgoing replies are sent from it.
    email = models.EmailField(_("e-mail address"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices, default=Kind.FORWARD)
    department = models.ForeignKey(
        "tickets.Department", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+", verbose_name=_("department"),
    )
    # Forwarding: mail to <forward_local_part>@<slug>.<base-domain> lands here.
    forward_local_part = models.CharField(_("forwarding name"), max_length=64, blank=True)
    imap_host = models.CharField(_("IMAP server"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(max_length=8, choices=Security.choices,
                                     default=Security.SSL)
    imap_username = models.CharField(_("IMAP user name"), max_length=255, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=255, blank=True)
    imap_folder = models.CharField(_("folder"), max_length=255, default="INBOX")
    processed_action = models.CharField(max_length=4, choices=Processed.choices,
                                        default=Processed.FLAG)
    processed_folder = models.CharField(_("move processed mail to"), max_length=255, blank=True)
    poll_seconds = models.PositiveIntegerField(_("check every (seconds)"), default=60)
    use_idle = models.BooleanField(_("use IDLE when the server supports it"), default=True)
    # Outgoing: blank host = the installation's default mail server.
    smtp_host = models.CharField(_("SMTP server"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_security = models.CharField(max_length=8, choices=Security.choices,
                                     default=Security.STARTTLS)
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    smtp_password = models.CharField(_("SMTP password"), max_length=255, blank=True)
    dkim_selector = models.CharField(_("DKIM selector"), max_length=63, blank=True)
    dkim_private_key = models.TextField(_("DKIM private key (PEM)"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # IMAP progress: UIDs are only comparable within one UIDVALIDITY.
    imap_uidvalidity = models.BigIntegerField(null=True, blank=True)
    imap_last_uid = models.BigIntegerField(default=0)
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # The secret of raw uploads to /mail/inbound/<public id>/ (compared in constant time).
    upload_token = models.CharField(max_length=64, default=new_upload_token, editable=False)
    date_created = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(PublicIdModel.Meta):
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        ordering = ["name", "pk"]
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "forward_local_part"],
                condition=~models.Q(forward_local_part=""),
                name="mail_mailbox_forward_local_part",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"

    def rotate_upload_token(self) -> None:
        """A new upload secret; the old one stops working at once."""
        self.upload_token = new_upload_token()
        self.save(update_fields=["upload_token"])


class InboundMail(TenantModel):
    """One received mail, exactly as it arrived. Never deleted by processing."""

    class Source(models.TextChoices):
        IMAP = "imap", "IMAP"
        SMTP = "smtp", "SMTP"
        API = "api", _("upload")

    class State(models.TextChoices):
        RECEIVED = "received", _("Waiting to be processed")
        PROCESSED = "processed", _("Processed")
        DUPLICATE = "duplicate", _("Duplicate of an earlier mail")
        IGNORED = "ignored", _("Ignored (our own mail or a loop)")
        FAILED = "failed", _("Failed")

    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="inbound")
    source = models.CharField(max_length=4, choices=Source.choices)
    raw = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveIntegerField()
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.JSONField(default=list)
    # Read from the raw headers at receipt (cheaply, without parsing the body) for idempotency.
    message_id = models.CharField(max_length=998, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RECEIVED)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    processed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    group = models.ForeignKey("tickets.MessageGroup", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    # The parsed sender and recipients (lower case), for participant checks in threading.
    from_email = models.CharField(max_length=254, blank=True)
    recipients = models.JSONField(default=list)

    class Meta:
        ordering = ["-received_at", "-pk"]
        indexes = [
            models.Index(fields=["account", "message_id"]),
            models.Index(fields=["account", "sha256"]),
            models.Index(fields=["state", "received_at"]),
            models.Index(fields=["ticket"]),
        ]

    def __str__(self) -> str:
        return f"{self.message_id or self.sha256[:12]} ({self.get_state_display()})"


class OutgoingMail(TenantModel):
    """A mail to a customer (agent reply or automatic answer), stored with the reply in one
    transaction and delivered with retries through the mailbox's SMTP server."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        DEAD = "dead", _("Failed for good")

    group = models.ForeignKey("tickets.MessageGroup", null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    ticket = models.ForeignKey("tickets.Ticket", null=True, blank=True,
                               on_delete=models.SET_NULL, related_name="+")
    mailbox = models.ForeignKey(Mailbox, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    message_id = models.CharField(max_length=998)
    from_email = models.CharField(max_length=998)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list)
    # Receive the mail without being named in it.
    bcc = models.JSONField(default=list)
    subject = models.CharField(max_length=998)
    # False: the reply's text alone, without the help desk's header and footer.
    use_template = models.BooleanField(default=True)
    is_automatic = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["account", "message_id"])]


class BouncingAddress(TenantModel):
    """An address a delivery status notification said cannot receive mail."""

    email = models.CharField(max_length=254)
    reason = models.TextField(blank=True)
    bounces = models.PositiveIntegerField(default=1)
    last_bounce_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="mail_bouncing_email")
        ]

    @classmethod
    def record(cls, account_id: str, email: str, reason: str) -> None:
        """One more bounce of ``email`` (a delivery report, or a server refusing it for good)."""
        email = email.lower()
        now = timezone.now()
        updated = cls.objects.filter(account_id=account_id, email=email).update(
            bounces=models.F("bounces") + 1, last_bounce_at=now, reason=reason
        )
        if not updated:
            cls.objects.create(account_id=account_id, email=email, reason=reason,
                               last_bounce_at=now)
