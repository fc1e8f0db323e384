"""Users of an account, their invitations and sessions, and what the system noticed about them."""

from __future__ import annotations

from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.core.ids import new_id
from saruna.core.models import Account, TenantModel
from saruna.core.scoping import AccountScopedManager


class UserManager(BaseUserManager["User"]):
    def create_user(
        self, email: str, password: str | None = None, **fields: Any
    ) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> User:
        """Provider staff: no account, Django admin on the base domain only."""
        fields.update(is_staff=True, is_superuser=True, account=None, role=User.Role.STAFF)
        fields.setdefault("full_name", email.split("@")[0])
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in. Agents, admins and the owner belong to one account; provider
    staff (``account`` null) exist only on the base domain."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Administrator")
        AGENT = "agent", _("Agent")
        STAFF = "staff", _("Provider staff")

    id = models.CharField(primary_key=True, max_length=8, default=new_id, editable=False)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="users"
    )
    email = models.EmailField(_("e-mail"))
    full_name = models.CharField(_("full name"), max_length=200)
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.AGENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    language = models.CharField(_("language"), max_length=8, blank=True)
    # Shown to visitors in the chat and kept for API clients (API §11): M, F or X (unsaid).
    gender = models.CharField(max_length=1, choices=[("M", "M"), ("F", "F"), ("X", "X")],
                              default="X")
    avatar_url = models.URLField(_("avatar address"), max_length=500, blank=True)
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    date_joined = models.DateTimeField(default=timezone.now)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    last_password_change = models.DateTimeField(null=True, blank=True)
    # TOTP two-factor authentication; the secret is set when the user starts enrolling
    # and only counts once a code has been confirmed.
    totp_secret = models.CharField(max_length=64, blank=True)
    totp_enabled = models.BooleanField(default=False)
    # 18+ confirmation given at signup (the owner) or when accepting an invitation.
    adult_confirmed_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[Any] = AccountScopedManager(UserManager)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name", "email"]
        constraints = [
            models.UniqueConstraint(fields=["account", "email"], name="user_email_per_account"),
            models.UniqueConstraint(
                fields=["email"], condition=Q(account__isnull=True), name="staff_email_unique"
            ),
            models.UniqueConstraint(
                fields=["account"], condition=Q(role="owner"), name="one_owner_per_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} <{self.email}>"

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    @property
    def can_manage_account(self) -> bool:
        """Owners and administrators manage users, settings and see the audit log; so does
        provider staff while a support grant lets them into the account."""
        return self.role in (self.Role.OWNER, self.Role.ADMIN, self.Role.STAFF)


class Invitation(TenantModel):
    """An invitation to join an account as an agent or administrator. Counts against seats
    while open."""

    id = models.CharField(primary_key=True, max_length=8, default=new_id, editable=False)
    email = models.EmailField(_("e-mail"))
    role = models.CharField(max_length=8, choices=User.Role.choices, default=User.Role.AGENT)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.email

    @property
    def is_open(self) -> bool:
        return (
            self.accepted_at is None
            and self.revoked_at is None
            and self.expires_at > timezone.now()
        )


class UserSession(TenantModel):
    """One login of one user on one device, with its heartbeat. Raw IPs are kept for
    ``SARUNA_RAW_IP_RETENTION_DAYS``; the network prefix and coarse geo stay longer."""

    class EndReason(models.TextChoices):
        LOGOUT = "logout", _("Logged out")
        REPLACED = "replaced", _("Ended by a login on another device")
        REVOKED = "revoked", _("Logged out from another session")
        DEACTIVATED = "deactivated", _("User deactivated")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Login cancelled on the concurrent-login screen")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    session_key = models.CharField(max_length=40, db_index=True)
    device = models.CharField(max_length=64, help_text=_("Fingerprint of the device."))
    device_label = models.CharField(max_length=200, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    network = models.CharField(max_length=64, blank=True)
    country = models.CharField(max_length=2, blank=True)
    city = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    # Set while the concurrent-login screen waits for this session's decision.
    pending_concurrent = models.BooleanField(default=False)

    class Meta:
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["account", "user", "ended_at"])]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.device_label or self.device}"


class SharingFinding(TenantModel):
    """Evidence that one login is used by more than one person (terms §2)."""

    class Kind(models.TextChoices):
        CONCURRENT_DEVICES = "devices", _("Several devices active at once from different networks")
        IMPOSSIBLE_TRAVEL = "travel", _("Impossible travel between logins")

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DISMISSED = "dismissed", _("Dismissed")
        CONFIRMED = "confirmed", _("Confirmed by the provider")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sharing_findings")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    detected_at = models.DateTimeField(default=timezone.now)
    evidence = models.JSONField(default=dict)

    class Meta:
        ordering = ["-detected_at"]


class SupportGrant(TenantModel):
    """Provider staff's time-limited access to one account, with the reason (terms §2)."""

    staff = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    @property
    def is_active(self) -> bool:
        return self.ended_at is None and self.expires_at > timezone.now()
