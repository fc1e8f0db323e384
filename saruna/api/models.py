"""API keys (API §21). The secret is shown once, when the key is made; only its SHA-256 is
stored (the secrets are long random strings, so a fast hash is enough to make a stolen
database useless for calling the API)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.core.models import TenantModel

# How stale ``last_used_at`` may get before a request writes it again (one write a minute
# per key instead of one per request).
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(TenantModel):
    """A key to the account's REST API. ``privileges`` holds scopes such as ``ticket.read``
    (:mod:`saruna.api.privileges`); ``user`` is who the key acts as (agent visibility, the
    author of replies); ``whitelist`` the addresses allowed to use it (``*`` any)."""

    class Type(models.TextChoices):
        API = "A", _("API")
        CHAT = "C", _("Chat")
        PHONE = "P", _("Phone")
        TICKET = "T", _("Ticket")
        WEB = "W", _("Web")

    name = models.CharField(_("name"), max_length=100)
    type = models.CharField(max_length=1, choices=Type.choices, default=Type.API)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    # The last characters of the secret: the masked form ``****abcd`` lists show.
    key_last4 = models.CharField(max_length=4, editable=False)
    privileges = models.JSONField(default=list, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    whitelist = models.CharField(_("allowed addresses"), max_length=1000, default="*")
    valid_to = models.DateTimeField(_("valid until"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def masked(self) -> str:
        return f"****{self.key_last4}"

    @property
    def is_read_only(self) -> bool:
        from saruna.api import privileges

        return set(self.privileges) <= privileges.READ_ONLY

    def usable(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.valid_to is None or self.valid_to > now)

    def has(self, scope: str) -> bool:
        return scope in self.privileges
