"""Tenancy, audit log and outbound mail: the pieces every other app stands on."""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.core.ids import new_id
from saruna.core.scoping import AccountScopedManager


class Plan(models.Model):
    """What an account may use. The billing issue extends this; here it carries the seat limit."""

    code = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    max_agents = models.PositiveIntegerField(
        help_text=_("Seats: active users plus open invitations.")
    )

    def __str__(self) -> str:
        return self.name


class Account(models.Model):
    """One customer organisation (a tenant), served at ``<slug>.<base-domain>``."""

    class Status(models.TextChoices):
        UNVERIFIED = "unverified", _("Waiting for e-mail confirmation")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        CLOSED = "closed", _("Closed")

    id = models.CharField(primary_key=True, max_length=8, default=new_id, editable=False)
    name = models.CharField(_("company or organisation"), max_length=200)
    slug = models.SlugField(unique=True, max_length=63)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.UNVERIFIED)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    time_zone = models.CharField(max_length=64, default="UTC")
    language = models.CharField(max_length=8, default="en")
    created_at = models.DateTimeField(default=timezone.now)
    verified_at = models.DateTimeField(null=True, blank=True)
    terms_version = models.CharField(max_length=32, blank=True)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    signup_ip = models.GenericIPAddressField(null=True, blank=True)
    # The provider's own support runs on one account (demo bookings land there).
    is_provider = models.BooleanField(default=False)
    # Provider override of the plan's seat limit (fair use, terms §2/§3); null = the plan's.
    max_agents_override = models.PositiveIntegerField(null=True, blank=True)
    # When the owners were warned about inactivity; activity after it starts a new spell.
    inactivity_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"

    @property
    def max_agents(self) -> int:
        if self.max_agents_override is not None:
            return self.max_agents_override
        return self.plan.max_agents

    @property
    def host(self) -> str:
        return f"{self.slug}.{settings.SARUNA_BASE_DOMAIN}"

    @property
    def url(self) -> str:
        from saruna.core.urls import public_url

        return public_url(self.host)


class AccountClosure(models.Model):
    """The provider's record that an account was closed and its content erased. It outlives
    the content (the audit log included), so who closed the account and when stays known."""

    class Reason(models.TextChoices):
        CANCELLED = "cancelled", _("Cancelled by its owner")
        INACTIVE = "inactive", _("Closed for inactivity")

    account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="closure")
    slug = models.SlugField(max_length=63)
    reason = models.CharField(max_length=10, choices=Reason.choices)
    actor_label = models.CharField(max_length=254, blank=True)
    closed_at = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.slug} ({self.reason})"


class TenantModel(models.Model):
    """Base of every tenant-owned model: an ``account`` foreign key and a scoped manager.

    Queries through ``objects`` fail unless ``scope(account=...)`` is active (the HTTP
    middleware, WebSocket consumers, tasks and commands activate it), so forgetting the
    tenant filter is an error instead of a leak.
    """

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")

    objects: ClassVar[Any] = AccountScopedManager()

    class Meta:
        abstract = True


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses bulk updates and deletes. (Deleting a whole account still removes its rows:
    the cascade does not go through this queryset.)"""

    def update(self, **kwargs: Any) -> int:
        raise ValueError("Audit events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ValueError("Audit events are append-only.")


class AuditEvent(TenantModel):
    """Append-only record of who did what in an account."""

    objects: ClassVar[Any] = AccountScopedManager(models.Manager.from_queryset(AppendOnlyQuerySet))

    class ActorType(models.TextChoices):
        USER = "user", _("User")
        API_KEY = "api_key", _("API key")
        SYSTEM = "system", _("System")
        STAFF = "staff", _("Provider staff")

    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_label = models.CharField(max_length=200, blank=True)
    verb = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["account", "-at"])]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("Audit events are append-only.")


class OutboundEmail(models.Model):
    """The outbox: every e-mail Saruna sends is stored here first, then delivered with retries.

    Not tenant-scoped: the provider's own mail (demo bookings, signups) has no account yet.
    ``account`` records whose mail it is when there is one.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        SENT = "sent", _("Sent")
        DEAD = "dead", _("Failed for good")

    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE)
    to = models.JSONField(help_text=_("List of recipient addresses."))
    from_email = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    # Files sent with the mail, such as an invoice PDF with its receipt: a list of
    # {"filename", "content_type", "content"} with the content in base64, kept in the row so
    # that a retry sends exactly what was queued.
    attachments = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("outbound e-mail")

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
