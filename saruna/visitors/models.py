"""A website visitor, known by the signed token its browser keeps, and the account's
widget secrets."""

from __future__ import annotations

import secrets

from django.conf import settings
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


class TrackingSettings(TenantModel):
    """An account's choices for visitor tracking and privacy; one per account, made with the
    defaults on first use (``saruna.visitors.config.tracking_settings``)."""

    class IpHandling(models.TextChoices):
        TRUNCATE = "truncate", _("Keep a truncated address (last part zeroed)")
        DROP = "drop", _("Drop the address after locating it")

    class AttributionModel(models.TextChoices):
        LAST = "last", _("Last chat before the conversion")
        FIRST = "first", _("First chat in the window")

    enabled = models.BooleanField(_("track visitors"), default=True)
    consent_required = models.BooleanField(
        _("wait for the web site's consent call before tracking"), default=False
    )
    geolocation_consent_required = models.BooleanField(
        _("locate visitors only with their separate consent to geolocation"), default=False
    )
    respect_dnt = models.BooleanField(
        _("honour Do Not Track and Global Privacy Control"), default=True
    )
    ip_handling = models.CharField(
        _("IP addresses"), max_length=10, choices=IpHandling.choices, default=IpHandling.TRUNCATE
    )
    retention_days = models.PositiveIntegerField(
        _("keep page visits for (days)"), default=90
    )
    attribution_window_days = models.PositiveIntegerField(
        _("credit a chat with conversions within (days)"), default=30
    )
    attribution_model = models.CharField(
        _("attribution"), max_length=5, choices=AttributionModel.choices,
        default=AttributionModel.LAST,
    )
    # Frequency caps for invitations: never two within the pause, never more than the
    # daily number, and none for the rest of a visit after the visitor declined one.
    invitation_pause_minutes = models.PositiveIntegerField(
        _("minutes between two invitations to one visitor"), default=30
    )
    invitations_per_day = models.PositiveIntegerField(
        _("invitations to one visitor per day"), default=3
    )
    ga_measurement_id = models.CharField(
        _("Google Analytics 4 measurement id"), max_length=32, blank=True
    )
    ga_api_secret = models.CharField(
        _("Google Analytics 4 Measurement Protocol API secret"), max_length=64, blank=True
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account"], name="visitors_trackingsettings_account")
        ]

    def __str__(self) -> str:
        return str(_("Tracking settings"))


class VisitSession(PublicIdModel):
    """One visit: the page views of a visitor without a 30-minute pause. It carries where the
    visitor came from (traffic source) and where they are (coarse location)."""

    # Made in batches without a uniqueness query each: long enough never to collide.
    id_length = 12

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now)
    # Truncated or empty, as the account's ip_handling says; never the full address.
    ip = models.GenericIPAddressField(null=True, blank=True)
    country = models.CharField(max_length=2, blank=True)
    region = models.CharField(max_length=100, blank=True)
    city = models.CharField(max_length=100, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)
    browser = models.CharField(max_length=60, blank=True)
    os = models.CharField(max_length=60, blank=True)
    device = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=35, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    screen = models.CharField(max_length=20, blank=True)
    source_type = models.CharField(max_length=10, blank=True)
    source_name = models.CharField(max_length=100, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    landing_url = models.URLField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    page_count = models.PositiveIntegerField(default=0)
    returning = models.BooleanField(default=False)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["account", "last_seen"])]

    def __str__(self) -> str:
        return self.public_id


class PageVisit(TenantModel):
    """One page view. Raw page visits are swept after the account's retention period."""

    session = models.ForeignKey(VisitSession, on_delete=models.CASCADE, related_name="pages")
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_visits")
    url = models.URLField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.URLField(max_length=2000, blank=True)
    visited_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["account", "visited_at"]),
            models.Index(fields=["visitor", "visited_at"]),
        ]

    def __str__(self) -> str:
        return self.url


class InvitationRule(PublicIdModel):
    """Invite visitors to chat when every condition set here holds (empty = any)."""

    name = models.CharField(_("name"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    position = models.PositiveIntegerField(default=0)
    text = models.CharField(_("invitation text"), max_length=300)
    url_contains = models.CharField(_("page address contains"), max_length=300, blank=True)
    min_seconds_on_page = models.PositiveIntegerField(_("seconds on the page"), default=0)
    min_pages = models.PositiveIntegerField(_("pages seen this visit"), default=0)
    source_type = models.CharField(_("traffic source"), max_length=10, blank=True)
    returning = models.BooleanField(_("returning visitors only"), null=True, blank=True)
    countries = models.CharField(
        _("countries (ISO codes, comma-separated)"), max_length=300, blank=True
    )
    require_agents_available = models.BooleanField(
        _("only when an agent is available"), default=True
    )

    class Meta(PublicIdModel.Meta):
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Invitation(PublicIdModel):
    """A proactive chat invitation to one visitor, from an agent or a rule."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be shown")
        SHOWN = "shown", _("Shown")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="invitations")
    session = models.ForeignKey(
        VisitSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rule = models.ForeignKey(
        InvitationRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    text = models.CharField(max_length=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    shown_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta(PublicIdModel.Meta):
        indexes = [models.Index(fields=["visitor", "created_at"])]

    def __str__(self) -> str:
        return self.public_id


class Conversion(PublicIdModel):
    """A sale or goal the web site or its back end reported, credited to a chat."""

    order_id = models.CharField(max_length=100)
    visitor = models.ForeignKey(
        Visitor, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversions"
    )
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Integer minor units (cents): money is never a float.
    value_minor = models.BigIntegerField(default=0)
    currency = models.CharField(max_length=3, blank=True)
    converted_at = models.DateTimeField(default=timezone.now)
    # The credited chat, its agent and department, copied so that reports survive the chat.
    chat_public_id = models.CharField(max_length=16, blank=True)
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    department_public_id = models.CharField(max_length=16, blank=True)
    attribution_model = models.CharField(max_length=5, blank=True)

    class Meta(PublicIdModel.Meta):
        constraints = [
            *PublicIdModel.Meta.constraints,
            models.UniqueConstraint(
                fields=["account", "order_id"], name="visitors_conversion_order_id"
            ),
        ]

    def __str__(self) -> str:
        return self.order_id
