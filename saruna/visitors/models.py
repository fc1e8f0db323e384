"""A website visitor, known by the signed token its browser keeps, and the account's
widget secrets."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from saruna.contacts.common import PublicIdModel
from saruna.contacts.models import Contact
from saruna.core.models import TenantModel


class Visitor(PublicIdModel):
    """One browser on a customer's website. The row is made on the first thing worth keeping
    (a tracked page view with consent, a chat); until then the token alone names it."""

    id_length = 16

    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="visitors"
    )
    # The host site's own id of a logged-in customer, from a verified signed identity.
    external_user_id = models.CharField(max_length=255, blank=True)
    email = models.EmailField(blank=True)
    name = models.CharField(max_length=255, blank=True)
    first_seen = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["account", "last_seen"])]

    def __str__(self) -> str:
        return self.name or self.email or self.public_id


def new_identity_secret() -> str:
    return secrets.token_urlsafe(32)


class WidgetSecret(TenantModel):
    """The account's secret for signed customer identities (shown to its admins, used by
    their web site's back end). One per account, made on first use."""

    identity_secret = models.CharField(max_length=64, default=new_identity_secret)
    date_created = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account"], name="visitors_widgetsecret_account")
        ]

    def __str__(self) -> str:
        return str(_("Widget secret"))
